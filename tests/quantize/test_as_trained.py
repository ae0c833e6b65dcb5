"""``configure(graph)`` with no configuration: the model as trained.

Each quantized model's expected output comes from outside hlsforge:

- QKeras-v3 ``.keras`` archives: the ``predict`` output qkeras-v3 saved with them;
- the QKeras JSON + HDF5 jet tagger: the numpy QKeras formulas (``qk_numpy``);
- a Brevitas-style QONNX CNN (Quant nodes on input, weights and activations; max and average
  pooling, a concatenation, Flatten, Gemm): ONNX Runtime on the same graph with each ``Quant``
  rewritten as plain ONNX ``Div → Round → Clip → Mul`` (QONNX's formula; ONNX ``Round`` ties to
  even like QONNX's ``ROUND``). Inputs and weights lie on coarse grids, so float32 is exact.
"""

from __future__ import annotations

import json
import warnings
from itertools import product
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
from model_zoo import make_model, run_onnxruntime
from onnx import helper

import hlsforge
from hlsforge.errors import PrecisionError
from hlsforge.frontends.onnx import load_onnx
from hlsforge.ir import FixedType, Op
from hlsforge.quantize import configure, emulate
from hlsforge.quantize.as_trained import exact_value_type, union_type

DATA = Path(__file__).parents[1] / "frontends" / "keras" / "data"
RNG = np.random.default_rng(13)
QDOMAIN = "qonnx.custom_op.general"


# ----------------------------------------------------------------------------- type helpers


def test_exact_value_type_is_narrowest_and_exact() -> None:
    for vals in ([0.5, -0.25, 3.0], [1 / 16, 7 / 16], [96.0, -32.0], [0.0], [1e-3], [2.0**-20, 5.0]):
        t = exact_value_type(np.array(vals))
        if t is None:
            assert vals == [1e-3]  # 1e-3 needs far more than 32 bits
            continue
        raw = np.array(vals) * 2.0**t.frac
        assert np.all(raw == np.round(raw)) and raw.min() >= t.raw_min and raw.max() <= t.raw_max
        narrower = [FixedType(t.width - 1, t.integer - 1, t.signed), FixedType(t.width - 1, t.integer, t.signed)] \
            if t.width > 1 else []
        for n in narrower:  # one bit less cannot hold every value exactly
            r = np.array(vals) * 2.0**n.frac
            assert not (np.all(r == np.round(r)) and r.min() >= n.raw_min and r.max() <= n.raw_max)


def test_union_type_holds_every_value_of_each() -> None:
    for a, b in product([FixedType(6, 2, False), FixedType(8, 3), FixedType(4, 4)], repeat=2):
        u = union_type([a, b])
        for t in (a, b):
            assert float(u.min) <= float(t.min) and float(u.max) >= float(t.max) and u.frac >= t.frac


# ----------------------------------------------------------------------------- QKeras


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_qkeras_v3_archive_as_trained_is_exact(name: str) -> None:
    g = hlsforge.load(DATA / f"qkeras_v3_{name}.keras")
    io = np.load(DATA / f"qkeras_v3_{name}_io.npz")
    q = configure(g)  # no configuration at all: the input quantizer gives the input type
    assert q.values[q.inputs[0]].type == q.nodes[0].attrs.target
    np.testing.assert_array_equal(np.asarray(emulate.run(q, io["x"]), np.float32), io["y"])
    # off the grid too: the input cast *is* the model's input quantizer
    x = (RNG.normal(size=io["x"].shape) * 3).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(emulate.run(q, x), np.float64), np.asarray(hlsforge.reference.run(g, x), np.float64))


def _jet_tagger_files(tmp: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    """A QKeras (Keras 2) MLP saved as JSON + HDF5: no input quantizer, no output quantizer."""
    w = {"k1": (RNG.normal(size=(16, 12)) * 0.5).astype(np.float32), "b1": (RNG.normal(size=12) * 0.3).astype(np.float32),
         "k2": (RNG.normal(size=(12, 5)) * 0.5).astype(np.float32), "b2": (RNG.normal(size=5) * 0.3).astype(np.float32)}

    def qlayer(cls: str, name: str, **cfg: object) -> dict[str, object]:
        return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **cfg}}

    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 16], "dtype": "float32", "name": "inputs"}},
        qlayer("QDense", "fc1", units=12, activation="quantized_relu(6,2)", use_bias=True,
               kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)"),
        qlayer("QDense", "output", units=5, activation="linear", use_bias=True,
               kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)"),
    ]
    spec = {"class_name": "Sequential", "config": {"name": "jet", "layers": layers}, "keras_version": "2.11.0"}
    (tmp / "jet.json").write_text(json.dumps(spec))
    with h5py.File(tmp / "jet_weights.h5", "w") as f:
        f.attrs["layer_names"] = np.array([b"fc1", b"output"])
        f.attrs["keras_version"] = b"2.11.0"
        for lname, (k, b) in (("fc1", ("k1", "b1")), ("output", ("k2", "b2"))):
            grp = f.create_group(lname)
            grp.attrs["weight_names"] = np.array([f"{lname}/kernel:0".encode(), f"{lname}/bias:0".encode()])
            grp.create_dataset(f"{lname}/kernel:0", data=w[k])
            grp.create_dataset(f"{lname}/bias:0", data=w[b])
    return tmp / "jet.json", tmp / "jet_weights.h5", w


def test_qkeras_json_h5_needs_only_the_input_type(tmp_path: Path) -> None:
    from frontends.keras.qk_numpy import qk_bits, qk_relu

    jpath, wpath, w = _jet_tagger_files(tmp_path)
    g = hlsforge.load(jpath, weights=wpath)
    with pytest.raises(PrecisionError, match=r"input 'inputs'.*input="):
        configure(g)
    q = configure(g, input="ap_fixed<10,4>")
    x = (RNG.integers(-512, 512, size=(300, 16)) / 64.0).astype(np.float32)  # the ap_fixed<10,4> grid
    h = qk_relu(x.astype(np.float64) @ qk_bits(w["k1"], 6, 0) + qk_bits(w["b1"], 6, 0), 6, 2)
    want = h @ qk_bits(w["k2"], 6, 0) + qk_bits(w["b2"], 6, 0)
    np.testing.assert_array_equal(np.asarray(emulate.run(q, x), np.float64), want)
    # the old default would not be exact: results of layers without a quantizer are lossless now
    out = q.node("output")
    assert q.values[out.outputs[0]].type == out.precision["accum"]


def test_a_configuration_still_overrides(tmp_path: Path) -> None:
    jpath, wpath, _ = _jet_tagger_files(tmp_path)
    g = hlsforge.load(jpath, weights=wpath)
    q = configure(g, {"model": {"input": "ap_fixed<10,4>"}, "layers": {"output": {"result": "ap_fixed<12,5>"}}})
    assert q.values[q.node("output").outputs[0]].type == FixedType(12, 5)
    assert q.node("fc1_linear").precision["accum"] == q.values[q.node("fc1_linear").outputs[0]].type
    q = configure(g, {"model": {"default": "ap_fixed<16,6>", "input": "ap_fixed<10,4>"}})  # the old recipe
    assert q.values[q.node("output").outputs[0]].type == FixedType(16, 6)


# ----------------------------------------------------------------------------- QONNX (Brevitas-style)


def _quant(x: str, y: str, s: str, b: str, *, signed: int = 1, narrow: int = 0) -> onnx.NodeProto:
    return helper.make_node("Quant", [x, s, "zero", b], [y], domain=QDOMAIN, signed=signed, narrow=narrow,
                            rounding_mode="ROUND", name=f"{y}_quant")


def _plain(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same model with each QONNX ``Quant`` written out in standard ONNX ops."""
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    nodes = []
    for n in model.graph.node:
        if n.domain != QDOMAIN:
            nodes.append(n)
            continue
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        x, s, _, b = n.input
        bits = int(inits[b])
        lo = -(2 ** (bits - 1)) + a["narrow"] if a["signed"] else 0
        hi = 2 ** (bits - 1) - 1 if a["signed"] else 2**bits - 1 - a["narrow"]
        y = n.output[0]
        inits[f"{y}_lo"], inits[f"{y}_hi"] = np.float32(lo), np.float32(hi)
        nodes += [helper.make_node("Div", [x, s], [f"{y}_d"]), helper.make_node("Round", [f"{y}_d"], [f"{y}_r"]),
                  helper.make_node("Clip", [f"{y}_r", f"{y}_lo", f"{y}_hi"], [f"{y}_c"]),
                  helper.make_node("Mul", [f"{y}_c", s], [y])]
    inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    return make_model(nodes, inputs, inits)


def _brevitas_cnn() -> onnx.ModelProto:
    f = np.float32
    inits = {
        "zero": f(0), "s_in": f(1 / 8), "b_in": f(6), "w": (RNG.normal(size=(3, 2, 3, 3))).astype(f), "s_w": f(1 / 4),
        "b_w": f(4), "bias": (RNG.integers(-8, 8, 3) / 16).astype(f), "s_a": f(1 / 4), "b_a": f(5),
        "w2": (RNG.normal(size=(5, 6 * 3 * 3))).astype(f), "s_w2": f(1 / 8), "b_w2": f(5),
        "bias2": (RNG.integers(-8, 8, 5) / 8).astype(f),
    }
    nodes = [
        _quant("x", "xq", "s_in", "b_in"),
        _quant("w", "wq", "s_w", "b_w", narrow=1),
        helper.make_node("Conv", ["xq", "wq", "bias"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        _quant("r", "a", "s_a", "b_a", signed=0),
        helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="maxpool"),
        helper.make_node("AveragePool", ["a"], ["v"], kernel_shape=[2, 2], strides=[2, 2], name="avgpool"),
        helper.make_node("Concat", ["p", "v"], ["cat"], axis=1, name="cat"),
        helper.make_node("Flatten", ["cat"], ["fl"], axis=1, name="flat"),
        _quant("w2", "w2q", "s_w2", "b_w2"),
        helper.make_node("Gemm", ["fl", "w2q", "bias2"], ["y"], transB=1, name="fc"),
    ]
    m = make_model(nodes, {"x": ("N", 2, 6, 6)}, inits, opset=13)
    m.opset_import.append(helper.make_opsetid(QDOMAIN, 1))
    return m


def test_qonnx_brevitas_cnn_as_trained_equals_onnxruntime() -> None:
    model = _brevitas_cnn()
    g = load_onnx(model)
    ops = {n.op for n in g.nodes}
    assert {Op.MAXPOOL2D, Op.AVGPOOL2D, Op.CONCAT, Op.DENSE} <= ops
    q = configure(g)
    x = (RNG.integers(-300, 300, size=(40, 2, 6, 6)) / 32).astype(np.float32)  # off the 1/8 grid: rounds
    want = run_onnxruntime(_plain(model), x)
    np.testing.assert_array_equal(np.asarray(emulate.run(q, x), np.float32), want)


def test_hls4ml_style_qkeras_config_keeps_the_model_exact(tmp_path: Path) -> None:
    """An hls4ml per-layer config for a QKeras model (types from the quantizers, ``auto``
    results, as ``config_from_keras_model(granularity="name")`` writes them) changes nothing
    the model quantizes itself, and the ``auto`` results keep it exact."""
    from frontends.keras.qk_numpy import qk_bits, qk_relu

    jpath, wpath, w = _jet_tagger_files(tmp_path)
    g = hlsforge.load(jpath, weights=wpath)
    cfg = {
        "Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency", "BramFactor": 1000000000,
                  "TraceOutput": False},
        "LayerName": {
            "inputs": {"Trace": False, "Precision": {"result": "ap_fixed<10,4>"}},
            "fc1": {"Trace": False, "Precision": {"weight": "fixed<6,1,RND_CONV,SAT>", "bias": "fixed<6,1,RND_CONV,SAT>",
                                                  "result": "auto", "accum": "auto"}},
            "fc1_quantized_relu": {"Trace": False, "Precision": {"result": "ufixed<6,2,RND_CONV,SAT>"}},
            "output": {"Trace": False, "Precision": {"weight": "fixed<6,1,RND_CONV,SAT>", "bias": "fixed<6,1,RND_CONV,SAT>",
                                                     "result": "auto", "accum": "auto"}, "ReuseFactor": 2},
        },
    }
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        q = configure(g, cfg)
    assert not [str(r.message) for r in rec]  # every key understood; hls4ml's defaults are quiet
    assert q.values[q.inputs[0]].type == FixedType(10, 4)
    assert q.node("output").options["hls"].reuse_factor == 2
    x = (RNG.integers(-512, 512, size=(200, 16)) / 64.0).astype(np.float32)
    h = qk_relu(x.astype(np.float64) @ qk_bits(w["k1"], 6, 0) + qk_bits(w["b1"], 6, 0), 6, 2)
    want = h @ qk_bits(w["k2"], 6, 0) + qk_bits(w["b2"], 6, 0)
    np.testing.assert_array_equal(np.asarray(emulate.run(q, x), np.float64), want)
