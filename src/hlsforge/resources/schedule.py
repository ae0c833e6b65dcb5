"""The HLS decisions an estimate depends on, read exactly as the HLS lowering reads them.

Why here and not re-derived: the estimate must describe the design ``hls_backend.lower``
emits. The per-layer knobs (Strategy, ReuseFactor and its validation, the multiplier limit,
the top-level pragma) come from the same functions the lowering calls, and a test checks
that, for the model zoo, every value here equals the one in the lowered ``HlsModel`` records.
Running the full lowering for an estimate would also format every weight as a C++ literal
(tens of milliseconds per large layer), which the < 50 ms budget does not allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import PrecisionError
from ..hls_backend.lower import hls_options, valid_reuse_factors
from ..ir.graph import Graph, Node

__all__ = ["IO_TYPES", "LayerSchedule", "multiply_schedule", "io_type_of", "top_pragma"]

IO_TYPES = ("io_parallel", "io_stream")


@dataclass(frozen=True)
class LayerSchedule:
    """Strategy, reuse factor and multiplier limit of a Dense/Conv layer (as lowered)."""

    strategy: str
    reuse_factor: int
    multiplier_limit: int


def multiply_schedule(node: Node, n_in: int, n_out: int) -> LayerSchedule:
    """The lowering's ``_reuse``: validated options and ``multiplier_limit = n_in*n_out/RF``."""
    opts = hls_options(node)
    valid = valid_reuse_factors(n_in, n_out)
    if opts.reuse_factor not in valid:
        raise PrecisionError(
            f"{node.describe()}: ReuseFactor {opts.reuse_factor} is not valid for a layer with {n_in} "
            f"inputs and {n_out} outputs per position ({n_in * n_out} multiplications); valid "
            f"ReuseFactors: {', '.join(map(str, valid))}"
        )
    return LayerSchedule(opts.strategy, opts.reuse_factor, (n_in * n_out) // opts.reuse_factor)


def _io_from(rec: Any) -> str | None:
    if rec is None:
        return None
    if isinstance(rec, Mapping):
        for key in ("io_type", "IOType", "io", "IoType"):
            if key in rec:
                return str(rec[key])
        return None
    value = getattr(rec, "io_type", None)
    return None if value is None else str(getattr(value, "value", value))


def io_type_of(graph: Graph) -> str:
    """``io_parallel`` or ``io_stream``: from the layers' HLS options, else the recorded
    configuration's model scope, else ``io_parallel`` (the only I/O the lowering emits today)."""
    found: set[str] = set()
    for node in graph.nodes:
        io = _io_from(node.options.get("hls"))
        if io is not None:
            found.add(io)
    if not found:
        cfg = graph.metadata.get("precision_config") or {}
        model = cfg.get("model") if isinstance(cfg, Mapping) else None
        io = _io_from(model) if isinstance(model, Mapping) else None
        if io is not None:
            found.add(io)
    if not found:
        return "io_parallel"
    norm = {f"io_{v.lower().removeprefix('io_')}" for v in found}
    bad = sorted(norm - set(IO_TYPES))
    if bad:
        raise PrecisionError(f"unknown io_type {bad[0]!r}; use one of {', '.join(IO_TYPES)}")
    if len(norm) > 1:
        raise PrecisionError(f"layers disagree on io_type ({', '.join(sorted(norm))}); one model has one io_type")
    return norm.pop()


def top_pragma(graph: Graph, io_type: str) -> str:
    """The top function's pragma, as the lowering decides it: DATAFLOW when any layer uses
    the Resource strategy (or the I/O is streamed), else one PIPELINE over the whole model."""
    if io_type == "io_stream":
        return "DATAFLOW"
    if any(hls_options(n).strategy == "resource" for n in graph.nodes):
        return "DATAFLOW"
    return "PIPELINE"
