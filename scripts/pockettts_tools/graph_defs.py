"""The exported graphs: upstream modules wrapped as pure functions of explicit state, with their contracts.

Each wrapper calls upstream's own modules. The replacements: the two KV-cache *bookkeeping* backends below,
swapped onto upstream's attention modules while a graph is traced (upstream's ``complete_kv`` reads
``int(offset.item())``, which tracing would freeze into a constant); in ``flow_lm_main``, the FlowLM
attention's forward, substituted at export time by onnxruntime's fused RoPE and attention operators around
upstream's projections (fused_attention.py); in ``mimi_decoder``, the streaming code of the decoder transformer's
attention and of the convolutions (mimi_streaming.py). The export-time check (graph_checks.py) proves every graph equal to
upstream's unmodified streaming forward.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .fused_attention import _Reshape
from .model_facts import ModelFacts
from .protocol import JobError
from .tolerances import Tolerance, graph_tolerances

Dim = int | str


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # "float32" | "int64" | "bool"
    shape: tuple[Dim, ...]
    description: str
    optional: bool = False  # an output a runtime may leave unfetched (diagnostics)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "dtype": self.dtype, "shape": list(self.shape), "description": self.description}
        if self.optional:
            data["optional"] = True
        return data


@dataclass(frozen=True)
class StateLink:
    """How a state output feeds the next call: ``replace`` (output becomes the next input, same shape) or
    ``append`` (the output rows are written into a buffer at ``offset`` along ``axis``; the next input is the
    buffer's valid prefix)."""

    input: str
    output: str
    kind: str
    init: str  # "zeros" | "ones" | "empty" (zero rows)
    module: str | None = None  # upstream module path whose streaming state this is
    axis: int | None = None
    index: tuple[int, ...] | None = None  # append: the output's slice output[:, *index] holds this input's rows
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"input": self.input, "output": self.output, "kind": self.kind, "init": self.init}
        if self.axis is not None:
            data["axis"] = self.axis
        if self.index is not None:
            data["index"] = list(self.index)
        if self.module is not None:
            data["module"] = self.module
        if self.note:
            data["note"] = self.note
        return data


@dataclass
class GraphDef:
    name: str
    description: str
    module: nn.Module
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    example: tuple[torch.Tensor, ...]
    state: list[StateLink] = field(default_factory=list)
    # per output name, plus "default": |actual - expected| <= atol + rtol * |expected| (contracts/tolerances.json)
    tolerance: dict[str, Tolerance] = field(default_factory=dict)
    # attention modules whose cache backend is swapped while tracing: (module, backend)
    backends: list[tuple[nn.Module, Any]] = field(default_factory=list)
    # modules whose forward is replaced while tracing (fused_attention.py, mimi_streaming.py: export-time substitutes):
    # (module, forward), and the substitution's name the manifest records (graphs.<name>.rewrites)
    forwards: list[tuple[nn.Module, Any]] = field(default_factory=list)
    substitution: str | None = None

    def tolerance_for(self, output: str) -> Tolerance:
        return self.tolerance.get(output, self.tolerance["default"])


# ---------------------------------------------------------------------------------------------------------
# Cache bookkeeping backends (functional replacements of upstream's _LinearKVCacheBackend)


class PastKVBackend:
    """The valid cache prefix arrives as ``past_k``/``past_v`` [B, P, H, Dh] with ``offset`` == P; the new
    keys/values (after RoPE, as upstream caches them) are left in the state as ``new_k``/``new_v``.
    Key positions are 0..P+T-1, exactly upstream's ``arange(offset + T)`` over its valid cache slice."""

    requires_state = True

    def rope_offset(self, state: dict[str, torch.Tensor], batch_size: Any, device: Any) -> torch.Tensor:
        return state["offset"].view(-1)[0]

    def append_and_get(self, k: torch.Tensor, v: torch.Tensor, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        keys = torch.cat([state["past_k"], k], dim=1)
        values = torch.cat([state["past_v"], v], dim=1)
        state["new_k"], state["new_v"] = k, v
        k_attn = keys.permute(0, 2, 1, 3)
        v_attn = values.permute(0, 2, 1, 3)
        pos_k = torch.arange(k_attn.shape[2], device=k.device, dtype=torch.long).view(1, -1).expand(k.shape[0], -1)
        return k_attn, v_attn, pos_k, state["offset"]


class WindowKVBackend:
    """A fixed window of the last W cached positions (``window_k``/``window_v`` [B, W, H, Dh], zeros before
    the first call) at absolute positions offset-W..offset-1; positions < 0 are masked by upstream's own
    mask (``pos_k >= 0``), and with W >= context every key upstream could attend to is in the window.
    The next window (last W of window + new) is left in the state as ``next_k``/``next_v``."""

    requires_state = True

    def rope_offset(self, state: dict[str, torch.Tensor], batch_size: Any, device: Any) -> torch.Tensor:
        return state["offset"].view(-1)[0]

    def append_and_get(self, k: torch.Tensor, v: torch.Tensor, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        width = state["window_k"].shape[1]
        keys = torch.cat([state["window_k"], k], dim=1)
        values = torch.cat([state["window_v"], v], dim=1)
        state["next_k"], state["next_v"] = keys[:, k.shape[1] :], values[:, k.shape[1] :]
        pos_k = state["offset"].view(-1, 1) - width + torch.arange(keys.shape[1], device=k.device, dtype=torch.long).view(1, -1)
        return keys.permute(0, 2, 1, 3), values.permute(0, 2, 1, 3), pos_k, state["offset"]


@contextmanager
def swapped_backends(pairs: Sequence[tuple[nn.Module, Any]]) -> Iterator[None]:
    """Swaps each attention module's cache backend for the graph's, restoring upstream's afterwards."""
    saved = [(module, module._cache_backend) for module, _ in pairs]
    try:
        for module, backend in pairs:
            module._cache_backend = backend
        yield
    finally:
        for module, original in saved:
            module._cache_backend = original


def attention_modules(root: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    from pocket_tts.modules.transformer import StreamingMultiheadAttention

    return [(name, m) for name, m in root.named_modules() if isinstance(m, StreamingMultiheadAttention) and name.startswith(prefix)]


@contextmanager
def recorded_outputs(modules: Sequence[nn.Module]) -> Iterator[list[torch.Tensor]]:
    """Forward hooks that collect each module's output, in call order."""
    outputs: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, _a, out: outputs.append(out)) for m in modules]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


# ---------------------------------------------------------------------------------------------------------
# Wrappers


class TextConditioner(nn.Module):
    def __init__(self, flow_lm: nn.Module) -> None:
        super().__init__()
        self.flow_lm = flow_lm

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.flow_lm.conditioner(_conditioner_input(tokens))


class FlowLmMain(nn.Module):
    """One FlowLM call over n_cond conditioning positions then n_latents latent positions (upstream
    ``FlowLMModel.forward`` up to the EOS head; sampling is the runtime's, through flow_lm_flow)."""

    def __init__(self, flow_lm: nn.Module) -> None:
        super().__init__()
        self.flow_lm = flow_lm
        self.attention = [name for name, _ in attention_modules(flow_lm)]

    def forward(
        self, conditioning: torch.Tensor, latents: torch.Tensor, offset: torch.Tensor, *past: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """``past`` = past_k.0, past_v.0, past_k.1, ...: each layer's K and V as upstream caches them
        ([1, past_len, heads, head_dim], after RoPE), one input each, so that no layer's cache is sliced out
        of a larger tensor (a copy of the whole cache per step)."""
        flow_lm = self.flow_lm
        state = {name: {"past_k": past[2 * i], "past_v": past[2 * i + 1], "offset": offset} for i, name in enumerate(self.attention)}
        with recorded_outputs(list(flow_lm.transformer.layers)) as layer_outputs:
            # as FlowLMModel.forward: NaN marks the latent BOS, then input_linear and the backbone
            sequence = torch.where(torch.isnan(latents), flow_lm.bos_emb, latents)
            out = flow_lm.backbone(flow_lm.input_linear(sequence), conditioning, sequence, model_state=state)
        hidden = out.to(torch.float32)[:, -1]
        eos_logit = flow_lm.out_eos(hidden)
        # [new_len, layers, 2, kv_heads, head_dim] and [1, layers, d_model] with one Concat each (stacks of per-layer
        # Gather/Unsqueeze nodes cost a small step more than its attention's arithmetic)
        kv_heads, head_dim = state[self.attention[0]]["new_k"].shape[2:]
        rows = [_Reshape.apply(state[n][c], (-1, 1, int(kv_heads) * int(head_dim))) for n in self.attention for c in ("new_k", "new_v")]
        new_kv = _Reshape.apply(torch.cat(rows, dim=1), (0, len(self.attention), 2, int(kv_heads), int(head_dim)))
        layer_out = torch.cat([o[:, -1:] for o in layer_outputs], dim=1)
        new_offset = offset + (conditioning.shape[1] + latents.shape[1])
        return hidden, eos_logit, new_kv, new_offset, layer_out


class FlowLmFlow(nn.Module):
    """The LSD head: one evaluation of upstream's flow net at the time pair (s, t)."""

    def __init__(self, flow_lm: nn.Module) -> None:
        super().__init__()
        self.flow_net = flow_lm.flow_net

    def forward(self, hidden: torch.Tensor, s: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.flow_net(hidden, s, t, x)


class FlowLmTimeFlow(nn.Module):
    """The flow-matching head (4.x ``flow_matching``, upstream's ``ot_decode``): one evaluation at time t."""

    def __init__(self, flow_lm: nn.Module) -> None:
        super().__init__()
        self.flow_net = flow_lm.flow_net

    def forward(self, hidden: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.flow_net(hidden, t, x)


class FlowLmOneStep(nn.Module):
    """A one-step head (4.x ``drifting`` / ``pointwise``): upstream's own decode function on the noise, so the
    graph's output is the sample upstream's ``FlowLMModel.forward`` returns (one call per frame)."""

    def __init__(self, flow_lm: nn.Module, sampler: str) -> None:
        super().__init__()
        from pocket_tts.models import flow_lm as flow_lm_module

        self.flow_net = flow_lm.flow_net
        self.decode = {"drifting": flow_lm_module.drifting_decode, "pointwise": flow_lm_module.pointwise_decode}[sampler]

    def forward(self, hidden: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.decode(lambda x: self.flow_net(hidden, x), noise, 1)


class LatentToMimi(nn.Module):
    """As upstream's decoder worker: de-normalise with emb_std/emb_mean, channels first, quantizer projection."""

    def __init__(self, flow_lm: nn.Module, mimi: nn.Module) -> None:
        super().__init__()
        self.flow_lm = flow_lm
        self.mimi = mimi

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        denormalised = latent * self.flow_lm.emb_std + self.flow_lm.emb_mean
        return self.mimi.quantizer(denormalised.transpose(-1, -2))


@dataclass(frozen=True)
class ConvState:
    module: str
    key: str
    shape: tuple[int, ...]
    dtype: str
    init: str


def mimi_decoder_conv_states(mimi: nn.Module) -> list[ConvState]:
    """The conv/convtr streaming state the decoder path reads, in module order; zero-size ones (k=1 convs)
    and the ``first`` flag of constant-padded convs (read only by replicate padding) are left out."""
    from pocket_tts.modules.stateful_module import StatefulModule
    from pocket_tts.modules.transformer import StreamingMultiheadAttention

    states: list[ConvState] = []
    for name, module in mimi.named_modules():
        if not name.startswith(("upsample.", "decoder.")) or not isinstance(module, StatefulModule):
            continue
        if isinstance(module, StreamingMultiheadAttention):
            continue
        for key, tensor in module.init_state(1, 0).items():
            if key == "first" and getattr(module, "pad_mode", None) != "replicate":
                continue
            if tensor.numel() == 0:
                continue
            dtype = {torch.float32: "float32", torch.bool: "bool", torch.int64: "int64"}[tensor.dtype]
            init = "ones" if bool(tensor.all()) and tensor.dtype == torch.bool else "zeros"
            states.append(ConvState(module=name, key=key, shape=tuple(tensor.shape), dtype=dtype, init=init))
    return states


class MimiDecoder(nn.Module):
    """One upstream ``MimiModel.decode_from_latent`` call with every streaming state explicit."""

    def __init__(self, mimi: nn.Module, conv_states: list[ConvState], attention: list[str], steps_per_latent: int) -> None:
        super().__init__()
        self.mimi = mimi
        self.conv_states = conv_states
        self.attention = attention
        self.steps_per_latent = steps_per_latent

    def forward(self, mimi_input: torch.Tensor, attn_offset: torch.Tensor, *state_in: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mimi = self.mimi
        n_attn = len(self.attention)
        windows, convs = state_in[:n_attn], state_in[n_attn:]
        state: dict[str, dict[str, torch.Tensor]] = {}
        for spec, tensor in zip(self.conv_states, convs):
            if spec.module not in state:
                state[spec.module] = mimi.get_submodule(spec.module).init_state(1, 0)
            state[spec.module][spec.key] = tensor.clone()
        for name, module in mimi.named_modules():  # modules whose state is all zero-size still need theirs
            if (
                name.startswith(("upsample.", "decoder."))
                and name not in state
                and hasattr(module, "init_state")
                and name not in self.attention
            ):
                state[name] = module.init_state(1, 0)
        for name, window in zip(self.attention, windows):
            # window_k/window_v for upstream's forward (WindowKVBackend); kv, the [k|v] window itself, for the
            # streaming substitution (mimi_streaming.py), which leaves next_kv; the unread ones leave no node
            state[name] = {"window_k": window[0].unsqueeze(0), "window_v": window[1].unsqueeze(0), "kv": window, "offset": attn_offset}
        audio = _decode_quantized(mimi, mimi_input, state)
        next_windows = [
            state[n]["next_kv"] if "next_kv" in state[n] else torch.stack([state[n]["next_k"][0], state[n]["next_v"][0]], dim=0)
            for n in self.attention
        ]
        next_offset = attn_offset + mimi_input.shape[-1] * self.steps_per_latent  # upstream increment_steps
        return (audio, next_offset, *next_windows, *[state[s.module][s.key] for s in self.conv_states])


class MimiEncoder(nn.Module):
    """Upstream ``MimiModel.encode_to_latent`` on audio already padded to a multiple of the frame size (its own
    padding is then a no-op), then ``TTSModel._encode_audio``'s speaker projection and, for v2 models,
    ``get_state_for_audio_prompt``'s voice BOS. Runs non-streaming: every conv starts from its initial state."""

    def __init__(self, tts: nn.Module, attention: list[tuple[str, nn.Module]]) -> None:
        super().__init__()
        self.tts = tts
        self.attention = attention

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from pocket_tts.modules.conv import StreamingConv1d

        mimi = self.tts.mimi
        flow_lm = self.tts.flow_lm
        state: dict[str, dict[str, torch.Tensor]] = {
            name: m.init_state(1, 0) for name, m in mimi.named_modules() if isinstance(m, StreamingConv1d)
        }
        for name, m in self.attention:  # no past: the same keys and mask as upstream's state-less path
            empty = torch.zeros(1, 0, kv_heads(m), m.dim_per_head)
            state[name] = {"past_k": empty, "past_v": empty, "offset": torch.zeros(1, dtype=torch.long)}
        emb = mimi.encoder(audio, model_state=state)
        (emb,) = mimi.encoder_transformer(emb, model_state=state)
        latent = mimi.downsample(emb, model_state=state) if mimi.encoder_frame_rate != mimi.frame_rate else emb
        conditioning = torch.nn.functional.linear(latent.transpose(-1, -2).to(torch.float32), flow_lm.speaker_proj_weight)
        if flow_lm.insert_bos_before_voice:
            conditioning = torch.cat([flow_lm.bos_before_voice, conditioning], dim=1)
        return latent, conditioning


# ---------------------------------------------------------------------------------------------------------
# What differs between upstream releases and sampler types, one small function each


def _conditioner_input(tokens: torch.Tensor) -> Any:
    """The text conditioner's argument: 2.1.0 takes a ``TokenizedText``, 4.x the id tensor itself."""
    from .upstreams import is_v4

    if is_v4():
        return tokens
    from pocket_tts.conditioners.base import TokenizedText

    return TokenizedText(tokens)


def _decode_quantized(mimi: nn.Module, mimi_input: torch.Tensor, state: dict[str, dict[str, torch.Tensor]]) -> torch.Tensor:
    """Upstream's decode of quantizer-output frames [B, C, T]. 2.1.0's ``decode_from_latent`` takes them; 4.x's takes
    de-normalised latents [B, T, C] and applies the quantizer itself (latent_to_mimi does that here), so the rest of
    its body is called: upsample to the encoder frame rate, decoder transformer, SEANet decoder."""
    from .upstreams import is_v4

    if not is_v4():
        return mimi.decode_from_latent(mimi_input, state)
    emb = mimi._to_encoder_framerate(mimi_input, state)
    (emb,) = mimi.decoder_transformer(emb, state)
    return mimi.decoder(emb, state)


def kv_heads(attention: nn.Module) -> int:
    """The K/V heads an attention module caches (4.x grouped-query attention; 2.1.0: every head)."""
    return int(getattr(attention, "num_kv_heads", attention.num_heads))


def kv_heads_word(facts: ModelFacts) -> str:
    return "heads" if facts.num_kv_heads == facts.num_heads else "num_kv_heads"


def hidden_description(facts: ModelFacts) -> str:
    if facts.hidden_dim != facts.d_model:
        return "z_proj(out_norm output) at the last new position: the sampler head's condition and the EOS head's input"
    return "out_norm output at the last new position: flow_lm_flow's condition"


def sampler_graph(flow_lm: nn.Module, facts: ModelFacts) -> GraphDef:
    """``flow_lm_flow``, whose inputs fit the sampler type (docs/graph-contract.md)."""
    hid, lat = facts.hidden_dim, facts.latent_dim
    kind = facts.sampler["type"]
    if kind == "lsd":
        return GraphDef(
            name="flow_lm_flow",
            description="One evaluation of the flow head (upstream SimpleMLPAdaLN). The runtime runs the LSD loop: "
            "x = noise; for i in 0..K-1: x += flow_dir(hidden, s=i/K, t=(i+1)/K, x) / K.",
            module=FlowLmFlow(flow_lm),
            inputs=[
                f32("hidden", (1, hid), "flow_lm_main hidden"),
                f32("s", (1, 1), "start time i/K"),
                f32("t", (1, 1), "target time (i+1)/K"),
                f32("x", (1, lat), "current point (the noise at i = 0)"),
            ],
            outputs=[f32("flow_dir", (1, lat), "flow direction")],
            example=(torch.randn(1, hid), torch.zeros(1, 1), torch.ones(1, 1), torch.randn(1, lat)),
            tolerance=graph_tolerances("flow_lm_flow"),
        )
    if kind == "flow_matching":
        return GraphDef(
            name="flow_lm_flow",
            description="One evaluation of the flow-matching head (upstream SimpleMLPAdaLN, one time input). The runtime runs "
            "upstream's ot_decode: x = noise; for i in 0..K-1: x += flow_dir(hidden, t=i/K, x) / K.",
            module=FlowLmTimeFlow(flow_lm),
            inputs=[
                f32("hidden", (1, hid), "flow_lm_main hidden"),
                f32("t", (1, 1), "time i/K"),
                f32("x", (1, lat), "current point (the noise at i = 0)"),
            ],
            outputs=[f32("flow_dir", (1, lat), "flow direction")],
            example=(torch.randn(1, hid), torch.zeros(1, 1), torch.randn(1, lat)),
            tolerance=graph_tolerances("flow_lm_flow"),
        )
    if kind in ("drifting", "pointwise"):
        what = "the head's output for the noise" if kind == "drifting" else "the noise plus the head's output"
        return GraphDef(
            name="flow_lm_flow",
            description=f"The one-step {kind} sampler head (upstream SimpleMLPAdaLN, no time inputs): latent = {what}. "
            "One call per frame; the noise is drawn outside with std sqrt(temperature), as upstream draws it.",
            module=FlowLmOneStep(flow_lm, kind),
            inputs=[f32("hidden", (1, hid), "flow_lm_main hidden"), f32("noise", (1, lat), "the step's noise (std sqrt(temperature))")],
            outputs=[f32("latent", (1, lat), "the sampled latent (normalised), as upstream's FlowLM forward returns it")],
            example=(torch.randn(1, hid), torch.randn(1, lat)),
            tolerance=graph_tolerances("flow_lm_flow"),
        )
    raise JobError(
        "EXPORT_SAMPLER_UNSUPPORTED",
        f"The config's sampler head type {kind!r} has no exported graph (lsd, flow_matching, drifting and pointwise do).",
        kind="usage",
        hint="Export a model whose flow_lm.flow.type is lsd, flow_matching, drifting or pointwise.",
    )


# ---------------------------------------------------------------------------------------------------------
# The graph set


def f32(name: str, shape: tuple[Dim, ...], description: str, optional: bool = False) -> TensorSpec:
    return TensorSpec(name, "float32", shape, description, optional)


def i64(name: str, shape: tuple[Dim, ...], description: str) -> TensorSpec:
    return TensorSpec(name, "int64", shape, description)


def mimi_state_names(spec: ConvState) -> tuple[str, str]:
    return f"state.{spec.module}.{spec.key}", f"next_state.{spec.module}.{spec.key}"


def build_graphs(tts: nn.Module, facts: ModelFacts, rope_positions: int) -> list[GraphDef]:
    """The graph set; ``rope_positions`` sizes flow_lm_main's RoPE tables (the positions it can be called at)."""
    from .fused_attention import FUSED_ATTENTION, fused_forwards
    from .mimi_streaming import MIMI_STREAMING, mimi_forwards

    flow_lm, mimi = tts.flow_lm, tts.mimi
    d, lat, layers, heads, hd = facts.d_model, facts.latent_dim, facts.num_layers, facts.num_kv_heads, facts.head_dim
    hid = facts.hidden_dim
    graphs: list[GraphDef] = []

    graphs.append(
        GraphDef(
            name="text_conditioner",
            description="Token ids to text embeddings (upstream LUTConditioner: an embedding lookup).",
            module=TextConditioner(flow_lm),
            inputs=[i64("tokens", (1, "n_tokens"), "SentencePiece ids of one chunk, no BOS/EOS")],
            outputs=[f32("text_embeddings", (1, "n_tokens", d), "conditioning for flow_lm_main")],
            example=(torch.tensor([[10, 20, 30]], dtype=torch.long),),
            tolerance=graph_tolerances("text_conditioner"),
        )
    )

    kv_shape_new: tuple[Dim, ...] = ("new_len", layers, 2, heads, hd)
    graphs.append(
        GraphDef(
            name="flow_lm_main",
            description="One FlowLM call: n_cond conditioning positions (voice or text prefill) then n_latents "
            "latent positions (one AR step), attending to the past KV; returns the out_norm hidden state "
            "and the raw EOS logit of the last position and the new positions' K/V.",
            module=FlowLmMain(flow_lm),
            inputs=[
                f32("conditioning", (1, "n_cond", d), "text embeddings or voice conditioning; n_cond = 0 for an AR step"),
                f32(
                    "latents", (1, "n_latents", lat), "normalised latents, NaN = latent BOS; n_latents = 0 for a prefill, 1 for an AR step"
                ),
                i64("offset", (1,), "number of positions so far: the absolute position of the first new one"),
                *[
                    f32(
                        f"past_{c}.{i}",
                        (1, "past_len", heads, hd),
                        f"layer {i}'s {'keys (after RoPE)' if c == 'k' else 'values'} of positions offset-past_len..offset-1; "
                        "past_len >= capacities.min_past_rows (a row at a negative position is masked)",
                    )
                    for i in range(layers)
                    for c in "kv"
                ],
            ],
            outputs=[
                f32("hidden", (1, hid), hidden_description(facts)),
                f32("eos_logit", (1, 1), "raw EOS logit at the last new position (EOS when > eos_threshold)"),
                f32("new_kv", kv_shape_new, "K/V of the new_len = n_cond + n_latents new positions; write at rows offset.."),
                i64("new_offset", (1,), "offset + new_len"),
                f32(
                    "layer_out",
                    (1, layers, d),
                    "each transformer layer's output at the last position, before out_norm (diagnostics)",
                    optional=True,
                ),
            ],
            example=(
                torch.randn(1, 3, d),
                torch.zeros(1, 0, lat),
                torch.tensor([5]),
                *[torch.randn(1, 5, heads, hd) for _ in range(2 * layers)],
            ),
            state=[
                *[
                    StateLink(
                        f"past_{c}.{i}",
                        "new_kv",
                        "append",
                        "empty",
                        axis=1,
                        index=(i, j),
                        note=f"keep a zero-filled buffer [capacity, {kv_heads_word(facts)}, head_dim] per layer and k|v; pass rows 0..offset-1 "
                        f"as past_{c}.{i} [1, offset, {kv_heads_word(facts)}, head_dim] (with offset 0: min_past_rows zero rows, before "
                        f"position 0, which the mask drops), write new_kv[:, {i}, {j}] at rows offset..offset+new_len-1",
                    )
                    for i in range(layers)
                    for j, c in enumerate("kv")
                ],
                StateLink("offset", "new_offset", "replace", "zeros"),
            ],
            tolerance=graph_tolerances("flow_lm_main"),
            forwards=fused_forwards([m for _, m in attention_modules(flow_lm)], rope_positions),
            substitution=FUSED_ATTENTION,
        )
    )

    graphs.append(sampler_graph(flow_lm, facts))

    graphs.append(
        GraphDef(
            name="latent_to_mimi",
            description="Normalised latents to the Mimi decoder input: quantizer(latent * emb_std + emb_mean), channels first.",
            module=LatentToMimi(flow_lm, mimi),
            inputs=[f32("latent", (1, "n_frames", lat), "latents as flow_lm_flow produced them (normalised)")],
            outputs=[f32("mimi_input", (1, facts.mimi_input_dim, "n_frames"), "mimi_decoder input")],
            example=(torch.randn(1, 2, lat),),
            tolerance=graph_tolerances("latent_to_mimi"),
        )
    )

    conv_states = mimi_decoder_conv_states(mimi)
    dec_attention = attention_modules(mimi, "decoder_transformer.")
    window = facts.mimi_context
    window_shape = (2, window, facts.mimi_num_heads, facts.mimi_head_dim)
    state_inputs: list[TensorSpec] = [i64("state.decoder_transformer.offset", (1,), "decoder transformer steps so far (16 per frame)")]
    state_outputs: list[TensorSpec] = [i64("next_state.decoder_transformer.offset", (1,), "offset + 16 per frame")]
    links = [
        StateLink(
            "state.decoder_transformer.offset",
            "next_state.decoder_transformer.offset",
            "replace",
            "zeros",
            module="decoder_transformer",
            note="shared by every decoder transformer layer",
        )
    ]
    for name, _ in dec_attention:
        state_inputs.append(
            f32(f"state.{name}.kv", window_shape, "K/V (after RoPE) of the last context steps [k|v, step, head, dim], oldest first")
        )
        state_outputs.append(f32(f"next_state.{name}.kv", window_shape, "the window after this frame"))
        links.append(
            StateLink(
                f"state.{name}.kv",
                f"next_state.{name}.kv",
                "replace",
                "zeros",
                module=name,
                note="window of the last context positions at offset-context..offset-1; zeros (masked) before the first",
            )
        )
    for spec in conv_states:
        inp, out = mimi_state_names(spec)
        what = (
            "convtr overlap (without bias)"
            if spec.key == "partial"
            else "conv left context"
            if spec.key == "previous"
            else "first-call flag"
        )
        state_inputs.append(TensorSpec(inp, spec.dtype, spec.shape, f"{what} of {spec.module}"))
        state_outputs.append(TensorSpec(out, spec.dtype, spec.shape, f"{what} after this frame"))
        links.append(StateLink(inp, out, "replace", spec.init, module=spec.module))
    example_states = [torch.zeros(window_shape) for _ in dec_attention] + [
        torch.ones(s.shape, dtype=torch.bool) if s.dtype == "bool" else torch.zeros(s.shape) for s in conv_states
    ]
    graphs.append(
        GraphDef(
            name="mimi_decoder",
            description="Mimi decoder steps: n_frames latent frames (upsample, decoder transformer, SEANet decoder) to "
            f"n_frames x {facts.frame_size} samples, every streaming state an input/output pair of the same shape. "
            "Decoding several frames in one call equals decoding them one by one (upstream's streaming decoder).",
            module=MimiDecoder(mimi, conv_states, [n for n, _ in dec_attention], facts.mimi_steps_per_latent),
            inputs=[
                f32("mimi_input", (1, facts.mimi_input_dim, "n_frames"), "latent_to_mimi output of n_frames >= 1 consecutive frames"),
                *state_inputs,
            ],
            outputs=[
                f32(
                    "audio", (1, 1, "n_samples"), f"24 kHz samples of these frames (n_samples = n_frames x {facts.frame_size}), not clamped"
                ),
                *state_outputs,
            ],
            example=(torch.randn(1, facts.mimi_input_dim, 2), torch.tensor([0]), *example_states),
            state=links,
            tolerance=graph_tolerances("mimi_decoder"),
            backends=[(m, WindowKVBackend()) for _, m in dec_attention],
            forwards=mimi_forwards(mimi, [n for n, _ in dec_attention], window),
            substitution=MIMI_STREAMING,
        )
    )

    enc_attention = attention_modules(mimi, "encoder_transformer.")
    graphs.append(
        GraphDef(
            name="mimi_encoder",
            description="Voice prompt audio to the Mimi latent and the FlowLM voice conditioning (speaker projection"
            + (", voice BOS first" if facts.insert_bos_before_voice else "")
            + ").",
            module=MimiEncoder(tts, enc_attention),
            inputs=[
                f32(
                    "audio",
                    (1, 1, "n_samples"),
                    f"24 kHz mono in [-1, 1], zero-padded on the right to a multiple of {facts.frame_size} (n_samples >= {facts.frame_size})",
                )
            ],
            outputs=[
                f32("mimi_latent", (1, facts.voice_latent_dim, "n_frames"), "Mimi encoder latent, n_frames = n_samples / frame_size"),
                f32(
                    "conditioning",
                    (1, "n_prompt", d),
                    "voice conditioning for flow_lm_main, n_prompt = n_frames"
                    + (" + 1 (voice BOS first)" if facts.insert_bos_before_voice else ""),
                ),
            ],
            example=(torch.randn(1, 1, 3 * facts.frame_size) * 0.1,),
            tolerance=graph_tolerances("mimi_encoder"),
            backends=[(m, PastKVBackend()) for _, m in enc_attention],
        )
    )
    return graphs
