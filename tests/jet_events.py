"""Events and labels for the bundled jet tagger, from the generator that trained it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
JET_MODEL = EXAMPLES / "jet_tagger_mlp.onnx"


def jet_events(n: int, seed: int = 2026) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic jets and their labels (the validation part of the training sample)."""
    spec = importlib.util.spec_from_file_location("make_jet_tagger", EXAMPLES / "make_jet_tagger.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x, y = mod.synthetic_jets(max(20000, 16000 + n), np.random.default_rng(seed))
    return x[16000 : 16000 + n], y[16000 : 16000 + n]
