"""Measures a lever in a stand-in of the engine: the Mimi decoder cut in two graphs (graph_split) and run as a
pipeline. (The engine decodes with the whole graph: a build that ran the two graphs on two workers gained nothing,
docs/performance.md, "Session 11".)

A stand-in of the engine's loop in onnxruntime's Python API (its runs release the GIL, so threads overlap as the
engine's worker does): the main thread runs the FlowLM step graph once per frame with random inputs at a fixed
cache length, and hands the decoder a call of ``--frames-per-call`` frames whenever that many steps are done.
Three placements, alternating in rounds:

- ``whole_on_worker``: the whole decoder on one worker thread (what the engine does today);
- ``first_on_main``: the main thread also runs the first graph after each group, a worker the second;
- ``two_workers``: one worker per graph (three busy threads).

It first checks the cut: the two graphs, chained over several calls with their streaming states, must return the
whole decoder's audio and states exactly. Prints one JSON result (ms per frame: medians, min, max).
"""

from __future__ import annotations

import queue
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .graph_split import cut_points, find_cut, split_graph
from .job_args import JobArgumentParser, positive_int
from .protocol import JobError, progress, run_job

PLACEMENTS = ("whole_on_worker", "first_on_main", "two_workers")
STATE_IN, STATE_OUT = "state.", "next_state."
# cached positions of the FlowLM step stand-in (the benches' text and voice reach ~100-250)
STEP_POSITIONS = 150
CHECK_CALLS = 6

Feeds = dict[str, np.ndarray]


def _session(model: bytes | str, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _dim(value: Any, sizes: dict[str, int]) -> int:
    return value if isinstance(value, int) else sizes.get(str(value), 1)


def _random_feeds(session: Any, sizes: dict[str, int], rng: np.random.Generator) -> Feeds:
    feeds: Feeds = {}
    for meta in session.get_inputs():
        shape = [_dim(d, sizes) for d in meta.shape]
        if meta.type == "tensor(int64)":
            feeds[meta.name] = np.full(shape, STEP_POSITIONS, np.int64)
        else:
            feeds[meta.name] = rng.uniform(-0.1, 0.1, shape).astype(np.float32)
    return feeds


def zero_states(session: Any) -> Feeds:
    """Every ``state.*`` input of a decoder session, zero-filled (the same start for the whole graph and its halves)."""
    states: Feeds = {}
    for meta in session.get_inputs():
        if meta.name.startswith(STATE_IN):
            shape = [_dim(d, {}) for d in meta.shape]
            states[meta.name] = np.zeros(shape, np.int64 if meta.type == "tensor(int64)" else np.float32)
    return states


def _next_to_state(name: str) -> str:
    return STATE_IN + name[len(STATE_OUT) :]


class _Stage:
    """One decoder graph and the streaming states it writes (its own chain from call to call)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.inputs = {i.name for i in session.get_inputs()}
        self.outputs = [o.name for o in session.get_outputs()]
        self.writes = {_next_to_state(o) for o in self.outputs if o.startswith(STATE_OUT)}
        self.states: Feeds = {}

    def reset(self, initial: Feeds) -> None:
        self.states = {k: v for k, v in initial.items() if k in self.writes}

    def run(self, feeds: Feeds) -> dict[str, np.ndarray]:
        """One call on ``feeds`` and this graph's own states; keeps its next states."""
        out = dict(zip(self.outputs, self.session.run(None, {k: v for k, v in {**feeds, **self.states}.items() if k in self.inputs})))
        self.states.update({_next_to_state(k): v for k, v in out.items() if k.startswith(STATE_OUT)})
        return out


class _SplitDecoder:
    """The two graphs of a cut as a pipeline: the first hands the second the crossing activations and the values of
    the states the first writes and the second reads as they were before the call (the whole graph reads every state
    before its call). A first graph that read a state the second writes would wait for the second: refused."""

    def __init__(self, first: _Stage, second: _Stage, crossing: tuple[str, ...]) -> None:
        if first.inputs & second.writes:
            raise JobError(
                "CUT_NOT_PIPELINED",
                f"The first graph reads states the second writes ({sorted(first.inputs & second.writes)}).",
                kind="usage",
                hint="Choose another --cut (see --list-cuts).",
            )
        self.first, self.second, self.crossing = first, second, crossing

    def reset(self, initial: Feeds) -> None:
        self.first.reset(initial)
        self.second.reset(initial)

    def first_call(self, x: Feeds) -> Feeds:
        before = {k: v for k, v in self.first.states.items() if k in self.second.inputs}
        out = self.first.run(x)
        return {**x, **before, **{k: out[k] for k in self.crossing}, **{k: v for k, v in out.items() if k not in self.crossing}}

    def second_call(self, handoff: Feeds) -> dict[str, np.ndarray]:
        return {**{k: v for k, v in handoff.items() if k in self.first.outputs}, **self.second.run(handoff)}


def _check_cut(whole: _Stage, split: _SplitDecoder, frames: int, rng: np.random.Generator) -> float:
    """Largest |pipeline − whole| over the audio and next states of CHECK_CALLS chained calls."""
    initial = zero_states(whole.session)
    whole.reset(initial)
    split.reset(initial)
    channels = whole.session.get_inputs()[0].shape[1]
    largest = 0.0
    for _ in range(CHECK_CALLS):
        x = {"mimi_input": rng.standard_normal((1, channels, frames)).astype(np.float32)}
        expected = whole.run(x)
        got = split.second_call(split.first_call(x))
        for name, value in expected.items():
            if name not in got:
                raise JobError("CUT_LOST_OUTPUT", f"The cut graphs do not return {name}.", hint="Choose another --cut (see --list-cuts).")
            largest = max(largest, float(np.max(np.abs(got[name].astype(np.float64) - value.astype(np.float64)))))
    return largest


def _median_ms(times: list[float], frames: int) -> float:
    return statistics.median(times) * 1000 / frames


def _pipeline(
    placement: str, step: Callable[[], None], whole: _Stage, split: _SplitDecoder, x: Feeds, frames: int, group: int
) -> tuple[float, float]:
    """One run of ``frames`` frames: (wall ms per frame until the last audio, the main thread's step ms per frame)."""
    initial = zero_states(whole.session)
    whole.reset(initial)
    split.reset(initial)
    to_first: queue.Queue[Feeds | None] = queue.Queue()
    to_second: queue.Queue[Feeds | None] = queue.Queue()
    finished: list[float] = []

    def whole_worker() -> None:
        while (item := to_first.get()) is not None:
            whole.run(item)
        finished.append(time.perf_counter())

    def first_worker() -> None:
        while (item := to_first.get()) is not None:
            to_second.put(split.first_call(item))
        to_second.put(None)

    def second_worker() -> None:
        while (item := to_second.get()) is not None:
            split.second_call(item)
        finished.append(time.perf_counter())

    workers = {"whole_on_worker": [whole_worker], "first_on_main": [second_worker], "two_workers": [first_worker, second_worker]}[placement]
    threads = [threading.Thread(target=w) for w in workers]
    start = time.perf_counter()
    for t in threads:
        t.start()
    step_s = 0.0
    for frame in range(1, frames + 1):
        t0 = time.perf_counter()
        step()
        step_s += time.perf_counter() - t0
        if frame % group == 0:
            if placement == "first_on_main":
                to_second.put(split.first_call(x))
            else:
                to_first.put(x)
    (to_second if placement == "first_on_main" else to_first).put(None)
    for t in threads:
        t.join()
    return (finished[-1] - start) * 1000 / frames, step_s * 1000 / frames


def bench_mimi_split(model_dir: Path, cut_spec: str, *, rounds: int, frames: int, group: int, step_threads: int) -> dict[str, Any]:
    import onnx

    decoder_path = model_dir / "mimi_decoder.onnx"
    step_path = next((p for p in (model_dir / "flow_lm_main_flow.onnx", model_dir / "flow_lm_main.onnx") if p.is_file()), None)
    if not decoder_path.is_file() or step_path is None:
        raise JobError(
            "MODEL_GRAPHS_MISSING",
            f"{model_dir} has no mimi_decoder.onnx and flow_lm_main(_flow).onnx.",
            kind="usage",
            hint="Pass an exported model folder (`pockettts model export --out DIR`).",
        )
    decoder = onnx.load(str(decoder_path))
    try:
        cut = find_cut(decoder, cut_spec)
        pieces = split_graph(decoder, cut)
    except ValueError as error:
        raise JobError("BAD_CUT", str(error), kind="usage", hint="Pass a cut that --list-cuts prints.") from error
    rng = np.random.default_rng(0)
    whole = _Stage(_session(str(decoder_path), 1))
    split = _SplitDecoder(
        _Stage(_session(pieces.first.SerializeToString(), 1)), _Stage(_session(pieces.second.SerializeToString(), 1)), pieces.crossing
    )
    max_abs = _check_cut(whole, split, group, rng)
    step_session = _session(str(step_path), step_threads)
    step_feeds = _random_feeds(step_session, {"n_cond": 0, "n_latents": 1, "past_len": STEP_POSITIONS}, rng)

    def step() -> None:
        step_session.run(None, step_feeds)

    x = {"mimi_input": rng.standard_normal((1, whole.session.get_inputs()[0].shape[1], group)).astype(np.float32)}
    # each graph alone on one thread: calls of `group` frames from the initial state, the median of 3 (after the check's warm-up)
    alone: dict[str, list[float]] = {"whole": [], "first": [], "second": []}
    for _ in range(3):
        split.reset(zero_states(whole.session))
        whole.reset(zero_states(whole.session))
        t0 = time.perf_counter()
        whole.run(x)
        t1 = time.perf_counter()
        handoff = split.first_call(x)
        t2 = time.perf_counter()
        split.second_call(handoff)
        t3 = time.perf_counter()
        alone["whole"].append(t1 - t0)
        alone["first"].append(t2 - t1)
        alone["second"].append(t3 - t2)
    runs: dict[str, list[tuple[float, float]]] = {p: [] for p in PLACEMENTS}
    for r in range(rounds):
        for placement in PLACEMENTS if r % 2 == 0 else tuple(reversed(PLACEMENTS)):
            runs[placement].append(_pipeline(placement, step, whole, split, x, frames, group))
        progress("rounds", done=r + 1, total=rounds)
    return {
        "model": str(model_dir),
        "cut": {"index": cut, "node": decoder.graph.node[cut].name, "crossing": list(pieces.crossing)},
        "nodes": {"whole": len(decoder.graph.node), "first": len(pieces.first.graph.node), "second": len(pieces.second.graph.node)},
        "maxAbsAgainstWhole": max_abs,
        "framesPerCall": group,
        "aloneMsPerFrame": {name: _median_ms(times, group) for name, times in alone.items()},
        "pipelineMsPerFrame": {
            p: {
                "median": statistics.median(w for w, _ in values),
                "min": min(w for w, _ in values),
                "max": max(w for w, _ in values),
                "stepMedian": statistics.median(s for _, s in values),
            }
            for p, values in runs.items()
        },
        "rounds": rounds,
        "frames": frames,
        "stepGraph": step_path.name,
        "stepThreads": step_threads,
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = JobArgumentParser(prog="bench_mimi_split", description="Time the Mimi decoder cut in two graphs as a pipeline.")
    parser.add_argument("--model", required=True, type=Path, help="exported model folder (mimi_decoder.onnx, flow_lm_main[_flow].onnx)")
    parser.add_argument("--cut", default=None, help="node index, or name of the node the second graph starts with")
    parser.add_argument("--list-cuts", action="store_true", help="print the decoder's clean cut points and stop")
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--frames", type=positive_int, default=96)
    parser.add_argument("--frames-per-call", type=positive_int, default=8)
    parser.add_argument("--step-threads", type=positive_int, default=1)
    args = parser.parse_args(argv)
    if args.list_cuts:
        import onnx

        path = args.model / "mimi_decoder.onnx"
        if not path.is_file():
            raise JobError("MODEL_GRAPHS_MISSING", f"{path} does not exist.", kind="usage", hint="Pass an exported model folder.")
        return {"cuts": [{"index": i, "node": node, "crossing": t} for i, node, t in cut_points(onnx.load(str(path)))]}
    if args.cut is None:
        raise JobError("CUT_MISSING", "No --cut given.", kind="usage", hint="Run with --list-cuts and pass one of them as --cut.")
    return bench_mimi_split(
        args.model, args.cut, rounds=args.rounds, frames=args.frames, group=args.frames_per_call, step_threads=args.step_threads
    )


if __name__ == "__main__":
    run_job(main)
