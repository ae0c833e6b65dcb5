"""Batch-1 exports that move the batch axis: keras2onnx's ``Flatten(axis=0)`` and
``Transpose(1, 0)`` around ``BatchNormalization``.

The IR holds one event per batch entry, so an ONNX op that moves or merges the batch axis is
refused in general. When the model bakes the batch in as 1 (static first input axis = 1),
such an op only rearranges one event: a size-1 axis moved around does not change the order
of the elements. Its output is then either batch-first again (axis 0 has size 1) — an
ordinary activation — or an activation whose IR shape is the *whole* ONNX shape
(:attr:`Tensor.whole`), the batch of 1 being one of its inner axes. Transpose, Flatten,
Reshape and BatchNormalization read such values (each of them is defined on the whole ONNX
shape); anything else reading one is refused with a message that says so.

Every rearrangement is emitted as Reshape (drop the size-1 axes), Transpose (of the other
axes, in their relative order) and Reshape (to the new shape), which is exact.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.ops import NoAttrs, Op, ReshapeAttrs, TransposeAttrs
from .context import NodeContext, Tensor


def batch_is_one(nc: NodeContext) -> bool:
    return nc.ctx.fixed_batch == 1


def _rearrange(nc: NodeContext, x: str, full_in: tuple[int, ...], perm: tuple[int, ...], full_out: tuple[int, ...]) -> None:
    """Bind ONNX output 0 to ``transpose(x_full, perm).reshape(full_out)``; ``x``'s IR shape
    is ``full_in`` without its leading 1 (batch-first) or ``full_in`` itself (whole)."""
    kept = [a for a in perm if full_in[a] != 1]
    squeezed = tuple(full_in[a] for a in sorted(kept))
    order = tuple(sorted(kept).index(a) for a in kept)
    whole = full_out[0] != 1
    target = tuple(full_out) if whole else tuple(full_out[1:])
    cur = x
    if len(squeezed) >= 2 and order != tuple(range(len(squeezed))):
        if nc.ctx.graph.values[cur].shape != squeezed:
            cur = nc.emit(Op.RESHAPE, [cur], ReshapeAttrs(squeezed), tag="squeeze_batch")
        cur = nc.emit(Op.TRANSPOSE, [cur], TransposeAttrs(order), tag="move_batch")
    if nc.ctx.graph.values[cur].shape != target:
        cur = nc.emit(Op.RESHAPE, [cur], ReshapeAttrs(target), out=0)
    else:
        cur = nc.emit(Op.IDENTITY, [cur], NoAttrs(), out=0)
    nc.ctx.tensors[nc.node.output[0]] = Tensor(value=cur, whole=whole)


def transpose(nc: NodeContext, perm: tuple[int, ...]) -> None:
    """A Transpose that moves the batch axis, or reads a whole-shape value, in a batch-1 model."""
    full_in = nc.full_shape(0)
    if len(perm) != len(full_in) or sorted(perm) != list(range(len(full_in))):
        raise nc.malformed(f"perm {perm} is not a permutation of {len(full_in)} axes")
    full_out = tuple(full_in[a] for a in perm)
    _rearrange(nc, nc.act(0, allow_whole=True), full_in, tuple(perm), full_out)


def flatten(nc: NodeContext, axis: int) -> None:
    """``Flatten`` to ``(prod(full[:axis]), prod(full[axis:]))`` in a batch-1 model."""
    full_in = nc.full_shape(0)
    full_out = (math.prod(full_in[:axis]), math.prod(full_in[axis:]))
    _rearrange(nc, nc.act(0, allow_whole=True), full_in, tuple(range(len(full_in))), full_out)


def reshape(nc: NodeContext, target: np.ndarray) -> None:
    """``Reshape`` of a whole-shape value to an explicit shape (no batch symbol: the batch is 1)."""
    full_in = nc.full_shape(0)
    t = [int(v) for v in np.asarray(target).reshape(-1)]
    t = [full_in[i] if v == 0 and i < len(full_in) else v for i, v in enumerate(t)]
    if t.count(-1) > 1:
        raise nc.malformed(f"Reshape target {t} has more than one -1")
    if -1 in t:
        rest = math.prod(v for v in t if v != -1)
        if rest == 0 or math.prod(full_in) % rest:
            raise nc.malformed(f"Reshape target {t} does not fit {math.prod(full_in)} elements")
        t[t.index(-1)] = math.prod(full_in) // rest
    if math.prod(t) != math.prod(full_in) or any(v < 1 for v in t):
        raise nc.malformed(f"Reshape target {t} does not fit the input shape {full_in}")
    _rearrange(nc, nc.act(0, allow_whole=True), full_in, tuple(range(len(full_in))), tuple(t))


def batchnorm(nc: NodeContext, scale: str, bias: str) -> None:
    """BatchNormalization of a whole-shape value ``(N', C, *spatial)``: channel axis 1."""
    x = nc.act(0, allow_whole=True)
    full = nc.ctx.graph.values[x].shape
    r = len(full)
    if r == 2:
        y = nc.emit(Op.BATCHNORM, [x, scale, bias], NoAttrs(), out=0)
    else:
        to_last = tuple(a for a in range(r) if a != 1) + (1,)
        t = nc.emit(Op.TRANSPOSE, [x], TransposeAttrs(to_last), tag="to_channels_last")
        b = nc.emit(Op.BATCHNORM, [t, scale, bias], NoAttrs())
        back = tuple(int(i) for i in np.argsort(to_last))
        y = nc.emit(Op.TRANSPOSE, [b], TransposeAttrs(back), out=0, tag="to_channels_first")
    nc.ctx.tensors[nc.node.output[0]] = Tensor(value=y, whole=True)
