"""Float acceptance: ``reference.run`` equals each library's margin and the leaf reached in
every tree equals the library's ``apply`` / ``pred_leaf`` on 10^5 inputs, including values
exactly at thresholds, NaN and ±inf where the library defines them.

Summation order: sklearn and LightGBM accumulate in float64 tree by tree (base first), and so
does the reference, so the float32-rounded margins are *equal*. XGBoost accumulates in float32
in the same order, but its JSON stores ``base_score`` with 8 significant digits, so margins
agree to within 2 float32 ulps; ONNX Runtime sums in float32 in its own order (a few ulps).
"""

from __future__ import annotations

import numpy as np
import pytest
from tree_cases import lightgbm_model, probe_inputs, sklearn_model, xgboost_model

import hlsforge
from hlsforge import reference
from hlsforge.trees import apply

N = 100_000


def _attrs(graph):
    return graph.nodes[0].attrs


def _inputs(graph, *, nan, inf, n=N):
    a = _attrs(graph)
    return probe_inputs(a.threshold, a.feature, n, nan=nan, inf=inf)


SKLEARN = [
    (kind, target)
    for kind in ("DecisionTree", "RandomForest", "ExtraTrees", "GradientBoosting", "HistGradientBoosting")
    for target in ("binary", "multiclass", "regression")
]


@pytest.mark.parametrize("kind,target", SKLEARN)
def test_sklearn_margin_and_leaves(kind, target):
    model = sklearn_model(kind, target)
    g = hlsforge.load(model)
    nan = kind != "GradientBoosting"
    x = _inputs(g, nan=nan, inf=kind == "HistGradientBoosting")
    got = reference.run(g, x)
    xd = x.astype(np.float64)
    if hasattr(model, "decision_function"):
        want = model.decision_function(xd)
    elif hasattr(model, "predict_proba"):
        want = model.predict_proba(xd)
    else:
        want = model.predict(xd)
    np.testing.assert_array_equal(got, np.asarray(want, np.float64).reshape(got.shape).astype(np.float32))
    if hasattr(model, "apply"):
        np.testing.assert_array_equal(apply(g, x), np.asarray(model.apply(x)).reshape(len(x), -1))


@pytest.mark.parametrize("kind,target", [("GradientBoosting", "multiclass"), ("HistGradientBoosting", "binary"),
                                         ("RandomForest", "binary")])
def test_sklearn_proba(kind, target):
    model = sklearn_model(kind, target)
    g = hlsforge.load(model, output="proba")
    x = _inputs(g, nan=False, inf=False, n=5000)
    got = reference.run(g, x)
    want = model.predict_proba(x)
    if got.shape[1] == 1:
        want = want[:, 1:]
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-7)


def _ulps(got, want):
    return np.max(np.abs(got.astype(np.float64) - want) / np.spacing(np.maximum(np.abs(want), 1).astype(np.float32)))


@pytest.mark.parametrize("objective", ["binary:logistic", "multi:softprob", "reg:squarederror"])
def test_xgboost_margin_and_leaves(objective):
    import xgboost as xgb

    bst = xgboost_model(objective)
    g = hlsforge.load(bst)
    x = _inputs(g, nan=True, inf=False)  # XGBoost rejects inf unless missing=inf
    d = xgb.DMatrix(x)
    got = reference.run(g, x)
    want = bst.predict(d, output_margin=True).reshape(got.shape)
    assert _ulps(got, want) <= 2
    np.testing.assert_array_equal(apply(g, x), bst.predict(d, pred_leaf=True).reshape(len(x), -1))


@pytest.mark.parametrize("objective", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("extra", [{}, {"zero_as_missing": True}, {"use_missing": False}], ids=["nan", "zero", "none"])
def test_lightgbm_margin_and_leaves(objective, extra):
    bst = lightgbm_model(objective, **extra)
    g = hlsforge.load(bst)
    x = _inputs(g, nan=True, inf=True)
    x[:50, :] = 0.0  # zeros: missing under zero_as_missing
    got = reference.run(g, x)
    xd = x.astype(np.float64)
    want = bst.predict(xd, raw_score=True).reshape(got.shape)
    np.testing.assert_array_equal(got, want.astype(np.float32))
    np.testing.assert_array_equal(apply(g, x), bst.predict(xd, pred_leaf=True).reshape(len(x), -1))


def test_proba_outputs_of_boosters():
    import lightgbm as lgb  # noqa: F401
    import xgboost as xgb

    bst = xgboost_model("multi:softprob")
    g = hlsforge.load(bst, output="proba")
    x = _inputs(g, nan=True, inf=False, n=3000)
    np.testing.assert_allclose(reference.run(g, x), bst.predict(xgb.DMatrix(x)), atol=3e-7)
    lb = lightgbm_model("binary")
    g = hlsforge.load(lb, output="proba")
    np.testing.assert_allclose(reference.run(g, x)[:, 0], lb.predict(x.astype(np.float64)), atol=2e-7)


@pytest.mark.slow
@pytest.mark.parametrize("n_trees,depth", [(1, 1), (3, 10), (50, 6), (500, 3), (200, 8)])
def test_sweep_sizes_all_libraries(n_trees, depth):
    """Models of 1–500 trees and depth 1–10 from every booster library (slow)."""
    import xgboost as xgb

    for objective in ("binary:logistic", "multi:softprob", "reg:squarederror"):
        bst = xgboost_model(objective, n_trees=n_trees, depth=depth)
        g = hlsforge.load(bst)
        x = _inputs(g, nan=True, inf=False)
        d = xgb.DMatrix(x)
        assert _ulps(reference.run(g, x), bst.predict(d, output_margin=True).reshape(len(x), -1)) <= 4
        np.testing.assert_array_equal(apply(g, x), bst.predict(d, pred_leaf=True).reshape(len(x), -1))
    for objective in ("binary", "multiclass", "regression"):
        bst = lightgbm_model(objective, n_trees=n_trees, leaves=min(2 ** depth, 255))
        g = hlsforge.load(bst)
        x = _inputs(g, nan=True, inf=True)
        xd = x.astype(np.float64)
        np.testing.assert_array_equal(reference.run(g, x), bst.predict(xd, raw_score=True).reshape(len(x), -1).astype(np.float32))
        np.testing.assert_array_equal(apply(g, x), bst.predict(xd, pred_leaf=True).reshape(len(x), -1))
    for kind in ("RandomForest", "GradientBoosting", "HistGradientBoosting"):
        model = sklearn_model(kind, "multiclass", n_trees=min(n_trees, 100), depth=depth)
        g = hlsforge.load(model)
        x = _inputs(g, nan=kind != "GradientBoosting", inf=kind == "HistGradientBoosting")
        want = model.decision_function(x) if hasattr(model, "decision_function") else model.predict_proba(x)
        np.testing.assert_array_equal(reference.run(g, x), np.asarray(want).reshape(len(x), -1).astype(np.float32))
