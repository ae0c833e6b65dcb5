"""The result of a design-space scan: one row per point, the Pareto fronts, CSV/JSON, plots.

Why a table of plain values: a scan is compared across machines (local vs a Ray cluster) and
across runs, so every row holds only numbers and strings computed deterministically from the
model, the data and the point — no timings, no host names — and two runs of the same scan give
identical tables. Wall time is kept beside the table (:attr:`ScanResult.elapsed_s`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HlsforgeError

__all__ = ["COLUMNS", "ESTIMATE_COLUMNS", "QUALITY_METRICS", "ScanResult", "pareto_front"]

ESTIMATE_COLUMNS = ("lut", "ff", "dsp", "bram_18k", "lut_plus_dsp", "latency_cycles", "latency_ns", "ii")
"""Columns filled from ``hlsforge.resources.estimate`` (``lut_plus_dsp`` = LUT + DSP, the
resource axis of the first Pareto front)."""

COLUMNS = (
    "index", "precision", "reuse_factor", "strategy",
    "accuracy", "argmax_agreement", "max_abs_error", "mean_abs_error", "overflows",
    *ESTIMATE_COLUMNS, "error",
)
"""Every row has exactly these keys, in this order (``None`` where a value does not apply)."""

QUALITY_METRICS = {
    "accuracy": (True, "accuracy vs labels"),
    "argmax_agreement": (True, "argmax agreement with float"),
    "max_abs_error": (False, "max |fixed - float|"),
}
"""metric -> (higher is better, axis label). ``scan`` picks accuracy when labels are given,
argmax agreement for classifiers without labels, and the max error otherwise."""

FRONTS = {"resources": "lut_plus_dsp", "latency": "latency_ns"}
"""Pareto front name -> the cost column it trades against the quality metric."""


def pareto_front(rows: Sequence[Mapping[str, Any]], cost: str, metric: str, higher_is_better: bool) -> list[int]:
    """Indices (``row["index"]``) of the rows no other row beats on both cost and quality.

    A row is on the front when every cheaper-or-equal row has strictly worse quality. Rows
    with an error or without the cost/metric value are not candidates. Ties keep the first
    row in scan order, so the front is deterministic. Sorted by increasing cost.
    """
    sign = -1.0 if higher_is_better else 1.0
    cands = [
        r for r in rows
        if not r.get("error") and r.get(cost) is not None and r.get(metric) is not None
        and math.isfinite(float(r[metric]))
    ]
    cands.sort(key=lambda r: (float(r[cost]), sign * float(r[metric]), int(r["index"])))
    front: list[int] = []
    best: float | None = None
    for r in cands:
        q = sign * float(r[metric])  # smaller is better
        if best is None or q < best:
            front.append(int(r["index"]))
            best = q
    return front


@dataclass
class ScanResult:
    """Rows of a scan, the quality metric used, and where the scan ran.

    ``rows``: one dict per point with the keys of :data:`COLUMNS`, in point order
    (precision-major, then reuse factor, then strategy). ``metadata``: model name, events,
    part, clock, the float model's quality and the base config. ``elapsed_s`` and
    ``executor`` describe the run, not the result, and are not part of :meth:`table`.
    """

    rows: list[dict[str, Any]]
    metric: str
    metadata: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    executor: str = "local"

    # ------------------------------------------------------------------ table

    @property
    def higher_is_better(self) -> bool:
        return QUALITY_METRICS[self.metric][0]

    @property
    def has_estimates(self) -> bool:
        return any(r.get("lut") is not None for r in self.rows)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Rows whose point could not be evaluated (the message is in ``row["error"]``)."""
        return [r for r in self.rows if r.get("error")]

    def table(self) -> list[dict[str, Any]]:
        """The rows as a list of dicts (a copy): what local and Ray runs must agree on."""
        return [dict(r) for r in self.rows]

    def pareto(self, front: str = "resources") -> list[dict[str, Any]]:
        """The rows on a Pareto front: ``"resources"`` (quality vs LUT+DSP) or
        ``"latency"`` (quality vs latency in ns), by increasing cost."""
        if front not in FRONTS:
            raise HlsforgeError(f"unknown Pareto front {front!r}; known: {', '.join(FRONTS)}")
        idx = pareto_front(self.rows, FRONTS[front], self.metric, self.higher_is_better)
        by_index = {int(r["index"]): r for r in self.rows}
        return [dict(by_index[i]) for i in idx]

    @property
    def pareto_resources(self) -> list[dict[str, Any]]:
        return self.pareto("resources")

    @property
    def pareto_latency(self) -> list[dict[str, Any]]:
        return self.pareto("latency")

    # ------------------------------------------------------------------ files

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "hlsforge-scan",
            "version": 1,
            "metric": self.metric,
            "metadata": self.metadata,
            "columns": list(COLUMNS),
            "rows": self.table(),
            "pareto": {name: [int(r["index"]) for r in self.pareto(name)] for name in FRONTS},
            "executor": self.executor,
            "elapsed_s": self.elapsed_s,
        }

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The result as JSON (written to ``path`` too when given)."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=True) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The table as CSV, one line per point (empty cells for ``None``)."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: ("" if r.get(k) is None else r[k]) for k in COLUMNS})
        text = buf.getvalue()
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike[str] | Mapping[str, Any]) -> ScanResult:
        """Read a result written by :meth:`to_json` (a path, or the parsed dict)."""
        where = "scan result"
        if isinstance(source, Mapping):
            doc: Any = source
        else:
            where = str(source)
            try:
                doc = json.loads(Path(source).read_text())
            except (OSError, ValueError) as e:
                raise HlsforgeError(f"cannot read scan result {where!r}: {e}") from None
        if not isinstance(doc, Mapping) or doc.get("format") != "hlsforge-scan":
            raise HlsforgeError(f"{where}: not an hlsforge scan result (write one with `hlsforge scan`)")
        metric = doc.get("metric")
        rows = doc.get("rows")
        if metric not in QUALITY_METRICS or not isinstance(rows, list):
            raise HlsforgeError(f"{where}: malformed scan result (metric {metric!r}, rows {type(rows).__name__})")
        for i, r in enumerate(rows):
            if not isinstance(r, Mapping) or set(r) != set(COLUMNS):
                raise HlsforgeError(f"{where}: row {i} does not have the columns {', '.join(COLUMNS)}")
        return cls(
            rows=[{k: r[k] for k in COLUMNS} for r in rows], metric=metric,
            metadata=dict(doc.get("metadata") or {}), elapsed_s=float(doc.get("elapsed_s") or 0.0),
            executor=str(doc.get("executor") or "local"),
        )

    # ------------------------------------------------------------------ display

    def plot(self, path: str | os.PathLike[str] | None = None) -> Any:
        """Draw both Pareto fronts with matplotlib; save to ``path`` (.png, .svg, .pdf) when
        given. Returns the matplotlib ``Figure``."""
        from .plot import pareto_figure

        fig = pareto_figure(self)
        if path is not None:
            fig.savefig(path, dpi=110, bbox_inches="tight")
        return fig

    def __str__(self) -> str:
        label = QUALITY_METRICS[self.metric][1]
        head = ["#", "precision", "RF", "strategy", self.metric, "max|Δ|", "overflows", "LUT", "FF", "DSP",
                "BRAM", "latency (ns)", "II"]
        front = {i for f in FRONTS for i in (int(r["index"]) for r in self.pareto(f))}

        def fmt(v: Any, digits: int = 4) -> str:
            if v is None:
                return "-"
            if isinstance(v, float):
                return f"{v:.{digits}g}"
            return str(v)

        table = [
            [("*" if int(r["index"]) in front else "") + str(r["index"]), str(r["precision"]), str(r["reuse_factor"]),
             str(r["strategy"]), fmt(r[self.metric]), fmt(r["max_abs_error"], 3), fmt(r["overflows"]),
             fmt(r["lut"]), fmt(r["ff"]), fmt(r["dsp"]), fmt(r["bram_18k"]), fmt(r["latency_ns"]), fmt(r["ii"])]
            for r in self.rows if not r.get("error")
        ]
        widths = [max(len(h), *(len(t[c]) for t in table)) if table else len(h) for c, h in enumerate(head)]
        lines = [
            f"scan of {self.metadata.get('model', '?')!r}: {len(self.rows)} points on "
            f"{self.metadata.get('events', '?')} events, quality = {label} "
            f"(float model: {fmt(self.metadata.get('float_quality'))}); * = on a Pareto front",
            "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
            "  ".join("-" * w for w in widths),
        ]
        lines += ["  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)) for t in table]
        for r in self.errors:
            lines.append(f"point {r['index']} ({r['precision']}, RF {r['reuse_factor']}, {r['strategy']}) failed: {r['error']}")
        if not self.has_estimates:
            lines.append("no resource/latency estimates in this result")
        return "\n".join(lines)
