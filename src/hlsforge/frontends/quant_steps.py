"""Quantizers as short chains of IR ops, shared by the QKeras and QONNX importers.

Most framework quantizers are one ``Quantize`` node (a cast into a fixed-point type). A few
are not a cast but can still be written *exactly* with a cast and a scale: ``binary`` /
``BipolarQuant`` (the sign with 0 mapped to +1) is ``cast`` into ``fixed<1,1,TRN,SAT>``
(which yields -1 for x < 0 and 0 otherwise) followed by ``* 2 + 1``; a non-unit scale is one
more ``Mul``. A quantizer is therefore described as a list of :class:`Step` and turned into
nodes in one place, :func:`emit_steps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ir.graph import Graph
from ..ir.ops import Op, QuantizeAttrs
from ..ir.types import FixedType, Overflow, Rounding


@dataclass(frozen=True)
class Step:
    """One node of a quantizer chain: ``op(x, attrs)`` or, for ``Add``/``Mul``, ``x op const``."""

    op: Op
    attrs: Any = None
    const: float | None = None
    part: str = ""  # suffix naming the node (e.g. "quant", "scale")


def emit_steps(
    graph: Graph,
    x: str,
    steps: Sequence[Step],
    *,
    base: str,
    source_name: str,
    source_op: str,
) -> str:
    """Append the chain ``steps`` after value ``x``; returns the name of the last output.

    Nodes are named ``{base}_{part}`` (made unique); the constant operand of an ``Add`` or
    ``Mul`` step is a float32 value of shape ``(1,)``, which broadcasts over any tensor.
    """
    for step in steps:
        part = step.part or step.op.value.lower()
        name = graph.unique_name(f"{base}_{part}")
        inputs = [x]
        if step.const is not None:
            c = graph.add_constant(graph.unique_name(f"{name}_const"), np.array([step.const], dtype=np.float32))
            inputs.append(c.name)
        node = graph.add_node(step.op, inputs, attrs=step.attrs, name=name, source_name=source_name, source_op=source_op)
        x = node.outputs[0]
    return x


SIGN_TYPE = FixedType(1, 1, True, Rounding.TRN, Overflow.SAT)
"""Casting into this type gives -1 for x < 0 and 0 for x >= 0 (floor, then saturate to {-1, 0})."""


def sign_steps(scale: float = 1.0, *, use_01: bool = False) -> list[Step]:
    """x >= 0 → +scale, x < 0 → -scale (``use_01``: x < 0 → 0), exactly, from one cast."""
    sign = Step(Op.QUANTIZE, QuantizeAttrs(SIGN_TYPE), part="sign")
    if use_01:  # {-1, 0} + 1 → {0, 1}
        steps = [sign, Step(Op.ADD, const=1.0, part="shift")]
        return steps + ([Step(Op.MUL, const=scale, part="alpha")] if scale != 1.0 else [])
    return [sign, Step(Op.MUL, const=2.0 * scale, part="scale"), Step(Op.ADD, const=scale, part="shift")]

