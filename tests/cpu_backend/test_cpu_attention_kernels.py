"""The register-tiled BatchMatMul and the vectorized erf/GELU of the CPU backend: shapes whose
columns are and are not whole vectors (and the large-block fallback), and the accuracy of erf
against libm's over its whole range, NaN and infinities included."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hlsforge import cpu_backend
from hlsforge.ir import Graph, Op
from hlsforge.ir.ops import GeluAttrs

SHAPES = [(1, 3, 5), (5, 16, 30), (7, 16, 8), (4, 30, 16), (6, 9, 33), (3, 5, 40), (2, 130, 130)]


def _matmul(m: int, k: int, n: int) -> Graph:
    g = Graph(f"bmm_{m}_{k}_{n}")
    g.add_input("a", (2, m, k))
    g.add_input("b", (2, k, n))
    node = g.add_node(Op.BATCH_MATMUL, ["a", "b"], source_name="mm")
    g.outputs = node.outputs
    return g.validate()


def _unary(op: Op, attrs: object = None) -> Graph:
    g = Graph(f"unary_{op.value.lower()}_{getattr(attrs, 'approximate', '')}")
    g.add_input("x", (4096,))
    node = g.add_node(op, ["x"], attrs=attrs, source_name="f")
    g.outputs = node.outputs
    return g.validate()


@pytest.fixture(scope="module")
def models():
    graphs = [_matmul(*s) for s in SHAPES] + [_unary(Op.ERF), _unary(Op.GELU, GeluAttrs()),
                                              _unary(Op.GELU, GeluAttrs("tanh"))]
    return dict(zip([g.name for g in graphs], cpu_backend.compile_models(graphs), strict=True))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_batch_matmul_matches_numpy(models, shape):
    m, k, n = shape
    rng = np.random.default_rng(m * k * n)
    for batch in (1, 3):
        a = rng.normal(size=(batch, 2, m, k)).astype(np.float32)
        b = rng.normal(size=(batch, 2, k, n)).astype(np.float32)
        got = models[f"bmm_{m}_{k}_{n}"].predict({"a": a, "b": b})
        want = np.matmul(a.astype(np.float64), b.astype(np.float64))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * math.sqrt(k))


def test_erf_is_accurate_over_its_range(models):
    x = np.concatenate([np.linspace(-6, 6, 4096 * 8 - 6), [0.0, -0.0, 1e-30, np.inf, -np.inf, np.nan]])
    x = x.astype(np.float32).reshape(-1, 4096)
    got = models["unary_erf_"].predict(x).ravel()
    xs = x.ravel().astype(np.float64)
    want = np.array([math.erf(v) if not math.isnan(v) else math.nan for v in xs])
    finite = ~np.isnan(xs)
    err = np.abs(got[finite] - want[finite])
    assert np.all(err <= 2.5e-7 * np.abs(want[finite]) + 1e-7), float(err.max())
    assert np.isnan(got[~finite]).all()
    assert got[xs == np.inf][0] == 1.0 and got[xs == -np.inf][0] == -1.0


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_the_formula(models, approximate):
    x = np.linspace(-8, 8, 4096).astype(np.float32)[None]
    got = models[f"unary_gelu_{approximate}"].predict(x).ravel()
    xs = x.ravel().astype(np.float64)
    if approximate == "tanh":
        want = 0.5 * xs * (1 + np.tanh(math.sqrt(2 / math.pi) * (xs + 0.044715 * xs**3)))
    else:
        want = 0.5 * xs * (1 + np.array([math.erf(v / math.sqrt(2)) for v in xs]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
