"""NUL and other control characters in ONNX node, tensor and model names (issue 15: a NUL broke
the CPU backend and cut its error message). Names are data: every engine runs such a model,
and every error message shows the whole name, control characters escaped."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import hlsforge
from hlsforge import cpp_names, cpu_backend, reference
from hlsforge.errors import HlsforgeError, ModelFormatError
from hlsforge.hls_backend import compile as csim_compile
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure

NODE = "fc\x00evil\n\r\t\x1b[31m\x7f\x85*/ \"'\\??=\u2028tail"
IN, OUT, W, B, H = "in\x00put", "out\x00\x0b", "W\x00\x01", "B\x00", "h\x00\x02"
MODEL = "mo\x00del\x07\x1b"


def hostile_model(unsupported: bool = False) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Gemm", [IN, W, B], [H], name=NODE),
        helper.make_node("Selu" if unsupported else "Relu", [H], [OUT], name="act\x00\x1f"),
    ]
    if unsupported:
        nodes[1] = helper.make_node("Hardmax", [H], [OUT], name="bad\x00op\x1b[2J")
    graph = helper.make_graph(
        nodes, MODEL,
        [helper.make_tensor_value_info(IN, TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info(OUT, TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), W),
                     numpy_helper.from_array(rng.normal(size=(3,)).astype(np.float32), B)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    return model


def _no_control(text: str) -> None:
    bad = [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]
    assert not bad, (bad, text)


def test_printable_escapes_control_characters_only():
    assert cpp_names.printable("plain name/with:punct é") == "plain name/with:punct é"
    text = cpp_names.printable(NODE)
    _no_control(text.replace("\n", "").replace("\t", ""))
    assert "\\x00" in text and "\\x1b" in text and "\\x7f" in text and text.endswith("tail")
    assert "\n" not in text and "\t" not in text and "\u2028" not in text


def test_every_engine_runs_a_model_with_control_characters_in_names():
    model = hostile_model()
    g = hlsforge.load(model)
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    want = reference.run(g, x)
    onnx_dense = x @ numpy_helper.to_array(model.graph.initializer[0]) + numpy_helper.to_array(model.graph.initializer[1])
    np.testing.assert_allclose(want, np.maximum(onnx_dense, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(reference.run(g, {IN: x}), want)

    cpu = cpu_backend.compile(g)
    np.testing.assert_allclose(cpu.predict(x), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cpu.predict({IN: x}), want, rtol=1e-5, atol=1e-5)
    _no_control(repr(cpu))
    files = cpu_backend.generate(g)
    for name, content in files.items():
        _no_control(name)
        if isinstance(content, str):
            _no_control(content.replace("\n", ""))

    q = configure(g, "ap_fixed<16,6>")
    sim = csim_compile(q, flags=("-O0", "-std=c++17"))
    np.testing.assert_array_equal(sim.predict(x), emulate.run(q, x))
    traced, want_trace = sim.trace(x), emulate.run(q, x, trace=True).outputs
    assert list(traced) == list(want_trace) and NODE in traced  # keyed by the source names
    for key, value in want_trace.items():
        np.testing.assert_array_equal(traced[key], value, err_msg=repr(key))


def test_weight_file_errors_show_the_whole_name(tmp_path):
    g = hlsforge.load(hostile_model())
    cpu = cpu_backend.compile(g)
    other = hlsforge.load(model_with_other_weights())
    foreign = tmp_path / "foreign.weights"
    foreign.write_bytes(cpu_backend.generate(other, name="x")["x.weights"])
    with pytest.raises(ModelFormatError) as err:
        cpu.with_weights(foreign)
    text = str(err.value)
    _no_control(text.replace("\n", ""))
    assert str(foreign) in text
    assert "tail__kernel" in text and "mo\\x00del\\x07" in text  # whole names, escaped


def model_with_other_weights() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w_other"], ["y"], name="g")], "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "w_other")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    return model


def test_error_messages_escape_control_characters():
    with pytest.raises(HlsforgeError) as err:
        hlsforge.load(hostile_model(unsupported=True))
    text = str(err.value)
    _no_control(text.replace("\n", "").replace("\t", ""))
    assert "\x1b" not in text and "\x00" not in text
    # an error built from a name keeps everything after the NUL
    e = ModelFormatError(f"node {NODE} is bad")
    assert str(e).endswith("tail is bad") and "\\x00" in str(e)
