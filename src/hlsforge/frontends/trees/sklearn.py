"""scikit-learn trees: DecisionTree, ExtraTree, RandomForest, ExtraTrees, GradientBoosting and
HistGradientBoosting (classifiers and regressors) → one ``TreeEnsemble``.

Why these choices (read from scikit-learn's prediction code, not copied):
- every split is ``x <= threshold`` (float32 input against a float64 threshold); NaN goes to
  ``missing_go_to_left``;
- forests average the trees' outputs (class fractions for classifiers) in float64:
  ``base 0``, add tree by tree, divide by the number of trees;
- GradientBoosting: ``init`` baseline, then ``learning_rate * leaf`` per stage and class;
  HistGradientBoosting: baseline, then the leaves (which already include the learning rate).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.ops_trees import CMP_LE
from .builder import ForestBuilder, check_output


def _name(model: Any) -> str:
    return type(model).__name__


def _add_sklearn_tree(b: ForestBuilder, tree: Any, *, values: np.ndarray, output: int = 0) -> None:
    b.add_tree(
        feature=tree.feature,
        threshold=tree.threshold,
        left=tree.children_left,
        right=tree.children_right,
        value=values,
        compare=CMP_LE,
        default_left=np.asarray(tree.missing_go_to_left, dtype=bool),
    )
    b.trees[-1].output = output


def _tree_values(tree: Any, classifier: bool, where: str) -> np.ndarray:
    if tree.n_outputs != 1:
        raise UnsupportedOpError(f"{where}: multi-output trees (n_outputs={tree.n_outputs}) are not supported")
    v = np.asarray(tree.value, dtype=np.float64)[:, 0, :]
    if classifier:
        norm = v.sum(axis=1, keepdims=True)
        norm[norm == 0.0] = 1.0
        return v / norm  # what predict_proba computes from the stored values
    return v[:, :1]


def _is_classifier(model: Any) -> bool:
    return hasattr(model, "classes_")


def _n_features(model: Any) -> int:
    n = getattr(model, "n_features_in_", None)
    if n is None:
        raise ModelFormatError(f"{_name(model)} is not fitted")
    return int(n)


def _single_tree(model: Any, output: str) -> Graph:
    where = _name(model)
    clf = _is_classifier(model)
    values = _tree_values(model.tree_, clf, where)
    b = ForestBuilder(_n_features(model), values.shape[1], "sklearn", where)
    _add_sklearn_tree(b, model.tree_, values=values)
    return b.graph(f"sklearn_{where}", source_op=where)


def _forest(model: Any, output: str) -> Graph:
    where = _name(model)
    clf = _is_classifier(model)
    trees = [e.tree_ for e in model.estimators_]
    first = _tree_values(trees[0], clf, where)
    b = ForestBuilder(_n_features(model), first.shape[1], "sklearn", where)
    for t in trees:
        _add_sklearn_tree(b, t, values=_tree_values(t, clf, where))
    return b.graph(f"sklearn_{where}", aggregate="average", source_op=where)


def _gb_post(model: Any, output: str, k: int) -> str:
    if output == "margin" or not _is_classifier(model):
        return "none"
    loss = getattr(model, "loss", "log_loss")
    if loss != "log_loss":
        raise UnsupportedOpError(f"{_name(model)}: predict_proba of loss={loss!r} is not supported; load with output='margin'")
    return "logistic" if k == 1 else "softmax"


def _gradient_boosting(model: Any, output: str) -> Graph:
    where = _name(model)
    est = model.estimators_
    n_stages, k = est.shape
    init = model.init_
    if not (init == "zero" or type(init).__name__ in ("DummyClassifier", "DummyRegressor")):
        raise UnsupportedOpError(f"{where}: a non-constant init estimator ({type(init).__name__}) is not supported")
    base = np.asarray(model._raw_predict_init(np.zeros((1, _n_features(model)), dtype=np.float32)), np.float64)[0]
    lr = float(model.learning_rate)
    b = ForestBuilder(_n_features(model), k, "sklearn", where)
    for s in range(n_stages):
        for c in range(k):
            t = est[s, c].tree_
            _add_sklearn_tree(b, t, values=lr * np.asarray(t.value, np.float64)[:, 0, :1], output=c)
    return b.graph(f"sklearn_{where}", base_score=base, post_transform=_gb_post(model, output, k), source_op=where)


def _hist_gradient_boosting(model: Any, output: str) -> Graph:
    where = _name(model)
    if getattr(model, "_preprocessor", None) is not None or getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
        raise UnsupportedOpError(f"{where}: categorical features (categorical splits) are not supported")
    predictors = model._predictors
    k = len(predictors[0])
    clf = _is_classifier(model)
    loss = type(model._loss).__name__
    if not clf and loss not in ("HalfSquaredError", "AbsoluteError", "PinballLoss") and output == "proba":
        raise UnsupportedOpError(f"{where}: the {loss} link is not supported for output='proba'; load with output='margin'")
    base = np.asarray(model._baseline_prediction, np.float64).reshape(-1)
    b = ForestBuilder(_n_features(model), k, "sklearn", where)
    for stage in predictors:
        for c, pred in enumerate(stage):
            nodes = pred.nodes
            if np.any(nodes["is_categorical"]):
                raise UnsupportedOpError(f"{where}: categorical splits are not supported")
            leaf = nodes["is_leaf"].astype(bool)
            b.add_tree(
                feature=np.where(leaf, -1, nodes["feature_idx"]),
                threshold=nodes["num_threshold"],
                left=np.where(leaf, -1, nodes["left"]),
                right=np.where(leaf, -1, nodes["right"]),
                value=nodes["value"],
                compare=CMP_LE,
                default_left=nodes["missing_go_to_left"].astype(bool),
                output=c,
            )
    post = "none"
    if clf and output == "proba":
        post = "logistic" if k == 1 else "softmax"
    return b.graph(f"sklearn_{where}", base_score=base, post_transform=post, source_op=where)


_KINDS = {
    "DecisionTreeClassifier": _single_tree, "DecisionTreeRegressor": _single_tree,
    "ExtraTreeClassifier": _single_tree, "ExtraTreeRegressor": _single_tree,
    "RandomForestClassifier": _forest, "RandomForestRegressor": _forest,
    "ExtraTreesClassifier": _forest, "ExtraTreesRegressor": _forest,
    "GradientBoostingClassifier": _gradient_boosting, "GradientBoostingRegressor": _gradient_boosting,
    "HistGradientBoostingClassifier": _hist_gradient_boosting, "HistGradientBoostingRegressor": _hist_gradient_boosting,
}


def accepts(model: Any) -> bool:
    return any(c.__name__ in _KINDS and c.__module__.startswith("sklearn.") for c in type(model).__mro__)


def load_sklearn(model: Any, *, output: str = "margin") -> Graph:
    """Load a fitted scikit-learn tree model. ``output='margin'`` gives ``decision_function``
    (GradientBoosting classifiers) or the prediction / class fractions (forests, single trees);
    ``output='proba'`` adds the classifier's ``predict_proba`` transform."""
    check_output(output, _name(model))
    for cls in type(model).__mro__:
        if cls.__name__ in _KINDS and cls.__module__.startswith("sklearn."):
            return _KINDS[cls.__name__](model, output)
    raise UnsupportedOpError(
        f"{_name(model)} is not a supported scikit-learn tree model; supported: {', '.join(sorted(_KINDS))}"
    )
