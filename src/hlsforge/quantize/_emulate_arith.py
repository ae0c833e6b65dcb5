"""Exact arithmetic on raw fixed-point arrays, for the emulator.

A value is an integer array ``raw`` with a number of fractional bits ``frac`` (value =
``raw * 2**-frac``). Every operation here is exact: int64 while a bound computed from the
data proves it cannot overflow, Python ints (``object`` arrays) otherwise. Precision is lost
only in :func:`cast` (``fixed.convert_raw``), exactly where ``ap_fixed`` loses it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..ir.types import FixedType, Overflow, Rounding, TensorType
from .fixed import as_fixed_type, convert_raw

I64_SAFE = 1 << 62
"""Bound below which int64 sums of two such values cannot overflow."""


@dataclass(frozen=True)
class Fx:
    """An exact fixed-point array: ``raw * 2**-frac``."""

    raw: np.ndarray
    frac: int


def absmax(a: np.ndarray) -> int:
    """Largest absolute value of an integer array, as a Python int (0 when empty)."""
    if a.size == 0:
        return 0
    return max(abs(int(a.max())), abs(int(a.min())))


def to_object(a: np.ndarray) -> np.ndarray:
    return a if a.dtype == object else a.astype(object)


def lshift(a: np.ndarray, s: int) -> np.ndarray:
    """``a * 2**s`` exactly (``s >= 0``)."""
    if s == 0:
        return a
    if a.dtype != object and (absmax(a) << s) < I64_SAFE:
        return a << s
    return to_object(a) << s


def align(x: Fx, frac: int) -> np.ndarray:
    """The raw of ``x`` with ``frac`` fractional bits (``frac >= x.frac``; exact)."""
    return lshift(x.raw, frac - x.frac)


def _same_kind(a: np.ndarray, b: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    if a.dtype == object or b.dtype == object or bound >= I64_SAFE:
        return to_object(a), to_object(b)
    return a, b


def add(a: Fx, b: Fx, *, subtract: bool = False) -> Fx:
    """``a + b`` (or ``a - b``) exactly, with numpy broadcasting."""
    f = max(a.frac, b.frac)
    x, y = align(a, f), align(b, f)
    x, y = _same_kind(x, y, absmax(x) + absmax(y))
    return Fx(x - y if subtract else x + y, f)


def mul(a: Fx, b: Fx) -> Fx:
    """``a * b`` exactly, with numpy broadcasting."""
    x, y = _same_kind(a.raw, b.raw, absmax(a.raw) * absmax(b.raw))
    return Fx(x * y, a.frac + b.frac)


def _wrap(v: np.ndarray, t: FixedType) -> np.ndarray:
    """Two's-complement wrap of int64 ``v`` to ``t.width`` bits (only the low bits matter,
    so an int64 that already wrapped modulo ``2**64`` gives the right answer)."""
    if t.width >= 64:
        return v
    mask = np.int64((1 << t.width) - 1)
    if not t.signed:
        return v & mask
    sign = np.int64(1 << (t.width - 1))
    return ((v & mask) ^ sign) - sign


def cast(x: Fx, t: TensorType, bounds: tuple[int, int] | None = None) -> np.ndarray:
    """Convert an exact value into ``t`` (rounding and overflow of ``t``): NUMERICS.md §2.

    Shortcuts (same bits, fewer passes over the data), all for int64 raws:

    * no bit is dropped, or the mode is TRN (an arithmetic right shift *is* the floor), and
      the raw range -- ``bounds`` when the caller knows it statically, else the data's
      min/max -- shows that nothing overflows: the result is the shifted raw itself;
    * the same with WRAP overflow: shift, then keep the low ``W`` bits.

    Everything else goes to ``fixed.convert_raw``.
    """
    ft = as_fixed_type(t)  # type: ignore[arg-type]
    r = x.raw
    if r.dtype != object and r.size and not (not ft.signed and ft.width == 64):
        d = ft.frac - x.frac
        if d < 0 and ft.rounding is Rounding.TRN:
            r = r >> min(-d, 63)
            if bounds is not None:
                bounds = (bounds[0] >> -d, bounds[1] >> -d)
            d = 0
        if d >= 0:
            lo, hi = bounds if bounds is not None else (int(r.min()), int(r.max()))
            sym_min = ft.overflow is Overflow.SAT_SYM and ft.signed and ft.width > 1
            if (lo << d) >= ft.raw_min + sym_min and (hi << d) <= ft.raw_max:
                out = r << d if d else r
                return out.astype(np.int64, copy=False)
            if ft.overflow is Overflow.WRAP:
                if d >= 64:
                    return np.zeros(r.shape, dtype=np.int64)
                return _wrap(r << d if d else r, ft)
    return convert_raw(x.raw, x.frac, ft)


def in_range(bounds: tuple[int, int], frac: int, t: TensorType) -> bool:
    """Whether every raw in ``bounds`` (at ``frac``) converts into ``t`` without rounding
    or overflow, i.e. the cast is the identity on the value."""
    ft = as_fixed_type(t)  # type: ignore[arg-type]
    d = ft.frac - frac
    sym_min = ft.overflow is Overflow.SAT_SYM and ft.signed and ft.width > 1
    return d >= 0 and (bounds[0] << d) >= ft.raw_min + sym_min and (bounds[1] << d) <= ft.raw_max


def overflow_mask(x: Fx, t: TensorType) -> np.ndarray:
    """Where converting ``x`` into ``t`` overflows: the value rounded to ``t``'s LSB lies
    outside ``[raw_min, raw_max]``.

    A wrapped and a saturated conversion differ exactly there, except for values so far
    out that the wrap lands on the saturation bound; those are at least one LSB beyond the
    range, which a direct comparison catches.
    """
    ft = as_fixed_type(t)  # type: ignore[arg-type]
    wrapped = convert_raw(x.raw, x.frac, replace(ft, overflow=Overflow.WRAP))
    sat = convert_raw(x.raw, x.frac, replace(ft, overflow=Overflow.SAT))
    mask = np.asarray(wrapped != sat)
    d = ft.frac - x.frac  # value * 2**F = raw * 2**d
    hi, lo = ft.raw_max + 1, ft.raw_min - 1
    if d >= 0:
        # raw * 2**d >= hi  <=>  raw >= ceil(hi / 2**d);  raw * 2**d <= lo  <=>  raw <= floor(lo / 2**d)
        hi_thr, lo_thr = -((-hi) >> d), lo >> d
    else:
        hi_thr, lo_thr = hi << -d, lo << -d
    return mask | np.asarray(x.raw >= hi_thr) | np.asarray(x.raw <= lo_thr)


def fixed(t: TensorType) -> FixedType:
    return as_fixed_type(t)  # type: ignore[arg-type]
