"""``hlsforge.scan``: quantize, emulate and estimate every point of a precision × ReuseFactor ×
Strategy grid, on one machine or a Ray cluster.

Why the work is split by precision: ReuseFactor and Strategy only change the HLS options on
the nodes (``node.options["hls"]``), never the arithmetic (docs/numerics.md), so the bit-exact
emulation — the expensive step — runs once per precision and is shared by that precision's
points; the resource/latency estimate (milliseconds) runs per point on the graph configured
for it. The float graph, the events and the float reference travel to each worker once
(process-pool initializer / ``ray.put``), so no point re-loads or re-legalizes the model.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import HlsforgeError, InputError, PrecisionError
from ..ir.graph import Graph
from ..ir.types import FloatType, parse_type, type_to_str
from .result import COLUMNS, ESTIMATE_COLUMNS, QUALITY_METRICS, ScanResult

__all__ = ["scan", "ScanContext", "PrecisionTask", "evaluate"]

DEFAULT_PART = "xcvu13p-flga2577-2-e"
DEFAULT_CLOCK_NS = 5.0


@dataclass(frozen=True)
class ScanContext:
    """Everything a worker needs, sent once per worker: the float graph, the events, the
    labels, the float model's outputs and the settings shared by every point."""

    graph: Graph
    x: Any
    y: np.ndarray | None
    reference: tuple[np.ndarray, ...]  # float outputs, in graph.outputs order
    base_config: Mapping[str, Any]
    part: str
    clock_ns: float


@dataclass(frozen=True)
class PrecisionTask:
    """One precision and the (index, ReuseFactor, Strategy) points that share its emulation."""

    precision: str
    points: tuple[tuple[int, int, str], ...]


# ----------------------------------------------------------------------------- one task


def point_config(base: Mapping[str, Any], precision: str, reuse_factor: int, strategy: str) -> dict[str, Any]:
    """The precision config of one point: ``base`` with the model-wide default type,
    ReuseFactor and Strategy set (layer and op-type entries of ``base`` still win)."""
    cfg = copy.deepcopy(dict(base))
    model = dict(cfg.get("model") or {})
    model.update(default=precision, ReuseFactor=int(reuse_factor), Strategy=strategy)
    cfg["model"] = model
    return cfg


def _outputs(y: Any, names: Sequence[str]) -> list[np.ndarray]:
    if isinstance(y, dict):
        return [np.asarray(y[n], np.float64) for n in names]
    return [np.asarray(y, np.float64)]


def classify(out: np.ndarray) -> np.ndarray | None:
    """Predicted class per event of a classifier output ``(N, C)``: argmax for ``C > 1``,
    ``> 0.5`` for a single probability; ``None`` when the output is not a class score."""
    if out.ndim == 2 and out.shape[1] > 1:
        return np.argmax(out, axis=1)
    if out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
        return (out.reshape(-1) > 0.5).astype(np.int64)
    return None


def _quality(ctx: ScanContext, outs: list[np.ndarray]) -> dict[str, Any]:
    """Accuracy vs labels, argmax agreement and errors vs the float reference."""
    diffs = [np.abs(o - r) for o, r in zip(outs, ctx.reference, strict=True)]
    max_err = max((float(d.max()) for d in diffs if d.size), default=0.0)
    n_values = sum(d.size for d in diffs)
    mean_err = float(sum(float(d.sum()) for d in diffs) / n_values) if n_values else 0.0
    row: dict[str, Any] = {"accuracy": None, "argmax_agreement": None, "max_abs_error": max_err, "mean_abs_error": mean_err}
    ref = ctx.reference[-1]
    if ref.ndim == 2 and ref.shape[1] > 1:
        row["argmax_agreement"] = float(np.mean(np.argmax(outs[-1], 1) == np.argmax(ref, 1)))
    if ctx.y is not None:
        pred = classify(outs[-1])
        if pred is not None:
            row["accuracy"] = float(np.mean(pred == ctx.y))
    return row


def _estimate(qgraph: Graph, part: str, clock_ns: float) -> dict[str, Any]:
    from ..resources import estimate

    e = estimate(qgraph, part=part, clock_ns=clock_ns)
    lut, dsp = int(e.lut), int(e.dsp)
    return {
        "lut": lut, "ff": int(e.ff), "dsp": dsp, "bram_18k": int(e.bram_18k), "lut_plus_dsp": lut + dsp,
        "latency_cycles": int(e.latency_cycles), "latency_ns": float(e.latency_ns), "ii": int(e.ii),
    }


def evaluate(ctx: ScanContext, task: PrecisionTask) -> list[dict[str, Any]]:
    """Rows of one precision: emulate once, estimate each (ReuseFactor, Strategy) point.

    An ``HlsforgeError`` (a type that cannot hold the weights, a ReuseFactor that does not
    divide a layer, ...) becomes that point's ``error`` column instead of stopping the scan.
    """
    from ..quantize import configure, emulate
    from ..reference import trace_keys

    rows: list[dict[str, Any]] = []
    shared: dict[str, Any] | None = None
    shared_error: str | None = None
    for index, rf, strategy in task.points:
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update(index=index, precision=task.precision, reuse_factor=rf, strategy=strategy)
        try:
            qgraph = configure(ctx.graph, point_config(ctx.base_config, task.precision, rf, strategy))
            if shared is None and shared_error is None:
                trace = emulate.run(qgraph, ctx.x, trace=True)
                keys = trace_keys(qgraph)
                outs = []
                for name in qgraph.outputs:
                    producer = qgraph.producer(name)
                    if producer is None:  # an input passed straight through
                        raise HlsforgeError(f"output {name!r} has no producing layer; nothing to scan")
                    outs.append(np.asarray(trace.outputs[keys[producer.name]], np.float64))
                shared = {**_quality(ctx, outs), "overflows": int(trace.total_overflows)}
            if shared is None:  # the emulation of this precision failed at an earlier point
                row["error"] = shared_error
                rows.append(row)
                continue
            row.update(shared)
            row.update(_estimate(qgraph, ctx.part, ctx.clock_ns))
        except HlsforgeError as e:
            row["error"] = f"{type(e).__name__}: {e}"
            if shared is None:
                shared_error = row["error"]
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- inputs


def _precision_label(p: Any) -> str:
    try:
        t = parse_type(p)
    except PrecisionError as e:
        raise PrecisionError(f"scan: precision {p!r}: {e}") from None
    if t is None or isinstance(t, FloatType):
        raise PrecisionError(f"scan: precision {p!r} must be a fixed-point type such as 'ap_fixed<16,6>'")
    return type_to_str(t)


def _strategy(s: Any) -> str:
    low = str(s).strip().lower()
    if low not in ("latency", "resource"):
        raise PrecisionError(f"scan: unknown strategy {s!r}; use 'Latency' or 'Resource'")
    return low.capitalize()


def _reuse(r: Any) -> int:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or int(r) < 1:
        raise PrecisionError(f"scan: reuse factor must be a positive integer, got {r!r}")
    return int(r)


def _nonempty(name: str, values: Iterable[Any]) -> list[Any]:
    out = list(values) if not isinstance(values, (str, bytes)) else [values]
    if not out:
        raise PrecisionError(f"scan: {name} is empty; give at least one value")
    return out


def _labels(y: Any, n: int) -> np.ndarray | None:
    if y is None:
        return None
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] > 1:  # one-hot
        arr = np.argmax(arr, axis=1)
    arr = arr.reshape(-1) if arr.ndim == 2 and arr.shape[1] == 1 else arr
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(f"scan: labels have shape {np.shape(y)}, expected ({n},) class indices or ({n}, C) one-hot")
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"scan: labels must be numeric class indices, got dtype {arr.dtype}")
    return arr


def _metric(y: np.ndarray | None, ref: np.ndarray) -> str:
    if y is not None and classify(ref) is not None:
        return "accuracy"
    if ref.ndim == 2 and ref.shape[1] > 1:
        return "argmax_agreement"
    return "max_abs_error"


# ----------------------------------------------------------------------------- public


def scan(
    graph: Graph | Any,
    x: Any,
    y: Any = None,
    precisions: Sequence[str] = ("ap_fixed<16,6>",),
    reuse_factors: Sequence[int] = (1,),
    strategies: Sequence[str] = ("Latency",),
    part: str = DEFAULT_PART,
    clock_ns: float = DEFAULT_CLOCK_NS,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    *,
    config: Mapping[str, Any] | str | None = None,
    quiet: bool | None = None,
) -> ScanResult:
    """Evaluate every (precision, ReuseFactor, Strategy) point of ``graph`` on events ``x``.

    ``graph``: a float model (``hlsforge.load`` result or anything ``load`` accepts).
    ``x``: events in the model's input layout; ``y``: optional labels (class indices or
    one-hot) — then the quality is the accuracy, else the argmax agreement with the float
    model (classifiers) or the largest |fixed − float| (others). ``config``: a base precision
    config (dict or YAML/JSON path) each point starts from — e.g. ``accum: auto`` or a wider
    Softmax result; the point's precision becomes ``model.default``.
    ``executor``: ``"local"`` (a process pool of ``workers`` processes, default one per CPU;
    ``workers=1`` runs in this process) or ``"ray"`` (``ray_address``: ``"auto"``, an
    address, or ``None`` to use an initialized Ray or start a local one).

    Returns a :class:`ScanResult` with one row per point in grid order; the table is the same
    whichever executor ran it.
    """
    from .. import reference
    from ..loader import load
    from ..quantize.config import PrecisionConfig, is_configured
    from .executors import run_tasks

    start = time.perf_counter()
    if not isinstance(graph, Graph):
        graph = load(graph)
    if is_configured(graph) and graph.nodes:
        raise PrecisionError(f"scan: model {graph.name!r} is already quantized; pass the float model")
    labels_p = [_precision_label(p) for p in _nonempty("precisions", precisions)]
    rfs = [_reuse(r) for r in _nonempty("reuse_factors", reuse_factors)]
    strats = [_strategy(s) for s in _nonempty("strategies", strategies)]
    if not (isinstance(clock_ns, (int, float)) and math.isfinite(clock_ns) and clock_ns > 0):
        raise PrecisionError(f"scan: clock_ns must be a positive number, got {clock_ns!r}")
    base = PrecisionConfig.load(config).to_dict() if config is not None else {}

    ref_out = reference.run(graph, x)
    reference_outs = tuple(_outputs(ref_out, graph.outputs))
    n_events = int(reference_outs[0].shape[0])
    labels = _labels(y, n_events)
    metric = _metric(labels, reference_outs[-1])

    tasks = []
    index = 0
    for p in labels_p:
        pts = []
        for rf, st in itertools.product(rfs, strats):
            pts.append((index, rf, st))
            index += 1
        tasks.append(PrecisionTask(p, tuple(pts)))
    x_arrays = graph.prepare_inputs(x)
    x_payload = x_arrays if len(x_arrays) > 1 else next(iter(x_arrays.values()))
    ctx = ScanContext(graph, x_payload, labels, reference_outs, base, part, float(clock_ns))
    results, where = run_tasks(ctx, tasks, executor=executor, ray_address=ray_address, workers=workers, quiet=quiet)
    rows = [r for rs in results for r in rs]

    float_quality: float | None
    if metric == "accuracy":
        pred = classify(reference_outs[-1])
        float_quality = float(np.mean(pred == labels)) if pred is not None else None
    elif metric == "argmax_agreement":
        float_quality = 1.0
    else:
        float_quality = 0.0
    metadata = {
        "model": graph.name, "events": n_events, "part": part, "clock_ns": float(clock_ns),
        "precisions": labels_p, "reuse_factors": rfs, "strategies": strats, "base_config": base,
        "metric_label": QUALITY_METRICS[metric][1], "float_quality": float_quality,
        "estimate_columns": list(ESTIMATE_COLUMNS),
    }
    return ScanResult(rows=rows, metric=metric, metadata=metadata, elapsed_s=time.perf_counter() - start, executor=where)
