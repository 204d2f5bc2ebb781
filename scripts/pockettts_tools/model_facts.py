"""Dimensions, generation flags and derived capacities of a loaded upstream model, read off its modules."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

# Upstream facts the capacities derive from (pocket_tts 2.1.0):
MAX_VOICE_SECONDS = 30  # `export-voice` and the server truncate prompts to the first 30 s
# pocket_tts.default_parameters.MAX_TOKEN_PER_CHUNK is imported at run time (see model_facts()).


@dataclass(frozen=True)
class ModelFacts:
    generation: str  # "v2" when the voice conditioning gets a BOS (insert_bos_before_voice), else "v1"
    insert_bos_before_voice: bool
    pad_with_spaces_for_short_inputs: bool
    remove_semicolons: bool
    model_recommended_frames_after_eos: int | None
    sample_rate: int
    frame_rate: float
    frame_size: int  # audio samples per latent
    latent_dim: int
    d_model: int
    num_layers: int
    num_heads: int
    head_dim: int
    vocab_size: int  # tokenizer pieces; the embedding table has vocab_size + 1 rows
    flow_dim: int
    flow_depth: int
    voice_latent_dim: int  # Mimi encoder output channels (mimi.inner_dim, else the SEANet dimension)
    mimi_dim: int
    mimi_input_dim: int  # latent_to_mimi output channels (quantizer output dimension)
    mimi_num_layers: int
    mimi_num_heads: int
    mimi_head_dim: int
    mimi_context: int
    mimi_steps_per_latent: int
    # Issue 16: what a runtime needs to follow the release that made the export (docs/graph-contract.md).
    upstream: str  # the pocket-tts release traced ("2.1.0", "4.0.1")
    num_kv_heads: int  # FlowLM K/V heads (grouped-query attention: fewer than num_heads); the cache holds these
    hidden_dim: int  # flow_lm_main hidden width = the sampler's condition (z_dim when the config projects, else d_model)
    sampler: dict[str, Any]  # {"type": "lsd" | "drifting" | "pointwise" | "flow_matching", "decode_steps": upstream's default}
    default_temperature: float
    default_eos_threshold: float
    eos_min_step: int  # AR steps whose EOS is ignored
    fade_in_ms: int  # linear fade-in of each chunk's first audio (0: none)
    text_rules: str  # "v2.1" | "v4": the text front end
    replace_characters: dict[str, str]  # the config's character replacements (empty on 2.1.0)
    capitalize_first_letter: bool
    append_terminal_punctuation: bool
    tokenizer: str  # "sentencepiece" | "tokenizers"
    end_on_pause_voice: bool  # voice prompts go through upstream's end_on_pause before mimi_encoder

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Capacities:
    max_voice_seconds: int
    max_voice_frames: int
    voice_bos_positions: int
    max_prompt_positions: int
    max_chunk_tokens: int
    max_gen_len: int
    flow_kv_positions: int
    mimi_attention_window: int

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = asdict(self)
        data["derivation"] = {
            "max_voice_frames": "ceil(max_voice_seconds * sample_rate / frame_size): a prompt truncated to 30 s",
            "max_prompt_positions": "max_voice_frames + voice_bos_positions",
            "max_gen_len": "upstream _estimate_max_gen_len(max_chunk_tokens) = ceil((tokens / 3 + 2) * frame_rate)",
            "flow_kv_positions": "max_prompt_positions + max_chunk_tokens + max_gen_len: the longest chunk; "
            "flow_lm_main itself has no capacity (past_kv is dynamic), this is the buffer to preallocate. "
            "A chunk upstream could not split below max_chunk_tokens needs more: grow the buffer.",
            "mimi_attention_window": "mimi transformer context: past keys kept per layer (older ones are masked)",
        }
        return data


def model_facts(tts: Any, config: Any) -> ModelFacts:
    from .upstreams import running_release

    flow_lm = tts.flow_lm
    mimi = tts.mimi
    first = flow_lm.transformer.layers[0].self_attn
    mimi_first = mimi.decoder_transformer.transformer.layers[0].self_attn
    release = running_release()
    return ModelFacts(
        generation="v2" if flow_lm.insert_bos_before_voice else "v1",
        insert_bos_before_voice=bool(flow_lm.insert_bos_before_voice),
        pad_with_spaces_for_short_inputs=bool(config.pad_with_spaces_for_short_inputs),
        remove_semicolons=bool(config.remove_semicolons),
        model_recommended_frames_after_eos=config.model_recommended_frames_after_eos,
        sample_rate=int(mimi.sample_rate),
        frame_rate=float(mimi.frame_rate),
        frame_size=int(mimi.frame_size),
        latent_dim=int(flow_lm.ldim),
        d_model=int(flow_lm.dim),
        num_layers=len(flow_lm.transformer.layers),
        num_heads=int(first.num_heads),
        head_dim=int(first.dim_per_head),
        vocab_size=int(config.flow_lm.lookup_table.n_bins),
        flow_dim=int(config.flow_lm.flow.dim),
        flow_depth=int(config.flow_lm.flow.depth),
        voice_latent_dim=int(flow_lm.speaker_proj_weight.shape[1]),
        mimi_dim=int(mimi.dimension),
        mimi_input_dim=int(mimi.quantizer.output_dimension),
        mimi_num_layers=len(mimi.decoder_transformer.transformer.layers),
        mimi_num_heads=int(mimi_first.num_heads),
        mimi_head_dim=int(mimi_first.dim_per_head),
        mimi_context=int(mimi_first.context),
        mimi_steps_per_latent=int(mimi.encoder_frame_rate / mimi.frame_rate),
        upstream=release,
        num_kv_heads=int(getattr(first, "num_kv_heads", first.num_heads)),
        hidden_dim=int(flow_lm.out_eos.in_features),
        sampler={"type": sampler_type(flow_lm), "decode_steps": _default_decode_steps()},
        **_release_facts(tts, config, release),
    )


def sampler_type(flow_lm: Any) -> str:
    """The sampler head's type (2.1.0 has only LSD)."""
    return str(getattr(flow_lm, "flow_type", "lsd"))


def _default_decode_steps() -> int:
    from pocket_tts import default_parameters as defaults

    return int(getattr(defaults, "DEFAULT_SAMPLER_DECODE_STEPS", getattr(defaults, "DEFAULT_LSD_DECODE_STEPS", 1)))


def _release_facts(tts: Any, config: Any, release: str) -> dict[str, Any]:
    """The generation loop's and the text front end's facts, per release (2.1.0's are constants of its code)."""
    from .upstreams import is_v4

    if not is_v4(release):
        from pocket_tts import default_parameters as defaults

        return {
            "default_temperature": float(defaults.DEFAULT_TEMPERATURE),
            "default_eos_threshold": float(defaults.DEFAULT_EOS_THRESHOLD),
            "eos_min_step": 0,
            "fade_in_ms": 0,
            "text_rules": "v2.1",
            "replace_characters": {},
            "capitalize_first_letter": True,
            "append_terminal_punctuation": True,
            "tokenizer": "sentencepiece",
            "end_on_pause_voice": False,
        }
    kind = config.flow_lm.lookup_table.tokenizer
    path = str(config.flow_lm.lookup_table.tokenizer_path).split("@")[0]
    return {
        "default_temperature": float(config.default_temperature),
        "default_eos_threshold": float(config.default_eos_threshold),
        "eos_min_step": int(tts._MIN_FRAMES_BEFORE_EOS),
        "fade_in_ms": 5,  # TTSModel._decode_audio_worker: linspace(0, 1, sample_rate // 200)
        "text_rules": "v4",
        "replace_characters": dict(config.replace_characters),
        "capitalize_first_letter": bool(config.capitalize_first_letter),
        "append_terminal_punctuation": bool(config.append_terminal_punctuation),
        "tokenizer": "tokenizers" if kind in ("tokenizers", "json") or path.endswith(".json") else "sentencepiece",
        "end_on_pause_voice": True,
    }


def capacities(tts: Any, facts: ModelFacts) -> Capacities:
    from pocket_tts.default_parameters import MAX_TOKEN_PER_CHUNK

    max_voice_frames = math.ceil(MAX_VOICE_SECONDS * facts.sample_rate / facts.frame_size)
    bos = 1 if facts.insert_bos_before_voice else 0
    max_gen_len = int(tts._estimate_max_gen_len(MAX_TOKEN_PER_CHUNK))
    return Capacities(
        max_voice_seconds=MAX_VOICE_SECONDS,
        max_voice_frames=max_voice_frames,
        voice_bos_positions=bos,
        max_prompt_positions=max_voice_frames + bos,
        max_chunk_tokens=MAX_TOKEN_PER_CHUNK,
        max_gen_len=max_gen_len,
        flow_kv_positions=max_voice_frames + bos + MAX_TOKEN_PER_CHUNK + max_gen_len,
        mimi_attention_window=facts.mimi_context,
    )
