"""quantize/fixed.py against an independent rational oracle of NUMERICS.md §2 (pure Python).

The oracle below is a direct transcription of the NUMERICS.md tables on exact ``Fraction``s,
written separately from the implementation; the implementation's agreement with the real
``ap_fixed.h`` is tested in test_header_vs_ap_fixed.py.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hlsforge.errors import InputError, PrecisionError
from hlsforge.ir.types import FixedType, IntType, Overflow, Rounding
from hlsforge.quantize import (
    ResultType,
    as_fixed_type,
    cast,
    compare_raw,
    convert_fixed,
    convert_raw,
    fixed_add_type,
    fixed_mul_type,
    fixed_neg_type,
    fixed_sub_type,
    quantize,
    quantize_exact,
    to_float,
)

# ---------------------------------------------------------------------------------------------
# the oracle (NUMERICS.md §2, read literally)


def oracle(v: Fraction, t: FixedType) -> int:
    s = Fraction(v) * Fraction(2) ** t.frac
    fl = math.floor(s)
    rem = s - fl
    half = Fraction(1, 2)
    qb = rem >= half
    rest = (rem - half if qb else rem) != 0
    neg = v < 0
    lsb = fl % 2 == 1
    q = t.rounding
    add = {
        Rounding.TRN: False,
        Rounding.TRN_ZERO: neg and (qb or rest),
        Rounding.RND: qb,
        Rounding.RND_ZERO: qb and (neg or rest),
        Rounding.RND_MIN_INF: qb and rest,
        Rounding.RND_INF: qb and (not neg or rest),
        Rounding.RND_CONV: qb and (lsb or rest),
    }[q]
    r = fl + int(add)
    lo = -(2 ** (t.width - 1)) if t.signed else 0
    hi = 2 ** (t.width - 1) - 1 if t.signed else 2**t.width - 1
    sym = t.overflow is Overflow.SAT_SYM and t.signed and t.width > 1
    if lo <= r <= hi:
        return -hi if sym and r == lo else r
    if t.overflow is Overflow.WRAP:
        return (r - lo) % 2**t.width + lo
    if t.overflow is Overflow.SAT_ZERO:
        return 0
    if r > hi:
        return hi
    return -hi if sym else lo


def fixed_types(max_width: int = 64) -> st.SearchStrategy[FixedType]:
    return st.builds(
        FixedType,
        width=st.integers(1, max_width),
        integer=st.integers(-8, 72),
        signed=st.booleans(),
        rounding=st.sampled_from(list(Rounding)),
        overflow=st.sampled_from(list(Overflow)),
    )


finite = st.floats(allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------------------------------------
# NUMERICS.md worked values


@pytest.mark.parametrize(
    "rounding, expected",
    [
        (Rounding.TRN, [1.0, -1.5, 0.5, -1.0]),
        (Rounding.RND, [1.5, -1.0, 1.0, -0.5]),
        (Rounding.RND_CONV, [1.0, -1.0, 1.0, -1.0]),
    ],
)
def test_worked_rounding_values(rounding, expected):
    t = FixedType(3, 2, True, rounding)
    assert cast([1.25, -1.25, 0.75, -0.75], t).tolist() == expected


@pytest.mark.parametrize(
    "overflow, expected",
    [
        (Overflow.WRAP, [3, -3, -7, 7, -8, -8]),
        (Overflow.SAT, [7, -8, 7, -8, 7, -8]),
        (Overflow.SAT_SYM, [7, -7, 7, -7, 7, -7]),
    ],
)
def test_worked_overflow_values(overflow, expected):
    t = FixedType(4, 4, True, Rounding.TRN, overflow)
    inputs = [19, -19, 9, -9, 8, -8]
    assert cast(np.array(inputs, np.float64), t).tolist() == expected
    assert quantize(np.array(inputs), t).tolist() == expected  # integer inputs too


# ---------------------------------------------------------------------------------------------
# properties


@settings(max_examples=150, deadline=None)
@given(fixed_types(), st.lists(finite, min_size=1, max_size=20))
def test_quantize_equals_oracle_on_floats(t, xs):
    got = quantize(np.array(xs), t)
    assert got.tolist() == [oracle(Fraction(x), t) for x in xs]


@settings(max_examples=120, deadline=None)
@given(fixed_types(), st.lists(st.integers(-(2**70), 2**70), min_size=1, max_size=20),
       st.integers(-80, 80))
def test_convert_raw_equals_oracle_of_exact_rational(t, raws, frac):
    expected = [oracle(Fraction(r) / Fraction(2) ** frac, t) for r in raws]
    got = convert_raw(np.array(raws, dtype=object), frac, t)
    assert [int(v) for v in got] == expected


@settings(max_examples=120, deadline=None)
@given(fixed_types(), st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20),
       st.integers(-90, 90))
def test_int64_fast_path_equals_oracle(t, raws, frac):
    a = np.array(raws, dtype=np.int64)
    expected = [oracle(Fraction(r) / Fraction(2) ** frac, t) for r in raws]
    got = convert_raw(a, frac, t)
    assert [int(v) for v in got] == expected
    # per-element frac (the path float inputs take)
    fracs = np.arange(len(raws)) % 7 - 3 + frac
    expected = [oracle(Fraction(r) / Fraction(2) ** int(f), t) for r, f in zip(raws, fracs, strict=True)]
    assert [int(v) for v in convert_raw(a, fracs, t)] == expected


@settings(max_examples=100, deadline=None)
@given(fixed_types(), st.lists(finite, min_size=2, max_size=30))
def test_quantize_is_monotone(t, xs):
    assume(t.overflow is not Overflow.WRAP)  # wrap-around is not monotone by design
    xs = sorted(xs)
    raws = [int(v) for v in quantize(np.array(xs), t)]
    if t.overflow is Overflow.SAT_ZERO:
        # monotone inside the range; out-of-range values go to 0
        inside = [r for x, r in zip(xs, raws, strict=True) if t.min <= Fraction(x) <= t.max]
        raws = inside
    assert raws == sorted(raws)


@settings(max_examples=100, deadline=None)
@given(fixed_types(), st.lists(st.floats(allow_nan=False), min_size=1, max_size=20))
def test_saturation_never_leaves_the_range(t, xs):
    t = FixedType(t.width, t.integer, t.signed, t.rounding, Overflow.SAT)
    raws = [int(v) for v in quantize(np.array(xs), t)]
    assert all(t.raw_min <= r <= t.raw_max for r in raws)
    sym = FixedType(t.width, t.integer, t.signed, t.rounding, Overflow.SAT_SYM)
    raws = [int(v) for v in quantize(np.array(xs), sym)]
    low = -sym.raw_max if sym.signed and sym.width > 1 else sym.raw_min
    assert all(low <= r <= sym.raw_max for r in raws)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 40), st.integers(-5, 30), st.integers(-(2**20), 2**20))
def test_rnd_conv_ties_go_to_even(width, integer, k):
    t = FixedType(width, integer, True, Rounding.RND_CONV, Overflow.WRAP)
    # raw 2k+1 with one more fractional bit is exactly (k + 1/2) LSB: a tie
    raw = int(convert_raw(np.array([2 * k + 1]), t.frac + 1, t)[0])
    even = k if k % 2 == 0 else k + 1
    assert raw == oracle(Fraction(even) * t.lsb, t)
    if t.raw_min <= even <= t.raw_max:
        assert raw == even


@settings(max_examples=100, deadline=None)
@given(fixed_types(53), st.lists(finite, min_size=1, max_size=10))
def test_cast_is_idempotent(t, xs):
    # a converted value is representable, so converting it again changes nothing
    # (SAT_SYM never produces the one code it would move)
    first = [int(v) for v in quantize(np.array(xs), t)]
    again = [int(v) for v in quantize(cast(np.array(xs), t), t)]
    assert again == first


def test_quantize_exact_agrees_with_oracle_on_non_dyadic_rationals():
    t = FixedType(8, 3, True, Rounding.RND_CONV, Overflow.SAT)
    for num in range(-300, 300, 7):
        v = Fraction(num, 3)
        assert quantize_exact(v, t) == oracle(v, t)


# ---------------------------------------------------------------------------------------------
# dtypes, edge inputs, errors


def test_dtypes_int64_and_object_for_ufixed64():
    assert quantize([1.5, -2.0], "ap_fixed<64,10>").dtype == np.int64
    assert quantize([1.5, 2.0], "ap_ufixed<63,10>").dtype == np.int64
    u = quantize([1.5, 1e300, -1.0], "ap_ufixed<64,64,AP_RND,AP_SAT>")
    assert u.dtype == object
    assert u.tolist() == [2, 2**64 - 1, 0]
    assert to_float(u, "ap_ufixed<64,64>").tolist() == [2.0, 2.0**64, 0.0]


def test_float32_and_scalar_inputs():
    t = FixedType(20, 1, True, Rounding.RND)
    x = np.float32(0.1)
    assert int(quantize(x, t)) == oracle(Fraction(float(x)), t)
    assert quantize(0.1, t).shape == ()


def test_nan_and_infinity():
    with pytest.raises(InputError, match="NaN"):
        quantize([1.0, float("nan")], "ap_fixed<8,3,AP_RND,AP_SAT>")
    with pytest.raises(InputError, match="infinity"):
        quantize([float("inf")], "ap_fixed<8,3>")
    sat = quantize([np.inf, -np.inf], "ap_fixed<8,3,AP_RND,AP_SAT>")
    assert sat.tolist() == [127, -128]
    assert quantize([np.inf, -np.inf], "ap_fixed<8,3,AP_RND,AP_SAT_SYM>").tolist() == [127, -127]
    assert quantize([np.inf, -np.inf], "ap_fixed<8,3,AP_RND,AP_SAT_ZERO>").tolist() == [0, 0]


def test_int_type_truncates_toward_zero_then_wraps():
    assert quantize([2.7, -2.7, 130.0, -129.5], IntType(8)).tolist() == [2, -2, -126, 127]
    assert quantize([-1.0, 256.0, 3.9], IntType(8, False)).tolist() == [255, 0, 3]
    assert as_fixed_type(IntType(8)) == FixedType(8, 8, True, Rounding.TRN_ZERO, Overflow.WRAP)
    # Xilinx ap_int quirk (reproduced on purpose, checked against ap_int.h): (-0.5, 0) -> 1
    assert quantize([-0.25, -1e-300, -0.5, -0.0], IntType(8)).tolist() == [1, 1, 0, 0]
    assert quantize([-0.25], IntType(1)).tolist() == [-1]


def test_bad_targets_and_inputs():
    with pytest.raises(PrecisionError):
        quantize(1.0, "float")
    with pytest.raises(PrecisionError):
        quantize(1.0, "ap_fixed<99,3>")
    with pytest.raises(InputError):
        convert_raw(np.array([1.5]), 0, "ap_fixed<8,3>")
    with pytest.raises(InputError):
        quantize(np.array(["a"]), "ap_fixed<8,3>")


def test_object_raws_that_fit_take_the_fast_path_and_agree():
    raws = [3, -7, 2**40, -(2**50) + 3]
    t = FixedType(12, 2, True, Rounding.RND_INF, Overflow.SAT)
    a = convert_raw(np.array(raws, dtype=object), 30, t)
    b = convert_raw(np.array(raws, dtype=np.int64), 30, t)
    assert a.dtype == np.int64 and a.tolist() == b.tolist()


def test_left_shift_overflow_detection_at_int64_edges():
    t = FixedType(64, 1, True, Rounding.TRN, Overflow.SAT)  # frac 63
    got = convert_raw(np.array([1, -1, 0, 2**62], dtype=np.int64), 0, t)
    assert got.tolist() == [t.raw_max, t.raw_min, 0, t.raw_max]
    w = FixedType(64, 1, True, Rounding.TRN, Overflow.WRAP)
    assert convert_raw(np.array([1, -1, 3]), 0, w).tolist() == [t.raw_min, t.raw_min, t.raw_min]
    assert convert_raw(np.array([5]), -200, FixedType(8, 8, True, overflow=Overflow.SAT)).tolist() == [127]


def test_convert_raw_is_vectorized_fast():
    import time

    rng = np.random.default_rng(0)
    raws = rng.integers(-(2**40), 2**40, size=1_000_000, dtype=np.int64)
    t = FixedType(16, 6, True, Rounding.RND_CONV, Overflow.SAT)
    start = time.perf_counter()
    convert_raw(raws, 30, t)
    assert time.perf_counter() - start < 1.0  # a loop over a million elements would take ~1 s+


# ---------------------------------------------------------------------------------------------
# arithmetic result types (NUMERICS.md §3)


def test_result_types_follow_ap_fixed_rules():
    a, b = FixedType(8, 3), FixedType(6, -1, False)
    assert fixed_mul_type(a, b) == ResultType(14, 2, True)
    # a + b: max(3 + 0, -1 + 1) + 1 = 4 integer bits, max(5, 7) = 7 fractional bits
    assert fixed_add_type(a, b) == ResultType(11, 4, True)
    assert fixed_sub_type(b, b) == ResultType(7, 0, True)
    assert fixed_add_type(b, b) == ResultType(7, 0, False)
    assert fixed_neg_type(a) == ResultType(9, 4, True)
    wide = fixed_mul_type("ap_fixed<64,32>", "ap_ufixed<64,1>")
    assert wide == ResultType(128, 33, True)
    with pytest.raises(PrecisionError):
        wide.as_fixed()
    assert fixed_mul_type(IntType(8), IntType(4, False)) == ResultType(12, 12, True)


@settings(max_examples=100, deadline=None)
@given(fixed_types(30), fixed_types(30), st.data())
def test_result_types_hold_every_exact_result(a, b, data):
    ra = data.draw(st.integers(a.raw_min, a.raw_max))
    rb = data.draw(st.integers(b.raw_min, b.raw_max))
    va, vb = ra * a.lsb, rb * b.lsb
    for op, rt in ((lambda x, y: x * y, fixed_mul_type(a, b)), (lambda x, y: x + y, fixed_add_type(a, b)),
                   (lambda x, y: x - y, fixed_sub_type(a, b))):
        exact = op(va, vb) * Fraction(2) ** rt.frac
        assert exact.denominator == 1
        lo = -(2 ** (rt.width - 1)) if rt.signed else 0
        hi = 2 ** (rt.width - 1) - 1 if rt.signed else 2**rt.width - 1
        assert lo <= exact.numerator <= hi


# ---------------------------------------------------------------------------------------------
# comparisons (ap_fixed's relational operators)

OPS = {"<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y,
       ">=": lambda x, y: x >= y, "==": lambda x, y: x == y, "!=": lambda x, y: x != y}


@settings(max_examples=100, deadline=None)
@given(fixed_types(64), fixed_types(64), st.booleans(), st.data())
def test_compare_raw_is_exact_for_one_signedness(a, b, signed, data):
    a = FixedType(a.width, a.integer, signed)
    b = FixedType(b.width, b.integer, signed)
    ra = data.draw(st.lists(st.integers(a.raw_min, a.raw_max), min_size=1, max_size=8))
    rb = data.draw(st.lists(st.integers(b.raw_min, b.raw_max), min_size=len(ra), max_size=len(ra)))
    for op, f in OPS.items():
        got = compare_raw(op, np.array(ra, dtype=object), a, np.array(rb, dtype=object), b)
        want = [f(x * a.lsb, y * b.lsb) for x, y in zip(ra, rb, strict=True)]
        assert got.tolist() == want, op


def test_compare_raw_reproduces_ap_fixed_mixed_signedness_rule():
    # small mixed operands: exact
    assert compare_raw("<", -128, "ap_fixed<8,3>", 0, "ap_ufixed<8,3>")
    # a wide unsigned side: C's rule, a negative value compares larger (checked against ap_fixed.h
    # in test_header_vs_ap_fixed.py)
    assert not compare_raw("<", -128, "ap_fixed<8,3>", 0, "ap_ufixed<64,64>")
    assert compare_raw(">", -128, "ap_fixed<8,3>", 0, "ap_ufixed<64,64>")
    # and == holds modulo 2**M: -4 == 2**64 - 4 here
    assert compare_raw("==", -128, "ap_fixed<8,3>", 2**64 - 4, "ap_ufixed<64,64>")
    with pytest.raises(ValueError):
        compare_raw("<>", 1, "ap_fixed<8,3>", 1, "ap_fixed<8,3>")


def test_convert_fixed_reproduces_ap_int_from_fractional_fixed():
    # ap_int<8> = ap_fixed<8,0>(-0.25) is -1 in ap_fixed (checked against ap_fixed.h in
    # test_header_vs_ap_fixed.py); positive values and I >= 1 sources truncate toward zero
    raws = np.array([-64, 64, -1])
    assert convert_fixed(raws, FixedType(8, 0), IntType(8)).tolist() == [-1, 0, -1]
    assert convert_fixed(np.array([-64]), FixedType(8, 1), IntType(8)).tolist() == [0]
    assert convert_fixed(raws, FixedType(8, 0), FixedType(8, 8)).tolist() == [-1, 0, -1]  # floor
    assert convert_fixed(np.array([-64]), FixedType(8, 0), IntType(8, False)).tolist() == [255]
