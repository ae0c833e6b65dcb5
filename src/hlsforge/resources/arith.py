"""Cost of the arithmetic primitives the HLS kernels are built from.

Everything here is a small, documented first-principles rule (docs/estimate.md has the
derivations and sources); the op rules (``rules/``) only count how many of each primitive a
layer instantiates. The few numbers that are not architecture facts (the LUT/DSP binding
threshold, combinational delays) are collected in :class:`CostModel`, with the calibration
against published synthesis results in ``tests/resources/test_calibration.py``.

Facts used:
- A DSP48E1 multiplies 25x18 signed bits, a DSP48E2 27x18, a DSP58 27x24. A wider product is
  split into partial products of (A-1)x(B-1) unsigned bits plus the sign tile, so it costs
  ``ceil((wa-1)/(A-1)) * ceil((wb-1)/(B-1))`` DSPs (the usual decomposition, UG579 ch. 2).
- A carry-chain adder costs one LUT per result bit (UltraScale CARRY8 / 7-series CARRY4).
- A multiplication by a constant is a sum of shifted copies of the input, one per nonzero
  digit of the constant's canonical signed-digit (CSD, non-adjacent form) representation, so
  it costs ``nonzero_digits - 1`` adders as wide as the input plus the shift span; a zero
  costs nothing and a power of two is a shift (wiring).
- A LUT6 is a 64x1 ROM; a block RAM 18K is 1K x 18 (or 512 x 36, 2K x 9 ...) with two ports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..ir.types import FixedType, IntType, Overflow, Rounding, TensorType
from .parts import DspFamily

__all__ = [
    "CostModel",
    "DEFAULT_MODEL",
    "width_of",
    "csd_digits",
    "odd_part",
    "dsps_per_multiply",
    "use_dsp",
    "fabric_multiply_luts",
    "constant_multiply_luts",
    "bram_18k_for",
    "rom_cost",
    "cast_luts",
    "cast_register_bits",
    "tree_depth",
]


@dataclass(frozen=True)
class CostModel:
    """The tunable numbers of the cost model (everything else is counted).

    Binding: Vivado/Vitis HLS binds a multiplication whose operands are both narrow to fabric
    (LUTs) and a wider one to DSPs. ``fabric_product_bits``: a product of at most this many
    bits (sum of operand widths) goes to fabric; ``fabric_operand_bits``: so does one with an
    operand of at most this many bits.

    Timing (ns, UltraScale+ -2 class): what HLS chains into one clock cycle. The effective
    period is ``clock_ns * (1 - clock_uncertainty)`` (Vivado HLS default uncertainty 12.5 %).
    """

    mult_impl: str = "auto"  # "dsp" / "fabric": what Vitis HLS config_op mul -impl forces
    fabric_product_bits: int = 14
    fabric_operand_bits: int = 4
    fabric_lut_per_pp_bit: float = 0.55  # LUTs per partial-product bit of a general fabric multiplier
    clock_uncertainty: float = 0.125
    t_dsp_ns: float = 3.0  # combinational DSP multiply (registered inside the DSP)
    dsp_latency_cycles: int = 2  # HLS pipelines a DSP multiply over 2 cycles (M and P registers)
    dsp_comb_min_period_ns: float = 8.0  # ... unless the usable period is this long: then combinational
    chain_fraction: float = 0.75  # a layer within this fraction of the period stays unregistered
    share_overhead_cycles: int = 5  # extra II cycles when shared multipliers serialize products
    t_add_ns: float = 1.455  # one carry-chain adder level incl. routing (7-series -2 reports)
    layer_boundary_cycles: int = 1  # the top function registers each layer's output array
    top_overhead_cycles: int = 1  # the top function's input register
    ff_per_product_bit: float = 1.6  # registers per accumulator bit of each product (RF 1)
    ff_per_shared_product_bit: float = 1.2  # the same when multipliers are shared (RF > 1)
    balance_limit_products: int = 8192  # above this many products a layer's sums stay chains
    softmax_ff_width_fraction: float = 0.75  # live softmax bits per element and stage / entry width
    t_lut_ns: float = 0.55  # one LUT level incl. routing (compare, mux, cast)
    t_bram_cycles: int = 2  # registered block-RAM read
    t_lutrom_ns: float = 1.4  # distributed ROM read (LUT6 + F7/F8 muxes)
    rom_lut_max_bits: int = 1024  # ROMs up to this size stay in LUTs, larger go to block RAM
    resource_rom_bram_min_depth: int = 32  # Resource-strategy weight ROMs this deep go to BRAM (else LUT ROM)
    ff_per_dsp_output: float = 1.0  # output register bits of a DSP product counted as FF


DEFAULT_MODEL = CostModel()


def width_of(t: TensorType) -> int:
    """Bit width of a fixed-point/integer type (floats are treated as 32 bits)."""
    if isinstance(t, (FixedType, IntType)):
        return int(t.width)
    return int(getattr(t, "bits", 32))


def signed_of(t: TensorType) -> bool:
    return bool(getattr(t, "signed", True))


def bit_length(a: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of non-negative integers below 2**53, vectorized (exact via frexp)."""
    return np.frexp(np.asarray(a, dtype=np.float64))[1].astype(np.int64)


def odd_part(raw: np.ndarray) -> np.ndarray:
    """``|raw|`` with its trailing zero bits removed (a shift is free wiring)."""
    a = np.abs(np.asarray(raw, dtype=np.int64))
    tz = np.maximum(bit_length(a & -a) - 1, 0)  # trailing zeros (0 for a == 0)
    return a >> tz


def csd_digits(raw: np.ndarray) -> np.ndarray:
    """Nonzero digits of each integer's canonical signed-digit (non-adjacent) form.

    The NAF weight of ``n`` is ``popcount(n XOR 3n)`` (Reitwiesner's recoding in one line);
    the sign of the constant is free (the adder tree subtracts instead of adding).
    """
    a = np.abs(np.asarray(raw, dtype=np.int64))
    return np.bitwise_count(a ^ (3 * a)).astype(np.int64)


def tree_depth(n: int) -> int:
    """Levels of a balanced adder/compare tree over ``n`` operands."""
    return max(int(n) - 1, 0).bit_length()


def dsps_per_multiply(family: DspFamily, wa: int, wb: int) -> int:
    """DSP primitives for one ``wa x wb`` signed multiplication."""
    hi, lo = max(wa, wb), min(wa, wb)
    if hi <= family.a_width and lo <= family.b_width:
        return 1
    return math.ceil((hi - 1) / (family.a_width - 1)) * math.ceil((lo - 1) / (family.b_width - 1))


def use_dsp(wa: int, wb: int, model: CostModel = DEFAULT_MODEL) -> bool:
    """Whether HLS binds a ``wa x wb`` multiplication to DSPs (else it goes to fabric)."""
    if model.mult_impl in ("dsp", "fabric"):
        return model.mult_impl == "dsp"
    return wa + wb > model.fabric_product_bits and min(wa, wb) > model.fabric_operand_bits


def fabric_multiply_luts(wa: int, wb: int, model: CostModel = DEFAULT_MODEL) -> int:
    """LUTs of a general (both operands variable) fabric multiplier: its partial-product
    array, about half a LUT per partial-product bit on LUT6 + carry chains, plus the final
    carry-propagate adder."""
    return int(math.ceil(model.fabric_lut_per_pp_bit * wa * wb)) + wa + wb


def constant_multiply_luts(width_in: int, digits: np.ndarray, shift_span: np.ndarray) -> int:
    """LUTs of shift-and-add multipliers by constants: ``digits - 1`` adders each, as wide as
    the input plus the span between the constant's lowest and highest nonzero digit."""
    d = np.asarray(digits, dtype=np.int64)
    adders = np.maximum(d - 1, 0)
    return int(np.sum(adders * (width_in + np.asarray(shift_span, dtype=np.int64))))


_BRAM_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
"""Aspect ratios of one 18 Kb block RAM (depth, width) in its true-dual-port modes."""


def bram_18k_for(depth: int, width: int) -> int:
    """Block RAM 18K primitives holding a ``depth x width`` memory (best aspect ratio)."""
    if depth <= 0 or width <= 0:
        return 0
    best = None
    for d, w in _BRAM_SHAPES:
        n = math.ceil(depth / d) * math.ceil(width / w)
        best = n if best is None else min(best, n)
    return int(best or 0)


def rom_cost(
    entries: int, width: int, reads: int, model: CostModel = DEFAULT_MODEL
) -> tuple[int, int, bool]:
    """(LUT, BRAM_18K, in_bram) of a ROM read ``reads`` times in the same cycle.

    Small ROMs are replicated in distributed LUT-ROM (``ceil(entries/64)`` LUT6 per bit plus
    the F7/F8 mux tree, about one LUT per 4 LUT6 beyond the first); large ones in block RAM:
    the first copy serves two reads through its two ports and every further read gets its
    own copy (what Vitis HLS reports for tables read n = 2..16 times per cycle: n - 1 copies).
    """
    bits = entries * width
    if bits <= model.rom_lut_max_bits:
        per_bit = math.ceil(entries / 64)
        per_bit += (per_bit - 1 + 3) // 4 if per_bit > 1 else 0
        return reads * width * per_bit, 0, False
    copies = max(1, reads - 1)
    return 0, copies * bram_18k_for(entries, width), True


def cast_luts(src: TensorType, dst: TensorType) -> int:
    """LUTs to convert one value from ``src`` to ``dst``, as HLS builds it: rounding is an
    incrementer one bit wider than the result; saturation detects the overflow over the
    dropped integer bits (and the sign) and selects between the value and the two limits
    (two multiplexers as wide as the result); truncation and wrapping are wiring."""
    if not isinstance(dst, (FixedType, IntType)) or not isinstance(src, (FixedType, IntType)):
        return 0
    d = dst.as_fixed() if isinstance(dst, IntType) else dst
    s = src.as_fixed() if isinstance(src, IntType) else src
    luts = 0
    drops_frac = s.frac > d.frac
    if drops_frac and d.rounding is not Rounding.TRN:
        luts += d.width + 1  # +1/2 LSB incrementer
    drops_int = (s.integer > d.integer) or (s.signed and not d.signed)
    if drops_int and d.overflow is not Overflow.WRAP:
        dropped = max(s.integer - d.integer, 0) + 1
        luts += 2 * d.width + 2 * dropped  # two selects + overflow/underflow detection
    return luts


def cast_register_bits(src: TensorType, dst: TensorType) -> int:
    """Register bits HLS adds for a rounding cast (the incremented value is registered)."""
    if not isinstance(dst, (FixedType, IntType)) or not isinstance(src, (FixedType, IntType)):
        return 0
    d = dst.as_fixed() if isinstance(dst, IntType) else dst
    s = src.as_fixed() if isinstance(src, IntType) else src
    return d.width + 1 if (s.frac > d.frac and d.rounding is not Rounding.TRN) else 0
