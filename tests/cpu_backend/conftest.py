"""Shared fixtures for the CPU backend tests: compiled libraries are built once per session
(all op-zoo cases in one shared library, all model-zoo models in another) and cached on disk
by content hash, so a second test run compiles nothing."""

from __future__ import annotations

import numpy as np
import pytest
from op_zoo import CASES

from hlsforge import cpu_backend

RTOL = 1e-5
ATOL = 1e-5


def assert_close(got, want, what: str = "") -> None:
    """CPU backend vs float reference: the tolerance the backend promises."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), what
        for k in want:
            assert_close(got[k], want[k], f"{what} output {k!r}")
        return
    assert got.dtype == np.float32, what
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.fixture(scope="session")
def op_models() -> dict[str, tuple]:
    """``{case: (graph, CpuModel)}`` for every op-zoo case, from ONE shared library."""
    names = list(CASES)
    graphs = [CASES[n]() for n in names]
    models = cpu_backend.compile_models(graphs)
    return {n: (g, m) for n, g, m in zip(names, graphs, models, strict=True)}
