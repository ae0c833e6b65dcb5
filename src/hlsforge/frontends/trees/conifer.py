"""conifer's JSON model (``ModelBase.save()``): the format conifer users already have.

Why these choices (from conifer's model description): ``trees[round][class]`` with
sklearn-style arrays (``feature == -2`` at leaves); a split is ``x <= t`` or ``x < t`` as the
file's ``splitting_convention`` says (``<=`` when absent, conifer's older default); the output
is ``(sum of leaves + init_predict) * norm``, one column for ``n_classes == 2``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.ops_trees import CMP_LE, CMP_LT
from .builder import ForestBuilder, check_output


def from_dict(d: dict[str, Any], *, output: str = "margin", where: str = "conifer model") -> Graph:
    check_output(output, where)
    try:
        n_classes = int(d["n_classes"])
        n_features = int(d["n_features"])
        trees = d["trees"]
        init = np.asarray(d.get("init_predict", [0.0]), dtype=np.float64).reshape(-1)
        norm = float(d.get("norm", 1.0))
        conv = d.get("splitting_convention", "<=")
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFormatError(f"{where}: not a conifer model JSON ({e!r})") from None
    if conv not in ("<", "<="):
        raise UnsupportedOpError(f"{where}: splitting_convention {conv!r} is not supported")
    n_out = 1 if n_classes <= 2 else n_classes
    b = ForestBuilder(n_features, n_out, "conifer", where)
    for r, per_class in enumerate(trees):
        for c, t in enumerate(per_class):
            if any(isinstance(w, list) and sum(1 for v in w if v) > 1 for w in t.get("weight", [])):
                raise UnsupportedOpError(f"{where}: oblique splits (tree {r}/{c}) are not supported")
            b.add_tree(feature=t["feature"], threshold=t["threshold"], left=t["children_left"],
                       right=t["children_right"], value=t["value"], compare=CMP_LT if conv == "<" else CMP_LE,
                       default_left=False, output=c)
    if init.size not in (1, n_out):
        raise ModelFormatError(f"{where}: init_predict has {init.size} values for {n_out} outputs")
    base = np.broadcast_to(init, (n_out,))
    return b.graph("conifer_model", base_score=base, scale=norm, source_op=str(d.get("library", "conifer")))


def load_conifer(model: Any, *, output: str = "margin") -> Graph:
    if isinstance(model, (str, Path)):
        p = Path(model)
        try:
            d = json.loads(p.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelFormatError(f"cannot read conifer JSON {str(p)!r}: {e}") from None
        return from_dict(d, output=output, where=f"conifer model {p.name!r}")
    if hasattr(model, "trees") and hasattr(model, "n_trees"):  # a live conifer model
        d = {k: getattr(model, k) for k in ("n_classes", "n_features", "init_predict", "norm", "library")}
        d["splitting_convention"] = getattr(model, "splitting_convention", "<=")
        d["trees"] = [[{k: getattr(t, k) for k in ("feature", "threshold", "value", "children_left", "children_right")}
                       for t in per_class] for per_class in model.trees]
        return from_dict(d, output=output, where=f"conifer {type(model).__name__}")
    raise ModelFormatError(f"{type(model).__name__} is not a conifer model")


def is_conifer_json(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError:
        return False
    return b'"n_trees"' in head or (b'"trees"' in head and b'"init_predict"' in head)
