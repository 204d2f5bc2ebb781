"""Writes one GraphDef to an ONNX file: TorchScript tracing at opset 17, I/O shapes set from the contract."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import onnx
import torch

from .fused_attention import OPSET_IMPORTS, swapped_forwards
from .graph_defs import GraphDef, TensorSpec, swapped_backends

OPSET = 17
_ONNX_TYPES = {"float32": onnx.TensorProto.FLOAT, "int64": onnx.TensorProto.INT64, "bool": onnx.TensorProto.BOOL}


def _set_type(value: onnx.ValueInfoProto, spec: TensorSpec) -> None:
    tensor_type = value.type.tensor_type
    if tensor_type.elem_type != _ONNX_TYPES[spec.dtype]:
        raise RuntimeError(f"{spec.name}: traced as ONNX type {tensor_type.elem_type}, contract says {spec.dtype}")
    tensor_type.shape.Clear()
    for dim in spec.shape:
        entry = tensor_type.shape.dim.add()
        if isinstance(dim, int):
            entry.dim_value = dim
        else:
            entry.dim_param = dim


def _fold_initializer_identities(model: onnx.ModelProto) -> None:
    """The exporter deduplicates equal weights (e.g. two all-ones norm scales) into Identity nodes reading an
    initializer; onnxruntime's optimizers reject such graphs ("… is not a graph input, initializer, or output
    of a previous node"). Consumers are pointed at the initializer itself."""
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    rename: dict[str, str] = {}
    keep = []
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in initializers and node.output[0] not in outputs:
            rename[node.output[0]] = node.input[0]
        else:
            keep.append(node)
    for node in keep:
        for index, name in enumerate(node.input):
            if name in rename:
                node.input[index] = rename[name]
    del graph.node[:]
    graph.node.extend(keep)
    for value in list(graph.value_info):
        if value.name in rename:
            graph.value_info.remove(value)


def export_graph(graph: GraphDef, path: Path) -> None:
    """Traces the wrapper with upstream's modules, names every I/O as the contract does, and checks the file."""
    dynamic_axes = {
        spec.name: {axis: dim for axis, dim in enumerate(spec.shape) if isinstance(dim, str)} for spec in [*graph.inputs, *graph.outputs]
    }
    dynamic_axes = {name: axes for name, axes in dynamic_axes.items() if axes}
    buffer = io.BytesIO()
    with swapped_backends(graph.backends), swapped_forwards(graph.forwards), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape arithmetic
        torch.onnx.export(
            graph.module,
            graph.example,
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=[s.name for s in graph.inputs],
            output_names=[s.name for s in graph.outputs],
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
            custom_opsets=OPSET_IMPORTS if graph.forwards else None,
        )
    model = onnx.load_from_string(buffer.getvalue())
    _fold_initializer_identities(model)
    inputs = {v.name: v for v in model.graph.input}
    outputs = {v.name: v for v in model.graph.output}
    for spec in graph.inputs:
        if spec.name not in inputs:
            raise RuntimeError(f"{graph.name}: the traced graph has no input {spec.name} (unused by the computation?)")
        _set_type(inputs[spec.name], spec)
    for spec in graph.outputs:
        _set_type(outputs[spec.name], spec)
    model.doc_string = graph.description
    model.producer_name = "pockettts_tools.export_onnx"
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
