"""Helpers shared by the CPU backend tests."""

from __future__ import annotations

import numpy as np

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
