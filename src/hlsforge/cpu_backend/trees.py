"""CPU backend rule for ``TreeEnsemble``: flat structure-of-arrays, branch-free walk.

Why this layout (measured in ``benchmarks/bdt_vs_conifer.py``): all nodes of all trees sit in
flat arrays; each tree is walked for exactly ``max_depth`` steps with a conditional move
(leaves point to themselves), so there is no data-dependent branch to mispredict, and the
arrays of a 100-tree depth-4 model (~3k nodes) stay in L1/L2.

float32 semantics equal to the library: the input is float; a threshold ``t`` (double) becomes
the float ``t'`` with ``x <= t' ⇔ x OP t`` for *every* float ``x`` (the largest float
``<= t`` for ``<=``, the largest float ``< t`` for ``<``), NaN and the LightGBM zero rules are
handled per node, and leaves are accumulated in the library's precision (double or float) in
tree order, base first — exactly the reference's order, so the outputs are equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ir.ops_trees import CMP_LT, TreeEnsembleAttrs
from .lower import Step


@dataclass(frozen=True)
class TreeStep(Step):
    cfg: str
    x: str
    y: str
    n_features: int
    n_outputs: int
    n_trees: int
    max_depth: int
    feature: tuple[int, ...]
    threshold: tuple[float, ...]  # float32 values
    left: tuple[int, ...]
    right: tuple[int, ...]
    default_left: tuple[int, ...]
    missing: tuple[int, ...]
    leaf: tuple[float, ...]  # n_nodes * leaf_width
    leaf_width: int
    roots: tuple[int, ...]
    tree_output: tuple[int, ...]
    base: tuple[float, ...]
    double_sum: bool
    average: bool
    scale: float
    post_transform: str
    simple: bool  # no missing-value rules: NaN compares false and goes right


def float_thresholds(a: TreeEnsembleAttrs) -> np.ndarray:
    """Float32 thresholds equivalent to the double ones for every float input (module doc)."""
    t = a.threshold
    t32 = t.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        too_big = np.where(a.compare == CMP_LT, t32.astype(np.float64) >= t, t32.astype(np.float64) > t)
    return np.where(too_big, np.nextafter(t32, np.float32(-np.inf)), t32).astype(np.float32)


def lower_tree(p: Any, node: Any) -> TreeStep:
    a: TreeEnsembleAttrs = node.attrs
    d, y = p.out(node)
    internal = a.feature >= 0
    idx = np.arange(a.n_nodes)
    thr = np.where(internal, float_thresholds(a), np.float32(0))
    # "simple": every node sends NaN right and has no zero rule -> plain `x <= t` (NaN <= t is false)
    from ..ir.ops_trees import MISSING_NAN

    simple = bool(np.all((a.missing == MISSING_NAN) & ~a.default_left | ~internal))
    return TreeStep(
        p.origin(node), (d,), p.namer.ident("cfg", node.name), p.x(node), y,
        int(p.x_shape(node)[0]), a.n_outputs, a.n_trees, max(a.max_depth(), 0),
        tuple(int(v) for v in np.where(internal, a.feature, 0)),
        tuple(float(v) for v in thr),
        tuple(int(v) for v in np.where(internal, a.left, idx)),
        tuple(int(v) for v in np.where(internal, a.right, idx)),
        tuple(int(v) for v in a.default_left.astype(int)),
        tuple(int(v) for v in a.missing),
        tuple(float(v) for v in a.leaf_value.reshape(-1)),
        int(a.leaf_value.shape[1]),
        tuple(int(v) for v in a.roots),
        tuple(int(v) for v in a.tree_output),
        tuple(float(v) for v in a.base_score),
        a.summation == "float64", a.aggregate == "average", float(a.scale), a.post_transform, simple,
    )


def _lit(v: float, double: bool) -> str:
    if math.isinf(v):
        inf = f"std::numeric_limits<{'double' if double else 'float'}>::infinity()"
        return inf if v > 0 else "-" + inf
    if double:
        return float(v).hex()
    return float(np.float32(v)).hex() + "f"


def _rows(w: Any, name: str, ctype: str, values: tuple[Any, ...], fmt: Any = str) -> None:
    with w.block(f"static constexpr {ctype} {name}[{max(len(values), 1)}] =", "};"):
        for i in range(0, len(values), 12):
            w.line(", ".join(fmt(v) for v in values[i : i + 12]) + ",")


def render_tree(s: TreeStep, cfg: Any, body: Any) -> None:
    acc = "double" if s.double_sum else "float"
    with cfg.block(f"struct {s.cfg}", "};"):
        cfg.line(f"static constexpr int n_features = {s.n_features}, n_outputs = {s.n_outputs}, "
                 f"n_trees = {s.n_trees}, max_depth = {s.max_depth};")
        _rows(cfg, "feature", "int", s.feature)
        _rows(cfg, "threshold", "float", s.threshold, lambda v: _lit(v, False))
        _rows(cfg, "left", "int", s.left)
        _rows(cfg, "right", "int", s.right)
        if not s.simple:
            _rows(cfg, "default_left", "unsigned char", s.default_left)
            _rows(cfg, "missing", "unsigned char", s.missing)
        _rows(cfg, "leaf", acc, s.leaf, lambda v: _lit(v, s.double_sum))
        _rows(cfg, "roots", "int", s.roots)
        if s.leaf_width == 1:
            _rows(cfg, "tree_output", "int", s.tree_output)
        _rows(cfg, "base", acc, s.base, lambda v: _lit(v, s.double_sum))
        cfg.comment("x <= threshold goes left (thresholds rounded so this equals the library's test)")
        with cfg.block("static inline bool go_left(int i, float v)", "}"):
            if s.simple:
                cfg.line("return v <= threshold[i];")
            else:
                cfg.line("const int m = missing[i];  // 0 NaN->default, 1 NaN->0, 2 NaN/zero->default, 3 NaN->default")
                cfg.line("const bool nan = v != v;")
                cfg.line("if (nan && (m == 1 || m == 2)) v = 0.0f;")
                cfg.line("const float tiny = 1e-35f;")
                cfg.line("if ((m == 1 || m == 3) && v <= tiny && v >= -tiny) v = 0.0f;")
                cfg.line("if ((nan && m != 1) || (m == 2 && v <= tiny && v >= -tiny)) return default_left[i] != 0;")
                cfg.line("return v <= threshold[i];")
        with cfg.block("static inline void run(const float* x, float* y, std::size_t n)", "}"):
            with cfg.block("for (std::size_t e = 0; e < n; ++e)", "}"):
                cfg.line("const float* xe = x + e * n_features;")
                cfg.line(f"{acc} acc[n_outputs];")
                cfg.line("for (int k = 0; k < n_outputs; ++k) acc[k] = base[k];")
                with cfg.block("for (int t = 0; t < n_trees; ++t)", "}"):
                    cfg.line("int i = roots[t];")
                    cfg.line("for (int d = 0; d < max_depth; ++d) i = go_left(i, xe[feature[i]]) ? left[i] : right[i];")
                    if s.leaf_width == 1:
                        cfg.line("acc[tree_output[t]] += leaf[i];")
                    else:
                        cfg.line(f"for (int k = 0; k < n_outputs; ++k) acc[k] += leaf[i * {s.leaf_width} + k];")
                if s.average:
                    cfg.line(f"for (int k = 0; k < n_outputs; ++k) acc[k] /= ({acc})n_trees;")
                if s.scale != 1.0:
                    cfg.line(f"for (int k = 0; k < n_outputs; ++k) acc[k] *= ({acc}){_lit(s.scale, s.double_sum)};")
                cfg.line("float* ye = y + e * n_outputs;")
                if s.post_transform == "none":
                    cfg.line("for (int k = 0; k < n_outputs; ++k) ye[k] = (float)acc[k];")
                elif s.post_transform == "logistic":
                    cfg.line("for (int k = 0; k < n_outputs; ++k) ye[k] = (float)(0.5 * (1.0 + std::tanh(0.5 * (double)acc[k])));")
                elif s.post_transform == "tanh":
                    cfg.line("for (int k = 0; k < n_outputs; ++k) ye[k] = (float)std::tanh((double)acc[k]);")
                else:
                    cfg.line("double m = (double)acc[0];")
                    cfg.line("for (int k = 1; k < n_outputs; ++k) m = (double)acc[k] > m ? (double)acc[k] : m;")
                    cfg.line("double ex[n_outputs]; double sum = 0.0;")
                    cfg.line("for (int k = 0; k < n_outputs; ++k) { ex[k] = std::exp((double)acc[k] - m); sum += ex[k]; }")
                    cfg.line("for (int k = 0; k < n_outputs; ++k) ye[k] = (float)(ex[k] / sum);")
    body.line(f"{s.cfg}::run({s.x}, {s.y}, n);")

