"""Converters for activations and elementwise arithmetic.

Binary ops follow ONNX (numpy) broadcasting on the full shapes, batch included. The IR keeps
the batch implicit, so a constant operand loses a leading size-1 batch axis, and two
activation operands must have the same rank (else their batch axes would not line up).
"""

from __future__ import annotations

import numpy as np

from ...ir.ops import (
    AlphaAttrs,
    ClipAttrs,
    HardSigmoidAttrs,
    NoAttrs,
    Op,
    ReshapeAttrs,
    SeluAttrs,
    SoftmaxAttrs,
    TransposeAttrs,
)
from .context import NodeContext
from .registry import converter

FLT_MAX = float(np.finfo(np.float32).max)
# ONNX's Selu defaults are float32 numbers; ORT uses exactly these values
SELU_ALPHA = 1.67326319217681884765625
SELU_GAMMA = 1.05070102214813232421875


def _simple(op_type: str, op: Op) -> None:
    """Register a converter for an activation without attributes."""

    @converter(op_type, 1)
    def convert(nc: NodeContext) -> None:
        nc.emit(op, [nc.act(0)], NoAttrs(), out=0)

    convert.__name__ = f"_{op_type.lower()}"


for _op_type, _op in (("Relu", Op.RELU), ("Sigmoid", Op.SIGMOID), ("Tanh", Op.TANH), ("Softplus", Op.SOFTPLUS)):
    _simple(_op_type, _op)


@converter("LeakyRelu", 1)
def _leaky_relu(nc: NodeContext) -> None:
    nc.emit(Op.LEAKY_RELU, [nc.act(0)], AlphaAttrs(float(nc.attr("alpha", 0.01))), out=0)


@converter("PRelu", 1)
def _prelu(nc: NodeContext) -> None:
    """PReLU with one slope for every element is a LeakyReLU; per-channel slopes are not."""
    slope = nc.const_floats(1, "slope")
    if slope.size == 0 or not np.all(slope == slope.flat[0]):
        raise nc.unsupported("PRelu with per-channel slopes is not supported (only a single shared slope)")
    nc.emit(Op.LEAKY_RELU, [nc.act(0)], AlphaAttrs(float(slope.flat[0])), out=0)


@converter("Elu", 1)
def _elu(nc: NodeContext) -> None:
    nc.emit(Op.ELU, [nc.act(0)], AlphaAttrs(float(nc.attr("alpha", 1.0))), out=0)


@converter("Selu", 1)
def _selu(nc: NodeContext) -> None:
    attrs = SeluAttrs(float(nc.attr("alpha", SELU_ALPHA)), float(nc.attr("gamma", SELU_GAMMA)))
    nc.emit(Op.SELU, [nc.act(0)], attrs, out=0)


@converter("HardSigmoid", 1)
def _hard_sigmoid(nc: NodeContext) -> None:
    attrs = HardSigmoidAttrs(float(nc.attr("alpha", 0.2)), float(nc.attr("beta", 0.5)))
    nc.emit(Op.HARD_SIGMOID, [nc.act(0)], attrs, out=0)


def _bound(v: float | None) -> float | None:
    """ONNX spells "no bound" as +-FLT_MAX (old opsets) or a missing input."""
    return None if v is None or abs(v) >= FLT_MAX else float(v)


@converter("Clip", 6)
def _clip_v6(nc: NodeContext) -> None:
    """Opset 6-10: bounds are attributes."""
    attrs = ClipAttrs(_bound(nc.attr("min", None)), _bound(nc.attr("max", None)))
    nc.emit(Op.CLIP, [nc.act(0)], attrs, out=0)


@converter("Clip", 11)
def _clip_v11(nc: NodeContext) -> None:
    """Opset 11+: bounds are optional scalar inputs that must be constants."""
    bounds: list[float | None] = []
    for i, what in ((1, "min"), (2, "max")):
        if not nc.has_input(i):
            bounds.append(None)
            continue
        v = nc.const_floats(i, what)
        if v.size != 1:
            raise nc.malformed(f"{what} must be a scalar, got shape {v.shape}")
        bounds.append(_bound(float(v.reshape(()))))
    nc.emit(Op.CLIP, [nc.act(0)], ClipAttrs(*bounds), out=0)


# ----------------------------------------------------------------------------- softmax


def _softmax_on_axis(nc: NodeContext, x: str, axis: int) -> None:
    """Softmax over non-batch ``axis`` of ``x``: the IR op works on the last axis, so other
    axes are moved there and back with Transposes."""
    r = len(nc.ctx.graph.values[x].shape)
    if axis == r - 1:
        nc.emit(Op.SOFTMAX, [x], SoftmaxAttrs(axis), out=0)
        return
    perm = tuple(i for i in range(r) if i != axis) + (axis,)
    back = tuple(int(i) for i in np.argsort(perm))
    t = nc.emit(Op.TRANSPOSE, [x], TransposeAttrs(perm), tag="axis_last")
    y = nc.emit(Op.SOFTMAX, [t], SoftmaxAttrs(r - 1))
    nc.emit(Op.TRANSPOSE, [y], TransposeAttrs(back), out=0)


def _full_axis(nc: NodeContext, axis: int, rank: int) -> int:
    """Normalize an ONNX axis of a rank-``rank`` tensor (batch included)."""
    if not -rank <= axis < rank:
        raise nc.malformed(f"axis {axis} is outside a rank-{rank} tensor")
    return axis % rank


@converter("Softmax", 1)
def _softmax_v1(nc: NodeContext) -> None:
    """Opsets 1-12: the input is coerced to 2-D at ``axis`` and softmax runs over the flattened
    trailing block. Equal to a last-axis softmax when the block is one axis; otherwise the
    block is flattened with a Reshape, normalized and reshaped back."""
    x = nc.act(0)
    shape = nc.shape(0)
    axis = _full_axis(nc, int(nc.attr("axis", 1)), len(shape) + 1)
    if axis == 0:
        raise nc.unsupported("softmax with axis=0 normalizes across the batch")
    block = shape[axis - 1:]
    if sum(d != 1 for d in block[:-1]) == 0:
        nc.emit(Op.SOFTMAX, [x], SoftmaxAttrs(len(shape) - 1), out=0)
        return
    flat = nc.emit(Op.RESHAPE, [x], ReshapeAttrs(shape[: axis - 1] + (int(np.prod(block)),)), tag="coerce_2d")
    y = nc.emit(Op.SOFTMAX, [flat], SoftmaxAttrs(axis - 1))
    nc.emit(Op.RESHAPE, [y], ReshapeAttrs(shape), out=0)


@converter("Softmax", 13)
def _softmax_v13(nc: NodeContext) -> None:
    """Opset 13+: softmax over the single axis ``axis`` (default -1)."""
    x = nc.act(0)
    shape = nc.shape(0)
    axis = _full_axis(nc, int(nc.attr("axis", -1)), len(shape) + 1)
    if axis == 0:
        raise nc.unsupported("softmax with axis=0 normalizes across the batch")
    _softmax_on_axis(nc, x, axis - 1)


# ----------------------------------------------------------------------------- arithmetic


def _operand_constant(nc: NodeContext, i: int, act_rank: int) -> np.ndarray:
    """A constant operand shaped for the IR: float32, a leading size-1 batch axis removed."""
    c = nc.const_floats(i, "operand")
    if c.ndim == act_rank + 1:
        if c.shape[0] != 1:
            raise nc.unsupported(
                f"constant operand of shape {c.shape} has {c.shape[0]} rows along the batch axis; "
                "only constants shared by every batch row are supported"
            )
        c = c[0]
    elif c.ndim > act_rank + 1:
        raise nc.unsupported(f"constant operand of shape {c.shape} has more axes than the model input (rank {act_rank + 1})")
    return c


def _binary(nc: NodeContext, op: Op) -> None:
    if nc.n_inputs != 2:
        raise nc.malformed(f"{nc.op_type} takes 2 inputs, got {nc.n_inputs}")
    known = [nc.known(0), nc.known(1)]
    if known[0] is None and known[1] is None:
        a, b = nc.act(0), nc.act(1)
        ra, rb = len(nc.shape(0)), len(nc.shape(1))
        if ra != rb:
            raise nc.unsupported(
                f"operands of rank {ra + 1} and {rb + 1}: both carry a batch axis, so they must have the same rank"
            )
        nc.emit(op, [a, b], NoAttrs(), out=0)
        return
    act_pos = 0 if known[0] is None else 1
    rank = len(nc.shape(act_pos))
    c = _operand_constant(nc, 1 - act_pos, rank)
    inputs = [nc.act(act_pos), nc.constant("operand", c, nc.known_type(1 - act_pos))]
    nc.emit(op, inputs if act_pos == 0 else inputs[::-1], NoAttrs(), out=0)


@converter("Add", 7)
def _add(nc: NodeContext) -> None:
    _binary(nc, Op.ADD)


@converter("Sub", 7)
def _sub(nc: NodeContext) -> None:
    _binary(nc, Op.SUB)


@converter("Mul", 7)
def _mul(nc: NodeContext) -> None:
    _binary(nc, Op.MUL)


@converter("Div", 7)
def _div(nc: NodeContext) -> None:
    """Division by a constant is a multiplication by its reciprocal; anything else is not
    supported (the IR has no divide: FPGA designs avoid dividers)."""
    if nc.known(1) is None:
        from .convert_math import divide

        divide(nc)  # a divisor computed from the model input: the Div op (issue 12)
        return
    if nc.known(0) is not None:
        raise nc.unsupported("only division of the model's tensors by a constant is supported")
    rank = len(nc.shape(0))
    c = _operand_constant(nc, 1, rank)
    with np.errstate(divide="ignore"):
        recip = 1.0 / c
    nc.emit(Op.MUL, [nc.act(0), nc.constant("reciprocal", recip)], NoAttrs(), out=0)


@converter("Sum", 8)
def _sum(nc: NodeContext) -> None:
    """Variadic sum as a chain of Adds (all operands activations of equal rank)."""
    inputs = [nc.act(i) for i in range(nc.n_inputs)]
    ranks = {len(nc.ctx.graph.values[v].shape) for v in inputs}
    if len(ranks) != 1:
        raise nc.unsupported("Sum of operands with different ranks is not supported")
    if len(inputs) == 1:
        nc.emit(Op.IDENTITY, inputs, NoAttrs(), out=0)
        return
    acc = inputs[0]
    for i, v in enumerate(inputs[1:], 1):
        last = i == len(inputs) - 1
        acc = nc.emit(Op.ADD, [acc, v], NoAttrs(), out=0 if last else None, tag="" if last else f"partial{i}")
