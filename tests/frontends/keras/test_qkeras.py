"""QKeras quantizers → hlsforge types and nodes, checked quantizer by quantizer against an
independent numpy re-implementation of the QKeras formulas (``qk_numpy``), and QKeras models
(Keras 2 JSON + HDF5, as QKeras saves them) loaded without qkeras or TensorFlow.

Exactness is checked with ``assert_array_equal``: the mapped chain, evaluated with an
independent ap_fixed oracle, must give the very values QKeras' formula gives, ties included.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from qk_numpy import (
    fixed_cast,
    qk_binary,
    qk_bits,
    qk_po2,
    qk_relu,
    qk_relu_po2,
    qk_sigmoid,
    qk_tanh,
    qk_ternary,
    run_steps,
)

import hlsforge
from hlsforge.errors import ModelFormatError, UnsupportedOpError
from hlsforge.frontends.keras import qkeras
from hlsforge.ir import FixedType, Op, Overflow, Rounding

RNG = np.random.default_rng(11)
HAS_FIXED = importlib.util.find_spec("hlsforge.quantize.fixed") is not None
HAS_EMULATE = importlib.util.find_spec("hlsforge.quantize.emulate") is not None


def probe(lsb: float, span: float) -> np.ndarray:
    """Random values, every grid point, every tie between grid points, and far outliers."""
    k = np.arange(-span / lsb - 2, span / lsb + 3)
    return np.concatenate([RNG.normal(size=400) * span, k * lsb, (k + 0.5) * lsb, [-1e6, -span * 3, span * 3, 1e6, 0.0, -0.0]])


def parse(spec: Any) -> qkeras.Quantizer:
    q = qkeras.parse_quantizer(spec, where="test")
    assert q is not None
    return q


# ----------------------------------------------------------------------------- the mapping table

TYPE_TABLE = [
    ("quantized_bits(6,0,alpha=1)", FixedType(6, 1, True, Rounding.RND_CONV, Overflow.SAT)),
    ("quantized_bits(8,3)", FixedType(8, 4, True, Rounding.RND_CONV, Overflow.SAT)),
    ("quantized_bits(5,2,1)", FixedType(5, 3, True, Rounding.RND_CONV, Overflow.SAT_SYM)),
    ("quantized_bits(4,0,keep_negative=False)", FixedType(4, 0, False, Rounding.RND_CONV, Overflow.SAT)),
    ("quantized_bits(8,-2)", FixedType(8, -1, True, Rounding.RND_CONV, Overflow.SAT)),
    ("quantized_relu(6,0)", FixedType(6, 0, False, Rounding.RND_CONV, Overflow.SAT)),
    ("quantized_relu(4,2)", FixedType(4, 2, False, Rounding.RND_CONV, Overflow.SAT)),
    ("quantized_relu(8,3,negative_slope=0.25)", FixedType(8, 4, True, Rounding.RND_CONV, Overflow.SAT)),
    ("quantized_tanh(5)", FixedType(5, 1, True, Rounding.RND_CONV, Overflow.SAT)),
    ("quantized_tanh(4,symmetric=True)", FixedType(4, 1, True, Rounding.RND_CONV, Overflow.SAT_SYM)),
    ("quantized_sigmoid(5)", FixedType(5, 0, False, Rounding.RND_CONV, Overflow.SAT)),
]


@pytest.mark.parametrize("spec,want", TYPE_TABLE, ids=[t[0] for t in TYPE_TABLE])
def test_type_table(spec: str, want: FixedType) -> None:
    assert qkeras.quantizer_type(parse(spec), where="test") == want


ACT_CASES: list[tuple[str, Any, float, float]] = [
    # (quantizer, numpy formula, probe lsb, probe span)
    ("quantized_bits(6,0)", lambda x: qk_bits(x, 6, 0), 2**-5, 1),
    ("quantized_bits(8,3,alpha=1)", lambda x: qk_bits(x, 8, 3), 2**-4, 8),
    ("quantized_bits(5,2,1)", lambda x: qk_bits(x, 5, 2, 1), 2**-2, 4),
    ("quantized_bits(4,0,keep_negative=False)", lambda x: qk_bits(x, 4, 0, keep_negative=False), 2**-4, 1),
    ("quantized_bits(6,1,alpha=0.5)", lambda x: qk_bits(x, 6, 1, alpha=0.5), 2**-4, 2),
    ("quantized_bits(8,-2)", lambda x: qk_bits(x, 8, -2), 2**-9, 0.25),
    ("quantized_bits(1,0)", lambda x: qk_bits(x, 1, 0), 0.5, 2),
    ("quantized_relu(6,0)", lambda x: qk_relu(x, 6, 0), 2**-6, 1),
    ("quantized_relu(4,2)", lambda x: qk_relu(x, 4, 2), 2**-2, 4),
    ("quantized_relu(3,1)", lambda x: qk_relu(x, 3, 1), 2**-2, 2),
    ("quantized_relu(8,3,negative_slope=0.25)", lambda x: qk_relu(x, 8, 3, 0.25), 2**-4, 8),
    ("quantized_relu(6,1,0,0.5)", lambda x: qk_relu(x, 6, 1, 0.5), 2**-4, 2),
    ("quantized_tanh(5)", lambda x: qk_tanh(x, 5), 2**-4, 1.5),
    ("quantized_tanh(4,symmetric=True)", lambda x: qk_tanh(x, 4, True), 2**-3, 1.5),
    ("quantized_tanh(6,use_real_tanh=True)", lambda x: qk_tanh(x, 6, use_real_tanh=True), 2**-5, 3),
    ("quantized_sigmoid(5)", lambda x: qk_sigmoid(x, 5), 2**-4, 3),
    ("quantized_sigmoid(4,symmetric=True)", lambda x: qk_sigmoid(x, 4, True), 2**-3, 3),
    ("quantized_sigmoid(6,use_real_sigmoid=True)", lambda x: qk_sigmoid(x, 6, use_real_sigmoid=True), 2**-5, 6),
    ("binary()", lambda x: qk_binary(x), 0.25, 2),
    ("binary(use_01=True)", lambda x: qk_binary(x, use_01=True), 0.25, 2),
    ("binary(alpha=2)", lambda x: qk_binary(x, alpha=2.0), 0.25, 2),
    ("ternary(threshold=0.25)", lambda x: qk_ternary(x, threshold=0.25), 0.125, 1),
    ("ternary(alpha=0.5,threshold=0.5)", lambda x: qk_ternary(x, alpha=0.5, threshold=0.5), 0.125, 2),
]


@pytest.mark.parametrize("spec,formula,lsb,span", ACT_CASES, ids=[c[0] for c in ACT_CASES])
def test_activation_quantizer_exact(spec: str, formula: Any, lsb: float, span: float) -> None:
    steps = qkeras.activation_steps(parse(spec), where="test")
    x = probe(lsb, span)
    np.testing.assert_array_equal(run_steps(x, steps), formula(x))


def test_dict_and_string_forms_agree() -> None:
    d = {"class_name": "quantized_bits", "config": {"bits": 6, "integer": 0, "symmetric": 0, "alpha": 1,
                                                     "keep_negative": True, "use_stochastic_rounding": False,
                                                     "qnoise_factor": 1.0}}
    assert dict(parse(d).params) == dict(parse("quantized_bits(6, 0, 0, alpha=1)").params)
    assert parse("binary").kind == "binary"


def test_nonpo2_alpha_and_threshold_warn() -> None:
    with pytest.warns(UserWarning, match="not bit-exact"):
        steps = qkeras.activation_steps(parse("quantized_bits(6,0,alpha=0.7)"), where="layer 'q'")
    assert steps[-1].op == Op.MUL and steps[-1].const == 0.7
    with pytest.warns(UserWarning, match="threshold"):
        steps = qkeras.activation_steps(parse("ternary()"), where="test")
    x = RNG.normal(size=1000)
    x = x[np.abs(np.abs(x) - 0.33) > 1e-6]  # away from the threshold the mapping is exact
    np.testing.assert_array_equal(run_steps(x, steps), qk_ternary(x))


@pytest.mark.parametrize(
    "spec,msg",
    [
        ("quantized_bits(4,0,alpha='auto_po2')", "alpha='auto_po2'"),
        ("quantized_bits(4,0,qnoise_factor=0.5)", "qnoise_factor"),
        ("quantized_ulaw(8,0)", "not supported"),
        ("quantized_relu(4,0,use_sigmoid=1)", "use_sigmoid"),
        ("quantized_po2(4)", "not a fixed-point cast"),
    ],
)
def test_activation_errors(spec: str, msg: str) -> None:
    with pytest.raises(UnsupportedOpError, match=msg):
        qkeras.activation_steps(parse(spec), where="layer 'q'")


def test_malformed_quantizer() -> None:
    with pytest.raises(ModelFormatError, match="cannot parse"):
        parse("quantized_bits(4,")
    with pytest.raises(ModelFormatError, match="unknown arguments"):
        parse("quantized_bits(4, colour=1)")


# ----------------------------------------------------------------------------- weights

W_CASES: list[tuple[str, Any]] = [
    ("quantized_bits(6,0,alpha=1)", lambda w: qk_bits(w, 6, 0)),
    ("quantized_bits(4,1,1)", lambda w: qk_bits(w, 4, 1, 1)),
    ("quantized_bits(5,0,alpha=4)", lambda w: qk_bits(w, 5, 0, alpha=4.0)),
    ("quantized_bits(3,0,keep_negative=0)", lambda w: qk_bits(w, 3, 0, keep_negative=False)),
    ("quantized_bits(1,0)", lambda w: qk_bits(w, 1, 0)),
    ("quantized_relu(4,1)", lambda w: qk_relu(w, 4, 1)),
    ("quantized_po2(4)", lambda w: qk_po2(w, 4)),
    ("quantized_po2(5,1)", lambda w: qk_po2(w, 5, 1.0)),
    ("quantized_po2(6,4,quadratic_approximation=True)", lambda w: qk_po2(w, 6, 4.0, True)),
    ("quantized_po2(4,log2_rounding='floor')", lambda w: qk_po2(w, 4, log2_rounding="floor")),
    ("quantized_relu_po2(4)", lambda w: qk_relu_po2(w, 4)),
    ("quantized_relu_po2(4,2,0.5)", lambda w: qk_relu_po2(w, 4, 2.0, 0.5)),
    ("binary()", lambda w: qk_binary(w)),
    ("binary(use_01=1)", lambda w: qk_binary(w, use_01=True)),
    ("ternary()", lambda w: qk_ternary(w)),
    ("ternary(alpha=2,threshold=0.1)", lambda w: qk_ternary(w, 2.0, 0.1)),
]


@pytest.mark.parametrize("spec,formula", W_CASES, ids=[c[0] for c in W_CASES])
def test_weight_quantizer_exact_and_typed(spec: str, formula: Any) -> None:
    w = (RNG.normal(size=(40, 7)) * 0.6).astype(np.float32)
    w[0, :4] = [0.0, 2**-6, -(2**-6), 0.5]  # exact zero, ties, a power of two
    qw = qkeras.quantize_weights(parse(spec), w, where="test")
    np.testing.assert_array_equal(qw.values, formula(w.astype(np.float64)))
    assert qw.scale is None and qw.type is not None
    # every value is exactly representable in the recorded type
    np.testing.assert_array_equal(fixed_cast(qw.values, qw.type), qw.values)


def test_weight_nonpo2_alpha_leaves_scale() -> None:
    w = RNG.normal(size=(5, 3))
    with pytest.warns(UserWarning, match="not bit-exact"):
        qw = qkeras.quantize_weights(parse("quantized_bits(6,0,alpha=0.75)"), w, where="test")
    assert qw.scale == 0.75
    np.testing.assert_array_equal(qw.values * 0.75, qk_bits(w, 6, 0, alpha=0.75))


# ----------------------------------------------------------------------------- QKeras models

K2 = "2.11.0"


def qlayer(cls: str, name: str, **cfg: Any) -> dict[str, Any]:
    return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **cfg}}


def qbits_dict(bits: int, integer: int, alpha: Any = 1) -> dict[str, Any]:
    return {"class_name": "quantized_bits", "config": {"bits": bits, "integer": integer, "symmetric": 0, "alpha": alpha,
                                                       "keep_negative": True, "use_stochastic_rounding": False, "qnoise_factor": 1.0}}


def write(tmp: Path, layers: list[dict[str, Any]], weights: dict[str, list[tuple[str, np.ndarray]]]) -> tuple[Path, Path]:
    spec = {"class_name": "Sequential", "config": {"name": "qmodel", "layers": layers}, "keras_version": K2, "backend": "tensorflow"}
    (tmp / "qmodel.json").write_text(json.dumps(spec))
    with h5py.File(tmp / "qmodel_weights.h5", "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in weights])
        f.attrs["keras_version"] = K2.encode()
        for lname, ws in weights.items():
            g = f.create_group(lname)
            g.attrs["weight_names"] = np.array([wn.encode() for wn, _ in ws], dtype="S")
            for wn, arr in ws:
                g.create_dataset(wn, data=arr)
    return tmp / "qmodel.json", tmp / "qmodel_weights.h5"


def load_pair(paths: tuple[Path, Path]) -> hlsforge.Graph:
    return hlsforge.load(paths[0], weights=paths[1])


@pytest.fixture(scope="module")
def jet_tagger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """hls4ml-style fully quantized MLP: 16 → 12 → 5, as QKeras serializes it."""
    k1, b1 = (RNG.normal(size=(16, 12)) * 0.5).astype(np.float32), (RNG.normal(size=12) * 0.3).astype(np.float32)
    k2, b2 = (RNG.normal(size=(12, 5)) * 0.5).astype(np.float32), (RNG.normal(size=5) * 0.3).astype(np.float32)
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 16], "dtype": "float32", "name": "inputs"}},
        qlayer("QDense", "fc1", units=12, activation="linear", use_bias=True,
               kernel_quantizer="quantized_bits(4,0,alpha=1)", bias_quantizer="quantized_bits(4,0,alpha=1)",
               kernel_range=None, bias_range=None),
        qlayer("QActivation", "relu1", activation="quantized_relu(5,2)"),
        qlayer("QDense", "output", units=5, activation="linear", use_bias=True,
               kernel_quantizer=qbits_dict(6, 0), bias_quantizer=qbits_dict(6, 0)),
        qlayer("QActivation", "out_q", activation=qbits_dict(8, 3)),
    ]
    weights = {
        "fc1": [("fc1/kernel:0", k1), ("fc1/bias:0", b1)], "relu1": [],
        "output": [("output/kernel:0", k2), ("output/bias:0", b2)], "out_q": [],
    }
    jpath, wpath = write(tmp_path_factory.mktemp("qkeras"), layers, weights)
    # inputs on a coarse grid so every product and sum is exact in float32 and float64
    x = (RNG.integers(-16, 17, size=(64, 16)) / 8.0).astype(np.float32)
    k1q, b1q, k2q, b2q = qk_bits(k1, 4, 0), qk_bits(b1, 4, 0), qk_bits(k2, 6, 0), qk_bits(b2, 6, 0)
    h = qk_relu(x.astype(np.float64) @ k1q + b1q, 5, 2)
    want = qk_bits(h @ k2q + b2q, 8, 3)
    return {"json": jpath, "weights": wpath, "x": x, "want": want, "kernels": (k1q, b1q, k2q, b2q)}


def test_qkeras_model_structure(jet_tagger: dict[str, Any]) -> None:
    g = hlsforge.load(jet_tagger["json"], weights=jet_tagger["weights"])
    k1q, b1q, k2q, b2q = jet_tagger["kernels"]
    dense = [n for n in g.nodes if n.op == Op.DENSE]
    assert len(dense) == 2
    for node, (kq, bq, t) in zip(dense, [(k1q, b1q, FixedType(4, 1, True, Rounding.RND_CONV, Overflow.SAT)),
                                         (k2q, b2q, FixedType(6, 1, True, Rounding.RND_CONV, Overflow.SAT))], strict=True):
        kv, bv = g.values[node.inputs[1]], g.values[node.inputs[2]]
        np.testing.assert_array_equal(kv.data, kq)
        np.testing.assert_array_equal(bv.data, bq)
        assert kv.type == t and bv.type == t
    quants = [n for n in g.nodes if n.op == Op.QUANTIZE]
    assert [n.attrs.target for n in quants] == [
        FixedType(5, 2, False, Rounding.RND_CONV, Overflow.SAT),
        FixedType(8, 4, True, Rounding.RND_CONV, Overflow.SAT),
    ]
    assert [n.source_name for n in quants] == ["relu1", "out_q"]


@pytest.mark.skipif(not HAS_FIXED, reason="hlsforge.quantize.fixed (used by the reference for Quantize) is not there yet")
def test_qkeras_model_reference_matches_numpy_qkeras(jet_tagger: dict[str, Any]) -> None:
    from hlsforge import reference

    g = hlsforge.load(jet_tagger["json"], weights=jet_tagger["weights"])
    np.testing.assert_array_equal(reference.run(g, jet_tagger["x"]), jet_tagger["want"].astype(np.float32))


@pytest.mark.skipif(not HAS_EMULATE, reason="hlsforge.quantize.emulate is not there yet")
def test_qkeras_model_emulate_matches_numpy_qkeras(jet_tagger: dict[str, Any]) -> None:
    from hlsforge.quantize import emulate
    from hlsforge.quantize.config import configure

    g = hlsforge.load(jet_tagger["json"], weights=jet_tagger["weights"])
    # inputs are multiples of 1/8 in [-2, 2]; Dense results wide enough to be exact, so the
    # only rounding is QKeras' own (the Quantize nodes and the typed weights)
    q = configure(g, {"model": {"default": "ap_fixed<32,12>", "input": "ap_fixed<8,3>", "accum": "auto"}})
    for node in q.nodes:
        if node.op == Op.DENSE:  # weight types recorded by the frontend are kept
            assert q.values[node.inputs[1]].type == g.values[node.inputs[1]].type
    np.testing.assert_array_equal(np.asarray(emulate.run(q, jet_tagger["x"]), np.float64), jet_tagger["want"])


def test_qkeras_conv_bn_model(tmp_path: Path) -> None:
    """QConv2D + QBatchNormalization (default po2 quantizers) + QDepthwiseConv2D + quantized
    activation inside a layer: weights quantized exactly, BN built from quantized parameters."""
    kc, bc = (RNG.normal(size=(3, 3, 2, 4)) * 0.5).astype(np.float32), (RNG.normal(size=4) * 0.2).astype(np.float32)
    gamma, beta = RNG.uniform(0.5, 2, 4).astype(np.float32), (RNG.normal(size=4)).astype(np.float32)
    mean, var = RNG.normal(size=4).astype(np.float32), RNG.uniform(0.2, 3, 4).astype(np.float32)
    kd, bd = (RNG.normal(size=(3, 3, 4, 1)) * 0.5).astype(np.float32), (RNG.normal(size=4) * 0.2).astype(np.float32)
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8, 8, 2], "dtype": "float32", "name": "img"}},
        qlayer("QConv2D", "conv", filters=4, kernel_size=[3, 3], strides=[1, 1], padding="same", data_format="channels_last",
               dilation_rate=[1, 1], groups=1, activation="quantized_relu(6,2)", use_bias=True,
               kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)"),
        qlayer("QBatchNormalization", "bn", axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True),
        qlayer("QDepthwiseConv2D", "dw", kernel_size=[3, 3], strides=[1, 1], padding="valid", depth_multiplier=1,
               data_format="channels_last", dilation_rate=[1, 1], activation="linear", use_bias=True,
               depthwise_quantizer="binary(alpha=0.5)", bias_quantizer="quantized_bits(8,2)"),
    ]
    weights = {
        "conv": [("conv/kernel:0", kc), ("conv/bias:0", bc)],
        "bn": [("bn/gamma:0", gamma), ("bn/beta:0", beta), ("bn/moving_mean:0", mean), ("bn/moving_variance:0", var)],
        "dw": [("dw/depthwise_kernel:0", kd), ("dw/bias:0", bd)],
    }
    g = load_pair(write(tmp_path, layers, weights))
    conv = g.node("conv_conv")
    np.testing.assert_array_equal(g.values[conv.inputs[1]].data, qk_bits(kc.astype(np.float64), 6, 0))
    assert [n.op for n in g.nodes] == [Op.CONV2D, Op.QUANTIZE, Op.BATCHNORM, Op.CONV2D]
    bn = g.node("bn")
    qg, qb = qk_relu_po2(gamma.astype(np.float64), 6, 2048.0), qk_po2(beta.astype(np.float64), 5)
    qm, qv = qk_po2(mean.astype(np.float64), 5), qk_relu_po2(var.astype(np.float64), 6, quadratic_approximation=True)
    scale = qg / np.sqrt(qv + 0.001)
    np.testing.assert_allclose(g.values[bn.inputs[1]].data, scale, rtol=1e-7)
    np.testing.assert_allclose(g.values[bn.inputs[2]].data, qb - qm * scale, rtol=1e-6, atol=1e-7)
    dw = g.node("dw")
    assert dw.attrs.groups == 4
    kv = g.values[dw.inputs[1]]
    np.testing.assert_array_equal(kv.data.reshape(3, 3, 4, 1), qk_binary(kd.astype(np.float64), alpha=0.5))
    assert kv.type == FixedType(2, 1, True, Rounding.RND_CONV, Overflow.SAT)


def test_qkeras_auto_alpha_is_refused_with_layer_name(tmp_path: Path) -> None:
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "x"}},
        qlayer("QDense", "fc", units=2, activation="linear", use_bias=True,
               kernel_quantizer="quantized_bits(4,0,alpha='auto_po2')", bias_quantizer=None),
    ]
    paths = write(tmp_path, layers, {"fc": [("fc/kernel:0", np.ones((4, 2), np.float32)), ("fc/bias:0", np.zeros(2, np.float32))]})
    with pytest.raises(UnsupportedOpError, match=r"'fc'.*auto_po2"):
        load_pair(paths)


def test_qkeras_nonpo2_alpha_kernel_becomes_explicit_scale(tmp_path: Path) -> None:
    k, b = (RNG.normal(size=(4, 3)) * 0.5).astype(np.float32), (RNG.normal(size=3) * 0.1).astype(np.float32)
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "x"}},
        qlayer("QDense", "fc", units=3, activation="linear", use_bias=True,
               kernel_quantizer="quantized_bits(6,0,alpha=0.75)", bias_quantizer=None),
    ]
    paths = write(tmp_path, layers, {"fc": [("fc/kernel:0", k), ("fc/bias:0", b)]})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        g = load_pair(paths)
    assert any("not bit-exact" in str(r.message) for r in rec)
    assert [n.op for n in g.nodes] == [Op.DENSE, Op.MUL, Op.ADD]
    from hlsforge import reference

    x = RNG.normal(size=(6, 4)).astype(np.float32)
    want = x.astype(np.float64) @ qk_bits(k.astype(np.float64), 6, 0, alpha=0.75) + b
    np.testing.assert_allclose(reference.run(g, x), want, rtol=1e-5, atol=1e-5)
