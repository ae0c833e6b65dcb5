"""Issue acceptance: a jet tagger trained 5 epochs with beta > 0 — 0 mismatches between Keras,
emulator and C-sim on 10⁵ grid inputs; EBOPs fall while accuracy stays within 1 % of the
float model. Slow (a few minutes)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import hlsforge  # noqa: E402
from hlsforge import qat  # noqa: E402
from hlsforge.quantize import emulate  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))


@pytest.mark.slow
def test_jet_tagger_five_epochs(tmp_path):
    import train_jet_tagger as ex

    xtr, ytr, xte, yte = ex.data()
    xtr, xte = ex.on_grid(xtr), ex.on_grid(xte)
    fm = ex.float_model()
    fm.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    fm.fit(xtr, ytr, batch_size=512, epochs=5, verbose=0)
    float_acc = float(fm.evaluate(xte, yte, verbose=0)[1])

    model, hw = ex.train(1e-6, xtr, ytr, xte, yte, 5, tmp_path)
    ebops = [r["ebops"] for r in hw.history]
    assert ebops[-1] < ebops[0], ebops
    assert all(r["mismatches"] == 0 for r in hw.history)
    acc = hw.history[-1]["accuracy"]
    assert acc >= float_acc - 0.01, (acc, float_acc)

    graph = hlsforge.load(model)
    x = ex.on_grid(np.random.default_rng(3).normal(0, 2.5, size=(100_000, 16)))
    report = qat.verify(model, x, graph=graph)
    assert report.ok and report.mismatches == 0, str(report)
    from hlsforge import hls_backend

    y_csim = np.asarray(hls_backend.compile(graph).predict(x))
    np.testing.assert_array_equal(y_csim, emulate.run(graph, x))
    print(f"float {float_acc:.4f} qat {acc:.4f} EBOPs {ebops[0]:.0f} -> {ebops[-1]:.0f}")
