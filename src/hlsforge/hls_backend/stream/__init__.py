"""io_stream for the HLS backend: layers connected by ``hls::stream`` FIFOs under DATAFLOW.

- ``lower_stream(graph)`` → ``HlsModel`` records (``lower.py``; one rule per op, reusing the
  io_parallel rules' types, constants and configs so the arithmetic is identical; the rules of
  the recurrent cells and of Concat in ``recurrent.py`` and ``concat.py``);
- ``render_stream(model)`` → files (``emit.py``): stream ports, one FIFO per connection with
  ``#pragma HLS STREAM depth=N``, the C-sim bridge;
- ``size_fifos`` / ``fifo_depths`` (``fifo.py``): FIFO depths from the C simulation.

``hls_backend.lower(graph, io_type="io_stream")`` (or ``model: {io_type: io_stream}`` in the
config) selects it.
"""

from .emit import render_stream
from .fifo import FIFO_MARGIN, FifoDepth, FifoReport, fifo_depths, size_fifos
from .lower import IO_TYPES, RULES, lower_stream, streams_of

__all__ = [
    "FIFO_MARGIN",
    "FifoDepth",
    "FifoReport",
    "IO_TYPES",
    "RULES",
    "fifo_depths",
    "lower_stream",
    "render_stream",
    "size_fifos",
    "streams_of",
]
