"""Fixed point for ``TreeEnsemble``: the precision rule and the bit-exact emulator rule.

Why thresholds are moved onto the input grid: an input of type ``T`` takes values
``k · 2^-F``. For such ``x`` and any real ``t``::

    x <= t   ⇔  x <= floor_grid(t)            (floor_grid: the largest grid value <= t)
    x <  t   ⇔  x <= ceil_grid(t) - 2^-F

so every split becomes ``x <= t'`` with ``t'`` on the input grid, and **every input on the grid
takes the same branch as in float** — no threshold rounding can flip a decision. ``t'`` is
clamped to ``[min(T) - 2^-F, max(T)]`` (always-right / always-left splits, ±inf thresholds),
so it fits the threshold type: ``T`` widened by one integer bit, signed.

Per-feature input types (option ``feature_input: [T0, T1, ...]`` on the tree node): the graph
input keeps one common type ``T`` (a C array has one element type), and each ``T_f`` must lie
inside it (``frac_f <= frac``, same or narrower range). Feature ``f``'s thresholds go onto
``T_f``'s grid (``t_f = floor_grid_f(t)``, resp. ``ceil_grid_f(t) - lsb_f``) and then become
``t'' = t_f + lsb_f - lsb`` on the common grid (``t_f`` first clamped to ``T``'s reach in
``T_f``'s units, then ``t''`` to ``[min(T) - lsb, max(T)]``). For
every common-grid ``x``, ``x <= t''`` ⇔ ``trunc_f(x) <= t_f`` (``trunc_f``: AP_TRN onto
``T_f``'s grid), so **each feature is compared as if truncated to its own type's fraction
bits, and every input on ``T_f``'s grid takes the float branch**; the low ``frac - frac_f``
bits of ``t''`` are all ones, so the comparator ignores them (the estimate counts the
narrower comparator). Emulator and HLS are unchanged: ``x <= t''`` on raw integers.

Leaves: ``aggregate='average'`` and ``scale`` are folded into the leaf values and the base
score in float64 *before* they are cast into the ``leaf`` type; then, per output, the trees'
leaves (in tree order), each first cast into ``accum``, are summed by a balanced pairwise
adder tree — level by level, ``s[i] = cast_accum(v[2i] + v[2i+1])``, an odd last element
passing up unchanged — then
``cast_accum(sum + base)`` and ``cast_result``. ``accum: auto`` is the narrowest type that holds
every partial sum exactly (from the actual leaves), so then the order does not matter.
Fixed point has no NaN; LightGBM's "zero is missing" splits send ``x == 0`` to the default side.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import PrecisionError, UnsupportedOpError
from ..ir.graph import Node
from ..ir.ops_trees import CMP_LE, CMP_LT, MISSING_ZERO, TreeEnsembleAttrs
from ..ir.types import FixedType, TensorType
from ._emulate_arith import Fx, add, cast
from .fixed import as_fixed_type, quantize, to_float
from .infer import type_for_raw_range

__all__ = ["grid_thresholds", "feature_grid_thresholds", "threshold_type", "configure_tree_ensemble", "per_output_leaves", "pairwise_sum"]


def threshold_type(in_type: TensorType) -> FixedType:
    """The input type widened by one integer bit, signed: holds ``min - lsb`` .. ``max``."""
    t = as_fixed_type(in_type)  # type: ignore[arg-type]
    return FixedType(t.width + 1, t.integer + 1, True)


def grid_thresholds(a: TreeEnsembleAttrs, in_type: TensorType) -> np.ndarray:
    """Raw thresholds on the input grid (int64) such that ``x <= raw`` equals the float split
    for every grid input (module docstring); 0 at leaves."""
    t = as_fixed_type(in_type)  # type: ignore[arg-type]
    scaled = np.ldexp(a.threshold, t.frac)  # exact: a power-of-two scaling
    lo, hi = t.raw_min - 1, t.raw_max
    with np.errstate(invalid="ignore"):
        raw = np.where(a.compare == CMP_LT, np.ceil(scaled) - 1, np.floor(scaled))
    raw = np.clip(np.nan_to_num(raw, nan=0.0), lo, hi)
    raw = np.where(a.feature >= 0, raw, 0)
    return raw.astype(np.int64)


def feature_grid_thresholds(a: TreeEnsembleAttrs, in_type: TensorType, feature_types: Any,
                            where: str = "TreeEnsemble") -> np.ndarray:
    """Raw common-grid thresholds for per-feature input types (module docstring): ``x <= raw``
    equals the float split of ``trunc_f(x)`` for every input ``x`` of ``in_type``."""
    t = as_fixed_type(in_type)  # type: ignore[arg-type]
    fts = [as_fixed_type(ft) for ft in feature_types]
    n_f = int(a.feature.max()) + 1 if a.feature.size else 0
    if len(fts) < n_f:
        raise PrecisionError(f"{where}: feature_input has {len(fts)} types but the trees split on feature {n_f - 1}")
    for i, ft in enumerate(fts):
        if ft.frac > t.frac or ft.min < t.min or ft.max > t.max:
            raise PrecisionError(
                f"{where}: feature_input[{i}] = {ft} does not lie inside the input type {t} "
                "(needs frac <= the input's and a range inside it); widen the model input type"
            )
    internal = a.feature >= 0
    feat = np.where(internal, a.feature, 0)
    frac = np.array([ft.frac for ft in fts], dtype=np.int64)[feat]
    scaled = np.ldexp(a.threshold, frac)  # exact: a power-of-two scaling
    with np.errstate(invalid="ignore"):
        raw_f = np.where(a.compare == CMP_LT, np.ceil(scaled) - 1, np.floor(scaled))
    shift = t.frac - frac
    # clamp to the common type's reach in T_f units (always-left / always-right splits)
    lo_f = ((t.raw_min >> shift) - 1).astype(np.float64)
    hi_f = (t.raw_max >> shift).astype(np.float64)
    raw_f = np.clip(np.nan_to_num(raw_f, nan=0.0), lo_f, hi_f)
    raw = (raw_f.astype(np.int64) + 1) * (np.int64(1) << shift) - 1  # t_f + lsb_f - lsb, common raw
    raw = np.clip(raw, t.raw_min - 1, t.raw_max)
    return np.where(internal, raw, 0).astype(np.int64)


def per_output_leaves(a: TreeEnsembleAttrs) -> list[np.ndarray]:
    """For each output, the trees that add to it (in tree order) and, for vector leaves, all."""
    if a.vector_leaves:
        return [np.arange(a.n_trees)] * a.n_outputs
    return [np.flatnonzero(a.tree_output == k) for k in range(a.n_outputs)]


def _leaf_column(a: TreeEnsembleAttrs, k: int) -> np.ndarray:
    return a.leaf_value[:, k if a.vector_leaves else 0]


def configure_tree_ensemble(c: Any, node: Node) -> None:
    """``quantize.config`` rule: thresholds onto the input grid, leaves and base into ``leaf``,
    ``accum`` (``auto``: exact), ``result``."""
    a: TreeEnsembleAttrs = node.attrs
    where = node.describe()
    if a.post_transform != "none":
        raise UnsupportedOpError(
            f"{where}: the fixed-point TreeEnsemble computes the margin; post_transform "
            f"{a.post_transform!r} is float-only. Load the model with output='margin' (the default)"
        )
    in_t = c.in_type(node)
    thr_t = threshold_type(in_t)
    explicit = [s for _, s in c.cfg.scopes(node) if "threshold" in s.precision]
    if explicit:
        user = explicit[0].precision["threshold"]
        ut = as_fixed_type(user) if user is not None else thr_t  # type: ignore[arg-type]
        if ut.frac < in_t.frac or ut.min > (in_t.raw_min - 1) * in_t.lsb or ut.max < in_t.max:
            raise PrecisionError(
                f"{where}: threshold type {user} cannot hold every threshold on the input grid of {in_t}; "
                f"use at least {thr_t} (or leave 'threshold' unset)"
            )
        thr_t = ut
    feature_types = c.cfg.option(node, "feature_input")
    if feature_types is not None:
        raw_t = feature_grid_thresholds(a, in_t, feature_types, where)
    else:
        raw_t = grid_thresholds(a, in_t)
    grid_frac = as_fixed_type(in_t).frac  # type: ignore[arg-type]
    leaf_t = c.fixed(node, "leaf")
    lt = as_fixed_type(leaf_t)
    factor = a.scale / (a.n_trees if a.aggregate == "average" else 1)
    leaves = a.leaf_value * factor
    base = a.base_score * factor
    leaf_raw = quantize(np.where(np.isfinite(leaves), leaves, 0.0), lt)
    base_raw = quantize(base, lt)
    leaf_q = to_float(leaf_raw, lt)
    base_q = to_float(base_raw, lt)
    new = replace(
        a,
        threshold=np.where(a.feature >= 0, np.ldexp(raw_t.astype(np.float64), -grid_frac), 0.0),
        compare=np.full(a.n_nodes, CMP_LE, dtype=np.int8),
        leaf_value=np.asarray(leaf_q, dtype=np.float64),
        base_score=np.asarray(base_q, dtype=np.float64),
        aggregate="sum",
        scale=1.0,
    )
    node.attrs = new
    acc = c.prec(node, "accum")
    if acc is None:
        lo, hi = sum_raw_bounds(a, leaf_raw, base_raw)
        acc = type_for_raw_range(lo, hi, lt.frac, signed=True, where=f"{where}: accum auto")
    node.precision["threshold"] = thr_t
    node.precision["leaf"] = leaf_t
    node.precision["accum"] = acc
    c.set_result(node, c.fixed(node, "result"))


def sum_raw_bounds(a: TreeEnsembleAttrs, leaf_raw: np.ndarray, base_raw: np.ndarray) -> tuple[int, int]:
    """Raw bounds (leaf fraction bits) of every partial sum of any output, base included."""
    lo = hi = 0
    lr = np.asarray(leaf_raw, dtype=object)
    internal = a.feature >= 0
    owner = a.tree_of_node()
    for k, trees in enumerate(per_output_leaves(a)):
        col = lr[:, k if a.vector_leaves else 0]
        s_lo = s_hi = 0
        for t in trees:
            vals = col[(owner == t) & ~internal]
            s_lo += min(0, int(min(vals)))
            s_hi += max(0, int(max(vals)))
        b = int(np.asarray(base_raw, dtype=object)[k])
        lo, hi = min(lo, s_lo + min(0, b)), max(hi, s_hi + max(0, b))
    return lo, hi


def zero_default(a: TreeEnsembleAttrs) -> np.ndarray:
    """Nodes whose input value 0 goes to the default side (LightGBM ``zero_as_missing``)."""
    return (a.missing == MISSING_ZERO) & (a.feature >= 0)


def fixed_leaves(a: TreeEnsembleAttrs, x_raw: np.ndarray, t_raw: np.ndarray) -> np.ndarray:
    """Global leaf index per (event, tree) from raw inputs and raw grid thresholds."""
    n = x_raw.shape[0]
    internal = a.feature >= 0
    feat = np.where(internal, a.feature, 0).astype(np.int64)
    idx = np.arange(a.n_nodes)
    left = np.where(internal, a.left, idx)
    right = np.where(internal, a.right, idx)
    zd = zero_default(a)
    any_zd = bool(zd.any())
    out = np.empty((n, a.n_trees), dtype=np.int64)
    step = max(1, (1 << 18) // max(a.n_trees, 1))
    depth = a.max_depth()
    n_f = x_raw.shape[1]
    for s in range(0, n, step):
        xs = x_raw[s : s + step]
        flat = xs.reshape(-1)
        base = (np.arange(xs.shape[0]) * n_f)[:, None]
        node = np.broadcast_to(a.roots, (xs.shape[0], a.n_trees)).copy()
        for _ in range(depth):
            xv = flat[base + feat[node]]
            go = xv <= t_raw[node]
            if any_zd:
                go = np.where(zd[node] & (xv == 0), a.default_left[node], go)
            node = np.where(go, left[node], right[node])
        out[s : s + step] = node
    return out


def pairwise_sum(values: list[Any], add_fn: Any, cast_fn: Any) -> Any:
    """The balanced pairwise adder tree of the module docstring (``cast_fn`` casts one
    exact partial sum into the accumulator)."""
    level = list(values)
    while len(level) > 1:
        nxt = [cast_fn(add_fn(level[2 * i], level[2 * i + 1])) for i in range(len(level) // 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def emulate_tree_ensemble(ctx: Any, node: Node, ins: list[Any]) -> np.ndarray:
    """``quantize.emulate`` rule (bit-exact, vectorized over events and trees)."""
    a: TreeEnsembleAttrs = node.attrs
    (x,) = ins
    t_raw = np.rint(np.ldexp(a.threshold, x.frac)).astype(np.int64)  # exact: configure put them on the grid
    leaves = fixed_leaves(a, np.asarray(x.raw, dtype=np.int64), t_raw)
    lt = ctx.var(node, "leaf")
    acc_t = ctx.var(node, "accum")
    leaf_raw = quantize(a.leaf_value, lt)
    base_raw = quantize(a.base_score, lt)
    n = leaves.shape[0]

    def to_acc(fx: Fx) -> Fx:
        return Fx(ctx.accum(node, fx, acc_t), acc_t.frac)

    outs = []
    for k, trees in enumerate(per_output_leaves(a)):
        col = leaf_raw[:, k if a.vector_leaves else 0]
        vals = [Fx(cast(Fx(col[leaves[:, t]], lt.frac), acc_t), acc_t.frac) for t in trees]
        total = pairwise_sum(vals, add, to_acc) if vals else Fx(np.zeros(n, dtype=np.int64), acc_t.frac)
        total = to_acc(add(total, Fx(np.full(n, base_raw[k], dtype=base_raw.dtype), lt.frac)))
        outs.append(np.asarray(total.raw))
    return ctx.result(node, Fx(np.stack(outs, axis=1), acc_t.frac))
