"""Cost rules of the multiply layers: Dense, Conv1D/2D, BatchNormalization (constant weights)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...ir.graph import Node
from ...ir.ops import ConvAttrs
from ...ir.types import FixedType
from ...quantize.config import raw_constant
from ..arith import (
    bram_18k_for,
    cast_luts,
    constant_multiply_luts,
    csd_digits,
    dsps_per_multiply,
    fabric_multiply_luts,
    odd_part,
    tree_depth,
    use_dsp,
    width_of,
)
from ..records import LayerEstimate
from ..schedule import multiply_schedule
from .context import (
    RuleContext,
    fixed,
    mux_luts,
    row,
    sig_width,
    use_dsp_mask,
)

# ----------------------------------------------------------------------------- Dense / Conv


@dataclass
class _Mac:
    """Geometry of a multiply layer: the (n_in, n_out) weight matrix of each group, how many
    times it is applied per inference (``iterations``), and the types."""

    weights: np.ndarray  # (groups, n_in, n_out) raw
    bias: np.ndarray  # (groups, n_out) raw
    iterations: int  # positions (rows / output pixels) per group
    x: FixedType
    w: FixedType
    acc: FixedType
    res: FixedType
    stream_positions: int  # io_stream: stream elements read by the layer


@dataclass
class _ProductCost:
    dsp: int
    lut: int
    ff: int
    dsp_ops: int
    fabric_ops: int
    ii: int
    latency: int
    notes: list[str]
    comb_ns: float = 0.0


def _distinct_products(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each input row's distinct weights: ``(sorted weights, first-occurrence mask)``.

    HLS computes ``x[i] * w`` once for every output that uses the same constant (common
    subexpression elimination), so products are counted per distinct (input, weight). Every
    property that decides a product's hardware depends on the weight alone, so it can be
    evaluated on the sorted rows.
    """
    S = np.sort(W, axis=-1)
    first = np.ones(S.shape, dtype=bool)
    first[..., 1:] = S[..., 1:] != S[..., :-1]
    return S, first & (S != 0)


def _constant_products(ctx: RuleContext, mac: _Mac, limit: int, rf: int) -> _ProductCost:
    """Dense/Conv with constant weights (the Latency strategy; every loop unrolled).

    Per product ``x[i] * w`` (``w`` raw, nonzero): one canonical-signed-digit digit is a
    shift, two are one adder, three or more a real multiplication, bound to a DSP or built
    from ``digits - 1`` adders in fabric. Identical products are computed once. With RF > 1
    (or several positions / groups) the ALLOCATION limit shares the multiplications.
    """
    m = ctx.model
    W = mac.weights
    groups, n_in, n_out = W.shape
    bx, bw, ba, br = mac.x.width, mac.w.width, mac.acc.width, mac.res.width
    nz = W != 0
    # classify the distinct (input, weight) products
    S, first = _distinct_products(W)
    digits = csd_digits(S)
    sig = sig_width(odd_part(S), mac.w.signed)
    span = np.maximum(sig - (2 if mac.w.signed else 1), 0)
    is_add = first & (digits == 2)
    is_mul = first & (digits >= 3)
    if m.mult_impl == "dsp":
        to_dsp = is_mul
    elif m.mult_impl == "fabric":
        to_dsp = np.zeros_like(is_mul)
    else:
        to_dsp = is_mul & use_dsp_mask(bx, sig, m)
    to_fab = is_mul & ~to_dsp
    u_dsp, u_fab, u_add = int(to_dsp.sum()), int(to_fab.sum()), int(is_add.sum())
    pw = bx + bw
    pw_acc = min(ba, pw - max(0, mac.x.frac + mac.w.frac - mac.acc.frac))
    dsp_each = dsps_per_multiply(ctx.part.dsp_family, bx, int(sig[to_dsp].max()) if u_dsp else bw)
    reps = mac.iterations * groups
    ops = math.ceil((u_dsp + u_fab) / groups)  # multiplications per block (one group, one position)
    shared = rf > 1 or reps > 1
    lut = 0
    notes: list[str] = []
    # shift-and-add products that are adders in any case
    add_mask = is_add
    add_luts_each = (bx + span) * np.maximum(digits - 1, 0)
    if shared and ops:
        units = min(limit, ops)
        need = math.ceil(ops / units)
        ii_block = rf if need <= 1 else min(rf, need + m.share_overhead_cycles)
        f_units = round(units * u_fab / max(u_dsp + u_fab, 1))
        d_units = units - f_units
        dsp = d_units * dsp_each
        lut += f_units * fabric_multiply_luts(bx, bw, m)
        if need > 1:
            lut += units * mux_luts(need, bx + bw)
            notes.append(f"{units} multipliers shared by {ops} products")
        fabric_ops = u_fab
    else:
        ii_block = rf
        dsp = u_dsp * dsp_each
        add_mask = is_add | to_fab
        fabric_ops = u_fab
    # adders of the shift-and-add products (each distinct product once)
    if add_mask.any():
        lut += int(add_luts_each[add_mask].sum())
    # adder tree per output column: nonzero terms (+ bias)
    terms = nz.sum(axis=1) + (mac.bias != 0)  # (groups, n_out)
    adds = int(np.maximum(terms - 1, 0).sum())
    max_terms = int(terms.max()) if terms.size else 0
    levels = tree_depth(max_terms)
    if n_in * n_out > m.balance_limit_products:
        # Vitis HLS left such large sums as written: one adder chain per output
        levels = max(max_terms - 1, 0)
        notes.append(f"{n_in * n_out} products: adder chains, not trees (latency ~ terms)")
    add_w = min(ba, pw_acc + 2)
    lut += adds * add_w
    lut += n_out * groups * cast_luts(mac.acc, mac.res)
    # latency: the multiply stage (whose last cycle also holds the first adder level), then
    # the rest of the tree; shift-and-add products chain into the tree
    fab_levels = tree_depth(int(digits[to_fab | is_add].max())) if (u_fab + u_add) else 0
    per_cycle = max(1, math.floor(ctx.period / m.t_add_ns))
    comb_ns = 0.0
    if u_dsp and ctx.dsp_registered:
        depth = m.dsp_latency_cycles + math.ceil(max(levels - 1, 0) / per_cycle)
    else:
        # at a long period HLS leaves the DSPs unregistered: the layer is one chain of logic
        delay = (m.t_dsp_ns if u_dsp else fab_levels * m.t_add_ns) + levels * m.t_add_ns
        depth = ctx.layer_cycles(delay) if not shared else max(1, ctx.cycles(delay))
        comb_ns = delay if depth == 0 else 0.0
    latency = (reps - 1) * ii_block + max(depth, ii_block - 1) if shared else depth
    # registers: each product is registered once and the partial sums at the stage
    # boundaries (calibrated: ``ff_per_product_bit`` accumulator bits per product); a
    # combinational layer has none
    terms_total = float(terms.sum())
    per_bit = m.ff_per_shared_product_bit if shared else m.ff_per_product_bit
    ff = int(terms_total * add_w * per_bit) + n_out * groups * br if latency else 0
    if shared and rf > 1:
        ff += n_in * bx
    return _ProductCost(
        dsp=int(dsp), lut=int(lut), ff=int(ff), dsp_ops=u_dsp, fabric_ops=fabric_ops,
        ii=int(ii_block * reps), latency=int(latency), notes=notes, comb_ns=comb_ns,
    )


def _mac_cost(ctx: RuleContext, node: Node, mac: _Mac) -> LayerEstimate:
    m = ctx.model
    groups, n_in, n_out = mac.weights.shape
    sched = multiply_schedule(node, n_in, n_out)
    rf = sched.reuse_factor
    resource = sched.strategy == "resource"
    bx, bw, ba = mac.x.width, mac.w.width, mac.acc.width
    W = mac.weights
    nz = W != 0
    a = np.abs(W)
    shift = nz & ((a & (a - 1)) == 0)  # a power of two
    n_nz = int(nz.sum())
    n_shift = int(shift.sum())
    reps = mac.iterations * groups  # times the (n_in, n_out) block runs per inference
    # width of a product once aligned to the accumulator (bits below its LSB are dropped)
    pw = bx + bw
    pw_acc = min(ba, pw - max(0, mac.x.frac + mac.w.frac - mac.acc.frac))
    dsp = lut = ff = bram = 0
    n_dsp_ops = n_fab_ops = 0
    notes: list[str] = []
    ii = rf * reps

    comb_ns = 0.0
    if resource:
        # hls4ml Resource: n_in*n_out/RF multipliers fed from a weight ROM of depth RF
        units = sched.multiplier_limit
        if use_dsp(bx, bw, m):
            dsp += units * dsps_per_multiply(ctx.part.dsp_family, bx, bw)
            n_dsp_ops = n_nz
        else:
            lut += units * fabric_multiply_luts(bx, bw, m)
            n_fab_ops = n_nz
        word = units * bw
        if rf >= m.resource_rom_bram_min_depth and rf * word > m.rom_lut_max_bits:
            bram += groups * bram_18k_for(rf, word)
            notes.append(f"weights in block RAM: {rf} x {word} bits")
        else:
            lut += groups * word * max(1, math.ceil(rf / 64))
        lut += units * mux_luts(rf, bx)  # input select per multiplier
        lut += units * ba  # one accumulate adder per multiplier
        ff += n_out * ba + units * (pw_acc if not use_dsp(bx, bw, m) else 0) + n_in * bx
        depth = ctx.cycles(m.t_dsp_ns) + ctx.cycles(tree_depth(max(1, units // max(n_out, 1))) * m.t_add_ns) + 2
        latency = ii + depth
    else:
        cost = _constant_products(ctx, mac, sched.multiplier_limit, rf)
        dsp, lut, ff = cost.dsp, cost.lut, cost.ff
        n_dsp_ops, n_fab_ops = cost.dsp_ops, cost.fabric_ops
        ii, latency = cost.ii, cost.latency
        comb_ns = cost.comb_ns
        notes += cost.notes
    if mac.iterations > 1 or groups > 1:
        notes.append(f"{reps} positions share the multipliers: II = {reps} x RF {rf}")
    if ctx.io_type == "io_stream" and mac.stream_positions > 1:
        notes.append("io_stream: one input element per cycle, line buffer in registers")
        ff += (n_in // max(1, groups)) * bx  # window registers
    return row(
        node,
        lut=int(lut), ff=int(ff), dsp=int(dsp), bram_18k=int(bram), latency_cycles=int(latency), ii=int(ii),
        multiplies=int(n_nz * mac.iterations), dsp_multiplies=int(n_dsp_ops * mac.iterations),
        fabric_multiplies=int(n_fab_ops * mac.iterations), shifts=int(n_shift * mac.iterations),
        reuse_factor=rf, strategy=sched.strategy, notes=notes, comb_ns=comb_ns,
    )



def dense(ctx: RuleContext, node: Node) -> LayerEstimate:
    x, k, b = (ctx.value(node, i) for i in range(3))
    n_in, n_out = k.shape
    mac = _Mac(
        weights=raw_constant(k).reshape(1, n_in, n_out),
        bias=raw_constant(b).reshape(1, n_out),
        iterations=x.size // n_in,
        x=fixed(x.type, node, "input"),
        w=fixed(k.type, node, "kernel"),
        acc=fixed(node.precision.get("accum") or ctx.out(node).type, node, "accum"),
        res=fixed(ctx.out(node).type, node, "result"),
        stream_positions=1,
    )
    return _mac_cost(ctx, node, mac)


def conv(ctx: RuleContext, node: Node) -> LayerEstimate:
    x, k, b = (ctx.value(node, i) for i in range(3))
    a: ConvAttrs = node.attrs
    g = a.groups
    c_out = k.shape[-1]
    n_in = int(np.prod(k.shape[:-1]))  # taps x (c_in / g)
    raw = raw_constant(k).reshape(n_in, g, c_out // g).transpose(1, 0, 2)
    out = ctx.out(node)
    positions = out.size // c_out
    mac = _Mac(
        weights=raw,
        bias=raw_constant(b).reshape(g, c_out // g),
        iterations=positions,
        x=fixed(x.type, node, "input"),
        w=fixed(k.type, node, "kernel"),
        acc=fixed(node.precision.get("accum") or out.type, node, "accum"),
        res=fixed(out.type, node, "result"),
        stream_positions=x.size // x.shape[-1],
    )
    return _mac_cost(ctx, node, mac)


def batchnorm(ctx: RuleContext, node: Node) -> LayerEstimate:
    m = ctx.model
    x, s, b = (ctx.value(node, i) for i in range(3))
    out = ctx.out(node)
    xt = fixed(x.type, node, "input")
    st = fixed(s.type, node, "scale")
    reps = x.size // x.shape[-1]
    sraw = raw_constant(s)
    odd = odd_part(sraw)
    nz = sraw != 0
    shift = nz & (odd == 1)
    digits = csd_digits(odd)
    sig = sig_width(odd, st.signed)
    # as for Dense: two CSD digits are one adder, three or more a multiplication
    to_dsp = nz & (digits >= 3) & use_dsp_mask(xt.width, sig, m)
    to_fab = nz & ~shift & ~to_dsp
    span = np.maximum(sig - (2 if st.signed else 1), 0)
    dsp = int(to_dsp.sum()) * reps * dsps_per_multiply(ctx.part.dsp_family, xt.width, st.width)
    lut = constant_multiply_luts(xt.width, digits[to_fab], span[to_fab]) * reps
    pw = xt.width + st.width
    lut += x.size * min(pw, width_of(out.type) + 2)  # bias adder
    lut += x.size * cast_luts(FixedType(pw, xt.integer + st.integer), out.type)
    timing = ctx.timing(
        (tree_depth(int(digits.max()) if digits.size else 1) + 1) * m.t_add_ns,
        x.size * width_of(out.type) + (int(to_fab.sum()) * reps * pw),
        dsp=bool(to_dsp.any()),
    )
    return row(
        node, lut=lut, dsp=dsp, ii=1, **timing,  # type: ignore[arg-type]
        multiplies=int(nz.sum()) * reps, dsp_multiplies=int(to_dsp.sum()) * reps,
        fabric_multiplies=int(to_fab.sum()) * reps, shifts=int(shift.sum()) * reps,
    )
