"""XGBoost 3 (``gbtree``): live ``Booster`` / sklearn wrapper, ``.json`` and ``.ubj`` files.

Read from the model JSON (``Booster.save_raw("json")``; ``.json`` files are read without
importing xgboost). Why these choices (from XGBoost's predictor, not copied):
- a split sends ``x < split_condition`` left (float32 threshold), NaN to ``default_left``;
- a leaf's value is stored in ``split_conditions``; tree ``t`` adds to class ``tree_info[t]``;
- the margin is accumulated in float32: ``base_margin`` first, then tree by tree;
- ``base_score`` is stored in the objective's output space and turned into a margin by the
  objective's link (logit for logistic objectives, log for count/gamma/tweedie).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.ops_trees import CMP_LT
from .builder import ForestBuilder, check_output

_IDENTITY = ("reg:squarederror", "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror",
             "reg:quantileerror", "binary:logitraw", "multi:softprob", "multi:softmax", "rank:pairwise",
             "rank:ndcg", "rank:map")
_LOGIT = ("binary:logistic", "reg:logistic", "binary:hinge")
_LOG = ("count:poisson", "reg:gamma", "reg:tweedie", "survival:cox")
_POST = {"binary:logistic": "logistic", "reg:logistic": "logistic", "multi:softprob": "softmax"}


def _floats(text: Any) -> np.ndarray:
    if isinstance(text, (int, float)):
        return np.array([float(text)])
    s = str(text).strip().strip("[]")
    return np.array([float(v) for v in s.split(",") if v.strip()], dtype=np.float64)


def _base_margin(objective: str, base: np.ndarray, where: str) -> np.ndarray:
    b = base.astype(np.float32)
    if objective in _IDENTITY:
        return b
    if objective in _LOGIT:
        with np.errstate(divide="ignore"):
            return (-np.log(1.0 / base - 1.0)).astype(np.float32)
    if objective in _LOG:
        return np.log(base).astype(np.float32)
    raise UnsupportedOpError(
        f"{where}: XGBoost objective {objective!r} is not supported; supported: "
        f"{', '.join(_IDENTITY + _LOGIT + _LOG)}"
    )


def from_json_dict(doc: dict[str, Any], *, output: str = "margin", where: str = "XGBoost model") -> Graph:
    """Translate XGBoost's model JSON (as ``Booster.save_raw('json')`` writes it)."""
    check_output(output, where)
    try:
        learner = doc["learner"]
        param = learner["learner_model_param"]
        objective = learner["objective"]["name"]
        booster = learner["gradient_booster"]
        kind = booster.get("name", "gbtree")
        if kind != "gbtree":
            raise UnsupportedOpError(f"{where}: XGBoost booster {kind!r} is not supported (only gbtree; dart "
                                     "and gblinear are not)")
        model = booster["model"]
        trees = model["trees"]
        tree_info = [int(v) for v in model["tree_info"]]
        n_features = int(param["num_feature"])
        n_class = int(param.get("num_class", "0"))
        n_target = int(param.get("num_target", "1"))
        base = _floats(param["base_score"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFormatError(f"{where}: not an XGBoost model JSON ({e!r})") from None
    if n_target > 1:
        raise UnsupportedOpError(f"{where}: multi-target XGBoost models (num_target={n_target}) are not supported")
    n_out = max(n_class, 1)
    base_m = _base_margin(objective, base, where)
    if base_m.size not in (1, n_out):
        raise ModelFormatError(f"{where}: base_score has {base_m.size} values for {n_out} outputs")
    b = ForestBuilder(n_features, n_out, "xgboost", where)
    for ti, t in enumerate(trees):
        if any(int(s) != 0 for s in t.get("split_type", [])):
            raise UnsupportedOpError(f"{where}: tree {ti} has categorical splits, which are not supported")
        if int(t.get("tree_param", {}).get("size_leaf_vector", "1") or 1) > 1:
            raise UnsupportedOpError(f"{where}: vector-leaf (multi-output) trees are not supported")
        left = np.asarray(t["left_children"], dtype=np.int64)
        cond = np.asarray(t["split_conditions"], dtype=np.float64).astype(np.float32).astype(np.float64)
        b.add_tree(
            feature=np.where(left < 0, -1, np.asarray(t["split_indices"], dtype=np.int64)),
            threshold=cond,
            left=left,
            right=t["right_children"],
            value=np.where(left < 0, cond, 0.0),
            compare=CMP_LT,
            default_left=np.asarray(t["default_left"], dtype=bool),
            output=tree_info[ti],
        )
    post = _POST.get(objective, "none") if output == "proba" else "none"
    if output == "proba" and objective not in _POST and objective not in _IDENTITY:
        raise UnsupportedOpError(f"{where}: output='proba' for objective {objective!r} is not supported; "
                                 "load with output='margin'")
    return b.graph("xgboost_model", base_score=np.broadcast_to(base_m, (n_out,)), summation="float32",
                   post_transform=post, source_op=objective, metadata={"objective": objective})


def _booster_of(model: Any) -> Any:
    return model.get_booster() if hasattr(model, "get_booster") else model


def load_xgboost(model: Any, *, output: str = "margin") -> Graph:
    """A live ``xgboost.Booster`` / ``XGBModel`` or a ``.json`` / ``.ubj`` model file."""
    if isinstance(model, (str, Path)):
        path = Path(model)
        if path.suffix.lower() == ".json":
            try:
                doc = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ModelFormatError(f"cannot read XGBoost JSON {str(path)!r}: {e}") from None
            return from_json_dict(doc, output=output, where=f"XGBoost model {path.name!r}")
        try:
            import xgboost
        except ImportError:
            raise ModelFormatError(f"reading {str(path)!r} needs xgboost: pip install 'hlsforge[trees]'") from None
        try:
            booster = xgboost.Booster(model_file=str(path))
        except xgboost.core.XGBoostError as e:
            raise ModelFormatError(f"cannot read XGBoost model {str(path)!r}: {e}") from None
        return load_xgboost(booster, output=output)
    booster = _booster_of(model)
    try:
        raw = booster.save_raw("json")
    except Exception as e:  # noqa: BLE001 - xgboost raises its own error types
        raise ModelFormatError(f"cannot export the XGBoost model: {e}") from None
    return from_json_dict(json.loads(bytes(raw)), output=output, where=f"XGBoost {type(model).__name__}")


def is_xgboost_json(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return b'"learner"' in head and b'"gradient_booster"' in head or b'"learner"' in head[:64]


_ = math
