"""The one observer of upstream's unmodified generation and voice-prompt paths: ``SynthesisRecorder`` records what
a golden holds (``dump_golden``), ``GraphCallRecorder`` adds the per-graph call detail of the export check
(``reference_run``), ``VoiceRecorder`` the voice-prompt path (``dump_voice``).

They only record: forward hooks, plus wrappers that call upstream's function and keep a copy of what went in and
came out (``_generate_audio_stream_short_text``, ``_estimate_max_gen_len``, ``MimiModel.decode_from_latent``,
``MimiModel.encode_to_latent``, ``torch.nn.init.normal_`` / ``trunc_normal_``). The one exception is on request:
a recorded noise tape replaces the values the noise draw produced (same shape, same order, the draw itself still
runs), so clamped noise, which torch releases draw differently, can be replayed; and ``GraphCallRecorder`` can cap
``_estimate_max_gen_len`` (the export's ``--max-steps``). The maths stays upstream's.

Upstream generates in a thread and decodes Mimi frames in another. FlowLM calls (and the noise draws inside them)
happen one at a time on the generator thread and Mimi decodes on the decoder thread, each in order, and a chunk's
threads finish before the next chunk starts, so each record list is appended by one thread in order.

``SynthesisRecorder`` and ``VoiceRecorder`` observe upstream 2.1.0 and 4.x alike; what differs between releases
(the conditioner's input, the latent layout of a decode call, 4.x's fade-in applied after the decode returns,
4.x ignoring EOS on the first steps) is in small functions keyed by release at the end of this module.
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


# -- graph-call detail ---------------------------------------------------------------------------------------------


@dataclass
class FlowEval:
    """One flow-head evaluation: the condition, the times (LSD: s and t; 4.x flow matching: t; none for the one-step
    heads of 4.x), the point and the head's output."""

    hidden: np.ndarray
    s: np.ndarray | None
    t: np.ndarray | None
    x: np.ndarray
    flow_dir: np.ndarray


@dataclass
class FlowLMCall:
    """One FlowLM forward call with what the ``flow_lm_main`` graph consumes and produces."""

    kind: str  # voice_prefill | text_prefill | ar_step
    conditioning: np.ndarray
    latents: np.ndarray
    offset: int  # past positions; the past K/V is the concatenation of the earlier calls' new_kv
    hidden: np.ndarray | None = None
    eos_logit: np.ndarray | None = None
    new_kv: np.ndarray | None = None  # time-major [new positions, layers, 2, heads, head_dim]
    layer_out: np.ndarray | None = None
    latent: np.ndarray | None = None
    evals: list[FlowEval] = field(default_factory=list)


@dataclass
class MimiFrame:
    """One decoded frame: the decoder input, its audio, and (for kept frames) the whole streaming state around it."""

    mimi_input: np.ndarray
    audio: np.ndarray | None = None
    state_before: dict[str, np.ndarray] | None = None
    state_after: dict[str, np.ndarray] | None = None


class GraphCallRecorder(SynthesisRecorder):
    """A ``SynthesisRecorder`` that also keeps the per-graph call detail the export check replays.

    Besides the golden records it keeps every FlowLM call (conditioning, latents, offset, the K/V rows it wrote,
    layer outputs, hidden, EOS logit, flow-head evaluations), every Mimi frame (input, audio, and the streaming
    state before and after the frames in ``keep_frames`` and the last one) and the encoder's input and output.
    Wrap both ``get_state_for_audio_prompt`` and ``generate_audio`` in it; it records one text chunk.

    ``max_gen_len_cap`` is the one change to upstream's run, on request (the export's ``--max-steps``): it caps
    the value ``_estimate_max_gen_len`` returns.
    """

    def __init__(
        self,
        model: TTSModel,
        *,
        mimi_window: int,
        steps_per_latent: int,
        keep_frames: Callable[[int], bool],
        max_gen_len_cap: int | None = None,
    ) -> None:
        super().__init__(model)
        from .graph_defs import attention_modules, mimi_decoder_conv_states

        self.mimi_window = mimi_window
        self.steps_per_latent = steps_per_latent
        self.keep_frames = keep_frames
        self.max_gen_len_cap = max_gen_len_cap
        self.flow_names = [n for n, _ in attention_modules(model.flow_lm)]
        self.mimi_names = [n for n, _ in attention_modules(model.mimi, "decoder_transformer.")]
        self.conv_states = mimi_decoder_conv_states(model.mimi)
        self.flow_calls: list[FlowLMCall] = []
        self.frames: list[MimiFrame] = []
        self.encoder_audio: np.ndarray | None = None
        self.encoder_latent: np.ndarray | None = None
        self.last_flow_state: dict[str, dict[str, torch.Tensor]] | None = None
        self._layer_outputs: list[torch.Tensor] = []

    def __enter__(self) -> GraphCallRecorder:
        flow_lm = self.model.flow_lm
        stack = self._stack
        if self.max_gen_len_cap is not None:  # installed first, so the golden records the capped value
            cap = self.max_gen_len_cap
            stack.enter_context(_wrap_attr(self.model, "_estimate_max_gen_len", lambda original: lambda n: min(original(n), cap)))
        super().__enter__()
        stack.enter_context(_hook(flow_lm.register_forward_pre_hook(self._call_before, with_kwargs=True)))
        stack.enter_context(_hook(flow_lm.register_forward_hook(self._call_after, with_kwargs=True)))
        stack.enter_context(_hook(flow_lm.out_eos.register_forward_hook(self._call_eos)))
        stack.enter_context(_hook(flow_lm.flow_net.register_forward_hook(self._flow_eval)))
        for layer in flow_lm.transformer.layers:
            stack.enter_context(_hook(layer.register_forward_hook(lambda _m, _a, out: self._layer_outputs.append(out[:, -1]))))
        stack.enter_context(_wrap_attr(self.model.mimi, "encode_to_latent", self._encode_detail))
        self._stack.enter_context(self.mimi_frames())
        return self

    # -- FlowLM calls (generator thread) ----------------------------------------------------------------------
    def _call_before(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        offset = _state_offset(kwargs["model_state"], self.flow_names[0])
        written = sum(c.new_kv.shape[0] for c in self.flow_calls if c.new_kv is not None)
        if offset != written:
            raise RuntimeError(f"upstream's FlowLM offset {offset} is not the {written} positions recorded so far")
        sequence = kwargs["sequence"]
        kind = "ar_step" if sequence.shape[1] > 0 else "text_prefill" if self.chunks else "voice_prefill"
        if kind == "text_prefill" and len(self.chunks) > 1:
            raise RuntimeError("the graph-call detail covers one text chunk; this text was split into several")
        self._layer_outputs = []
        self.flow_calls.append(FlowLMCall(kind=kind, conditioning=_np(kwargs["text_embeddings"]), latents=_np(sequence), offset=offset))

    def _call_after(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        call = self.flow_calls[-1]
        stop = call.offset + call.conditioning.shape[1] + call.latents.shape[1]
        call.new_kv = _flow_kv_rows(kwargs["model_state"], self.flow_names, call.offset, stop)
        call.layer_out = _np(_stack_tensors(self._layer_outputs, dim=1))
        call.latent = _np(output[0])
        self.last_flow_state = kwargs["model_state"]

    def _call_eos(self, module: Any, args: tuple[Any, ...], output: torch.Tensor) -> None:
        # the EOS head's input is the last position's hidden state, the sampler head's condition (4.x: after z_proj)
        if self.flow_calls:
            self.flow_calls[-1].hidden = _np(args[0])
            self.flow_calls[-1].eos_logit = _np(output)

    def _flow_eval(self, module: Any, args: tuple[Any, ...], output: torch.Tensor) -> None:
        if self.flow_calls:
            c, *times, x = args  # LSD: (s, t); 4.x flow matching: (t,); 4.x one-step heads: none
            s, t = (_np(times[0]), _np(times[1])) if len(times) == 2 else (None, _np(times[0])) if times else (None, None)
            self.flow_calls[-1].evals.append(FlowEval(hidden=_np(c), s=s, t=t, x=_np(x), flow_dir=_np(output)))

    def recorded_cache(self) -> np.ndarray:
        """Upstream's FlowLM cache after the last call, time-major, up to its offset (compare with the new K/V)."""
        if self.last_flow_state is None or not self.flow_calls:
            raise RuntimeError("no FlowLM call was recorded")
        last = self.flow_calls[-1]
        return _flow_kv_rows(self.last_flow_state, self.flow_names, 0, last.offset + last.new_kv.shape[0])  # type: ignore[union-attr]

    # -- the encoder (main thread) ----------------------------------------------------------------------------
    def _encode_detail(self, original: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
        def observed(x: torch.Tensor) -> torch.Tensor:
            latent = original(x)
            self.encoder_audio, self.encoder_latent = _np(x), _np(latent)
            return latent

        return observed

    # -- Mimi frames (decoder thread) -------------------------------------------------------------------------
    @contextmanager
    def mimi_frames(self) -> Iterator[None]:
        """Records Mimi frames (only these hooks): used inside the recorder, and alone by ``decode_past_window``."""
        with _wrap_attr(self.model.mimi, "decode_from_latent", self._decode_detail):
            yield

    def _decode_detail(self, original: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def observed(latent: torch.Tensor, mimi_state: Any) -> torch.Tensor:
            index = len(self.frames)
            offset = _state_offset(mimi_state, self.mimi_names[0])
            before = self._mimi_snapshot(mimi_state, offset, after=False)
            audio = original(latent, mimi_state)
            after = self._mimi_snapshot(mimi_state, offset + self.steps_per_latent, after=True)
            if index > 0 and not self.keep_frames(index - 1):  # only kept frames and the latest one hold a state
                self.frames[-1].state_before = self.frames[-1].state_after = None
            mimi_input = _quantized_frame(self.model, latent)
            self.frames.append(MimiFrame(mimi_input=mimi_input, audio=_np(audio), state_before=before, state_after=after))
            return audio

        return observed

    def _mimi_snapshot(self, state: dict[str, dict[str, torch.Tensor]], offset: int, after: bool) -> dict[str, np.ndarray]:
        """The decoder graph's state inputs (or outputs): each attention layer's last ``mimi_window`` K/V rows
        (zeros before the start), the offset, and the conv states."""
        import torch

        from .graph_defs import mimi_state_names

        prefix = "next_state" if after else "state"
        snap: dict[str, np.ndarray] = {f"{prefix}.decoder_transformer.offset": np.array([offset], dtype=np.int64)}
        window = self.mimi_window
        for name in self.mimi_names:
            cache = state[name]["cache"]  # [2, 1, capacity, H, Dh]
            rows = cache[:, 0, max(0, offset - window) : offset]
            out = torch.zeros(2, window, cache.shape[3], cache.shape[4], dtype=cache.dtype)
            if rows.shape[1] > 0:
                out[:, window - rows.shape[1] :] = rows
            snap[f"{prefix}.{name}.kv"] = _np(out)
        for spec in self.conv_states:
            snap[mimi_state_names(spec)[1 if after else 0]] = _np(state[spec.module][spec.key])
        return snap

    def decode_past_window(self, latents: list[torch.Tensor], frames: int) -> None:
        """Not part of upstream's run: when the run decoded too few frames to wrap Mimi's attention window, the
        export decodes ``frames`` frames again from a fresh state with upstream's own decode worker, cycling the
        generated latents; these frames replace the recorded ones (the first ones are the same)."""
        import torch

        cycled = [latents[k % len(latents)] if latents else torch.zeros(1, 1, self.model.flow_lm.ldim) for k in range(frames)]
        self.frames = []
        with self.mimi_frames():
            _decode_frames(self.model, cycled, self.steps_per_latent)

    def lsd_evals(self, hidden: np.ndarray, x: np.ndarray, steps: int, ot: bool = False) -> list[FlowEval]:
        """Not part of a default run (one decode step): the flow head's evaluations of a ``steps``-step decode from
        ``x`` on ``hidden``, through upstream's ``lsd_decode`` (``ot``: 4.x's ``ot_decode``, one time input)."""
        import torch

        evals: list[FlowEval] = []
        condition = torch.from_numpy(hidden)

        def flow(*args: torch.Tensor) -> torch.Tensor:
            *times, point = args
            direction = self.model.flow_lm.flow_net(condition, *times, point)
            s, t = (_np(times[0]), _np(times[1])) if len(times) == 2 else (None, _np(times[0]))
            evals.append(FlowEval(hidden=hidden, s=s, t=t, x=_np(point), flow_dir=_np(direction)))
            return direction

        _decode_with(flow, torch.from_numpy(x).clone(), steps, ot)
        return evals


def _stack_tensors(tensors: list[torch.Tensor], dim: int) -> torch.Tensor:
    import torch

    return torch.stack(tensors, dim=dim)


# Upstream-API-specific pieces of the graph-call detail, one small function each.


def _state_offset(state: dict[str, dict[str, torch.Tensor]], module: str) -> int:
    return int(state[module]["offset"].view(-1)[0])


def _flow_kv_rows(state: dict[str, dict[str, torch.Tensor]], names: list[str], start: int, stop: int) -> np.ndarray:
    """Upstream per-layer caches [2, 1, T, H, Dh] -> rows start..stop-1 as [T, layers, 2, H, Dh]."""
    import torch

    per_layer = [state[n]["cache"][:, 0, start:stop] for n in names]  # [2, T, H, Dh]
    return _np(torch.stack(per_layer, dim=0).permute(2, 0, 1, 3, 4).contiguous())


def _decode_frames(model: TTSModel, latents: list[torch.Tensor], steps_per_latent: int) -> None:
    import queue

    source: queue.Queue[Any] = queue.Queue()
    for item in [*latents, None]:
        source.put(item)
    results: queue.Queue[Any] = queue.Queue()
    model._decode_audio_worker(source, results, len(latents) * steps_per_latent, steps_per_latent)
    while (result := results.get())[0] != "done":
        if result[0] == "error":
            raise result[1]


def _decode_with(flow: Callable[..., Any], x: torch.Tensor, steps: int, ot: bool) -> Any:
    """Upstream's multi-step decode: ``lsd_decode``, or 4.x's ``ot_decode`` (flow matching)."""
    from pocket_tts.models import flow_lm

    return (flow_lm.ot_decode if ot else flow_lm.lsd_decode)(flow, x, steps)


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


def _quantized_frame(model: TTSModel, latent: torch.Tensor) -> np.ndarray:
    """The mimi_decoder graph's input of one decode call (quantizer output [B, C, 1]): 2.1.0 decodes exactly that;
    4.x decodes de-normalised latents [B, 1, C] (one frame per call when recording) and applies the quantizer
    inside, which is applied here to what it was given."""
    if latent.shape[1] != 1 and is_v4():
        raise RuntimeError("the graph-call detail records one Mimi frame per decode call (max_decoder_frames_per_call = 1)")
    return _np(model.mimi.quantizer(latent.transpose(-1, -2))) if is_v4() else _np(latent)


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
