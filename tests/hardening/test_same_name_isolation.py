"""Several different models that share one name, compiled and run in ONE process, interleaved:
each must give its own results (issue 15: the C-sim of the second returned the first's).

Keras names almost every model ``model_1``; native libraries loaded into one process must not
share symbols (hidden visibility, local binding), whatever the models' names."""

from __future__ import annotations

import numpy as np
import pytest

from hlsforge import cpu_backend, reference
from hlsforge.hls_backend import compile as csim_compile
from hlsforge.ir import Graph, Op
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure

NAME = "model_1"
BITS_ONLY_FLAGS = ("-O0", "-std=c++17")


def dense_graph(seed: int, widths: tuple[int, ...], act: Op = Op.RELU) -> Graph:
    """``x -> (Dense -> act)*`` named ``model_1``; the weights depend on ``seed``."""
    rng = np.random.default_rng(seed)
    g = Graph(NAME)
    g.add_input("x", (widths[0],))
    cur = "x"
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        g.add_constant(f"k{i}", rng.normal(size=(a, b)).astype(np.float32))
        g.add_constant(f"b{i}", rng.normal(size=(b,)).astype(np.float32))
        d = g.add_node(Op.DENSE, [cur, f"k{i}", f"b{i}"], source_name=f"dense{i}")
        cur = g.add_node(act, d.outputs, source_name=f"act{i}").outputs[0]
    g.outputs = [cur]
    return g.validate()


GRAPHS = {
    "same_arch_a": lambda: dense_graph(1, (8, 6, 4)),
    "same_arch_b": lambda: dense_graph(2, (8, 6, 4)),
    "other_arch": lambda: dense_graph(3, (8, 5, 4), act=Op.SIGMOID),
    "other_width": lambda: dense_graph(4, (8, 4)),
}


def test_same_named_models_csim_interleaved():
    graphs = {k: configure(f(), "ap_fixed<16,6>") for k, f in GRAPHS.items()}
    models = {k: csim_compile(g, flags=BITS_ONLY_FLAGS) for k, g in graphs.items()}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8)).astype(np.float32) * 2
    for _ in range(2):  # interleaved: compile all, then predict each in turn, twice
        for k, model in models.items():
            np.testing.assert_array_equal(model.predict(x), emulate.run(graphs[k], x), err_msg=k)


@pytest.mark.slow  # two more CPU libraries; the default suite covers the CPU in the mixed test
def test_same_named_models_cpu_interleaved():
    # two libraries (same-architecture models share one library, each with its own weights)
    graphs = {k: f() for k, f in GRAPHS.items() if k != "other_width"}
    models = {k: cpu_backend.compile(g) for k, g in graphs.items()}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8)).astype(np.float32)
    for _ in range(2):
        for k, model in models.items():
            np.testing.assert_allclose(model.predict(x), reference.run(graphs[k], x),
                                       rtol=1e-5, atol=1e-5, err_msg=k)



def test_same_named_models_mixed_backends():
    """A C-sim library and a CPU library of same-named models live side by side."""
    g1, g2 = configure(GRAPHS["same_arch_a"](), "ap_fixed<16,6>"), configure(GRAPHS["same_arch_b"](), "ap_fixed<16,6>")
    x = np.random.default_rng(5).normal(size=(20, 8)).astype(np.float32)
    a = csim_compile(g1, flags=BITS_ONLY_FLAGS)
    float_b = GRAPHS["same_arch_b"]()
    b = cpu_backend.compile(float_b)
    c = csim_compile(g2, flags=BITS_ONLY_FLAGS)
    np.testing.assert_array_equal(a.predict(x), emulate.run(g1, x))
    np.testing.assert_array_equal(c.predict(x), emulate.run(g2, x))
    np.testing.assert_allclose(b.predict(x), reference.run(float_b, x), rtol=1e-5, atol=1e-5)
