"""CPU backend rule of per-channel / per-element quantizers (``QuantizeAttrs.elements``).

The CPU backend computes in float and casts where the model quantizes (``hlsforge_cpu::
Quantize``, the same fake-quantization a scalar ``Quantize`` gets). A per-element quantizer is
one such functor per position of the repeating element pattern (``ElementTypes.period``),
held in a function-local constant table; pruned elements are 0. ``lower.py`` and
``emit.py`` merge :data:`RULES` and :data:`RENDER` into their tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..ir.graph import Node
from ..ir.ops import Op, QuantizeAttrs

if TYPE_CHECKING:
    from .emit import Writer
    from .lower import _Planner

from .lower import MapStep, QuantizeFn, Step, _quantize_fn


@dataclass(frozen=True)
class QuantizeElementsStep(Step):
    """``y[r * period + i] = fns[i](x[r * period + i])`` (0 where ``fns[i]`` is ``None``)."""

    table: str
    x: str
    y: str
    rows: int  # periods per event
    fns: tuple[QuantizeFn | None, ...]


def _rule(p: _Planner, node: Node) -> Step:
    a: QuantizeAttrs = node.attrs
    d, y = p.out(node)
    xs = p.x_shape(node)
    if a.elements is None:
        return MapStep(p.origin(node), (d,), _quantize_fn(node), p.x(node), y, math.prod(xs))
    period, pattern = a.elements.period(tuple(xs))
    fns = []
    for e in pattern:
        t = a.elements.type_at(int(e))
        fns.append(None if t is None else QuantizeFn(t.width, t.frac, t.signed, t.rounding.value, t.overflow.value))
    return QuantizeElementsStep(p.origin(node), (d,), p.namer.ident("q", node.name), p.x(node), y, math.prod(xs) // period, tuple(fns))


def _fn(fn: QuantizeFn | None) -> str:
    if fn is None:
        return "{0, 0, false, hlsforge_cpu::rounding::TRN, hlsforge_cpu::overflow::WRAP}"
    flag = "true" if fn.signed else "false"
    return (f"{{{fn.width}, {fn.frac}, {flag}, hlsforge_cpu::rounding::{fn.rounding}, "
            f"hlsforge_cpu::overflow::{fn.overflow}}}")


def _render(s: QuantizeElementsStep, cfg: Writer, body: Writer) -> None:
    period = len(s.fns)
    q = s.table
    body.line(f"// per-element quantizer: one type per position of a {period}-value period (width 0: pruned)")
    body.line(f"static const hlsforge_cpu::Quantize {q}[{period}] = {{{', '.join(_fn(f) for f in s.fns)}}};")
    with body.block(f"for (std::size_t r = 0; r < n * {s.rows}; ++r)"):
        with body.block(f"for (std::size_t i = 0; i < {period}; ++i)"):
            body.line(f"const std::size_t k = r * {period} + i;")
            body.line(f"{s.y}[k] = {q}[i].width ? {q}[i]({s.x}[k]) : 0.0f;")


RULES: dict[Op, object] = {Op.QUANTIZE: _rule}
RENDER: dict[type, object] = {QuantizeElementsStep: _render}
