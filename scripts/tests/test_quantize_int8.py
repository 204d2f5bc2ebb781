"""``--int8``'s flow-head step: the head's Gemms written as MatMul + Add give the same outputs on onnxruntime, only
the Gemms wider than the latent on both sides are selected, and the quantiser then turns exactly those into int8."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from pockettts_tools.quantize_int8 import head_gemms_as_matmuls, quantize_graph

LATENT = 8


def _weight(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.random.default_rng(sum(name.encode())).standard_normal(shape).astype(np.float32), name)


def _head(path: Path) -> None:
    """x [1, LATENT] -> a latent-wide input layer (kept), two wide Gemms (one transB, one not), a scaled Gemm
    (alpha 0.5: kept), a latent-wide output layer (kept)."""
    nodes = [
        helper.make_node("Gemm", ["x", "w_in", "b_in"], ["h0"], name="input_proj", transB=1),
        helper.make_node("Gemm", ["h0", "w_a", "b_a"], ["h1"], name="mlp_a", transB=1),
        helper.make_node("Gemm", ["h1", "w_b", "b_b"], ["h2"], name="mlp_b"),
        helper.make_node("Gemm", ["h2", "w_c", "b_c"], ["h3"], name="scaled", transB=1, alpha=0.5),
        helper.make_node("Gemm", ["h3", "w_out", "b_out"], ["y"], name="final", transB=1),
    ]
    inits = [
        _weight("w_in", 32, LATENT),
        _weight("b_in", 32),
        _weight("w_a", 48, 32),
        _weight("b_a", 48),
        _weight("w_b", 48, 32),
        _weight("b_b", 32),
        _weight("w_c", 32, 32),
        _weight("b_c", 32),
        _weight("w_out", LATENT, 32),
        _weight("b_out", LATENT),
    ]
    graph = helper.make_graph(
        nodes,
        "head",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, LATENT])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, LATENT])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


def test_wide_gemms_become_matmul_plus_add_with_the_same_outputs(tmp_path: Path) -> None:
    path = tmp_path / "head.onnx"
    _head(path)
    x = np.random.default_rng(3).standard_normal((1, LATENT)).astype(np.float32)
    before = _run(path, x)
    selected = head_gemms_as_matmuls(path, LATENT)
    assert selected == ["mlp_a.matmul", "mlp_b.matmul"]
    kinds = Counter(n.op_type for n in onnx.load(str(path)).graph.node)
    assert kinds == Counter({"Gemm": 3, "MatMul": 2, "Add": 2})
    np.testing.assert_allclose(_run(path, x), before, rtol=1e-5, atol=1e-5)


def test_nothing_selected_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "head.onnx"
    _head(path)
    original = path.read_bytes()
    assert head_gemms_as_matmuls(path, 64) == []
    assert path.read_bytes() == original


def test_the_selected_matmuls_are_quantised_and_stay_close(tmp_path: Path) -> None:
    path = tmp_path / "head.onnx"
    _head(path)
    x = np.random.default_rng(4).standard_normal((1, LATENT)).astype(np.float32)
    before = _run(path, x)
    info = quantize_graph(path, head_gemms_as_matmuls(path, LATENT))
    assert info["nodes"] == 2
    nodes = onnx.load(str(path)).graph.node
    # the two selected as int8 products; the others stay fp32 (the quantiser writes transB Gemms as MatMul + Add)
    assert sorted(n.name for n in nodes if n.op_type == "MatMulInteger") == ["mlp_a.matmul_quant", "mlp_b.matmul_quant"]
    assert [n.name for n in nodes if n.op_type == "Gemm"] == ["scaled"]
    after = _run(path, x)
    assert not np.array_equal(after, before)  # int8 is not fp32
    snr = 10 * np.log10(np.sum(before.astype(np.float64) ** 2) / np.sum((after.astype(np.float64) - before) ** 2))
    assert snr > 25
