"""HLS lowering rule of ``TreeEnsemble`` (its own module: one op family, one rule file).

Everything is decided here, from the configured node (``quantize/trees.py`` put the
thresholds on the input grid and the leaves in the ``leaf`` type): flat constant arrays of
the forest — feature, grid threshold, children (leaves point to themselves so every tree
walks exactly ``max_depth`` levels), the zero-is-missing side, leaf values, per-output tree
lists — and one ``tree_ensemble_config``; the kernel ``hlsforge_kernels/trees.h`` does the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UnsupportedOpError
from ..ir.ops_trees import CMP_LE, TreeEnsembleAttrs
from ..quantize.fixed import as_fixed_type, quantize
from ..quantize.trees import per_output_leaves, sum_raw_bounds, zero_default
from .records import Call, ConstArray


def lower_tree_ensemble(layer: Any) -> Any:
    from .lower import _Parts, _u

    node = layer.node
    a: TreeEnsembleAttrs = node.attrs
    if a.post_transform != "none" or a.aggregate != "sum" or a.scale != 1.0 or np.any(a.compare != CMP_LE):
        raise UnsupportedOpError(
            f"{node.describe()}: the HLS backend needs a TreeEnsemble configured by "
            "hlsforge.quantize.configure (margin output, thresholds on the input grid)"
        )
    x = layer.value(0)
    in_t = as_fixed_type(x.type)
    thr_type = layer.precision("threshold")
    leaf_type = layer.precision("leaf")
    acc_type = layer.precision("accum")
    thr_t = layer.typedef("threshold", thr_type)
    leaf_t = layer.typedef("leaf", leaf_type)
    acc_t = layer.typedef("accum", acc_type)
    internal = a.feature >= 0
    idx = np.arange(a.n_nodes)
    t_raw = np.rint(np.ldexp(a.threshold, in_t.frac)).astype(np.int64)
    # the grid threshold in the threshold type's own fraction bits (exact: frac >= input frac)
    t_raw = t_raw * (1 << (as_fixed_type(thr_type).frac - in_t.frac))
    shift = as_fixed_type(thr_type).frac - in_t.frac
    raw_ok = in_t.width + shift <= 62 and as_fixed_type(thr_type).width <= 62
    zd = zero_default(a)
    zero_side = np.where(zd, np.where(a.default_left, 1, 2), 0)
    outs = per_output_leaves(a)
    per = max(1, max(len(t) for t in outs))
    out_trees = np.zeros((a.n_outputs, per), dtype=np.int64)
    for k, trees in enumerate(outs):
        out_trees[k, : len(trees)] = trees
    leaf_raw = quantize(np.where(internal[:, None], 0.0, a.leaf_value), as_fixed_type(leaf_type))
    base_raw = quantize(a.base_score, as_fixed_type(leaf_type))
    # C-sim shortcut: when no partial sum can round or overflow accum, sum raw integers
    lf, af = as_fixed_type(leaf_type), as_fixed_type(acc_type)
    leaf_shift = af.frac - lf.frac
    lo, hi = sum_raw_bounds(a, leaf_raw, base_raw)
    exact = (leaf_shift >= 0 and af.width <= 62 and lf.width + leaf_shift <= 62
             and af.raw_min <= lo * 2**leaf_shift and hi * 2**leaf_shift <= af.raw_max)
    feature = layer.index_array("feature", np.where(internal, a.feature, 0), "split feature per node")
    threshold = layer.raw_array("threshold", np.where(internal, t_raw, 0), thr_type, thr_t,
                                "x <= threshold goes left (threshold on the input grid)")
    left = layer.index_array("left", np.where(internal, a.left, idx), "left child (a leaf: itself)")
    right = layer.index_array("right", np.where(internal, a.right, idx), "right child (a leaf: itself)")
    zs = layer.index_array("zero_side", zero_side, "x == 0: 0 compare, 1 left, 2 right")
    leaf = layer.raw_array("leaf", leaf_raw.reshape(-1), leaf_type, leaf_t, "leaf values (node-major)")
    roots = layer.index_array("roots", a.roots, "root node of each tree")
    ot = layer.index_array("output_trees", out_trees.reshape(-1), "trees summed into each output, in order")
    oc = layer.index_array("output_count", np.array([len(t) for t in outs]), "number of trees per output")
    base = layer.raw_array("base", base_raw, leaf_type, leaf_t, "base score per output")
    # C simulation only (synthesis never reads them): the same constants as raw integers,
    # pre-shifted, for the integer fast paths of the kernel (kept out of function statics so
    # that two models with the same names in one process can never share them)
    # packed per node [feature, threshold, left, right]: one cache line per step, and the
    # child chosen by index (branch-free) in the kernel's raw walk
    t_sim = (np.stack([np.where(internal, a.feature, 0), np.where(internal, t_raw, 0),
                       np.where(internal, a.left, idx), np.where(internal, a.right, idx)], 1).reshape(-1)
             if raw_ok else np.zeros(1, dtype=np.int64))
    l_sim = np.asarray(leaf_raw, dtype=object).reshape(-1) * 2**leaf_shift if exact else np.zeros(1, dtype=object)
    b_sim = np.asarray(base_raw, dtype=object) * 2**leaf_shift if exact else np.zeros(1, dtype=object)
    sims = []
    for role, arr, what in (("threshold_sim", t_sim, "[feature, threshold, left, right] per node"), ("leaf_sim", l_sim, "leaves"),
                            ("base_sim", b_sim, "base scores")):
        name = layer.ctx.name(f"{layer.ident}_{role}")
        layer.arrays.append(ConstArray(name, "long long", tuple(f"{int(v)}LL" for v in arr),
                                       f"C simulation: raw {what} (unused by synthesis)"))
        sims.append(name)
    cfg = layer.config(
        "hlsforge::tree_ensemble_config",
        [
            _u("n_features", x.size), _u("n_trees", a.n_trees), _u("n_nodes", a.n_nodes),
            _u("n_outputs", a.n_outputs), _u("max_depth", max(a.max_depth(), 1)),
            _u("leaf_width", a.leaf_value.shape[1]), _u("trees_per_output", per),
            ("bool", "zero_default", "true" if zd.any() else "false"),
            ("bool", "raw_compare", "true" if raw_ok else "false"),
            _u("threshold_shift", shift if raw_ok else 0),
            ("bool", "exact_sum", "true" if exact else "false"),
            _u("leaf_shift", leaf_shift if exact else 0),
        ],
        [("threshold_t", thr_t), ("leaf_t", leaf_t), ("accum_t", acc_t)],
    )
    call = Call(
        "hlsforge::tree_ensemble",
        (layer.input(0).type_name, layer.out.type_name, cfg.name),
        (layer.input(0).array, layer.out.array, feature, threshold, left, right, zs, leaf, roots, ot, oc, base,
         *sims),
    )
    return _Parts("hlsforge_kernels/trees.h", [call], configs=[cfg])
