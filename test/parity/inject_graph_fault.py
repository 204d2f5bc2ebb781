"""Test-only fault injection into a copy of an exported model folder (never used by the CLI or the exporter).

    python inject_graph_fault.py perturb-weight SRC OUT --layer 1 [--delta 0.5]
        adds DELTA to one element of FlowLM layer LAYER's first FFN weight (linear1) in flow_lm_main.onnx.
    python inject_graph_fault.py rope-half-split SRC OUT
        rewrites every FlowLM attention's RoPE to rotate half-split pairs (x[i], x[i + D/2]) instead of
        upstream's interleaved pairs (x[2i], x[2i + 1]).

The RoPE rewrite keeps the exported rotation subgraph and conjugates it with a channel permutation P of the
head dimension: the rotated q and k become P^-1 . rope_interleaved(P . x), where P moves channel i to slot 2i
and channel i + D/2 to slot 2i + 1. rope_interleaved then rotates exactly the pairs (x[i], x[i + D/2]) by
frequency i, and P^-1 puts the channels back in place: that is the half-split ("rotate_half") RoPE that a
port gets wrong, with everything else (projections, cache layout, mask) unchanged. In an export with fused
attention (onnxruntime's com.microsoft RotaryEmbedding, manifest rewrites "fused_attention") the same fault is the
operator's own ``interleaved = 0`` (rotate_half pairs). The rewrite is then run on random inputs and its rotated q
and k are checked against a NumPy half-split RoPE. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

GRAPH = "flow_lm_main.onnx"


def perturb_weight(model: onnx.ModelProto, layer: int, delta: float) -> dict[str, object]:
    node_name = f"/transformer/layers.{layer}/linear1/MatMul"
    node = next((n for n in model.graph.node if n.name == node_name), None)
    if node is None:
        raise SystemExit(f"no node {node_name} in {GRAPH}")
    inits = {i.name: i for i in model.graph.initializer}
    weight_name = next(i for i in node.input if i in inits)
    users = [n.name for n in model.graph.node if weight_name in n.input]
    if users != [node_name]:
        raise SystemExit(f"initializer {weight_name} is shared by {users}; pick another weight")
    weight = numpy_helper.to_array(inits[weight_name]).copy()
    weight.flat[0] += np.float32(delta)
    inits[weight_name].CopyFrom(numpy_helper.from_array(weight, weight_name))
    return {"fault": "perturb-weight", "node": node_name, "initializer": weight_name, "index": 0, "delta": delta}


def rope_half_split(model: onnx.ModelProto, head_dim: int) -> dict[str, object]:
    graph = model.graph
    fused = [n for n in graph.node if n.op_type == "RotaryEmbedding" and n.domain == "com.microsoft"]
    if fused:
        for node in fused:
            for attribute in node.attribute:
                if attribute.name == "interleaved":
                    attribute.i = 0
        layers = sorted({n.name.rsplit("/", 1)[0] + "/" for n in fused})  # one scope per attention layer (its q and k)
        return {"fault": "rope-half-split", "scopes": layers, "head_dim": head_dim, "fused": True}
    half = head_dim // 2
    perm = np.empty(head_dim, dtype=np.int64)
    perm[0::2] = np.arange(half)
    perm[1::2] = np.arange(half) + half
    inverse = np.argsort(perm).astype(np.int64)
    graph.initializer.extend([numpy_helper.from_array(perm, "fault_rope_perm"), numpy_helper.from_array(inverse, "fault_rope_inverse")])
    scopes = sorted({m.group(0) for n in graph.node if (m := re.match(r"^/transformer/layers\.\d+/self_attn/rope/", n.name))})
    if not scopes:
        raise SystemExit(f"no RoPE subgraph found in {GRAPH}")
    new_nodes: list[onnx.NodeProto] = []
    rewired: list[str] = []
    for scope in scopes:
        inside = [n for n in graph.node if n.name.startswith(scope)]
        produced = {o for n in inside for o in n.output}
        # q and k enter the rotation through the 5-D reshapes that view the head dim as (D/2, 2) pairs.
        entry = [n for n in inside if n.op_type == "Reshape" and n.input[0] not in produced]
        # the rotated q and k leave through reshapes back to [B, T, H, D] consumed outside the scope.
        exits = sorted({i for n in graph.node if not n.name.startswith(scope) for i in n.input if i in produced and any(p.op_type == "Reshape" and i in p.output for p in inside)})
        if len(entry) != 2 or len(exits) != 2:
            raise SystemExit(f"{scope}: expected 2 entry and 2 exit reshapes, found {len(entry)} and {len(exits)}")
        for i, node in enumerate(entry):
            permuted = f"{scope}fault_perm_in_{i}"
            new_nodes.append(helper.make_node("Gather", [node.input[0], "fault_rope_perm"], [permuted], name=f"{scope}FaultPermIn_{i}", axis=3))
            node.input[0] = permuted
        for i, tensor in enumerate(exits):
            restored = f"{scope}fault_perm_out_{i}"
            for n in graph.node:
                if not n.name.startswith(scope):
                    for j, name in enumerate(n.input):
                        if name == tensor:
                            n.input[j] = restored
            new_nodes.append(helper.make_node("Gather", [tensor, "fault_rope_inverse"], [restored], name=f"{scope}FaultPermOut_{i}", axis=3))
        rewired.append(scope)
    graph.node.extend(new_nodes)
    ordered = topological(graph)
    del graph.node[:]
    graph.node.extend(ordered)
    return {"fault": "rope-half-split", "scopes": rewired, "head_dim": head_dim}


def verify_half_split(model: onnx.ModelProto, manifest: dict[str, object], scope: str) -> float:
    """Runs the rewritten graph on random conditioning and checks that the rotated q and k of `scope` are the
    half-split RoPE of its unrotated q and k at their absolute positions. Returns the largest error."""
    import onnxruntime as ort

    facts = manifest["model"]
    assert isinstance(facts, dict)
    d_model, layers, heads, head_dim = (int(facts[k]) for k in ("d_model", "num_layers", "num_heads", "head_dim"))
    max_period = float(facts.get("config", {}).get("flow_lm", {}).get("transformer", {}).get("max_period", 10000))
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    fused = sorted((n for n in model.graph.node if n.op_type == "RotaryEmbedding" and n.name.startswith(scope)), key=lambda n: n.name)
    if fused:  # the layer's q rotation and its k rotation
        q_node, k_node = fused[:2]
        outs = [q_node.input[0], k_node.input[0], q_node.output[0], k_node.output[0]]
    else:
        q_in, k_in = f"{scope[: -len('rope/')]}Squeeze_output_0", f"{scope[: -len('rope/')]}Squeeze_1_output_0"
        outs = [q_in, k_in, f"{scope}fault_perm_out_0", f"{scope}fault_perm_out_1"]
    probe.graph.output.extend([helper.make_empty_tensor_value_info(name) for name in outs])
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    offset, steps = 7, 3
    feeds = {
        "conditioning": rng.standard_normal((1, steps, d_model)).astype(np.float32),
        "latents": np.zeros((1, 0, 32), np.float32),
        "offset": np.array([offset], np.int64),
    }
    for i in range(layers):
        for kind in ("k", "v"):
            feeds[f"past_{kind}.{i}"] = rng.standard_normal((1, offset, heads, head_dim)).astype(np.float32)
    q, k, out0, out1 = (x.reshape(1, steps, -1, head_dim) for x in session.run(outs, feeds))
    half = head_dim // 2
    freqs = np.exp(np.arange(half, dtype=np.float32) * (-np.log(max_period) * 2 / head_dim))
    angles = (np.arange(steps, dtype=np.float32) + offset)[:, None, None] * freqs  # [T, 1, D/2]

    def rotate(x: np.ndarray) -> np.ndarray:
        a, b = x[..., :half], x[..., half:]
        return np.concatenate([a * np.cos(angles) - b * np.sin(angles), a * np.sin(angles) + b * np.cos(angles)], axis=-1)

    expected = [rotate(q), rotate(k)]
    errors = sorted(float(np.abs(out - e).max()) for out, e in ((out0, expected[0]), (out1, expected[1])))
    swapped = sorted(float(np.abs(out - e).max()) for out, e in ((out0, expected[1]), (out1, expected[0])))
    return min(max(errors), max(swapped))


def topological(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending = list(graph.node)
    ordered: list[onnx.NodeProto] = []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise SystemExit("graph has a cycle after the rewrite")
        for n in ready:
            ordered.append(n)
            available.update(n.output)
        pending = [n for n in pending if n not in ready]
    return ordered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fault", choices=["perturb-weight", "rope-half-split"])
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--layer", type=int, default=1)
    parser.add_argument("--delta", type=float, default=0.5)
    args = parser.parse_args()
    shutil.copytree(args.src, args.out)
    path = args.out / GRAPH
    model = onnx.load(str(path))
    if args.fault == "perturb-weight":
        summary = perturb_weight(model, args.layer, args.delta)
    else:
        manifest = json.loads((args.out / "manifest.json").read_text())
        summary = rope_half_split(model, int(manifest["model"]["head_dim"]))
        scopes = summary["scopes"]
        assert isinstance(scopes, list)
        error = verify_half_split(model, manifest, str(scopes[0]))
        if error > 1e-4:
            raise SystemExit(f"the rewritten RoPE is not half-split RoPE (max error {error})")
        summary["verified_max_error"] = error
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
