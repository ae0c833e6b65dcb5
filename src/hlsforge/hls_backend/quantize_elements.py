"""HLS rule for per-channel / per-element quantizers (``QuantizeAttrs.elements``).

Why this shape of code: each distinct element type gets its own ``typedef`` and one call of
``hlsforge::cast_elements`` over a constant list of the positions that use it, so the C++ reads
as "these channels are ap_fixed<4,1>, those ap_fixed<7,2>" and synthesizes to plain wiring plus
one conversion per element. The element pattern repeats along the leading axes (per channel:
every ``C`` values), so the lists hold one period only and the kernel walks the rows. Each value
is converted into its element type, then widened (losslessly) into the container type of the
output buffer, exactly as the emulator does (quantize/per_element.py).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..ir.element_types import ElementTypes

if TYPE_CHECKING:
    from .lower import _Layer, _Parts

HEADER = "hlsforge_kernels/activation.h"


def period_pattern(elements: ElementTypes, value_shape: tuple[int, ...]) -> tuple[int, np.ndarray]:
    """``(period, flat element index per position within one period)``: the element pattern
    over ``value_shape`` repeats every ``period`` values (C order)."""
    elements.check_shape(value_shape)
    shape = list(elements.shape)
    while len(shape) > 1 and shape[0] == 1:
        shape.pop(0)
    tail = tuple(value_shape[len(value_shape) - len(shape):]) if shape else ()
    period = math.prod(tail) if tail else 1
    full = np.arange(elements.size).reshape(elements.shape).reshape(tuple(shape) or (1,))
    return period, np.broadcast_to(full, tail or (1,)).reshape(-1)


def lower_quantize_elements(layer: _Layer) -> _Parts:
    from .lower import Call, _Parts, _u

    elements: ElementTypes = layer.node.attrs.elements
    x = layer.value(0)
    period, pattern = period_pattern(elements, tuple(x.shape))
    calls, configs = [], []
    for k, (t, idx) in enumerate(elements.groups()):
        pos = np.flatnonzero(np.isin(pattern, idx))
        if pos.size == 0:
            continue
        what = "pruned (always 0)" if t is None else str(t)
        arr = layer.index_array(f"e{k}_index", pos, f"positions (in each period of {period}) quantized to {what}")
        ints = [_u("n_in", x.size), _u("period", period), _u("n_idx", pos.size)]
        if t is None:
            cfg = layer.config("hlsforge::elements_config", ints, [], suffix=f"e{k}_config")
            kernel = "hlsforge::prune_elements"
        else:
            et = layer.typedef(f"e{k}", t, f"element type {k} of a per-{elements.granularity} quantizer")
            cfg = layer.config("hlsforge::elements_config", ints, [("elem_t", et)], suffix=f"e{k}_config")
            kernel = "hlsforge::cast_elements"
        configs.append(cfg)
        calls.append(Call(kernel, (layer.input(0).type_name, layer.out.type_name, cfg.name),
                          (layer.input(0).array, layer.out.array, arr)))
    return _Parts(HEADER, calls, configs=configs)
