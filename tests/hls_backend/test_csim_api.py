"""The C-simulation API: batching, layouts, several inputs/outputs, caching, errors."""

from __future__ import annotations

import time

import model_zoo
import numpy as np
import op_zoo
import pytest
from hls_cases import BITS_ONLY_FLAGS, assert_same_as_emulator

import hlsforge
from hlsforge.errors import CompileError, HlsforgeError, InputError, PrecisionError
from hlsforge.hls_backend import compile, compile_many
from hlsforge.ir import Graph, Op, SoftmaxAttrs
from hlsforge.quantize.config import configure


def two_output_graph() -> Graph:
    """x -> Dense -> (ReLU, Sigmoid); the Dense output is itself a graph output read by both."""
    rng = np.random.default_rng(3)
    g = Graph("two_outputs")
    g.add_input("x", (6,))
    g.add_constant("k", rng.normal(size=(6, 4)).astype(np.float32))
    g.add_constant("b", rng.normal(size=(4,)).astype(np.float32))
    d = g.add_node(Op.DENSE, ["x", "k", "b"], source_name="fc")
    r = g.add_node(Op.RELU, d.outputs, source_name="act")
    s = g.add_node(Op.SIGMOID, d.outputs, source_name="prob")
    g.outputs = [r.outputs[0], s.outputs[0], d.outputs[0]]
    return g.validate()


@pytest.fixture(scope="module")
def mlp():
    graph = configure(hlsforge.load(model_zoo.mlp_16_64_32_32_5()), "ap_fixed<16,6>")
    return graph, compile(graph, name="api_mlp", flags=BITS_ONLY_FLAGS)


def test_predict_shapes_and_single_event(mlp):
    graph, model = mlp
    x = model_zoo.make_input(model_zoo.mlp_16_64_32_32_5(), batch=10)
    y = model.predict(x)
    assert y.shape == (10, 5) and y.dtype == np.float64
    np.testing.assert_array_equal(model.predict(x[3]), y[3:4])  # one event without a batch axis
    assert model.predict(x[:0]).shape == (0, 5)


def test_bad_inputs_raise_input_error(mlp):
    _, model = mlp
    with pytest.raises(InputError):
        model.predict(np.zeros((3, 15), dtype=np.float32))
    with pytest.raises(InputError):
        model.predict(np.full((2, 16), np.nan, dtype=np.float32))


def test_trace_keys_follow_the_emulator(mlp):
    graph, model = mlp
    from hlsforge.quantize import emulate

    x = model_zoo.make_input(model_zoo.mlp_16_64_32_32_5(), batch=4)
    assert list(model.trace(x)) == list(emulate.run(graph, x, trace=True).outputs)


def test_several_inputs_and_outputs():
    g1 = configure(two_output_graph(), {"model": {"default": "ap_fixed<12,4,AP_RND,AP_SAT>"}})
    g2 = configure(op_zoo.CASES["concat"](), "ap_fixed<10,3>")
    m1, m2 = compile_many([g1, g2], flags=BITS_ONLY_FLAGS)
    x1 = op_zoo.random_inputs(g1, 30, seed=1)
    x2 = op_zoo.random_inputs(g2, 30, seed=2)
    assert isinstance(m1.predict(x1), dict) and len(m1.predict(x1)) == 3
    assert_same_as_emulator(m1, g1, x1, "two outputs")
    assert_same_as_emulator(m2, g2, x2, "two inputs")


def test_float_graph_with_config_and_unquantized_error():
    g = op_zoo.CASES["dense"]()
    with pytest.raises(PrecisionError, match="configure"):
        compile(g, flags=BITS_ONLY_FLAGS)
    m = compile(g, "ap_fixed<14,5>", flags=BITS_ONLY_FLAGS)  # float graph + config
    assert_same_as_emulator(
        m, configure(g, "ap_fixed<14,5>"), op_zoo.random_inputs(g, 8), "config given"
    )


def test_second_compile_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HLSFORGE_CACHE", str(tmp_path))
    g = configure(op_zoo.CASES["conv1d"](), "ap_fixed<16,6>")
    first = compile(g, name="cached_conv", flags=BITS_ONLY_FLAGS)
    start = time.perf_counter()
    second = compile(g, name="cached_conv", flags=BITS_ONLY_FLAGS)
    assert time.perf_counter() - start < 1.0
    assert second.library == first.library
    assert str(first.library).startswith(str(tmp_path))


def test_compiler_failure_is_a_compile_error_with_the_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("HLSFORGE_CACHE", str(tmp_path))
    g = configure(op_zoo.CASES["relu"](), "ap_fixed<8,3>")
    with pytest.raises(CompileError) as err:
        compile(
            g, name="broken", flags=(*BITS_ONLY_FLAGS, "-DHLSFORGE_USE_AP_FIXED", "-I/nonexistent")
        )
    text = str(err.value)
    assert "ap_fixed.h" in text and "sources:" in text and "broken_bridge.cpp" in text


def test_duplicate_model_names_are_refused():
    g = configure(op_zoo.CASES["relu"](), "ap_fixed<8,3>")
    with pytest.raises(HlsforgeError, match="both named"):
        compile_many([g, g], names=["same", "same"], flags=BITS_ONLY_FLAGS)


def test_argmax_softmax_mode():
    g = configure(
        op_zoo.unary(Op.SOFTMAX, SoftmaxAttrs(0), (7,)),
        {
            "model": {"default": "ap_fixed<10,4>"},
            "op_type": {"Softmax": {"softmax_mode": "argmax"}},
        },
    )
    m = compile(g, name="argmax_softmax", flags=BITS_ONLY_FLAGS)
    x = op_zoo.random_inputs(g, 50, seed=4)
    assert_same_as_emulator(m, g, x, "argmax softmax")
    y = m.predict(x)
    assert set(np.unique(y)) <= {0.0, 1.0} and np.all(y.sum(axis=1) == 1)
