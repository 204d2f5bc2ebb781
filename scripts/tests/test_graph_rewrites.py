"""The post-export graph rewrites: same outputs as the original graph on onnxruntime, rewritten node kinds gone,
cases not proven equal left untouched."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from swapped_trace import trace_swapped

from pockettts_tools.graph_rewrites import CONVTRANSPOSE_POLYPHASE, ELU_PRIMITIVES, GELU_TANH_FUSED, LAYERNORM_FUSED, apply_rewrites

RNG = np.random.default_rng(7)


def _weight(name: str, *shape: int) -> onnx.TensorProto:
    seed = sum(name.encode())  # the same weights in every copy of the model
    return numpy_helper.from_array(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), name)


def _model() -> onnx.ModelProto:
    """x [1, 6, T] through: a depthwise ConvTranspose (s 4, k 8, no bias), Elu, a ConvTranspose (s 3, k 9,
    bias, 6 -> 5 channels), Elu(alpha 0.5), and side branches a rewrite must leave alone (padded ConvTranspose,
    k not a multiple of s) or rewrite the general way (Elu alpha 2)."""
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w_dw"], ["a"], name="dw", group=6, kernel_shape=[8], strides=[4], pads=[0, 0]),
        helper.make_node("Elu", ["a"], ["b"], name="elu1"),
        helper.make_node("ConvTranspose", ["b", "w", "bias"], ["c"], name="ct", kernel_shape=[9], strides=[3], dilations=[1]),
        helper.make_node("Elu", ["c"], ["y"], name="elu_half", alpha=0.5),
        helper.make_node("ConvTranspose", ["x", "w_pad"], ["p"], name="padded", kernel_shape=[4], strides=[2], pads=[1, 1]),
        helper.make_node("ConvTranspose", ["x", "w_odd"], ["q"], name="odd", kernel_shape=[5], strides=[2]),
        helper.make_node("Elu", ["q"], ["r"], name="elu_two", alpha=2.0),
    ]
    t = "T"
    graph = helper.make_graph(
        nodes,
        "rewrites",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, t])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, c, f"{n}_time"]) for n, c in (("y", 5), ("p", 3), ("r", 2))],
        [_weight("w_dw", 6, 1, 8), _weight("w", 6, 5, 9), _weight("bias", 5), _weight("w_pad", 6, 3, 4), _weight("w_odd", 6, 2, 5)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})  # type: ignore[no-any-return]


def _assert_same_outputs(
    original: onnx.ModelProto, rewritten: onnx.ModelProto, feeds: dict[str, np.ndarray], atol: float, rtol: float
) -> None:
    """Both graphs on onnxruntime with the same inputs: every output equal within the tolerances."""
    run = {
        name: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        for name, m in (("o", original), ("r", rewritten))
    }
    expected, actual = run["o"].run(None, feeds), run["r"].run(None, feeds)
    for e, a in zip(expected, actual, strict=True):
        np.testing.assert_allclose(a, e, atol=atol, rtol=rtol)


def test_rewritten_graph_matches_the_original_and_drops_the_node_kinds() -> None:
    original = _model()
    rewritten = _model()
    counts = apply_rewrites(rewritten, [CONVTRANSPOSE_POLYPHASE, ELU_PRIMITIVES])
    onnx.checker.check_model(rewritten)
    assert counts == {CONVTRANSPOSE_POLYPHASE: 2, ELU_PRIMITIVES: 3}
    kinds = Counter(n.op_type for n in rewritten.graph.node)
    assert kinds["Elu"] == 0
    # the padded and the k % s != 0 ConvTranspose are not proven equal by the rewrite: left as they were
    assert sorted(n.name for n in rewritten.graph.node if n.op_type == "ConvTranspose") == ["odd", "padded"]
    assert {i.name for i in rewritten.graph.initializer} >= {"w_pad", "w_odd"}
    assert not {"w_dw", "w", "bias"} & {i.name for i in rewritten.graph.initializer}  # replaced weights dropped
    for frames in (1, 2, 5):
        x = (2 * RNG.standard_normal((1, 6, frames))).astype(np.float32)  # both signs, for the Elu branches
        expected, actual = _run(original, x), _run(rewritten, x)
        for e, a in zip(expected, actual, strict=True):
            assert a.shape == e.shape
            assert np.abs(a - e).max() <= 1e-5 * max(1.0, float(np.abs(e).max()))
        assert expected[0].shape == (1, 5, ((frames - 1) * 4 + 8 - 1) * 3 + 9)


def test_a_graph_without_provable_nodes_is_left_byte_identical() -> None:
    model = _model()
    del model.graph.node[:4]  # keeps the padded and the k % s != 0 ConvTranspose, and the alpha-2 Elu
    del model.graph.output[0]
    before = model.SerializeToString()
    assert apply_rewrites(model, [CONVTRANSPOSE_POLYPHASE]) == {CONVTRANSPOSE_POLYPHASE: 0}
    assert model.SerializeToString() == before


def _gelu_model() -> onnx.ModelProto:
    """torch's trace of gelu(x, approximate="tanh") on three inputs: as is (a), with the cubic constant 0.05 instead
    of 0.044715 (b: another function), and with the tanh also a graph output (c: an intermediate read elsewhere)."""

    import torch
    from torch.nn import functional as F

    class Gelus(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return F.gelu(a, approximate="tanh"), F.gelu(b, approximate="tanh"), F.gelu(c, approximate="tanh")

    model = onnx.load_from_string(trace_swapped(Gelus(), tuple(torch.randn(2, 5) for _ in range(3)), [], "abc", ["ya", "yb", "yc"]))
    for node in model.graph.node:
        if (
            node.op_type == "Constant"
            and np.isclose(numpy_helper.to_array(node.attribute[0].t), 0.044715)
            and "b" in _chain_input(model, node)
        ):
            node.attribute[0].t.CopyFrom(numpy_helper.from_array(np.array(0.05, np.float32)))
    tanh_c = next(n.output[0] for n in model.graph.node if n.op_type == "Tanh" and "c" in _chain_input(model, n))
    model.graph.output.append(helper.make_tensor_value_info(tanh_c, TensorProto.FLOAT, [2, 5]))
    return model


def _chain_input(model: onnx.ModelProto, node: onnx.NodeProto) -> set[str]:
    """The graph inputs a node depends on (through its consumers' chain: the GELU it belongs to)."""
    producers = {o: n for n in model.graph.node for o in n.output}
    consumers = [n for n in model.graph.node if set(node.output) & set(n.input)]
    seen: set[str] = set()
    stack = [*node.input, *(i for n in consumers for i in n.input)]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in producers:
            stack.extend(producers[name].input)
    return seen & {"a", "b", "c"}


def test_tanh_gelu_chain_becomes_fastgelu_and_other_chains_are_left() -> None:
    original = _gelu_model()
    rewritten = _gelu_model()
    counts = apply_rewrites(rewritten, [GELU_TANH_FUSED])
    onnx.checker.check_model(rewritten)
    assert counts == {GELU_TANH_FUSED: 1}
    kinds = Counter(n.op_type for n in rewritten.graph.node)
    assert kinds["FastGelu"] == 1 and kinds["Tanh"] == 2  # b (another constant) and c (tanh read elsewhere) kept
    assert len(rewritten.graph.node) < len(original.graph.node) - 8  # a's chain and its constants are gone
    assert any(o.domain == "com.microsoft" for o in rewritten.opset_import)
    feeds = {name: (3 * RNG.standard_normal((2, 5))).astype(np.float32) for name in "abc"}
    _assert_same_outputs(original, rewritten, feeds, atol=1e-6, rtol=1e-5)


def _layernorm_model() -> onnx.ModelProto:
    """torch's trace of upstream's hand-written layer norm (its sampler head's) on three inputs: as is with eps 1e-6
    (a), with an affine weight and bias after it (b), and normalising over the first axis instead of the last (c)."""

    import torch

    def norm(x: torch.Tensor, dim: int) -> torch.Tensor:
        mean = x.mean(dim=dim, keepdim=True)
        var = x.var(dim=dim, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-6)

    class Norms(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(6))
            self.bias = torch.nn.Parameter(torch.randn(6))

        def forward(self, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return norm(a, -1), norm(b, -1) * self.weight + self.bias, norm(c, 0)

    torch.manual_seed(0)  # the same weight and bias in every call (the test compares two of them)
    return onnx.load_from_string(trace_swapped(Norms(), tuple(torch.randn(3, 6) for _ in range(3)), [], "abc", ["ya", "yb", "yc"]))


def test_hand_written_layernorm_becomes_layernormalization_over_the_last_axis_only() -> None:
    original = _layernorm_model()
    rewritten = _layernorm_model()
    counts = apply_rewrites(rewritten, [LAYERNORM_FUSED])
    onnx.checker.check_model(rewritten)
    assert counts == {LAYERNORM_FUSED: 2}  # a and b; c normalises over axis 0
    kinds = Counter(n.op_type for n in rewritten.graph.node)
    assert (
        kinds["LayerNormalization"] == 2 and kinds["Sqrt"] == 1 and kinds["ReduceMean"] == 3
    )  # c's chain kept (x.var traces its own mean)
    (ln,) = {tuple(a.f for a in n.attribute if a.name == "epsilon") for n in rewritten.graph.node if n.op_type == "LayerNormalization"}
    assert np.float32(ln[0]) == np.float32(1e-6)
    feeds = {name: (3 * RNG.standard_normal((3, 6)) + 1).astype(np.float32) for name in "abc"}
    _assert_same_outputs(original, rewritten, feeds, atol=1e-5, rtol=1e-5)


def test_fastgelu_output_is_typed_so_that_onnxruntimes_quantizer_accepts_the_matmul_after_it(tmp_path: Path) -> None:
    """onnx's shape inference does not know contrib operators: the rewrite declares FastGelu's output a float tensor,
    else onnxruntime's quantize_dynamic (as --int8 runs it on flow_lm_main) cannot type the MatMul after it."""

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from torch.nn import functional as F

    class GeluThenLinear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(8, 8, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(F.gelu(x, approximate="tanh"))

    model = onnx.load_from_string(trace_swapped(GeluThenLinear(), (torch.randn(2, 8),), [], ["x"], ["y"]))
    assert apply_rewrites(model, [GELU_TANH_FUSED]) == {GELU_TANH_FUSED: 1}
    (gelu,) = [n for n in model.graph.node if n.op_type == "FastGelu"]
    assert [v.type.tensor_type.elem_type for v in model.graph.value_info if v.name == gelu.output[0]] == [TensorProto.FLOAT]
    onnx.save(model, str(tmp_path / "fp32.onnx"))
    quantize_dynamic(
        str(tmp_path / "fp32.onnx"), str(tmp_path / "int8.onnx"), weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": True}
    )
    assert "MatMul" not in {n.op_type for n in onnx.load(str(tmp_path / "int8.onnx")).graph.node}  # the MatMul was quantised


def test_a_value_read_only_inside_an_if_branch_is_not_dead() -> None:
    """The fused attention's If branches read values of the graph around them (implicit inputs): the rewrites'
    dead-node sweep and reader counts see those reads, so a rewrite cannot drop the node that makes them."""
    from pockettts_tools.graph_rewrites import _Graph

    branch = {
        name: helper.make_graph(
            [helper.make_node(op, ["shared"], [f"{name}_out"])],
            name,
            [],
            [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [2])],
        )
        for name, op in (("then", "Identity"), ("else", "Neg"))
    }
    graph = helper.make_graph(
        [
            helper.make_node("Abs", ["x"], ["shared"]),
            helper.make_node("Sqrt", ["x"], ["unread"]),
            helper.make_node("If", ["cond"], ["y"], then_branch=branch["then"], else_branch=branch["else"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]), helper.make_tensor_value_info("cond", TensorProto.BOOL, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    g = _Graph(model)
    assert g.readers("shared") == 2  # once in each branch
    assert g.drop_dead_nodes() == {"x"}  # the Sqrt nobody reads goes; the Abs the branches read stays
    assert [n.op_type for n in model.graph.node] == ["Abs", "If"]
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.array([-1.5, 2.0], np.float32)
    np.testing.assert_array_equal(session.run(None, {"x": x, "cond": np.array([False])})[0], -np.abs(x))
