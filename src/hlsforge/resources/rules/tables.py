"""Cost rules of the table kernels: Sigmoid, Tanh, Softplus, ELU, SELU and Softmax."""

from __future__ import annotations

import math

from ...errors import PrecisionError
from ...ir.graph import Node
from ...ir.types import FixedType, IntType
from ...quantize.fixed import as_fixed_type
from ..arith import (
    cast_luts,
    dsps_per_multiply,
    fabric_multiply_luts,
    rom_cost,
    tree_depth,
    use_dsp,
    width_of,
)
from ..records import LayerEstimate
from .context import (
    RuleContext,
    const_scalar_mult_luts,
    row,
)
from .elementwise import elementwise_base


def table_cost(ctx: RuleContext, node: Node, key: str, precision_key: str, reads: int,
                index_width: int) -> tuple[int, int, int, bool, int]:
    """(LUT, BRAM, entry width, in_bram, index LUTs) of one lookup table read ``reads`` times."""
    spec = node.options.get(key)
    if spec is None:
        raise PrecisionError(
            f"{node.describe()}: no lookup table {key!r} was attached; quantize the graph with "
            "hlsforge.quantize.configure(graph, config) first"
        )
    size = int(spec.size)
    entry = node.precision.get(precision_key) or spec.entry_type
    w = width_of(entry)
    lut, bram, in_bram = rom_cost(size, w, reads, ctx.model)
    idx_bits = max(size - 1, 1).bit_length()
    index_luts = reads * 2 * (index_width + idx_bits)  # subtract the low end + clamp, select
    return lut, bram, w, in_bram, index_luts


def table_activation(ctx: RuleContext, node: Node, extra_per_elem: float = 0.0) -> LayerEstimate:
    x = ctx.value(node, 0)
    out = ctx.out(node)
    n = out.size
    if "table" not in node.options:  # ELU/SELU with unsigned input: a cast (or scale)
        return elementwise_base(ctx, node, extra_per_elem, ctx.model.t_lut_ns if extra_per_elem else 0.0)
    lut, bram, w, in_bram, idx = table_cost(ctx, node, "table", "table", n, width_of(x.type))
    lut += idx + int(n * extra_per_elem) + n * cast_luts(node.precision.get("table") or out.type, out.type)
    m = ctx.model
    lat = ctx.cycles(m.t_add_ns + m.t_lut_ns) + (m.t_bram_cycles if in_bram else ctx.cycles(m.t_lutrom_ns))
    ff = n * (width_of(out.type) + width_of(x.type))
    note = [f"table {int(node.options['table'].size)} x {w} bits, {'block RAM' if in_bram else 'LUT ROM'}"]
    return row(node, lut=lut, ff=ff, bram_18k=bram, latency_cycles=lat, ii=1, notes=note)


def plain_table(ctx: RuleContext, node: Node) -> LayerEstimate:
    return table_activation(ctx, node)


def elu(ctx: RuleContext, node: Node) -> LayerEstimate:
    # negative branch from the table, positive branch passes through: one mux per bit
    return table_activation(ctx, node, width_of(ctx.out(node).type) / 2)


def selu(ctx: RuleContext, node: Node) -> LayerEstimate:
    bx = width_of(ctx.value(node, 0).type)
    ml, _ = const_scalar_mult_luts(node.attrs.gamma, node.precision.get("param"), bx)
    return table_activation(ctx, node, ml + width_of(ctx.out(node).type) / 2)


def softmax(ctx: RuleContext, node: Node) -> LayerEstimate:
    m = ctx.model
    x = ctx.value(node, 0)
    out = ctx.out(node)
    n_in = x.shape[-1]
    rows = x.size // n_in
    bx = width_of(x.type)
    rec = node.options.get("softmax")
    mode = str(getattr(rec, "mode", rec if isinstance(rec, str) else "stable") or "stable").lower()
    cmp_luts = 2 * bx  # compare (carry chain) + select, one LUT per bit each
    levels = tree_depth(n_in)
    per_cycle = max(1, math.floor(ctx.period / m.t_add_ns))
    cmp_per_cycle = max(1, math.floor(ctx.period / (m.t_add_ns + m.t_lut_ns)))
    if mode == "argmax":
        lut = rows * ((n_in - 1) * (cmp_luts + max(n_in - 1, 1).bit_length()) + n_in * width_of(out.type))
        lat = math.ceil(levels / cmp_per_cycle) + 1
        return row(node, lut=lut, ff=x.size * (bx + width_of(out.type)), latency_cycles=lat, ii=1,
                    notes=["argmax mode: one-hot of the first maximum"])
    lut = rows * (n_in - 1) * cmp_luts  # max tree
    lut += rows * n_in * (bx + 1)  # x - max
    e_lut, e_bram, ew, e_in_bram, e_idx = table_cost(ctx, node, "exp_table", "exp_table", rows * n_in, bx + 1)
    sum_t = node.precision.get("sum")
    sw = width_of(sum_t) if sum_t is not None else ew + tree_depth(n_in)
    i_lut, i_bram, iw, i_in_bram, i_idx = table_cost(ctx, node, "inv_table", "inv_table", rows, sw)
    lut += e_lut + e_idx + i_lut + i_idx
    lut += rows * (n_in - 1) * (ew + tree_depth(n_in))  # exact sum tree
    dsp = 0
    if use_dsp(ew, iw, m):
        dsp = rows * n_in * dsps_per_multiply(ctx.part.dsp_family, ew, iw)
        n_dsp = rows * n_in
    else:
        lut += rows * n_in * fabric_multiply_luts(ew, iw, m)
        n_dsp = 0
    et, it = node.precision.get("exp_table"), node.precision.get("inv_table")
    if isinstance(et, (FixedType, IntType)) and isinstance(it, (FixedType, IntType)):
        fe, fi = as_fixed_type(et), as_fixed_type(it)
        lut += x.size * cast_luts(FixedType(ew + iw, fe.integer + fi.integer), out.type)
    read = lambda in_bram: m.t_bram_cycles if in_bram else ctx.cycles(m.t_lutrom_ns)  # noqa: E731
    # max tree | subtract + index | exp read | sum tree | index | inverse read | multiply | cast
    lat = (
        math.ceil(levels / cmp_per_cycle) + read(e_in_bram)
        + math.ceil((levels + 1) / per_cycle) + read(i_in_bram)
        + (m.dsp_latency_cycles if n_dsp else ctx.cycles(2 * m.t_add_ns)) + 1
    )
    # every stage holds a value per element, about as wide as the table entries
    ff = int(lat * x.size * ew * m.softmax_ff_width_fraction)
    return row(
        node, lut=lut, ff=ff, dsp=dsp, bram_18k=e_bram + i_bram, latency_cycles=lat, ii=1,
        multiplies=rows * n_in, dsp_multiplies=n_dsp, fabric_multiplies=rows * n_in - n_dsp,
        notes=[f"exp table {'block RAM' if e_in_bram else 'LUT ROM'}, inverse table {'block RAM' if i_in_bram else 'LUT ROM'}"],
    )
