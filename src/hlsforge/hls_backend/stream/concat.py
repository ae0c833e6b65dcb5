"""io_stream rule of Concat: any number (≥ 2) of streams, along any axis, whatever beat
widths they arrive in (issues 12 and 14).

Why a module of its own: choosing the output beat and which of the two kernels moves the
values is the whole of the rule; the arithmetic is io_parallel's (every value cast into the
Concat's output type, as ``concat_part`` and the emulator do), so the emulator needs nothing.

The N inputs go to one kernel call (``hlsforge_kernels/stream_merge.h``): a single DATAFLOW
process that reads N FIFOs and writes one. Each input gets a typedef
``hlsforge::concat_in<beat type, beats per outer slice>``; an outer slice is one position for
a Concat along the channels, else the block of values from the axis on.

The output beat:

- rank ≥ 2, last axis: one position per beat (the output's channels), built from one slice of
  every input — ``concat_channels_stream``;
- rank ≥ 2, another axis: one position per beat, each from one input —
  ``concat_blocks_stream`` (the inputs' beats are regrouped if they are narrower);
- rank 1 (e.g. flattened branches): beats as wide as the least common multiple of the inputs'
  widths when that divides every input's size (equal widths: that width, as a Flatten keeps
  its producer's beats) — ``concat_blocks_stream``; otherwise one beat holding the whole output
  (``concat_channels_stream`` with one slice). That is what a Dense after it collects anyway,
  and what BatchNorm / Softmax on a vector need; a narrower common beat (the gcd, often 1)
  would serialize the vector one value per cycle.

Constant inputs are refused (a stream has no constant operand here; use io_parallel).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ...ir.ops import Op
from ..lower import _Parts, _u
from ..records import Call, TypeDef

if TYPE_CHECKING:  # pragma: no cover
    from .lower import _StreamLayer

HEADER = "hlsforge_kernels/stream_merge.h"


def stream_concat(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    """Concat of N ≥ 2 streams: (parts, output beat width, II)."""
    from .lower import _unsupported

    node = layer.node
    n = len(node.inputs)
    for i in range(n):
        if layer.value(i).is_constant:
            raise _unsupported(
                layer, f"a Concat with the constant input {node.inputs[i]!r} (only streams are concatenated)"
            )
    axis = node.attrs.axis
    out_shape = tuple(layer.out.value.shape)
    rank = len(out_shape)
    widths = [layer.beat_in(i).beat for i in range(n)]
    inner = [math.prod(layer.value(i).shape[axis:]) for i in range(n)]
    for i in range(n):
        if inner[i] % widths[i]:
            raise _unsupported(
                layer,
                f"a Concat whose input {node.inputs[i]!r} arrives in beats of {widths[i]} values, which do not "
                f"divide its {inner[i]} values per slice along axis {axis}",
            )
    n_outer = math.prod(out_shape[:axis])
    if rank >= 2 and axis == rank - 1:
        kernel, beat = "hlsforge::concat_channels_stream", out_shape[-1]
    else:
        beat = out_shape[-1] if rank >= 2 else math.lcm(*widths)
        if any(beat % w for w in widths):  # rank >= 2: a beat wider than a position
            raise _unsupported(
                layer, f"a Concat along axis {axis} whose inputs arrive in beats of {widths} values, "
                f"wider than one position of {beat}",
            )
        if all(k % beat == 0 for k in inner):
            kernel = "hlsforge::concat_blocks_stream"
        else:  # rank 1, widths without a common beat: the whole vector in one beat
            kernel, beat = "hlsforge::concat_channels_stream", out_shape[0]
    typedefs = []
    for i in range(n):
        b = layer.beat_in(i)
        per = inner[i] // widths[i]
        typedefs.append(
            TypeDef(
                layer.ctx.name(f"{layer.ident}_in{i}_t"),
                f"hlsforge::concat_in<{b.type_name}, {per}>",
                f"input {i} of the Concat ({node.inputs[i]!r}): {per} beat(s) of {widths[i]} values per slice",
            )
        )
    cfg = layer.config("hlsforge::concat_stream_config", [_u("n_outer", n_outer)])
    call = Call(
        kernel, (cfg.name, "@out", *(t.name for t in typedefs)),
        (*(layer.input(i).array for i in range(n)), layer.out.array),
    )
    return _Parts(HEADER, [call], typedefs=typedefs, configs=[cfg]), beat, 1


RULES = {Op.CONCAT: stream_concat}

__all__ = ["HEADER", "RULES", "stream_concat"]
