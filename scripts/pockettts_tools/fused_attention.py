"""Export-time substitution of upstream's FlowLM attention by onnxruntime's fused contrib operators.

Traced as is, upstream's ``StreamingMultiheadAttention.forward`` leaves ~100 small ONNX nodes per layer and call
(RoPE's frequencies and angles rebuilt from shapes, the position mask rebuilt from ``arange``s, transposes into
heads, the scaled dot product spelled out): ~5 ms of a ~20 ms full-size FlowLM step on onnxruntime's CPU provider,
growing with the cache. While ``flow_lm_main`` is traced, each FlowLM attention module's ``forward`` is swapped for
``fused_forward`` below, which keeps upstream's projections (``in_proj``/``out_proj``, the same weights) and emits:

- ``com.microsoft.RotaryEmbedding`` (interleaved pairs, as upstream's ``apply_rope``) on q and k, its cos/sin
  tables read off upstream's own ``RotaryEmbedding`` at positions 0..capacity-1 (so the angles are upstream's floats);
- the K/V of the new positions after RoPE, as upstream caches them, left in the state for the graph's ``new_kv``;
- the attention over the cache where it lies (``_CacheAttention``): onnxruntime's ``FusedMatMul`` reads the layer's
  ``past_k``/``past_v`` (``[1, P, kv_heads, head_dim]``) as ``[kv_heads, P, head_dim]`` by strides (``transBatch``),
  so neither a ``Concat`` of the past with the new K/V nor a transpose into heads copies the cache: the scores of
  the past and of the new keys (scale 1/sqrt(head_dim), as upstream's ``scaled_dot_product_attention``) side by
  side, an additive bias of 0 / -inf from upstream's mask rule (key position <= query position, within
  ``context``) built once per call and shared by the layers, one Softmax, and the two weighted sums added. Against
  ``MultiHeadAttention`` over ``Concat(past, new)`` (two passes over the cache per layer and call), the full-size
  step alone: x0.92-0.95 at 150 cached positions, x0.93 at 400.
- the past's rows are the positions just before ``offset`` (row j of P is position offset - P + j), and the mask
  also drops a key at a negative position. So the graph needs at least one past row (``MIN_PAST_ROWS``, the
  manifest's ``capacities.min_past_rows``): ``FusedMatMul`` with ``transBatch`` fails on a zero leading dimension,
  and an empty past (a first prefill) is fed as one row at position -1, which the mask drops whatever it holds.
  This replaces an ``If`` per layer that took a branch without the past; without it the step alone takes x0.91-1.00
  of the time (2 threads: 2m x0.91, 7m x0.92, 18m x0.93-1.00, full size x0.97, int8 x0.94).
  Grouped-query attention (4.x: kv_heads < heads) is not spelled as upstream's repeat of the K/V heads (a copy of
  the whole cache per layer and call): the ``group`` query heads that share a K/V head become ``group`` query rows
  of one attention over ``kv_heads`` heads (each row a query position repeated, the bias rows repeated with it),
  the same scores and weighted sums of the same keys and values.

This is not a re-implementation checked by faith: the export checks the traced graph against upstream's
unmodified streaming forward (graph_checks, the embedded golden) at the unchanged tolerances of
contracts/tolerances.json, like every other graph. The torch bodies of the ``autograd.Function``s only give
the trace its shapes and values; the ONNX file holds the contrib operators their ``symbolic`` emits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import MethodType
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

MS_DOMAIN = "com.microsoft"
OPSET_IMPORTS = {MS_DOMAIN: 1}
# the manifest's name of this substitution (graphs.flow_lm_main.rewrites)
FUSED_ATTENTION = "fused_attention"
# past rows the graph must be fed (graphs.flow_lm_main.capacities.min_past_rows): an empty past is one row at
# position -1, which the mask drops
MIN_PAST_ROWS = 1
# RoPE table rows per position of the KV capacity: the cache may outgrow its preallocated capacity (a chunk upstream
# cannot split), the table cannot; the manifest records its length (capacities.max_positions) and the runtime refuses
# a call past it with a typed error. 8x the capacity costs ~1.4 MB at the full size.
ROPE_TABLE_FACTOR = 8


def _unused(g: Any) -> Any:
    """An absent optional input of an ONNX node (an empty name in the file)."""
    node = g.op("prim::Constant")
    node.setType(torch._C.OptionalType.ofTensor())
    return node


class _Reshape(torch.autograd.Function):
    """ONNX Reshape to a constant target (0 copies the input's dimension, -1 is inferred): traced, ``x.reshape(b, x.shape[1],
    ...)`` would leave Shape/Gather/Unsqueeze/Concat nodes per call to compute the target at run time."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, target: tuple[int, ...]) -> torch.Tensor:
        return x.reshape([x.shape[i] if n == 0 else n for i, n in enumerate(target)])

    @staticmethod
    def symbolic(g: Any, x: Any, target: tuple[int, ...]) -> Any:
        return g.op("Reshape", x, g.op("Constant", value_t=torch.tensor(target, dtype=torch.int64)))


class _Rotary(torch.autograd.Function):
    """x [B, S, heads * head_dim] rotated at positions offset..offset+S-1 with interleaved (real, imaginary) pairs."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, offset: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, heads: int) -> torch.Tensor:
        b, s, width = x.shape
        positions = offset.view(-1)[0] + torch.arange(s)
        c, n = cos[positions].view(1, s, 1, -1), sin[positions].view(1, s, 1, -1)
        pairs = x.view(b, s, heads, width // heads // 2, 2)
        real, imag = pairs[..., 0], pairs[..., 1]
        return torch.stack([real * c - imag * n, real * n + imag * c], dim=-1).view(b, s, width)

    @staticmethod
    def symbolic(g: Any, x: Any, offset: Any, cos: Any, sin: Any, heads: int) -> Any:
        out = g.op(f"{MS_DOMAIN}::RotaryEmbedding", x, offset, cos, sin, interleaved_i=1, num_heads_i=heads)
        out.setType(x.type())
        return out


class _Attention(torch.autograd.Function):
    """softmax(q k^T / sqrt(head_dim) + bias) v over heads; q [B, S, H*D], k/v [B, T, H*D], bias [1, 1, S, T]."""

    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor, heads: int) -> torch.Tensor:
        b, s, width = q.shape

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(b, x.shape[1], heads, width // heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(q), split(k), split(v), bias)
        return out.transpose(1, 2).reshape(b, s, width)

    @staticmethod
    def symbolic(g: Any, q: Any, k: Any, v: Any, bias: Any, heads: int) -> Any:
        out = g.op(f"{MS_DOMAIN}::MultiHeadAttention", q, k, v, _unused(g), _unused(g), bias, num_heads_i=heads)
        out.setType(q.type())
        return out


class _CacheAttention(torch.autograd.Function):
    """Attention of query rows over the past and the new K/V, the past read where it lies: q [1, R, H*D] (R query rows),
    past_k/past_v [1, P, H, D], new_k/new_v [1, T, H, D], bias [1, 1, R, P + T] -> [1, R, H*D] (H K/V heads of D).

    Emitted as onnxruntime's FusedMatMul with ``transBatch`` (a [P, H, D] operand read as [H, P, D] by strides), the
    scores of the past and of the new keys side by side, one Softmax, and the two weighted sums added: no copy of the
    cache into a concatenation and no transpose of it into heads (each costs a pass over the whole cache per layer
    and step, which MultiHeadAttention over ``Concat(past, new)`` makes twice). P >= 1 (``MIN_PAST_ROWS``)."""

    @staticmethod
    def forward(
        ctx: Any,
        q: torch.Tensor,
        past_k: torch.Tensor,
        past_v: torch.Tensor,
        new_k: torch.Tensor,
        new_v: torch.Tensor,
        bias: torch.Tensor,
        heads: int,
        d: int,
    ) -> torch.Tensor:
        b, r, width = q.shape
        keys = torch.cat([past_k, new_k], dim=1).transpose(1, 2)
        values = torch.cat([past_v, new_v], dim=1).transpose(1, 2)
        out = F.scaled_dot_product_attention(q.view(b, r, heads, d).transpose(1, 2), keys, values, bias)
        return out.transpose(1, 2).reshape(b, r, width)

    @staticmethod
    def symbolic(g: Any, q: Any, past_k: Any, past_v: Any, new_k: Any, new_v: Any, bias: Any, heads: int, d: int) -> Any:
        def const(values: list[int]) -> Any:
            return g.op("Constant", value_t=torch.tensor(values, dtype=torch.int64))

        head_rows, zero, end, axis = const([-1, heads, d]), const([0]), const([2**62]), const([2])

        def rows(x: Any) -> Any:  # [1, N, H*D] or [1, N, H, D] -> [N, H, D]
            return g.op("Reshape", x, head_rows)

        def matmul(a: Any, b: Any, **attrs: Any) -> Any:
            return g.op(f"{MS_DOMAIN}::FusedMatMul", a, b, **attrs)

        scale = 1.0 / math.sqrt(d)
        qh = rows(q)  # [R, H, D], read as [H, R, D] (transBatchA)
        bias3 = g.op("Squeeze", bias, zero)  # [1, R, P+T]
        new_scores = matmul(qh, rows(new_k), alpha_f=scale, transB_i=1, transBatchA_i=1, transBatchB_i=1)  # [H, R, T]
        past_scores = matmul(qh, rows(past_k), alpha_f=scale, transB_i=1, transBatchA_i=1, transBatchB_i=1)  # [H, R, P]
        past_len = g.op("Shape", past_k, start_i=1, end_i=2)
        probs = g.op("Softmax", g.op("Add", g.op("Concat", past_scores, new_scores, axis_i=2), bias3), axis_i=-1)
        past_probs = g.op("Slice", probs, zero, past_len, axis)
        new_probs = g.op("Slice", probs, past_len, end, axis)
        out = g.op(
            "Add",
            matmul(past_probs, rows(past_v), transBatchB_i=1),
            matmul(new_probs, rows(new_v), transBatchB_i=1),
        )  # [H, R, D]
        result = g.op("Reshape", g.op("Transpose", out, perm_i=[1, 0, 2]), const([1, -1, heads * d]))
        result.setType(q.type())
        return result


def rope_tables(rope: nn.Module, head_dim: int, positions: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [positions, head_dim / 2] as upstream's RotaryEmbedding computes them: it rotates the pair
    (1, 0) at position p to (cos, sin) of p times each frequency (1 * c - 0 * s and 1 * s + 0 * c, exactly)."""
    unit = torch.zeros(1, positions, 1, head_dim)
    unit[..., 0::2] = 1.0
    rotated, _ = rope(unit, unit, offset=0)
    return rotated[0, :, 0, 0::2].contiguous(), rotated[0, :, 0, 1::2].contiguous()


class _SharedBias:
    """The attention bias of one call, built by the first layer and reused by the others (same offset, lengths)."""

    def __init__(self) -> None:
        self.offset: torch.Tensor | None = None  # held, so that the identity test below cannot match a new tensor
        self.key: tuple[int, int, int | None, int] | None = None
        self.bias: torch.Tensor | None = None

    def get(self, offset: torch.Tensor, new: int, total: int, context: int | None, group: int = 1) -> torch.Tensor:
        """[1, 1, new * group, total]: each query position's row ``group`` times (the query rows of grouped heads)."""
        key = (new, total, context, group)
        if self.offset is not offset or self.key != key or self.bias is None:
            rows = torch.arange(new) if group == 1 else torch.div(torch.arange(new * group), group, rounding_mode="floor")
            query_pos = offset.view(-1)[0] + rows.view(-1, 1)
            # the past's rows end just before offset; a row at a negative position stands in for an empty past
            key_pos = offset.view(-1)[0] + new - total + torch.arange(total).view(1, -1)
            delta = query_pos - key_pos
            allowed = (delta >= 0) & (key_pos >= 0)
            if context is not None:
                allowed = allowed & (delta < context)
            bias = torch.where(allowed, 0.0, float("-inf"))
            self.bias = bias.view(1, 1, new, total) if group == 1 else bias.view(1, 1, new * group, total)
            self.offset, self.key = offset, key
        return self.bias


def _fused_forward(cos: torch.Tensor, sin: torch.Tensor, shared: _SharedBias) -> Callable[..., torch.Tensor]:
    def forward(self: nn.Module, query: torch.Tensor, model_state: dict, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        if attn_mask is not None:  # upstream passes one only on its stateless (training) path, which no graph traces
            raise ValueError("the fused attention traces the streaming path only (no precomputed attn_mask)")
        state = self.get_state(model_state)
        heads = self.num_heads
        kv_heads = int(getattr(self, "num_kv_heads", heads))
        d = self.dim_per_head
        q_width, kv_width = heads * d, kv_heads * d
        projected = self.in_proj(query)
        t = projected.shape[1]
        # upstream's packing: [q | k | v] (2.1.0 views it as (3, heads, d), 4.x as q then (2, kv_heads, d))
        q = projected[..., :q_width]
        k = projected[..., q_width : q_width + kv_width]
        v = projected[..., q_width + kv_width :]
        offset = state["offset"]
        q = _Rotary.apply(q, offset, cos, sin, heads)
        k = _Rotary.apply(k, offset, cos, sin, kv_heads)
        state["new_k"], state["new_v"] = _Reshape.apply(k, (0, -1, kv_heads, d)), _Reshape.apply(v, (0, -1, kv_heads, d))
        total = state["past_k"].shape[1] + t
        group = heads // kv_heads
        bias = shared.get(offset, t, total, self.context, group)
        if group == 1:
            return self.out_proj(
                _CacheAttention.apply(q, state["past_k"], state["past_v"], state["new_k"], state["new_v"], bias, kv_heads, d)
            )
        # query head h reads K/V head h // group (upstream's repeat_interleave): [B, T, kv_heads, group, d] with the
        # group moved to rows, [B, T * group, kv_heads * d]; the output's rows moved back to heads
        rows = _Reshape.apply(_Reshape.apply(q, (0, -1, kv_heads, group, d)).transpose(2, 3), (0, -1, kv_width))
        out = _CacheAttention.apply(rows, state["past_k"], state["past_v"], state["new_k"], state["new_v"], bias, kv_heads, d)
        out = _Reshape.apply(_Reshape.apply(out, (0, -1, group, kv_heads, d)).transpose(2, 3), (0, -1, q_width))
        return self.out_proj(out)

    return forward


def fused_forwards(attention: Sequence[nn.Module], positions: int) -> list[tuple[nn.Module, Callable[..., torch.Tensor]]]:
    """The export-time forward of each FlowLM attention module (one shared RoPE table and bias per graph)."""
    if not attention:
        return []
    first = attention[0]
    cos, sin = rope_tables(first.rope, first.dim_per_head, positions)
    shared = _SharedBias()
    return [(module, _fused_forward(cos, sin, shared)) for module in attention]


@contextmanager
def swapped_forwards(pairs: Sequence[tuple[nn.Module, Callable[..., torch.Tensor]]]) -> Iterator[None]:
    """Each module's ``forward`` replaced by its export-time substitute while a graph is traced, then restored."""
    try:
        for module, forward in pairs:
            module.forward = MethodType(forward, module)  # type: ignore[method-assign]
        yield
    finally:
        for module, _ in pairs:
            if "forward" in module.__dict__:
                del module.forward
