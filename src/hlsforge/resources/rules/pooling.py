"""Cost rules of max and average pooling (windowed and global)."""

from __future__ import annotations

import numpy as np

from ...ir.graph import Node
from ...ir.ops import (
    Op,
    PoolAttrs,
)
from ...ir.types import FixedType
from ..arith import (
    cast_luts,
    tree_depth,
    width_of,
)
from ..records import LayerEstimate
from .context import (
    RuleContext,
    const_scalar_mult_luts,
    row,
)

# ----------------------------------------------------------------------------- pooling


def window(ctx: RuleContext, node: Node) -> int:
    if node.op in (Op.GLOBAL_MAXPOOL, Op.GLOBAL_AVGPOOL):
        x = ctx.value(node, 0)
        return x.size // x.shape[-1]
    a: PoolAttrs = node.attrs
    return int(np.prod(a.kernel_shape))


def maxpool(ctx: RuleContext, node: Node) -> LayerEstimate:
    win = window(ctx, node)
    bx = width_of(ctx.value(node, 0).type)
    out = ctx.out(node)
    lut = out.size * (win - 1) * bx + out.size * cast_luts(ctx.value(node, 0).type, out.type)
    timing = ctx.timing(tree_depth(win) * (ctx.model.t_add_ns + ctx.model.t_lut_ns / 2), out.size * width_of(out.type))
    return row(node, lut=lut, ii=1, **timing)  # type: ignore[arg-type]


def avgpool(ctx: RuleContext, node: Node) -> LayerEstimate:
    m = ctx.model
    win = window(ctx, node)
    x = ctx.value(node, 0)
    bx = width_of(x.type)
    out = ctx.out(node)
    sum_w = bx + tree_depth(win)
    scale_t = node.precision.get("scale")
    ml, lv = const_scalar_mult_luts(1.0 / win, scale_t, sum_w)
    lut = out.size * ((win - 1) * sum_w + ml) + out.size * cast_luts(FixedType(sum_w, sum_w), out.type)
    timing = ctx.timing((tree_depth(win) + lv) * m.t_add_ns, out.size * width_of(out.type))
    return row(node, lut=lut, ii=1, multiplies=out.size, fabric_multiplies=out.size, **timing)  # type: ignore[arg-type]
