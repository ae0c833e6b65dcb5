"""ReuseFactor given for many layers at once: each Dense/Conv takes the closest valid one.

Why: a Dense/Conv layer with ``n`` multiplications accepts only the divisors of ``n`` as its
ReuseFactor (``hls_backend.lower.valid_reuse_factors``). A ReuseFactor set for the whole
model (or for an op type) cannot suit every layer; hls4ml users expect what hls4ml does there —
take the closest valid value (the smaller of two equally close) and say so — rather than a
refusal of the whole model. A ReuseFactor set for one layer by name is what the user asked of
that layer, so it stays exact: an invalid one is refused with the valid list (at lowering and
estimation).
"""

from __future__ import annotations

import math
from bisect import bisect_left

from ..ir.graph import Graph, Node
from ..ir.ops import Op

MULTIPLY_OPS = (Op.DENSE, Op.CONV1D, Op.CONV2D)


def multiplications_per_position(graph: Graph, node: Node) -> tuple[int, int] | None:
    """``(n_in, n_out)`` of a Dense/Conv as the HLS lowering schedules it (per group), else ``None``.

    The IR kernel is ``(*kernel_shape, C_in // groups, C_out)`` (Dense: ``(n_in, n_out)``)."""
    if node.op not in MULTIPLY_OPS or len(node.inputs) < 2:
        return None
    shape = graph.values[node.inputs[1]].shape
    groups = getattr(node.attrs, "groups", 1) or 1
    return math.prod(shape[:-1]), shape[-1] // groups


def closest_valid(valid: list[int], wanted: int) -> int:
    """The valid ReuseFactor closest to ``wanted`` (``valid`` sorted; ties: the smaller)."""
    pos = bisect_left(valid, wanted)
    if pos == 0:
        return valid[0]
    if pos == len(valid):
        return valid[-1]
    before, after = valid[pos - 1], valid[pos]
    return after if after - wanted < wanted - before else before


def reuse_factor_for(graph: Graph, node: Node, wanted: int, for_this_layer: bool) -> tuple[int, str | None]:
    """``(ReuseFactor, note)``: ``wanted`` itself when valid or set for this very layer, else the
    closest valid one and a note saying which was used instead."""
    from ..hls_backend.lower import valid_reuse_factors

    sizes = multiplications_per_position(graph, node)
    if for_this_layer or sizes is None or not isinstance(wanted, int) or wanted < 1:
        return wanted, None
    valid = valid_reuse_factors(*sizes)
    if wanted in valid:
        return wanted, None
    used = closest_valid(valid, wanted)
    return used, (f"{node.describe()}: ReuseFactor {wanted} (set for the model or its op type) is not valid for "
                  f"{sizes[0]} x {sizes[1]} multiplications per position; using the closest valid one, {used} "
                  f"(valid: {', '.join(map(str, valid))})")
