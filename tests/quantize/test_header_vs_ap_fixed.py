"""hlsforge_fixed.h and quantize/fixed.py against the real Xilinx ap_fixed.h, bit for bit.

Each test feeds cases to one compiled program that evaluates them with both ``ap_fixed`` and
``hlsforge::fixed_base`` (tests/cpp_harness.py) and checks three-way exact equality:
ap_fixed == hlsforge header == Python (``quantize`` / ``convert_raw`` / exact integers).

Coverage in the default run: every (rounding, overflow) pair on a core grid of shapes
(W = 1 and 64, I < 0, I > W, signed and unsigned), plus every grid shape on three mode pairs;
``-m slow`` sweeps the full product.
"""

from __future__ import annotations

import random
import struct
import zlib
from fractions import Fraction

import numpy as np
import pytest
from cpp_harness import ALL_MODES, CaseProgram, build_all, double_hex, parse_raw, raw_hex
from hypothesis import given, settings
from hypothesis import strategies as st

from hlsforge.ir.types import FixedType, IntType, Overflow, Rounding
from hlsforge.quantize import (
    as_fixed_type,
    compare_raw,
    convert_fixed,
    convert_raw,
    fixed_add_type,
    fixed_mul_type,
    fixed_sub_type,
    quantize,
)

# Every (rounding, overflow) pair on these shapes: signed on all, unsigned on the two extremes.
CORE_SHAPES = [(1, 1), (3, 2), (7, -2), (10, 13), (64, 20)]
CORE_UNSIGNED_SHAPES = [(1, 1), (64, 20)]
# Every grid shape, signed and unsigned, on two of these mode pairs (alternating).
GRID_SHAPES = [
    (1, 0), (1, -3), (1, 4), (2, 1), (2, 2), (5, 5), (6, 9), (8, 0), (8, 3), (8, 8), (12, -3),
    (13, 20), (16, 6), (24, 12), (31, 5), (32, 16), (33, 40), (40, 10), (53, 20), (63, 1),
    (64, -5), (64, 32), (64, 64), (64, 70),
]
GRID_MODES = [
    (Rounding.TRN, Overflow.WRAP),
    (Rounding.RND_CONV, Overflow.SAT),
    (Rounding.RND, Overflow.SAT_SYM),
    (Rounding.RND_ZERO, Overflow.SAT_ZERO),
]
INT_TYPES = [IntType(1), IntType(5, False), IntType(8), IntType(8, False), IntType(33), IntType(64),
             IntType(64, False)]


def types_for(shapes, modes, signs=(True, False)) -> list[FixedType]:
    return [FixedType(w, i, s, q, o) for (w, i) in shapes for s in signs for (q, o) in modes]


CORE_TYPES = types_for(CORE_SHAPES, ALL_MODES, (True,)) + types_for(CORE_UNSIGNED_SHAPES, ALL_MODES, (False,))
GRID_TYPES = [
    FixedType(w, i, s, q, o)
    for n, (w, i) in enumerate(GRID_SHAPES)
    for s in (True, False)
    for (q, o) in (GRID_MODES[n % 4], GRID_MODES[(n + 1 + s) % 4])
]

# casts: every mode as destination, each from one of a list of varied sources (rotating)
CAST_SOURCES = [
    FixedType(12, 5), FixedType(9, 3, False), FixedType(20, -1), FixedType(64, 30),
    FixedType(64, 64, False), FixedType(6, 10), FixedType(1, 1), FixedType(33, 7),
    FixedType(16, 16), FixedType(40, 2, False),
]
CAST_DEST_SHAPES = [(4, 2, True), (4, 2, False), (9, -1, True), (16, 20, False), (64, 31, True)]


def cast_pairs(sources_per_dest: int, dest_shapes) -> list[tuple]:
    pairs = []
    for n, (w, i, s) in enumerate(dest_shapes):
        for m, (q, o) in enumerate(ALL_MODES):
            dst = FixedType(w, i, s, q, o)
            for k in range(sources_per_dest):
                pairs.append((CAST_SOURCES[(n * 7 + m * 3 + k * 5) % len(CAST_SOURCES)], dst))
    return pairs


CAST_PAIRS = cast_pairs(1, CAST_DEST_SHAPES)
for _dst in INT_TYPES:
    for _src in (FixedType(12, 5), FixedType(8, 0), FixedType(64, 70, False), IntType(9)):
        CAST_PAIRS.append((_src, _dst))

ARITH_OPERANDS = [
    FixedType(8, 3), FixedType(8, 3, False), FixedType(1, 1), FixedType(1, 1, False),
    FixedType(6, -2), FixedType(5, 9, False), FixedType(16, 6), FixedType(32, 2),
    FixedType(64, 20), FixedType(64, 64, False), FixedType(64, -3), FixedType(40, 50, False),
]
ARITH_PAIRS_ALL = [(a, b) for k, a in enumerate(ARITH_OPERANDS) for b in ARITH_OPERANDS[k % 3::3]]
ARITH_PAIRS = ARITH_PAIRS_ALL[::3] + [(IntType(8), FixedType(8, 3)), (IntType(16, False), IntType(16))]
# mixed signedness where ap_fixed's C-like comparison rule applies
_MIXED = [
    (FixedType(32, 16), FixedType(32, 16, False)), (FixedType(33, 1, False), FixedType(31, 5)),
    (FixedType(20, 4), FixedType(40, 30, False)), (FixedType(64, 20, False), FixedType(12, -3)),
    (IntType(32), IntType(32, False)), (IntType(40, False), FixedType(10, 2)),
    (FixedType(8, 3), FixedType(64, 64, False)),
]
ARITH_PAIRS += _MIXED
ARITH_PAIRS_ALL += ARITH_PAIRS[len(ARITH_PAIRS_ALL[::3]):]

# accumulators in every mode: acc = acc + a*b
MAC_COMBOS_ALL = []
for _m, (_q, _o) in enumerate(ALL_MODES):
    MAC_COMBOS_ALL.append((FixedType(8, 3), FixedType(6, 1), FixedType(10, 4, True, _q, _o)))
    MAC_COMBOS_ALL.append((FixedType(9, 2, False), FixedType(12, -1), FixedType(7, 0, _m % 2 == 0, _q, _o)))
_MAC_WIDE = [
    (FixedType(32, 8), FixedType(32, 8), FixedType(64, 24, True, Rounding.RND_CONV, Overflow.SAT)),
    (FixedType(32, 16), FixedType(32, 1, False), FixedType(40, 40, True, Rounding.RND, Overflow.SAT_SYM)),
    (FixedType(31, 31, False), FixedType(33, 33, False), FixedType(64, 64, False, Rounding.TRN, Overflow.SAT)),
    (FixedType(1, 1), FixedType(1, 1), FixedType(1, 1, True, Rounding.RND, Overflow.SAT_SYM)),
]
MAC_COMBOS_ALL += _MAC_WIDE
# every mode once (alternating the two accumulator shapes), plus the wide ones
MAC_COMBOS = [MAC_COMBOS_ALL[2 * m + m % 2] for m in range(len(ALL_MODES))] + _MAC_WIDE

UNARY_TYPES_ALL = [FixedType(w, i, s) for (w, i) in [(1, 1), (3, 2), (8, 3), (8, -2), (6, 10), (16, 0),
                                                 (32, 16), (53, 20), (64, 20), (64, 64)]
               for s in (True, False)]
UNARY_TYPES = [t for k, t in enumerate(UNARY_TYPES_ALL) if (k // 2 + k) % 2 == 0]  # alternate signs


def _programs() -> dict[str, CaseProgram]:
    core = CaseProgram("hf_vs_ap_double_core")
    for t in CORE_TYPES:
        core.from_double(t)
    grid = CaseProgram("hf_vs_ap_double_grid")
    for t in GRID_TYPES + INT_TYPES + WORKED_TYPES:
        grid.from_double(t)
    casts = CaseProgram("hf_vs_ap_casts")
    for src, dst in CAST_PAIRS:
        casts.cast(src, dst)
    arith = CaseProgram("hf_vs_ap_arith")
    for a, b in ARITH_PAIRS:
        arith.arith(a, b)
    for a, b, c in MAC_COMBOS:
        arith.mac(a, b, c)
    for t in UNARY_TYPES:
        arith.unary(t)
    return {"core": core, "grid": grid, "casts": casts, "arith": arith}


@pytest.fixture(scope="module")
def programs():
    progs = _programs()
    build_all(list(progs.values()))
    return progs


# ---------------------------------------------------------------------------------------------
# values


def edge_doubles(t: FixedType | IntType) -> list[float]:
    """Ties, +-lsb, +-max, min, just outside the range, zeros, huge and tiny values."""
    ft = as_fixed_type(t)
    lsb = 2.0**-ft.frac
    mn, mx = float(ft.min), float(ft.max)
    anchors = [0.0, mn, mx, lsb, -lsb, 2 * lsb, -2 * lsb, 3 * lsb, -3 * lsb, mn + lsb, mx - lsb,
               -mx, 2 * mx, 2 * mn - lsb]
    offsets = [0.0, 0.5, -0.5, 0.25, -0.25, 0.75, -0.75, 1.0, -1.0, 1.5, -1.5]
    values = {a + o * lsb for a in anchors for o in offsets}
    values |= {1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1e30, -1e30, 1e-30, -1e-30, 5e-324,
               -5e-324, -0.0, 1e300, -1e300}
    if ft.overflow is not Overflow.WRAP:
        values |= {float("inf"), float("-inf")}
    return sorted(v for v in values if not np.isnan(v))


def random_doubles(t: FixedType | IntType, n: int, seed: int) -> list[float]:
    ft = as_fixed_type(t)
    rng = np.random.default_rng(seed)
    lsb = 2.0**-ft.frac
    span = max(abs(float(ft.min)), float(ft.max), lsb)
    uniform = rng.uniform(-2.5 * span, 2.5 * span, n)
    quarters = rng.integers(-(2**20), 2**20, n) * (lsb / 4)
    bits = rng.integers(0, 2**63, n, dtype=np.int64).view(np.float64)
    bits = bits[np.isfinite(bits)] * rng.choice([-1.0, 1.0], bits[np.isfinite(bits)].shape)
    return [float(v) for v in np.concatenate([uniform, quarters, bits])]


def check_from_double(prog: CaseProgram, types, values_for) -> int:
    lines, meta = [], []
    for t in types:
        idx = prog.from_double(t)
        for v in values_for(t):
            lines.append(f"d {idx} {double_hex(v)}")
            meta.append((t, v))
    results = prog.run(lines)
    expected_py = {}
    for t in types:
        vals = [v for (tt, v) in meta if tt == t]
        expected_py[t] = iter(quantize(np.array(vals), t).tolist())
    mismatches = []
    for (t, v), (ap, hf) in zip(meta, results, strict=True):
        ft = as_fixed_type(t)
        a = parse_raw(ap[0], ft.width, ft.signed)
        h = parse_raw(hf[0], ft.width, ft.signed)
        p = int(next(expected_py[t]))
        if not a == h == p:
            mismatches.append((str(t), v, a, h, p))
    assert not mismatches, f"{len(mismatches)} mismatches (type, value, ap, hlsforge, python): {mismatches[:10]}"
    return len(lines)


# ---------------------------------------------------------------------------------------------
# (a) construction from double: Python quantize == ap_fixed == hlsforge


def test_from_double_core_every_mode_on_edges_and_random(programs):
    n = check_from_double(programs["core"], CORE_TYPES,
                          lambda t: edge_doubles(t) + random_doubles(t, 40, zlib.crc32(str(t).encode())))
    assert n > 28 * 10 * 100


def test_from_double_grid_shapes_and_ints(programs):
    check_from_double(programs["grid"], GRID_TYPES + INT_TYPES,
                      lambda t: edge_doubles(t) + random_doubles(t, 30, 7))


def _worked_cases():
    return [
        (FixedType(3, 2, True, q), [1.25, -1.25, 0.75, -0.75], want)
        for q, want in [
            (Rounding.TRN, [1.0, -1.5, 0.5, -1.0]),
            (Rounding.RND, [1.5, -1.0, 1.0, -0.5]),
            (Rounding.RND_CONV, [1.0, -1.0, 1.0, -1.0]),
        ]
    ] + [
        (FixedType(4, 4, True, Rounding.TRN, o), [19.0, -19.0, 9.0, -9.0, 8.0, -8.0], want)
        for o, want in [
            (Overflow.WRAP, [3, -3, -7, 7, -8, -8]),
            (Overflow.SAT, [7, -8, 7, -8, 7, -8]),
            (Overflow.SAT_SYM, [7, -7, 7, -7, 7, -7]),
        ]
    ]


WORKED_TYPES = [t for t, _, _ in _worked_cases()]


def test_numerics_md_worked_values_in_ap_fixed_and_header(programs):
    prog = programs["grid"]
    lines, meta = [], []
    for t, inputs, want in _worked_cases():
        idx = prog.from_double(t)
        for x, w in zip(inputs, want, strict=True):
            lines.append(f"d {idx} {double_hex(x)}")
            meta.append((t, x, w))
    for (t, x, w), (ap, hf) in zip(meta, prog.run(lines), strict=True):
        lsb = 2.0**-t.frac
        assert parse_raw(ap[0], t.width, True) * lsb == w, (str(t), x, "ap_fixed")
        assert parse_raw(hf[0], t.width, True) * lsb == w, (str(t), x, "hlsforge")
        assert float(quantize(x, t)) * lsb == w, (str(t), x, "python")


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=8))
def test_from_double_hypothesis_values_on_every_core_type(programs, xs):
    check_from_double(programs["core"], CORE_TYPES, lambda t: xs)


# ---------------------------------------------------------------------------------------------
# (b) casts between types: convert_raw == ap_fixed == hlsforge


def raws_for(t: FixedType | IntType, rng: random.Random, n: int = 25) -> list[int]:
    """Edge raws (min, max, 0, +-1, halves) plus ``n`` uniform random raws of a type."""
    ft = as_fixed_type(t)
    lo, hi = ft.raw_min, ft.raw_max
    edges = {lo, hi, 0, 1, 2, -1, -2, lo + 1, hi - 1, hi // 2, lo // 2, hi // 2 + 1}
    rand = {rng.randint(lo, hi) for _ in range(n)}
    return sorted(r for r in edges | rand if lo <= r <= hi)


def _check_casts(prog: CaseProgram, lines, meta) -> None:
    mismatches = []
    for (src, dst, r), (ap, hf) in zip(meta, prog.run(lines), strict=True):
        fd = as_fixed_type(dst)
        a = parse_raw(ap[0], fd.width, fd.signed)
        h = parse_raw(hf[0], fd.width, fd.signed)
        p = int(convert_fixed(np.array([r], dtype=object), src, dst)[0])
        if not a == h == p:
            mismatches.append((str(src), str(dst), r, a, h, p))
    assert not mismatches, f"{len(mismatches)} mismatches (src, dst, raw, ap, hlsforge, python): {mismatches[:10]}"


def test_casts_between_types(programs):
    prog = programs["casts"]
    rng = random.Random(1)
    lines, meta = [], []
    for src, dst in CAST_PAIRS:
        idx = prog.cast(src, dst)
        for r in raws_for(src, rng, 40):
            lines.append(f"c {idx} {raw_hex(r, src.width)}")
            meta.append((src, dst, r))
    _check_casts(prog, lines, meta)


# ---------------------------------------------------------------------------------------------
# arithmetic: exact results and result types


def test_exact_arithmetic_and_comparisons(programs):
    check_arith(programs["arith"], ARITH_PAIRS)


def check_arith(prog: CaseProgram, pairs) -> None:
    rng = random.Random(2)
    lines, meta = [], []
    for a, b in pairs:
        idx = prog.arith(a, b)
        ra_list, rb_list = raws_for(a, rng, 8), raws_for(b, rng, 8)
        for k in range(40):
            ra, rb = ra_list[k % len(ra_list)], rb_list[(k * 7) % len(rb_list)]
            lines.append(f"a {idx} {raw_hex(ra, a.width)} {raw_hex(rb, b.width)}")
            meta.append((a, b, ra, rb))
    for (a, b, ra, rb), (ap, hf) in zip(meta, prog.run(lines), strict=True):
        fa, fb = as_fixed_type(a), as_fixed_type(b)
        mt, st_, dt = fixed_mul_type(a, b), fixed_add_type(a, b), fixed_sub_type(a, b)
        va, vb = Fraction(ra) * fa.lsb, Fraction(rb) * fb.lsb
        two = Fraction(2)
        want = [va * vb * two**mt.frac, (va + vb) * two**st_.frac, (va - vb) * two**dt.frac]
        flags = "".join(str(int(compare_raw(op, ra, a, rb, b))) for op in ("<", "<=", ">", ">=", "==", "!="))
        if a.signed == b.signed:  # exact then; mixed signedness follows ap_fixed's C-like rule
            exact = "".join(str(int(c)) for c in (va < vb, va <= vb, va > vb, va >= vb, va == vb, va != vb))
            assert flags == exact
        for tokens, who in ((ap, "ap_fixed"), (hf, "hlsforge")):
            got = [parse_raw(tokens[i], t.width, t.signed) for i, t in enumerate((mt, st_, dt))]
            assert got == want, (who, str(a), str(b), ra, rb)
            assert tokens[3] == flags, (who, "comparison", str(a), str(b), ra, rb)


def test_accumulation_into_declared_types(programs):
    check_mac(programs["arith"], MAC_COMBOS)


def check_mac(prog: CaseProgram, combos) -> None:
    rng = random.Random(3)
    lines, meta = [], []
    for a, b, c in combos:
        idx = prog.mac(a, b, c)
        pool_a, pool_b, pool_c = raws_for(a, rng, 6), raws_for(b, rng, 6), raws_for(c, rng, 4)
        for _ in range(12):
            n = rng.randint(1, 8)
            init = rng.choice(pool_c)
            ras = [rng.choice(pool_a) for _ in range(n)]
            rbs = [rng.choice(pool_b) for _ in range(n)]
            pairs = " ".join(f"{raw_hex(x, a.width)} {raw_hex(y, b.width)}" for x, y in zip(ras, rbs, strict=True))
            lines.append(f"m {idx} {raw_hex(init, c.width)} {n:x} {pairs}")
            meta.append((a, b, c, init, ras, rbs))
    for (a, b, c, init, ras, rbs), (ap, hf) in zip(meta, prog.run(lines), strict=True):
        # Python: exact product, exact sum in the sum type, convert into the accumulator
        acc = init
        for x, y in zip(ras, rbs, strict=True):
            prod_frac = a.frac + b.frac
            frac = max(c.frac, prod_frac)
            total = (acc << (frac - c.frac)) + ((x * y) << (frac - prod_frac))
            acc = int(convert_raw(np.array([total], dtype=object), frac, c)[0])
        got = [parse_raw(tok, c.width, c.signed) for tok in ap + hf]
        assert got == [acc] * 4, (str(a), str(b), str(c), init, ras, rbs, got, acc)


def test_unary_minus_shifts_and_c_conversions(programs):
    check_unary(programs["arith"], UNARY_TYPES)


def check_unary(prog: CaseProgram, types) -> None:
    rng = random.Random(4)
    lines, meta = [], []
    for t in types:
        idx = prog.unary(t)
        for r in raws_for(t, rng, 20):
            lines.append(f"u {idx} {raw_hex(r, t.width)}")
            meta.append((t, r))
    for (t, r), (ap, hf) in zip(meta, prog.run(lines), strict=True):
        # hlsforge == ap_fixed on every token (raws printed as bits; conversions as bits),
        # except to_int()/to_int64() for I < 0, which read an uninitialized value in ap_fixed
        skip = {7, 8} if t.integer < 0 else set()
        assert [x for k, x in enumerate(ap) if k not in skip] == [x for k, x in enumerate(hf) if k not in skip], (
            str(t), r, ap, hf)
        neg = parse_raw(ap[0], t.width + 1, True)
        assert neg == -r
        k1 = 1 if t.width > 1 else 0
        k3 = 3 if t.width > 3 else k1
        assert parse_raw(ap[1], t.width, t.signed) == int(convert_raw(np.array([r << k1], dtype=object), 0,
                                                                      FixedType(t.width, t.width, t.signed))[0])
        assert parse_raw(ap[3], t.width, t.signed) == r >> k1
        assert parse_raw(ap[4], t.width, t.signed) == r >> k3
        if t.width <= 53:
            d = struct.unpack("<d", struct.pack("<Q", int(ap[5], 16)))[0]
            assert d == float(Fraction(r) * t.lsb)


# ---------------------------------------------------------------------------------------------
# the full products (slow)


@pytest.mark.slow
def test_full_arithmetic_sweep():
    prog = CaseProgram("hf_vs_ap_arith_sweep")
    for a, b in ARITH_PAIRS_ALL:
        prog.arith(a, b)
    for a, b, c in MAC_COMBOS_ALL:
        prog.mac(a, b, c)
    for t in UNARY_TYPES_ALL:
        prog.unary(t)
    check_arith(prog, ARITH_PAIRS_ALL)
    check_mac(prog, MAC_COMBOS_ALL)
    check_unary(prog, UNARY_TYPES_ALL)


@pytest.mark.slow
def test_full_cast_sweep():
    shapes = CAST_DEST_SHAPES + [(1, 1, True), (1, 0, False), (33, 40, True), (64, 64, False)]
    pairs = cast_pairs(3, shapes)
    rng = random.Random(5)
    for chunk in range(4):
        prog = CaseProgram(f"hf_vs_ap_cast_sweep_{chunk}")
        part = pairs[chunk::4]
        lines, meta = [], []
        for src, dst in part:
            idx = prog.cast(src, dst)
            for r in raws_for(src, rng, 40):
                lines.append(f"c {idx} {raw_hex(r, src.width)}")
                meta.append((src, dst, r))
        _check_casts(prog, lines, meta)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(6))
def test_full_sweep_every_mode_every_shape(chunk):
    shapes = sorted(set(GRID_SHAPES + CORE_SHAPES))
    all_types = types_for(shapes, ALL_MODES)
    part = all_types[chunk::6]
    prog = CaseProgram(f"hf_vs_ap_sweep_{chunk}")
    for t in part:
        prog.from_double(t)
    check_from_double(prog, part, lambda t: edge_doubles(t) + random_doubles(t, 20, 11))
