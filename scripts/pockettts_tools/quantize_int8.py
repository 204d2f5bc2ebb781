"""``model export --int8``: int8 weights for the FlowLM's, the flow head's and the Mimi decoder's matrix multiplies
(and the decoder's convolutions), and an honest statement of what it costs in accuracy.

The exported fp32 graphs are checked against upstream first (as for every export); then three sets of weights are
quantised with onnxruntime's quantisation tools:
- the transformer MatMuls of ``flow_lm_main`` (constant 2-D weights with both sides >= d_model: each layer's
  attention in/out projections and FFN, the weights a step streams; not input_linear nor the EOS head), as
  upstream's own ``--quantize`` does;
- the flow head's (``flow_lm_flow``) Gemms whose constant weight has both sides > latent_dim (its conditioning
  and time embeddings, AdaLN modulations and MLPs; not the latent-wide input and output layers), first written as
  MatMul + Add (the quantiser takes MatMuls). Upstream keeps its head in fp32; here it was 4/5 of the int8 model's
  remaining fp32 weights a frame streams (39 of 49 MB at full size), so it is quantised and its cost recorded
  below like the transformer's;
- the Mimi decoder's transformer MatMuls (every MatMul with a constant 2-D weight) and its convolutions with at least
  MIN_CONV_OUT output channels, each first written as one MatMul per tap (convs_as_matmuls: onnxruntime's
  ConvInteger was slower than the fp32 Conv); kept only when every frame the int8 decoder makes from the fp32 chain's
  latents has an SNR of at least MIMI_MIN_SNR_DB against the fp32 decoder's, else its transformer alone is tried, else it stays fp32
  (MIMI_TIERS; upstream's ``--quantize`` keeps Mimi fp32, so this cost is measured and recorded below).
The two FlowLM graphs (one row a step) take onnxruntime's MatMulNBits: 8-bit weights in blocks of NBITS_BLOCK along
the reduction axis, the activations quantised per block to int8 in the kernel (accuracy_level 4); the Mimi decoder
(tens to thousands of rows a call) takes ``quantize_dynamic``'s per-channel int8 weights with uint8 activations
quantised per call (DynamicQuantizeMatMul once onnxruntime fuses it): each the faster form for its row count
(docs/performance.md). The text table, latent_to_mimi and the Mimi encoder stay fp32.

int8 graphs cannot meet fp32 tolerances, so instead of pretending:
- each quantised graph is re-checked against upstream's recorded calls (teacher-forced); the max-abs errors are
  recorded, and the graph's check tolerance becomes twice that error (so ``model verify`` replays it on this and
  other CPUs), the rule written next to it in the manifest;
- a free-running parity run compares the int8 chain with the export's own fp32 chain (which equals upstream
  within the export checks) on the same noise, EOS ignored: the SNR of each of the first frames, the EOS logits'
  largest difference and how often the EOS decision (logit > threshold) agrees step by step;
- the Mimi decoder alone: the fp32 chain's latents decoded by the int8 and the fp32 decoder, the SNR of each frame;
- the upstream reference run (its text, noise and stopping rule) is replayed on the int8 chain: EOS step and
  frame count against upstream's.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .graph_checks import Case, check_graph, initial_state, open_session, past_feeds, recorded_cases, run
from .graph_defs import GraphDef
from .reference_run import Reference

QUANTIZED_GRAPHS = ("flow_lm_main", "flow_lm_flow", "mimi_decoder")
# the form each graph's int8 MatMuls take: "nbits" (MatMulNBits) or "dynamic" (quantize_dynamic's MatMulInteger)
GRAPH_FORMS = {"flow_lm_main": "nbits", "flow_lm_flow": "nbits", "mimi_decoder": "dynamic"}
NBITS_BLOCK = 256  # the largest block; smaller weights take the largest power of two <= their reduction size
NBITS_MIN_BLOCK = 16  # MatMulNBits' smallest block
NBITS_ACCURACY_LEVEL = 4  # int8 activations in the kernel (1: fp32 activations)
MIMI_MIN_SNR_DB = 40.0
MIN_CONV_OUT = 16  # convolutions with fewer output channels stay Conv (the last one, 1 channel: a matmul form is slower)
# what of the Mimi decoder is tried in int8, most first; the first whose audio keeps MIMI_MIN_SNR_DB is kept
MIMI_TIERS = ("transformer+convolutions", "transformer")

PARITY_STEPS = 24
PARITY_SNR_FRAMES = 8
TOLERANCE_FACTOR = 2.0


def transformer_matmuls(path: Path, d_model: int) -> list[str]:
    """MatMul nodes whose second input is a 2-D initializer with both sides >= d_model."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    shapes = {i.name: list(i.dims) for i in model.graph.initializer}
    return [
        n.name
        for n in model.graph.node
        if n.op_type == "MatMul" and len(n.input) == 2 and len(shapes.get(n.input[1], [])) == 2 and min(shapes[n.input[1]]) >= d_model
    ]


def head_gemms_as_matmuls(path: Path, above: int) -> list[str]:
    """Rewrites, in place, each plain Gemm (alpha = beta = 1, no transA) whose weight is a 2-D initializer with both
    sides > ``above`` and whose bias is an initializer as MatMul (by the weight, transposed when transB) + Add;
    returns the new MatMuls' names (none: the file is left as it was). Same math: y = x·Bᵀ + c."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    nodes: list[onnx.NodeProto] = []
    matmuls: list[str] = []
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        weight = inits.get(node.input[1]) if node.op_type == "Gemm" and len(node.input) == 3 else None
        plain = attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0 and attrs.get("transA", 0) == 0
        if weight is None or not plain or node.input[2] not in inits or len(weight.dims) != 2 or min(weight.dims) <= above:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)
        name = f"{node.input[1]}.matmul_b"
        model.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w.T if attrs.get("transB", 0) else w), name))
        product = f"{node.output[0]}.matmul"
        nodes.append(helper.make_node("MatMul", [node.input[0], name], [product], name=f"{node.name}.matmul"))
        nodes.append(helper.make_node("Add", [product, node.input[2]], [node.output[0]], name=f"{node.name}.bias"))
        matmuls.append(f"{node.name}.matmul")
    if not matmuls:
        return []
    _save_with_nodes(model, nodes, path)
    return matmuls


def _save_with_nodes(model: Any, nodes: list[Any], path: Path) -> None:
    """Writes ``model`` to ``path`` (atomically) with ``nodes`` as its graph's nodes, the initializers none reads dropped."""
    import onnx

    del model.graph.node[:]
    model.graph.node.extend(nodes)
    used = {i for n in model.graph.node for i in n.input}
    kept = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    temp = path.with_name(f".{path.name}.matmul")
    onnx.save(model, str(temp))
    os.replace(temp, path)


def convs_as_matmuls(path: Path, min_out: int = MIN_CONV_OUT) -> list[str]:
    """Rewrites, in place, each 1-D Conv (group 1, stride 1, dilation 1) whose weight [O, C, k] is an initializer with
    O >= ``min_out`` as MatMuls over its time-major input [1, L, C] (L = T + k - 1, padded as the Conv pads), in one
    of two forms (each the faster at Mimi's sizes, docs/performance.md):
    - pads p0, p1 >= k - 1 (the polyphase form of a transposed convolution): per tap j the input padded by p0 - j and
      p1 - (k - 1 - j) (its window, no Slice) and a MatMul by W[:, :, j]ᵀ, the products summed;
    - otherwise: one MatMul by [C, k*O] (tap j's weights in columns j*O..), then tap j's rows [j, j + T) of its columns
      summed (the input read once; its output k*O wide is narrower than k windows of C at Mimi's convolutions);
    the bias added to the first product (onnxruntime fuses it into the MatMul), a Transpose back to [1, O, T]; then
    ``time_major.keep_time_major`` drops the Transposes between them. Returns the new MatMuls' names (none: the file is
    left as it was). The quantiser then takes them as int8 MatMuls; onnxruntime's ConvInteger was 2x slower than the
    fp32 Conv here (docs/performance.md)."""
    import onnx
    from onnx import helper, numpy_helper

    from .time_major import keep_time_major

    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    nodes: list[onnx.NodeProto] = []
    matmuls: list[str] = []
    transposes: list[str] = []
    added: list[onnx.TensorProto] = []

    def const(name: str, value: np.ndarray) -> str:
        added.append(numpy_helper.from_array(value, name))
        return name

    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        weight = inits.get(node.input[1]) if node.op_type == "Conv" and len(node.input) >= 2 else None
        plain = attrs.get("group", 1) == 1 and all(v == 1 for v in [*attrs.get("strides", [1]), *attrs.get("dilations", [1])])
        if weight is None or not plain or len(weight.dims) != 3 or weight.dims[0] < min_out:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)
        bias = numpy_helper.to_array(inits[node.input[2]]) if len(node.input) > 2 and node.input[2] in inits else None
        if len(node.input) > 2 and node.input[2] and bias is None:
            nodes.append(node)  # a bias computed at run time
            continue
        k, name = w.shape[2], node.name
        pads = [int(v) for v in attrs.get("pads", [0, 0])]
        if any(pads) and min(pads) >= k - 1:
            form = _input_taps(name, node.input[0], w, bias, pads, const)
        else:
            x = node.input[0]
            if any(pads):
                pad = const(f"{name}.pads", np.array([0, 0, pads[0], 0, 0, pads[1]], np.int64))
                nodes.append(helper.make_node("Pad", [x, pad], [f"{name}.padded"], name=f"{name}.pad"))
                x = f"{name}.padded"
            form = _output_taps(name, x, w, bias, const)
        form_nodes, form_matmuls, total = form
        nodes.extend(form_nodes)
        matmuls.extend(form_matmuls)
        transposes.extend(n.name for n in form_nodes if n.op_type == "Transpose")
        nodes.append(helper.make_node("Transpose", [total], [node.output[0]], name=f"{name}.channels_first", perm=[0, 2, 1]))
    if not matmuls:
        return []
    model.graph.initializer.extend(added)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    keep_time_major(model, transposes)
    _save_with_nodes(model, list(model.graph.node), path)
    return matmuls


_Form = tuple[list[Any], list[str], str]  # nodes (their Transposes: channels first to time-major), MatMul names, the time-major sum


def _sum(name: str, terms: list[str]) -> tuple[list[Any], str]:
    from onnx import helper

    nodes, total = [], terms[0]
    for j, term in enumerate(terms[1:], start=1):
        nodes.append(helper.make_node("Add", [total, term], [f"{name}.sum{j}"], name=f"{name}.sum{j}"))
        total = f"{name}.sum{j}"
    return nodes, total


def _input_taps(name: str, x: str, w: np.ndarray, bias: np.ndarray | None, pads: list[int], const: Any) -> _Form:
    """Per tap j: x padded by pads[0] - j and pads[1] - (k - 1 - j), time-major, by W[:, :, j]ᵀ; the bias on tap 0."""
    from onnx import helper

    k = w.shape[2]
    nodes, products, matmuls = [], [], []
    for j in range(k):
        tap = x
        before, after = pads[0] - j, pads[1] - (k - 1 - j)
        if before or after:
            pad = const(f"{name}.tap{j}.pads", np.array([0, 0, before, 0, 0, after], np.int64))
            nodes.append(helper.make_node("Pad", [x, pad], [f"{name}.tap{j}"], name=f"{name}.tap{j}"))
            tap = f"{name}.tap{j}"
        nodes.append(helper.make_node("Transpose", [tap], [f"{name}.tap{j}.time_major"], name=f"{name}.tap{j}.time_major", perm=[0, 2, 1]))
        product = f"{name}.tap{j}.product"
        tap_weight = const(f"{name}.tap{j}.weight", np.ascontiguousarray(w[:, :, j].T))
        nodes.append(helper.make_node("MatMul", [f"{name}.tap{j}.time_major", tap_weight], [product], name=f"{name}.tap{j}.matmul"))
        matmuls.append(f"{name}.tap{j}.matmul")
        if j == 0 and bias is not None:
            nodes.append(helper.make_node("Add", [product, const(f"{name}.bias", bias)], [f"{name}.biased"], name=f"{name}.bias"))
            product = f"{name}.biased"
        products.append(product)
    sums, total = _sum(name, products)
    return nodes + sums, matmuls, total


def _output_taps(name: str, x: str, w: np.ndarray, bias: np.ndarray | None, const: Any) -> _Form:
    """x time-major [1, L, C] by [C, k*O] (+ the bias in tap 0's columns), then tap j's rows [j, L - k + 1 + j) of
    columns j*O.. summed."""
    from onnx import helper

    o, c, k = w.shape
    nodes = [helper.make_node("Transpose", [x], [f"{name}.time_major"], name=f"{name}.time_major", perm=[0, 2, 1])]
    columns = const(f"{name}.columns", np.ascontiguousarray(w.transpose(1, 2, 0).reshape(c, k * o)))
    taps = f"{name}.taps"
    nodes.append(helper.make_node("MatMul", [f"{name}.time_major", columns], [taps], name=f"{name}.matmul"))
    if bias is not None:
        column_bias = np.zeros(k * o, np.float32)
        column_bias[:o] = bias
        nodes.append(helper.make_node("Add", [taps, const(f"{name}.bias", column_bias)], [f"{name}.biased"], name=f"{name}.bias"))
        taps = f"{name}.biased"
    if k == 1:
        return nodes, [f"{name}.matmul"], taps
    windows = []
    for j in range(k):
        end = -(k - 1 - j) if j < k - 1 else np.iinfo(np.int64).max
        bounds = [
            const(f"{name}.tap{j}.{b}", np.array(v, np.int64))
            for b, v in (("start", [j, j * o]), ("end", [end, (j + 1) * o]), ("axes", [1, 2]))
        ]
        nodes.append(helper.make_node("Slice", [taps, *bounds], [f"{name}.tap{j}"], name=f"{name}.tap{j}"))
        windows.append(f"{name}.tap{j}")
    sums, total = _sum(name, windows)
    return nodes + sums, [f"{name}.matmul"], total


def quantize_graph(path: Path, nodes: list[str]) -> dict[str, Any]:
    """Rewrites the graph file in place with int8 weights for the given MatMul nodes."""
    import logging

    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if not nodes:
        return {"nodes": 0, "fp32_bytes": path.stat().st_size, "int8_bytes": path.stat().st_size}
    before = path.stat().st_size
    temp = path.with_name(f".{path.name}.int8")
    logging.getLogger().setLevel(logging.ERROR)  # the quantiser's "consider pre-processing" advice
    quantize_dynamic(
        str(path),
        str(temp),
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_quantize=nodes,
        op_types_to_quantize=["MatMul"],
        # the type of an output of a com.microsoft operator (fused attention) is float, which shape inference cannot say
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
    )
    os.replace(temp, path)
    return {"nodes": len(nodes), "fp32_bytes": before, "int8_bytes": path.stat().st_size}


def nbits_block(path: Path, nodes: list[str]) -> int:
    """The MatMulNBits block for these MatMuls: NBITS_BLOCK, or the largest power of two <= the smallest reduction
    size among them (a block wider than a weight's rows would be padding), at least NBITS_MIN_BLOCK."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    shapes = {i.name: list(i.dims) for i in model.graph.initializer}
    rows = min((shapes[n.input[1]][0] for n in model.graph.node if n.name in set(nodes)), default=NBITS_BLOCK)
    return max(NBITS_MIN_BLOCK, min(NBITS_BLOCK, 1 << (max(1, rows).bit_length() - 1)))


def quantize_graph_nbits(path: Path, nodes: list[str]) -> dict[str, Any]:
    """Rewrites the graph file in place with the given MatMul nodes as MatMulNBits (8-bit symmetric weights in blocks
    along the reduction axis, int8 activations in the kernel); every other MatMul stays as it was."""
    import logging

    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    if not nodes:
        return {"nodes": 0, "fp32_bytes": path.stat().st_size, "int8_bytes": path.stat().st_size}
    before = path.stat().st_size
    block = nbits_block(path, nodes)
    model = onnx.load(str(path))
    others = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.name not in set(nodes)]
    config = DefaultWeightOnlyQuantConfig(
        block_size=block, is_symmetric=True, accuracy_level=NBITS_ACCURACY_LEVEL, bits=8, op_types_to_quantize=("MatMul",)
    )
    quantizer = MatMulNBitsQuantizer(
        model, bits=8, block_size=block, is_symmetric=True, accuracy_level=NBITS_ACCURACY_LEVEL, nodes_to_exclude=others, algo_config=config
    )
    logger = logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer")
    level = logger.level
    logger.setLevel(logging.WARNING)  # one INFO line per node
    try:
        quantizer.process()
    finally:
        logger.setLevel(level)
    temp = path.with_name(f".{path.name}.int8")
    quantizer.model.save_model_to_file(str(temp), use_external_data_format=False)
    os.replace(temp, path)
    return {"nodes": len(nodes), "fp32_bytes": before, "int8_bytes": path.stat().st_size, "block": block}


def _selected_matmuls(name: str, path: Path, d_model: int, latent_dim: int) -> list[str]:
    """The MatMuls quantised in FlowLM graph ``name`` (see the module's docstring); the head's Gemms are rewritten first."""
    return transformer_matmuls(path, d_model) if name == "flow_lm_main" else head_gemms_as_matmuls(path, latent_dim)


def _quantize(name: str, path: Path, nodes: list[str]) -> dict[str, Any]:
    """Graph ``name``'s MatMuls in its form (GRAPH_FORMS)."""
    if GRAPH_FORMS[name] == "nbits":
        return {**quantize_graph_nbits(path, nodes), "form": f"MatMulNBits (8-bit, accuracy_level {NBITS_ACCURACY_LEVEL})"}
    return {**quantize_graph(path, nodes), "form": "quantize_dynamic (MatMulInteger, per-channel int8 weights, uint8 activations)"}


def _ceil_sig(value: float) -> float:
    """Rounds up to two significant digits (a readable tolerance that is never below the value)."""
    if value <= 0 or not math.isfinite(value):
        return value
    scale = 10 ** (math.floor(math.log10(value)) - 1)
    return math.ceil(value / scale) * scale


def _snr_db(reference: np.ndarray, actual: np.ndarray) -> float | None:
    """10·log10(signal / error) in dB; None when the two are identical (no error to measure)."""
    noise = float(np.sum((actual.astype(np.float64) - reference) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    if noise == 0.0:
        return None
    return round(10 * math.log10(signal / noise), 2) if signal > 0 else -999.0


def is_eos(logit: float, step: int, ref: Reference) -> bool:
    """Upstream's EOS decision at AR step ``step``: the logit above the threshold, from ``eos_min_step`` on (4.x ignores
    an EOS on its first steps; 2.1.0's minimum is 0)."""
    return logit > ref.eos_threshold and step >= ref.eos_min_step


class _Chain:
    """The exported graphs driven as the runtime drives them (voice prefill, text prefill, AR steps, Mimi)."""

    def __init__(self, graphs: dict[str, GraphDef], sessions: dict[str, Any], ref: Reference) -> None:
        self.graphs, self.sessions, self.ref = graphs, sessions, ref

    def latents(self, noise: list[np.ndarray], steps: int, stop_at_eos: bool) -> tuple[list[np.ndarray], list[float], int | None]:
        ref, main = self.ref, self.sessions["flow_lm_main"]
        spec = next(s for s in self.graphs["flow_lm_main"].outputs if s.name == "new_kv")
        kv = np.zeros((0, *spec.shape[1:]), np.float32)
        latent_dim = ref.ar_steps[0].latents.shape[-1]
        d = ref.text_embeddings.shape[-1]

        def call(conditioning: np.ndarray, latents: np.ndarray) -> dict[str, np.ndarray]:
            nonlocal kv
            out = run(
                main, {"conditioning": conditioning, "latents": latents, "offset": np.array([kv.shape[0]], np.int64), **past_feeds(kv)}
            )
            kv = np.concatenate([kv, out["new_kv"]], axis=0)
            return out

        call(ref.voice_conditioning, np.zeros((1, 0, latent_dim), np.float32))
        call(ref.text_embeddings, np.zeros((1, 0, latent_dim), np.float32))
        previous = np.full((1, 1, latent_dim), np.nan, np.float32)
        out_latents: list[np.ndarray] = []
        logits: list[float] = []
        eos_step: int | None = None
        k = ref.lsd_decode_steps
        for step in range(min(steps, len(noise))):
            out = call(np.zeros((1, 0, d), np.float32), previous)
            logit = float(out["eos_logit"].reshape(-1)[0])
            logits.append(logit)
            x = noise[step].copy()
            for i in range(k):
                s = np.full((1, 1), i / k, np.float32)
                t = np.full((1, 1), (i + 1) / k, np.float32)
                x = x + run(self.sessions["flow_lm_flow"], {"hidden": out["hidden"], "s": s, "t": t, "x": x})["flow_dir"] / k
            if eos_step is None and is_eos(logit, step, ref):
                eos_step = step
            if stop_at_eos and eos_step is not None and step >= eos_step + ref.frames_after_eos:
                break
            out_latents.append(x)
            previous = x[:, None, :]
        return out_latents, logits, eos_step

    def audio(self, latents: list[np.ndarray]) -> list[np.ndarray]:
        decoder = self.graphs["mimi_decoder"]
        state = initial_state(decoder)
        links = [(link.input, link.output) for link in decoder.state]
        frames = []
        for latent in latents:
            mimi_input = run(self.sessions["latent_to_mimi"], {"latent": latent[:, None, :]})["mimi_input"]
            out = run(self.sessions["mimi_decoder"], {"mimi_input": mimi_input, **state})
            state = {inp: out[outp] for inp, outp in links}
            frames.append(out["audio"].reshape(-1))
        return frames


def _parity_noise(ref: Reference, steps: int) -> list[np.ndarray]:
    """Upstream's recorded noise, then seeded normals at the same temperature for the steps upstream did not run."""
    tape = list(ref.noise_tape())
    rng = np.random.default_rng(ref.seed)
    latent_dim = tape[0].shape[-1] if tape else ref.ar_steps[0].latents.shape[-1]
    while len(tape) < steps:
        tape.append((rng.standard_normal((1, latent_dim)) * math.sqrt(ref.temperature)).astype(np.float32))
    return tape


def mimi_audio_snr(
    graphs: dict[str, GraphDef],
    fp32: dict[str, Any],
    int8_decoder: Any,
    ref: Reference,
    latents: list[np.ndarray],
    reference: list[np.ndarray],
) -> list[float | None]:
    """The SNR (dB) of each frame the int8 Mimi decoder makes from ``latents`` against ``reference``, the fp32
    decoder's frames of them, every other graph fp32: the decoder's own cost, apart from the FlowLM's."""
    actual = _Chain(graphs, {**fp32, "mimi_decoder": int8_decoder}, ref).audio(latents)
    return [_snr_db(a, b) for a, b in zip(reference, actual)]


def keeps_int8_mimi(frame_snr_db: list[float | None]) -> bool:
    """Whether the int8 Mimi decoder is kept: every frame's SNR against the fp32 decoder >= MIMI_MIN_SNR_DB (None: the
    frame is identical); no frames measured keeps nothing."""
    return bool(frame_snr_db) and all(v is None or v >= MIMI_MIN_SNR_DB for v in frame_snr_db)


def _quantize_mimi(
    path: Path,
    backup: Path,
    graphs: dict[str, GraphDef],
    fp32: dict[str, Any],
    ref: Reference,
    latents: list[np.ndarray],
    record: dict[str, Any],
) -> tuple[dict[str, Any], Any] | None:
    """The Mimi decoder in the first of MIMI_TIERS whose audio keeps MIMI_MIN_SNR_DB against the fp32 decoder (the
    file rewritten from ``backup`` for each); ``record`` gets what was tried. None (the fp32 file restored): no tier."""
    record["tried"] = []
    reference = _Chain(graphs, fp32, ref).audio(latents)  # the fp32 decoder's frames, once for every tier
    for tier in MIMI_TIERS:
        shutil.copyfile(backup, path)
        if "convolutions" in tier:
            convs_as_matmuls(path)
        info = _quantize("mimi_decoder", path, transformer_matmuls(path, 1))
        session = open_session(path)
        snr = mimi_audio_snr(graphs, fp32, session, ref, latents, reference)
        measured = [v for v in snr if v is not None]
        record["tried"].append({"selection": tier, "min_audio_snr_db": min(measured) if measured else None})
        if keeps_int8_mimi(snr):
            record.update({"selection": tier, "audio_snr_db": snr, "min_audio_snr_db": min(measured) if measured else None, "int8": True})
            return {**info, "selection": tier}, session
    shutil.copyfile(backup, path)
    record["int8"] = False
    return None


def quantize_export(
    out: Path, graphs: dict[str, GraphDef], sessions: dict[str, Any], ref: Reference, entries: dict[str, dict[str, Any]], d_model: int
) -> dict[str, Any]:
    """Quantises QUANTIZED_GRAPHS in ``out`` (sessions and manifest entries updated in place); returns the
    manifest's ``quantization`` record."""
    import onnxruntime

    fp32 = dict(sessions)
    quantized: dict[str, Any] = {}
    latent_dim = int(ref.ar_steps[0].latents.shape[-1])
    noise = _parity_noise(ref, PARITY_STEPS)
    fp32_chain = _Chain(graphs, fp32, ref)
    lat32, logits32, eos32 = fp32_chain.latents(noise, PARITY_STEPS, stop_at_eos=False)
    mimi: dict[str, Any] = {"threshold_db": MIMI_MIN_SNR_DB, "frames": len(lat32)}
    for name in QUANTIZED_GRAPHS:
        path = out / entries[name]["file"]
        before = path.stat().st_size
        backup = path.with_name(f".{path.name}.fp32")
        shutil.copyfile(path, backup)
        try:
            if name == "mimi_decoder":
                kept = _quantize_mimi(path, backup, graphs, fp32, ref, lat32, mimi)
                if kept is None:
                    continue  # too lossy in every form: the fp32 decoder stays, as its file
                info, sessions[name] = kept
            else:
                nodes = _selected_matmuls(name, path, d_model, latent_dim)
                if not nodes:
                    continue  # nothing of this graph qualifies (a small head): it stays fp32, as its file
                info = _quantize(name, path, nodes)
                sessions[name] = open_session(path)
            info["fp32_bytes"] = before
        finally:
            backup.unlink(missing_ok=True)
        cases: list[Case] = recorded_cases(name, ref)
        exact = {k: v for k, v in graphs[name].tolerance.items() if v["atol"] == 0 and v["rtol"] == 0}
        loose = replace(graphs[name], tolerance={**exact, "default": {"atol": math.inf, "rtol": 0.0}})  # measure, not judge
        result = check_graph(loose, sessions[name], cases)
        tolerance: dict[str, dict[str, float]] = {"default": {"atol": 0.0, "rtol": 0.0}}
        for output, r in result.outputs.items():
            exact = graphs[name].tolerance_for(output)
            if exact["atol"] == 0 and exact["rtol"] == 0:
                tolerance[output] = {"atol": 0.0, "rtol": 0.0}
            else:
                tolerance[output] = {"atol": _ceil_sig(TOLERANCE_FACTOR * r.max_abs), "rtol": 0.0}
        entries[name]["check"]["tolerance"] = tolerance
        entries[name]["check"]["export"] = result.to_json()
        quantized[name] = {**info, "max_abs_vs_upstream": {k: v.max_abs for k, v in result.outputs.items()}}

    int8_chain = _Chain(graphs, sessions, ref)
    lat8, logits8, eos8 = int8_chain.latents(noise, PARITY_STEPS, stop_at_eos=False)
    frames = min(PARITY_SNR_FRAMES, len(lat8))
    audio8, audio32 = int8_chain.audio(lat8[:frames]), fp32_chain.audio(lat32[:frames])
    snr = [_snr_db(a, b) for a, b in zip(audio32, audio8)]
    measured = [v for v in snr if v is not None]
    latent_snr = [_snr_db(a, b) for a, b in zip(lat32[:frames], lat8[:frames])]
    decisions = [(a > ref.eos_threshold) == (b > ref.eos_threshold) for a, b in zip(logits32, logits8)]
    stop8, _, stop_eos8 = int8_chain.latents(ref.noise_tape(), ref.max_steps, stop_at_eos=True)
    return {
        "kind": "int8-dynamic",
        "tool": f"onnxruntime.quantization MatMulNBitsQuantizer and quantize_dynamic (onnxruntime {onnxruntime.__version__})",
        "weights": "int8, symmetric: flow_lm_main and flow_lm_flow per block of the reduction axis (MatMulNBits, 8 bits, "
        f"block <= {NBITS_BLOCK}), mimi_decoder per output channel",
        "activations": f"quantised per call (dynamic): int8 per block in MatMulNBits (accuracy_level {NBITS_ACCURACY_LEVEL}), "
        "uint8 per tensor in mimi_decoder",
        "selection": "flow_lm_main: MatMul nodes with a constant 2-D weight whose sides are both >= d_model (attention projections, FFN); "
        "flow_lm_flow: Gemm nodes with a constant 2-D weight whose sides are both > latent_dim, as MatMul + Add; "
        "mimi_decoder: its transformer's MatMuls and its convolutions with >= "
        f"{MIN_CONV_OUT} output channels (as per-tap MatMuls), else its transformer's alone, the first kept whose audio SNR >= "
        f"{MIMI_MIN_SNR_DB:g} dB on every frame",
        "graphs": quantized,
        "tolerance_rule": f"each quantised graph's check tolerance is {TOLERANCE_FACTOR:g}x its export-time max-abs error against upstream "
        "(teacher-forced on upstream's recorded calls); fp32 tolerances do not apply to int8 graphs",
        "parity": {
            "reference": "this export's fp32 graphs (equal to upstream within the fp32 checks), same noise, EOS ignored",
            "steps": len(logits8),
            "mimi_decoder": mimi,
            "frame_snr_db": snr,
            "first_frame_snr_db": snr[0] if snr else None,
            "min_snr_db": min(measured) if measured else None,
            "latent_snr_db": latent_snr,
            "eos_threshold": ref.eos_threshold,
            "eos_logit_max_abs": float(np.max(np.abs(np.array(logits8) - np.array(logits32)))) if logits8 else None,
            "eos_decision_agreement": sum(decisions) / len(decisions) if decisions else None,
            "first_eos_step": {"int8": eos8, "fp32": eos32},
            "upstream_run": {
                "eos_step": {"int8": stop_eos8, "upstream": ref.eos_step},
                "frames": {"int8": len(stop8), "upstream": ref.generated_frames},
            },
        },
    }
