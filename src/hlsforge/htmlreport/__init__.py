"""``hlsforge report``: one self-contained HTML page about a model — its graph and summary,
per-layer types against the values seen on data (profiling), overflows and float-vs-fixed
errors, the resource/latency estimate and a scan's Pareto plot."""

from .graph_svg import graph_svg
from .page import build_report, write_report
from .profile import LayerProfile, layer_profiles

__all__ = ["build_report", "write_report", "graph_svg", "layer_profiles", "LayerProfile"]
