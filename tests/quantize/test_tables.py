"""Lookup tables: index arithmetic, entries, default intervals, options and errors."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from hlsforge.errors import PrecisionError
from hlsforge.ir import Graph
from hlsforge.ir.serialize import load as load_ir
from hlsforge.ir.serialize import save as save_ir
from hlsforge.ir.types import FixedType, Overflow, Rounding, parse_type
from hlsforge.quantize.fixed import quantize_exact
from hlsforge.quantize.tables import FUNCTIONS, TableSpec, build_table

T = parse_type
LIPSCHITZ = {"sigmoid": 0.25, "tanh": 1.0, "exp": 1.0, "softplus": 1.0, "elu": 1.0, "selu": 1.76}
PARAMS = {"elu": (1.0,), "selu": (1.6732632423543772, 1.0507009873554805)}


def _all_codes(t: FixedType) -> np.ndarray:
    return np.arange(t.raw_min, t.raw_max + 1, dtype=np.int64)


@pytest.mark.parametrize("function", ["sigmoid", "tanh", "softplus", "elu", "selu", "exp"])
@pytest.mark.parametrize("index", ["ap_fixed<8,3>", "ap_fixed<12,5>", "ap_ufixed<9,4>"])
def test_index_and_entries_follow_the_stated_formulas(function: str, index: str) -> None:
    it, et = T(index), T("ap_fixed<12,3,AP_RND>")
    spec = build_table(function, it, et, params=PARAMS.get(function, ()))
    n, k = spec.size, spec.shift
    assert n & (n - 1) == 0 and n <= 1024
    codes = _all_codes(it)
    want_idx = np.clip((codes - spec.lo_raw) // (1 << k), 0, n - 1)  # floor division: the shift
    np.testing.assert_array_equal(spec.index(codes), want_idx)
    np.testing.assert_array_equal(spec.lookup(codes), spec.entries[want_idx])
    # entry i = cast(clamp(f(centre_i))), centre = midpoint of the codes mapped to i
    lsb = Fraction(1, 2**it.frac)
    f = FUNCTIONS[function]
    for i in range(0, n, max(1, n // 64)):
        centre = (spec.lo_raw + i * 2**k + Fraction(2**k - 1, 2)) * lsb
        y = float(f(np.float64(float(centre)), PARAMS.get(function, ())))
        y = min(max(y, float(et.min)), float(et.max))
        assert spec.entries[i] == quantize_exact(y, et), (i, float(centre))


@pytest.mark.parametrize("function", ["sigmoid", "tanh", "softplus", "elu", "selu", "exp"])
def test_default_tables_are_accurate_over_the_whole_input_type(function: str) -> None:
    it, et = T("ap_fixed<14,5>"), T("ap_fixed<16,4,AP_RND>")
    spec = build_table(function, it, et, params=PARAMS.get(function, ()))
    x = _all_codes(it)
    if function in ("elu", "selu"):
        x = x[x < 0]
    if function == "exp":
        x = x[x <= 0]
    xv = x * 2.0**-it.frac
    truth = np.clip(FUNCTIONS[function](xv, PARAMS.get(function, ())), float(et.min), float(et.max))
    err = np.abs(spec.values()[spec.index(x)] - truth)
    bound = LIPSCHITZ[function] * float(spec.step) / 2 + 2.0**-et.frac  # midpoint + entry rounding
    assert err.max() <= bound


def test_default_interval_is_the_unsaturated_part_of_the_input_range() -> None:
    it, et = T("ap_fixed<16,8>"), T("ap_fixed<16,6>")
    sig = build_table("sigmoid", it, et)
    # sigmoid is within half an entry LSB of 0 / 1 beyond ±(frac+1)·ln 2 = ±7.62
    assert -7.7 < sig.lo < -7.6 and sig.hi > 7.62 and sig.hi < 8.5
    assert sig.size == 1024 and sig.step == Fraction(1, 64)
    tiny = build_table("sigmoid", T("ap_fixed<6,3>"), et)  # 64 codes: one entry each
    assert tiny.size == 64 and tiny.shift == 0 and tiny.lo_raw == -32
    soft = build_table("softplus", it, et)
    assert soft.hi >= it.max  # softplus does not saturate above: the whole upper range


@pytest.mark.parametrize("function", ["exp", "elu", "selu"])
def test_tables_with_a_hard_upper_end_end_there(function: str) -> None:
    it = T("ap_fixed<13,5>") if function != "exp" else T("ap_fixed<13,5>")
    spec = build_table(function, it, T("ap_fixed<16,6>"), params=PARAMS.get(function, ()))
    end = Fraction(1, 2**it.frac) if function == "exp" else Fraction(0)  # exp covers d = 0
    assert spec.hi == end
    assert spec.index(np.array([int(end * 2**it.frac) - 1]))[0] == spec.size - 1


def test_explicit_size_and_range() -> None:
    it = T("ap_fixed<16,6>")
    spec = build_table("tanh", it, T("ap_fixed<16,2>"), size=256, interval=(-3.3, 2.5))
    assert spec.size == 256
    assert spec.lo == Fraction(math.floor(-3.3 * 1024), 1024)
    assert spec.hi >= 2.5 and (spec.hi - spec.lo) / spec.step == 256
    assert spec.step == Fraction(1, 32)  # 5.8 units / 256 entries -> the next power-of-two step


def test_entries_are_clamped_into_the_entry_type() -> None:
    spec = build_table("tanh", T("ap_fixed<12,4>"), T("ap_fixed<8,1,AP_RND>"))  # tanh -> 1 would wrap
    assert spec.entries.max() == 127 and spec.entries.min() == -128
    rec = build_table("reciprocal", T("ap_ufixed<10,4>"), T("ap_fixed<10,3>"), raw_interval=(0, 1024))
    assert rec.entries.max() == 511  # 1/0 and 1/tiny clamp to the largest entry


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(size=100), r"power of two"),
        (dict(size=1024), r"needs a 10-bit index, wider than its 8-bit input"),
        (dict(interval=(2.0, 1.0)), r"lo < hi"),
        (dict(interval=(50.0, 60.0)), r"outside the range"),
    ],
)
def test_build_errors(kwargs, match) -> None:
    with pytest.raises(PrecisionError, match=match):
        build_table("sigmoid", T("ap_fixed<8,3>"), T("ap_fixed<10,2>"), where="node 'x'", **kwargs)
    with pytest.raises(PrecisionError, match="unknown table function"):
        build_table("cosh", T("ap_fixed<8,3>"), T("ap_fixed<10,2>"))
    with pytest.raises(PrecisionError, match="at most 53 bits"):
        build_table("sigmoid", T("ap_fixed<8,3>"), T("ap_fixed<60,2>"))


def test_table_specs_round_trip_through_the_ir_files(tmp_path) -> None:
    spec = build_table("selu", T("ap_fixed<10,4>"), FixedType(12, 3, True, Rounding.RND_CONV, Overflow.SAT),
                       params=PARAMS["selu"])
    g = Graph("t")
    g.add_input("x", (2,))
    n = g.add_node(__import__("hlsforge.ir", fromlist=["Op"]).Op.RELU, ["x"])
    n.options["table"] = spec
    g.outputs = n.outputs
    back = load_ir(save_ir(g, tmp_path / "g.json")).nodes[0].options["table"]
    assert isinstance(back, TableSpec) and back == spec
    assert back.entries.dtype == np.int64
    assert "selu table: 512 entries" in spec.describe()
