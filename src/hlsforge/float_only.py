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

FLOAT_ONLY: dict[Op, str] = {
    **_MATH,
    Op.GRU: _RECURRENT,
    Op.LSTM: _RECURRENT,
    Op.SIMPLE_RNN: _RECURRENT,
}

__all__ = ["FLOAT_ONLY"]
