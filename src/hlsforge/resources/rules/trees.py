"""Cost rule of ``TreeEnsemble``: what ``hlsforge_kernels/trees.h`` instantiates (synthesis path).

The kernel is fully unrolled under ``PIPELINE II=1`` and every forest array is a constant, so
after constant propagation the design is, per inference:

1. **Comparators**: one ``x[f] <= t`` per inner node against a constant ``t``. Low bits of
   ``t`` that are all ones never matter (``x <= m·2^k + 2^k − 1`` ⇔ ``x >> k <= m``), so the
   comparator is ``input width − trailing ones`` bits wide (per-feature input types produce
   such thresholds, quantize/trees.py); splits at the type's extremes are constants (free).
   A constant comparator is a carry chain: one LUT per 2 bits (a LUT6 compares 2 bits against
   the constant and drives one carry). Zero-is-missing splits add an ``x == 0`` test
   (``ceil(w/6)`` LUTs) and a 2:1 select (1 LUT).
2. **Leaf multiplexer per tree**: the ``max_depth``-level walk selects one of the tree's ``L``
   leaves; with constant children it is an ``L``:1 mux of the leaf width per output column
   (``mux_luts``), ``ceil(log4 L)`` LUT levels.
3. **Adder tree per output**: ``n`` trees (+ the base) → ``n`` adders of the accumulator width
   (``accum_t``; a constant-base add included), ``ceil(log2(n + 1))`` levels.

Latency at II = 1: the three phases' delays are chained and a register is inserted whenever the
usable period is exceeded; the registers hold the live bits at that point (decision bits after
the comparators, selected leaves after the mux, partial sums inside the adder tree).
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.graph import Node
from ...ir.ops_trees import TreeEnsembleAttrs
from ...quantize.trees import per_output_leaves, zero_default
from ..arith import width_of
from ..records import LayerEstimate
from .context import RuleContext, fixed, mux_luts, row

__all__ = ["tree_ensemble", "comparator_widths"]


def comparator_widths(a: TreeEnsembleAttrs, in_width: int, in_frac: int, raw_min: int, raw_max: int) -> np.ndarray:
    """Bits each inner node's comparator needs (0: a constant decision), from the thresholds."""
    internal = a.feature >= 0
    raw = np.rint(np.ldexp(np.where(internal, a.threshold, 0.0), in_frac)).astype(np.int64)
    v = raw + 1  # trailing ones of raw = trailing zeros of raw + 1 (two's complement)
    low = v & -v
    ones = np.where(v == 0, in_width, np.log2(np.where(low > 0, low, 1)).astype(np.int64))
    ones = np.minimum(ones, in_width)
    w = in_width - ones
    const = (raw >= raw_max) | (raw < raw_min)
    return np.where(internal & ~const, np.maximum(w, 1), 0)


def tree_ensemble(ctx: RuleContext, node: Node) -> LayerEstimate:
    m = ctx.model
    a: TreeEnsembleAttrs = node.attrs
    x = ctx.value(node, 0)
    xt = fixed(x.type, node, "the input")
    leaf_t = fixed(node.precision["leaf"], node, "leaf")
    acc_t = fixed(node.precision["accum"], node, "accum")
    out_t = ctx.out(node).type
    internal = a.feature >= 0
    widths = comparator_widths(a, xt.width, xt.frac, xt.raw_min, xt.raw_max)
    zd = zero_default(a)
    cmp_lut = int(np.sum((widths + 1) // 2)) + int(np.sum(np.where(zd, -(-xt.width // 6) + 1, 0)))
    n_cmp = int(np.count_nonzero(widths))
    max_w = int(widths.max()) if widths.size else 0
    t_cmp = (m.t_add_ns if max_w else 0.0) + (m.t_lut_ns if zd.any() else 0.0)

    owner = a.tree_of_node()
    n_leaves = np.bincount(owner[~internal], minlength=a.n_trees)
    cols = a.n_outputs if a.vector_leaves else 1
    lw = leaf_t.width
    mux_lut = int(sum(mux_luts(int(n), lw) for n in n_leaves)) * cols
    levels_mux = max((math.ceil(math.log(int(n), 4)) for n in n_leaves if n > 1), default=0)
    t_mux = levels_mux * m.t_lut_ns

    outs = per_output_leaves(a)
    aw = acc_t.width
    add_lut = sum(len(t) * aw for t in outs)  # n-1 tree adds + 1 base add per output
    levels_add = max((math.ceil(math.log2(len(t) + 1)) for t in outs if len(t)), default=0)

    # chain the phases, registering live bits wherever the usable period is exceeded
    n_int = int(internal.sum())
    phases: list[tuple[float, int]] = [(t_cmp, n_int)]
    live_sel = a.n_trees * lw * cols
    phases.append((t_mux, live_sel))
    width_live = [len(t) for t in outs]
    for _ in range(levels_add):
        width_live = [(w + 1) // 2 for w in width_live]
        phases.append((m.t_add_ns, sum(width_live) * aw))
    period = ctx.period
    used, regs, ff = 0.0, 0, 0
    prev_bits = 0
    for d, bits in phases:
        if used + d > period and used > 0:
            regs += 1
            ff += prev_bits
            used = 0.0
        used += d
        prev_bits = bits
    total = sum(d for d, _ in phases)
    if regs == 0 and ctx.combinational(total):
        lat, comb = 0, total
    else:
        lat, comb = regs + 1, 0.0  # + the output register of the layer
        ff += ctx.out(node).size * width_of(out_t)
    notes = [f"{n_cmp} comparators (widest {max_w} bits), {a.n_trees} leaf muxes, "
             f"{sum(len(t) for t in outs)} adds of {aw} bits"]
    return row(node, lut=cmp_lut + mux_lut + add_lut, ff=int(ff), ii=1, latency_cycles=lat, comb_ns=comb,
               notes=notes)
