"""CPU backend rules of TopK, GatherElements and ReduceProd (issue 12): their own family module;
``lower.RULES`` and ``emit.RENDER`` merge :data:`RULES` and :data:`RENDER`.

TopK writes its values and indices (exact float32 integers) straight into its two outputs;
GatherElements reads indices computed by the model (EdgeConv's k-NN); ReduceProd multiplies
the inputs a constant index table lists per output. All sizes are compile-time constants in a
config struct; nothing is allocated per call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..ir.graph import Node
from ..ir.ops import AxisAttrs, Op, ReduceAttrs, TopKAttrs
from .lower import Step, _strides

if TYPE_CHECKING:
    from .emit import Writer
    from .lower import _Planner


@dataclass(frozen=True)
class TopKStep(Step):
    cfg: str
    x: str
    values: str
    indices: str
    outer: int
    length: int
    inner: int
    k: int
    largest: bool


@dataclass(frozen=True)
class GatherElementsStep(Step):
    cfg: str
    x: str
    idx: str
    y: str
    axis: int
    length: int
    x_event: int
    dims: tuple[int, ...]
    x_str: tuple[int, ...]


@dataclass(frozen=True)
class ReduceProdStep(Step):
    cfg: str
    x: str
    y: str
    in_size: int
    out_size: int
    index: tuple[int, ...]  # R per output, output-major


def _topk(p: _Planner, node: Node) -> Step:
    a: TopKAttrs = node.attrs
    xs = p.x_shape(node)
    dv, di = p.declare(node.outputs[0]), p.declare(node.outputs[1])
    return TopKStep(p.origin(node), (dv, di), p.namer.ident("cfg", node.name), p.x(node), dv.ident, di.ident,
                    math.prod(xs[: a.axis]), xs[a.axis], math.prod(xs[a.axis + 1 :]), a.k, a.largest)


def _gather_elements(p: _Planner, node: Node) -> Step:
    a: AxisAttrs = node.attrs
    xs, idx = p.x_shape(node, 0), p.x_shape(node, 1)
    d, y = p.out(node)
    x_str = tuple(0 if dx == 1 and di > 1 and i != a.axis else st
                  for i, (dx, di, st) in enumerate(zip(xs, idx, _strides(xs), strict=True)))  # broadcast
    return GatherElementsStep(p.origin(node), (d,), p.namer.ident("cfg", node.name), p.x(node, 0), p.x(node, 1), y,
                              a.axis, xs[a.axis], math.prod(xs), tuple(idx), x_str)


def _reduce_prod(p: _Planner, node: Node) -> Step:
    a: ReduceAttrs = node.attrs
    xs = p.x_shape(node)
    d, y = p.out(node)
    kept = [i for i in range(len(xs)) if i not in a.axes]
    order = np.arange(math.prod(xs)).reshape(xs).transpose(kept + list(a.axes)).reshape(-1)
    return ReduceProdStep(p.origin(node), (d,), p.namer.ident("cfg", node.name), p.x(node), y, math.prod(xs),
                          math.prod(d.shape), tuple(int(i) for i in order))


def _b(v: bool) -> str:
    return "true" if v else "false"


def _render_topk(s: TopKStep, cfg: Writer, body: Writer) -> None:
    with cfg.block(f"struct {s.cfg}", "};"):
        cfg.line(f"static constexpr std::size_t outer = {s.outer}, len = {s.length}, inner = {s.inner}, k = {s.k};")
        cfg.line(f"static constexpr bool largest = {_b(s.largest)};")
    body.line(f"hlsforge_cpu::topk<{s.cfg}>({s.x}, {s.values}, {s.indices}, n);")


def _render_gather_elements(s: GatherElementsStep, cfg: Writer, body: Writer) -> None:
    with cfg.block(f"struct {s.cfg}", "};"):
        cfg.line(f"static constexpr std::size_t rank = {len(s.dims)}, axis = {s.axis}, len = {s.length};")
        cfg.line(f"static constexpr std::size_t x_event = {s.x_event}, i_event = {math.prod(s.dims)};")
        cfg.line(f"static constexpr std::size_t dims[rank] = {{{', '.join(map(str, s.dims))}}};")
        cfg.line(f"static constexpr std::size_t x_str[rank] = {{{', '.join(map(str, s.x_str))}}};")
    body.line(f"hlsforge_cpu::gather_elements<{s.cfg}>({s.x}, {s.idx}, {s.y}, n);")


def _render_reduce_prod(s: ReduceProdStep, cfg: Writer, body: Writer) -> None:
    with cfg.block(f"struct {s.cfg}", "};"):
        cfg.line(f"static constexpr std::size_t in_size = {s.in_size}, out_size = {s.out_size}, "
                 f"R = {s.in_size // s.out_size};")
        cfg.line(f"static constexpr std::uint32_t index[in_size] = {{{', '.join(map(str, s.index))}}};")
    body.line(f"hlsforge_cpu::reduce_prod<{s.cfg}>({s.x}, {s.y}, n);")


RULES: dict[Op, object] = {Op.TOPK: _topk, Op.GATHER_ELEMENTS: _gather_elements, Op.REDUCE_PROD: _reduce_prod}
RENDER: dict[type, object] = {TopKStep: _render_topk, GatherElementsStep: _render_gather_elements,
                              ReduceProdStep: _render_reduce_prod}
