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

A constant input becomes a stream of its own: a ``stream_constant`` process writes its beats
(one position per beat, a vector in one beat) into a FIFO of the Concat's layer, read by the
Concat like any other input; the values keep the constant's type and are cast by the Concat.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ...ir.ops import Op
from ..lower import _Parts, _u
from ..records import Call, ConfigStruct, StreamDecl, TypeDef

if TYPE_CHECKING:  # pragma: no cover
    from .lower import _StreamLayer

HEADER = "hlsforge_kernels/stream_merge.h"


def stream_concat(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    """Concat of N ≥ 2 streams: (parts, output beat width, II)."""
    from .lower import _unsupported

    node = layer.node
    n = len(node.inputs)
    if all(layer.value(i).is_constant for i in range(n)):
        raise _unsupported(layer, "a Concat of constants only (fold it into a constant before the HLS backend)")
    sources = [_constant_source(layer, i) if layer.value(i).is_constant else None for i in range(n)]
    axis = node.attrs.axis
    out_shape = tuple(layer.out.value.shape)
    rank = len(out_shape)
    widths = [src[1] if src else layer.beat_in(i).beat for i, src in enumerate(sources)]
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
    typedefs: list[TypeDef] = []
    calls: list[Call] = []
    configs: list[ConfigStruct] = []
    fifos: list[str] = []
    in_types: list[str] = []
    for i, src in enumerate(sources):
        if src is None:
            beat_type, fifo = layer.beat_in(i).type_name, layer.input(i).array
        else:  # a process writes the constant's beats into a FIFO of the layer's own
            beat_type, _, fifo, more_typedefs, call, cfg = src
            typedefs += more_typedefs
            calls.append(call)
            configs.append(cfg)
        fifos.append(fifo)
        per = inner[i] // widths[i]
        in_types.append(layer.ctx.name(f"{layer.ident}_in{i}_t"))
        typedefs.append(
            TypeDef(
                in_types[-1],
                f"hlsforge::concat_in<{beat_type}, {per}>",
                f"input {i} of the Concat ({node.inputs[i]!r}): {per} beat(s) of {widths[i]} values per slice",
            )
        )
    cfg = layer.config("hlsforge::concat_stream_config", [_u("n_outer", n_outer)])
    configs.append(cfg)
    calls.append(Call(kernel, (cfg.name, "@out", *in_types), (*fifos, layer.out.array)))
    return _Parts(HEADER, calls, typedefs=typedefs, configs=configs), beat, 1


def _constant_source(
    layer: _StreamLayer, i: int
) -> tuple[str, int, str, list[TypeDef], Call, ConfigStruct]:
    """A constant input as a stream: (beat typedef, beat width, FIFO, typedefs, the
    ``stream_constant`` call that fills the FIFO, its config). The values keep the constant's
    own type (as io_parallel's ``concat_part`` reads them) and are cast by the Concat."""
    v = layer.value(i)
    shape = tuple(v.shape)
    width = shape[-1] if len(shape) >= 2 else max(v.size, 1)
    value_t = layer.typedef(f"in{i}_const", v.type)
    arr = layer.constant_array(f"in{i}_const", v, value_t, f"constant input {v.name!r} {shape}")
    beat_t = layer.ctx.name(f"{layer.ident}_in{i}_const_beat_t")
    fifo = layer.ctx.name(f"{layer.ident}_in{i}_fifo")
    n_beats = v.size // width
    layer.local_streams.append(
        StreamDecl(fifo, beat_t, width, n_beats, n_beats, comment=f"constant input {v.name!r} of {layer.ident}")
    )
    cfg = layer.config("hlsforge::stream_config", [_u("n_beats", n_beats)], suffix=f"in{i}_const_config")
    typedefs = [TypeDef(beat_t, f"hlsforge::beat<{value_t}, {width}>", f"one beat of constant {v.name!r}: {width} values")]
    call = Call("hlsforge::stream_constant", (beat_t, cfg.name), (arr, fifo))
    return beat_t, width, fifo, typedefs, call, cfg


RULES = {Op.CONCAT: stream_concat}

__all__ = ["HEADER", "RULES", "stream_concat"]
