"""The optional combined step graph of a one-step sampler head: ``flow_lm_main`` followed by ``flow_lm_flow``
in one ONNX graph (``flow_lm_main_flow``), so that one ``session.run`` per frame makes the FlowLM step and the
latent (the small 4.x families spend a good part of a frame in per-call and per-graph costs).

It is composed from the two exported files (``onnx.compose``) after every rewrite, never re-traced: whatever
the export did to either graph (attention operators, node rewrites) carries over unchanged. The head's names
are prefixed so that nothing collides; ``hidden`` feeds the head inside the graph and stays an output.

It is checked at export on upstream's recorded AR steps, against upstream (every output, at the two graphs'
own tolerances) and against the two exported graphs run one after the other (the composition must not change
a value beyond float noise).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .graph_checks import Case, GraphResult, compare, recorded_cases, run
from .reference_run import Reference
from .tolerances import Tolerance

COMBINED_GRAPH = "flow_lm_main_flow"
MAIN_GRAPH = "flow_lm_main"
HEAD_GRAPH = "flow_lm_flow"
# The heads sampled by one flow_lm_flow call taking (hidden, noise): the only ones a single composition serves.
ONE_STEP_SAMPLERS = ("drifting", "pointwise")
# Prefix of the head's node, edge and initializer names inside the combined graph.
HEAD_PREFIX = "flow_head/"
# Between the combined graph and the two graphs run in sequence: the same kernels on the same inputs, so only
# float noise from a different node order may differ.
PAIR_TOLERANCE: Tolerance = {"atol": 1e-6, "rtol": 1e-5}


def wants_step_graph(sampler: str) -> bool:
    """Whether an export with this sampler head gets the combined graph."""
    return sampler in ONE_STEP_SAMPLERS


def compose_step_graph(main_path: Path, head_path: Path, out_path: Path) -> dict[str, int]:
    """Writes ``flow_lm_main`` → ``flow_lm_flow`` as one model: the main graph's inputs plus ``noise``, its
    outputs plus ``latent``. Returns the node counts (main, head, combined)."""
    import onnx
    from onnx import compose

    main = onnx.load(str(main_path))
    head = onnx.load(str(head_path))
    head_inputs = {i.name for i in head.graph.input}
    if "hidden" not in head_inputs or "noise" not in head_inputs or [o.name for o in head.graph.output] != ["latent"]:
        raise ValueError(f"{head_path.name} is not a one-step head graph (hidden, noise -> latent)")
    compose.add_prefix_graph(head.graph, HEAD_PREFIX, rename_inputs=False, rename_outputs=False, inplace=True)
    # the head's own IR version may be older than the main graph's (no feature of a newer one is used by it)
    head.ir_version = main.ir_version
    outputs = [o.name for o in main.graph.output] + ["latent"]
    merged = compose.merge_models(main, head, io_map=[("hidden", "hidden")], outputs=outputs, producer_name=main.producer_name)
    merged.graph.name = COMBINED_GRAPH
    onnx.checker.check_model(merged)
    onnx.save(merged, str(out_path))
    return {"main": len(main.graph.node), "head": len(head.graph.node), "combined": len(merged.graph.node)}


def step_cases(ref: Reference) -> Iterator[Case]:
    """Upstream's recorded AR steps as calls of the combined graph: flow_lm_main's inputs and the step's noise
    in, flow_lm_main's outputs and upstream's sampled latent out."""
    steps = ref.ar_steps
    for case in recorded_cases(MAIN_GRAPH, ref):
        if not case.name.startswith("ar_step_"):
            continue
        step = steps[int(case.name.removeprefix("ar_step_"))]
        (evaluation,) = step.evals
        assert step.latent is not None
        noise = evaluation.x
        yield Case(case.name, {**case.inputs, "noise": noise}, {**case.expected, "latent": step.latent.reshape(noise.shape)})


def check_step_graph(
    session: Any, main: Any, head: Any, ref: Reference, tolerance: dict[str, Tolerance]
) -> tuple[GraphResult, dict[str, float]]:
    """Runs the combined graph on every recorded AR step: against upstream (``tolerance`` per output, as the two
    graphs' own), and against the two exported graphs in sequence. Returns the upstream result and the largest
    difference per output from the pair (checked against PAIR_TOLERANCE: a failure there fails the result)."""
    result = GraphResult(graph=COMBINED_GRAPH, calls=0)
    pair_max: dict[str, float] = {}
    for case in step_cases(ref):
        result.calls += 1
        actual = run(session, case.inputs)
        main_inputs = {k: v for k, v in case.inputs.items() if k != "noise"}
        pair = run(main, main_inputs)
        pair["latent"] = run(head, {"hidden": pair["hidden"], "noise": case.inputs["noise"]})["latent"]
        for name, expected in case.expected.items():
            result.add(name, compare(actual[name], expected, tolerance.get(name, tolerance["default"])))
            same = compare(actual[name], pair[name], PAIR_TOLERANCE)
            pair_max[name] = max(pair_max.get(name, 0.0), same.max_abs)
            if not same.passed:
                result.add(f"{name} (vs {MAIN_GRAPH} then {HEAD_GRAPH})", same)
    return result, pair_max


def combined_tolerance(main: dict[str, Tolerance], head: dict[str, Tolerance]) -> dict[str, Tolerance]:
    """The combined graph's tolerances: flow_lm_main's per output, the head's for ``latent``."""
    return {**main, "latent": head.get("latent", head["default"])}


def combined_entry(
    main: dict[str, Any], head: dict[str, Any], check: dict[str, Any], nodes: dict[str, int], pair_max_abs: dict[str, float]
) -> dict[str, Any]:
    """The manifest entry (sha256 and size are added with the other graphs'): flow_lm_main's inputs, state and
    capacities plus the head's ``noise``; its outputs plus ``latent``."""
    noise = next(i for i in head["inputs"] if i["name"] == "noise")
    latent = next(o for o in head["outputs"] if o["name"] == "latent")
    return {
        "file": f"{COMBINED_GRAPH}.onnx",
        "description": (
            "Optional: flow_lm_main then the one-step sampler head flow_lm_flow in one call (composed from the two "
            "exported files): flow_lm_main's inputs and noise in, its outputs and the sampled latent out. "
            "A runtime may use it for AR steps instead of the two calls."
        ),
        "inputs": [*main["inputs"], noise],
        "outputs": [*main["outputs"], latent],
        "state": main["state"],
        "capacities": main["capacities"],
        "rewrites": [*main["rewrites"], *(r for r in head["rewrites"] if r not in main["rewrites"])],
        "check": check,
        "composition": {"of": [MAIN_GRAPH, HEAD_GRAPH], "nodes": nodes, "pair_max_abs": pair_max_abs},
    }


def to_float(values: dict[str, float]) -> dict[str, float]:
    return {k: float(np.float64(v)) for k, v in values.items()}
