"""A streaming graph cut in two (graph_split): at every clean cut of the committed tiny decoder, the first graph then
the second, each chaining its own streaming states over several calls, return exactly the whole graph's audio and
next states; the offset update moves to the first graph so the two can run as a pipeline; bad cuts are refused;
and the pipeline benchmark's CLI checks its cut and reports every placement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from pockettts_tools.bench_mimi_split import PLACEMENTS, main, zero_states
from pockettts_tools.graph_split import cut_points, find_cut, split_graph
from pockettts_tools.protocol import JobError

PROJECT = Path(__file__).resolve().parents[2]
TINY = PROJECT / "fixtures" / "tiny-onnx"
DECODER = TINY / "mimi_decoder.onnx"
CALLS = 3
FRAMES = 2


def _session(model: onnx.ModelProto | str) -> ort.InferenceSession:
    source = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"])


def _call(session: ort.InferenceSession, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    names = {i.name for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    return dict(zip(outputs, session.run(None, {k: v for k, v in feeds.items() if k in names})))


def _next(outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"state." + k[len("next_state.") :]: v for k, v in outputs.items() if k.startswith("next_state.")}


@pytest.fixture(scope="module")
def decoder() -> onnx.ModelProto:
    return onnx.load(str(DECODER))


def test_the_tiny_decoder_has_clean_cuts_after_its_transformer(decoder: onnx.ModelProto) -> None:
    nodes = [node for _, node, _ in cut_points(decoder)]
    assert "/decoder/model.0/Concat" in nodes
    assert len(nodes) >= 10


def test_every_clean_cut_returns_exactly_what_the_whole_graph_returns(decoder: onnx.ModelProto) -> None:
    whole = _session(str(DECODER))
    rng = np.random.default_rng(5)
    inputs = [rng.standard_normal((1, whole.get_inputs()[0].shape[1], FRAMES)).astype(np.float32) for _ in range(CALLS)]
    expected = []
    states = zero_states(whole)
    for x in inputs:
        out = _call(whole, {"mimi_input": x, **states})
        states.update(_next(out))
        expected.append(out)
    for cut, node, _ in cut_points(decoder):
        pieces = split_graph(decoder, cut)
        first, second = _session(pieces.first), _session(pieces.second)
        states = zero_states(whole)
        for x, want in zip(inputs, expected):
            # both graphs read the states as they were before the call, as the whole graph does
            handed = _call(first, {"mimi_input": x, **states})
            got = {**handed, **_call(second, {"mimi_input": x, **states, **handed})}
            states.update(_next(got))
            assert set(want) <= set(got), f"cut at {node}: missing {set(want) - set(got)}"
            for name, value in want.items():
                np.testing.assert_array_equal(got[name], value, err_msg=f"cut at {node}: {name}")


def test_the_offset_update_moves_to_the_first_graph(decoder: onnx.ModelProto) -> None:
    pieces = split_graph(decoder, find_cut(decoder, "/decoder/model.0/Concat"))
    first_outputs = {o.name for o in pieces.first.graph.output}
    second_inputs = {i.name for i in pieces.second.graph.input}
    assert "next_state.decoder_transformer.offset" in first_outputs
    assert "state.decoder_transformer.offset" not in second_inputs
    # the whole graph's next states, each made by exactly one of the two
    second_outputs = {o.name for o in pieces.second.graph.output}
    for out in decoder.graph.output:
        assert (out.name in first_outputs) != (out.name in second_outputs), out.name
    assert pieces.crossing == ("/decoder_transformer/Transpose_1_output_0",)


def test_bad_cuts_are_refused(decoder: onnx.ModelProto) -> None:
    with pytest.raises(ValueError, match="both sides"):
        split_graph(decoder, 0)
    with pytest.raises(ValueError, match="both sides"):
        split_graph(decoder, len(decoder.graph.node))
    with pytest.raises(ValueError, match="no node named"):
        find_cut(decoder, "/no/such/node")


def test_the_benchmark_checks_its_cut_and_reports_every_placement() -> None:
    result = main(["--model", str(TINY), "--cut", "/decoder/model.0/Concat", "--rounds", "1", "--frames", "4", "--frames-per-call", "2"])
    assert result["maxAbsAgainstWhole"] == 0.0
    assert set(result["pipelineMsPerFrame"]) == set(PLACEMENTS)
    assert all(v["median"] > 0 for v in result["pipelineMsPerFrame"].values())
    assert result["cut"]["crossing"] == ["/decoder_transformer/Transpose_1_output_0"]


def test_the_benchmark_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(JobError) as missing_cut:
        main(["--model", str(TINY)])
    assert missing_cut.value.code == "CUT_MISSING"
    with pytest.raises(JobError) as no_model:
        main(["--model", str(tmp_path), "--cut", "5"])
    assert no_model.value.code == "MODEL_GRAPHS_MISSING"
    with pytest.raises(JobError) as bad_cut:
        main(["--model", str(TINY), "--cut", "/no/such/node"])
    assert bad_cut.value.code == "BAD_CUT"
