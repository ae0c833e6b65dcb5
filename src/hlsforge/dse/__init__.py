"""Design-space exploration: scan precisions × ReuseFactors × Strategies of a model, locally or
on a Ray cluster, and find the Pareto fronts of quality against resources and latency."""

from .explore import scan
from .result import COLUMNS, ScanResult, pareto_front

__all__ = ["scan", "ScanResult", "COLUMNS", "pareto_front"]
