"""Quantize (a cast into a fixed-point type) on the CPU backend: exact, every mode.

Two independent oracles: the worked examples of NUMERICS.md (checked against Xilinx's own
headers) and hlsforge's Python implementation of the cast (``quantize.fixed.cast``), which
converts by integer arithmetic on the exact float decomposition - a different algorithm from
the C++ one (double arithmetic). Equality is exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from hlsforge import cpu_backend, reference
from hlsforge.ir import FixedType, Graph, IntType, Op, Overflow, QuantizeAttrs, Rounding

fixed = pytest.importorskip("hlsforge.quantize.fixed")

MODES = [(q, o) for q in Rounding for o in Overflow]
EXTRA = [
    FixedType(5, 3, False, Rounding.RND, Overflow.SAT),
    FixedType(1, 1, True, Rounding.RND_CONV, Overflow.SAT_SYM),
    FixedType(1, 0, False, Rounding.RND_INF, Overflow.WRAP),
    FixedType(8, -2, True, Rounding.RND_CONV, Overflow.SAT_SYM),
    FixedType(10, 14, True, Rounding.RND_ZERO, Overflow.WRAP),
    FixedType(40, 20, True, Rounding.RND, Overflow.WRAP),
    FixedType(60, 30, True, Rounding.RND_MIN_INF, Overflow.SAT),
    FixedType(64, 40, False, Rounding.TRN, Overflow.WRAP),
    FixedType(64, 64, True, Rounding.TRN_ZERO, Overflow.SAT_SYM),
    IntType(4),
    IntType(3, signed=False),
    IntType(1),
]
TYPES = [FixedType(6, 2, True, q, o) for q, o in MODES] + EXTRA


def casts_graph(types, n: int) -> Graph:
    g = Graph("quantize_modes")
    g.add_input("x", (n,))
    outs = []
    for i, t in enumerate(types):
        node = g.add_node(Op.QUANTIZE, ["x"], [f"q{i}"], attrs=QuantizeAttrs(t), source_name=f"q{i}")
        outs += node.outputs
    g.outputs = outs
    return g.validate()


def probe_values(rng: np.random.Generator) -> np.ndarray:
    """Ties and near-ties at many scales, random values, zeros and out-of-range magnitudes."""
    k = np.arange(-80, 81)
    vals = [k / 8.0, k / 16.0, k / 4.0 + 1 / 64.0, k * 3.0, k * 1e6, [0.0, -0.0, 1e-30, -1e-30, -0.25, -0.5]]
    vals.append(rng.normal(size=300) * 10.0)
    vals.append(rng.normal(size=100) * 1e12)
    v = np.concatenate([np.asarray(a, np.float64).ravel() for a in vals]).astype(np.float32)
    return v


@pytest.fixture(scope="module")
def model_and_x():
    x = probe_values(np.random.default_rng(7))
    g = casts_graph(TYPES, x.size)
    return g, cpu_backend.compile_models([g])[0], x


def test_every_mode_matches_the_exact_cast(model_and_x):
    g, model, x = model_and_x
    got = model.predict(x[None])
    for i, t in enumerate(TYPES):
        want = np.asarray(fixed.cast(x.astype(np.float64), t), np.float64).astype(np.float32)
        np.testing.assert_array_equal(got[f"q{i}"][0], want, err_msg=str(t))


def test_reference_agrees(model_and_x):
    g, model, x = model_and_x
    ref = reference.run(g, x[None])
    got = model.predict(x[None])
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)


NUMERICS_CASES = [
    # NUMERICS.md section 2, worked checks (from the real ap_fixed headers)
    (FixedType(3, 2, True, Rounding.TRN), [1.25, -1.25, 0.75, -0.75], [1.0, -1.5, 0.5, -1.0]),
    (FixedType(3, 2, True, Rounding.RND), [1.25, -1.25, 0.75, -0.75], [1.5, -1.0, 1.0, -0.5]),
    (FixedType(3, 2, True, Rounding.RND_CONV), [1.25, -1.25, 0.75, -0.75], [1.0, -1.0, 1.0, -1.0]),
    (FixedType(4, 4, True, overflow=Overflow.WRAP), [19, -19, 9, -9, 8, -8], [3, -3, -7, 7, -8, -8]),
    (FixedType(4, 4, True, overflow=Overflow.SAT), [19, -19, 9, -9, 8, -8], [7, -8, 7, -8, 7, -8]),
    (FixedType(4, 4, True, overflow=Overflow.SAT_SYM), [19, -19, 9, -9, 8, -8], [7, -7, 7, -7, 7, -7]),
]


def test_numerics_worked_examples():
    graphs = []
    for t, xs, _ in NUMERICS_CASES:
        g = casts_graph([t], len(xs))
        g.name = f"numerics_{len(graphs)}"
        graphs.append(g)
    models = cpu_backend.compile_models(graphs)
    for (t, xs, want), m in zip(NUMERICS_CASES, models, strict=True):
        got = m.predict(np.asarray([xs], np.float32))
        np.testing.assert_array_equal(got[0], np.asarray(want, np.float32), err_msg=str(t))
