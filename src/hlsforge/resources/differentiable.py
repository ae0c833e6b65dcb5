"""The cost model as smooth functions of bit widths, for training with a resource cost.

Why a second form: the discrete estimate (``hlsforge.estimate``) counts what synthesis builds
from the exact quantized weights; a training loss needs the same costs as a differentiable
function of (per-weight or per-tensor) bit widths. Every function takes an array module
``xp`` first — ``numpy`` or ``keras.ops`` (this module never imports Keras) — and only uses
operations both provide (``exp``, ``maximum``, ``minimum``, ``sum``, ``reshape``, arithmetic).

How it matches the discrete model (``arith.py``), term by term, for a Dense layer:
- a weight of ``bits_w <= 0`` is pruned: it costs nothing (a smooth gate ``nonzero``);
- a product needs a multiplier only when its constant has three or more nonzero canonical
  signed digits (one digit is a shift, two are one adder): the expected fraction of such
  ``b``-bit constants is a logistic in ``b`` (``MUL_DIGITS_*``);
- such a product goes to DSPs when ``bits_in + bits_w > fabric_product_bits`` and both
  operands exceed ``fabric_operand_bits`` (a product of two soft steps; ``model.mult_impl``
  forces either side); it then costs ``dsps_per_multiply`` (1, or more once an operand is
  wider than the DSP port — continued linearly); with a reuse factor the multiplier limit
  ``n_in * n_out / RF`` caps the total;
- every other nonzero product is shift-and-add in fabric: a ``b``-bit constant has on
  average ``b/3 + 1/9`` nonzero digits (the NAF density), each beyond the first an adder as
  wide as the input plus half the weight;
- the adder tree adds ``bits_in + bits_w + 2`` LUTs per nonzero product (one carry-chain adder
  per term);
- ``ebops`` is HGQ's effective bit operations, ``sum(bits_in * bits_w)`` over the products.

With ``reuse_factor > 1`` the DSP count saturates at the multiplier limit: beyond it, wider
weights cost the hardware nothing more (they cost II), so the LUT+DSP gradient can turn
negative there — train with RF 1 costs, or add a latency term.

Steps are logistic with temperature ``tau`` (bits). The discrete estimate counts the actual
constants; this form uses the expected counts for random constants of the given widths, so
the two agree on average (a test checks DSPs and LUTs against ``hlsforge.estimate`` on random
weights).
"""

from __future__ import annotations

from typing import Any

from .arith import DEFAULT_MODEL, CostModel
from .parts import DSP48E2, DspFamily

__all__ = ["soft_step", "dense_cost", "conv_cost", "METRICS", "CSD_DENSITY"]

METRICS = ("lut", "dsp", "ebops", "lut_dsp")
"""``lut_dsp`` is HGQ's single-number proxy ``LUT + 55 * DSP``."""

CSD_DENSITY = 1.0 / 3.0
"""Average fraction of nonzero digits in the canonical signed-digit form of a random integer
(the non-adjacent form has density 1/3 asymptotically)."""

MUL_DIGITS_MIDPOINT = 7.0
MUL_DIGITS_SCALE = 1.3
"""Logistic fit of the fraction of b-bit constants with >= 3 nonzero CSD digits (exact: 0.13
at 5 bits, 0.50 at 7, 0.86 at 10, 0.95 at 12)."""

DSP_LUT_EQUIVALENT = 55.0
"""LUTs one DSP is worth in the ``lut_dsp`` proxy (HGQ's convention)."""


def soft_step(xp: Any, x: Any, tau: float = 0.5) -> Any:
    """Logistic step ``1 / (1 + exp(-x / tau))``: 0 well below 0, 1 well above."""
    return 1.0 / (1.0 + xp.exp(-x / tau))


def _soft_ceil_ratio(xp: Any, x: Any, port: float) -> Any:
    """Continuous ``max(1, ceil((x - 1) / (port - 1)))``: how many port-wide tiles ``x`` needs
    (1 up to the port width, then growing linearly, so the gradient pushes below the port)."""
    return 1.0 + xp.maximum(x - port, 0.0) / (port - 1.0)


def _as_column(xp: Any, bits_in: Any) -> Any:
    shape = getattr(bits_in, "shape", ())
    if len(shape) == 1:
        return xp.reshape(bits_in, (-1, 1))
    return bits_in


def dense_cost(
    xp: Any,
    bits_in: Any,
    bits_w: Any,
    n_in: int,
    n_out: int,
    metric: str = "lut",
    *,
    reuse_factor: int = 1,
    positions: int = 1,
    family: DspFamily = DSP48E2,
    model: CostModel = DEFAULT_MODEL,
    tau: float = 0.5,
) -> Any:
    """Cost of a Dense layer (``n_in x n_out`` products) as a smooth function of bit widths.

    ``bits_in``: scalar or ``(n_in,)`` input widths; ``bits_w``: scalar or ``(n_in, n_out)``
    weight widths (``<= 0`` means pruned). ``metric``: ``lut``, ``dsp``, ``ebops`` or
    ``lut_dsp``. ``reuse_factor`` shares multipliers (DSP and fabric multiplier terms divide by
    it); ``positions`` repeats the layer (a conv's output pixels) for ``ebops`` only, since the
    hardware is shared across positions. Returns a scalar of ``xp``'s kind.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    bx = _as_column(xp, bits_in) * 1.0
    bw = bits_w * 1.0
    count = 1.0 if len(getattr(bw, "shape", ())) == 2 else float(n_in * n_out)
    if len(getattr(bw, "shape", ())) != 2 and len(getattr(bx, "shape", ())) == 2:
        count = float(n_out)  # per-input widths broadcast over the outputs
    nonzero = soft_step(xp, bw - 0.5, tau)
    if metric == "ebops":
        return xp.sum(bx * xp.maximum(bw, 0.0) * nonzero) * count * positions
    # a product needs a multiplier when its constant has >= 3 nonzero CSD digits (fewer are
    # a shift or one adder): the fraction of such b-bit constants is ~ logistic(b - 7, 1.3)
    p_mul = soft_step(xp, bw - MUL_DIGITS_MIDPOINT, MUL_DIGITS_SCALE) * nonzero
    # the DSP binding rule, smoothed
    wide = soft_step(xp, bx + bw - (model.fabric_product_bits + 0.5), tau)
    both = soft_step(xp, xp.minimum(bx, bw) - (model.fabric_operand_bits + 0.5), tau)
    if model.mult_impl == "dsp":
        wide = both = 1.0
    elif model.mult_impl == "fabric":
        wide = both = 0.0
    p_dsp = p_mul * wide * both
    hi, lo = xp.maximum(bx, bw), xp.minimum(bx, bw)
    per_dsp = _soft_ceil_ratio(xp, hi, family.a_width) * _soft_ceil_ratio(xp, lo, family.b_width)
    dsp = xp.sum(p_dsp * per_dsp) * count
    if reuse_factor > 1:  # the multiplier limit n_in * n_out / RF caps the shared multipliers
        dsp = xp.minimum(dsp, float(n_in * n_out) / reuse_factor)
    if metric == "dsp":
        return dsp
    # fabric: shift-and-add products, (digits - 1) adders as wide as the input and half the
    # weight; a b-bit constant has about b/3 + 1/9 nonzero digits (NAF density 1/3)
    digits = xp.maximum(bw, 1.0) * CSD_DENSITY + 1.0 / 9.0
    fabric = (nonzero - p_dsp) * xp.maximum(digits - 1.0, 0.0) * (bx + bw / 2.0)
    tree = nonzero * (bx + bw + 2.0)  # one adder per term of the output's sum
    lut = xp.sum(fabric + tree) * count
    if metric == "lut":
        return lut
    return lut + DSP_LUT_EQUIVALENT * dsp


def conv_cost(
    xp: Any,
    bits_in: Any,
    bits_w: Any,
    kernel_size: int,
    c_in: int,
    c_out: int,
    metric: str = "lut",
    *,
    positions: int = 1,
    reuse_factor: int = 1,
    family: DspFamily = DSP48E2,
    model: CostModel = DEFAULT_MODEL,
    tau: float = 0.5,
) -> Any:
    """A convolution is a Dense over its receptive field (``kernel_size * c_in`` inputs),
    applied at ``positions`` output pixels with shared multipliers; ``bits_w`` is scalar or
    ``(kernel_size * c_in, c_out)``."""
    return dense_cost(
        xp, bits_in, bits_w, kernel_size * c_in, c_out, metric,
        reuse_factor=reuse_factor, positions=positions, family=family, model=model, tau=tau,
    )
