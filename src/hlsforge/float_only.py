"""Ops that only the float engines (reference, CPU backend) run.

Every fixed-point consumer — precision configuration, emulator, HLS backend (both io types),
resource estimate — refuses them with the same reason, read from this one table, so the
message a user sees does not depend on which consumer met the op first.

The recurrent cells (GRU, LSTM, SimpleRNN) and LayerNormalization left this table when their
fixed-point semantics were defined (docs/numerics.md §12): each fixed-point consumer has a rule
module for them (``quantize/_config_recurrent.py``, ``quantize/_emulate_recurrent.py``,
``hls_backend/recurrent.py``, ``resources/rules/recurrent.py``).
"""

from __future__ import annotations

from .ir.ops import Op
from .reference_math import FIXED_POINT_UNSUPPORTED as _MATH

FIXED_POINT_OPS = (Op.LAYERNORM,)
"""Ops of the math family that have a fixed-point rule (not float-only)."""

_OPS3 = (
    "float engines only (reference, CPU backend): issue 12 added it for CPU inference; no fixed-point "
    "kernel is written yet (docs/ir.md, 'Missing operators')"
)

FLOAT_ONLY: dict[Op, str] = {
    **{op: _OPS3 for op in (Op.REDUCE_PROD, Op.TOPK, Op.GATHER_ELEMENTS, Op.CONV_TRANSPOSE1D, Op.CONV_TRANSPOSE2D,
                            Op.CONV_TRANSPOSE3D, Op.CONV3D, Op.MAXPOOL3D, Op.AVGPOOL3D)},
    **{op: why for op, why in _MATH.items() if op not in FIXED_POINT_OPS},
}

__all__ = ["FLOAT_ONLY"]
