"""Ops that only the float engines (reference, CPU backend) run.

Every fixed-point consumer — precision configuration, emulator, HLS backend (both io types),
resource estimate — refuses them with the same reason, read from this one table, so the
message a user sees does not depend on which consumer met the op first.
"""

from __future__ import annotations

from .ir.ops import Op
from .reference_math import FIXED_POINT_UNSUPPORTED as _MATH

_RECURRENT = (
    "float engines only (reference, CPU backend): no fixed-point recurrent cell is defined yet "
    "(docs/numerics.md)"
)

_OPS3 = (
    "float engines only (reference, CPU backend): issue 12 added it for CPU inference; no fixed-point "
    "kernel is written yet (docs/ir.md, 'Missing operators')"
)

FLOAT_ONLY: dict[Op, str] = {
    **{op: _OPS3 for op in (Op.REDUCE_PROD, Op.TOPK, Op.GATHER_ELEMENTS, Op.CONV_TRANSPOSE1D, Op.CONV_TRANSPOSE2D,
                            Op.CONV_TRANSPOSE3D, Op.CONV3D, Op.MAXPOOL3D, Op.AVGPOOL3D)},
    **_MATH,
    Op.GRU: _RECURRENT,
    Op.LSTM: _RECURRENT,
    Op.SIMPLE_RNN: _RECURRENT,
}

__all__ = ["FLOAT_ONLY"]
