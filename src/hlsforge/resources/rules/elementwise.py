"""Cost rules of the elementwise kernels without tables: ReLU, LeakyReLU, Clip, HardSigmoid, casts."""

from __future__ import annotations

from ...ir.graph import Node
from ...ir.ops import (
    AlphaAttrs,
)
from ..arith import (
    cast_luts,
    cast_register_bits,
    width_of,
)
from ..records import LayerEstimate
from .context import (
    RuleContext,
    const_scalar_mult_luts,
    row,
)

# ----------------------------------------------------------------------------- elementwise


def elementwise_base(ctx: RuleContext, node: Node, per_elem_luts: float, delay_ns: float,
                      notes: list[str] | None = None) -> LayerEstimate:
    x = ctx.value(node, 0)
    out = ctx.out(node)
    n = out.size
    cast = cast_luts(x.type, out.type)
    lut = int(round(n * per_elem_luts)) + n * cast
    if cast:  # rounding is an adder, saturation a compare and a select
        delay_ns += ctx.model.t_add_ns + (ctx.model.t_lut_ns if cast_register_bits(x.type, out.type) < cast else 0)
    if delay_ns <= 0 and lut == 0:
        return row(node, lut=0, ff=0, latency_cycles=0, ii=1, notes=notes or [])
    lat = ctx.layer_cycles(delay_ns)
    # a registered kernel holds its input and output (and a rounded intermediate) per element
    ff = n * (width_of(x.type) + width_of(out.type) + cast_register_bits(x.type, out.type)) if lat else 0
    return row(node, lut=lut, ff=ff, latency_cycles=lat, ii=1, notes=notes or [],
               comb_ns=0.0 if lat else delay_ns)


def relu(ctx: RuleContext, node: Node) -> LayerEstimate:
    # out = x < 0 ? 0 : x: a select as wide as the output
    return elementwise_base(ctx, node, width_of(ctx.out(node).type), ctx.model.t_lut_ns)


def cast_only(ctx: RuleContext, node: Node) -> LayerEstimate:
    elements = getattr(node.attrs, "elements", None)
    if elements is None:
        return elementwise_base(ctx, node, 0.0, 0.0)
    return _cast_elements(ctx, node, elements)


def _cast_elements(ctx: RuleContext, node: Node, elements) -> LayerEstimate:  # noqa: ANN001
    """A per-channel / per-element quantizer: each element costs the cast into *its own* type
    (widening into the container is wiring; a pruned element is the constant 0). The layers
    after it still see the container's width (docs/estimate.md: an overcount)."""
    x = ctx.value(node, 0)
    period, pattern = elements.period(tuple(x.shape))
    reps = x.size // period
    lut = ff = 0
    slowest = 0.0
    for t, idx in elements.groups():
        n = reps * int(sum(int(c) for c in (pattern[:, None] == idx[None, :]).sum(axis=0)))
        if t is None or n == 0:
            continue
        cast = cast_luts(x.type, t)
        lut += n * cast
        if cast:
            slowest = max(slowest, ctx.model.t_add_ns + (ctx.model.t_lut_ns if cast_register_bits(x.type, t) < cast else 0))
        ff += n * (width_of(x.type) + width_of(t) + cast_register_bits(x.type, t))
    if lut == 0:
        return row(node, lut=0, ff=0, latency_cycles=0, ii=1, notes=[])
    lat = ctx.layer_cycles(slowest)
    return row(node, lut=lut, ff=ff if lat else 0, latency_cycles=lat, ii=1, notes=[],
               comb_ns=0.0 if lat else slowest)



def leaky_relu(ctx: RuleContext, node: Node) -> LayerEstimate:
    a: AlphaAttrs = node.attrs
    bx = width_of(ctx.value(node, 0).type)
    ml, lv = const_scalar_mult_luts(a.alpha, node.precision.get("param"), bx)
    per = ml + width_of(ctx.out(node).type) / 2
    return elementwise_base(ctx, node, per, ctx.model.t_lut_ns + lv * ctx.model.t_add_ns)


def clip(ctx: RuleContext, node: Node) -> LayerEstimate:
    bx = width_of(ctx.value(node, 0).type)
    bounds = sum(v is not None for v in (node.attrs.min, node.attrs.max))
    per = bounds * (bx / 2 + width_of(ctx.out(node).type) / 2)
    return elementwise_base(ctx, node, per, ctx.model.t_add_ns + ctx.model.t_lut_ns)


def hard_sigmoid(ctx: RuleContext, node: Node) -> LayerEstimate:
    bx = width_of(ctx.value(node, 0).type)
    ml, lv = const_scalar_mult_luts(node.attrs.alpha, node.precision.get("param"), bx)
    per = ml + bx + 2 * (bx / 2 + width_of(ctx.out(node).type) / 2)
    return elementwise_base(ctx, node, per, (lv + 2) * ctx.model.t_add_ns + ctx.model.t_lut_ns)
