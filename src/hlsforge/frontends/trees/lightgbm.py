"""LightGBM 4: live ``Booster`` / sklearn wrapper and text model files.

Read from ``Booster.dump_model()`` (text files are opened with ``lightgbm.Booster``).
Why these choices (from LightGBM's ``NumericalDecision``, not copied):
- a split sends ``x <= threshold`` left (double threshold, double input);
- ``dump_model`` writes ±inf thresholds as ±1e300; they are read back as ±inf;
- LightGBM's predictor stores |x| <= 1e-35 as 0.0 before any tree sees it;
- ``missing_type``: ``NaN`` → NaN goes to ``default_left``; ``None`` → NaN is compared as 0;
  ``Zero`` → NaN and |x| <= 1e-35 go to ``default_left``;
- the margin is accumulated in double, tree by tree (the init score is part of the first
  trees' leaves); ``average_output`` (random forest mode) divides by the number of trees;
- ``pred_leaf`` reports ``leaf_index``, kept as each leaf's ``node_id``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.ops_trees import (
    CMP_LE,
    MISSING_AS_ZERO,
    MISSING_NAN,
    MISSING_NAN_TINY_ZERO,
    MISSING_ZERO,
)
from .builder import ForestBuilder, check_output

_MISSING = {"None": MISSING_AS_ZERO, "Zero": MISSING_ZERO, "NaN": MISSING_NAN_TINY_ZERO}
_IDENTITY = ("regression", "regression_l1", "huber", "fair", "quantile", "mape", "lambdarank", "rank_xendcg")


def _flatten(root: dict[str, Any], where: str) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {k: [] for k in ("feature", "threshold", "left", "right", "value", "default_left",
                                                  "missing", "node_id")}
    stack: list[tuple[dict[str, Any], int, str]] = [(root, -1, "")]
    while stack:
        node, parent, side = stack.pop()
        i = len(cols["feature"])
        if parent >= 0:
            cols[side][parent] = i
        if "split_feature" in node:
            if node.get("decision_type", "<=") != "<=":
                raise UnsupportedOpError(f"{where}: categorical split ({node.get('decision_type')!r}) is not supported")
            cols["feature"].append(int(node["split_feature"]))
            t = float(node["threshold"])
            # dump_model writes ±inf thresholds as ±1e300 (AvoidInf); the model holds ±inf
            cols["threshold"].append(math.copysign(math.inf, t) if abs(t) >= 1e300 else t)
            cols["default_left"].append(bool(node.get("default_left", True)))
            mt = node.get("missing_type", "None")
            if mt not in _MISSING:
                raise ModelFormatError(f"{where}: unknown missing_type {mt!r}")
            cols["missing"].append(_MISSING[mt])
            cols["value"].append(0.0)
            cols["node_id"].append(int(node.get("split_index", 0)))
            cols["left"].append(-1)
            cols["right"].append(-1)
            stack.append((node["right_child"], i, "right"))
            stack.append((node["left_child"], i, "left"))
        else:
            if "leaf_coeff" in node or "leaf_features" in node:
                raise UnsupportedOpError(f"{where}: linear trees (linear_tree=True) are not supported")
            cols["feature"].append(-1)
            cols["threshold"].append(0.0)
            cols["default_left"].append(False)
            cols["missing"].append(MISSING_NAN)
            cols["value"].append(float(node["leaf_value"]))
            cols["node_id"].append(int(node.get("leaf_index", 0)))
            cols["left"].append(-1)
            cols["right"].append(-1)
    return cols


def from_dump(dump: dict[str, Any], *, output: str = "margin", where: str = "LightGBM model") -> Graph:
    """Translate ``Booster.dump_model()``."""
    check_output(output, where)
    try:
        objective = str(dump.get("objective", "regression"))
        k = int(dump["num_tree_per_iteration"])
        n_features = int(dump["max_feature_idx"]) + 1
        trees = dump["tree_info"]
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFormatError(f"{where}: not a LightGBM model dump ({e!r})") from None
    name, *params = objective.split()
    opts = dict(p.split(":", 1) for p in params if ":" in p)
    post = "none"
    if output == "proba":
        if name in ("binary", "multiclassova", "cross_entropy", "xentropy"):
            if float(opts.get("sigmoid", "1")) != 1.0:
                raise UnsupportedOpError(f"{where}: output='proba' with sigmoid={opts['sigmoid']} is not supported")
            post = "logistic"
        elif name in ("multiclass", "softmax"):
            post = "softmax"
        elif name not in _IDENTITY:
            raise UnsupportedOpError(f"{where}: output='proba' for objective {name!r} is not supported; "
                                     "load with output='margin'")
    b = ForestBuilder(n_features, k, "lightgbm", where)
    for ti, t in enumerate(trees):
        cols = _flatten(t["tree_structure"], f"{where}: tree {ti}")
        b.add_tree(compare=CMP_LE, output=ti % k, **cols)
    return b.graph("lightgbm_model", aggregate="average" if dump.get("average_output") else "sum",
                   post_transform=post, source_op=name, metadata={"objective": objective})


def load_lightgbm(model: Any, *, output: str = "margin") -> Graph:
    """A live ``lightgbm.Booster`` / ``LGBMModel`` or a text model file."""
    try:
        import lightgbm
    except ImportError:
        raise ModelFormatError("reading LightGBM models needs lightgbm: pip install 'hlsforge[trees]'") from None
    where = "LightGBM model"
    if isinstance(model, (str, Path)):
        where = f"LightGBM model {Path(model).name!r}"
        try:
            model = lightgbm.Booster(model_file=str(model))
        except (lightgbm.basic.LightGBMError, OSError) as e:
            raise ModelFormatError(f"cannot read {where}: {e}") from None
    booster = getattr(model, "booster_", model)
    if not isinstance(booster, lightgbm.Booster):
        raise ModelFormatError(f"{type(model).__name__} is not a fitted LightGBM model")
    return from_dump(booster.dump_model(), output=output, where=where)


def is_lightgbm_text(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    return head.startswith(b"tree\n") or b"version=v" in head[:64]
