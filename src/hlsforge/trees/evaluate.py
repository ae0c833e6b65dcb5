"""Float evaluation of a ``TreeEnsemble``: vectorized numpy over all trees at once.

This is the op's float meaning (``reference.RULES`` calls :func:`reference_rule`), written so
that it reproduces each library bit for bit where that is possible:

- decisions compare the float32 input, widened exactly to float64, with the float64 threshold
  (sklearn and LightGBM compare in double; XGBoost's float32 thresholds are exact doubles, so
  ``<`` in double equals its ``<`` in float);
- the margin is accumulated in the library's precision (``summation``) in the library's order:
  ``base_score`` first, then every tree in order, one addition per tree (no pairwise sums);
- ``post_transform`` is computed in float64 and rounded once to float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..ir.ops_trees import (
    CMP_LT,
    MISSING_AS_ZERO,
    MISSING_NAN_TINY_ZERO,
    MISSING_ZERO,
    ZERO_THRESHOLD,
    TreeEnsembleAttrs,
)

_CHUNK = 1 << 18
"""Largest (rows × trees) block evaluated at once, to bound memory."""


def go_left(a: TreeEnsembleAttrs, node: np.ndarray, xv: np.ndarray) -> np.ndarray:
    """The decision of internal nodes ``node`` on float64 feature values ``xv``."""
    miss = a.missing[node]
    nan = np.isnan(xv)
    as_zero = (miss == MISSING_AS_ZERO) | (miss == MISSING_ZERO)
    tiny = (miss == MISSING_AS_ZERO) | (miss == MISSING_NAN_TINY_ZERO)
    xv = np.where((nan & as_zero) | (tiny & (np.abs(xv) <= ZERO_THRESHOLD)), 0.0, xv)
    default = (nan & (miss != MISSING_AS_ZERO)) | ((miss == MISSING_ZERO) & (np.abs(xv) <= ZERO_THRESHOLD))
    t = a.threshold[node]
    with np.errstate(invalid="ignore"):
        cmp = np.where(a.compare[node] == CMP_LT, xv < t, xv <= t)
    return np.where(default, a.default_left[node], cmp)


def leaves(a: TreeEnsembleAttrs, x: np.ndarray) -> np.ndarray:
    """Global index of the leaf each event reaches in each tree: ``(N, n_trees)``.

    One step per tree level for all (event, tree) pairs at once; a leaf keeps pointing at
    itself, so the loop ends after ``max_depth`` steps. Simple ``<``/``<=`` trees without
    missing-value rules take a fast path with fewer temporaries."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    out = np.empty((n, a.n_trees), dtype=np.int64)
    step = max(1, _CHUNK // max(a.n_trees, 1))
    depth = a.max_depth()
    internal = a.feature >= 0
    feat = np.where(internal, a.feature, 0).astype(np.int64)
    # a leaf "goes" to itself on both sides
    idx = np.arange(a.n_nodes)
    left = np.where(internal, a.left, idx)
    right = np.where(internal, a.right, idx)
    n_f = x.shape[1] if x.ndim == 2 else 0
    for s in range(0, n, step):
        xs = x[s : s + step]
        flat = xs.reshape(-1)
        base = (np.arange(xs.shape[0]) * n_f)[:, None]
        node = np.broadcast_to(a.roots, (xs.shape[0], a.n_trees)).copy()
        for _ in range(depth):
            xv = flat[base + feat[node]]
            node = np.where(go_left(a, node, xv), left[node], right[node])
        out[s : s + step] = node
    return out


def apply(a: TreeEnsembleAttrs, x: np.ndarray) -> np.ndarray:
    """The library's own id of the leaf reached in each tree (sklearn ``apply``, XGBoost and
    LightGBM ``pred_leaf``): ``(N, n_trees)``."""
    return a.node_id[leaves(a, x)]


def margin_from_leaves(a: TreeEnsembleAttrs, leaf: np.ndarray) -> np.ndarray:
    """The raw margin ``(N, n_outputs)`` in the library's summation precision (float64 array)."""
    dt = np.float32 if a.summation == "float32" else np.float64
    n = leaf.shape[0]
    acc = np.broadcast_to(a.base_score.astype(dt), (n, a.n_outputs)).copy()
    values = a.leaf_value.astype(dt)
    if a.vector_leaves:
        for t in range(a.n_trees):
            acc += values[leaf[:, t]]
    else:
        col = values[:, 0]
        for t in range(a.n_trees):
            acc[:, a.tree_output[t]] += col[leaf[:, t]]
    if a.aggregate == "average":
        acc /= dt(a.n_trees)
    if a.scale != 1.0:
        acc *= dt(a.scale)
    return acc.astype(np.float64)


def margin(a: TreeEnsembleAttrs, x: np.ndarray) -> np.ndarray:
    """The raw margin (``decision_function`` / ``output_margin=True``) as float64."""
    return margin_from_leaves(a, leaves(a, x))


def post_transform(a: TreeEnsembleAttrs, m: np.ndarray) -> np.ndarray:
    """The documented output transform, in float64."""
    if a.post_transform == "logistic":
        return 0.5 * (1.0 + np.tanh(0.5 * m))
    if a.post_transform == "softmax":
        e = np.exp(m - m.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if a.post_transform == "tanh":
        return np.tanh(m)
    return m


def reference_rule(node: object, ins: Sequence[np.ndarray]) -> np.ndarray:
    """``reference.RULES[Op.TREE_ENSEMBLE]``: post-transformed output, float32."""
    a: TreeEnsembleAttrs = node.attrs  # type: ignore[attr-defined]
    return post_transform(a, margin(a, ins[0])).astype(np.float32)
