"""Size limits every graph must respect: hostile or absurd models are refused at load.

A model file is untrusted input. Shape inference on a Conv with pads of 2**31, an input of
2**20 x 2**20 or a Keras Dense with ``units=1e8`` produces shapes that no engine can run; without
a limit they load and fail much later with a numpy ``MemoryError`` or a misleading message. The
IR therefore checks every tensor when it is declared (``Graph.add_value``) and every graph in
``Graph.validate``; the error names the input, constant or node (docs/ir.md, "Limits").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import ShapeError

#: Most elements in one tensor: a constant, or one event of an activation (2**28 = 268M,
#: 1 GiB as float32). Far above any model hlsforge targets; far below what breaks numpy.
MAX_TENSOR_ELEMENTS = 2**28
#: Most activation elements of one event, all tensors of the graph together (2**29).
MAX_EVENT_ELEMENTS = 2**29
#: Most dimensions of one tensor (batch excluded).
MAX_RANK = 16


def check_shape(shape: Sequence[object], what: str) -> tuple[int, ...]:
    """``shape`` as a tuple of ints, or a ``ShapeError`` naming ``what`` (a node, input, constant)."""
    dims = tuple(shape)
    if len(dims) > MAX_RANK:
        raise ShapeError(f"{what}: {len(dims)} dimensions; hlsforge supports at most {MAX_RANK}")
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int,)) and not hasattr(d, "__index__"):
            raise ShapeError(f"{what}: dimension {d!r} of shape {dims} is not an integer")
        d = int(d)  # type: ignore[call-overload]
        if d < 0:
            raise ShapeError(f"{what}: negative dimension {d} in shape {dims}")
        out.append(d)
    n = math.prod(out)
    if n > MAX_TENSOR_ELEMENTS:
        raise ShapeError(
            f"{what}: shape {tuple(out)} has {n:,} elements, more than hlsforge's limit of "
            f"{MAX_TENSOR_ELEMENTS:,} per tensor (hlsforge.ir.limits); the model is corrupt or far "
            "larger than anything hlsforge can implement"
        )
    return tuple(out)


def check_event_size(total: int, largest: str) -> None:
    """The activation elements of one event, all tensors together."""
    if total > MAX_EVENT_ELEMENTS:
        raise ShapeError(
            f"the model's activations hold {total:,} values per event (largest: {largest}), more "
            f"than hlsforge's limit of {MAX_EVENT_ELEMENTS:,} per event (hlsforge.ir.limits)"
        )


__all__ = ["MAX_TENSOR_ELEMENTS", "MAX_EVENT_ELEMENTS", "MAX_RANK", "check_shape", "check_event_size"]
