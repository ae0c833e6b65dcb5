"""Assemble the self-contained HTML report.

Why one file with everything inlined (CSS, the SVG graph, plots as base64 PNG): the page is
mailed, attached to merge requests and opened on machines without network access; nothing it
shows may depend on a CDN. Plots come from matplotlib; the page needs no JavaScript.
Every text that comes from the model (layer names, types) is HTML-escaped.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from ..ir.graph import Graph
from ..quantize.config import METADATA_KEY

__all__ = ["build_report", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;color:#111;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:2px solid #e5e7eb;padding-bottom:4px;margin-top:32px}
.sub{color:#555;margin-top:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #d1d5db;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#f3f4f6}td.l,th.l{text-align:left}
tr.warn td{background:#fee2e2}tr.total td{font-weight:bold;background:#f9fafb}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{border:1px solid #d1d5db;border-radius:8px;padding:8px 14px;min-width:120px;background:#fafafa}
.card b{display:block;font-size:1.3em}.card span{color:#555;font-size:12px}
.row{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}
.scroll{overflow-x:auto}img{max-width:100%}
.note{color:#555;font-size:13px}
"""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return '<img alt="plot" src="data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode("ascii") + '">'


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if v != v:
            return "nan"
        return f"{v:.{digits}g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], left: int = 1,
           classes: Sequence[str] | None = None) -> str:
    out = ["<div class='scroll'><table><tr>"]
    out += [f"<th class='{'l' if i < left else ''}'>{escape(h)}</th>" for i, h in enumerate(head)]
    out.append("</tr>")
    for k, r in enumerate(rows):
        cls = f" class='{classes[k]}'" if classes and classes[k] else ""
        out.append(f"<tr{cls}>" + "".join(
            f"<td class='{'l' if i < left else ''}'>{escape(_fmt(c))}</td>" for i, c in enumerate(r)) + "</tr>")
    out.append("</table></div>")
    return "".join(out)


def _cards(items: Sequence[tuple[str, Any]]) -> str:
    return "<div class='cards'>" + "".join(
        f"<div class='card'><b>{escape(_fmt(v))}</b><span>{escape(k)}</span></div>" for k, v in items) + "</div>"


def _model_section(graph: Graph, qgraph: Graph, source: str | None) -> str:
    from ..ir.summary import summary_rows
    from .graph_svg import graph_svg

    rows = summary_rows(qgraph)
    params = sum(r["parameters"] for r in rows)
    macs = sum(r["macs"] for r in rows)
    ins = ", ".join(f"{n} {tuple(graph.user_shape(n))}" for n in graph.inputs)
    outs = ", ".join(f"{n} {tuple(graph.user_shape(n))}" for n in graph.outputs)
    table = _table(
        ["layer", "op", "source op", "input", "output", "parameters", "MACs"],
        [[r["name"], r["op"], r["source_op"], " ".join(map(str, r["input_shapes"])),
          " ".join(map(str, r["output_shapes"])), r["parameters"], r["macs"]] for r in rows],
        left=5,
    )
    src = f"<p class='sub'>source: {escape(source)}</p>" if source else ""
    return (
        f"<h2>Model</h2>{src}"
        + _cards([("layers", len(rows)), ("parameters", params), ("MACs per event", macs), ("inputs", ins),
                  ("outputs", outs)])
        + f"<div class='row'><div>{graph_svg(qgraph)}</div><div>{table}</div></div>"
    )


def _layers_section(profiles: Sequence[Any], report: Any) -> str:
    from .profile import profiling_figure

    head = ["layer", "op", "result type", "other types", "type range", "LSB", "seen on data", "overflows",
            "max |fixed−float|", "mean |fixed−float|", "cause"]
    rows, classes = [], []
    for p in profiles:
        other = ", ".join(f"{k}: {v}" for k, v in p.precision.items() if k != "result")
        wt = ", ".join(f"{role}: {t}" for role, (t, _) in p.weights.items())
        rng = f"[{_fmt(p.type_min, 8)}, {_fmt(p.type_max, 8)}]" if p.type_min is not None else "–"
        seen = f"[{_fmt(p.seen_min)}, {_fmt(p.seen_max)}]" if p.seen_min is not None else "–"
        over = None if p.overflows is None else (
            f"{p.overflows:,}" + (f" (+{p.accum_overflows:,} accum)" if p.accum_overflows else ""))
        rows.append([p.key, p.op, p.result_type, "; ".join(s for s in (wt, other) if s) or "–", rng, p.lsb, seen,
                     over, p.max_abs_diff, p.mean_abs_diff, p.cause])
        classes.append("warn" if (p.overflows or p.accum_overflows or p.out_of_range) else "")
    parts = ["<h2>Layers: types, ranges and errors</h2>"]
    if report is not None:
        cards = [("events", report.events), ("max |fixed−float| at the output", report.output_max_abs_diff),
                 ("overflows (all layers)", sum(c.overflows + c.accum_overflows for c in report.layers))]
        if report.argmax_agreement is not None:
            cards.append(("argmax agreement with float", f"{100 * report.argmax_agreement:.2f} %"))
        over_in = {k: v for k, v in report.input_overflows.items() if v}
        if over_in:
            cards.append(("inputs outside the input type", sum(over_in.values())))
        parts.append(_cards(cards))
    else:
        parts.append("<p class='note'>No data given (<code>--data x.npy</code>): the value ranges, overflow "
                     "counts and errors need events; the weights are profiled below.</p>")
    parts.append(_table(head, rows, left=4, classes=classes))
    parts.append("<p class='note'>Red rows: values overflowed, or the data reached outside the result type's "
                 "range.</p><h3>Profiling</h3>")
    parts.append(_png(profiling_figure(list(profiles))))
    return "".join(parts)


def _estimate_section(est: Any) -> str:
    from ..resources import RESOURCES

    head = ["layer", "op", "LUT", "FF", "DSP", "BRAM18K", "latency (cycles)", "II", "multiplies", "ReuseFactor",
            "strategy"]
    rows = [[ly.name, ly.op, ly.lut, ly.ff, ly.dsp, ly.bram_18k, ly.latency_cycles, ly.ii, ly.multiplies,
             ly.reuse_factor, ly.strategy] for ly in est.layers]
    rows.append(["total", "", est.lut, est.ff, est.dsp, est.bram_18k, est.latency_cycles, est.ii, est.multiplies,
                 "", ""])
    classes = [""] * (len(rows) - 1) + ["total"]
    util = _cards([(f"{r.upper().replace('_18K', ' 18K')} % of part", f"{est.utilization[r]:.2f} %")
                   for r in RESOURCES if r in est.utilization]
                  + [("latency", f"{est.latency_cycles} cycles = {est.latency_ns:g} ns"), ("II", est.ii)])
    notes = "".join(f"<li>{escape(n)}</li>" for n in est.notes)
    return (
        f"<h2>Resource and latency estimate</h2><p class='sub'>{escape(est.part)} ({escape(est.dsp_family)}), "
        f"clock {est.clock_ns:g} ns, {escape(est.io_type)} — hlsforge's first-principles model "
        "(docs/estimate.md), not a synthesis result.</p>"
        + util + _table(head, rows, left=2, classes=classes) + (f"<ul class='note'>{notes}</ul>" if notes else "")
    )


def _scan_section(scan: Any) -> str:
    from ..dse.result import QUALITY_METRICS

    metric = scan.metric
    front = {int(r["index"]) for f in ("resources", "latency") for r in scan.pareto(f)} if scan.has_estimates else set()
    head = ["#", "precision", "RF", "strategy", QUALITY_METRICS[metric][1], "max |Δ|", "overflows", "LUT", "FF",
            "DSP", "BRAM18K", "latency (ns)", "II", "error"]
    rows = [[r["index"], r["precision"], r["reuse_factor"], r["strategy"], r[metric], r["max_abs_error"],
             r["overflows"], r["lut"], r["ff"], r["dsp"], r["bram_18k"], r["latency_ns"], r["ii"], r["error"]]
            for r in scan.rows]
    classes = ["total" if int(r["index"]) in front else ("warn" if r["error"] else "") for r in scan.rows]
    md = scan.metadata
    return (
        f"<h2>Design-space scan</h2><p class='sub'>{len(scan.rows)} points on {escape(_fmt(md.get('events')))} "
        f"events; quality: {escape(QUALITY_METRICS[metric][1])} (float model: {escape(_fmt(md.get('float_quality')))}); "
        "bold rows are on a Pareto front.</p>"
        + _png(scan.plot()) + _table(head, rows, left=4, classes=classes)
    )


def build_report(
    graph: Graph | Any,
    config: Any = None,
    x: Any = None,
    scan: Any = None,
    *,
    part: str = "xcvu13p-flga2577-2-e",
    clock_ns: float = 5.0,
    title: str | None = None,
    source: str | None = None,
) -> str:
    """The report as one HTML string: model picture and summary, per-layer types, ranges,
    overflows and errors (with events ``x``), the profiling plot, the estimate, and the
    Pareto plot of ``scan`` (a ``ScanResult`` or the path of a ``scan.json``)."""
    from .. import __version__
    from ..dse.plot import require_matplotlib
    from ..dse.result import ScanResult
    from ..loader import load
    from ..quantize.config import configure, is_configured
    from ..resources import estimate
    from .profile import layer_profiles

    require_matplotlib()
    if not isinstance(graph, Graph):
        source = source or str(graph)
        graph = load(graph)
    qgraph = graph if is_configured(graph) and graph.nodes else configure(graph, config)
    if scan is not None and not isinstance(scan, ScanResult):
        scan = ScanResult.from_json(scan)
    profiles, report = layer_profiles(graph, qgraph, x, config)
    from ..errors import UnsupportedOpError

    try:
        estimate_html = _estimate_section(estimate(qgraph, part=part, clock_ns=clock_ns))
    except UnsupportedOpError as e:  # say so on the page; the rest of the report still holds
        estimate_html = (f"<h2>Resource and latency estimate</h2><p class='note'>No estimate for this "
                         f"model: {escape(str(e))}</p>")
    cfg_used = qgraph.metadata.get(METADATA_KEY)
    cfg_html = f"<details><summary>precision configuration</summary><pre>{escape(json.dumps(cfg_used, indent=2))}</pre></details>" if cfg_used else ""
    name = title or f"hlsforge report: {graph.name}"
    body = [
        f"<h1>{escape(name)}</h1><p class='sub'>hlsforge {escape(__version__)} — everything on this page is "
        "computed from the model, its configuration and the data; it needs no network.</p>",
        cfg_html,
        _model_section(graph, qgraph, source),
        _layers_section(profiles, report),
        estimate_html,
    ]
    if scan is not None:
        body.append(_scan_section(scan))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(name)}</title>"
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(path: str | os.PathLike[str], graph: Graph | Any, **kwargs: Any) -> Path:
    """Write :func:`build_report` to ``path`` (built fully in memory first: no half-written page)."""
    text = build_report(graph, **kwargs)
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out
