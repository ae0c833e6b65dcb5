"""CPU backend: a per-channel / per-element Quantize equals the reference (each element's own
fake-quantization) exactly."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quantize"))
from per_element_cases import quantize_graph, random_elements  # noqa: E402

from hlsforge import cpu_backend, reference  # noqa: E402


def test_cpu_per_element_quantize_equals_reference():
    rng = np.random.default_rng(21)
    graphs = [
        quantize_graph((2, 3, 4), random_elements((4,), rng, "RND_CONV", "SAT"), configured=False, seed=1),
        quantize_graph((3, 4), random_elements((3, 4), rng, "TRN", "WRAP"), configured=False, seed=2),
        quantize_graph((4, 4, 3), random_elements((4, 1, 3), rng, "RND", "SAT_SYM"), conv=True, configured=False,
                       seed=3),
    ]
    models = cpu_backend.compile_models(graphs)
    for g, m in zip(graphs, models, strict=True):
        x = (rng.normal(0, 4, (64, *g.values["x"].shape))).astype(np.float32)
        want = reference.run(g, x)
        got = m.predict(x)
        if g.nodes[-1].op.value == "Quantize":
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        q = reference.run(g, x, trace=True)
        assert q  # the trace runs through the per-element rule
