"""CPU-backend rules of the elementwise-math and attention ops (issue 12).

Their own family module: ``lower.RULES`` and ``emit.RENDER`` merge ``MATH_RULES`` and
``MATH_RENDER``. Elementwise ops are ``MapStep``s with libm functors (not fused into the
epilogues of Dense/Conv: the fused list is for the vectorized kernels); Div reuses the
broadcasting kernel; LayerNormalization and BatchMatMul have their own steps. Every kernel
works in the arena the planner assigns: nothing is allocated per call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..ir.graph import Node
from ..ir.ops import GeluAttrs, LayerNormAttrs, Op, PowAttrs, SwishAttrs
from .lower import _BINARY, Activation, Rule, Step, _binary, _map, _Planner


@dataclass(frozen=True)
class LayerNormStep(Step):
    x: str
    scale: str
    bias: str
    y: str
    rows: int  # rows per event
    channels: int
    epsilon: float


@dataclass(frozen=True)
class BatchMatMulStep(Step):
    a: str
    b: str
    y: str
    count: int  # matrix pairs per event (product of the leading axes)
    m: int
    k: int
    n: int


def _layernorm(p: _Planner, node: Node) -> Step:
    a: LayerNormAttrs = node.attrs
    xs = p.x_shape(node)
    d, y = p.out(node)
    return LayerNormStep(p.origin(node), (d,), p.x(node), p.weight(node.inputs[1]), p.weight(node.inputs[2]), y,
                         math.prod(xs[:-1]), xs[-1], a.epsilon)


def _batch_matmul(p: _Planner, node: Node) -> Step:
    sa, sb = p.x_shape(node, 0), p.x_shape(node, 1)
    d, y = p.out(node)
    return BatchMatMulStep(p.origin(node), (d,), p.x(node, 0), p.x(node, 1), y, math.prod(sa[:-2]), sa[-2], sa[-1],
                           sb[-1])


def _gelu(n: Node) -> Activation:
    a: GeluAttrs = n.attrs
    return Activation("Gelu", (1.0 if a.approximate == "tanh" else 0.0,))


def _pow(n: Node) -> Activation:
    a: PowAttrs = n.attrs
    return Activation("Pow", (a.exponent,))


def _swish(n: Node) -> Activation:
    a: SwishAttrs = n.attrs
    return Activation("Swish", (a.alpha,))


_BINARY[Op.DIV] = "DivOp"

MATH_RULES: dict[Op, Rule] = {
    Op.DIV: _binary,
    **{op: _map(lambda n, f=functor: Activation(f)) for op, functor in (
        (Op.EXP, "Exp"), (Op.LOG, "Log"), (Op.SQRT, "Sqrt"), (Op.NEG, "Neg"), (Op.RECIPROCAL, "Reciprocal"),
        (Op.ABS, "Abs"), (Op.ERF, "Erf"), (Op.HARD_SWISH, "HardSwish"))},
    Op.POW: _map(_pow),
    Op.GELU: _map(_gelu),
    Op.SWISH: _map(_swish),
    Op.LAYERNORM: _layernorm,
    Op.BATCH_MATMUL: _batch_matmul,
}


def _rows(k: int) -> str:
    return "n" if k == 1 else f"n * {k}"


def _render_layernorm(s: LayerNormStep, cfg: Any, body: Any) -> None:
    from .emit import f32

    body.line(f"hlsforge_cpu::layernorm<{s.channels}>({s.x}, {s.scale}, {s.bias}, {s.y}, {_rows(s.rows)}, "
              f"{f32(s.epsilon)});")


def _render_batch_matmul(s: BatchMatMulStep, cfg: Any, body: Any) -> None:
    body.line(f"hlsforge_cpu::batch_matmul<{s.m}, {s.k}, {s.n}>({s.a}, {s.b}, {s.y}, {_rows(s.count)});")


MATH_RENDER: dict[type, Any] = {LayerNormStep: _render_layernorm, BatchMatMulStep: _render_batch_matmul}
