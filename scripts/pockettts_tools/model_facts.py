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
    flow_lm = tts.flow_lm
    mimi = tts.mimi
    first = flow_lm.transformer.layers[0].self_attn
    mimi_first = mimi.decoder_transformer.transformer.layers[0].self_attn
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
        vocab_size=int(flow_lm.conditioner.tokenizer.sp.vocab_size()),
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
    )


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
