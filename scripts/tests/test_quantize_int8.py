"""``--int8``'s graph steps: the head's Gemms written as MatMul + Add give the same outputs on onnxruntime, only
the Gemms wider than the latent on both sides are selected, and the quantiser then turns exactly those into int8;
the FlowLM graphs' MatMulNBits form (only the selected MatMuls, its block), the Mimi decoder's dynamic form past
com.microsoft operators, its convolutions as per-tap MatMuls (same outputs, then int8), and the rule that keeps the
int8 Mimi decoder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from pockettts_tools import quantize_int8
from pockettts_tools.quantize_int8 import (
    MIMI_MIN_SNR_DB,
    MIN_CONV_OUT,
    NBITS_ACCURACY_LEVEL,
    NBITS_BLOCK,
    convs_as_matmuls,
    head_gemms_as_matmuls,
    keeps_int8_mimi,
    nbits_block,
    quantize_graph,
    quantize_graph_nbits,
    transformer_matmuls,
)

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
    np.testing.assert_allclose(_run(path, x), before, rtol=1e-4, atol=1e-4)


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


# ---------------------------------------------------------------------------------------------------------
# MatMulNBits for the FlowLM graphs, quantize_dynamic for the Mimi decoder's transformer, and the Mimi gate


def _matmuls(path: Path, k: int, n: int, fused_between: bool = False) -> None:
    """x [4, k] -> MatMul by a constant [k, n] ("wide") -> optionally com.microsoft FastGelu (no type for onnx's shape
    inference) -> MatMul by a constant [n, k] ("back") -> MatMul by x's transpose (two activations: never a weight)."""
    nodes = [helper.make_node("MatMul", ["x", "w_wide"], ["h0"], name="wide")]
    if fused_between:
        nodes.append(helper.make_node("FastGelu", ["h0"], ["h0g"], name="gelu", domain="com.microsoft"))
    nodes += [
        helper.make_node("MatMul", ["h0g" if fused_between else "h0", "w_back"], ["h1"], name="back"),
        helper.make_node("Transpose", ["x"], ["xt"], name="xt", perm=[1, 0]),
        helper.make_node("MatMul", ["h1", "xt"], ["y"], name="gram"),
    ]
    graph = helper.make_graph(
        nodes,
        "matmuls",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])],
        [_weight("w_wide", k, n), _weight("w_back", n, k)],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.microsoft", 1)] if fused_between else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.save(model, str(path))


def _snr(reference: np.ndarray, actual: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / np.sum((actual.astype(np.float64) - reference) ** 2)))


def test_constant_weight_matmuls_are_selected_not_a_product_of_two_activations(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    _matmuls(path, 64, 96)
    assert transformer_matmuls(path, 1) == ["wide", "back"]
    assert transformer_matmuls(path, 65) == []  # each weight has a side of 64


def test_nbits_block_is_the_largest_power_of_two_up_to_256_the_weights_allow(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    _matmuls(path, 1024, 96)  # reduction sizes: 1024 (wide), 96 (back)
    assert nbits_block(path, ["wide"]) == NBITS_BLOCK == 256
    assert nbits_block(path, ["wide", "back"]) == 64
    _matmuls(path, 8, 8)
    assert nbits_block(path, ["wide"]) == 16  # never below MatMulNBits' smallest block


def test_nbits_turns_only_the_selected_matmuls_into_8_bit_matmulnbits_and_stays_close(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    _matmuls(path, 256, 128)
    x = np.random.default_rng(5).standard_normal((4, 256)).astype(np.float32)
    before = _run(path, x)
    info = quantize_graph_nbits(path, ["back"])
    assert info["nodes"] == 1 and info["block"] == 128 and info["int8_bytes"] < info["fp32_bytes"]
    nodes = onnx.load(str(path)).graph.node
    assert [n.name for n in nodes if n.op_type == "MatMul"] == ["wide", "gram"]
    nbits = [n for n in nodes if n.op_type == "MatMulNBits"]
    assert len(nbits) == 1
    attrs = {a.name: helper.get_attribute_value(a) for a in nbits[0].attribute}
    assert (attrs["bits"], attrs["block_size"], attrs["accuracy_level"], attrs["K"], attrs["N"]) == (8, 128, NBITS_ACCURACY_LEVEL, 128, 256)
    after = _run(path, x)
    assert not np.array_equal(after, before)
    assert _snr(before, after) > 30


def test_dynamic_quantisation_passes_an_operator_shape_inference_cannot_type(tmp_path: Path) -> None:
    """The Mimi decoder's MatMuls follow com.microsoft operators (attention, FastGelu): the quantiser is told their
    outputs are float instead of failing."""
    path = tmp_path / "m.onnx"
    _matmuls(path, 64, 128, fused_between=True)
    x = np.random.default_rng(6).standard_normal((4, 64)).astype(np.float32)
    before = _run(path, x)
    info = quantize_graph(path, transformer_matmuls(path, 1))
    assert info["nodes"] == 2
    kinds = Counter(n.op_type for n in onnx.load(str(path)).graph.node)
    assert kinds["MatMulInteger"] == 2 and kinds["MatMul"] == 1 and kinds["FastGelu"] == 1
    assert _snr(before, _run(path, x)) > 25


def test_the_int8_mimi_decoder_is_kept_only_when_every_frame_reaches_the_threshold() -> None:
    assert MIMI_MIN_SNR_DB == 40.0
    assert keeps_int8_mimi([55.0, 40.0, None])
    assert not keeps_int8_mimi([55.0, 39.99, 60.0])
    assert not keeps_int8_mimi([])


def _convs(path: Path) -> None:
    """x [1, 32, T] -> a k=3 Conv with bias -> a k=2 Conv padded 1 on each side (the polyphase form of a transposed
    conv) -> a k=1 Conv without bias -> a depthwise Conv (group 32: kept) -> a 4-channel k=3 Conv (too narrow: kept)."""
    nodes = [
        helper.make_node("Conv", ["x", "w3", "b3"], ["c3"], name="k3", kernel_shape=[3]),
        helper.make_node("Conv", ["c3", "w2", "b2"], ["c2"], name="k2_padded", kernel_shape=[2], pads=[1, 1]),
        helper.make_node("Conv", ["c2", "w1"], ["c1"], name="k1"),
        helper.make_node("Conv", ["c1", "wd"], ["cd"], name="depthwise", group=32, kernel_shape=[2]),
        helper.make_node("Conv", ["cd", "wn", "bn"], ["y"], name="narrow", kernel_shape=[3]),
    ]
    inits = [_weight("w3", 48, 32, 3), _weight("b3", 48), _weight("w2", 64, 48, 2), _weight("b2", 64), _weight("w1", 32, 64, 1)]
    inits += [_weight("wd", 32, 1, 2), _weight("wn", 4, 32, 3), _weight("bn", 4)]
    graph = helper.make_graph(
        nodes,
        "convs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, "t"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, "t_out"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_convolutions_become_matmuls_with_the_same_outputs_at_any_length(tmp_path: Path) -> None:
    path = tmp_path / "convs.onnx"
    _convs(path)
    xs = [np.random.default_rng(t).standard_normal((1, 32, t)).astype(np.float32) for t in (5, 16)]
    before = [_run(path, x) for x in xs]
    selected = convs_as_matmuls(path, min_out=MIN_CONV_OUT)
    # k3 and k1: one MatMul each (tap j's columns); the padded k2: one MatMul per tap
    assert selected == ["k3.matmul", "k2_padded.tap0.matmul", "k2_padded.tap1.matmul", "k1.matmul"]
    kinds = Counter(n.op_type for n in onnx.load(str(path)).graph.node)
    # one Pad per polyphase tap; Transposes only where the graph's layout changes: x in, the depthwise Conv's input
    assert kinds["Conv"] == 2 and kinds["MatMul"] == 4 and kinds["Pad"] == 2 and kinds["Transpose"] == 2
    for x, expected in zip(xs, before, strict=True):
        after = _run(path, x)
        assert after.shape == expected.shape  # the padded conv's one extra step included
        np.testing.assert_allclose(after, expected, rtol=1e-4, atol=1e-4)


def _streaming_decoder(path: Path) -> None:
    """A SEANet-shaped streaming stage: [context | x] -> k=3 Conv (context sliced off as the next state) -> ELU ->
    a stride-2 ConvTranspose (polyphase form: Conv, phase interleave) -> its overlap state (minus the bias) and the
    previous overlap added -> ELU -> k=1 Conv + residual -> a narrow k=3 Conv (kept as Conv)."""
    from pockettts_tools.graph_rewrites import CONVTRANSPOSE_POLYPHASE, ELU_PRIMITIVES, apply_rewrites

    def const(name: str, value: list[int]) -> onnx.TensorProto:
        return numpy_helper.from_array(np.array(value, np.int64), name)

    nodes = [
        helper.make_node("Concat", ["context", "x"], ["windowed"], axis=-1),
        helper.make_node("Slice", ["windowed", "m2", "big", "last"], ["next_context"]),
        helper.make_node("Conv", ["windowed", "w3", "b3"], ["c3"], name="k3", kernel_shape=[3]),
        helper.make_node("Elu", ["c3"], ["e3"], alpha=1.0),
        helper.make_node("ConvTranspose", ["e3", "wt", "bt"], ["up"], name="up", kernel_shape=[4], strides=[2]),
        helper.make_node("Slice", ["up", "m2", "big", "last"], ["tail"]),
        helper.make_node("Sub", ["tail", "bt_column"], ["next_overlap"]),
        helper.make_node("Slice", ["up", "zero", "two", "last"], ["head"]),
        helper.make_node("Add", ["head", "overlap"], ["head_sum"]),
        helper.make_node("Slice", ["up", "two", "m2", "last"], ["middle"]),
        helper.make_node("Concat", ["head_sum", "middle"], ["stage"], axis=-1),
        helper.make_node("Elu", ["stage"], ["e_stage"], alpha=1.0),
        helper.make_node("Conv", ["e_stage", "w1", "b1"], ["c1"], name="k1"),
        helper.make_node("Add", ["stage", "c1"], ["residual"]),
        helper.make_node("Conv", ["residual", "wn"], ["y"], name="narrow", kernel_shape=[3], pads=[1, 1]),
    ]
    inits = [_weight("w3", 48, 32, 3), _weight("b3", 48), _weight("wt", 48, 24, 4), _weight("bt", 24), _weight("w1", 24, 24, 1)]
    inits += [
        _weight("b1", 24),
        _weight("wn", 2, 24, 3),
        numpy_helper.from_array(numpy_helper.to_array(inits[3]).reshape(24, 1), "bt_column"),
    ]
    inits += [const("m2", [-2]), const("big", [2**62]), const("last", [-1]), const("zero", [0]), const("two", [2])]
    floats = [("x", [1, 32, "t"]), ("context", [1, 32, 2]), ("overlap", [1, 24, 2])]
    graph = helper.make_graph(
        nodes,
        "streaming",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in floats],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "next_context", "next_overlap")],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    apply_rewrites(model, [CONVTRANSPOSE_POLYPHASE, ELU_PRIMITIVES])
    onnx.save(model, str(path))


def test_the_streaming_stage_stays_time_major_between_its_matmuls_with_the_same_outputs(tmp_path: Path) -> None:
    path = tmp_path / "streaming.onnx"
    _streaming_decoder(path)
    rng = np.random.default_rng(11)

    def run(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)

    feeds = [
        {"x": rng.standard_normal((1, 32, t)), "context": rng.standard_normal((1, 32, 2)), "overlap": rng.standard_normal((1, 24, 2))}
        for t in (1, 7)
    ]
    feeds = [{k: v.astype(np.float32) for k, v in f.items()} for f in feeds]
    before = [run(f) for f in feeds]
    assert len(convs_as_matmuls(path)) == 1 + 2 + 1  # k3's one, the polyphase Conv's two (one per tap), k1's one
    kinds = Counter(n.op_type for n in onnx.load(str(path)).graph.node)
    # x and the two states in, the two states out, the narrow Conv's input: no Transpose between the MatMuls
    assert kinds["Transpose"] == 6 and kinds["Conv"] == 1
    for f, expected in zip(feeds, before, strict=True):
        for a, b in zip(run(f), expected, strict=True):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_a_node_the_time_major_form_cannot_follow_reads_a_transpose_and_the_outputs_stay_equal(tmp_path: Path) -> None:
    """k3 -> Relu (not followed: it reads its input channels-first again) -> k1: still equal, one Transpose more."""
    path = tmp_path / "relu.onnx"
    nodes = [
        helper.make_node("Conv", ["x", "w3", "b3"], ["c3"], name="k3", kernel_shape=[3]),
        helper.make_node("Relu", ["c3"], ["r"]),
        helper.make_node("Conv", ["r", "w1"], ["y"], name="k1"),
    ]
    graph = helper.make_graph(
        nodes,
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, "t"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [_weight("w3", 48, 32, 3), _weight("b3", 48), _weight("w1", 32, 48, 1)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    x = np.random.default_rng(5).standard_normal((1, 32, 9)).astype(np.float32)
    before = _run(path, x)
    assert convs_as_matmuls(path) == ["k3.matmul", "k1.matmul"]
    # x in, k3's output back to channels-first for the Relu, the Relu's output time-major again, y out
    assert Counter(n.op_type for n in onnx.load(str(path)).graph.node)["Transpose"] == 4
    np.testing.assert_allclose(_run(path, x), before, rtol=1e-4, atol=1e-4)


def test_no_convolution_wide_enough_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "convs.onnx"
    _convs(path)
    original = path.read_bytes()
    assert convs_as_matmuls(path, min_out=65) == []
    assert path.read_bytes() == original


def test_the_convolutions_matmuls_quantise_and_stay_close(tmp_path: Path) -> None:
    path = tmp_path / "convs.onnx"
    _convs(path)
    x = np.random.default_rng(7).standard_normal((1, 32, 16)).astype(np.float32)
    before = _run(path, x)
    convs_as_matmuls(path)
    info = quantize_graph(path, transformer_matmuls(path, 1))
    assert info["nodes"] == 4
    assert Counter(n.op_type for n in onnx.load(str(path)).graph.node)["MatMulInteger"] == 4
    assert _snr(before, _run(path, x)) > 30


def _export_int8(source: Path, out: Path) -> dict[str, Any]:
    from pockettts_tools.export_onnx import export

    export(source, out, int8=True)
    return json.loads((out / "manifest.json").read_text())["quantization"]


def test_a_mimi_form_below_the_threshold_falls_back_to_the_transformer_alone_needs_oracle(
    oracle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The oracle tiny model's int8 decoder keeps ~58 dB with its convolutions and ~110 dB with its transformer alone
    (the export's own record says which): a threshold between the two keeps the second."""
    monkeypatch.setattr(quantize_int8, "MIMI_MIN_SNR_DB", 80.0)
    q = _export_int8(oracle / "tiny", tmp_path / "int8")
    mimi = q["parity"]["mimi_decoder"]
    assert [t["selection"] for t in mimi["tried"]] == ["transformer+convolutions", "transformer"]
    assert mimi["tried"][0]["min_audio_snr_db"] < 80.0 <= mimi["tried"][1]["min_audio_snr_db"]
    assert mimi["int8"] is True and mimi["selection"] == "transformer"
    assert q["graphs"]["mimi_decoder"]["selection"] == "transformer"
    assert q["graphs"]["mimi_decoder"]["nodes"] == 2 * 4  # 2 layers × (in_proj, out_proj, FFN in, FFN out)
    kinds = Counter(n.op_type for n in onnx.load(str(tmp_path / "int8" / "mimi_decoder.onnx")).graph.node)
    assert kinds["MatMulInteger"] == 8 and kinds["Conv"] > 0


def test_no_mimi_form_at_the_threshold_keeps_the_fp32_decoder_file_needs_oracle(
    oracle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantize_int8, "MIMI_MIN_SNR_DB", 500.0)
    q = _export_int8(oracle / "tiny", tmp_path / "int8")
    mimi = q["parity"]["mimi_decoder"]
    assert mimi["int8"] is False and len(mimi["tried"]) == 2
    assert "mimi_decoder" not in q["graphs"]
    nodes = onnx.load(str(tmp_path / "int8" / "mimi_decoder.onnx")).graph.node
    assert not any(n.op_type in ("MatMulInteger", "DynamicQuantizeLinear") for n in nodes)
    assert not list((tmp_path / "int8").glob(".*"))  # no backup or temporary file left


def test_the_chain_decides_eos_as_upstream_does_ignoring_it_before_eos_min_step() -> None:
    """4.x ignores an EOS logit above the threshold on its first eos_min_step AR steps (the int8 replay of upstream's run
    once stopped at step 2 where upstream stopped at 81); 2.1.0's minimum is 0."""
    from types import SimpleNamespace

    from pockettts_tools.quantize_int8 import is_eos

    four = SimpleNamespace(eos_threshold=-4.0, eos_min_step=3)
    assert [is_eos(-1.0, step, four) for step in range(5)] == [False, False, False, True, True]  # type: ignore[arg-type]
    assert not is_eos(-4.5, 10, four)  # type: ignore[arg-type]
    two = SimpleNamespace(eos_threshold=-4.0, eos_min_step=0)
    assert is_eos(-1.0, 0, two)  # type: ignore[arg-type]
