"""Emulator rules of the index ops (Slice, Gather): the raw fixed-point values are copied,
so the result is exact in the input's type (the configured result type, like Transpose's,
then applies its cast). ``emulate.py`` merges :func:`rules` into its table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ir.graph import Node
from ..ir.index_maps import INDEX_OPS, apply
from ..ir.ops import Op
from ._emulate_arith import Fx


def rules(input_bounds: Callable[[Any, Node], tuple[int, int]]) -> dict[Op, Callable[..., np.ndarray]]:
    """One rule per index op; ``input_bounds`` is the emulator's raw-range helper."""

    def index_op(ctx: Any, node: Node, ins: Sequence[Fx]) -> np.ndarray:
        (x,) = ins
        return ctx.result(node, Fx(apply(node, x.raw), x.frac), input_bounds(ctx, node))

    return {op: index_op for op in INDEX_OPS}
