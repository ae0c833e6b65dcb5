"""One cost rule per final op: how many primitives (``arith.py``) each HLS kernel instantiates.

Every rule receives the node with its resolved types (``quantize.configure`` set them) and
the constants' exact raw integers, so it counts the design the HLS backend emits:
- Dense/Conv (``dense.h``/``conv.h``): the whole layer is under ``PIPELINE II=ReuseFactor``
  with ``ALLOCATION mul limit = n_in*n_out/RF``; loops are unrolled, so every weight is a
  compile-time constant: a zero weight is skipped (``if (w == 0) continue``), a power of two
  is a shift, the rest are multiplications. With RF = 1 each is its own constant multiplier
  (DSP or shift-and-add in fabric); with RF > 1 the limit makes ``ceil(products/RF)`` shared
  multipliers with multiplexed operands. A conv (and a Dense over several rows) repeats the
  per-position work under the same multiplier limit, so its II is ``positions * RF``.
  The Resource strategy follows hls4ml's (which produced the calibration data): weights in a
  ROM of depth RF (block RAM when large), ``n_in*n_out/RF`` multipliers, zeros not skipped.
- Elementwise kernels, pooling, softmax, merges: ``PIPELINE`` (II = 1), fully parallel.
- Shape ops (Flatten, Reshape, Transpose, Pad, Concat) are wiring; a cast that rounds or
  saturates costs its LUTs.
"""

from __future__ import annotations

from ...ir.ops import Op
from .context import Rule, RuleContext
from .elementwise import cast_only, clip, hard_sigmoid, leaky_relu, relu
from .merge import add_sub, concat, mul
from .multiply import batchnorm, conv, dense
from .pooling import avgpool, maxpool
from .tables import elu, plain_table, selu, softmax
from .trees import tree_ensemble

__all__ = ["RULES", "UNSUPPORTED", "RuleContext"]

RULES: dict[Op, Rule] = {
    Op.DENSE: dense,
    Op.CONV1D: conv,
    Op.CONV2D: conv,
    Op.MAXPOOL1D: maxpool,
    Op.MAXPOOL2D: maxpool,
    Op.AVGPOOL1D: avgpool,
    Op.AVGPOOL2D: avgpool,
    Op.GLOBAL_MAXPOOL: maxpool,
    Op.GLOBAL_AVGPOOL: avgpool,
    Op.BATCHNORM: batchnorm,
    Op.RELU: relu,
    Op.LEAKY_RELU: leaky_relu,
    Op.CLIP: clip,
    Op.SIGMOID: plain_table,
    Op.HARD_SIGMOID: hard_sigmoid,
    Op.TANH: plain_table,
    Op.SOFTMAX: softmax,
    Op.ELU: elu,
    Op.SELU: selu,
    Op.SOFTPLUS: plain_table,
    Op.ADD: add_sub,
    Op.SUB: add_sub,
    Op.MUL: mul,
    Op.CONCAT: concat,
    Op.FLATTEN: cast_only,
    Op.RESHAPE: cast_only,
    Op.TRANSPOSE: cast_only,
    Op.PAD: cast_only,
    Op.QUANTIZE: cast_only,
    Op.SLICE: cast_only,  # index ops (issue 12): wiring plus the output cast
    Op.GATHER: cast_only,
    Op.TREE_ENSEMBLE: tree_ensemble,  # rules/trees.py
}
"""One cost rule per final op (the op-coverage test checks every op has one)."""

UNSUPPORTED: dict[Op, str] = {}

from ...float_only import FLOAT_ONLY  # noqa: E402 - float-only op families (issue 12)

UNSUPPORTED.update(FLOAT_ONLY)

from .recurrent import RULES as _RECURRENT_RULES  # noqa: E402 - recurrent cells, LayerNorm (issue 12)

RULES.update(_RECURRENT_RULES)
"""Ops without a cost rule, with the reason (none today: every op the HLS backend lowers is
costed)."""
