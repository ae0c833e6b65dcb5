"""Precision strings (NUMERICS.md §1): every text form parses, prints and round-trips."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hlsforge.errors import PrecisionError
from hlsforge.ir.types import FixedType, FloatType, IntType, Overflow, Rounding, parse_type


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ap_fixed<16,6>", FixedType(16, 6)),
        ("ap_fixed<16,6,AP_RND_CONV,AP_SAT>", FixedType(16, 6, True, Rounding.RND_CONV, Overflow.SAT)),
        ("ap_fixed< 8 , 3 , AP_RND >", FixedType(8, 3, True, Rounding.RND)),
        ("ap_ufixed<8,3>", FixedType(8, 3, False)),
        ("fixed<16,6,RND,SAT>", FixedType(16, 6, True, Rounding.RND, Overflow.SAT)),
        ("ufixed<4,-2,TRN_ZERO,SAT_SYM>", FixedType(4, -2, False, Rounding.TRN_ZERO, Overflow.SAT_SYM)),
        ("ap_fixed<4,9,AP_RND_MIN_INF,AP_SAT_ZERO,0>", FixedType(4, 9, True, Rounding.RND_MIN_INF, Overflow.SAT_ZERO)),
        ("ap_int<8>", IntType(8)),
        ("ap_uint<4>", IntType(4, False)),
        ("int<8>", IntType(8)),
        ("float", FloatType(32)),
        ("double", FloatType(64)),
        ("auto", None),
    ],
)
def test_parse_every_text_form(text, expected):
    assert parse_type(text) == expected


@pytest.mark.parametrize(
    "bad",
    ["ap_fixed<16>", "ap_fixed<0,0>", "ap_fixed<65,2>", "ap_fixed<16,6,AP_ROUND>", "ap_fixed<a,b>",
     "apfixed<16,6>", "ap_fixed<16,6,AP_RND,AP_CLAMP>", "ap_fixed<16,6,AP_RND,AP_SAT,3>", "", "ap_int<0>", 16],
)
def test_invalid_precision_says_what_was_expected(bad):
    with pytest.raises(PrecisionError) as e:
        parse_type(bad)
    message = str(e.value)
    assert str(bad).strip() in message or "expected" in message


def test_range_and_lsb_are_exact():
    t = FixedType(3, 2)
    assert t.lsb == Fraction(1, 2) and t.min == -2 and t.max == Fraction(3, 2)
    u = FixedType(4, -2, False)
    assert u.lsb == Fraction(1, 64) and u.min == 0 and u.max == Fraction(15, 64)
    assert FixedType(1, 1).raw_min == -1 and FixedType(1, 1).raw_max == 0
    assert IntType(8, False).as_fixed() == FixedType(8, 8, False, Rounding.TRN_ZERO, Overflow.WRAP)


modes = st.tuples(st.sampled_from(list(Rounding)), st.sampled_from(list(Overflow)))


@given(st.integers(1, 64), st.integers(-20, 80), st.booleans(), modes)
def test_print_parse_round_trip_and_hash(width, integer, signed, mode):
    t = FixedType(width, integer, signed, *mode)
    again = parse_type(str(t))
    assert again == t and hash(again) == hash(t)
