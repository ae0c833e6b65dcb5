"""ReduceSum / ReduceMean / ReduceMax / ReduceMin over any non-batch axes.

Built from ops every consumer already has, so nothing new reaches the backends:

- the reduced axes are moved together (one Transpose) and flattened (Reshape);
- Mean and Max are a global average / max pool over ``(R, K)`` (pooling reduces every axis
  but the last), Min is ``-max(-x)`` (negation is exact), Sum is a Dense with a kernel of
  ones over ``(K, R)`` (each output is the sum of its R inputs);
- a Reshape gives ONNX's output shape (``keepdims`` keeps the reduced axes as size 1).

ReduceProd has no such composition: it is its own IR op (``convert_select``). Any reduction over the batch axis
or down to a scalar per event is refused. The spatial-mean fast paths of ``ReduceMean`` stay in
``convert_nn`` (a global average pool without transposes); other axes come here.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.ops import GlobalPoolAttrs, NoAttrs, Op, ReshapeAttrs, TransposeAttrs
from .context import NodeContext
from .registry import converter


def reduce_generic(nc: NodeContext, mode: str, axes: tuple[int, ...] | None, keepdims: bool) -> None:
    """Emit ``mode`` ('sum', 'mean', 'max', 'min') over the ONNX ``axes`` as ONNX output 0."""
    x = nc.act(0)
    shape = nc.shape(0)
    rank = len(shape) + 1
    if axes is None:
        raise nc.unsupported(f"Reduce{mode.title()} over every axis would reduce across the batch; give the axes")
    if any(not -rank <= a < rank for a in axes):
        raise nc.malformed(f"axes {axes} are outside a rank-{rank} tensor")
    full = sorted({a % rank for a in axes})
    if 0 in full:
        raise nc.unsupported(f"Reduce{mode.title()} over the batch axis is not supported")
    red = [a - 1 for a in full]
    kept = [a for a in range(len(shape)) if a not in red]
    out_shape = tuple(1 if a in red else d for a, d in enumerate(shape)) if keepdims else tuple(shape[a] for a in kept)
    if not out_shape:
        raise nc.unsupported(f"Reduce{mode.title()} to a scalar per event is not supported; export with keepdims=1")
    r, k = math.prod(shape[a] for a in red), math.prod(shape[a] for a in kept)
    order = (kept + red) if mode == "sum" else (red + kept)
    cur = x
    if order != list(range(len(shape))):
        cur = nc.emit(Op.TRANSPOSE, [cur], TransposeAttrs(tuple(order)), tag="reduce_axes")
    if mode == "sum":
        cur = nc.emit(Op.RESHAPE, [cur], ReshapeAttrs((k, r) if k > 1 else (r,)), tag="reduce_rows")
        ones, zero = nc.constant("ones", np.ones((r, 1))), nc.constant("zero", np.zeros(1))
        cur = nc.emit(Op.DENSE, [cur, ones, zero], NoAttrs(), tag="sum")
    else:
        cur = nc.emit(Op.RESHAPE, [cur], ReshapeAttrs((r, k)), tag="reduce_rows")
        if mode == "min":
            cur = nc.emit(Op.MUL, [cur, nc.constant("minus_one", np.array([-1.0]))], NoAttrs(), tag="negate")
        pool = Op.GLOBAL_AVGPOOL if mode == "mean" else Op.GLOBAL_MAXPOOL
        cur = nc.emit(pool, [cur], GlobalPoolAttrs(keepdims=False), tag=mode)
        if mode == "min":
            cur = nc.emit(Op.MUL, [cur, nc.constant("minus_one_back", np.array([-1.0]))], NoAttrs(), tag="negate_back")
    if nc.ctx.graph.values[cur].shape == out_shape:
        nc.emit(Op.IDENTITY, [cur], NoAttrs(), out=0)
    else:
        nc.emit(Op.RESHAPE, [cur], ReshapeAttrs(out_shape), out=0)


def _attr_axes(nc: NodeContext) -> tuple[int, ...] | None:
    return nc.ints("axes", None)


def _input_axes(nc: NodeContext) -> tuple[int, ...] | None:
    """Axes as an optional input; empty with ``noop_with_empty_axes`` is the identity."""
    axes = tuple(int(a) for a in np.asarray(nc.const(1, "axes")).reshape(-1)) if nc.has_input(1) else ()
    return axes or None


def _convert(nc: NodeContext, mode: str, axes: tuple[int, ...] | None) -> None:
    if axes is None and nc.attr("noop_with_empty_axes", 0):
        nc.emit(Op.IDENTITY, [nc.act(0)], NoAttrs(), out=0)
        return
    reduce_generic(nc, mode, axes, bool(nc.attr("keepdims", 1)))


@converter("ReduceSum", 1)
def _sum_v1(nc: NodeContext) -> None:
    _convert(nc, "sum", _attr_axes(nc))


@converter("ReduceSum", 13)
def _sum_v13(nc: NodeContext) -> None:
    _convert(nc, "sum", _input_axes(nc))


@converter("ReduceMax", 1)
def _max_v1(nc: NodeContext) -> None:
    _convert(nc, "max", _attr_axes(nc))


@converter("ReduceMax", 18)
def _max_v18(nc: NodeContext) -> None:
    _convert(nc, "max", _input_axes(nc))


@converter("ReduceMin", 1)
def _min_v1(nc: NodeContext) -> None:
    _convert(nc, "min", _attr_axes(nc))


@converter("ReduceMin", 18)
def _min_v18(nc: NodeContext) -> None:
    _convert(nc, "min", _input_axes(nc))

