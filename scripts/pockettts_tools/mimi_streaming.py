"""Export-time substitution of the Mimi decoder's streaming code by forms with a small fixed cost per call.

Traced as is, upstream's streaming modules leave ~600 small ONNX nodes in ``mimi_decoder`` after onnxruntime's
optimizer, paid once per call whatever its frame count: each transformer layer rebuilds RoPE's frequencies and
angles and the sliding-window mask from shapes (~100 nodes a layer), each transposed convolution writes its
overlap into its output with ScatterND (~45 nodes), each convolution writes its left context back the same way.
While ``mimi_decoder`` is traced, ``mimi_forwards`` swaps these modules' ``forward`` for the functions below; the
weights and upstream's projections, convolutions and norms are untouched:

- attention (``decoder_transformer``): RoPE as ``com.microsoft.RotaryEmbedding`` (interleaved pairs, as upstream's
  ``apply_rope``) over cos/sin of this call's positions, computed once per call as upstream does (float32
  ``offset + t`` times upstream's frequencies); the window and the new K/V in one ``[2, W + T, heads * head_dim]``
  Concat (the state's ``[2, W, heads, head_dim]`` read as is), the next window its last W positions;
  ``com.microsoft.MultiHeadAttention`` with an additive 0 / -inf bias from upstream's mask rule (key position >= 0,
  0 <= query - key < context), built once per call and shared by the layers;
- ``StreamingConv1d`` (constant padding): Concat of the left context and the input, the Conv, and the next context
  sliced off that Concat;
- ``StreamingConvTranspose1d`` with kernel <= 2 x stride: the overlap added to the first K - S samples, the next
  overlap (minus the bias) sliced off the end, one Concat; no in-place writes.

Modules of other shapes (replicate padding, a transposed kernel over twice its stride, grouped-query attention)
keep upstream's forward. The export checks the traced graph against upstream's unmodified streaming decoder
(graph_checks: the recorded calls, the chain) at the unchanged tolerances of contracts/tolerances.json.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .fused_attention import _Attention, _Reshape, _Rotary

# the manifest's name of this substitution (graphs.mimi_decoder.rewrites)
MIMI_STREAMING = "mimi_streaming"


class _CallTables:
    """RoPE's cos/sin and the attention bias of one call, built by the first layer and reused by the others."""

    def __init__(self, max_period: float, head_dim: int, window: int, context: int | None) -> None:
        # upstream's frequencies, in torch's float32 (apply_rope: exp(d * (-log(max_period) * 2 / D)))
        ds = torch.arange(head_dim // 2, dtype=torch.float32)
        self.freqs = torch.exp(ds * (-math.log(max_period) * 2 / head_dim))
        self.window, self.context = window, context
        self.offset: torch.Tensor | None = None  # held, so that the identity test below cannot match a new tensor
        self.length: int | None = None
        self.tables: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def get(self, offset: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.offset is not offset or self.length != length or self.tables is None:
            # RoPE at positions offset..offset+T-1, as upstream: float32 arange plus the offset, times the frequencies
            positions = torch.arange(length, dtype=torch.float32) + offset.view(-1)[0]
            angles = positions.view(-1, 1) * self.freqs.view(1, -1)
            # upstream's mask over [window | new]: key j is at offset - W + j, query i at offset + i
            query = torch.arange(length).view(-1, 1)
            key = torch.arange(self.window + length).view(1, -1)
            delta = query + self.window - key
            allowed = (key >= self.window - offset.view(-1)[0]) & (delta >= 0)
            if self.context is not None:
                allowed = allowed & (delta < self.context)
            bias = torch.where(allowed, 0.0, float("-inf")).view(1, 1, length, self.window + length)
            self.tables = (torch.cos(angles), torch.sin(angles), bias)
            self.offset, self.length = offset, length
        return self.tables


def _attention_forward(tables: _CallTables, window: int) -> Callable[..., torch.Tensor]:
    start = torch.zeros(1, dtype=torch.int64)  # the cos/sin rows are this call's positions: RoPE position ids from 0

    def forward(self: nn.Module, query: torch.Tensor, model_state: dict, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        if attn_mask is not None:
            raise ValueError("the Mimi streaming substitution traces the streaming path only (no precomputed attn_mask)")
        state = self.get_state(model_state)
        heads, d = self.num_heads, self.dim_per_head
        width = heads * d
        projected = self.in_proj(query)  # [1, T, q | k | v], upstream's packing
        length = projected.shape[1]
        cos, sin, bias = tables.get(state["offset"], length)
        q = _Rotary.apply(projected[..., :width], start, cos, sin, heads)
        k = _Rotary.apply(projected[..., width : 2 * width], start, cos, sin, heads)
        v = projected[..., 2 * width :]
        # [k | v] of the window then of the new positions (batch 1: the new K and V stack on axis 0)
        kv = torch.cat([_Reshape.apply(state["kv"], (2, window, width)), torch.cat([k, v], dim=0)], dim=1)
        state["next_kv"] = _Reshape.apply(kv[:, -window:], (2, window, heads, d))
        keys, values = kv[0:1], kv[1:2]
        return self.out_proj(_Attention.apply(q, keys, values, bias, heads))

    return forward


def _conv_forward(context: int) -> Callable[..., torch.Tensor]:
    def forward(self: nn.Module, x: torch.Tensor, model_state: dict | None) -> torch.Tensor:
        state = self.get_state(model_state)
        x = torch.cat([state["previous"], x], dim=-1)
        state["previous"] = x[..., -context:]
        return self.conv(x)

    return forward


def _convtr_forward(overlap: int) -> Callable[..., torch.Tensor]:
    def forward(self: nn.Module, x: torch.Tensor, mimi_state: dict) -> torch.Tensor:
        state = self.get_state(mimi_state)
        y = self.convtr(x)
        tail = y[..., -overlap:]
        if self.convtr.bias is not None:
            tail = tail - self.convtr.bias[:, None]
        head = y[..., :overlap] + state["partial"]
        state["partial"] = tail
        # the output length (T - 1) S + K >= 2 (K - S) when K <= 2 S: the head and the tail never overlap
        return torch.cat([head, y[..., overlap:-overlap]], dim=-1)

    return forward


def mimi_forwards(mimi: nn.Module, attention: list[str], window: int) -> list[tuple[nn.Module, Callable[..., torch.Tensor]]]:
    """The export-time forward of each decoder-path module of ``mimi`` this substitution covers (see the module doc);
    ``attention`` names the decoder transformer's attention modules, ``window`` is the K/V window each keeps."""
    from pocket_tts.modules.conv import StreamingConv1d, StreamingConvTranspose1d

    pairs: list[tuple[nn.Module, Callable[..., torch.Tensor]]] = []
    for name, module in mimi.named_modules():
        if not name.startswith(("upsample.", "decoder.")):
            continue
        if isinstance(module, StreamingConv1d):
            context = module._effective_kernel_size - module._stride
            if context > 0 and module.pad_mode == "constant":
                pairs.append((module, _conv_forward(context)))
        elif isinstance(module, StreamingConvTranspose1d):
            overlap = module._kernel_size - module._stride
            if 0 < overlap <= module._stride:
                pairs.append((module, _convtr_forward(overlap)))
    modules = [mimi.get_submodule(name) for name in attention]
    fused = [m for m in modules if int(getattr(m, "num_kv_heads", m.num_heads)) == m.num_heads]
    if fused:
        first = fused[0]
        tables = _CallTables(float(first.rope.max_period), first.dim_per_head, window, first.context)
        forward = _attention_forward(tables, window)
        pairs += [(m, forward) for m in fused if m.dim_per_head == first.dim_per_head and m.context == first.context]
    return pairs
