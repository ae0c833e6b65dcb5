"""FIFO depths of an io_stream design, computed by the C simulation.

Why: a FIFO that is too shallow deadlocks or stalls the DATAFLOW pipeline (typically the skip
connection of a residual block, which must hold the beats that the convolution branch is still
buffering in its line buffer); one that is too deep wastes BRAM. hls4ml sizes them by a vendor
co-simulation. hlsforge runs its own C simulation instead: every layer (and every stream
clone) becomes a process of a deterministic cycle schedule (``hlsforge_dataflow_sim.h``: each
process reads at most one beat per stream per cycle — one per ``ii`` cycles for a layer with a
ReuseFactor — and writes at most one beat per stream per cycle), with unbounded FIFOs whose
largest occupancy is recorded. The schedule does not depend on the data, so one event
suffices. The depth written into the project is that occupancy plus ``FIFO_MARGIN``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ... import cpp_toolchain
from ...errors import HlsforgeError
from ...ir.graph import Graph
from ..records import HlsModel, Layer, StreamDecl
from .lower import streams_of

FIFO_MARGIN = 2
"""Beats added to each measured occupancy. The schedule lets a beat written in a cycle be
read in the same cycle; real processes have a few cycles of pipeline latency between their
read and their write, which can delay a reader by a beat or two. Two beats absorb that, and
two is also the smallest FIFO the vendor tools build (a shift register)."""

TRACKING_FLAGS = ("-O1", "-std=c++17", "-pthread", "-DHLSFORGE_FIFO_TRACKING")


@dataclass(frozen=True)
class FifoDepth:
    """One FIFO: its occupancy in the tracked C simulation and the depth written."""

    name: str
    beats: int  # beats per inference (the upper bound)
    occupancy: int
    depth: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "beats_per_inference": self.beats, "max_occupancy": self.occupancy, "depth": self.depth}


@dataclass(frozen=True)
class FifoReport:
    """Every FIFO of a model, the margin used and the simulated cycles of one inference."""

    model: str
    fifos: tuple[FifoDepth, ...]
    margin: int
    cycles: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "method": "C-simulation occupancy on hlsforge's deterministic dataflow schedule, plus margin",
            "margin": self.margin,
            "cycles_per_inference": self.cycles,
            "fifos": [f.to_dict() for f in self.fifos],
        }

    def summary(self) -> str:
        lines = [f"FIFO depths of {self.model} (max occupancy + {self.margin}; {self.cycles} cycles/inference):"]
        for f in self.fifos:
            lines.append(f"  {f.name}: depth {f.depth} (occupancy {f.occupancy} of {f.beats} beats)")
        return "\n".join(lines)


def measure_occupancy(graph: Graph, model: HlsModel) -> tuple[list[int], int]:
    """Max occupancy of every FIFO (order: ``streams_of(model)``) and cycles of one inference."""
    from ..csim import build_library

    if model.io_type != "io_stream":
        raise HlsforgeError(f"model {model.name!r} is {model.io_type}; FIFO depths exist only for io_stream")
    fifos = streams_of(model)
    path = build_library([model], flags=TRACKING_FLAGS)
    lib = ctypes.CDLL(str(path))
    fn = getattr(lib, f"hlsforge_{model.name}_fifo")
    p_double = ctypes.POINTER(ctypes.c_double)
    fn.argtypes = [ctypes.POINTER(p_double), ctypes.c_longlong, ctypes.POINTER(ctypes.c_longlong)]
    fn.restype = ctypes.c_longlong
    ins = [np.zeros((1, p.size), dtype=np.float64) for p in model.inputs]
    ptrs = (p_double * len(ins))(*[a.ctypes.data_as(p_double) for a in ins])
    depths = np.zeros(max(len(fifos), 1), dtype=np.int64)
    cycles = fn(ptrs, 1, depths.ctypes.data_as(ctypes.POINTER(ctypes.c_longlong)))
    if cycles < 0:
        raise HlsforgeError(
            f"model {model.name!r}: the dataflow schedule deadlocked while measuring FIFO depths "
            "(a layer reads more beats than its producer writes); please report this model"
        )
    return [int(d) for d in depths[: len(fifos)]], int(cycles)


def size_fifos(graph: Graph, model: HlsModel, *, margin: int = FIFO_MARGIN) -> tuple[HlsModel, FifoReport]:
    """The model with every FIFO's depth = measured occupancy + ``margin`` (at most its beats
    per inference + margin), and the report."""
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise HlsforgeError(f"margin must be a non-negative integer, got {margin!r}")
    occ, cycles = measure_occupancy(graph, model)
    fifos = streams_of(model)
    depth_of: dict[str, FifoDepth] = {}
    for s, o in zip(fifos, occ, strict=True):
        depth_of[s.name] = FifoDepth(s.name, s.n_beats, o, max(o + margin, 2))

    def sized(s: StreamDecl) -> StreamDecl:
        f = depth_of[s.name]
        return replace(s, depth=f.depth, depth_source=f"C-sim max occupancy {f.occupancy} + margin {margin}")

    layers: list[Layer] = [replace(layer, streams=tuple(sized(s) for s in layer.streams)) for layer in model.layers]
    new = replace(model, layers=tuple(layers), prologue_streams=tuple(sized(s) for s in model.prologue_streams))
    report = FifoReport(model.name, tuple(depth_of[s.name] for s in fifos), margin, cycles)
    return new, report


def fifo_depths(graph: Graph, config: Any = None, *, name: str | None = None, margin: int = FIFO_MARGIN) -> FifoReport:
    """The FIFO depth report of ``graph`` as an io_stream design (quantized here by ``config``)."""
    from ...quantize.config import configure
    from ..lower import lower

    if config is not None:
        graph = configure(graph, config)
    model = lower(graph, name=name, io_type="io_stream")
    return size_fifos(graph, model, margin=margin)[1]


__all__ = ["FIFO_MARGIN", "FifoDepth", "FifoReport", "fifo_depths", "measure_occupancy", "size_fifos"]
del cpp_toolchain
