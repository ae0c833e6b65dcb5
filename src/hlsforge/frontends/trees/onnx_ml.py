"""ONNX-ML tree ensembles: ``TreeEnsembleClassifier``, ``TreeEnsembleRegressor`` (ai.onnx.ml
1–3) and ``TreeEnsemble`` (ai.onnx.ml 5), as written by skl2onnx and onnxmltools.

Why these choices (from the ONNX-ML operator specification):
- modes BRANCH_LEQ/LT go to the true branch when ``x <= t`` / ``x < t``; BRANCH_GTE/GT are
  normalised by swapping the branches (``x > t`` true ⇔ ``x <= t`` false); EQ/NEQ/MEMBER are
  unsupported;
- NaN follows the true branch when ``nodes_missing_value_tracks_true`` is set, else the false one;
- thresholds are float32 (ONNX Runtime compares float inputs with float thresholds);
- scores: ``base_values`` + the leaves' weights per target (aggregate SUM or AVERAGE), then
  ``post_transform`` (NONE, LOGISTIC, SOFTMAX). A binary classifier with a single score column
  keeps that one column as the margin of the positive class.

The graph's only input must feed the tree node (a ``Cast`` in between is accepted); its output
is the node's score tensor — the label output and a ``ZipMap`` after it are not part of the IR.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.ops_trees import CMP_LE, CMP_LT
from .builder import ForestBuilder, check_output

TREE_OPS = ("TreeEnsembleClassifier", "TreeEnsembleRegressor", "TreeEnsemble")
_LEGACY_MODES = {"BRANCH_LEQ": 0, "BRANCH_LT": 1, "BRANCH_GTE": 2, "BRANCH_GT": 3, "BRANCH_EQ": 4, "BRANCH_NEQ": 5,
                 "LEAF": -1}
_POST = {"NONE": "none", "LOGISTIC": "logistic", "SOFTMAX": "softmax"}
_POST_V5 = {0: "NONE", 1: "SOFTMAX", 2: "LOGISTIC", 3: "SOFTMAX_ZERO", 4: "PROBIT"}
_AGG_V5 = {0: "AVERAGE", 1: "SUM", 2: "MIN", 3: "MAX"}


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper, numpy_helper

    out: dict[str, Any] = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if hasattr(v, "dims"):
            v = numpy_helper.to_array(v)
        elif isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [s.decode() for s in v]
        out[a.name] = v
    return out


def _f32(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).astype(np.float64)


class _Forest:
    """Trees in ONNX numbering: internal nodes and leaves with their per-target weights."""

    def __init__(self) -> None:
        self.internal: dict[tuple[int, int], tuple[int, float, int, tuple[int, int], tuple[int, int], bool]] = {}
        self.weights: dict[tuple[int, int], dict[int, float]] = defaultdict(dict)
        self.trees: list[int] = []

    def tree(self, t: int) -> None:
        if t not in self.trees:
            self.trees.append(t)


def _add_to_builder(f: _Forest, b: ForestBuilder, where: str) -> None:
    for t in f.trees:
        keys = [k for k in list(f.internal) + list(f.weights) if k[0] == t]
        root_candidates = [k for k in f.internal if k[0] == t]
        children = {c for k in root_candidates for c in (f.internal[k][3], f.internal[k][4])}
        roots = [k for k in dict.fromkeys(keys) if k not in children]
        if len(roots) != 1:
            raise ModelFormatError(f"{where}: tree {t} has {len(roots)} roots")
        order: list[tuple[int, int]] = []
        stack = [roots[0]]
        while stack:
            k = stack.pop()
            order.append(k)
            if k in f.internal:
                stack.extend([f.internal[k][4], f.internal[k][3]])
        index = {k: i for i, k in enumerate(order)}
        if len(index) != len(order):
            raise ModelFormatError(f"{where}: tree {t} is not a tree (a node is reached twice)")
        n = len(order)
        feat = np.full(n, -1)
        thr = np.zeros(n)
        cmp = np.zeros(n, np.int8)
        left = np.full(n, -1)
        right = np.full(n, -1)
        dl = np.zeros(n, bool)
        targets = {tg for k in order if k not in f.internal for tg in f.weights.get(k, {})}
        scalar = len(targets) <= 1 and b.n_outputs >= 1
        out = next(iter(targets)) if (scalar and targets) else 0
        width = 1 if scalar else b.n_outputs
        val = np.zeros((n, width))
        for i, k in enumerate(order):
            if k in f.internal:
                fi, th, mode, tk, fk, tracks = f.internal[k]
                if tk not in index or fk not in index:
                    raise ModelFormatError(f"{where}: tree {t} node {k[1]} points to a missing node")
                if mode in (0, 1):  # LEQ / LT: true branch = left
                    l_, r_, dl[i] = tk, fk, tracks
                    cmp[i] = CMP_LE if mode == 0 else CMP_LT
                else:  # GTE / GT: x >= t true  <=>  x < t false
                    l_, r_, dl[i] = fk, tk, not tracks
                    cmp[i] = CMP_LT if mode == 2 else CMP_LE
                feat[i], thr[i], left[i], right[i] = fi, th, index[l_], index[r_]
            else:
                for tg, w in f.weights.get(k, {}).items():
                    if scalar:
                        val[i, 0] += w
                    else:
                        val[i, tg] += w
        b.add_tree(feature=feat, threshold=thr, left=left, right=right, value=val, compare=cmp,
                   default_left=dl, node_id=[k[1] for k in order], output=out if scalar else 0)


def _legacy(node: Any, a: dict[str, Any], where: str) -> tuple[_Forest, int, np.ndarray, str, str]:
    clf = node.op_type == "TreeEnsembleClassifier"
    f = _Forest()
    tids = list(a["nodes_treeids"])
    nids = list(a["nodes_nodeids"])
    modes = a["nodes_modes"]
    values = _f32(a["nodes_values_as_tensor"] if "nodes_values_as_tensor" in a else a.get("nodes_values", [0.0] * len(tids)))
    feats = a.get("nodes_featureids", [0] * len(tids))
    tracks = a.get("nodes_missing_value_tracks_true", [0] * len(tids)) or [0] * len(tids)
    for i, (t, nid) in enumerate(zip(tids, nids, strict=True)):
        f.tree(t)
        mode = _LEGACY_MODES.get(modes[i])
        if mode is None or mode in (4, 5):
            raise UnsupportedOpError(f"{where}: node mode {modes[i]!r} is not supported")
        if mode >= 0:
            f.internal[(t, nid)] = (int(feats[i]), float(values[i]), mode, (t, int(a["nodes_truenodeids"][i])),
                                    (t, int(a["nodes_falsenodeids"][i])), bool(tracks[i]))
    pre = "class_" if clf else "target_"
    w = _f32(a[pre + "weights_as_tensor"] if pre + "weights_as_tensor" in a else a.get(pre + "weights", []))
    for t, nid, tg, wi in zip(a[pre + "treeids"], a[pre + "nodeids"], a[pre + "ids"], w, strict=True):
        d = f.weights[(int(t), int(nid))]
        d[int(tg)] = d.get(int(tg), 0.0) + float(wi)
    if clf:
        labels = a.get("classlabels_int64s") or a.get("classlabels_strings") or []
        ids = {int(i) for i in a.get("class_ids", [])}
        n_out = 1 if len(labels) == 2 and ids <= {0} else max(len(labels), max(ids, default=0) + 1)
        if len(labels) == 2 and ids == {1}:
            n_out = 1
            f.weights = defaultdict(dict, {k: {0: v.get(1, 0.0)} for k, v in f.weights.items()})
    else:
        n_out = int(a.get("n_targets", 1))
    base = _f32(a["base_values_as_tensor"] if "base_values_as_tensor" in a else a.get("base_values") or [0.0] * n_out)
    if base.size == 2 and n_out == 1:
        base = base[1:] - base[:1] if base[0] != 0 else base[1:]
    agg = str(a.get("aggregate_function", "SUM"))
    return f, n_out, base, agg, str(a.get("post_transform", "NONE"))


def _v5(node: Any, a: dict[str, Any], where: str) -> tuple[_Forest, int, np.ndarray, str, str]:
    f = _Forest()
    roots = [int(r) for r in a["tree_roots"]]
    modes = np.asarray(a["nodes_modes"]).astype(int)
    splits = np.asarray(a["nodes_splits"], dtype=np.float64)
    feats = a["nodes_featureids"]
    tracks = a.get("nodes_missing_value_tracks_true") or [0] * len(feats)
    tl, fl = a.get("nodes_trueleafs") or [0] * len(feats), a.get("nodes_falseleafs") or [0] * len(feats)
    tn, fn = a["nodes_truenodeids"], a["nodes_falsenodeids"]
    lw = np.asarray(a["leaf_weights"], dtype=np.float64)
    lt = a["leaf_targetids"]
    owner: dict[int, int] = {}
    for t, r in enumerate(roots):
        f.tree(t)
        stack = [r]
        while stack:
            i = stack.pop()
            if i in owner:
                raise ModelFormatError(f"{where}: node {i} is reached twice")
            owner[i] = t
            if modes[i] not in (0, 1, 2, 3):
                raise UnsupportedOpError(f"{where}: node mode {modes[i]} (EQ/NEQ/MEMBER) is not supported")
            kids = []
            for is_leaf, idx in ((tl[i], tn[i]), (fl[i], fn[i])):
                if is_leaf:
                    key = (t, -1 - int(idx))  # leaves get negative ids in this tree
                    f.weights[key] = {int(lt[idx]): float(lw[idx])}
                    kids.append(key)
                else:
                    kids.append((t, int(idx)))
                    stack.append(int(idx))
            if len(roots) and tl[i] and fl[i] and tn[i] == fn[i]:  # a single-leaf tree
                f.weights.pop(kids[1], None)
                f.weights[(t, i)] = f.weights.pop(kids[0])
                continue
            f.internal[(t, i)] = (int(feats[i]), float(splits[i]), int(modes[i]), kids[0], kids[1], bool(tracks[i]))
    n_out = int(a.get("n_targets", 1))
    return f, n_out, np.zeros(n_out), _AGG_V5[int(a.get("aggregate_function", 1))], _POST_V5[int(a.get("post_transform", 0))]


def from_onnx_model(model: Any, *, output: str = "margin", where: str = "ONNX-ML model") -> Graph:
    check_output(output, where)
    g = model.graph
    nodes = [n for n in g.node if n.op_type in TREE_OPS]
    if len(nodes) != 1:
        raise UnsupportedOpError(f"{where}: expected one ONNX-ML tree ensemble node, found {len(nodes)}")
    node = nodes[0]
    if len(g.input) != 1:
        raise UnsupportedOpError(f"{where}: tree models with {len(g.input)} inputs are not supported")
    src = node.input[0]
    by_output = {o: n for n in g.node for o in n.output}
    while src in by_output:
        prev = by_output[src]
        if prev.op_type not in ("Cast", "Identity"):
            raise UnsupportedOpError(f"{where}: a {prev.op_type} node before the trees is not supported")
        src = prev.input[0]
    if src != g.input[0].name:
        raise UnsupportedOpError(f"{where}: the tree node does not read the graph input")
    dims = g.input[0].type.tensor_type.shape.dim
    if len(dims) != 2 or not dims[1].dim_value:
        raise UnsupportedOpError(f"{where}: the input must be (batch, n_features) with a known n_features")
    n_features = int(dims[1].dim_value)
    a = _attrs(node)
    node_where = f"{where}: {node.op_type} {node.name!r}"
    f, n_out, base, agg, post = (_v5 if node.op_type == "TreeEnsemble" else _legacy)(node, a, node_where)
    if agg not in ("SUM", "AVERAGE"):
        raise UnsupportedOpError(f"{node_where}: aggregate_function {agg} is not supported (SUM, AVERAGE)")
    if post not in _POST:
        raise UnsupportedOpError(f"{node_where}: post_transform {post} is not supported (NONE, LOGISTIC, SOFTMAX)")
    b = ForestBuilder(n_features, n_out, "onnx-ml", node_where)
    _add_to_builder(f, b, node_where)
    return b.graph("onnx_ml_model", base_score=base, aggregate="average" if agg == "AVERAGE" else "sum",
                   summation="float32", post_transform=_POST[post] if output == "proba" else "none",
                   source_op=node.op_type)


def has_tree_ensemble(model: Any) -> bool:
    return any(n.op_type in TREE_OPS for n in model.graph.node)


def accepts(model: Any) -> bool:
    return type(model).__name__ == "ModelProto" and has_tree_ensemble(model)


def is_onnx_trees(path: Path) -> bool:
    try:
        import onnx

        return has_tree_ensemble(onnx.load(str(path), load_external_data=False))
    except Exception:  # noqa: BLE001 - not loadable here: let the ONNX frontend report it
        return False


def load_onnx_ml(model: Any, *, output: str = "margin") -> Graph:
    import onnx

    where = "ONNX-ML model"
    if isinstance(model, (str, Path)):
        where = f"ONNX-ML model {Path(model).name!r}"
        try:
            model = onnx.load(str(model))
        except Exception as e:  # noqa: BLE001 - protobuf raises several types
            raise ModelFormatError(f"cannot read {where}: {e}") from None
    return from_onnx_model(model, output=output, where=where)
