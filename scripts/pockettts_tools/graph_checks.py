"""The export-time check: every ONNX graph (Python onnxruntime) against upstream's recorded streaming forward,
teacher-forced call by call, then the whole chain free-running on upstream's noise tape; and the call sets
(a few of those calls) that the export's golden keeps for ``pockettts model verify``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .fused_attention import MIN_PAST_ROWS
from .graph_defs import GraphDef
from .recording import FlowEval, FlowLMCall
from .reference_run import Reference
from .tolerances import Tolerance, chain_tolerances

Feeds = dict[str, np.ndarray]

# Free-running chain: the AR loop is chaotic, so per-step drift compounds; contracts/tolerances.json bounds it.
CHAIN_TOLERANCE: dict[str, float] = chain_tolerances()


@dataclass
class Case:
    name: str
    inputs: Feeds
    expected: Feeds


@dataclass
class OutputResult:
    max_abs: float
    passed: bool


@dataclass
class GraphResult:
    graph: str
    calls: int
    outputs: dict[str, OutputResult] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs.values())

    def add(self, name: str, result: OutputResult) -> None:
        old = self.outputs.get(name)
        if old is None:
            self.outputs[name] = result
        else:
            self.outputs[name] = OutputResult(max(old.max_abs, result.max_abs), old.passed and result.passed)

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "passed": self.passed,
            "max_abs": {k: v.max_abs for k, v in self.outputs.items()},
            "failed": [k for k, v in self.outputs.items() if not v.passed],
        }


def compare(actual: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> OutputResult:
    """|actual - expected| <= atol + rtol * |expected| everywhere; shapes and dtypes must agree, NaN fails."""
    if actual.shape != expected.shape or actual.dtype != expected.dtype:
        return OutputResult(float("inf"), False)
    if actual.dtype.kind in "iub":
        diff = np.abs(actual.astype(np.int64) - expected.astype(np.int64))
        worst = float(diff.max()) if diff.size else 0.0
        return OutputResult(worst, worst == 0.0)
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    if diff.size == 0:
        return OutputResult(0.0, True)
    if np.isnan(diff).any():
        return OutputResult(float("nan"), False)
    bound = tolerance["atol"] + tolerance["rtol"] * np.abs(expected.astype(np.float64))
    return OutputResult(float(diff.max()), bool((diff <= bound).all()))


def open_session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(session: Any, feeds: Feeds) -> Feeds:
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def check_graph(graph: GraphDef, session: Any, cases: Iterable[Case]) -> GraphResult:
    result = GraphResult(graph=graph.name, calls=0)
    for case in cases:
        result.calls += 1
        actual = run(session, case.inputs)
        for name, expected in case.expected.items():
            result.add(name, compare(actual[name], expected, graph.tolerance_for(name)))
    return result


# ---------------------------------------------------------------------------------------------------------
# Recorded calls as cases


def past_feeds(past_kv: np.ndarray) -> Feeds:
    """flow_lm_main's per-layer past inputs from a time-major cache [P, layers, 2, heads, head_dim]:
    ``past_k.<i>`` = past_kv[:, i, 0] and ``past_v.<i>`` = past_kv[:, i, 1], each [1, P, heads, head_dim]. An empty
    past is fed as MIN_PAST_ROWS zero rows, which the graph's mask drops (they sit before position 0)."""
    if past_kv.shape[0] < MIN_PAST_ROWS:
        past_kv = np.concatenate([np.zeros((MIN_PAST_ROWS - past_kv.shape[0], *past_kv.shape[1:]), past_kv.dtype), past_kv])
    return {f"past_{c}.{i}": np.ascontiguousarray(past_kv[None, :, i, j]) for i in range(past_kv.shape[1]) for j, c in enumerate("kv")}


def _flow_case(name: str, ref: Reference, index: int) -> Case:
    call = ref.flow_calls[index]
    new_len = call.conditioning.shape[1] + call.latents.shape[1]
    assert call.hidden is not None and call.eos_logit is not None and call.new_kv is not None and call.layer_out is not None
    return Case(
        name,
        {
            "conditioning": call.conditioning,
            "latents": call.latents,
            "offset": np.array([call.offset], dtype=np.int64),
            **past_feeds(ref.past_kv(index)),
        },
        {
            "hidden": call.hidden,
            "eos_logit": call.eos_logit,
            "new_kv": call.new_kv,
            "new_offset": np.array([call.offset + new_len], dtype=np.int64),
            "layer_out": call.layer_out,
        },
    )


def _eval_case(name: str, e: FlowEval) -> Case:
    assert e.t is not None
    times = {"t": e.t} if e.s is None else {"s": e.s, "t": e.t}  # flow matching: t alone
    return Case(name, {"hidden": e.hidden, **times, "x": e.x}, {"flow_dir": e.flow_dir})


def _one_step_case(name: str, call: FlowLMCall) -> Case:
    """A one-step head's call: the step's condition and noise in, upstream's sample out."""
    (e,) = call.evals
    assert call.latent is not None
    return Case(name, {"hidden": e.hidden, "noise": e.x}, {"latent": call.latent.reshape(e.x.shape)})


def _flow_case_names(ref: Reference) -> list[str]:
    steps = iter(range(len(ref.flow_calls)))
    return [c.kind if c.kind != "ar_step" else f"ar_step_{next(steps)}" for c in ref.flow_calls]


def recorded_cases(graph: str, ref: Reference, only: set[str] | None = None) -> Iterator[Case]:
    """The recorded calls of the graph (teacher-forced: upstream's inputs and state at each call), built one
    at a time (each flow_lm_main case carries its whole past K/V); ``only`` picks cases by name."""
    if graph == "flow_lm_main":
        for index, name in enumerate(_flow_case_names(ref)):
            if only is None or name in only:
                yield _flow_case(name, ref, index)
        return
    for case in _other_cases(graph, ref):
        if only is None or case.name in only:
            yield case


def _other_cases(graph: str, ref: Reference) -> list[Case]:
    if graph == "text_conditioner":
        return [Case("reference_text", {"tokens": ref.tokens}, {"text_embeddings": ref.text_embeddings})]
    if graph == "flow_lm_flow" and ref.sampler in ("drifting", "pointwise"):
        return [_one_step_case(f"ar_step_{i}", c) for i, c in enumerate(ref.ar_steps)]
    if graph == "flow_lm_flow":
        cases = [_eval_case(f"ar_step_{i}_eval_{j}", e) for i, c in enumerate(ref.ar_steps) for j, e in enumerate(c.evals)]
        return cases + [_eval_case(f"lsd2_eval_{j}", e) for j, e in enumerate(ref.lsd2_evals)]
    if graph == "latent_to_mimi":
        cases = [
            Case(f"frame_{k}", {"latent": lat.reshape(1, 1, -1)}, {"mimi_input": f.mimi_input})
            for k, (lat, f) in enumerate(zip(ref.decoded_latents, ref.frames, strict=True))
        ]
        every = Case(
            "frames_all",
            {"latent": np.stack([lat.reshape(-1) for lat in ref.decoded_latents])[None]},
            {"mimi_input": np.concatenate([f.mimi_input for f in ref.frames], axis=-1)},
        )
        return cases + [every]
    if graph == "mimi_decoder":
        single = [
            Case(f"frame_{k}", {"mimi_input": f.mimi_input, **f.state_before}, {"audio": f.audio, **f.state_after})  # type: ignore[dict-item]
            for k, f in enumerate(ref.frames)
            if f.state_before is not None and f.state_after is not None
        ]
        # two consecutive frames in one call: upstream decoded them one by one, from the first one's state
        pairs = [
            Case(
                f"frames_{k}_{k + 1}",
                {"mimi_input": np.concatenate([a.mimi_input, b.mimi_input], axis=-1), **a.state_before},  # type: ignore[dict-item]
                {"audio": np.concatenate([a.audio, b.audio], axis=-1), **b.state_after},
            )  # type: ignore[list-item, dict-item]
            for k, (a, b) in enumerate(zip(ref.frames, ref.frames[1:]))
            if a.state_before is not None and b.state_after is not None and a.audio is not None and b.audio is not None
        ]
        return single + pairs
    if graph == "mimi_encoder":
        return [Case("voice_prompt", {"audio": ref.voice_audio}, {"mimi_latent": ref.mimi_latent, "conditioning": ref.voice_conditioning})]
    raise KeyError(graph)


def call_set(graph: str, ref: Reference) -> list[Case]:
    """The few calls the export's golden keeps for ``verify``: first calls and one with a populated state."""
    if graph == "flow_lm_main":
        names = ["voice_prefill", "text_prefill", "ar_step_0", "ar_step_1"]
    elif graph == "flow_lm_flow":
        names = ["ar_step_0", "ar_step_1"] if ref.sampler in ("drifting", "pointwise") else ["ar_step_0_eval_0", "lsd2_eval_1"]
    elif graph == "latent_to_mimi":
        names = ["frame_0", "frames_all"]
    elif graph == "mimi_decoder":
        names = ["frame_0", f"frame_{len(ref.frames) - 1}", "frames_0_1"]
    elif graph == "text_conditioner":
        names = ["reference_text"]
    else:
        names = ["voice_prompt"]
    cases = {c.name: c for c in recorded_cases(graph, ref, set(names))}
    return [cases[n] for n in names if n in cases]


# ---------------------------------------------------------------------------------------------------------
# The whole chain, free-running on ONNX Runtime with upstream's noise tape


def initial_state(graph: GraphDef) -> Feeds:
    specs = {s.name: s for s in graph.inputs}
    feeds: Feeds = {}
    for link in graph.state:
        spec = specs[link.input]
        dtype = {"float32": np.float32, "int64": np.int64, "bool": np.bool_}[spec.dtype]
        shape = tuple(0 if isinstance(d, str) else d for d in spec.shape)
        feeds[link.input] = (np.ones if link.init == "ones" else np.zeros)(shape, dtype=dtype)
    return feeds


def sample(session: Any, sampler: str, hidden: np.ndarray, noise: np.ndarray, steps: int) -> np.ndarray:
    """One frame's latent from the sampler head graph: the LSD loop over flow_dir, flow matching's Euler loop
    (upstream's ot_decode), or one call of a one-step head."""
    if sampler in ("drifting", "pointwise"):
        return run(session, {"hidden": hidden, "noise": noise})["latent"]
    x = noise
    if sampler == "flow_matching":
        for i in range(steps):
            t = np.full((1, 1), i / steps, np.float32)
            x = x + run(session, {"hidden": hidden, "t": t, "x": x})["flow_dir"] / steps
        return x
    for i in range(steps):
        s = np.full((1, 1), i / steps, np.float32)
        t = np.full((1, 1), (i + 1) / steps, np.float32)
        x = x + run(session, {"hidden": hidden, "s": s, "t": t, "x": x})["flow_dir"] / steps
    return x


def run_chain(graphs: dict[str, GraphDef], sessions: dict[str, Any], ref: Reference) -> dict[str, Any]:
    worst: dict[str, float] = {k: 0.0 for k in CHAIN_TOLERANCE}

    def track(name: str, actual: np.ndarray, expected: np.ndarray) -> None:
        if actual.shape != expected.shape:
            worst[name] = float("inf")
        else:
            worst[name] = max(worst[name], float(np.abs(actual.astype(np.float64) - expected).max(initial=0.0)))

    main = sessions["flow_lm_main"]
    d = ref.text_embeddings.shape[-1]
    latent_dim = ref.ar_steps[0].latents.shape[-1]
    spec = next(s for s in graphs["flow_lm_main"].outputs if s.name == "new_kv")
    kv = np.zeros((0, *spec.shape[1:]), np.float32)  # time-major [P, layers, 2, heads, head_dim]

    def flow_call(conditioning: np.ndarray, latents: np.ndarray) -> Feeds:
        nonlocal kv
        out = run(
            main, {"conditioning": conditioning, "latents": latents, "offset": np.array([kv.shape[0]], dtype=np.int64), **past_feeds(kv)}
        )
        kv = np.concatenate([kv, out["new_kv"]], axis=0)
        return out

    voice = run(sessions["mimi_encoder"], {"audio": ref.voice_audio})["conditioning"]
    track("voice_conditioning", voice, ref.voice_conditioning)
    flow_call(voice, np.zeros((1, 0, latent_dim), np.float32))
    text = run(sessions["text_conditioner"], {"tokens": ref.tokens})["text_embeddings"]
    track("text_embeddings", text, ref.text_embeddings)
    flow_call(text, np.zeros((1, 0, latent_dim), np.float32))

    noise = ref.noise_tape()
    expected_steps = ref.ar_steps
    k = ref.lsd_decode_steps
    previous = np.full((1, 1, latent_dim), np.nan, np.float32)
    eos_step: int | None = None
    latents: list[np.ndarray] = []
    steps = 0
    for step in range(ref.max_steps):
        out = flow_call(np.zeros((1, 0, d), np.float32), previous)
        steps += 1
        if step < len(expected_steps):
            track("hidden", out["hidden"], expected_steps[step].hidden)  # type: ignore[arg-type]
            track("eos_logit", out["eos_logit"], expected_steps[step].eos_logit)  # type: ignore[arg-type]
        if step >= len(noise):
            break  # upstream stopped earlier: the step count differs and is reported below
        x = sample(sessions["flow_lm_flow"], ref.sampler, out["hidden"], noise[step].copy(), k)
        track("latent", x, expected_steps[step].latent)  # type: ignore[arg-type]
        if float(out["eos_logit"].reshape(-1)[0]) > ref.eos_threshold and eos_step is None and step >= ref.eos_min_step:
            eos_step = step
        if eos_step is not None and step >= eos_step + ref.frames_after_eos:
            break
        latents.append(x)
        previous = x[:, None, :]

    decoder = graphs["mimi_decoder"]
    state = initial_state(decoder)
    links = [(link.input, link.output) for link in decoder.state]
    for index, latent in enumerate(latents):
        mimi_input = run(sessions["latent_to_mimi"], {"latent": latent[:, None, :]})["mimi_input"]
        out = run(sessions["mimi_decoder"], {"mimi_input": mimi_input, **state})
        state = {inp: out[outp] for inp, outp in links}
        if index < ref.generated_frames:
            track("mimi_input", mimi_input, ref.frames[index].mimi_input)
            track("audio", out["audio"], ref.frames[index].audio)  # type: ignore[arg-type]
    same_shape = steps == len(ref.ar_steps) and len(latents) == ref.generated_frames and eos_step == ref.eos_step
    passed = same_shape and all(worst[k2] <= tol for k2, tol in CHAIN_TOLERANCE.items())
    return {
        "text": ref.text,
        "seed": ref.seed,
        "temperature": ref.temperature,
        "lsd_decode_steps": ref.lsd_decode_steps,
        "tokens": int(ref.tokens.shape[1]),
        "voice_seconds": round(ref.voice_samples / ref.sample_rate, 3),
        "max_steps": ref.max_steps,
        "steps": {"onnx": steps, "upstream": len(ref.ar_steps)},
        "frames": {"onnx": len(latents), "upstream": ref.generated_frames},
        "eos_step": {"onnx": eos_step, "upstream": ref.eos_step},
        "max_abs": worst,
        "tolerance": CHAIN_TOLERANCE,
        "passed": passed,
    }
