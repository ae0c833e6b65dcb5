"""Cost rules of the two-operand and joining layers: Add, Sub, Mul, Concat."""

from __future__ import annotations

import numpy as np

from ...ir.graph import Node
from ...quantize.config import raw_constant
from ..arith import (
    cast_luts,
    constant_multiply_luts,
    csd_digits,
    dsps_per_multiply,
    fabric_multiply_luts,
    odd_part,
    use_dsp,
    width_of,
)
from ..records import LayerEstimate
from .context import (
    RuleContext,
    row,
    sig_width,
    use_dsp_mask,
)

# ----------------------------------------------------------------------------- merges


def add_sub(ctx: RuleContext, node: Node) -> LayerEstimate:
    a, b = ctx.value(node, 0), ctx.value(node, 1)
    out = ctx.out(node)
    w = max(width_of(a.type), width_of(b.type)) + 1
    lut = out.size * w
    return row(node, lut=lut, ii=1, **ctx.timing(ctx.model.t_add_ns, out.size * width_of(out.type)))  # type: ignore[arg-type]


def mul(ctx: RuleContext, node: Node) -> LayerEstimate:
    m = ctx.model
    a, b = ctx.value(node, 0), ctx.value(node, 1)
    out = ctx.out(node)
    n = out.size
    const = a if a.is_constant else (b if b.is_constant else None)
    var = b if const is a else a
    bv = width_of(var.type)
    if const is not None:
        raw = np.broadcast_to(raw_constant(const), tuple(out.shape)).reshape(-1)
        odd = odd_part(raw)
        nz = raw != 0
        shift = nz & (odd == 1)
        cw = width_of(const.type)
        digits = csd_digits(odd)
        sig = sig_width(odd, bool(getattr(const.type, "signed", True)))
        # as for Dense: two CSD digits are one adder, three or more a multiplication
        to_dsp = nz & (digits >= 3) & use_dsp_mask(bv, sig, m)
        to_fab = nz & ~shift & ~to_dsp
        lut = constant_multiply_luts(bv, digits[to_fab], np.maximum(sig[to_fab] - 2, 0))
        dsp = int(to_dsp.sum()) * dsps_per_multiply(ctx.part.dsp_family, bv, cw)
        n_dsp, n_fab, n_mult, n_shift = int(to_dsp.sum()), int(to_fab.sum()), int(nz.sum()), int(shift.sum())
    else:
        wb = width_of(b.type)
        if use_dsp(bv, wb, m):
            dsp, lut, n_dsp, n_fab = n * dsps_per_multiply(ctx.part.dsp_family, bv, wb), 0, n, 0
        else:
            dsp, lut, n_dsp, n_fab = 0, n * fabric_multiply_luts(bv, wb, m), 0, n
        n_mult, n_shift = n, 0
    timing = ctx.timing(0.0 if n_dsp else 3 * m.t_add_ns, n * width_of(out.type), dsp=bool(n_dsp))
    return row(
        node, lut=int(lut), dsp=int(dsp), ii=1, **timing,  # type: ignore[arg-type]
        multiplies=n_mult, dsp_multiplies=n_dsp, fabric_multiplies=n_fab, shifts=n_shift,
    )


def concat(ctx: RuleContext, node: Node) -> LayerEstimate:
    out = ctx.out(node)
    lut = sum(ctx.value(node, i).size * cast_luts(ctx.value(node, i).type, out.type) for i in range(len(node.inputs)))
    timing = ctx.timing(ctx.model.t_add_ns + ctx.model.t_lut_ns if lut else 0.0, out.size * width_of(out.type))
    return row(node, lut=lut, ii=1, **timing)  # type: ignore[arg-type]
