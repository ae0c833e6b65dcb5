"""Per-channel / per-element quantizers (``QuantizeAttrs.elements``) on raw integers and floats.

One rule for every engine: element ``e`` of the value is converted into its own type
``elements.type_at(e)`` with that type's rounding and overflow (docs/numerics.md §2), exactly
as a scalar quantizer would; a pruned element (width 0) is 0. The result is then *widened*,
losslessly, into the node's container type ``target`` (the output value's type), so every op
downstream sees one scalar type. Work is grouped by distinct element type, so a per-channel
quantizer over ``C`` channels with ``k`` distinct types costs ``k`` vectorized conversions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..ir.element_types import ElementTypes
from ..ir.types import FixedType, TensorType
from .fixed import as_fixed_type, cast, convert_raw

__all__ = ["element_groups", "convert_raw_elements", "cast_elements", "overflow_count_elements"]


def element_groups(elements: ElementTypes, value_shape: Sequence[int]) -> list[tuple[FixedType | None, np.ndarray]]:
    """Distinct element types with a boolean mask over ``value_shape`` (non-batch) each."""
    value_shape = tuple(value_shape)
    elements.check_shape(value_shape)
    flat = np.broadcast_to(np.arange(elements.size).reshape(elements.shape), value_shape)
    gid = np.empty(elements.size, np.int64)
    groups = elements.groups()
    for g, (_, idx) in enumerate(groups):
        gid[idx] = g
    full = gid[flat]
    return [(t, full == g) for g, (t, _) in enumerate(groups)]


def convert_raw_elements(raw: np.ndarray, frac: int, elements: ElementTypes, container: TensorType) -> np.ndarray:
    """Exact values ``raw * 2**-frac`` (shape ``(N, *value_shape)``) quantized per element and
    returned as raw integers of ``container``."""
    c = as_fixed_type(container)  # type: ignore[arg-type]
    wide = not c.signed and c.width == 64
    out = np.zeros(raw.shape, dtype=object if wide else np.int64)
    for t, mask in element_groups(elements, raw.shape[1:]):
        if t is None or not mask.any():
            continue
        r = convert_raw(raw[:, mask], frac, t)
        shift = c.frac - t.frac  # >= 0: the container holds t exactly
        if wide or r.dtype == object:
            out[:, mask] = np.array([int(v) << shift for v in r.ravel()], dtype=object).reshape(r.shape)
        else:
            out[:, mask] = r.astype(np.int64) << shift
    return out


def cast_elements(x: np.ndarray, elements: ElementTypes) -> np.ndarray:
    """Float ``x`` (``(N, *value_shape)``) quantized per element, as float64 values."""
    x = np.asarray(x, np.float64)
    out = np.zeros(x.shape, np.float64)
    for t, mask in element_groups(elements, x.shape[1:]):
        if t is not None and mask.any():
            out[:, mask] = cast(x[:, mask], t)
    return out


def overflow_count_elements(raw: np.ndarray, frac: int, elements: ElementTypes) -> int:
    """How many elements overflow their own type (the model's quantizer saturating or wrapping)."""
    from ._emulate_arith import Fx, overflow_mask

    n = 0
    for t, mask in element_groups(elements, raw.shape[1:]):
        if t is not None and mask.any():
            n += int(np.count_nonzero(overflow_mask(Fx(raw[:, mask], frac), t)))
    return n
