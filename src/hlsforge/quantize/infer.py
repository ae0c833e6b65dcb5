"""Lossless widths: the narrowest fixed-point types that hold exact results.

Why: ``accum: auto`` and ``sum: auto`` promise that a variable never rounds and never
overflows, whatever input of the declared input type arrives. The emulator can then replace a
loop of casts by one exact integer matrix product, and the HLS code stays as narrow as the
model allows. Bounds use the *actual quantized weights* (not only their type), over *every*
input of the input type, so the result is both safe (no input can overflow it) and as narrow
as that guarantee permits.
"""

from __future__ import annotations

import numpy as np

from ..errors import PrecisionError
from ..ir.types import MAX_WIDTH, FixedType, TensorType
from .fixed import as_fixed_type

__all__ = [
    "raw_bounds",
    "type_for_raw_range",
    "dot_accum_type",
    "dot_partial_sum_bounds",
    "exact_sum_type",
    "table_sum_type",
]


def raw_bounds(t: TensorType) -> tuple[int, int]:
    """``(raw_min, raw_max)`` of a fixed-point or integer type."""
    ft = as_fixed_type(t)  # type: ignore[arg-type]
    return ft.raw_min, ft.raw_max


def type_for_raw_range(lo: int, hi: int, frac: int, *, signed: bool | None = None, where: str = "") -> FixedType:
    """The narrowest type with ``frac`` fractional bits holding every raw in ``[lo, hi]``.

    ``signed=None`` picks unsigned when ``lo >= 0`` (one bit narrower), ``True`` forces a
    signed type. Raises ``PrecisionError`` (naming ``where``) when it needs more than 64 bits.
    """
    lo, hi = int(lo), int(hi)
    if lo > hi:
        lo, hi = hi, lo
    if signed is None:
        signed = lo < 0
    if not signed and lo < 0:
        raise PrecisionError(f"{where}: an unsigned type cannot hold negative values")
    if signed:
        # -2**(W-1) <= lo  and  hi <= 2**(W-1) - 1
        need = max(hi, -lo - 1, 0)
        width = need.bit_length() + 1
    else:
        width = max(hi.bit_length(), 1)
    if width > MAX_WIDTH:
        raise PrecisionError(
            f"{where}: an exact (lossless) type needs {width} bits, more than the {MAX_WIDTH} "
            "supported; use narrower input/weight types or set this variable explicitly "
            "(e.g. 'ap_fixed<32,12>')"
        )
    return FixedType(width, width - frac, signed)


def _obj(a: np.ndarray) -> np.ndarray:
    """Python-int view of an integer array, so bound arithmetic can never overflow."""
    return np.asarray(a).astype(object)


def dot_partial_sum_bounds(
    x_type: TensorType,
    kernel_raw: np.ndarray,
    w_frac: int,
    bias_raw: np.ndarray,
    b_frac: int,
    frac: int,
) -> tuple[int, int]:
    """Smallest and largest partial sum, in raw units of ``frac``, of ``b[j] + Σ x[i]·w[i][j]``
    over every output ``j``, every prefix of the sum and every input of ``x_type``.

    ``kernel_raw`` is ``(K, M)`` (rows in accumulation order), ``bias_raw`` is ``(M,)``.
    Every input range contains 0, so each term's best case is ``>= 0`` and its worst
    ``<= 0``: the extreme partial sums are the full sums of per-term extremes.
    """
    xt = as_fixed_type(x_type)  # type: ignore[arg-type]
    sp = frac - xt.frac - w_frac
    sb = frac - b_frac
    if sp < 0 or sb < 0:
        raise ValueError("frac must hold every product and the bias exactly")
    w = _obj(kernel_raw)
    a, b = w * xt.raw_max, w * xt.raw_min
    hi_terms = np.where(a > b, a, b).sum(axis=0) if w.shape[0] else np.zeros(w.shape[1], object)
    lo_terms = np.where(a < b, a, b).sum(axis=0) if w.shape[0] else np.zeros(w.shape[1], object)
    bias = _obj(bias_raw) * (1 << sb)
    hi = [int(h) * (1 << sp) + int(bb) for h, bb in zip(hi_terms, bias, strict=True)]
    lo = [int(lo_) * (1 << sp) + int(bb) for lo_, bb in zip(lo_terms, bias, strict=True)]
    return (min(lo, default=0), max(hi, default=0))


def dot_accum_type(
    x_type: TensorType,
    kernel_raw: np.ndarray,
    w_type: TensorType,
    bias_raw: np.ndarray,
    b_type: TensorType,
    *,
    where: str = "",
) -> FixedType:
    """``accum: auto`` for Dense/Conv: signed, ``frac = max(frac_x + frac_w, frac_b)``, and
    the fewest integer bits such that no partial sum (bias first, then each product in
    accumulation order) of any input of ``x_type`` can overflow, given the actual weights."""
    xt, wt, bt = (as_fixed_type(t) for t in (x_type, w_type, b_type))  # type: ignore[arg-type]
    frac = max(xt.frac + wt.frac, bt.frac)
    lo, hi = dot_partial_sum_bounds(xt, kernel_raw.reshape(kernel_raw.shape[0], -1), wt.frac, bias_raw, bt.frac, frac)
    return type_for_raw_range(lo, hi, frac, signed=True, where=where)


def exact_sum_type(t: TensorType, n: int, *, where: str = "") -> FixedType:
    """The narrowest type that holds the exact sum of ``n`` values of type ``t``
    (``accum: auto`` of AvgPool/GlobalAvgPool)."""
    ft = as_fixed_type(t)  # type: ignore[arg-type]
    return type_for_raw_range(n * ft.raw_min, n * ft.raw_max, ft.frac, signed=ft.signed, where=where)


def table_sum_type(entries_raw: np.ndarray, entry_type: TensorType, n: int, *, where: str = "") -> FixedType:
    """``sum: auto`` of Softmax: the narrowest type holding any sum of ``n`` table entries
    (computed from the actual entries)."""
    ft = as_fixed_type(entry_type)  # type: ignore[arg-type]
    e = _obj(entries_raw)
    lo = n * min(0, int(e.min())) if e.size else 0
    hi = n * max(0, int(e.max())) if e.size else 0
    return type_for_raw_range(lo, hi, ft.frac, where=where)

