"""The cost model as smooth functions of bit widths, for training with a resource cost.

Why a second form: the discrete estimate (``hlsforge.estimate``) counts what synthesis builds
from the exact quantized weights; a training loss needs the same costs as a differentiable
function of (per-weight or per-tensor) bit widths. Every function takes an array module
``xp`` first — ``numpy`` or ``keras.ops`` (this module never imports Keras) — and only uses
operations both provide (``exp``, ``maximum``, ``minimum``, ``sum``, ``reshape``, arithmetic).

How it matches the discrete model (``arith.py``), term by term, for a Dense layer:
- a weight of ``bits_w <= 0`` is pruned: it costs nothing (a smooth gate ``nonzero``);
- a product goes to DSPs when ``bits_in + bits_w > fabric_product_bits`` and both operands
  exceed ``fabric_operand_bits`` (a product of two soft steps); it then costs
  ``dsps_per_multiply`` (1, or more once an operand is wider than the DSP port — a soft
  ceiling), divided by the reuse factor;
- a product in fabric costs shift-and-add LUTs: a ``b``-bit constant has on average
  ``b/3 + 1/9`` nonzero canonical-signed-digit digits (the NAF density), each beyond the first
  an adder as wide as the input plus half the weight;
- the adder tree adds ``bits_in + bits_w + 2`` LUTs per nonzero product (one carry-chain adder
  per term);
- ``ebops`` is HGQ's effective bit operations, ``sum(bits_in * bits_w)`` over the products.

Steps are logistic with temperature ``tau`` (bits); with integer widths and ``tau -> 0`` the
functions reproduce the discrete rules' DSP and multiplier counts exactly for the same widths
(a test checks this against ``hlsforge.estimate``).
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
    # the DSP binding rule, smoothed
    wide = soft_step(xp, bx + bw - (model.fabric_product_bits + 0.5), tau)
    both = soft_step(xp, xp.minimum(bx, bw) - (model.fabric_operand_bits + 0.5), tau)
    p_dsp = wide * both * nonzero
    hi, lo = xp.maximum(bx, bw), xp.minimum(bx, bw)
    per_dsp = _soft_ceil_ratio(xp, hi, family.a_width) * _soft_ceil_ratio(xp, lo, family.b_width)
    rf = float(reuse_factor)
    dsp = xp.sum(p_dsp * per_dsp) * count / rf
    if metric == "dsp":
        return dsp
    # fabric: shift-and-add multipliers by constants (RF 1) or shared general multipliers
    digits = xp.maximum(bw - 1.0, 0.0) * CSD_DENSITY + 1.0
    if reuse_factor == 1:
        fabric = (1.0 - wide * both) * nonzero * xp.maximum(digits - 1.0, 0.0) * (bx + bw / 2.0)
    else:
        fabric = (1.0 - wide * both) * nonzero * (model.fabric_lut_per_pp_bit * bx * bw + bx + bw) / rf
    tree = nonzero * (bx + bw + 2.0) / (rf if reuse_factor > 1 else 1.0)
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
