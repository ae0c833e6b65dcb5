"""Cost rules of the recurrent cells (GRU, LSTM, SimpleRNN) and LayerNormalization
(``hlsforge_kernels/recurrent.h``).

The kernels run under the top function's PIPELINE, so the sequence is unrolled: every step
instantiates its own input and recurrent products (``W·x[t]``, ``R·h``) as constant
multipliers (a zero weight is skipped, a power of two is a shift), its gate products
(``r·hn``, ``z·(h − n)``, ``f·c``, ``i·g``, ``o·h(c)``) as variable multipliers, and its table
reads (one replicated ROM per read). ReuseFactor R caps the multipliers at ``ceil(n/R)`` with
``ALLOCATION`` and sets II = R. Latency is the chain of steps: each step is a dot product
(multiply + adder tree), a table read and the state update. Not calibrated against synthesis
(no published report of these kernels): an order-of-magnitude figure, like docs/estimate.md
says for the other uncalibrated kernels.
"""

from __future__ import annotations

import numpy as np

from ...ir.graph import Node
from ...ir.ops import Op, RecurrentAttrs, rnn_gates
from ...quantize.config import raw_constant
from ..arith import dsps_per_multiply, fabric_multiply_luts, tree_depth, use_dsp, width_of
from ..records import LayerEstimate
from .context import RuleContext, row
from .tables import table_cost


def _reuse(node: Node) -> int:
    rec = node.options.get("hls")
    return max(1, int(getattr(rec, "reuse_factor", 1) or 1))


def _products(ctx: RuleContext, n_const: int, n_shift: int, bx: int, bw: int, n_var: int, bv: int, rf: int
              ) -> tuple[int, int, int, int]:
    """(LUT, DSP, dsp products, fabric products) of ``n_const`` constant products (``bx × bw``)
    and ``n_var`` variable ones (``bv × bv``) under a multiplier limit of ``ceil(n/rf)``."""
    m = ctx.model
    lut = dsp = n_dsp = n_fab = 0
    for n, wa, wb in ((n_const - n_shift, bx, bw), (n_var, bv, bv)):
        if n <= 0:
            continue
        units = -(-n // rf)
        if use_dsp(wa, wb, m):
            dsp += units * dsps_per_multiply(ctx.part.dsp_family, wa, wb)
            n_dsp += n
        else:
            lut += units * fabric_multiply_luts(wa, wb, m)
            n_fab += n
    return lut, dsp, n_dsp, n_fab


def recurrent(ctx: RuleContext, node: Node) -> LayerEstimate:
    m = ctx.model
    a: RecurrentAttrs = node.attrs
    x = ctx.value(node, 0)
    seq, n_in = x.shape
    hs = a.hidden_size
    gates = rnn_gates(node.op)
    w, r = raw_constant(ctx.value(node, 1)), raw_constant(ctx.value(node, 2))
    dirs = w.shape[0]
    raws = np.concatenate([w.reshape(-1), r.reshape(-1)])
    nz = raws != 0
    absr = np.abs(raws.astype(object)) if raws.dtype == object else np.abs(raws)
    n_const = int(nz.sum()) * seq
    n_shift = int((nz & ((absr & (absr - 1)) == 0)).sum()) * seq
    var_per_step = {Op.GRU: 2 * hs, Op.LSTM: 3 * hs, Op.SIMPLE_RNN: 0}[node.op]
    if node.op is Op.LSTM:
        n_const += int((raw_constant(ctx.value(node, 6)) != 0).sum()) * seq
    n_var = var_per_step * seq * dirs
    acc_t = node.precision["accum"]
    ba = width_of(acc_t)
    bx = max(width_of(x.type), width_of(ctx.out(node).type))
    bw = max(width_of(ctx.value(node, 1).type), width_of(ctx.value(node, 2).type))
    bt = width_of(node.precision.get("table", acc_t))
    rf = _reuse(node)
    lut, dsp, n_dsp, n_fab = _products(ctx, n_const, n_shift, bx, bw, n_var, max(bt, ba), rf)
    # adders: one per product into its accumulator, plus the gate sums and the state update
    lut += (n_const + n_var) * ba + seq * dirs * gates * hs * 2 * ba
    bram = 0
    notes = [f"sequence of {seq} unrolled; {dirs} direction(s)"]
    reads_per_step = {Op.GRU: 3 * hs, Op.LSTM: 5 * hs, Op.SIMPLE_RNN: hs}[node.op]
    for key in ("table_f", "table_g", "table_h"):
        if key in node.options:
            share = {"table_f": {Op.GRU: 2, Op.LSTM: 3, Op.SIMPLE_RNN: 1}[node.op], "table_g": 1, "table_h": 1}[key]
            reads = seq * dirs * share * hs
            t_lut, t_bram, _, _, idx = table_cost(ctx, node, key, "table", reads, ba)
            lut += t_lut + idx
            bram += t_bram
    step = (
        (m.dsp_latency_cycles if n_dsp else ctx.cycles(m.t_add_ns * 2))
        + ctx.cycles(tree_depth(n_in + hs) * m.t_add_ns)
        + ctx.cycles(m.t_lutrom_ns) + (m.dsp_latency_cycles if var_per_step else 0) + 1
    )
    ff = seq * dirs * (gates * hs * ba + hs * bx) + reads_per_step * seq * dirs * bt // 2
    return row(
        node, lut=int(lut), ff=int(ff), dsp=int(dsp), bram_18k=int(bram), latency_cycles=int(seq * step), ii=rf,
        multiplies=n_const + n_var, dsp_multiplies=n_dsp, fabric_multiplies=n_fab, shifts=n_shift,
        reuse_factor=rf, notes=notes,
    )


def layernorm(ctx: RuleContext, node: Node) -> LayerEstimate:
    m = ctx.model
    x = ctx.value(node, 0)
    n = x.shape[-1]
    rows = x.size // n
    ba = width_of(node.precision["accum"])
    bt = width_of(node.precision.get("table", node.precision["accum"]))
    rf = _reuse(node)
    # per row: n squares, two multiplies by 1/n, 2n for dev·inv·scale
    n_var = rows * (3 * n + 2)
    lut, dsp, n_dsp, n_fab = _products(ctx, 0, 0, 0, 0, n_var, max(ba, bt), rf)
    lut += rows * (3 * n) * ba  # the sums, the deviations, the bias add
    t_lut, t_bram, _, _, idx = table_cost(ctx, node, "table", "table", rows, ba)
    lut += t_lut + idx
    depth = tree_depth(n)
    lat = 2 * ctx.cycles(depth * m.t_add_ns) + 4 * (m.dsp_latency_cycles if n_dsp else 1) + ctx.cycles(m.t_lutrom_ns) + 2
    return row(
        node, lut=int(lut), ff=int(x.size * (ba + width_of(ctx.out(node).type))), dsp=int(dsp), bram_18k=int(t_bram),
        latency_cycles=int(lat), ii=rf, multiplies=n_var, dsp_multiplies=n_dsp, fabric_multiplies=n_fab,
        reuse_factor=rf, notes=[f"1/sqrt table of {int(node.options['table'].size)} entries"],
    )


RULES = {Op.GRU: recurrent, Op.LSTM: recurrent, Op.SIMPLE_RNN: recurrent, Op.LAYERNORM: layernorm}
