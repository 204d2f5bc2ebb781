"""Observers of upstream's unmodified generation and voice-prompt paths.

They only record: forward hooks, plus wrappers that call upstream's function and keep a copy of what went in and
came out (``_generate_audio_stream_short_text``, ``_estimate_max_gen_len``, ``MimiModel.decode_from_latent``,
``MimiModel.encode_to_latent``, ``torch.nn.init.normal_`` / ``trunc_normal_``). The one exception is on request:
a recorded noise tape replaces the values the noise draw produced (same shape, same order, the draw itself still
runs), so clamped noise, which torch releases draw differently, can be replayed. The maths stays upstream's.

Upstream generates in a thread and decodes Mimi frames in another. FlowLM calls (and the noise draws inside them)
happen one at a time on the generator thread and Mimi decodes on the decoder thread, each in order, and a chunk's
threads finish before the next chunk starts, so each record list is appended by one thread in order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .protocol import JobError
from .upstreams import is_v4

if TYPE_CHECKING:
    import torch
    from pocket_tts import TTSModel


def _np(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu").clone().numpy()


@dataclass
class _FlowCall:
    """One FlowLM forward call: the text prefill (no latent input) or an autoregressive step."""

    is_step: bool
    step_input: np.ndarray | None = None
    tokens: np.ndarray | None = None
    text_embeddings: np.ndarray | None = None
    layer_out: list[np.ndarray] = field(default_factory=list)
    hidden: np.ndarray | None = None
    eos_logit: float | None = None
    noise: list[np.ndarray] = field(default_factory=list)
    latent: np.ndarray | None = None
    is_eos: bool | None = None


@dataclass
class ChunkRecord:
    """Everything observed while upstream generated one text chunk."""

    text: str
    frames_after_eos: int
    # AR steps whose EOS is ignored (4.x: TTSModel._MIN_FRAMES_BEFORE_EOS; 2.1.0 has none).
    eos_min_step: int = 0
    max_gen_len: int | None = None
    prefill: _FlowCall | None = None
    steps: list[_FlowCall] = field(default_factory=list)
    mimi_input: list[np.ndarray] = field(default_factory=list)
    audio_frames: list[Any] = field(default_factory=list)  # arrays, or on 4.x the decoder's tensors (see _decoded_audio)

    @property
    def eos_step(self) -> int | None:
        return next((k for k, step in enumerate(self.steps) if step.is_eos and k >= self.eos_min_step), None)

    def tensors(self) -> dict[str, tuple[np.ndarray, str]]:
        """The chunk's tensors in the pockettts-golden/1 layout (name -> (array, dtype))."""
        prefill = self.prefill
        if prefill is None or prefill.tokens is None or prefill.text_embeddings is None or len(prefill.noise) != 1:
            raise RuntimeError(f"chunk {self.text!r}: the text prefill was not observed completely")
        for k, step in enumerate(self.steps):
            if len(step.noise) != 1 or step.hidden is None or step.latent is None or step.step_input is None:
                raise RuntimeError(f"chunk {self.text!r}: step {k} was not observed completely")
        if self.frames_after_eos is None:
            raise RuntimeError("frames_after_eos unknown")
        return {
            "tokens": (prefill.tokens.reshape(-1), "int64"),
            "text_embeddings": (prefill.text_embeddings.reshape(prefill.tokens.size, -1), "float32"),
            "prefill_noise": (prefill.noise[0].reshape(-1), "float32"),
            "step_input": (np.stack([s.step_input.reshape(-1) for s in self.steps]), "float32"),  # type: ignore[union-attr]
            "layer_out": (np.stack([np.stack([x.reshape(-1) for x in s.layer_out]) for s in self.steps]), "float32"),
            "hidden": (np.stack([s.hidden.reshape(-1) for s in self.steps]), "float32"),  # type: ignore[union-attr]
            "eos_logit": (np.array([s.eos_logit for s in self.steps], dtype=np.float32), "float32"),
            "noise": (np.stack([s.noise[0].reshape(-1) for s in self.steps]), "float32"),
            "latent": (np.stack([s.latent.reshape(-1) for s in self.steps]), "float32"),  # type: ignore[union-attr]
            "mimi_input": (np.stack([m.reshape(-1) for m in self.mimi_input]), "float32"),
            "audio": (np.concatenate([np.asarray(_as_array(a)).reshape(-1) for a in self.audio_frames]), "float32"),
        }

    def summary(self) -> dict[str, Any]:
        prefill_tokens = 0 if self.prefill is None or self.prefill.tokens is None else int(self.prefill.tokens.size)
        return {
            "text": self.text,
            "n_tokens": prefill_tokens,
            "max_gen_len": self.max_gen_len,
            "frames_after_eos": self.frames_after_eos,
            "eos_step": self.eos_step,
            "steps": len(self.steps),
            "frames": len(self.mimi_input),
        }


NoiseTape = list[np.ndarray]  # per chunk: [1 + steps, latent_dim] (prefill draw, then one per step)


class SynthesisRecorder:
    """Records one ``generate_audio`` call of ``model``; use as a context manager around the call."""

    def __init__(
        self, model: TTSModel, noise_tape: list[NoiseTape] | None = None, on_chunk: Callable[[int, str], None] | None = None
    ) -> None:
        self.model = model
        self.noise_tape = noise_tape
        self.on_chunk = on_chunk
        self.chunks: list[ChunkRecord] = []
        self._call: _FlowCall | None = None
        self._pending_text: tuple[np.ndarray, np.ndarray] | None = None
        self._stack = ExitStack()

    # -- installation -------------------------------------------------------------------------------------------
    def __enter__(self) -> SynthesisRecorder:
        import torch

        flow_lm = self.model.flow_lm
        stack = self._stack
        stack.enter_context(_hook(flow_lm.register_forward_pre_hook(self._flow_pre, with_kwargs=True)))
        stack.enter_context(_hook(flow_lm.register_forward_hook(self._flow_post)))
        stack.enter_context(_hook(flow_lm.conditioner.register_forward_hook(self._conditioner)))
        stack.enter_context(_hook(flow_lm.out_eos.register_forward_hook(self._eos)))
        for layer in flow_lm.transformer.layers:
            stack.enter_context(_hook(layer.register_forward_hook(self._layer)))
        stack.enter_context(_wrap_attr(torch.nn.init, "normal_", self._noise_wrapper))
        stack.enter_context(_wrap_attr(torch.nn.init, "trunc_normal_", self._noise_wrapper))
        stack.enter_context(_wrap_attr(self.model, "_generate_audio_stream_short_text", self._chunk_wrapper))
        stack.enter_context(_wrap_attr(self.model, "_estimate_max_gen_len", self._max_gen_len_wrapper))
        stack.enter_context(_wrap_attr(self.model.mimi, "decode_from_latent", self._decode_wrapper))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # -- chunk bookkeeping (main thread) ------------------------------------------------------------------------
    def _chunk_wrapper(self, original: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        signature = inspect.signature(original)

        def observed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            bound = signature.bind(*args, **kwargs)
            chunk = ChunkRecord(
                text=bound.arguments["text_to_generate"],
                frames_after_eos=bound.arguments["frames_after_eos"],
                eos_min_step=int(getattr(self.model, "_MIN_FRAMES_BEFORE_EOS", 0)),
            )
            self.chunks.append(chunk)
            if self.on_chunk is not None:
                self.on_chunk(len(self.chunks) - 1, chunk.text)
            yield from original(*args, **kwargs)

        return observed

    def _max_gen_len_wrapper(self, original: Callable[[int], int]) -> Callable[[int], int]:
        def observed(token_count: int) -> int:
            value = original(token_count)
            self.chunks[-1].max_gen_len = value
            return value

        return observed

    # -- FlowLM (generator thread) ------------------------------------------------------------------------------
    def _flow_pre(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        sequence = kwargs["sequence"] if "sequence" in kwargs else args[0]
        call = _FlowCall(is_step=sequence.shape[1] > 0)
        if call.is_step:
            call.step_input = _np(sequence[0, -1])
        if self._pending_text is not None:
            call.tokens, call.text_embeddings = self._pending_text
            self._pending_text = None
        self._call = call

    def _conditioner(self, module: Any, args: tuple[Any, ...], output: torch.Tensor) -> None:
        # Upstream embeds the tokens just before the FlowLM call that consumes them (TTSModel._run_flow_lm).
        tokens = _token_ids(args[0])
        if tokens.shape[-1] > 0:
            self._pending_text = (_np(tokens[0]), _np(output[0]))

    def _layer(self, module: Any, args: tuple[Any, ...], output: torch.Tensor) -> None:
        if self._call is not None and self._call.is_step:
            self._call.layer_out.append(_np(output[0, -1]))

    def _eos(self, module: Any, args: tuple[Any, ...], output: torch.Tensor) -> None:
        if self._call is not None:
            self._call.hidden = _np(args[0][0])
            self._call.eos_logit = float(output.reshape(-1)[0].item())

    def _noise_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def observed(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            result = original(tensor, *args, **kwargs)
            call = self._call
            if call is None:
                return result
            if self.noise_tape is not None:
                self._replay(tensor)
            call.noise.append(_np(tensor))
            return result

        return observed

    def _replay(self, tensor: torch.Tensor) -> None:
        import torch

        chunk_index = len(self.chunks) - 1
        chunk = self.chunks[chunk_index]
        draw = 0 if chunk.prefill is None else 1 + len(chunk.steps)  # the text prefill draws first, then each step
        tape = self.noise_tape
        assert tape is not None
        if chunk_index >= len(tape) or draw >= tape[chunk_index].shape[0]:
            raise JobError(
                "NOISE_TAPE_EXHAUSTED",
                f"The noise tape has no draw {draw} for chunk {chunk_index}: this run draws more noise than the recorded one.",
                kind="usage",
                hint="Replay a tape recorded with the same model, text and settings (only the seed's noise is replaced).",
            )
        row = tape[chunk_index][draw]
        if row.size != tensor.numel():
            raise JobError("NOISE_TAPE_MISMATCH", f"Noise tape rows hold {row.size} values; upstream draws {tensor.numel()}.", kind="usage")
        tensor.copy_(torch.from_numpy(row.astype(np.float32)).view_as(tensor))

    def _flow_post(self, module: Any, args: tuple[Any, ...], output: tuple[torch.Tensor, torch.Tensor]) -> None:
        call, self._call = self._call, None
        if call is None or not self.chunks:
            return
        latent, is_eos = output
        call.latent = _np(latent)
        call.is_eos = bool(is_eos.reshape(-1)[0].item())
        chunk = self.chunks[-1]
        if call.is_step:
            chunk.steps.append(call)
        elif chunk.prefill is None:
            chunk.prefill = call
        else:
            raise RuntimeError("a second prefill call inside one chunk")

    # -- Mimi decoder (decoder thread) --------------------------------------------------------------------------
    def _decode_wrapper(self, original: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def observed(latent: torch.Tensor, mimi_state: Any) -> torch.Tensor:
            audio = original(latent, mimi_state)
            chunk = self.chunks[-1]
            chunk.mimi_input.extend(_latent_frames(latent))
            chunk.audio_frames.append(_decoded_audio(audio))
            return audio

        return observed


class VoiceRecorder:
    """Records one ``get_state_for_audio_prompt`` call: encoder input and output, and the FlowLM conditioning."""

    def __init__(self, model: TTSModel) -> None:
        self.model = model
        self.audio: np.ndarray | None = None
        self.mimi_latent: np.ndarray | None = None
        self.conditioning: np.ndarray | None = None
        self._stack = ExitStack()

    def __enter__(self) -> VoiceRecorder:
        self._stack.enter_context(_wrap_attr(self.model.mimi, "encode_to_latent", self._encode_wrapper))
        self._stack.enter_context(_hook(self.model.flow_lm.register_forward_pre_hook(self._flow_pre, with_kwargs=True)))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def frames(self) -> int:
        """Latent frames of the prompt (2.1.0 encodes to [B, C, T], 4.x to [B, T, C])."""
        assert self.mimi_latent is not None
        return int(self.mimi_latent.shape[1] if is_v4() else self.mimi_latent.shape[-1])

    def _encode_wrapper(self, original: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
        def observed(x: torch.Tensor) -> torch.Tensor:
            latent = original(x)
            self.audio = _np(x)
            self.mimi_latent = _np(latent)
            return latent

        return observed

    def _flow_pre(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        sequence = kwargs["sequence"] if "sequence" in kwargs else args[0]
        if sequence.shape[1] == 0:
            self.conditioning = _np(kwargs["text_embeddings"] if "text_embeddings" in kwargs else args[1])


# -- what differs between upstream releases ------------------------------------------------------------------------
def _token_ids(conditioner_input: Any) -> torch.Tensor:
    """The conditioner's token ids: 2.1.0 passes a TokenizedText (``.tokens``), 4.x the id tensor itself."""
    return conditioner_input.tokens if hasattr(conditioner_input, "tokens") else conditioner_input


def _latent_frames(latent: torch.Tensor) -> list[np.ndarray]:
    """Each latent frame a ``decode_from_latent`` call decodes: 2.1.0 takes one frame as [B, C, 1]; 4.x takes
    [B, T, C] with every frame queued so far."""
    if is_v4():
        return [_np(latent[0, t]) for t in range(latent.shape[1])]
    return [_np(latent[0, :, 0])]


def _decoded_audio(audio: torch.Tensor) -> Any:
    """The audio of one decode call. 4.x fades the first 5 ms of a chunk in, in place, after the call returns, so
    the decoder's own tensor is kept (its final values are read when the golden is written); 2.1.0's is copied."""
    return audio[0, 0] if is_v4() else _np(audio[0, 0])


def _as_array(audio: Any) -> np.ndarray:
    return audio if isinstance(audio, np.ndarray) else _np(audio)


@contextmanager
def _hook(handle: Any) -> Iterator[None]:
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def _wrap_attr(owner: Any, name: str, make_wrapper: Callable[[Any], Any]) -> Iterator[None]:
    """Temporarily replaces ``owner.name`` with ``make_wrapper(original)``; restores it afterwards."""
    had_own = name in vars(owner)
    original = getattr(owner, name)
    setattr(owner, name, make_wrapper(original))
    try:
        yield
    finally:
        if had_own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)
