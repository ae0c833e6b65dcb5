"""Shared fixtures for the CPU backend tests: compiled libraries are built once per session
(all op-zoo cases in one shared library) and cached on disk by content hash, so a second test
run compiles nothing."""

from __future__ import annotations

import pytest
from op_zoo import CASES

from hlsforge import cpu_backend


@pytest.fixture(scope="session")
def op_models() -> dict[str, tuple]:
    """``{case: (graph, CpuModel)}`` for every op-zoo case, from ONE shared library."""
    names = list(CASES)
    graphs = [CASES[n]() for n in names]
    models = cpu_backend.compile_models(graphs)
    return {n: (g, m) for n, g, m in zip(names, graphs, models, strict=True)}
