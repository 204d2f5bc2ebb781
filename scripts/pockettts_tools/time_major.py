"""Keeps the int8 Mimi decoder's SEANet activations time-major between its convolutions written as MatMuls.

``quantize_int8.convs_as_matmuls`` writes each convolution as MatMuls over a time-major ``[1, T, C]`` copy of its
channels-first ``[1, C, T]`` input (one per tap window, or one for all taps), and transposes the result back: two
Transposes a convolution, and the transposed convolutions' phase interleave (``graph_rewrites.convtranspose_polyphase``)
a third. ELU, the residual Adds and the streaming code's Concat/Slice/Pad on the time axis do not care about the
layout, so
``keep_time_major`` computes, for the input of each such time-major Transpose, the same tensor time-major
(``_TimeMajor.of``): through a channels-first Transpose (its input), elementwise nodes (channel vectors ``[C, 1]``
become ``[C]``), Concat/Slice on the time axis (now axis 1), constant Pad, and the phase interleave (the
polyphase MatMuls' columns reordered phase-major, so the interleave is one Reshape). What cannot be followed, and
a streaming state read or written channels-first (small: a few frames), gets a Transpose. Same arithmetic, same
order: the outputs are equal to the last bit.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from .graph_rewrites import _Graph

ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Min", "Max", "Exp"}
TIME_AXES = (-1, 2)  # the time axis of a channels-first [1, C, T] tensor


class _TimeMajor:
    def __init__(self, model: onnx.ModelProto) -> None:
        self.g = _Graph(model)
        self.producers = {o: n for n in model.graph.node for o in n.output}
        self.inputs = {v.name for v in model.graph.input}
        self.memo: dict[str, str] = {}
        self.added: list[onnx.NodeProto] = []
        self.made: set[str] = set()  # the names of the nodes this rewrite made
        self.edits: list[tuple[onnx.NodeProto, int, str]] = []  # weights reordered (node, input, new name), at commit
        self.hits = self.fallbacks = 0
        inferred = onnx.shape_inference.infer_shapes(model)
        values = [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
        self.ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in values if v.type.tensor_type.HasField("shape")}

    def rank(self, name: str) -> int | None:
        return self.ranks.get(name)

    @staticmethod
    def is_transpose(node: onnx.NodeProto) -> bool:
        return node.op_type == "Transpose" and [list(helper.get_attribute_value(a)) for a in node.attribute] == [[0, 2, 1]]

    def commit(self) -> None:
        """Adds the nodes made so far to the graph and drops what nothing reads any more."""
        for node, index, name in self.edits:
            node.input[index] = name
        self.edits = []
        self.made |= {n.name for n in self.added}
        self.g.graph.node.extend(self.added)
        self.added = []
        self.g.drop_dead_nodes()

    def attempt(self, name: str) -> str | None:
        """``name`` time-major when that reuses time-major work and needs no Transpose but of a graph input (the
        nodes it takes are kept); else None and nothing made."""
        producer = self.producers.get(name)
        if name in self.memo or (producer is not None and self.is_transpose(producer)):
            return None  # already the input of a Transpose back to channels-first, or made time-major
        added, edits, memo = len(self.added), len(self.edits), dict(self.memo)
        self.hits = self.fallbacks = 0
        moved = self.of(name, root=True)
        if moved is None or self.fallbacks or not self.hits:
            del self.added[added:]
            del self.edits[edits:]
            self.memo = memo
            return None
        return moved

    def readers(self, name: str) -> int:
        return self.g.readers(name)

    def node(self, op: str, inputs: list[str], base: str, **attrs: object) -> str:
        out = self.g.fresh(f"{base}.time_major")
        self.added.append(helper.make_node(op, inputs, [out], name=self.g.fresh(f"{base}.time_major_{op}"), **attrs))
        return out

    def transposed(self, name: str) -> str:
        return self.node("Transpose", [name], name, perm=[0, 2, 1])

    def const(self, name: str) -> np.ndarray | None:
        return self.g.constant_value(name, self.producers.get(name))

    def of(self, name: str, root: bool = False) -> str | None:
        """``name`` ([1, C, T]) as [1, T, C]; None for a root that cannot be followed (a Transpose of itself would loop)."""
        if name in self.memo:
            self.hits += 1
            return self.memo[name]
        result = self._follow(name)
        if result is None:
            if root:
                return None
            self.fallbacks += 1
            result = self.transposed(name)
        self.memo[name] = result
        return result

    def _follow(self, name: str) -> str | None:
        if name in self.inputs:
            return self.transposed(name)
        node = self.producers.get(name)
        if node is None:
            return None
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if self.is_transpose(node):
            self.hits += 1
            return node.input[0]
        if node.op_type in ELEMENTWISE:
            inputs = []
            for x in node.input:
                value = self.const(x)
                if value is None and self.rank(x) not in (3, None):
                    return None  # a broadcast operand of another rank
                if value is None:
                    inputs.append(self.of(x))
                elif value.size == 1:
                    inputs.append(x)
                elif value.ndim == 2 and value.shape[1] == 1:  # a channel vector [C, 1]
                    inputs.append(self.g.constant(f"{x}.time_major", np.ascontiguousarray(value.reshape(-1))))
                else:
                    return None
            return self.node(node.op_type, inputs, node.name)
        if node.op_type == "Concat" and attrs.get("axis") in TIME_AXES:
            return self.node("Concat", [self.of(x) for x in node.input], node.name, axis=1)
        if node.op_type == "Slice" and len(node.input) >= 4:
            axes = self.const(node.input[3])
            if axes is None or axes.size != 1 or int(axes.reshape(-1)[0]) not in TIME_AXES:
                return None
            axis = self.g.constant(f"{node.name}.time_axis", np.array([1], np.int64))
            return self.node("Slice", [self.of(node.input[0]), node.input[1], node.input[2], axis, *node.input[4:]], node.name)
        if node.op_type == "Pad" and len(node.input) == 2 and attrs.get("mode", b"constant") in (b"constant", "constant"):
            pads = self.const(node.input[1])
            if pads is None or pads.shape != (6,) or any(pads[[0, 1, 3, 4]]):
                return None
            moved = self.g.constant(f"{node.name}.time_major_pads", np.array([0, pads[2], 0, 0, pads[5], 0], np.int64))
            return self.node("Pad", [self.of(node.input[0]), moved], node.name)
        if node.op_type == "Reshape":
            return self._interleave(node)
        return None

    def _interleave(self, node: onnx.NodeProto) -> str | None:
        """The polyphase phase interleave: Reshape [0, O, -1] of Transpose [0, 1, 3, 2] of Reshape [0, O, s, -1] of a
        channels-first Transpose of per-tap MatMuls whose column c*s + r is phase r of channel c."""
        out_shape = self.const(node.input[1])
        swap = self.producers.get(node.input[0])
        if out_shape is None or swap is None or swap.op_type != "Transpose" or self.readers(swap.output[0]) != 1:
            return None
        if list(helper.get_attribute_value(swap.attribute[0])) != [0, 1, 3, 2]:
            return None
        split = self.producers.get(swap.input[0])
        if split is None or split.op_type != "Reshape" or self.readers(split.output[0]) != 1:
            return None
        split_shape = self.const(split.input[1])
        back = self.producers.get(split.input[0])
        if split_shape is None or back is None or back.op_type != "Transpose" or self.readers(back.output[0]) != 1:
            return None
        if list(helper.get_attribute_value(back.attribute[0])) != [0, 2, 1] or list(split_shape[:1]) != [0] or split_shape[3] != -1:
            return None
        channels, phases = int(split_shape[1]), int(split_shape[2])
        if list(out_shape) != [0, channels, -1]:
            return None
        # new column r*O + c holds old column c*s + r
        order = np.arange(channels * phases).reshape(channels, phases).T.reshape(-1)
        edits = len(self.edits)
        if not self._permute_columns(back.input[0], order):
            del self.edits[edits:]
            return None
        shape = self.g.constant(f"{node.name}.time_major_shape", np.array([0, -1, channels], np.int64))
        return self.node("Reshape", [back.input[0], shape], node.name)

    def _permute_columns(self, name: str, order: np.ndarray) -> bool:
        """Reorders the last axis of ``name`` (a sum of MatMuls by constants and constant biases, each read once), as
        edits applied at the next commit; False: not such a sum (the caller drops the edits made on the way)."""
        node = self.producers.get(name)
        if node is None or self.readers(name) != 1:
            return False
        if node.op_type == "MatMul":
            weight = self.g.array(node.input[1])
            if weight is None or weight.ndim != 2 or self.readers(node.input[1]) != 1:
                return False
            self.edits.append((node, 1, self.g.constant(f"{node.input[1]}.phase_major", np.ascontiguousarray(weight[:, order]))))
            return True
        if node.op_type != "Add":
            return False
        for i, x in enumerate(node.input):
            value = self.g.array(x)
            if value is not None:
                if value.shape != (order.size,):
                    return False
                self.edits.append((node, i, self.g.constant(f"{x}.phase_major", np.ascontiguousarray(value[order]))))
            elif not self._permute_columns(x, order):
                return False
        return True


def _topological(nodes: list[onnx.NodeProto], available: set[str]) -> list[onnx.NodeProto]:
    """``nodes`` ordered so that each comes after the producers of its inputs (stable otherwise)."""
    done, ordered, pending = set(available), [], list(nodes)
    while pending:
        rest = []
        for n in pending:
            if all(not x or x in done for x in n.input):
                ordered.append(n)
                done |= set(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise ValueError(f"the time-major rewrite left a cycle or an unproduced input at {rest[0].name}")
        pending = rest
    return ordered


def keep_time_major(model: onnx.ModelProto, transposes: list[str]) -> int:
    """Rewrites ``model`` in place: the named Transposes (perm [0, 2, 1], channels-first to time-major) read their
    input computed time-major instead, and so does every node after them that can (see the module doc); returns
    how many Transposes are left in the graph."""
    t = _TimeMajor(model)
    graph = model.graph
    redirect = {n.output[0]: t.of(n.input[0]) for n in graph.node if n.name in transposes}
    for node in graph.node:
        for i, x in enumerate(node.input):
            node.input[i] = redirect.get(x, x)
    t.commit()
    outputs = {o.name for o in graph.output}
    while True:
        changed = False
        for node in reversed(list(graph.node)):
            if node.name in t.made or t.is_transpose(node):
                continue
            if len(node.output) == 1 and node.output[0] in outputs and t.rank(node.output[0]) == 3:
                moved = t.attempt(node.output[0])  # a state written channels-first: Transpose the state alone
                if moved is not None:
                    graph.node.remove(node)
                    t.added.append(
                        helper.make_node(
                            "Transpose", [moved], [node.output[0]], name=t.g.fresh(f"{node.output[0]}.channels_first"), perm=[0, 2, 1]
                        )
                    )
                    changed = True
                    break
            for i, x in enumerate(node.input):
                moved = t.attempt(x) if t.rank(x) == 3 else None
                if moved is not None:
                    node.input[i] = t.node("Transpose", [moved], x, perm=[0, 2, 1])
                    changed = True
            if changed:
                break
        t.commit()
        if not changed:
            break
    available = {v.name for v in graph.input} | {i.name for i in graph.initializer}
    ordered = _topological(list(graph.node), available)
    del graph.node[:]
    graph.node.extend(ordered)
    t.g.drop_unused_initializers(set(t.g.initializers))
    return sum(n.op_type == "Transpose" for n in graph.node)
