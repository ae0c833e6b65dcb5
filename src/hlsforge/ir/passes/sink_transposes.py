"""Pass: move Transposes towards the outputs, through ops that do not care about layout.

Frontends of channels-first models wrap every NCHW op in a pair of Transposes; between two
such ops sit elementwise ops (ReLU, a bias Add, ...) that keep a "back to NCHW" Transpose from
meeting the next "to channels-last" one. Moving the Transpose past them lets
``compose_transposes`` cancel the pair. ``T_p`` transposes the non-batch axes by ``p``.

Rewrite rules (applied when the Transpose output has exactly one reader ``U``):

1. ``U(T_p(x)) -> T_p(U(x))`` for an elementwise ``U`` with one activation input
   (activations, Clip, Quantize).
2. ``U(T_p(x)) -> T_p(U(x))`` for Softmax and BatchNormalization when ``p`` keeps the last
   (channel) axis in place, since both act along that axis.
3. ``B(T_p(x), T_p(y)) -> T_p(B(x, y))`` for Add/Sub/Mul (same perm on both sides).
4. ``B(T_p(x), c) -> T_p(B(x, c'))`` for a constant ``c``, with ``c'`` = ``c`` padded to full
   rank and transposed by the inverse of ``p`` (so broadcasting is unchanged).
5. ``Pad(T_p(x)) -> T_p(Pad'(x))`` with the pads permuted along.
6. ``Concat(T_p(x1), ..., T_p(xn); axis) -> T_p(Concat(x1, ..., xn; p[axis]))``.
7. A Transpose read by several nodes, each of an op the rules above handle, is first split
   into one copy per reader, so that each copy can move on along its own path (a branch and
   a skip connection that meet again, ``Concat(T_p(x), ReLU(T_p(x)))``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..graph import Graph, Node
from ..ops import AxisAttrs, Op, PadAttrs, TransposeAttrs, spec
from ._rewrite import (
    consumers,
    contains,
    inverse_perm,
    new_constant,
    new_value,
    node_index,
    sole_consumer,
)

Perm = tuple[int, ...]
Rewrite = Callable[[Graph, Node, Node, Perm], "tuple[list[str], Any]"]

_BINARY = (Op.ADD, Op.SUB, Op.MUL)
_LAST_AXIS = (Op.SOFTMAX, Op.BATCHNORM)
_ELEMENTWISE = tuple(op for op in Op if spec(op).elementwise)


def _transposed_source(graph: Graph, value: str, p: Perm) -> str | None:
    prod = graph.producer(value)
    if prod is not None and prod.op is Op.TRANSPOSE and tuple(prod.attrs.perm) == p:
        return prod.inputs[0]
    return None


def _sinkable(graph: Graph, t: Node, u: Node, p: Perm) -> bool:
    """Whether one of rules 1-6 moves ``t`` past its reader ``u``."""
    if u.op in _ELEMENTWISE:
        return len(u.inputs) == 1
    if u.op in _LAST_AXIS:
        return p[-1] == len(p) - 1 and u.inputs[0] == t.outputs[0] and t.outputs[0] not in u.inputs[1:]
    if u.op in _BINARY:
        for name in u.inputs:
            data = graph.values[name].data
            if name == t.outputs[0]:
                continue
            if data is not None:
                if data.ndim > len(p):
                    return False
            elif _transposed_source(graph, name, p) is None:
                return False
        return True
    if u.op is Op.PAD:
        return True
    if u.op is Op.CONCAT:
        return all(_transposed_source(graph, name, p) is not None for name in u.inputs)
    return False


def _same_inputs(graph: Graph, t: Node, u: Node, p: Perm) -> tuple[list[str], Any]:
    return [t.inputs[0] if i == t.outputs[0] else i for i in u.inputs], u.attrs


def _binary(graph: Graph, t: Node, u: Node, p: Perm) -> tuple[list[str], Any]:
    new_inputs = []
    for name in u.inputs:
        data = graph.values[name].data
        if name == t.outputs[0]:
            new_inputs.append(t.inputs[0])
        elif data is not None:
            full = data.reshape((1,) * (len(p) - data.ndim) + data.shape)
            new_inputs.append(new_constant(graph, f"{name}_t", np.transpose(full, inverse_perm(p))))
        else:
            new_inputs.append(_transposed_source(graph, name, p))  # type: ignore[arg-type]
    return new_inputs, u.attrs


def _pad(graph: Graph, t: Node, u: Node, p: Perm) -> tuple[list[str], Any]:
    pads = [(0, 0)] * len(p)
    for i, pair in enumerate(u.attrs.pads):
        pads[p[i]] = tuple(pair)
    return [t.inputs[0]], PadAttrs(tuple(pads))  # type: ignore[arg-type]


def _concat(graph: Graph, t: Node, u: Node, p: Perm) -> tuple[list[str], Any]:
    sources = [_transposed_source(graph, name, p) for name in u.inputs]
    return [s for s in sources if s is not None], AxisAttrs(p[u.attrs.axis])


REWRITES: dict[Op, Rewrite] = {op: _same_inputs for op in _ELEMENTWISE + _LAST_AXIS}
REWRITES.update({Op.ADD: _binary, Op.SUB: _binary, Op.MUL: _binary, Op.PAD: _pad, Op.CONCAT: _concat})


def _split(graph: Graph, t: Node) -> bool:
    """Rule 7: one copy of ``t`` per reader, when every reader is an op the rules handle."""
    out = t.outputs[0]
    if out in graph.outputs:
        return False
    readers = consumers(graph, out)
    if len(readers) < 2 or any(r.op not in REWRITES for r in readers):
        return False
    at = node_index(graph, t)
    for r in readers[1:]:
        copy = new_value(graph, f"{out}_{r.name}", graph.values[out].shape)
        graph.nodes.insert(at + 1, Node(graph.unique_name(f"{t.name}_{r.name}"), Op.TRANSPOSE, list(t.inputs), [copy],
                                        TransposeAttrs(t.attrs.perm), t.source_name, t.source_op))
        r.inputs = [copy if i == out else i for i in r.inputs]
    return True


def sink_transposes(graph: Graph) -> bool:
    changed = False
    for t in list(graph.nodes):
        if t.op is not Op.TRANSPOSE or not contains(graph, t):
            continue
        u = sole_consumer(graph, t.outputs[0])
        p = tuple(t.attrs.perm)
        if u is None:
            changed = _split(graph, t) or changed
            continue
        if not _sinkable(graph, t, u, p):
            continue
        u.inputs, u.attrs = REWRITES[u.op](graph, t, u, p)
        shape = graph.infer_shapes(u)[0]
        out = u.outputs[0]
        u.outputs = [new_value(graph, f"{u.name}_pre", shape)]
        graph.nodes.remove(t)
        del graph.values[t.outputs[0]]
        graph.nodes.insert(node_index(graph, u) + 1, Node(t.name, Op.TRANSPOSE, [u.outputs[0]], [out],
                                                          TransposeAttrs(p), t.source_name, t.source_op))
        changed = True
    return changed
