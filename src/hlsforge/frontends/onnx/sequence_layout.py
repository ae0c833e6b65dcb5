"""Absorb ONNX's sequence-first recurrent layout at import (docs/ir.md "Sequences").

ONNX ``GRU``/``LSTM``/``RNN`` default to ``layout=0``: ``X`` is ``(seq, batch, in)``, ``Y`` is
``(seq, dirs, batch, hidden)``, ``Y_h`` is ``(dirs, batch, hidden)``. Exporters wrap them in
``Transpose(1,0,2)`` / ``Squeeze`` / ``Transpose(0,2,1,3)`` + ``Reshape`` / ``Gather`` so the
model's own tensors stay batch-first. The IR cannot hold a tensor whose batch is not axis 0,
so before conversion this pass rewrites the ONNX node list:

1. each layout-0 recurrent node whose ``X`` is ``Transpose(perm=[1,0,2])`` of a batch-first
   tensor reads that tensor directly and becomes ``layout=1``; its outputs are renamed and
   re-exposed through the Transposes that give back the layout-0 tensors;
2. Transposes are composed with the Transposes, Squeezes, scalar Gathers and trailing-axis
   Reshapes that consume them, pushed past the latter, until the exporter's own Transposes
   cancel them (identity Transposes become ``Identity``);
3. dead Transposes are dropped; zero initial states built from the batch size
   (``ConstantOfShape(Shape(x)...)``) become the absent input (zeros by definition).

A pattern it does not know leaves a batch-moving Transpose, which the converter refuses as
before, naming the node.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

RECURRENT = ("GRU", "LSTM", "RNN")


def fresh_name(names: set[str], base: str) -> str:
    """``base``, or ``base_1``, ``base_2``, … : the first not in ``names`` (then added to it), so
    a rewrite never gives a new tensor the name of one the model already has."""
    name, i = base, 1
    while name in names:
        name, i = f"{base}_{i}", i + 1
    names.add(name)
    return name


class _Rewriter:
    def __init__(self, graph: onnx.GraphProto, nodes: list[onnx.NodeProto], opset: int) -> None:
        self.nodes = [_copy(n) for n in nodes]
        self.opset = opset
        self.inits = {t.name: t for t in graph.initializer}
        self.outputs = {o.name for o in graph.output}
        self.names = {n for node in nodes for n in (*node.input, *node.output)} | set(self.inits)
        self.names |= {i.name for i in graph.input}

    # ------------------------------------------------------------------ helpers
    def fresh(self, base: str) -> str:
        return fresh_name(self.names, base)

    def producer(self, name: str) -> onnx.NodeProto | None:
        return next((n for n in self.nodes if name in n.output), None)

    def const(self, name: str) -> np.ndarray | None:
        if name in self.inits:
            return numpy_helper.to_array(self.inits[name])
        p = self.producer(name)
        if p is not None and p.op_type == "Constant":
            for a in p.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
        return None

    def insert_after(self, anchor: onnx.NodeProto, *new: onnx.NodeProto) -> None:
        i = self.nodes.index(anchor)
        self.nodes[i + 1 : i + 1] = list(new)

    def insert_before(self, anchor: onnx.NodeProto, *new: onnx.NodeProto) -> None:
        i = self.nodes.index(anchor)
        self.nodes[i:i] = list(new)

    # ------------------------------------------------------------------ step 1
    def relayout(self, node: onnx.NodeProto) -> None:
        if _attr(node, "layout", 0) != 0 or not node.input:
            return
        t = self.producer(node.input[0])
        if t is None or t.op_type != "Transpose" or list(_attr(t, "perm", [])) != [1, 0, 2]:
            return
        node.input[0] = t.input[0]
        for k in (5, 6):  # initial_h, initial_c: (dirs, batch, h) -> (batch, dirs, h)
            if len(node.input) > k and node.input[k]:
                if self._zero_from_shape(node.input[k]):
                    node.input[k] = ""
                else:
                    moved = self.fresh(node.input[k] + "__batch_first")
                    self.insert_before(node, helper.make_node("Transpose", [node.input[k]], [moved], perm=[1, 0, 2]))
                    node.input[k] = moved
        _set_attr(node, "layout", 1)
        after = []
        for i, out in enumerate(node.output):
            if not out:
                continue
            bf = self.fresh(out + "__batch_first")
            node.output[i] = bf
            perm = [1, 2, 0, 3] if i == 0 else [1, 0, 2]
            after.append(helper.make_node("Transpose", [bf], [out], name=self.fresh(out + "__seq_first"), perm=perm))
        self.insert_after(node, *after)

    def _zero_from_shape(self, name: str) -> bool:
        p = self.producer(name)
        if p is None or p.op_type != "ConstantOfShape":
            return False
        value = next((numpy_helper.to_array(a.t) for a in p.attribute if a.name == "value"), np.zeros(1))
        return bool(np.all(value == 0))

    # ------------------------------------------------------------------ step 2
    def push_once(self) -> bool:
        for node in self.nodes:
            if not node.input:
                continue
            t = self.producer(node.input[0])
            if t is None or t.op_type != "Transpose" or t.domain not in ("", "ai.onnx"):
                continue
            p = list(_attr(t, "perm", []))
            if not p:
                continue
            if node.op_type == "Transpose":
                q = list(_attr(node, "perm", []))
                if not q:
                    continue
                node.input[0] = t.input[0]
                _set_attr(node, "perm", [p[i] for i in q])
                if _attr(node, "perm", []) == list(range(len(q))):
                    _to_identity(node)
                return True
            if node.op_type in ("Squeeze", "Gather") and self._push_drop(node, t, p):
                return True
            if node.op_type == "Reshape" and self._push_reshape(node, t, p):
                return True
        return False

    def _axes(self, node: onnx.NodeProto, rank: int) -> list[int] | None:
        if node.op_type == "Gather":
            idx = self.const(node.input[1]) if len(node.input) > 1 else None
            if idx is None or idx.ndim != 0:
                return None
            return [_attr(node, "axis", 0) % rank]
        axes = _attr(node, "axes", None) if self.opset < 13 else (
            self.const(node.input[1]) if len(node.input) > 1 and node.input[1] else None)
        return None if axes is None else sorted(int(a) % rank for a in np.ravel(axes))

    def _push_drop(self, node: onnx.NodeProto, t: onnx.NodeProto, p: list[int]) -> bool:
        """Squeeze/scalar Gather of ``Transpose(p)(a)`` = ``Transpose(p')(op'(a))``."""
        axes = self._axes(node, len(p))
        if axes is None:
            return False
        src = [p[a] for a in axes]
        if node.op_type == "Squeeze":
            if self.opset < 13:
                _set_attr(node, "axes", sorted(src))
            else:
                name = self.fresh(node.output[0] + "__axes")
                value = numpy_helper.from_array(np.asarray(sorted(src), np.int64), name)
                self.insert_before(node, helper.make_node("Constant", [], [name], value=value))
                node.input[1] = name
        else:
            _set_attr(node, "axis", src[0])
        kept = [a for a in p if a not in src]
        perm = [sorted(kept).index(a) for a in kept]
        out = node.output[0]
        mid = self.fresh(out + "__pushed")
        node.input[0] = t.input[0]
        node.output[0] = mid
        tr = helper.make_node("Transpose", [mid], [out], name=self.fresh(out + "__transpose"), perm=perm)
        if perm == list(range(len(perm))):
            _to_identity(tr)
        self.insert_after(node, tr)
        return True

    def _push_reshape(self, node: onnx.NodeProto, t: onnx.NodeProto, p: list[int]) -> bool:
        """``Reshape`` that copies (0) the leading axes a Transpose permutes, and only merges or
        splits the axes it leaves in place, commutes with it."""
        k = max((i + 1 for i, a in enumerate(p) if a != i), default=0)
        target = self.const(node.input[1]) if len(node.input) > 1 else None
        if k == 0 or target is None or len(target) < k or np.any(target[:k] != 0) or _attr(node, "allowzero", 0):
            return False
        out = node.output[0]
        mid = self.fresh(out + "__pushed")
        node.input[0] = t.input[0]
        node.output[0] = mid
        perm = p[:k] + list(range(k, len(target)))
        self.insert_after(node, helper.make_node("Transpose", [mid], [out], name=self.fresh(out + "__transpose"), perm=perm))
        return True

    # ------------------------------------------------------------------ step 3
    def drop_dead(self) -> None:
        while True:
            used = {i for n in self.nodes for i in n.input} | self.outputs
            dead = [n for n in self.nodes if n.op_type in ("Transpose", "ConstantOfShape") and not (set(n.output) & used)]
            if not dead:
                return
            self.nodes = [n for n in self.nodes if n not in dead]


def absorb_sequence_layout(graph: onnx.GraphProto, nodes: list[onnx.NodeProto], opset: int) -> list[onnx.NodeProto]:
    """The node list with sequence-first recurrent layouts absorbed (unchanged without RNNs)."""
    if not any(n.op_type in RECURRENT and n.domain in ("", "ai.onnx") for n in nodes):
        return nodes
    rw = _Rewriter(graph, nodes, opset)
    for node in [n for n in rw.nodes if n.op_type in RECURRENT]:
        rw.relayout(node)
    for _ in range(10 * len(rw.nodes)):
        if not rw.push_once():
            break
    rw.drop_dead()
    return rw.nodes


def _copy(node: onnx.NodeProto) -> onnx.NodeProto:
    c = onnx.NodeProto()
    c.CopyFrom(node)
    return c


def _attr(node: onnx.NodeProto, name: str, default):  # noqa: ANN001, ANN202 - onnx values
    for a in node.attribute:
        if a.name == name:
            v = helper.get_attribute_value(a)
            return list(v) if isinstance(v, (list, tuple)) or type(v).__name__ == "RepeatedScalarContainer" else v
    return default


def _set_attr(node: onnx.NodeProto, name: str, value) -> None:  # noqa: ANN001
    keep = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(keep + [helper.make_attribute(name, value)])


def _to_identity(node: onnx.NodeProto) -> None:
    node.op_type = "Identity"
    del node.attribute[:]
