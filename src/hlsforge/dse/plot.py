"""Pareto plots of a scan with matplotlib (headless: the Agg canvas, no display needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import ScanResult

__all__ = ["pareto_figure", "require_matplotlib"]

_AXES = {"resources": ("lut_plus_dsp", "estimated LUT + DSP"), "latency": ("latency_ns", "estimated latency (ns)")}
_MARKERS = {"Latency": "o", "Resource": "s"}


def require_matplotlib() -> None:
    """Fail early, before any work, when plots cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from ..errors import HlsforgeError

        raise HlsforgeError("plots and reports need matplotlib: pip install 'hlsforge[report]'") from None


def _figure(ncols: int) -> Any:
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(5.2 * ncols, 4.2), layout="constrained")


def pareto_figure(result: ScanResult) -> Any:
    """Quality against LUT+DSP and against latency, every point coloured by precision,
    the Pareto front drawn as a step line with its points labelled. Without estimates, the
    quality of each point against its precision."""
    from .result import QUALITY_METRICS

    rows = [r for r in result.rows if not r.get("error") and r.get(result.metric) is not None]
    precisions = list(dict.fromkeys(r["precision"] for r in result.rows))
    label = QUALITY_METRICS[result.metric][1]
    title = f"{result.metadata.get('model', '')}: {len(result.rows)} points"
    if not result.has_estimates:
        fig = _figure(1)
        ax = fig.add_subplot(1, 1, 1)
        xs = [precisions.index(r["precision"]) for r in rows]
        ax.scatter(xs, [r[result.metric] for r in rows], color="tab:blue")
        ax.set_xticks(range(len(precisions)), precisions, rotation=30, ha="right")
        ax.set_ylabel(label)
        ax.set_title(f"{title} (no resource estimates available)")
        ax.grid(alpha=0.3)
        return fig
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"]
    colors = {p: cmap(i / max(len(precisions) - 1, 1)) for i, p in enumerate(precisions)}
    fig = _figure(2)
    for col, (front, (cost, xlabel)) in enumerate(_AXES.items()):
        ax = fig.add_subplot(1, 2, col + 1)
        for p in precisions:
            for strategy, marker in _MARKERS.items():
                pts = [r for r in rows if r["precision"] == p and r["strategy"] == strategy and r.get(cost) is not None]
                if pts:
                    ax.scatter([r[cost] for r in pts], [r[result.metric] for r in pts], color=colors[p], marker=marker,
                               s=28, alpha=0.8, label=f"{p} {strategy}" if col == 0 else None)
        best = result.pareto(front)
        if best:
            ax.step([r[cost] for r in best], [r[result.metric] for r in best], where="post", color="tab:red",
                    linewidth=1.5, label="Pareto front" if col == 0 else None)
            ax.scatter([r[cost] for r in best], [r[result.metric] for r in best], facecolors="none",
                       edgecolors="tab:red", s=80, linewidths=1.5)
            for k, r in enumerate(best):  # staggered so that neighbouring labels do not overlap
                strategy = f" {r['strategy']}" if len(result.metadata.get("strategies", [])) > 1 else ""
                ax.annotate(f"{r['precision']} RF{r['reuse_factor']}{strategy}", (r[cost], r[result.metric]),
                            fontsize=6, textcoords="offset points", xytext=(5, (-10, 4, -20)[k % 3]))
        costs = [r[cost] for r in rows if r.get(cost)]
        if costs and max(costs) / max(min(costs), 1e-12) > 20:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.set_title(f"{title}, part {result.metadata.get('part', '?')}" if col == 0 else
                     f"clock {result.metadata.get('clock_ns', '?')} ns")
    fig.legend(loc="outside right upper", fontsize=7)
    return fig
