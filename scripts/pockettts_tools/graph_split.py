"""Cutting an exported streaming graph in two, so that its two halves can run as a pipeline on two threads (the
Mimi decoder: one call's first half beside the previous call's second half).

A cut at node index ``c`` of the file's topological order gives a first graph (the nodes before ``c``) and a second
(the rest). The activations that cross the cut become the first graph's outputs and the second's inputs; each
graph keeps the inputs (streaming states included) its own nodes read and the outputs (next states included) its
own nodes produce; a ``Constant`` read on both sides is copied. The two graphs run the same kernels on the same
values as the whole one, so their outputs equal its outputs. A cut is clean when one activation crosses it; the
streaming offset's update moves to the first graph (``_hoist_state_updates``). A clean cut can still make a call's
first half wait for the previous call's second (when the first reads a state the second writes, e.g. a convolution's
left context): ``bench_mimi_split`` refuses those (CUT_NOT_PIPELINED).
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx
from onnx import helper


@dataclass(frozen=True)
class GraphCut:
    first: onnx.ModelProto
    second: onnx.ModelProto
    # the activations the first graph hands to the second (its outputs before the whole graph's)
    crossing: tuple[str, ...]


def _constants(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in graph.node if node.op_type == "Constant" for out in node.output}


def crossing_tensors(graph: onnx.GraphProto, cut: int) -> list[str]:
    """Non-constant tensors made before node ``cut`` and read at or after it (or returned by the graph)."""
    made = {out for node in graph.node[:cut] for out in node.output} - set(_constants(graph))
    read = {name for node in graph.node[cut:] for name in node.input} | {o.name for o in graph.output}
    return sorted(made & read)


def cut_points(model: onnx.ModelProto) -> list[tuple[int, str, str]]:
    """Clean cuts: (node index, the second graph's first node, the one activation crossing), one per crossing
    tensor (its earliest cut), skipping cuts that only move ``Constant`` nodes."""
    graph = model.graph
    outputs = {o.name for o in graph.output}
    points: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for cut in range(1, len(graph.node)):
        if graph.node[cut].op_type == "Constant":
            continue
        reads = {name for node in graph.node[cut:] for name in node.input}
        activations = [t for t in crossing_tensors(graph, cut) if t in reads and t not in outputs]
        if len(activations) == 1 and activations[0] not in seen:
            seen.add(activations[0])
            points.append((cut, graph.node[cut].name, activations[0]))
    return points


def find_cut(model: onnx.ModelProto, spec: str) -> int:
    """A cut given as a node index or as the name of the node the second graph starts with."""
    names = [node.name for node in model.graph.node]
    if spec.isdigit():
        return int(spec)
    if spec not in names:
        raise ValueError(f"no node named {spec!r} in the graph")
    return names.index(spec)


def _hoist_state_updates(graph: onnx.GraphProto, cut: int) -> tuple[list[onnx.NodeProto], list[onnx.NodeProto]]:
    """The nodes of each side, with the second side's updates of states the first side reads moved to the first
    when they are computed from the graph's inputs alone (a streaming offset advanced by the call's frame count,
    at the graph's end): otherwise the first graph's next call would wait for the second's."""
    first, second = list(graph.node[:cut]), list(graph.node[cut:])
    first_reads = {name for node in first for name in node.input}
    producer = {out: node for node in second for out in node.output}
    leaves = {i.name for i in graph.input} | {t.name for t in graph.initializer} | set(_constants(graph))

    def from_inputs(name: str, chain: dict[int, onnx.NodeProto]) -> bool:
        if name in leaves:
            return True
        node = producer.get(name)
        if node is None:
            return False  # made before the cut: not from the inputs alone
        if id(node) not in chain:
            chain[id(node)] = node
            return all(from_inputs(i, chain) for i in node.input if i)
        return True

    moved: dict[int, onnx.NodeProto] = {}
    for out in graph.output:
        if out.name.startswith("next_state.") and "state." + out.name[len("next_state.") :] in first_reads:
            chain: dict[int, onnx.NodeProto] = {}
            if from_inputs(out.name, chain):
                moved.update(chain)
    return [*first, *[n for n in second if id(n) in moved]], [n for n in second if id(n) not in moved]


def split_graph(model: onnx.ModelProto, cut: int) -> GraphCut:
    """The two graphs of a cut at node ``cut``. Raises ValueError for a cut outside the graph."""
    graph = model.graph
    if not 0 < cut < len(graph.node):
        raise ValueError(f"a cut must leave nodes on both sides: 0 < cut < {len(graph.node)}")
    constants = _constants(graph)
    initializers = {t.name: t for t in graph.initializer}
    inferred = onnx.shape_inference.infer_shapes(model).graph
    typed = {v.name: v for v in [*inferred.value_info, *graph.input, *graph.output]}
    graph_outputs = [o.name for o in graph.output]
    first_nodes, second_nodes = _hoist_state_updates(graph, cut)
    first_made = {out for node in first_nodes for out in node.output} - set(constants)
    second_reads = {name for node in second_nodes for name in node.input}
    handed = sorted(first_made & second_reads)

    def value_info(name: str) -> onnx.ValueInfoProto:
        if name not in typed:
            raise ValueError(f"the type of {name} is unknown (onnx shape inference did not reach it): choose another cut")
        return typed[name]

    def build(nodes: list[onnx.NodeProto], inputs: list[str], outputs: list[str], name: str) -> onnx.ModelProto:
        # a Constant left behind by the nodes a hoist moved is dropped; one read here but made there is copied
        read = [n for node in nodes if node.op_type != "Constant" for n in node.input if n]
        nodes = [n for n in nodes if n.op_type != "Constant" or any(o in set(read) for o in n.output)]
        made = {out for node in nodes for out in node.output}
        copied = [constants[n] for n in dict.fromkeys(read) if n in constants and n not in made]
        body = helper.make_graph(
            [*copied, *nodes],
            name,
            [value_info(n) for n in inputs if n in set(read)],
            [value_info(n) for n in outputs],
            [initializers[n] for n in dict.fromkeys(read) if n in initializers],
        )
        # no onnx.checker here: it wants a shape on every graph input, and inference leaves some ranks unknown
        # (onnxruntime takes them); the tests run both graphs against the whole one instead
        return helper.make_model(body, opset_imports=model.opset_import, ir_version=model.ir_version, producer_name=model.producer_name)

    graph_inputs = [i.name for i in graph.input]
    first_made = {out for node in first_nodes for out in node.output}
    first_outputs = [*handed, *[o for o in graph_outputs if o in first_made and o not in handed]]
    first = build(first_nodes, graph_inputs, first_outputs, f"{graph.name}_first")
    second = build(second_nodes, [*handed, *graph_inputs], [o for o in graph_outputs if o not in first_made], f"{graph.name}_second")
    return GraphCut(first=first, second=second, crossing=tuple(handed))
