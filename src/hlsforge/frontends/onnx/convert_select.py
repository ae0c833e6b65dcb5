"""TopK, GatherElements and ReduceProd (issue 12): the selection ops of EdgeConv-style k-NN.

``TopK``'s indices become an IR activation of exact float32 integers (ONNX gives int64), so
the exporter's Slice/Unsqueeze/Expand on them import as on any tensor, and a
``GatherElements`` reads them at run time. A ``Cast`` of an activation between numeric types
is the identity on such values (it is refused on a float activation that is not known to hold
integers). GatherElements reads through the exporters' repeats of size-1 axes
(:func:`_unrepeated`): its data axes of size 1 broadcast. Every axis is an ONNX axis of the tensor as imported; none may be the batch axis.
"""

from __future__ import annotations

import numpy as np

from ...ir.ops import AxisAttrs, NoAttrs, Op, ReduceAttrs, TopKAttrs
from .context import NodeContext, Tensor
from .registry import converter

_INTEGER_VALUES = "_hlsforge_integer_values"  # ImportContext attribute: activations holding integers


def _integer_values(nc: NodeContext) -> set[str]:
    s = getattr(nc.ctx, _INTEGER_VALUES, None)
    if s is None:
        s = set()
        setattr(nc.ctx, _INTEGER_VALUES, s)
    return s


def _axis(nc: NodeContext, axis: int, rank: int, what: str) -> int:
    if not -rank <= axis < rank:
        raise nc.malformed(f"axis {axis} is outside a rank-{rank} tensor")
    axis %= rank
    if axis == 0:
        raise nc.unsupported(f"{what} along the batch axis is not supported")
    return axis - 1


# ----------------------------------------------------------------------------- TopK


def _topk(nc: NodeContext, k: int, largest: bool, sorted_: bool) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    axis = _axis(nc, int(nc.attr("axis", -1)), len(shape) + 1, "TopK")
    if not 1 <= k <= shape[axis]:
        raise nc.unsupported(f"k={k} must be in [1, {shape[axis]}] (k=0 gives empty outputs)")
    ctx = nc.ctx
    outs = [nc.node.output[i] if nc.output_used(i) else ctx.fresh(f"{nc.name}__out{i}") for i in range(2)]
    ctx.graph.add_node(Op.TOPK, [x], outs, TopKAttrs(axis, k, largest, sorted_), name=ctx.node_name(nc.name),
                       source_name=nc.name, source_op=nc.op_type)
    for i, o in enumerate(outs):
        if nc.output_used(i):
            ctx.tensors[o] = Tensor(value=o)
    _integer_values(nc).add(outs[1])


@converter("TopK", 1)
def _topk_v1(nc: NodeContext) -> None:
    _topk(nc, int(nc.attr("k")), True, True)


def _k_input(nc: NodeContext) -> int:
    k = np.asarray(nc.const(1, "K")).reshape(-1)
    if k.size != 1 or k.dtype.kind not in "iu":
        raise nc.malformed(f"K must be one integer, got {k}")
    return int(k[0])


@converter("TopK", 10)
def _topk_v10(nc: NodeContext) -> None:
    _topk(nc, _k_input(nc), True, True)


@converter("TopK", 11)
def _topk_v11(nc: NodeContext) -> None:
    _topk(nc, _k_input(nc), bool(nc.attr("largest", 1)), bool(nc.attr("sorted", 1)))


# ----------------------------------------------------------------------------- GatherElements


@converter("GatherElements", 11)
def _gather_elements(nc: NodeContext) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    axis = _axis(nc, int(nc.attr("axis", 0)), len(shape) + 1, "GatherElements")
    known = nc.known(1)
    if known is not None:
        raw = np.asarray(nc.const(1, "indices"))
        if raw.dtype.kind not in "iu":
            raise nc.malformed(f"indices have type {raw.dtype}, not integer")
        if raw.ndim != len(shape) + 1 or raw.shape[0] != 1:
            raise nc.unsupported(f"constant indices of shape {raw.shape} differ per event or do not fit the data "
                                 f"(batch + {shape}); they must be (1, ...) with the data's rank")
        d = shape[axis]
        if np.any(raw < -d) or np.any(raw >= d):
            raise nc.malformed(f"indices outside [-{d}, {d}) for axis {axis + 1}")
        idx = nc.constant("indices", raw[0].astype(np.float64))
    else:
        idx = nc.act(1)
    nc.emit(Op.GATHER_ELEMENTS, [_unrepeated(nc, x, axis), idx], AxisAttrs(axis), out=0)


def _unrepeated(nc: NodeContext, x: str, axis: int) -> str:
    """The data before the exporter's repeats of size-1 axes (``x.unsqueeze(1).repeat(...)``,
    ``expand``: a Gather of index 0 over and over, off the gather axis). GatherElements
    broadcasts size-1 data axes, so it reads the small tensor; the repeat copy becomes dead."""
    graph = nc.ctx.graph
    while True:
        producer = next((n for n in graph.nodes if x in n.outputs), None)
        if producer is None or producer.op is not Op.GATHER or producer.attrs.axis == axis:
            return x
        src = producer.inputs[0]
        if graph.values[src].is_constant or graph.values[src].shape[producer.attrs.axis] != 1 \
                or any(i != 0 for i in producer.attrs.indices):
            return x
        x = src


# ----------------------------------------------------------------------------- Cast


@converter("Cast", 6)
def _cast(nc: NodeContext) -> None:
    """Cast of an activation: float to float, or integers (TopK indices) to any numeric type,
    keeps the values; float to an integer type would truncate and is refused."""
    x = nc.act(0)
    to = int(nc.attr("to"))
    from onnx import TensorProto

    floats = {TensorProto.FLOAT, TensorProto.DOUBLE}
    ints = {TensorProto.INT64, TensorProto.INT32, TensorProto.INT16, TensorProto.INT8, TensorProto.UINT8,
            TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64}
    integer = x in _integer_values(nc)
    if to not in floats and not (integer and to in ints | floats):
        raise nc.unsupported(f"Cast of an activation to type {to}: only float casts and casts of integer indices "
                             "(TopK) are supported")
    y = nc.emit(Op.IDENTITY, [x], NoAttrs(), out=0)
    if integer and to in ints:
        _integer_values(nc).add(y)


# ----------------------------------------------------------------------------- ReduceProd


def _reduce_prod(nc: NodeContext, axes: tuple[int, ...] | None) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    rank = len(shape) + 1
    if axes is None:
        if nc.attr("noop_with_empty_axes", 0):
            nc.emit(Op.IDENTITY, [x], NoAttrs(), out=0)
            return
        raise nc.unsupported("ReduceProd over every axis would multiply across the batch; give the axes")
    if any(not -rank <= a < rank for a in axes):
        raise nc.malformed(f"axes {axes} are outside a rank-{rank} tensor")
    full = sorted({a % rank for a in axes})
    if 0 in full:
        raise nc.unsupported("ReduceProd over the batch axis is not supported")
    keepdims = bool(nc.attr("keepdims", 1))
    if not keepdims and len(full) == len(shape):
        raise nc.unsupported("ReduceProd to a scalar per event is not supported; export with keepdims=1")
    nc.emit(Op.REDUCE_PROD, [x], ReduceAttrs(tuple(a - 1 for a in full), keepdims), out=0)


@converter("ReduceProd", 1)
def _reduce_prod_v1(nc: NodeContext) -> None:
    _reduce_prod(nc, nc.ints("axes", None))


@converter("ReduceProd", 18)
def _reduce_prod_v18(nc: NodeContext) -> None:
    axes = tuple(int(a) for a in np.asarray(nc.const(1, "axes")).reshape(-1)) if nc.has_input(1) else ()
    _reduce_prod(nc, axes or None)
