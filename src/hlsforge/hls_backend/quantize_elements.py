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

from typing import TYPE_CHECKING

import numpy as np

from ..ir.element_types import ElementTypes

if TYPE_CHECKING:
    from .lower import _Layer, _Parts

HEADER = "hlsforge_kernels/activation.h"


def lower_quantize_elements(layer: _Layer) -> _Parts:
    from .lower import Call, _Parts, _u

    elements: ElementTypes = layer.node.attrs.elements
    x = layer.value(0)
    period, pattern = elements.period(tuple(x.shape))
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


def stream_quantize_elements(layer, beat: int, n_beats: int, unsupported):  # noqa: ANN001 - stream types
    """io_stream: the io_parallel groups applied beat by beat (a chain of group configs). A
    pattern that repeats within a beat (per channel) is one ``stream_map`` of
    ``cast_element_groups``; a longer one (per element; a multiple of the beat) is
    ``stream_cast_elements``, which picks each beat's slice of the pattern. Anything else raises
    ``unsupported(why)``."""
    from dataclasses import replace

    from .records import Call

    elements: ElementTypes = layer.node.attrs.elements
    period, _ = elements.period(tuple(layer.value(0).shape))
    if beat % period and period % beat:
        raise unsupported(f"a per-{elements.granularity} quantizer whose types repeat every {period} values "
                          f"on beats of {beat}")
    parts = lower_quantize_elements(layer)
    configs = list(parts.configs)
    chained = []
    for k, (cfg, call) in enumerate(zip(configs, parts.calls, strict=True)):
        nxt = configs[k + 1].name if k + 1 < len(configs) else "hlsforge::elements_end"
        ints = [(t, n, beat if n == "n_in" else v) for t, n, v in cfg.ints]
        if call.kernel == "hlsforge::prune_elements":
            ints.append(("bool", "pruned", 1))
        if k == 0:
            ints.append(("unsigned", "n_beats", n_beats))
        types = list(cfg.types) or [("elem_t", layer.out.type_name)]
        chained.append(replace(cfg, ints=tuple(ints), types=tuple(types) + (("next_t", nxt),)))
    idx = tuple(call.args[2] for call in parts.calls)
    first = parts.calls[0].args[:2]  # the input/output arrays, which the stream emitter turns into FIFOs
    if beat % period == 0:  # the pattern repeats within every beat (per channel)
        call = Call("hlsforge::stream_map", ("@in", "@out", chained[0].name, "hlsforge::k_cast_element_groups"),
                    (*first, *idx))
    else:  # a longer pattern (per element): each beat takes its slice of it
        call = Call("hlsforge::stream_cast_elements", ("@in", "@out", chained[0].name), (*first, *idx))
    return replace(parts, header="hlsforge_kernels/stream_common.h", calls=[call], configs=list(reversed(chained))), beat
