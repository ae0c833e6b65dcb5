"""Exact fixed-point quantization with Xilinx ``ap_fixed`` semantics (NUMERICS.md §2, §3).

Everything here works on *raw integers*: a value of type ``t`` is ``raw * 2**-t.frac``. Raw
integers are exact, so the emulator can do all arithmetic in integers and only lose precision
where ``ap_fixed`` does: on conversion into a declared type (:func:`convert_raw`).

Conversion rule (the whole contract, NUMERICS.md §2): scale the exact value to
``s = v * 2**F``; truncate toward −∞; add one LSB when the rounding rule holds, judged from
``qb`` (first dropped bit), ``rest`` (OR of the other dropped bits), ``neg`` (sign of ``v``)
and ``lsb`` (lowest kept bit); then apply the overflow mode to the integer. ``SAT_SYM`` on a
signed type wider than one bit never produces the most negative code.

Two implementations of that rule live here, and tests check them against each other, against
an independent rational oracle and against the real ``ap_fixed.h``:

* a vectorized numpy ``int64`` path (shifts and masks, no Python loop) used whenever every
  raw fits in ``int64`` — which is always the case for float inputs and for all targets
  except ``ap_ufixed<64,...>``;
* an exact Python-integer path for ``object`` arrays (raws wider than 64 bits, such as
  products of two 40-bit values) and for ``ap_ufixed<64,...>`` targets, whose raws go up to
  ``2**64 - 1``; results for those targets are ``object`` arrays of Python ints.

``IntType`` (``ap_int<W>``) targets convert like ``ap_int`` does: toward zero, then
wrap-around (``ap_int<8>(-2.5) == -2``), i.e. ``FixedType(W, W, S, TRN_ZERO, WRAP)`` — with
one reproduced Xilinx quirk: a float in ``(-0.5, 0)`` becomes 1, not 0 (see
``_ap_int_small_negative_quirk``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

import numpy as np

from ..errors import InputError, PrecisionError
from ..ir.types import FixedType, IntType, Overflow, Rounding, parse_type

__all__ = [
    "FixedLike",
    "ResultType",
    "as_fixed_type",
    "quantize",
    "quantize_exact",
    "to_float",
    "cast",
    "convert_raw",
    "convert_fixed",
    "fixed_add_type",
    "fixed_sub_type",
    "fixed_mul_type",
    "fixed_neg_type",
    "compare_raw",
]

FixedLike = Union[FixedType, IntType, str]  # noqa: UP007 (a runtime alias)
"""A fixed-point target: ``FixedType``, ``IntType`` or a precision string."""

_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


# ---------------------------------------------------------------------------------------------
# types


def as_fixed_type(t: FixedLike) -> FixedType:
    """The ``FixedType`` a target converts like (``ap_int<W>`` → toward zero + wrap).

    Accepts a precision string too. Float types and ``'auto'`` raise ``PrecisionError``.
    """
    parsed = parse_type(t) if isinstance(t, str) else t
    if isinstance(parsed, FixedType):
        return parsed
    if isinstance(parsed, IntType):
        return parsed.as_fixed()  # toward zero + wrap, as ap_int converts
    raise PrecisionError(f"expected a fixed-point or integer type, got {t!r}")


@dataclass(frozen=True)
class ResultType:
    """Exact result type of ``+``, ``-``, ``*`` on fixed-point values (``ap_fixed`` rules).

    Unlike ``FixedType`` the width is not limited to 64 bits (a product of two 40-bit values
    is 80 bits wide); modes are always ``AP_TRN``/``AP_WRAP`` as in ``ap_fixed``, and they
    never act because the result is exact. Use :meth:`as_fixed` where a ``FixedType`` is needed.
    """

    width: int
    integer: int
    signed: bool

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @classmethod
    def of(cls, t: FixedLike | ResultType) -> ResultType:
        """The (width, integer, signed) of a type; ``ap_int<W>`` counts as ``(W, W, S)``."""
        if isinstance(t, ResultType):
            return t
        ft = as_fixed_type(t)
        return cls(ft.width, ft.integer, ft.signed)

    def as_fixed(
        self, rounding: Rounding = Rounding.TRN, overflow: Overflow = Overflow.WRAP
    ) -> FixedType:
        """This type as a ``FixedType``; ``PrecisionError`` if it is wider than 64 bits."""
        return FixedType(self.width, self.integer, self.signed, rounding, overflow)

    def __str__(self) -> str:
        return f"{'ap_fixed' if self.signed else 'ap_ufixed'}<{self.width},{self.integer}>"


def fixed_mul_type(a: FixedLike | ResultType, b: FixedLike | ResultType) -> ResultType:
    """Type of ``a * b``: ``<Wa+Wb, Ia+Ib, Sa or Sb>`` (exact)."""
    x, y = ResultType.of(a), ResultType.of(b)
    return ResultType(x.width + y.width, x.integer + y.integer, x.signed or y.signed)


def _sum_int_frac(x: ResultType, y: ResultType) -> tuple[int, int]:
    """Integer and fractional bits of ``x ± y``: one more integer bit than the wider operand,
    counting one extra bit for an unsigned operand meeting a signed one."""
    integer = max(x.integer + (y.signed and not x.signed), y.integer + (x.signed and not y.signed)) + 1
    return integer, max(x.frac, y.frac)


def fixed_add_type(a: FixedLike | ResultType, b: FixedLike | ResultType) -> ResultType:
    """Type of ``a + b`` (exact; signed if either operand is)."""
    x, y = ResultType.of(a), ResultType.of(b)
    integer, frac = _sum_int_frac(x, y)
    return ResultType(integer + frac, integer, x.signed or y.signed)


def fixed_sub_type(a: FixedLike | ResultType, b: FixedLike | ResultType) -> ResultType:
    """Type of ``a - b``: as ``a + b`` but always signed."""
    x, y = ResultType.of(a), ResultType.of(b)
    integer, frac = _sum_int_frac(x, y)
    return ResultType(integer + frac, integer, True)


def fixed_neg_type(a: FixedLike | ResultType) -> ResultType:
    """Type of ``-a``: ``<W+1, I+1, signed>`` (exact)."""
    x = ResultType.of(a)
    return ResultType(x.width + 1, x.integer + 1, True)


# ---------------------------------------------------------------------------------------------
# the rounding rule (NUMERICS.md §2 table), vectorized and scalar


def _increment(q: Rounding, qb, rest, neg, lsb):
    """Whether to add one LSB after truncation toward −∞ (numpy bool arrays)."""
    if q is Rounding.TRN:
        return np.zeros_like(qb)
    if q is Rounding.TRN_ZERO:
        return neg & (qb | rest)
    if q is Rounding.RND:
        return qb
    if q is Rounding.RND_ZERO:
        return qb & (neg | rest)
    if q is Rounding.RND_MIN_INF:
        return qb & rest
    if q is Rounding.RND_INF:
        return qb & (~neg | rest)
    if q is Rounding.RND_CONV:
        return qb & (lsb | rest)
    raise PrecisionError(f"unknown rounding mode {q!r}")


def _increment_scalar(q: Rounding, qb: bool, rest: bool, neg: bool, lsb: bool) -> bool:
    return bool(_increment(q, np.bool_(qb), np.bool_(rest), np.bool_(neg), np.bool_(lsb)))


def _overflow_scalar(r: int, t: FixedType) -> int:
    """Apply ``t``'s overflow mode to an exact integer ``r`` (Python ints)."""
    lo, hi = t.raw_min, t.raw_max
    sym = t.overflow is Overflow.SAT_SYM and t.signed and t.width > 1
    if lo <= r <= hi:
        return -hi if sym and r == lo else r
    if t.overflow is Overflow.WRAP:
        return ((r - lo) % (1 << t.width)) + lo
    if t.overflow is Overflow.SAT_ZERO:
        return 0
    if r > hi:
        return hi
    return -hi if sym else lo


def _convert_scalar(v: int, d: int, t: FixedType) -> int:
    """``v * 2**d`` (exact) converted into ``t``; Python integers, any size."""
    if d >= 0:
        return _overflow_scalar(v << d, t)
    n = -d
    fl = v >> n
    inc = False
    if t.rounding is not Rounding.TRN:
        rem = v - (fl << n)  # the dropped bits, 0 <= rem < 2**n
        qb = bool((rem >> (n - 1)) & 1)
        rest = (rem & ((1 << (n - 1)) - 1)) != 0
        inc = _increment_scalar(t.rounding, qb, rest, v < 0, bool(fl & 1))
    return _overflow_scalar(fl + inc, t)


def quantize_exact(v: Fraction | int | float, t: FixedLike) -> int:
    """Raw integer of the exact rational ``v`` in ``t`` (slow, exact, any input size).

    Rational inputs need not be dyadic: ``qb``/``rest`` come from comparing the remainder with
    one half, which is what the bit rule means for an infinite binary expansion.
    """
    ft = as_fixed_type(t)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return int(quantize(np.float64(v), ft))
    s = Fraction(v) * (Fraction(2) ** ft.frac)
    fl = math.floor(s)
    rem = s - fl
    half = Fraction(1, 2)
    qb = rem >= half
    rest = rem > half if qb else rem > 0
    inc = _increment_scalar(ft.rounding, qb, rest, s < 0, bool(fl & 1))
    return _overflow_scalar(fl + inc, ft)


# ---------------------------------------------------------------------------------------------
# the int64 fast path


def _wrap_i64(bits: np.ndarray, t: FixedType) -> np.ndarray:
    """Two's-complement wrap of ``bits`` (exact modulo 2**64) to ``t.width`` bits."""
    w = t.width
    if w >= 64:
        return bits
    mask = np.int64((1 << w) - 1)
    if not t.signed:
        return bits & mask
    sign = np.int64(1 << (w - 1))
    return ((bits & mask) ^ sign) - sign


def _apply_overflow_i64(r, wrapbits, hi, lo, t: FixedType) -> np.ndarray:
    """Finish a conversion: ``r`` exact where not ``hi``/``lo``, ``wrapbits`` = r mod 2**64."""
    o = t.overflow
    if o is Overflow.WRAP:
        return _wrap_i64(wrapbits, t)
    raw_max, raw_min = np.int64(t.raw_max), np.int64(t.raw_min)
    if o is Overflow.SAT_ZERO:
        return np.where(hi | lo, np.int64(0), r)
    if o is Overflow.SAT_SYM and t.signed and t.width > 1:
        out = np.where(hi, raw_max, r)
        return np.where(lo | (out == raw_min), -raw_max, out)
    return np.where(hi, raw_max, np.where(lo, raw_min, r))


def _shift_right_round(raw: np.ndarray, n, t: FixedType):
    """``raw * 2**-n`` rounded by ``t.rounding`` (``n >= 1``, scalar or array). Returns int64."""
    sh = np.minimum(n, 63)
    fl = raw >> sh  # floor, also for n >= 64 (gives 0 or -1)
    if t.rounding is Rounding.TRN:
        return fl
    m = n - 1  # position of the first dropped bit
    qb = ((raw >> np.minimum(m, 63)) & 1).astype(bool)  # bit >= 63 is the sign bit
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    # bits 0 .. m-1 (for m >= 64 every bit of raw counts, the sign extension included)
    mask = np.where(m >= 64, ones, (np.uint64(1) << np.minimum(m, 63).astype(np.uint64)) - np.uint64(1))
    rest = (raw.view(np.uint64) & mask) != 0
    inc = _increment(t.rounding, qb, rest, raw < 0, (fl & 1).astype(bool))
    return fl + inc


def _convert_i64(raw: np.ndarray, d, t: FixedType) -> np.ndarray:
    """``raw * 2**d`` converted into ``t`` (not ``ap_ufixed<64>``); ``d`` scalar or array."""
    if np.ndim(d) == 0:
        d = int(d)
        if d < 0:
            r = _shift_right_round(raw, -d, t)
            return _apply_overflow_i64(r, r, r > t.raw_max, r < t.raw_min, t)
        return _shift_left(raw, d, t)
    d = np.broadcast_to(np.asarray(d, np.int64), raw.shape)
    out = np.empty(raw.shape, np.int64)
    right = d < 0
    if right.any():
        rr = _shift_right_round(raw[right], -d[right], t)
        out[right] = _apply_overflow_i64(rr, rr, rr > t.raw_max, rr < t.raw_min, t)
    left = ~right
    if left.any():
        out[left] = _shift_left(raw[left], d[left], t)
    return out


def _shift_left(raw: np.ndarray, d, t: FixedType) -> np.ndarray:
    """``raw * 2**d`` (``d >= 0``) into ``t``: exact, so only overflow can act."""
    dc = np.minimum(d, 63)
    hi = raw > (np.int64(t.raw_max) >> dc)
    if t.signed:
        # ceil(raw_min / 2**d): exact shift while 2**d divides raw_min, else 0
        lo_thr = np.where(d <= t.width - 1, np.int64(t.raw_min) >> dc, np.int64(0))
        lo = raw < lo_thr
    else:
        lo = raw < 0
    shifted = (raw.view(np.uint64) << dc.astype(np.uint64) if np.ndim(dc) else
               raw.view(np.uint64) << np.uint64(dc)).view(np.int64)
    wrapbits = np.where(d >= 64, np.int64(0), shifted)
    return _apply_overflow_i64(wrapbits, wrapbits, hi, lo, t)


# ---------------------------------------------------------------------------------------------
# public API


def _object_fits_i64(a: np.ndarray) -> bool:
    if a.size == 0:
        return True
    flat = a.ravel()
    return _I64_MIN <= min(flat) and max(flat) <= _I64_MAX


def _as_int_array(raw) -> np.ndarray:
    """An int64 array if every value fits, else an object array of Python ints."""
    a = np.asarray(raw)
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    if a.dtype.kind == "i":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "u":
        if a.dtype.itemsize < 8 or a.size == 0 or int(a.max()) <= _I64_MAX:
            return a.astype(np.int64)
        return a.astype(object)
    if a.dtype.kind == "O":
        try:
            ints = np.frompyfunc(_to_python_int, 1, 1)(a) if a.size else a
        except TypeError as e:
            raise InputError(f"raw fixed-point values must be integers: {e}") from None
        ints = np.asarray(ints, dtype=object)
        return ints.astype(np.int64) if _object_fits_i64(ints) else ints
    raise InputError(f"raw fixed-point values must be integers, got an array of dtype {a.dtype}")


def _to_python_int(v) -> int:
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    raise TypeError(f"{v!r} is not an integer")


def convert_raw(raw, frac, t: FixedLike) -> np.ndarray:
    """Convert exact values ``raw * 2**-frac`` into ``t`` (its rounding and overflow).

    ``raw``: integers (an int64 array, or an ``object`` array of Python ints when values are
    wider than 64 bits). ``frac``: the fractional bits of ``raw`` (an int, or an int array
    broadcastable to ``raw``; may be negative). Returns the raw integers in ``t`` — int64,
    or ``object`` (Python ints) when ``t`` is ``ap_ufixed<64,...>``.

    This is the emulator's only lossy step. The int64 path is vectorized (shifts and masks);
    the Python-int path is exact for any width and used only when it must be.
    """
    ft = as_fixed_type(t)
    a = _as_int_array(raw)
    frac_arr = np.asarray(frac)
    if frac_arr.dtype.kind not in "iu":
        raise InputError(f"frac must be an integer or integer array, got {frac!r}")
    d = ft.frac - frac_arr.astype(np.int64)
    if a.dtype != object and not (not ft.signed and ft.width == 64):
        return _convert_i64(a, d if d.ndim else int(d), ft)
    d_full = np.broadcast_to(d, a.shape)
    out = np.empty(a.shape, dtype=object)
    flat_out, flat_a, flat_d = out.reshape(-1), a.reshape(-1), d_full.reshape(-1)
    for i in range(flat_a.size):
        flat_out[i] = _convert_scalar(int(flat_a[i]), int(flat_d[i]), ft)
    return _finish_dtype(out, ft)


def convert_fixed(raw, src: FixedLike | ResultType, dst: FixedLike) -> np.ndarray:
    """Convert raw integers of type ``src`` into ``dst``, as a C++ assignment ``dst = src`` does.

    The same as ``convert_raw(raw, src.frac, dst)`` except for one ``ap_fixed`` rule that
    depends on the source's integer bits: assigning a signed fixed value with ``I <= 0`` to an
    ``ap_int`` gives -1 for every negative value (``ap_fixed``'s ``to_ap_int_base``; for
    ``I < 0`` Xilinx's header reads an uninitialized value, hlsforge's header and this function
    use the ``I = 0`` result).
    """
    s = ResultType.of(src)
    out = convert_raw(raw, s.frac, dst)
    parsed = parse_type(dst) if isinstance(dst, str) else dst
    if isinstance(parsed, IntType) and s.signed and s.integer <= 0:
        a = _as_int_array(raw)
        neg = np.asarray(a < 0, dtype=bool)
        if neg.any():
            out = np.array(out, copy=True)
            out[neg] = _overflow_scalar(-1, as_fixed_type(parsed))
    return out


def _finish_dtype(out: np.ndarray, t: FixedType) -> np.ndarray:
    """int64 for every type whose raws fit; object only for ``ap_ufixed<64,...>``."""
    if not t.signed and t.width == 64:
        return out.astype(object)
    return out.astype(np.int64)


def quantize(x, t: FixedLike) -> np.ndarray:
    """Raw integers of ``x`` in type ``t`` (NUMERICS.md §2), exact for every mode.

    ``x``: a float32/float64/integer array or scalar (or an object array of Python ints).
    Float inputs are decomposed exactly (``x = M * 2**e`` with a 53-bit integer ``M``) and
    converted by the integer rule, so no float rounding happens anywhere. NaN raises
    ``InputError``; ±inf saturate under ``SAT``/``SAT_SYM`` (0 under ``SAT_ZERO``) and raise
    ``InputError`` under ``WRAP``, where there is no meaningful result.
    Returns int64 raws, or ``object`` raws (Python ints) for ``ap_ufixed<64,...>``.
    """
    ft = as_fixed_type(t)
    a = np.asarray(x)
    if a.dtype.kind in "iub" or a.dtype == object and _all_ints(a):
        return convert_raw(a, 0, ft)
    if a.dtype.kind != "f":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError(f"cannot quantize values of dtype {a.dtype} into {ft}") from None
    a = a.astype(np.float64, copy=False)
    finite = np.isfinite(a)
    if not finite.all():
        if np.isnan(a).any():
            raise InputError(
                f"NaN cannot be converted into {ft}; check the model inputs or the preceding "
                "layer for NaN values"
            )
        if ft.overflow is Overflow.WRAP:
            raise InputError(
                f"infinity cannot be converted into {ft}: wrap-around has no meaningful result; "
                "use a saturating overflow mode (AP_SAT) or finite inputs"
            )
    # Exact decomposition x = M * 2**(e - 53), |M| < 2**53. Infinity is 2**1024 (as ap_fixed).
    m, e = np.frexp(np.where(finite, a, np.copysign(0.5, a)))
    e = np.where(finite, e, 1025)
    mant = np.ldexp(m, 53).astype(np.int64)
    d = e.astype(np.int64) - 53 + ft.frac
    if not ft.signed and ft.width == 64:
        out = convert_raw(mant.astype(object), -(e.astype(np.int64) - 53), ft)
    else:
        out = _convert_i64(mant, d, ft)
    if isinstance(parse_type(t) if isinstance(t, str) else t, IntType):
        out = _ap_int_small_negative_quirk(a, out, ft)
    return out


def _ap_int_small_negative_quirk(a: np.ndarray, out: np.ndarray, t: FixedType) -> np.ndarray:
    """``ap_int<W>(x)`` for ``-0.5 < x < 0`` is 1 (wrapped to W bits), not 0.

    Xilinx ``ap_int_base(double)`` truncates the magnitude and negates it, but for exponents
    below -1 it takes the shortcut "negative -> -1" *before* negating, which yields +1. Real
    C simulations see that value, so the emulator and hlsforge's header reproduce it.
    """
    quirk = (a < 0) & (a > -0.5)
    if not quirk.any():
        return out
    one = _overflow_scalar(1, t)  # 1, or -1 for ap_int<1>
    out = out.copy()
    out[quirk] = one
    return out


def _all_ints(a: np.ndarray) -> bool:
    return all(isinstance(v, (int, np.integer)) for v in a.ravel())


def to_float(raw, t: FixedLike) -> np.ndarray:
    """Values of raw integers of type ``t`` as float64.

    Exact whenever the value is representable in float64 (|raw| < 2**53 and the exponent in
    the normal range). Raws wider than 53 bits are rounded to nearest, ties to even, once —
    the same result as ``ap_fixed::to_double()``.
    """
    ft = as_fixed_type(t)
    a = _as_int_array(raw)
    if a.dtype == object:
        flat = [math.ldexp(float(int(v)), -ft.frac) for v in a.ravel()]
        return np.array(flat, dtype=np.float64).reshape(a.shape)
    return np.ldexp(a.astype(np.float64), -ft.frac)


def cast(x, t: FixedLike) -> np.ndarray:
    """``x`` converted into ``t`` and back to float64: ``to_float(quantize(x, t), t)``."""
    return to_float(quantize(x, t), t)


# ---------------------------------------------------------------------------------------------
# comparisons (ap_fixed's relational operators)


def _cmp_rule(x: ResultType, y: ResultType) -> tuple[bool, bool, int]:
    """(unsigned_order, eq_modular, M) of ap_fixed's ``x OP y`` (mirrors hlsforge_fixed.h).

    ``ap_fixed`` aligns the binary points (the coarser operand grows; the left one by an
    extra bit), then compares integers with ap_private's "gcc rules": with exactly one signed
    side, if the unsigned side is at least as wide (and either is >= 32 bits), a negative value
    compares as larger than every unsigned one, and ``==`` holds modulo ``2**M``.
    """
    f1, f2 = x.frac, y.frac
    lw = x.width if f1 >= f2 else max(x.width + f2 - f1 + 1, 1)
    rw = max(y.width + f1 - f2, 1) if f1 > f2 else y.width
    mixed = x.signed != y.signed
    small = lw <= 64 and lw < 32 and rw < 32
    unsigned_order = mixed and not small and (rw >= lw if x.signed else lw >= rw)
    if lw <= 64:
        m = 64 if lw == rw else max(lw, rw, 32)  # equal widths: 64-bit extended values
    else:
        m = max(lw, rw)
    eq_modular = mixed and (rw >= m if x.signed else lw >= m)
    return unsigned_order, eq_modular, m


_OPS = ("<", "<=", ">", ">=", "==", "!=")


def compare_raw(op: str, a_raw, a_type: FixedLike | ResultType, b_raw, b_type: FixedLike | ResultType):
    """``a OP b`` exactly as ``ap_fixed`` (and hlsforge's header) evaluate it; a bool array.

    Exact for operands of one signedness, and for mixed signedness unless the unsigned side
    is wide (see ``_cmp_rule``): there ``ap_fixed`` follows C's rules and a negative signed
    value compares greater than every unsigned value. Kernels should compare values of one
    signedness; this function exists so that the emulator matches the C simulation anyway.
    """
    if op not in _OPS:
        raise ValueError(f"unknown comparison {op!r}; known: {', '.join(_OPS)}")
    x, y = ResultType.of(a_type), ResultType.of(b_type)
    a, b = np.broadcast_arrays(_as_int_array(a_raw), _as_int_array(b_raw))
    unsigned_order, eq_modular, m = _cmp_rule(x, y)
    lt, gt, eq = _compare_exact(a, x.frac, b, y.frac)
    a_neg = (a < 0) if x.signed else np.zeros(a.shape, bool)
    b_neg = (b < 0) if y.signed else np.zeros(b.shape, bool)
    if unsigned_order:
        lt = np.where(a_neg, False, np.where(b_neg, True, lt))
        gt = np.where(a_neg, True, np.where(b_neg, False, gt))
    if eq_modular and (a_neg.any() or b_neg.any()):
        mod = 1 << m
        ka, kb = max(y.frac - x.frac, 0), max(x.frac - y.frac, 0)
        modular = np.array(
            [((int(p) << ka) - (int(q) << kb)) % mod == 0 for p, q in zip(a.ravel(), b.ravel(), strict=True)],
            dtype=bool,
        ).reshape(a.shape)
        eq = np.where(a_neg | b_neg, modular, eq)
    return {"<": lt, "<=": ~gt, ">": gt, ">=": ~lt, "==": eq, "!=": ~eq}[op]


def _compare_exact(a: np.ndarray, fa: int, b: np.ndarray, fb: int):
    """(a < b, a > b, a == b) of ``a * 2**-fa`` and ``b * 2**-fb``, exactly."""
    if fa < fb:
        gt, lt, eq = _compare_exact(b, fb, a, fa)
        return lt, gt, eq
    k = fa - fb
    if a.dtype == object or b.dtype == object:
        pairs = [(int(p), int(q) << k) for p, q in zip(a.ravel(), b.ravel(), strict=True)]
        lt = np.array([p < q for p, q in pairs], bool).reshape(a.shape)
        gt = np.array([p > q for p, q in pairs], bool).reshape(a.shape)
        return lt, gt, ~(lt | gt)
    # floor a to b's LSB (no overflow), then the dropped bits break ties
    q = a >> min(k, 63)
    if k == 0:
        rest = np.zeros(a.shape, bool)
    elif k >= 64:
        rest = a != 0
    else:
        rest = (a.view(np.uint64) & np.uint64((1 << k) - 1)) != 0
    lt = q < b
    gt = (q > b) | ((q == b) & rest)
    return lt, gt, ~(lt | gt)
