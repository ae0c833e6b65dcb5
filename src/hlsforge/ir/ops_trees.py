"""The ``TreeEnsemble`` op: attributes and shape inference (the catalogue entry in ``ops.py``).

Why flat arrays: every library stores a forest differently (sklearn's parallel arrays,
XGBoost's JSON trees, LightGBM's text, ONNX-ML's node lists, TMVA's nested XML); one flat
structure-of-arrays over *all* nodes of *all* trees is what every consumer wants to read
(vectorized numpy, unrolled HLS comparisons, a branch-free CPU loop), so frontends translate
into exactly this and nothing else.

Node ``i`` (global index over every tree; tree ``t`` owns ``tree_start[t]:tree_start[t+1]``
and its root is ``tree_start[t]``):

- internal when ``feature[i] >= 0``: it goes to ``left[i]`` when ``x[feature] OP threshold``
  with ``OP`` = ``<`` (``compare == CMP_LT``) or ``<=`` (``CMP_LE``), else to ``right[i]``.
  Libraries that test ``>``/``>=`` are normalised by swapping the children (``x > t`` goes
  left ⇔ ``x <= t`` goes right);
- missing values (``missing``): ``MISSING_NAN``: NaN goes to the default side
  (``default_left``); ``MISSING_AS_ZERO``: NaN is compared as 0.0 (LightGBM
  ``missing_type=None``); ``MISSING_ZERO``: NaN and |x| <= 1e-35 go to the default side
  (LightGBM ``zero_as_missing``); ``MISSING_NAN_TINY_ZERO``: NaN goes to the default side and
  |x| <= 1e-35 is compared as 0.0 (LightGBM ``missing_type=NaN``: its predictor stores such
  values as zeros). ``MISSING_AS_ZERO`` also compares |x| <= 1e-35 as 0.0, like LightGBM;
- a leaf when ``feature[i] == -1``: it contributes ``leaf_value[i]`` — one number added to
  output ``tree_output[t]`` when ``leaf_value`` has one column, else one number per output.
- ``node_id[i]``: the library's own number of the node (what sklearn ``apply`` and XGBoost /
  LightGBM ``pred_leaf`` report), so leaf indices can be compared with the library.

Output (the margin, like ``decision_function`` / ``output_margin=True``)::

    acc = base_score;  for t in trees (in order): acc[out(t)] += leaf_value[leaf_t(x)]
    margin = acc / n_trees (aggregate == "average") ; margin *= scale

accumulated in ``summation`` (``float64`` or ``float32``, the library's), then
``post_transform`` (none, logistic, softmax, tanh) gives the probability-like output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ShapeError
from .records import ir_record

CMP_LT = 0
CMP_LE = 1
COMPARE_NAMES = {CMP_LT: "<", CMP_LE: "<="}

MISSING_NAN = 0
MISSING_AS_ZERO = 1
MISSING_ZERO = 2
MISSING_NAN_TINY_ZERO = 3

ZERO_THRESHOLD = float(np.float32(1e-35))
"""LightGBM's ``kZeroThreshold`` (the float ``1e-35f``): |x| at or below it counts as zero."""

POST_TRANSFORMS = ("none", "logistic", "softmax", "tanh")
AGGREGATES = ("sum", "average")
SUMMATIONS = ("float64", "float32")


@ir_record
@dataclass(frozen=True, eq=False)
class TreeEnsembleAttrs:
    """A forest as flat node arrays (see the module docstring for the exact meaning)."""

    n_outputs: int
    tree_start: np.ndarray  # int64 (n_trees + 1,)
    feature: np.ndarray  # int32 (n_nodes,), -1 at leaves
    threshold: np.ndarray  # float64 (n_nodes,)
    compare: np.ndarray  # int8 (n_nodes,): CMP_LT or CMP_LE
    default_left: np.ndarray  # bool (n_nodes,)
    missing: np.ndarray  # int8 (n_nodes,): MISSING_*
    left: np.ndarray  # int32 (n_nodes,), global index, -1 at leaves
    right: np.ndarray  # int32 (n_nodes,)
    leaf_value: np.ndarray  # float64 (n_nodes, 1 or n_outputs)
    tree_output: np.ndarray  # int32 (n_trees,): the output a one-column tree adds to
    node_id: np.ndarray  # int64 (n_nodes,): the library's node numbering
    base_score: np.ndarray  # float64 (n_outputs,), margin space
    aggregate: str = "sum"
    scale: float = 1.0
    summation: str = "float64"
    post_transform: str = "none"
    library: str = ""

    # ------------------------------------------------------------------ queries

    @property
    def n_trees(self) -> int:
        return int(len(self.tree_start) - 1)

    @property
    def n_nodes(self) -> int:
        return int(len(self.feature))

    @property
    def roots(self) -> np.ndarray:
        return np.asarray(self.tree_start[:-1], dtype=np.int64)

    @property
    def vector_leaves(self) -> bool:
        return self.leaf_value.shape[1] > 1

    def tree_of_node(self) -> np.ndarray:
        """Index of the tree that owns each node."""
        return np.repeat(np.arange(self.n_trees), np.diff(self.tree_start))

    def depths(self) -> np.ndarray:
        """Depth of every node (root 0)."""
        depth = np.full(self.n_nodes, -1, dtype=np.int64)
        depth[self.roots] = 0
        internal = self.feature >= 0
        for d in range(self.n_nodes):
            sel = internal & (depth == d)
            if not sel.any():
                break
            depth[self.left[sel]] = d + 1
            depth[self.right[sel]] = d + 1
        return depth

    def max_depth(self) -> int:
        return int(self.depths().max()) if self.n_nodes else 0

    def with_changes(self, **changes: Any) -> TreeEnsembleAttrs:
        from dataclasses import replace

        return replace(self, **changes)


def _as(arr: Any, dtype: Any, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    a = np.asarray(arr)
    if shape is not None and a.shape != shape:
        raise ShapeError(f"TreeEnsemble {name} must have shape {shape}, got {a.shape}")
    return a.astype(dtype, copy=False)


def make_attrs(
    *,
    n_outputs: int,
    tree_start: Sequence[int] | np.ndarray,
    feature: Any,
    threshold: Any,
    compare: Any,
    default_left: Any,
    left: Any,
    right: Any,
    leaf_value: Any,
    tree_output: Any = None,
    node_id: Any = None,
    missing: Any = None,
    base_score: Any = None,
    aggregate: str = "sum",
    scale: float = 1.0,
    summation: str = "float64",
    post_transform: str = "none",
    library: str = "",
) -> TreeEnsembleAttrs:
    """Build attrs with canonical dtypes (frontends call this; shape inference validates)."""
    ts = np.asarray(tree_start, dtype=np.int64)
    n = int(ts[-1]) if len(ts) else 0
    lv = np.asarray(leaf_value, dtype=np.float64)
    if lv.ndim == 1:
        lv = lv[:, None]
    n_trees = len(ts) - 1
    cmp = np.asarray(compare)
    if cmp.ndim == 0:
        cmp = np.full(n, int(cmp))
    miss = np.zeros(n, dtype=np.int8) if missing is None else np.asarray(missing)
    if miss.ndim == 0:
        miss = np.full(n, int(miss))
    dl = np.asarray(default_left)
    if dl.ndim == 0:
        dl = np.full(n, bool(dl))
    return TreeEnsembleAttrs(
        n_outputs=int(n_outputs),
        tree_start=ts,
        feature=_as(feature, np.int32, "feature"),
        threshold=_as(threshold, np.float64, "threshold"),
        compare=cmp.astype(np.int8),
        default_left=dl.astype(bool),
        missing=miss.astype(np.int8),
        left=_as(left, np.int32, "left"),
        right=_as(right, np.int32, "right"),
        leaf_value=lv,
        tree_output=np.zeros(n_trees, np.int32) if tree_output is None else _as(tree_output, np.int32, "tree_output"),
        node_id=(np.arange(n) - np.repeat(ts[:-1], np.diff(ts))) if node_id is None else _as(node_id, np.int64, "node_id"),
        base_score=np.zeros(int(n_outputs)) if base_score is None else np.broadcast_to(
            np.asarray(base_score, np.float64), (int(n_outputs),)).copy(),
        aggregate=aggregate,
        scale=float(scale),
        summation=summation,
        post_transform=post_transform,
        library=library,
    )


def validate_attrs(a: TreeEnsembleAttrs, n_features: int) -> None:
    """Every structural invariant the consumers rely on; ``ShapeError`` names the problem."""
    n = a.n_nodes
    ts = a.tree_start
    if a.n_outputs < 1:
        raise ShapeError(f"TreeEnsemble needs at least one output, got n_outputs={a.n_outputs}")
    if ts.ndim != 1 or len(ts) < 2 or ts[0] != 0 or ts[-1] != n or np.any(np.diff(ts) < 1):
        raise ShapeError("TreeEnsemble tree_start must start at 0, end at n_nodes and give every tree a node")
    for name in ("threshold", "compare", "default_left", "missing", "left", "right", "node_id"):
        if getattr(a, name).shape != (n,):
            raise ShapeError(f"TreeEnsemble {name} must have shape ({n},), got {getattr(a, name).shape}")
    if a.leaf_value.ndim != 2 or a.leaf_value.shape[0] != n or a.leaf_value.shape[1] not in (1, a.n_outputs):
        raise ShapeError(f"TreeEnsemble leaf_value must be ({n}, 1) or ({n}, {a.n_outputs}), got {a.leaf_value.shape}")
    if a.tree_output.shape != (a.n_trees,) or np.any((a.tree_output < 0) | (a.tree_output >= a.n_outputs)):
        raise ShapeError(f"TreeEnsemble tree_output must give each of {a.n_trees} trees an output in 0..{a.n_outputs - 1}")
    if a.base_score.shape != (a.n_outputs,):
        raise ShapeError(f"TreeEnsemble base_score must have shape ({a.n_outputs},)")
    if np.any(a.feature >= n_features) or np.any(a.feature < -1):
        bad = int(np.flatnonzero((a.feature >= n_features) | (a.feature < -1))[0])
        raise ShapeError(f"TreeEnsemble node {bad} splits on feature {a.feature[bad]}, the input has {n_features}")
    internal = a.feature >= 0
    owner = np.repeat(np.arange(a.n_trees), np.diff(ts))
    idx = np.arange(n)
    for side in (a.left, a.right):
        s = side[internal]
        if np.any(s <= idx[internal]) or np.any(s >= n) or np.any(owner[np.clip(s, 0, n - 1)] != owner[internal]):
            raise ShapeError("TreeEnsemble children must be later nodes of the same tree")
    if not np.all(np.isin(a.compare, (CMP_LT, CMP_LE))):
        raise ShapeError("TreeEnsemble compare must be CMP_LT (0) or CMP_LE (1)")
    if not np.all(np.isin(a.missing, (MISSING_NAN, MISSING_AS_ZERO, MISSING_ZERO, MISSING_NAN_TINY_ZERO))):
        raise ShapeError("TreeEnsemble missing must be one of MISSING_NAN, MISSING_AS_ZERO, MISSING_ZERO")
    if np.any(np.isnan(a.threshold[internal])):
        raise ShapeError("TreeEnsemble has a NaN threshold")
    if not np.all(np.isfinite(a.leaf_value[~internal])):
        raise ShapeError("TreeEnsemble has a non-finite leaf value")
    if a.aggregate not in AGGREGATES:
        raise ShapeError(f"TreeEnsemble aggregate {a.aggregate!r} is not one of {AGGREGATES}")
    if a.summation not in SUMMATIONS:
        raise ShapeError(f"TreeEnsemble summation {a.summation!r} is not one of {SUMMATIONS}")
    if a.post_transform not in POST_TRANSFORMS:
        raise ShapeError(f"TreeEnsemble post_transform {a.post_transform!r} is not one of {POST_TRANSFORMS}")
    if a.post_transform == "softmax" and a.n_outputs < 2:
        raise ShapeError("TreeEnsemble softmax needs two or more outputs")


def infer_tree_ensemble(attrs: TreeEnsembleAttrs, shapes: Sequence[tuple[int, ...]], consts: Sequence[Any]) -> list[tuple[int, ...]]:
    (x,) = shapes
    if len(x) != 1:
        raise ShapeError(f"TreeEnsemble expects a rank-1 feature vector per event (batch excluded), got {x}")
    validate_attrs(attrs, x[0])
    return [(attrs.n_outputs,)]
