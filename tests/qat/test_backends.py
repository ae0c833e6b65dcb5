"""The exactness cases again on the other Keras backend (the backend is fixed when keras is
imported, so this runs ``qat_cases.py`` in a subprocess)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

HERE = Path(__file__).resolve().parent
BACKEND_MODULE = {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}


def _other_backends() -> list[str]:
    current = keras.backend.backend()
    return [b for b in ("tensorflow", "torch", "jax") if b != current and importlib.util.find_spec(BACKEND_MODULE[b])]


def _run(backend: str, n: int, quick: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KERAS_BACKEND=backend, QAT_CASES_N=str(n), TF_CPP_MIN_LOG_LEVEL="3",
               QAT_CASES_QUICK="1" if quick else "0")
    src = str(HERE.parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, str(HERE), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, str(HERE / "qat_cases.py")], env=env, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.parametrize("backend", _other_backends())
def test_cases_on_other_backend(backend):
    """Every signed quantizer mode and the main layers on 2,000 grid inputs (everything on 10⁴
    in the slow variant)."""
    p = _run(backend, 2000, quick=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert f"backend={backend} failures=0" in p.stdout


@pytest.mark.slow
@pytest.mark.parametrize("backend", _other_backends())
def test_cases_on_other_backend_full(backend):
    p = _run(backend, 10000, quick=False)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
