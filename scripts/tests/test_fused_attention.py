"""The export-time fused attention of flow_lm_main (fused_attention.py): its RoPE tables are upstream's floats, and a
traced layer with the substitute forward runs on onnxruntime's contrib operators and equals upstream's unmodified
streaming attention (prefill over a past, one step, a causal bias over several new positions, a first prefill with
its stand-in past row masked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from swapped_trace import trace_swapped
from torch import nn

from pockettts_tools.fused_attention import MIN_PAST_ROWS, fused_forwards, rope_tables


def test_rope_tables_are_upstreams_rotation_at_each_position() -> None:
    from pocket_tts.modules.rope import RotaryEmbedding

    rope = RotaryEmbedding(max_period=10_000.0)
    cos, sin = rope_tables(rope, 8, 40)
    q = torch.randn(1, 1, 2, 8)
    for position in (0, 1, 17, 39):
        rotated, _ = rope(q, q, offset=position)
        pairs = q.view(1, 1, 2, 4, 2)
        expected = torch.stack(
            [pairs[..., 0] * cos[position] - pairs[..., 1] * sin[position], pairs[..., 0] * sin[position] + pairs[..., 1] * cos[position]],
            dim=-1,
        ).view(1, 1, 2, 8)
        assert torch.equal(rotated, expected), position


class _Layer(nn.Module):
    """One upstream attention module called with the past as explicit inputs (as FlowLmMain feeds it)."""

    def __init__(self, attention: nn.Module) -> None:
        super().__init__()
        self.attention = attention

    def forward(self, x: torch.Tensor, offset: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor) -> tuple[torch.Tensor, ...]:
        state = {"layer": {"past_k": past_k, "past_v": past_v, "offset": offset}}
        out = self.attention(x, state)
        return out, state["layer"]["new_k"], state["layer"]["new_v"]


def _nodes(graph: Any) -> list[Any]:
    """A graph's nodes and those of its subgraphs (an If's branches)."""
    out = []
    for node in graph.node:
        out.append(node)
        for attribute in node.attribute:
            if attribute.HasField("g"):
                out.extend(_nodes(attribute.g))
    return out


def _cache_readers(model: Any) -> set[str]:
    """The operators that read the past K/V inputs, and those that read what their Reshapes make of them."""
    nodes = _nodes(model.graph)
    past = {"past_k", "past_v"}
    reshaped = {o for n in nodes if n.op_type == "Reshape" and n.input[0] in past for o in n.output}
    readers = {n.op_type for n in nodes if past & set(n.input)}
    return readers | ({n.op_type for n in nodes if reshaped & set(n.input)} - {"FusedMatMul"})


def _traced_layer(attention: nn.Module, kv_heads: int, head_dim: int) -> Any:
    """The layer traced with the substitute forward (x, offset, past_k, past_v -> out, new_k, new_v), as an ONNX model."""
    import onnx

    example = (torch.randn(1, 2, 32), torch.tensor([3]), torch.randn(1, 3, kv_heads, head_dim), torch.randn(1, 3, kv_heads, head_dim))
    traced = trace_swapped(
        _Layer(attention),
        example,
        fused_forwards([attention], 64),
        ["x", "offset", "past_k", "past_v"],
        ["out", "new_k", "new_v"],
        {"x": {1: "n"}, "past_k": {1: "p"}, "past_v": {1: "p"}},
    )
    return onnx.load_from_string(traced)


def _upstream(attention: nn.Module, x: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Upstream's own streaming forward over a cache holding the past (its linear cache backend, unmodified)."""
    past = past_k.shape[1]
    state = attention.init_state(1, past + x.shape[1] + 4)
    state["cache"][0, :, :past] = past_k
    state["cache"][1, :, :past] = past_v
    state["offset"] += past
    out = attention(x, {"layer": state})
    new = slice(past, past + x.shape[1])
    return out, state["cache"][0, :, new], state["cache"][1, :, new]


def _past_rows(past_k: torch.Tensor, past_v: torch.Tensor) -> dict[str, np.ndarray]:
    """The past as the graph takes it: an empty one (a first prefill) is MIN_PAST_ROWS rows before position 0. They
    hold noise here, not the zeros a runtime feeds: the mask, not their values, must drop them."""
    if past_k.shape[1] >= MIN_PAST_ROWS:
        return {"past_k": past_k.numpy(), "past_v": past_v.numpy()}
    noise = torch.randn(2, 1, MIN_PAST_ROWS, *past_k.shape[2:]) * 10
    return {"past_k": noise[0].numpy(), "past_v": noise[1].numpy()}


@pytest.mark.parametrize(("new", "past"), [(1, 7), (5, 3), (4, 0)])
def test_fused_layer_equals_upstream_attention_on_onnxruntime(tmp_path: Path, new: int, past: int) -> None:
    import onnxruntime as ort
    from pocket_tts.modules.rope import RotaryEmbedding
    from pocket_tts.modules.transformer import StreamingMultiheadAttention

    torch.manual_seed(0)
    attention = StreamingMultiheadAttention(embed_dim=32, num_heads=4, rope=RotaryEmbedding(10_000.0)).eval()
    attention._module_absolute_name = "layer"
    heads, head_dim = 4, 8
    model = _traced_layer(attention, heads, head_dim)
    ops = {node.op_type for node in model.graph.node}
    assert {"RotaryEmbedding", "FusedMatMul"} <= ops and not {"MultiHeadAttention", "If"} & ops
    assert _cache_readers(model) == {"Reshape", "Shape"}  # the past is read in place: no Concat, no Transpose of it
    assert "forward" not in attention.__dict__  # upstream's forward is back
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    x, past_k, past_v = torch.randn(1, new, 32), torch.randn(1, past, heads, head_dim), torch.randn(1, past, heads, head_dim)
    with torch.no_grad():
        expected = _upstream(attention, x, past_k, past_v)
    feeds = {"x": x.numpy(), "offset": np.array([past], np.int64), **_past_rows(past_k, past_v)}
    actual = session.run(["out", "new_k", "new_v"], feeds)
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5, rtol=1e-4)


def _grouped_reference(
    attention: nn.Module, x: torch.Tensor, offset: int, past_k: torch.Tensor, past_v: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """Grouped-query attention spelled as 4.x upstream does it: K/V heads repeated (repeat_interleave) to the query
    heads, the causal mask of the streaming path, scaled_dot_product_attention."""
    heads, kv_heads, d = attention.num_heads, attention.num_kv_heads, attention.dim_per_head
    b, t, _ = x.shape
    projected = attention.in_proj(x)
    q = projected[..., : heads * d].view(b, t, heads, d)
    k, v = torch.unbind(projected[..., heads * d :].view(b, t, 2, kv_heads, d), dim=2)
    q, k = attention.rope(q, k, offset=offset)
    keys, values = torch.cat([past_k, k], dim=1), torch.cat([past_v, v], dim=1)
    group = heads // kv_heads
    k_attn = keys.transpose(1, 2).repeat_interleave(group, dim=1)
    v_attn = values.transpose(1, 2).repeat_interleave(group, dim=1)
    allowed = (offset + torch.arange(t).view(-1, 1)) >= torch.arange(keys.shape[1]).view(1, -1)
    out = torch.nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k_attn, v_attn, allowed)
    return attention.out_proj(out.transpose(1, 2).reshape(b, t, heads * d)), k, v


@pytest.mark.parametrize(("new", "past"), [(1, 7), (5, 3), (4, 0)])
def test_grouped_query_heads_as_query_rows_equal_repeated_kv_heads(tmp_path: Path, new: int, past: int) -> None:
    """4.x's grouped-query attention (here 8 query heads over 2 K/V heads) traced as query rows of one attention
    over the K/V heads: no repeated K/V in the graph, the same outputs as the repeated heads."""
    import onnxruntime as ort
    from pocket_tts.modules.rope import RotaryEmbedding
    from pocket_tts.modules.transformer import StreamingMultiheadAttention

    torch.manual_seed(1)
    heads, kv_heads, head_dim = 8, 2, 4
    attention = StreamingMultiheadAttention(embed_dim=32, num_heads=heads, rope=RotaryEmbedding(10_000.0)).eval()
    attention._module_absolute_name = "layer"
    attention.num_kv_heads = kv_heads  # the 4.x attribute (2.1.0's module has none): K/V narrower than the queries
    attention.in_proj = nn.Linear(32, (heads + 2 * kv_heads) * head_dim, bias=False)
    model = _traced_layer(attention, kv_heads, head_dim)
    # the scores of the past and of the new keys, and the two weighted sums: no If, no branch without the past
    ops = [node.op_type for node in _nodes(model.graph)]
    assert ops.count("FusedMatMul") == 4 and "If" not in ops
    assert _cache_readers(model) == {"Reshape", "Shape"}  # no K/V head repeated: the cache is not copied
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    x, past_k, past_v = torch.randn(1, new, 32), torch.randn(1, past, kv_heads, head_dim), torch.randn(1, past, kv_heads, head_dim)
    with torch.no_grad():
        expected = _grouped_reference(attention, x, past, past_k, past_v)
    feeds = {"x": x.numpy(), "offset": np.array([past], np.int64), **_past_rows(past_k, past_v)}
    actual = session.run(["out", "new_k", "new_v"], feeds)
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5, rtol=1e-4)
