"""Per-layer numbers for the report: types and their ranges, the values seen on data, overflow
counts and float-vs-fixed error (from ``crosscheck.compare``), and the hls4ml-style profiling
plot (value distributions against each type's representable range).

Why the ranges are shown in log2: a fixed-point type covers ``[LSB, max]`` in magnitude, i.e.
an interval of bits; values above it overflow, values below it round to zero. Drawing the
distribution of ``log2|v|`` over that interval shows at a glance how many integer and
fractional bits a layer needs — the plot hls4ml users read in ``hls4ml.model.profiling``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir.graph import Graph
from ..ir.summary import node_macs
from ..ir.types import FixedType, IntType, as_fixed

__all__ = ["LayerProfile", "layer_profiles", "profiling_figure", "type_range"]


def type_range(t: Any) -> tuple[float, float, float] | None:
    """``(min, max, lsb)`` of a fixed-point or integer type, ``None`` for anything else."""
    if not isinstance(t, (FixedType, IntType)):
        return None
    f = as_fixed(t)
    return float(f.min), float(f.max), float(f.lsb)


@dataclass
class LayerProfile:
    """One layer's row in the report's table."""

    key: str
    name: str
    op: str
    result_type: str
    precision: dict[str, str]
    parameters: int
    macs: int
    type_min: float | None = None
    type_max: float | None = None
    lsb: float | None = None
    seen_min: float | None = None
    seen_max: float | None = None
    overflows: int | None = None
    accum_overflows: int | None = None
    max_abs_diff: float | None = None
    mean_abs_diff: float | None = None
    cause: str | None = None
    weights: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # role -> (type, float values)
    activations: np.ndarray | None = None  # float values seen on the data (a sample)

    @property
    def out_of_range(self) -> bool:
        """Values seen on the data outside the result type's range (an overflow risk)."""
        if self.seen_min is None or self.type_min is None or self.type_max is None or self.seen_max is None:
            return False
        return self.seen_min < self.type_min or self.seen_max > self.type_max


_ROLES = {1: "weight", 2: "bias"}
_SAMPLE = 20000  # values per layer kept for the plot (deterministic stride, not random)


def _sample(a: np.ndarray) -> np.ndarray:
    flat = np.asarray(a, np.float64).reshape(-1)
    if flat.size <= _SAMPLE:
        return flat
    return flat[:: math.ceil(flat.size / _SAMPLE)]


def layer_profiles(graph: Graph, qgraph: Graph, x: Any = None, config: Any = None) -> tuple[list[LayerProfile], Any]:
    """Rows for every node of the configured graph ``qgraph`` (from the float ``graph``).

    With events ``x`` the float reference gives the value ranges seen, and
    ``crosscheck.compare`` the overflow counts, the float-vs-fixed error and its cause; the
    compare report is returned too (``None`` without data).
    """
    from .. import reference
    from ..crosscheck import compare
    from ..reference import trace_keys

    keys = trace_keys(qgraph)
    rows: list[LayerProfile] = []
    float_nodes = {n.name: n for n in graph.nodes}
    for node in qgraph.nodes:
        t = qgraph.values[node.outputs[0]].type
        rng = type_range(t)
        row = LayerProfile(
            key=keys[node.name], name=node.name, op=node.op.value, result_type=str(t),
            precision={k: str(v) for k, v in node.precision.items()},
            parameters=qgraph.parameter_count(node), macs=node_macs(qgraph, node),
        )
        if rng is not None:
            row.type_min, row.type_max, row.lsb = rng
        fnode = float_nodes.get(node.name)
        for pos, name in enumerate(node.inputs):
            v = qgraph.values[name]
            if v.is_constant and pos in _ROLES and fnode is not None and pos < len(fnode.inputs):
                fv = graph.values[fnode.inputs[pos]]
                if fv.data is not None and fv.data.size:
                    row.weights[_ROLES[pos]] = (str(v.type), _sample(fv.data))
        rows.append(row)
    report = None
    if x is not None:
        trace = reference.run(graph, x, trace=True)
        for row in rows:
            vals = trace.get(row.key)
            if vals is not None and np.size(vals):
                arr = np.asarray(vals, np.float64)
                row.seen_min, row.seen_max = float(arr.min()), float(arr.max())
                row.activations = _sample(arr)
        report = compare(graph, x, config)
        by_key = {c.layer: c for c in report.layers}
        for row in rows:
            c = by_key.get(row.key)
            if c is not None:
                row.overflows, row.accum_overflows = c.overflows, c.accum_overflows
                row.max_abs_diff, row.mean_abs_diff, row.cause = c.max_abs_diff, c.mean_abs_diff, c.cause
    return rows, report


def _log2_abs(v: np.ndarray) -> np.ndarray:
    nz = np.abs(v[v != 0])
    return np.log2(nz) if nz.size else np.array([])


def profiling_figure(rows: list[LayerProfile]) -> Any:
    """Box plots of ``log2|value|`` per layer — weights and biases, and activations on the
    data when available — over grey bars spanning each type's ``[log2 LSB, log2 max]``."""
    from matplotlib.figure import Figure

    panels: list[tuple[str, list[tuple[str, str, np.ndarray]]]] = []
    wts = [(f"{r.key} {role}", t, v) for r in rows for role, (t, v) in r.weights.items()]
    if wts:
        panels.append(("weights and biases", wts))
    acts = [(r.key, r.result_type, r.activations) for r in rows if r.activations is not None]
    if acts:
        panels.append(("activations on the data", acts))
    if not panels:
        panels.append(("no constants and no data", []))
    height = max(3.0, 0.32 * max(len(p[1]) for p in panels) + 1.4)
    fig = Figure(figsize=(5.6 * len(panels), height), layout="constrained")
    from ..ir.types import parse_type

    for i, (title, items) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        labels = [name for name, _, _ in items]
        data = [_log2_abs(v) for _, _, v in items]
        for j, (_, tstr, _) in enumerate(items):
            try:
                rng = type_range(parse_type(tstr))
            except Exception:  # noqa: BLE001 - a type this plot cannot draw (float): no bar
                rng = None
            if rng is not None:
                top = max(abs(rng[0]), abs(rng[1]))
                lo, hi = math.log2(rng[2]), math.log2(top) if top > 0 else math.log2(rng[2])
                ax.barh(j, hi - lo, left=lo, height=0.8, color="#d1d5db", zorder=0)
        if items:
            ax.boxplot([d if d.size else np.array([np.nan]) for d in data], orientation="horizontal", positions=range(len(items)),
                       widths=0.5, showfliers=True, flierprops={"markersize": 2}, medianprops={"color": "tab:red"})
            ax.set_yticks(range(len(items)), labels, fontsize=8)
            ax.invert_yaxis()
        ax.set_xlabel("log2 |value|   (grey: the type's range, LSB to max)")
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
    return fig
