"""A short generation through upstream's own (unmodified) streaming path, recorded with hooks.

It runs what ``TTSModel.generate_audio`` runs, minus the threads: ``get_state_for_audio_prompt`` on a
synthetic prompt, ``_expand_kv_cache``, the text prefill and ``_autoregressive_generation`` (capped at
``max_steps`` AR steps), then ``_decode_audio_worker`` on the queued latents. Hooks record every FlowLM call
(inputs, the KV before and after, hidden, EOS logit, layer outputs, noise, flow-head evaluations) and every
Mimi frame (its input, the whole streaming state before and after, the audio). These are the recorded inputs
and expected outputs of the export-time check and of the check sets.
"""

from __future__ import annotations

import copy
import logging
import math
import queue
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .graph_defs import attention_modules, mimi_decoder_conv_states, mimi_state_names
from .model_facts import ModelFacts

REFERENCE_TEXT = "Hello world. This is a small test of the pocket speech model."
REFERENCE_SEED = 42
VOICE_SECONDS = 2.3  # not a multiple of the frame: exercises the padding rule


@dataclass
class FlowEval:
    hidden: np.ndarray
    s: np.ndarray
    t: np.ndarray
    x: np.ndarray
    flow_dir: np.ndarray


@dataclass
class FlowCall:
    kind: str  # voice_prefill | text_prefill | ar_step
    conditioning: np.ndarray
    latents: np.ndarray
    offset: int  # past positions; the past K/V is the concatenation of the earlier calls' new_kv
    hidden: np.ndarray | None = None
    eos_logit: np.ndarray | None = None
    new_kv: np.ndarray | None = None
    layer_out: np.ndarray | None = None
    latent: np.ndarray | None = None  # the sampled latent [1, latent_dim]
    evals: list[FlowEval] = field(default_factory=list)


@dataclass
class MimiFrame:
    mimi_input: np.ndarray
    # the whole streaming state before and after the frame, for the frames in snapshot_frames() only
    state_before: dict[str, np.ndarray] | None = None
    state_after: dict[str, np.ndarray] | None = None
    audio: np.ndarray | None = None


@dataclass
class Reference:
    text: str
    seed: int
    temperature: float
    lsd_decode_steps: int
    eos_threshold: float
    tokens: np.ndarray
    text_embeddings: np.ndarray
    voice_audio: np.ndarray  # [1, 1, n] zero-padded to a multiple of the frame size (the encoder graph's input)
    voice_samples: int  # unpadded length
    mimi_latent: np.ndarray
    voice_conditioning: np.ndarray
    frames_after_eos: int
    max_gen_len: int
    max_steps: int
    flow_calls: list[FlowCall]
    frames: list[MimiFrame]
    decoded_latents: list[np.ndarray]  # fed to the decoder: the generated ones, then cycled to min_decoded_frames
    generated_frames: int  # latents upstream's loop emitted
    lsd2_evals: list[FlowEval]
    eos_step: int | None
    sample_rate: int

    def past_kv(self, index: int) -> np.ndarray:
        """flow_lm_main's past_kv at call ``index``: upstream's cache is append-only, so the rows written by the
        earlier calls, in order (checked against upstream's final cache when recording)."""
        calls = self.flow_calls[:index]
        if not calls:
            shape = self.flow_calls[0].new_kv.shape[1:]  # type: ignore[union-attr]
            return np.zeros((0, *shape), np.float32)
        return np.concatenate([c.new_kv for c in calls], axis=0)  # type: ignore[misc]

    @property
    def ar_steps(self) -> list[FlowCall]:
        return [c for c in self.flow_calls if c.kind == "ar_step"]

    def noise_tape(self) -> list[np.ndarray]:
        """The noise of each AR step (the flow head's x at its first evaluation), in draw order."""
        return [c.evals[0].x for c in self.ar_steps]


def min_decoded_frames(facts: ModelFacts) -> int:
    """Enough frames that the decoder transformer runs past its context window."""
    return math.ceil(facts.mimi_context / facts.mimi_steps_per_latent) + 2


def snapshot_frames(facts: ModelFacts, frames: int) -> set[int]:
    """Frames whose whole Mimi state is recorded (memory stays small on real models): the first two, those
    around the attention window's first wrap, and the last."""
    wrap = math.ceil(facts.mimi_context / facts.mimi_steps_per_latent)
    return {i for i in (0, 1, wrap - 1, wrap, frames - 1) if 0 <= i < frames}


def synthetic_voice(sample_rate: int) -> torch.Tensor:
    """A deterministic 2.3 s prompt [channels=1, samples]: a modulated tone with a little seeded noise."""
    n = int(VOICE_SECONDS * sample_rate)
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    generator = torch.Generator().manual_seed(1234)
    tone = 0.3 * torch.sin(2 * math.pi * 220 * t) * (0.6 + 0.4 * torch.sin(2 * math.pi * 3 * t))
    noise = 0.02 * torch.randn(n, generator=generator, dtype=torch.float64)
    return (tone + noise).to(torch.float32)[None, :]


def _np(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu").clone().numpy()


def _time_major(model_state: dict[str, dict[str, torch.Tensor]], names: list[str], start: int, stop: int) -> np.ndarray:
    """Upstream per-layer caches [2, 1, T, H, Dh] -> rows start..stop-1 as [T, layers, 2, H, Dh]."""
    per_layer = [model_state[n]["cache"][:, 0, start:stop] for n in names]  # [2, T, H, Dh]
    return _np(torch.stack(per_layer, dim=0).permute(2, 0, 1, 3, 4).contiguous())


class _FlowRecorder:
    def __init__(self, tts: Any) -> None:
        self.tts = tts
        self.last_state: dict[str, dict[str, torch.Tensor]] | None = None
        self.names = [n for n, _ in attention_modules(tts.flow_lm)]
        self.calls: list[FlowCall] = []
        self.kind = "voice_prefill"
        self.evals: list[FlowEval] | None = None
        self.handles: list[Any] = []

    def __enter__(self) -> _FlowRecorder:
        flow_lm = self.tts.flow_lm
        self.handles = [
            flow_lm.register_forward_pre_hook(self._before, with_kwargs=True),
            flow_lm.register_forward_hook(self._after, with_kwargs=True),
            flow_lm.out_norm.register_forward_hook(lambda _m, _a, out: self._set("hidden", out[:, -1])),
            flow_lm.out_eos.register_forward_hook(lambda _m, _a, out: self._set("eos_logit", out)),
            flow_lm.flow_net.register_forward_hook(self._flow_eval),
        ]
        self.layer_outputs: list[torch.Tensor] = []
        for layer in flow_lm.transformer.layers:
            self.handles.append(layer.register_forward_hook(lambda _m, _a, out: self.layer_outputs.append(out[:, -1])))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()

    def _set(self, key: str, value: torch.Tensor) -> None:
        if self.calls:
            setattr(self.calls[-1], key, _np(value))

    def _before(self, _module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        state = kwargs["model_state"]
        offset = int(state[self.names[0]]["offset"].view(-1)[0])
        written = sum(c.new_kv.shape[0] for c in self.calls if c.new_kv is not None)
        if offset != written:
            raise RuntimeError(f"upstream's FlowLM offset {offset} is not the {written} positions recorded so far")
        self.layer_outputs = []
        self.calls.append(
            FlowCall(
                kind=self.kind,
                conditioning=_np(kwargs["text_embeddings"]),
                latents=_np(kwargs["sequence"]),
                offset=offset,
            )
        )
        if self.kind != "ar_step":
            self.kind = "text_prefill" if self.kind == "voice_prefill" else "ar_step"

    def _after(self, _module: Any, _args: Any, kwargs: dict[str, Any], output: Any) -> None:
        call = self.calls[-1]
        new_len = call.conditioning.shape[1] + call.latents.shape[1]
        call.new_kv = _time_major(kwargs["model_state"], self.names, call.offset, call.offset + new_len)
        self.last_state = kwargs["model_state"]
        call.layer_out = _np(torch.stack(self.layer_outputs, dim=1))
        call.latent = _np(output[0])

    def _flow_eval(self, _module: Any, args: Any, output: torch.Tensor) -> None:
        c, s, t, x = args
        record = FlowEval(hidden=_np(c), s=_np(s), t=_np(t), x=_np(x), flow_dir=_np(output))
        if self.evals is not None:
            self.evals.append(record)
        elif self.calls:
            self.calls[-1].evals.append(record)


class _MimiRecorder:
    def __init__(self, tts: Any, facts: ModelFacts, snapshots: set[int]) -> None:
        self.mimi = tts.mimi
        self.facts = facts
        self.snapshots = snapshots
        self.conv_states = mimi_decoder_conv_states(self.mimi)
        self.attention = [n for n, _ in attention_modules(self.mimi, "decoder_transformer.")]
        self.frames: list[MimiFrame] = []
        self.handles: list[Any] = []

    def __enter__(self) -> _MimiRecorder:
        mimi = self.mimi
        first = mimi.upsample if hasattr(mimi, "upsample") else mimi.decoder_transformer
        self.handles = [
            mimi.quantizer.register_forward_hook(self._input),
            first.register_forward_pre_hook(self._before),
            mimi.decoder.register_forward_hook(self._after),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()

    def _snapshot(self, state: dict[str, dict[str, torch.Tensor]], offset: int, outputs: bool) -> dict[str, np.ndarray]:
        window = self.facts.mimi_context
        index = 1 if outputs else 0
        prefix = "next_state" if outputs else "state"
        snap: dict[str, np.ndarray] = {f"{prefix}.decoder_transformer.offset": np.array([offset], dtype=np.int64)}
        for name in self.attention:
            cache = state[name]["cache"]  # [2, 1, capacity, H, Dh]
            out = torch.zeros(2, window, cache.shape[3], cache.shape[4])
            for j in range(window):
                pos = offset - window + j
                if pos >= 0:
                    out[:, j] = cache[:, 0, pos]
            snap[f"{prefix}.{name}.kv"] = _np(out)
        for spec in self.conv_states:
            snap[mimi_state_names(spec)[index]] = _np(state[spec.module][spec.key])
        return snap

    def _input(self, _module: Any, _args: Any, output: torch.Tensor) -> None:
        self.frames.append(MimiFrame(mimi_input=_np(output)))

    def _before(self, _module: Any, args: Any) -> None:
        if len(self.frames) - 1 not in self.snapshots:
            return
        state = args[1]
        offset = int(state[self.attention[0]]["offset"].view(-1)[0])
        self.frames[-1].state_before = self._snapshot(state, offset, outputs=False)

    def _after(self, _module: Any, args: Any, _output: Any) -> None:
        if len(self.frames) - 1 not in self.snapshots:
            return
        state = args[1]
        offset = int(state[self.attention[0]]["offset"].view(-1)[0]) + self.facts.mimi_steps_per_latent
        self.frames[-1].state_after = self._snapshot(state, offset, outputs=True)


def record_reference(
    tts: Any, facts: ModelFacts, max_steps: int | None = None, text: str = REFERENCE_TEXT, seed: int = REFERENCE_SEED
) -> Reference:
    """``max_steps`` caps the AR loop (default: upstream's own max_gen_len for the text, i.e. a full run)."""
    from pocket_tts.conditioners.base import TokenizedText
    from pocket_tts.models.flow_lm import lsd_decode
    from pocket_tts.models.tts_model import prepare_text_prompt

    logging.getLogger("pocket_tts").setLevel(logging.ERROR)  # "max length without EOS" is expected here
    flow_lm = tts.flow_lm
    audio = synthetic_voice(facts.sample_rate)
    with _FlowRecorder(tts) as flows:
        voice_state = tts.get_state_for_audio_prompt(audio)
        mimi_latent = _np(tts.mimi.encode_to_latent(audio.unsqueeze(0)))
        tokens = flow_lm.conditioner.prepare(text).tokens
        text_embeddings = _np(flow_lm.conditioner(TokenizedText(tokens)))
        frames_after_eos = tts.model_recommended_frames_after_eos
        if frames_after_eos is None:
            frames_after_eos = prepare_text_prompt(text, tts.pad_with_spaces_for_short_inputs, tts.remove_semicolons)[1] + 2
        max_gen_len = tts._estimate_max_gen_len(tokens.shape[1])
        max_steps = max_gen_len if max_steps is None else max_steps
        model_state = copy.deepcopy(voice_state)
        prompt_len = tts._flow_lm_current_end(model_state)
        tts._expand_kv_cache(model_state, sequence_length=prompt_len + tokens.shape[1] + max_gen_len)
        torch.manual_seed(seed)
        tts._run_flow_lm_and_increment_step(model_state=model_state, text_tokens=tokens)
        latents: queue.Queue[Any] = queue.Queue()
        tts._autoregressive_generation(model_state, max_steps, frames_after_eos, latents)
        assert flows.last_state is not None
        final = _time_major(flows.last_state, flows.names, 0, flows.calls[-1].offset + flows.calls[-1].new_kv.shape[0])  # type: ignore[union-attr]
        if not np.array_equal(final, np.concatenate([c.new_kv for c in flows.calls], axis=0)):  # type: ignore[misc]
            raise RuntimeError("upstream's FlowLM cache is not the concatenation of the recorded new K/V")
        first_step = flows.calls[2]
        flows.evals = []
        lsd_decode(
            lambda s, t, x: flow_lm.flow_net(torch.from_numpy(first_step.hidden), s, t, x),
            torch.from_numpy(first_step.evals[0].x).clone(),
            2,
        )
        lsd2 = flows.evals
    generated = []
    while (item := latents.get()) is not None:
        generated.append(item)
    decoded = list(generated)
    while len(decoded) < min_decoded_frames(facts):
        decoded.append(generated[len(decoded) % len(generated)] if generated else torch.zeros(1, 1, facts.latent_dim))
    for item in [*decoded, None]:
        latents.put(item)
    results: queue.Queue[Any] = queue.Queue()
    with _MimiRecorder(tts, facts, snapshot_frames(facts, len(decoded))) as mimi_rec:
        steps = facts.mimi_steps_per_latent
        tts._decode_audio_worker(latents, results, len(decoded) * steps, steps)
    audio_frames: list[np.ndarray] = []
    while True:
        kind, value = results.get()
        if kind == "error":
            raise value
        if kind == "done":
            break
        audio_frames.append(_np(value))
    for frame, samples in zip(mimi_rec.frames, audio_frames, strict=True):
        frame.audio = samples
    padded = audio.unsqueeze(0)
    pad = (-padded.shape[-1]) % facts.frame_size
    padded = torch.nn.functional.pad(padded, (0, pad))
    ar = [c for c in flows.calls if c.kind == "ar_step"]
    eos = [i for i, c in enumerate(ar) if c.eos_logit is not None and float(c.eos_logit.reshape(-1)[0]) > tts.eos_threshold]
    return Reference(
        text=text,
        seed=seed,
        temperature=float(tts.temp),
        lsd_decode_steps=int(tts.lsd_decode_steps),
        eos_threshold=float(tts.eos_threshold),
        tokens=_np(tokens),
        text_embeddings=text_embeddings,
        voice_audio=_np(padded),
        voice_samples=int(audio.shape[-1]),
        mimi_latent=mimi_latent,
        voice_conditioning=flows.calls[0].conditioning,
        frames_after_eos=int(frames_after_eos),
        max_gen_len=int(max_gen_len),
        max_steps=max_steps,
        flow_calls=flows.calls,
        frames=mimi_rec.frames,
        decoded_latents=[_np(x) for x in decoded],
        generated_frames=len(generated),
        lsd2_evals=lsd2,
        eos_step=eos[0] if eos else None,
        sample_rate=facts.sample_rate,
    )
