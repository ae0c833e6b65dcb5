"""Small trained tree models of every supported family, and inputs that probe the edges.

Models are trained once per session on seeded data (a few hundred ms each). Inputs mix
random values with values *exactly at* the model's thresholds (float32-representable ones),
NaN and ±inf where the library defines them, so that every comparison rule is exercised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

N_FEATURES = 6


def training_data(n: int = 2000, nan: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    x[:, 4] = np.round(x[:, 4] * 2) / 2  # a feature with repeated values: thresholds between them
    if nan:
        x[rng.random(x.shape) < 0.05] = np.nan
    z = np.nan_to_num(x)
    y2 = (z[:, 0] + z[:, 1] ** 2 - z[:, 4] > 0.8).astype(int)
    y5 = np.digitize(z[:, 0] + 0.5 * z[:, 2] - z[:, 3] * z[:, 4], [-1.2, -0.4, 0.4, 1.2])
    yr = (2 * z[:, 0] + z[:, 3] - z[:, 1] * z[:, 5]).astype(np.float32)
    return x, y2, y5, yr


def probe_inputs(thresholds: np.ndarray, features: np.ndarray, n: int, *, nan: bool, inf: bool, seed: int = 1) -> np.ndarray:
    """``n`` events: random, with about a third of the entries set exactly to a threshold of
    a node that splits on that feature, and some NaN / ±inf."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    internal = features >= 0
    f32_exact = thresholds == thresholds.astype(np.float32).astype(np.float64)
    for f in range(N_FEATURES):
        t = thresholds[internal & (features == f) & f32_exact & np.isfinite(thresholds)]
        if t.size:
            sel = rng.random(n) < 0.35
            x[sel, f] = rng.choice(t, size=int(sel.sum())).astype(np.float32)
    if nan:
        x[rng.random(x.shape) < 0.03] = np.nan
    if inf:
        x[rng.random(x.shape) < 0.01] = np.inf
        x[rng.random(x.shape) < 0.01] = -np.inf
    return x


@functools.cache
def sklearn_model(kind: str, target: str, n_trees: int = 10, depth: int = 4) -> Any:
    from sklearn import ensemble, tree

    nan = kind in ("DecisionTree", "RandomForest", "ExtraTrees", "HistGradientBoosting")
    x, y2, y5, yr = training_data(nan=nan)
    y = {"binary": y2, "multiclass": y5, "regression": yr}[target]
    reg = target == "regression"
    makers: dict[str, Callable[[], Any]] = {
        "DecisionTree": lambda: (tree.DecisionTreeRegressor if reg else tree.DecisionTreeClassifier)(max_depth=depth, random_state=0),
        "RandomForest": lambda: (ensemble.RandomForestRegressor if reg else ensemble.RandomForestClassifier)(
            n_trees, max_depth=depth, random_state=0),
        "ExtraTrees": lambda: (ensemble.ExtraTreesRegressor if reg else ensemble.ExtraTreesClassifier)(
            n_trees, max_depth=depth, random_state=0),
        "GradientBoosting": lambda: (ensemble.GradientBoostingRegressor if reg else ensemble.GradientBoostingClassifier)(
            n_estimators=n_trees, max_depth=depth, random_state=0),
        "HistGradientBoosting": lambda: (ensemble.HistGradientBoostingRegressor if reg else ensemble.HistGradientBoostingClassifier)(
            max_iter=n_trees, max_depth=depth, random_state=0, early_stopping=False),
    }
    return makers[kind]().fit(x, y)


@functools.cache
def xgboost_model(objective: str, n_trees: int = 10, depth: int = 4) -> Any:
    import xgboost as xgb

    x, y2, y5, yr = training_data(nan=True)
    y = {"binary:logistic": y2, "multi:softprob": y5, "reg:squarederror": yr}[objective]
    params = {"objective": objective, "max_depth": depth, "eta": 0.3, "seed": 0, "nthread": 1}
    if objective.startswith("multi"):
        params["num_class"] = 5
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=n_trees)


@functools.cache
def lightgbm_model(objective: str, n_trees: int = 10, leaves: int = 15, **extra: Any) -> Any:
    import lightgbm as lgb

    x, y2, y5, yr = training_data(nan=True)
    y = {"binary": y2, "multiclass": y5, "regression": yr}[objective]
    params = {"objective": objective, "num_leaves": leaves, "verbose": -1, "seed": 0, "num_threads": 1,
              "min_data_in_leaf": 5, **extra}
    if objective == "multiclass":
        params["num_class"] = 5
    return lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=n_trees)
