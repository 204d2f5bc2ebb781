"""The export's reference run: upstream's own ``get_state_for_audio_prompt`` and ``generate_audio`` on a
synthetic voice prompt, observed by ``recording.GraphCallRecorder``, gathered into a ``Reference`` that the
export check, the chain check and the embedded golden are built from.

Two things the export needs beyond that run, both in ``GraphCallRecorder`` and said there: a second decode when
the run is too short to wrap Mimi's attention window, and the evaluations of a 2-step LSD decode.
"""

from __future__ import annotations

import logging
import math
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .model_facts import ModelFacts
from .recording import ChunkRecord, FlowEval, FlowLMCall, GraphCallRecorder, MimiFrame

REFERENCE_TEXT = "Hello world. This is a small test of the pocket speech model."
REFERENCE_SEED = 42
VOICE_SECONDS = 2.3  # not a multiple of the frame: exercises the padding rule
LSD_CHECK_STEPS = 2


@dataclass
class Reference:
    text: str
    seed: int
    temperature: float
    lsd_decode_steps: int  # the sampler's decode steps (4.x: sampler_decode_steps)
    sampler: str  # the sampler head's type (model_facts.sampler_type)
    eos_threshold: float
    eos_min_step: int  # AR steps whose EOS upstream ignores (4.x: 6)
    max_tokens: int
    tokens: np.ndarray  # [1, N]
    text_embeddings: np.ndarray  # [1, N, D]
    voice_audio: np.ndarray  # [1, 1, n] zero-padded to a multiple of the frame size (the encoder graph's input)
    voice_samples: int  # unpadded length
    mimi_latent: np.ndarray
    voice_conditioning: np.ndarray
    frames_after_eos: int
    max_gen_len: int
    max_steps: int
    capped: bool  # max_gen_len was capped by --max-steps (the run is not upstream's full run)
    flow_calls: list[FlowLMCall]
    frames: list[MimiFrame]
    decoded_latents: list[np.ndarray]  # fed to the decoder: the generated ones, then cycled to min_decoded_frames
    generated_frames: int  # latents upstream's loop emitted
    lsd2_evals: list[FlowEval]
    eos_step: int | None
    sample_rate: int
    chunk: ChunkRecord  # the golden records of the run (pockettts-golden/1 tensors)
    audio: np.ndarray  # generate_audio's output

    def past_kv(self, index: int) -> np.ndarray:
        """flow_lm_main's past_kv at call ``index``: upstream's cache is append-only, so the rows written by the
        earlier calls, in order (checked against upstream's final cache when recording)."""
        calls = self.flow_calls[:index]
        if not calls:
            shape = self.flow_calls[0].new_kv.shape[1:]  # type: ignore[union-attr]
            return np.zeros((0, *shape), np.float32)
        return np.concatenate([c.new_kv for c in calls], axis=0)  # type: ignore[misc]

    @property
    def ar_steps(self) -> list[FlowLMCall]:
        return [c for c in self.flow_calls if c.kind == "ar_step"]

    def noise_tape(self) -> list[np.ndarray]:
        """The noise of each AR step (the flow head's x at its first evaluation), in draw order."""
        return [c.evals[0].x for c in self.ar_steps]


def min_decoded_frames(facts: ModelFacts) -> int:
    """Enough frames that the decoder transformer runs past its context window."""
    return math.ceil(facts.mimi_context / facts.mimi_steps_per_latent) + 2


def kept_frames(facts: ModelFacts) -> set[int]:
    """Frames whose whole Mimi state is kept besides the last (memory stays small on real models): the first
    two and those around the attention window's first wrap."""
    wrap = math.ceil(facts.mimi_context / facts.mimi_steps_per_latent)
    return {0, 1, wrap - 1, wrap}


def synthetic_voice(sample_rate: int) -> np.ndarray:
    """A deterministic 2.3 s prompt as 16-bit samples: a modulated tone with a little seeded noise."""
    n = int(VOICE_SECONDS * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    tone = 0.3 * np.sin(2 * math.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * math.pi * 3 * t))
    noise = 0.02 * np.random.default_rng(1234).standard_normal(n)
    return np.round((tone + noise) * 32767).astype("<i2")


def write_voice_prompt(path: Path, sample_rate: int) -> None:
    """The synthetic prompt as a mono 16-bit WAV (what upstream and the runtime both read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(synthetic_voice(sample_rate).tobytes())


def record_reference(
    tts: Any,
    facts: ModelFacts,
    voice_prompt: Path,
    max_tokens: int,
    max_steps: int | None = None,
    text: str = REFERENCE_TEXT,
    seed: int = REFERENCE_SEED,
) -> Reference:
    """Runs upstream on ``text`` with the prompt WAV ``voice_prompt`` (one chunk of at most ``max_tokens``);
    ``max_steps`` caps max_gen_len (default: upstream's own, a full run)."""
    import torch

    logging.getLogger("pocket_tts").setLevel(logging.ERROR)  # "max length without EOS" is expected when capped
    keep = kept_frames(facts)
    _decode_frame_by_frame(tts)
    recorder = GraphCallRecorder(
        tts,
        mimi_window=facts.mimi_context,
        steps_per_latent=facts.mimi_steps_per_latent,
        keep_frames=keep.__contains__,
        max_gen_len_cap=max_steps,
    )
    with recorder:
        voice_state = tts.get_state_for_audio_prompt(voice_prompt)
        torch.manual_seed(seed)
        audio = tts.generate_audio(voice_state, text, max_tokens=max_tokens)
    if len(recorder.chunks) != 1:
        raise RuntimeError(f"the reference text became {len(recorder.chunks)} chunks; the export records one")
    if not np.array_equal(recorder.recorded_cache(), np.concatenate([c.new_kv for c in recorder.flow_calls], axis=0)):  # type: ignore[misc]
        raise RuntimeError("upstream's FlowLM cache is not the concatenation of the recorded new K/V")
    chunk = recorder.chunks[0]
    ar = [c for c in recorder.flow_calls if c.kind == "ar_step"]
    generated = [torch.from_numpy(c.latent).reshape(1, 1, -1) for c in ar[: len(chunk.audio_frames)]]  # type: ignore[union-attr]
    if len(recorder.frames) < min_decoded_frames(facts):
        recorder.decode_past_window(generated, min_decoded_frames(facts))
    zero = np.zeros((1, 1, facts.latent_dim), np.float32)
    decoded = [generated[k % len(generated)].numpy() if generated else zero for k in range(len(recorder.frames))]
    lsd2 = _multi_step_evals(recorder, facts, ar[0])
    if recorder.encoder_audio is None or recorder.encoder_latent is None:
        raise RuntimeError("the voice prompt was not encoded")
    padded = recorder.encoder_audio
    padded = np.pad(padded, [(0, 0), (0, 0), (0, (-padded.shape[-1]) % facts.frame_size)])
    eos_min_step = chunk.eos_min_step
    eos = [i for i, c in enumerate(ar) if float(c.eos_logit.reshape(-1)[0]) > tts.eos_threshold and i >= eos_min_step]  # type: ignore[union-attr]
    prefill = chunk.prefill
    assert prefill is not None and prefill.tokens is not None and prefill.text_embeddings is not None and chunk.max_gen_len is not None
    return Reference(
        text=text,
        seed=seed,
        temperature=float(tts.temp),
        lsd_decode_steps=_decode_steps(tts),
        sampler=str(facts.sampler["type"]),
        eos_threshold=float(tts.eos_threshold),
        eos_min_step=eos_min_step,
        max_tokens=max_tokens,
        tokens=prefill.tokens.reshape(1, -1),
        text_embeddings=prefill.text_embeddings.reshape(1, prefill.tokens.size, -1),
        voice_audio=padded,
        voice_samples=int(recorder.encoder_audio.shape[-1]),
        mimi_latent=_channels_first_latent(recorder.encoder_latent),
        voice_conditioning=recorder.flow_calls[0].conditioning,
        frames_after_eos=int(chunk.frames_after_eos),
        max_gen_len=int(chunk.max_gen_len),
        max_steps=int(chunk.max_gen_len),
        capped=chunk.max_gen_len < tts._estimate_max_gen_len(prefill.tokens.size),
        flow_calls=recorder.flow_calls,
        frames=recorder.frames,
        decoded_latents=decoded,
        generated_frames=len(chunk.audio_frames),
        lsd2_evals=lsd2,
        eos_step=eos[0] if eos else None,
        sample_rate=facts.sample_rate,
        chunk=chunk,
        audio=audio.detach().numpy().reshape(-1),
    )


def _multi_step_evals(recorder: GraphCallRecorder, facts: ModelFacts, first: FlowLMCall) -> list[FlowEval]:
    """The head's evaluations of a 2-step decode of the first step's noise (a default run decodes in one step):
    upstream's lsd_decode, or ot_decode for a flow-matching head; none for the one-step heads."""
    kind = facts.sampler["type"]
    if kind not in ("lsd", "flow_matching"):
        return []
    return recorder.lsd_evals(first.hidden, first.evals[0].x, LSD_CHECK_STEPS, ot=kind == "flow_matching")  # type: ignore[arg-type]


# -- what differs between upstream releases ------------------------------------------------------------------------
def _decode_steps(tts: Any) -> int:
    """The model's sampler decode steps: 2.1.0 ``lsd_decode_steps``, 4.x ``sampler_decode_steps``."""
    return int(getattr(tts, "sampler_decode_steps", getattr(tts, "lsd_decode_steps", 1)))


def _decode_frame_by_frame(tts: Any) -> None:
    """4.x decodes every queued latent in one Mimi call unless ``max_decoder_frames_per_call`` is 1 (equal within 1e-7,
    but the batching follows thread timing): the export records frame by frame, as 2.1.0 always decodes."""
    if hasattr(tts, "max_decoder_frames_per_call"):
        tts.max_decoder_frames_per_call = 1


def _channels_first_latent(latent: np.ndarray) -> np.ndarray:
    """The Mimi encoder latent as the mimi_encoder graph outputs it, [1, C, frames]: 4.x's ``encode_to_latent``
    returns [B, T, C], 2.1.0's [B, C, T]."""
    from .upstreams import is_v4

    return np.ascontiguousarray(latent.transpose(0, 2, 1)) if is_v4() else latent
