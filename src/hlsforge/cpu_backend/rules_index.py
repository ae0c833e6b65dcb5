"""CPU backend rules of the index ops (Slice, Gather): a constant index table per op.

Each output element copies one input element; the table (``hlsforge.ir.index_maps``) is a
``static constexpr`` array in the op's config struct, so the step allocates nothing and keeps
the ``Session``'s const/thread-safe guarantees. ``lower.py`` and ``emit.py`` merge
:data:`RULES` and :data:`RENDER` into their tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..ir.graph import Node
from ..ir.index_maps import INDEX_OPS, source_index
from ..ir.ops import Op

if TYPE_CHECKING:
    from .emit import Writer
    from .lower import _Planner

from .lower import Step


@dataclass(frozen=True)
class IndexStep(Step):
    """``y[e][i] = x[e][index[i]]`` for every event ``e``."""

    cfg: str
    x: str
    y: str
    in_size: int
    index: tuple[int, ...]


def _index_rule(p: _Planner, node: Node) -> Step:
    xs = p.x_shape(node)
    d, y = p.out(node)
    idx = tuple(int(i) for i in source_index(node, xs))
    return IndexStep(p.origin(node), (d,), p.namer.ident("cfg", node.name), p.x(node), y, math.prod(xs), idx)


def _render(s: IndexStep, cfg: Writer, body: Writer) -> None:
    with cfg.block(f"struct {s.cfg}", "};"):
        cfg.line(f"static constexpr std::size_t in_size = {s.in_size}, out_size = {len(s.index)};")
        cfg.line(f"static constexpr std::uint32_t index[out_size] = {{{', '.join(str(i) for i in s.index)}}};")
    with body.block("for (std::size_t e = 0; e < n; ++e)"):
        body.line(f"const float* xe = {s.x} + e * {s.cfg}::in_size;")
        body.line(f"float* ye = {s.y} + e * {s.cfg}::out_size;")
        body.line(f"for (std::size_t i = 0; i < {s.cfg}::out_size; ++i) ye[i] = xe[{s.cfg}::index[i]];")


RULES: dict[Op, object] = {op: _index_rule for op in INDEX_OPS}
RENDER: dict[type, object] = {IndexStep: _render}
