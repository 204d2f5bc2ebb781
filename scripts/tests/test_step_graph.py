"""The combined step graph (flow_lm_main then a one-step head in one ONNX graph): composed from two files whose
names collide, it computes what the two graphs compute one after the other, keeps every output of the first,
and refuses a head that is not a one-step head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from pockettts_tools.step_graph import HEAD_PREFIX, compose_step_graph, wants_step_graph

RNG = np.random.default_rng(3)


def _save(
    path: Path,
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    inits: list[onnx.TensorProto],
) -> Path:
    model = helper.make_model(helper.make_graph(nodes, path.stem, inputs, outputs, inits), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _vi(name: str, *shape: int) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def _main(path: Path, w: np.ndarray) -> Path:
    """hidden = x·W, eos = sum(hidden); a node and an edge named like the head's ("mm", "t")."""
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["t"], name="mm"),
        helper.make_node("Identity", ["t"], ["hidden"], name="id"),
        helper.make_node("ReduceSum", ["hidden"], ["eos"], name="sum", keepdims=1),
    ]
    return _save(path, nodes, [_vi("x", 1, 4)], [_vi("hidden", 1, 3), _vi("eos", 1, 1)], [numpy_helper.from_array(w, "W")])


def _head(path: Path, w: np.ndarray, inputs: tuple[str, str] = ("hidden", "noise")) -> Path:
    """latent = hidden·W + noise, with an initializer, a node and an edge named like the main graph's."""
    nodes = [
        helper.make_node("MatMul", [inputs[0], "W"], ["t"], name="mm"),
        helper.make_node("Add", ["t", inputs[1]], ["latent"], name="add"),
    ]
    return _save(path, nodes, [_vi(inputs[0], 1, 3), _vi(inputs[1], 1, 2)], [_vi("latent", 1, 2)], [numpy_helper.from_array(w, "W")])


def _run(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def test_composes_the_two_graphs_into_one_call(tmp_path: Path) -> None:
    w_main = RNG.standard_normal((4, 3)).astype(np.float32)
    w_head = RNG.standard_normal((3, 2)).astype(np.float32)
    main, head = _main(tmp_path / "main.onnx", w_main), _head(tmp_path / "head.onnx", w_head)
    nodes = compose_step_graph(main, head, tmp_path / "combined.onnx")
    assert nodes == {"main": 3, "head": 2, "combined": 5}

    combined = onnx.load(str(tmp_path / "combined.onnx"))
    assert [i.name for i in combined.graph.input] == ["x", "noise"]
    assert [o.name for o in combined.graph.output] == ["hidden", "eos", "latent"]
    assert sorted(i.name for i in combined.graph.initializer) == ["W", f"{HEAD_PREFIX}W"]  # the collision is resolved

    x = RNG.standard_normal((1, 4)).astype(np.float32)
    noise = RNG.standard_normal((1, 2)).astype(np.float32)
    out = _run(tmp_path / "combined.onnx", {"x": x, "noise": noise})
    first = _run(main, {"x": x})
    second = _run(head, {"hidden": first["hidden"], "noise": noise})
    np.testing.assert_allclose(out["hidden"], first["hidden"], rtol=0, atol=0)
    np.testing.assert_allclose(out["eos"], first["eos"], rtol=0, atol=0)
    np.testing.assert_allclose(out["latent"], second["latent"], rtol=0, atol=0)
    np.testing.assert_allclose(out["latent"], x @ w_main @ w_head + noise, rtol=1e-5, atol=1e-6)


def test_refuses_a_head_that_is_not_one_step(tmp_path: Path) -> None:
    main = _main(tmp_path / "main.onnx", np.ones((4, 3), np.float32))
    lsd_like = _head(tmp_path / "head.onnx", np.ones((3, 2), np.float32), inputs=("hidden", "x_t"))
    with pytest.raises(ValueError, match="not a one-step head graph"):
        compose_step_graph(main, lsd_like, tmp_path / "combined.onnx")
    assert not (tmp_path / "combined.onnx").exists()


def test_only_one_step_heads_get_it() -> None:
    assert wants_step_graph("drifting") and wants_step_graph("pointwise")
    assert not wants_step_graph("lsd") and not wants_step_graph("flow_matching")
