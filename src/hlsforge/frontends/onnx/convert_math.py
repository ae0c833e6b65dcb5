"""Converters for elementwise math, GELU/Swish/HardSwish, LayerNormalization (issue 12).

MatMul of two activations and Div by an activation live with their constant-operand cousins
(``convert_nn._matmul``, ``convert_elementwise._div``), which hand over to the IR ops here.
"""

from __future__ import annotations

import numpy as np

from ...ir.ops import GeluAttrs, LayerNormAttrs, NoAttrs, Op, PowAttrs, SwishAttrs
from .context import NodeContext
from .registry import converter


def _unary(op_type: str, op: Op, since: int) -> None:
    @converter(op_type, since)
    def convert(nc: NodeContext) -> None:
        nc.emit(op, [nc.act(0)], NoAttrs(), out=0)

    convert.__name__ = f"_{op_type.lower()}"


for _op_type, _op, _since in (
    ("Exp", Op.EXP, 6), ("Log", Op.LOG, 6), ("Sqrt", Op.SQRT, 6), ("Neg", Op.NEG, 6),
    ("Reciprocal", Op.RECIPROCAL, 6), ("Abs", Op.ABS, 6), ("Erf", Op.ERF, 9), ("HardSwish", Op.HARD_SWISH, 14),
):
    _unary(_op_type, _op, _since)


@converter("Pow", 7)
def _pow(nc: NodeContext) -> None:
    """``x ** c`` with ``c`` one constant number (a scalar or a tensor of one repeated value)."""
    y = nc.const_floats(1, "exponent")
    if y.size == 0 or not np.all(y == y.flat[0]):
        raise nc.unsupported(f"only a constant scalar exponent is supported, got shape {y.shape}")
    x_rank = len(nc.shape(0)) + 1
    if y.ndim > x_rank:
        raise nc.unsupported(f"exponent of shape {y.shape} would broadcast the rank-{x_rank} base to a higher rank")
    nc.emit(Op.POW, [nc.act(0)], PowAttrs(float(y.flat[0])), out=0)


@converter("Gelu", 20)
def _gelu(nc: NodeContext) -> None:
    approximate = str(nc.attr("approximate", "none"))
    if approximate not in ("none", "tanh"):
        raise nc.malformed(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    nc.emit(Op.GELU, [nc.act(0)], GeluAttrs(approximate), out=0)


@converter("Swish", 24)
def _swish(nc: NodeContext) -> None:
    nc.emit(Op.SWISH, [nc.act(0)], SwishAttrs(float(nc.attr("alpha", 1.0))), out=0)


@converter("LayerNormalization", 17)
def _layer_norm(nc: NodeContext) -> None:
    """Normalization over the last axis only (``axis`` = -1 or rank - 1); the optional Mean and
    InvStdDev outputs (training only) are not supported."""
    x = nc.act(0)
    shape = nc.shape(0)
    rank = len(shape) + 1
    axis = int(nc.attr("axis", -1))
    if not -rank <= axis < rank:
        raise nc.malformed(f"axis {axis} is outside a rank-{rank} tensor")
    if axis % rank != rank - 1:
        raise nc.unsupported(f"normalization over axes {axis % rank}..{rank - 1}: only the last axis is supported")
    if nc.output_used(1) or nc.output_used(2):
        raise nc.unsupported("the Mean / InvStdDev outputs are not supported (inference exports do not use them)")
    c = shape[-1]
    scale = nc.const_floats(1, "Scale").astype(np.float32)
    bias = nc.const_floats(2, "B").astype(np.float32) if nc.has_input(2) else np.zeros((c,), np.float32)
    try:
        scale = np.broadcast_to(scale, (c,)).copy()
        bias = np.broadcast_to(bias, (c,)).copy()
    except ValueError:
        raise nc.unsupported(f"Scale {scale.shape} / B {bias.shape} do not broadcast to ({c},)") from None
    eps = float(np.float32(nc.attr("epsilon", 1e-5)))
    nc.emit(Op.LAYERNORM, [x, nc.constant("scale", scale), nc.constant("bias", bias)], LayerNormAttrs(eps), out=0)


def batch_matmul(nc: NodeContext) -> None:
    """``A @ B`` with both operands activations: each carries the batch axis, so their ranks
    must match, and the IR op multiplies over the last two axes per leading index."""
    sa, sb = nc.shape(0), nc.shape(1)
    if len(sa) != len(sb) or len(sa) < 2:
        raise nc.unsupported(
            f"MatMul of two model tensors of shapes batch + {sa} and batch + {sb}: both need the same rank >= 3"
        )
    if sa[:-2] != sb[:-2] or sa[-1] != sb[-2]:
        raise nc.unsupported(f"MatMul of batch + {sa} and batch + {sb}: leading axes must be equal, K must match")
    nc.emit(Op.BATCH_MATMUL, [nc.act(0), nc.act(1)], NoAttrs(), out=0)


def divide(nc: NodeContext) -> None:
    """``A / B`` with B computed from the model input (A a tensor or a constant)."""
    from .convert_elementwise import _binary

    _binary(nc, Op.DIV)
