"""Converters for ops that move data without computing: Flatten, Reshape, Transpose, Concat,
Pad, Squeeze/Unsqueeze, Identity and Dropout.

Every axis in ONNX counts the batch; IR attributes index the shape *without* it, so axes are
normalized on the full rank and shifted by one. Anything that would move, split or merge the
batch axis is unsupported: the IR (and the hardware) processes one event at a time.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.ops import (
    AxisAttrs,
    NoAttrs,
    Op,
    PadAttrs,
    ReshapeAttrs,
    TransposeAttrs,
    resolve_reshape,
)
from . import batch_one
from .context import BATCH, NodeContext
from .registry import converter


def _axis(nc: NodeContext, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise nc.malformed(f"axis {axis} is outside a rank-{rank} tensor")
    return axis % rank


def _reshape_to(nc: NodeContext, x: str, shape: tuple[int, ...]) -> None:
    """Emit a Reshape to ``shape`` (batch excluded) as ONNX output 0, or an Identity."""
    if shape == nc.ctx.graph.values[x].shape:
        nc.emit(Op.IDENTITY, [x], NoAttrs(), out=0)
    else:
        nc.emit(Op.RESHAPE, [x], ReshapeAttrs(shape), out=0)


@converter("Identity", 1)
def _identity(nc: NodeContext) -> None:
    nc.emit(Op.IDENTITY, [nc.act(0)], NoAttrs(), out=0)


@converter("Dropout", 1)
def _dropout_v1(nc: NodeContext) -> None:
    """Opsets 1-11: ``is_test``/``ratio`` attributes; inference is the identity."""
    if nc.output_used(1):
        raise nc.unsupported("the mask output of Dropout is not supported")
    nc.emit(Op.DROPOUT, [nc.act(0)], NoAttrs(), out=0)


@converter("Dropout", 12)
def _dropout_v12(nc: NodeContext) -> None:
    """Opset 12+: ``ratio`` and ``training_mode`` are inputs; training mode is unsupported."""
    if nc.has_input(2):
        mode = nc.const(2, "training_mode")
        if np.any(mode):
            raise nc.unsupported("training_mode=True is not supported; export the model in eval mode")
    _dropout_v1(nc)


@converter("Flatten", 1)
def _flatten(nc: NodeContext) -> None:
    """``axis=1`` flattens each sample; other axes only when no real axis joins the batch."""
    rank = len(nc.full_shape(0))
    axis = int(nc.attr("axis", 1))
    if not -rank <= axis <= rank:  # Flatten allows axis == rank
        raise nc.malformed(f"axis {axis} is outside [-{rank}, {rank}]")
    if axis < 0:
        axis += rank
    if nc.is_whole(0) and batch_one.batch_is_one(nc):
        batch_one.flatten(nc, axis)
        return
    x = nc.act(0)
    shape = nc.shape(0)
    if axis == 0 or math.prod(shape[: axis - 1]) != 1:
        if batch_one.batch_is_one(nc):  # keras2onnx's Flatten(axis=0) with the batch baked in as 1
            batch_one.flatten(nc, axis)
            return
        raise nc.unsupported(f"Flatten with axis={axis} merges the batch axis with other axes; only axis=1 is supported")
    _reshape_to(nc, x, (math.prod(shape[axis - 1 :]),))


def _reshape_target(nc: NodeContext, shape: tuple[int, ...], target: np.ndarray, allowzero: bool) -> tuple[int, ...]:
    """The target shape without batch. The first entry must stand for the batch: the symbolic
    batch from a Shape chain, 0 ("copy"), the batch baked into the inputs, or -1 when the
    other entries account for every element of a sample. ``None`` is the symbolic batch."""
    t: list[int | None] = [None if v is BATCH else int(v) for v in target.reshape(-1)]
    shown = ["batch" if v is None else v for v in t]
    full_in: list[int | None] = [None, *shape]
    if not allowzero:
        for i, v in enumerate(t):
            if v == 0:
                if i >= len(full_in):
                    raise nc.malformed(f"Reshape target {shown} copies axis {i} of a rank-{len(full_in)} input")
                t[i] = full_in[i]
    if not t:
        raise nc.unsupported("Reshape to a scalar would drop the batch axis")
    first, rest = t[0], t[1:]
    if any(v is None for v in rest):
        raise nc.unsupported(f"Reshape target {shown} moves the batch size into another axis")
    rest_i = [v for v in rest if v is not None]
    per_sample = math.prod(shape)
    batch_like = first is None or (nc.ctx.fixed_batch is not None and first == nc.ctx.fixed_batch)
    if not batch_like and not (first == -1 and -1 not in rest_i and math.prod(rest_i) == per_sample):
        raise nc.unsupported(
            f"Reshape target {shown} changes the batch axis; only reshapes that keep the batch first "
            f"(e.g. [batch, -1] or [-1, {per_sample}]) are supported"
        )
    return resolve_reshape(shape, rest_i)


@converter("Reshape", 5)
def _reshape(nc: NodeContext) -> None:
    target = nc.known(1)
    if target is None:
        raise nc.unsupported("the target shape must be a constant or computable at import time")
    if nc.is_whole(0):
        batch_one.reshape(nc, nc.const(1, "shape"))
        return
    x = nc.act(0)
    allowzero = bool(nc.attr("allowzero", 0)) if nc.opset >= 14 else False
    _reshape_to(nc, x, _reshape_target(nc, nc.shape(0), np.asarray(target), allowzero))


def _axes(nc: NodeContext, attr_version: bool) -> tuple[int, ...] | None:
    """Squeeze/Unsqueeze axes: an attribute before opset 13, an optional input from 13."""
    if attr_version:
        return nc.ints("axes", None)
    if not nc.has_input(1):
        return None
    return tuple(int(a) for a in np.asarray(nc.const(1, "axes")).reshape(-1))


def _squeeze(nc: NodeContext, attr_version: bool) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    axes = _axes(nc, attr_version)
    if axes is None:
        drop = {i + 1 for i, d in enumerate(shape) if d == 1}
    else:
        drop = {_axis(nc, a, len(shape) + 1) for a in axes}
    if 0 in drop:
        raise nc.unsupported("squeezing the batch axis is not supported")
    if any(shape[a - 1] != 1 for a in drop):
        raise nc.malformed(f"cannot squeeze axes {sorted(drop)} of shape (batch, {shape}): they are not of size 1")
    _reshape_to(nc, x, tuple(d for i, d in enumerate(shape) if i + 1 not in drop))


def _unsqueeze(nc: NodeContext, attr_version: bool) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    axes = _axes(nc, attr_version)
    if not axes:
        raise nc.malformed("Unsqueeze needs axes")
    out_rank = len(shape) + 1 + len(axes)
    new = {_axis(nc, a, out_rank) for a in axes}
    if 0 in new:
        raise nc.unsupported("inserting an axis before the batch axis is not supported")
    dims = iter(shape)
    out = tuple(1 if i in new else next(dims) for i in range(1, out_rank))
    _reshape_to(nc, x, out)


@converter("Squeeze", 1)
def _squeeze_v1(nc: NodeContext) -> None:
    _squeeze(nc, attr_version=True)


@converter("Squeeze", 13)
def _squeeze_v13(nc: NodeContext) -> None:
    _squeeze(nc, attr_version=False)


@converter("Unsqueeze", 1)
def _unsqueeze_v1(nc: NodeContext) -> None:
    _unsqueeze(nc, attr_version=True)


@converter("Unsqueeze", 13)
def _unsqueeze_v13(nc: NodeContext) -> None:
    _unsqueeze(nc, attr_version=False)


@converter("Transpose", 1)
def _transpose(nc: NodeContext) -> None:
    rank = len(nc.full_shape(0))
    perm = nc.ints("perm", tuple(reversed(range(rank))))
    if perm is None or sorted(perm) != list(range(rank)):
        raise nc.malformed(f"perm {perm} is not a permutation of {rank} axes")
    if nc.is_whole(0) or (perm[0] != 0 and batch_one.batch_is_one(nc)):
        batch_one.transpose(nc, perm)  # keras2onnx's Transpose(1, 0) with the batch baked in as 1
        return
    x = nc.act(0)
    if perm[0] != 0:
        raise nc.unsupported(f"perm {perm} moves the batch axis; only permutations that keep axis 0 first are supported")
    inner = tuple(p - 1 for p in perm[1:])
    if inner == tuple(range(rank - 1)):
        nc.emit(Op.IDENTITY, [x], NoAttrs(), out=0)
    else:
        nc.emit(Op.TRANSPOSE, [x], TransposeAttrs(inner), out=0)


@converter("Concat", 4)
def _concat(nc: NodeContext) -> None:
    if any(nc.known(i) is not None for i in range(nc.n_inputs) if nc.has_input(i)):
        raise nc.unsupported("Concat of the model's tensors with constants is not supported")
    inputs = [nc.act(i) for i in range(nc.n_inputs) if nc.has_input(i)]
    if not inputs:
        raise nc.malformed("Concat has no inputs")
    rank = len(nc.shape(0)) + 1
    if any(len(nc.ctx.graph.values[v].shape) + 1 != rank for v in inputs):
        raise nc.malformed("Concat inputs have different ranks")
    axis = _axis(nc, int(nc.attr("axis")), rank)
    if axis == 0:
        raise nc.unsupported("Concat along the batch axis is not supported")
    if len(inputs) == 1:
        nc.emit(Op.IDENTITY, inputs, NoAttrs(), out=0)
    else:
        nc.emit(Op.CONCAT, inputs, AxisAttrs(axis - 1), out=0)


def _pad(nc: NodeContext, pads: tuple[int, ...], mode: str, value: float, axes: tuple[int, ...] | None) -> None:
    x = nc.act(0)
    rank = len(nc.shape(0)) + 1
    axes = tuple(range(rank)) if axes is None else tuple(_axis(nc, a, rank) for a in axes)
    if len(pads) != 2 * len(axes):
        raise nc.malformed(f"pads {pads} must list {2 * len(axes)} values (begins, then ends)")
    if mode != "constant":
        raise nc.unsupported(f"Pad mode {mode!r} is not supported (only constant zero padding)")
    if value != 0.0:
        raise nc.unsupported(f"Pad with value {value} is not supported (only zero padding)")
    full = [(0, 0)] * rank
    for j, a in enumerate(axes):
        full[a] = (int(pads[j]), int(pads[j + len(axes)]))
    if full[0] != (0, 0):
        raise nc.unsupported("padding the batch axis is not supported")
    if any(p < 0 for pair in full for p in pair):
        raise nc.unsupported(f"negative pads (cropping) {pads} are not supported")
    if all(pair == (0, 0) for pair in full):
        nc.emit(Op.IDENTITY, [x], NoAttrs(), out=0)
    else:
        nc.emit(Op.PAD, [x], PadAttrs(tuple(full[1:])), out=0)


@converter("Pad", 2)
def _pad_v2(nc: NodeContext) -> None:
    """Opsets 2-10: pads, mode and value are attributes."""
    _pad(nc, nc.ints("pads") or (), nc.attr("mode", "constant"), float(nc.attr("value", 0.0)), None)


@converter("Pad", 11)
def _pad_v11(nc: NodeContext) -> None:
    """Opset 11+: pads and constant_value are inputs (axes from opset 18)."""
    pads = tuple(int(p) for p in np.asarray(nc.const(1, "pads")).reshape(-1))
    value = float(np.asarray(nc.const(2, "constant_value")).reshape(-1)[0]) if nc.has_input(2) else 0.0
    axes = tuple(int(a) for a in np.asarray(nc.const(3, "axes")).reshape(-1)) if nc.has_input(3) else None
    _pad(nc, pads, nc.attr("mode", "constant"), value, axes)
