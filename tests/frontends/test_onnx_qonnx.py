"""QONNX quantizers (``Quant``, ``IntQuant``, ``BipolarQuant``) through the ONNX frontend.

The expected values come from the QONNX formula written out below in numpy (float64), not
from hlsforge: ``y = scale * (clip(round(x / scale + zeropt), lo, hi) - zeropt)``. Every
value in these models (inputs chosen on a fine grid, power-of-two scales, small bit widths) is
exactly representable, so the float reference, the bit-exact emulator and the formula must
agree exactly. Layers without quantizers (ReduceMean, the float parts of a model) are checked
against ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from model_zoo import make_model, run_onnxruntime
from onnx import helper

from hlsforge import quantize, reference
from hlsforge.errors import UnsupportedOpError
from hlsforge.frontends.onnx import load_onnx
from hlsforge.frontends.qonnx import QONNX_DOMAINS
from hlsforge.ir import FixedType, Op, Overflow, Rounding

RNG = np.random.default_rng(2024)
DOMAIN = "qonnx.custom_op.general"
BATCH = 9

# ----------------------------------------------------------------------------- the QONNX formula


def _round(v: np.ndarray, mode: str) -> np.ndarray:
    if mode == "ROUND":  # ties to even
        return np.rint(v)
    if mode == "FLOOR":
        return np.floor(v)
    if mode == "DOWN":
        return np.trunc(v)
    raise ValueError(mode)


def qonnx_quant(x: np.ndarray, scale: float, bits: int, *, signed: bool = True, narrow: bool = False,
                mode: str = "ROUND", zeropt: float = 0.0) -> np.ndarray:
    """QONNX ``Quant``: scale, shift by the zero point, clamp to the integer range, round, undo."""
    lo = -(2 ** (bits - 1)) + int(narrow) if signed else 0
    hi = 2 ** (bits - 1) - 1 if signed else 2**bits - 1 - int(narrow)
    y = np.clip(np.asarray(x, np.float64) / scale + zeropt, lo, hi)
    return (_round(y, mode) - zeropt) * scale


def qonnx_bipolar(x: np.ndarray, scale: float) -> np.ndarray:
    return np.where(np.asarray(x, np.float64) >= 0, 1.0, -1.0) * scale


# ----------------------------------------------------------------------------- model builders


def quant(x: str, y: str, name: str, *, scale: str, bits: str, zeropt: str = "zero", op: str = "Quant",
          domain: str = DOMAIN, signed: int = 1, narrow: int = 0, mode: str = "ROUND") -> onnx.NodeProto:
    return helper.make_node(op, [x, scale, zeropt, bits], [y], name=name, domain=domain,
                            signed=signed, narrow=narrow, rounding_mode=mode)


def f32(v: float | Sequence[float]) -> np.ndarray:
    return np.asarray(v, dtype=np.float32)


def qmodel(nodes: list[onnx.NodeProto], inputs: dict[str, Sequence[int | str]], inits: dict[str, np.ndarray],
           *, opset: int = 13, domains: Sequence[str] = (DOMAIN,), outputs: Sequence[str] = ("y",)) -> onnx.ModelProto:
    """A model with QONNX nodes, importing their domains at opset 1 as QONNX exports do."""
    model = make_model(nodes, inputs, {"zero": f32(0.0), **inits}, opset, outputs)
    for d in domains:
        model.opset_import.append(helper.make_opsetid(d, 1))
    return model


def grid(shape: Sequence[int], step: float, span: float) -> np.ndarray:
    """Random multiples of ``step`` in ``[-span, span]``: exact float32 values with many ties."""
    k = RNG.integers(-int(span / step), int(span / step) + 1, size=shape)
    return (k * step).astype(np.float32)


# ----------------------------------------------------------------------------- activations

ACT_CASES = [
    # scale, bits, signed, narrow, mode
    (0.125, 6, 1, 0, "ROUND"),
    (0.25, 4, 1, 1, "ROUND"),
    (0.5, 5, 0, 0, "ROUND"),
    (2.0, 3, 1, 0, "FLOOR"),
    (2.0**-5, 8, 1, 1, "DOWN"),
    (1.0, 1, 0, 0, "ROUND"),
]


@pytest.mark.parametrize("scale,bits,signed,narrow,mode", ACT_CASES)
@pytest.mark.parametrize("op,domain", [("Quant", DOMAIN), ("IntQuant", DOMAIN), ("Quant", "onnx.brevitas"),
                                       ("Quant", "finn.custom_op.general")])
def test_quant_on_activation(op: str, domain: str, scale: float, bits: int, signed: int, narrow: int, mode: str) -> None:
    n = quant("x", "y", "act_q", scale="s", bits="b", op=op, domain=domain, signed=signed, narrow=narrow, mode=mode)
    model = qmodel([n], {"x": ("N", 40)}, {"s": f32(scale), "b": f32(bits)}, domains=(domain,))
    shape = model.graph.output[0].type.tensor_type.shape  # the checker wants a declared shape
    shape.dim.add().dim_param = "N"
    shape.dim.add().dim_value = 40
    onnx.checker.check_model(model)  # the QONNX domain is imported, so the model is valid ONNX
    g = load_onnx(model)
    assert [nd.op for nd in g.nodes] == [Op.QUANTIZE] and g.outputs == ["y"]
    assert g.nodes[0].source_name == "act_q" and g.nodes[0].source_op == op
    t = g.nodes[0].attrs.target
    assert (t.width, t.signed, t.lsb) == (bits, bool(signed), scale)
    # ties (k + 1/2) * scale, values beyond both ends of the range, and random ones
    k = np.arange(-(2**bits) - 2, 2**bits + 3, dtype=np.float64)
    x = np.concatenate([k * scale, (k + 0.5) * scale, [-1e6, 1e6]])
    fill = RNG.normal(size=40 * (x.size // 40 + 2) - x.size) * scale * 2**bits
    x = np.concatenate([x, fill]).reshape(-1, 40).astype(np.float32)
    want = qonnx_quant(x, scale, bits, signed=bool(signed), narrow=bool(narrow), mode=mode)
    np.testing.assert_array_equal(reference.run(g, x), want)


def test_bipolar_quant_on_activation() -> None:
    n = helper.make_node("BipolarQuant", ["x", "s"], ["y"], name="sign", domain=DOMAIN)
    g = load_onnx(qmodel([n], {"x": ("N", 12)}, {"s": f32(0.5)}))
    assert g.outputs == ["y"] and {nd.source_name for nd in g.nodes} == {"sign"}
    x = np.concatenate([RNG.normal(size=(BATCH - 1, 12)), [[0.0, -0.0, 1e-30, -1e-30, -1, 1, -0.5, 0.5, 3, -3, 7, -7]]])
    x = x.astype(np.float32)
    np.testing.assert_array_equal(reference.run(g, x), qonnx_bipolar(x, 0.5))


def test_missing_domain_import_reads_as_opset_1() -> None:
    """Some writers omit the QONNX domain's opset import; the frontend reads version 1."""
    n = quant("x", "y", "q", scale="s", bits="b")
    model = qmodel([n], {"x": ("N", 5)}, {"s": f32(0.25), "b": f32(4)}, domains=())
    g = load_onnx(model)
    x = grid((BATCH, 5), 1 / 8, 3)
    np.testing.assert_array_equal(reference.run(g, x), qonnx_quant(x, 0.25, 4))


# ----------------------------------------------------------------------------- weights


def weight_quant(w: str, out: str, name: str, scale: float, bits: int, **attrs) -> tuple[onnx.NodeProto, dict]:
    node = quant(w, out, name, scale=f"{name}_s", bits=f"{name}_b", **attrs)
    return node, {f"{name}_s": f32(scale), f"{name}_b": f32(bits)}


def test_quantized_weight_gemm_transB_brevitas_style() -> None:
    """Brevitas ``QuantLinear``: Quant on the (out, in) weight feeding ``Gemm(transB=1)``."""
    w = RNG.normal(size=(6, 10)).astype(np.float32)
    b = grid((6,), 1 / 16, 2)
    qn, qi = weight_quant("w", "wq", "w_quant", 0.125, 4, narrow=1)
    gemm = helper.make_node("Gemm", ["x", "wq", "b"], ["y"], name="fc", transB=1)
    g = load_onnx(qmodel([qn, gemm], {"x": ("N", 10)}, {"w": w, "b": b, **qi}))
    dense = [nd for nd in g.nodes if nd.op is Op.DENSE]
    assert len(dense) == 1 and len(g.nodes) == 1
    kernel = g.values[dense[0].inputs[1]]
    want_w = qonnx_quant(w, 0.125, 4, narrow=True)
    assert kernel.type == FixedType(4, 1, True, Rounding.RND_CONV, Overflow.SAT_SYM)
    np.testing.assert_array_equal(kernel.data, want_w.T)
    x = grid((BATCH, 10), 1 / 32, 4)
    np.testing.assert_array_equal(reference.run(g, x), x.astype(np.float64) @ want_w.T + b)


def test_quantized_weight_transpose_matmul_keeps_type() -> None:
    """torch-style ``Transpose`` between the quantized weight and ``MatMul`` keeps its type."""
    w = RNG.normal(size=(5, 8)).astype(np.float32) * 3
    qn, qi = weight_quant("w", "wq", "wq_node", 0.5, 5, mode="FLOOR")
    nodes = [qn, helper.make_node("Transpose", ["wq"], ["wt"], perm=[1, 0]),
             helper.make_node("MatMul", ["x", "wt"], ["y"], name="mm")]
    g = load_onnx(qmodel(nodes, {"x": ("N", 8)}, {"w": w, **qi}))
    (dense,) = g.nodes
    want_w = qonnx_quant(w, 0.5, 5, mode="FLOOR")
    assert g.values[dense.inputs[1]].type == FixedType(5, 4, True, Rounding.TRN, Overflow.SAT)
    x = grid((BATCH, 8), 1 / 4, 2)
    np.testing.assert_array_equal(reference.run(g, x), x.astype(np.float64) @ want_w.T)


def test_bipolar_weight() -> None:
    w = RNG.normal(size=(4, 6)).astype(np.float32)
    bq = helper.make_node("BipolarQuant", ["w", "s"], ["wq"], name="w_sign", domain=DOMAIN)
    mm = helper.make_node("MatMul", ["x", "wq"], ["y"])
    g = load_onnx(qmodel([bq, mm], {"x": ("N", 4)}, {"w": w, "s": f32(0.25)}))
    (dense,) = g.nodes
    kernel = g.values[dense.inputs[1]]
    assert kernel.type == FixedType(2, 0, True)
    np.testing.assert_array_equal(kernel.data, qonnx_bipolar(w, 0.25))
    x = grid((BATCH, 4), 1 / 8, 2)
    np.testing.assert_array_equal(reference.run(g, x), x.astype(np.float64) @ qonnx_bipolar(w, 0.25))


def test_quantized_cnn_against_onnxruntime() -> None:
    """Quant → Conv(quantized W) → Relu → unsigned Quant on NCHW maps, against ORT running the
    same float model on the formula's quantized input and weights."""
    w = RNG.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b = grid((4,), 1 / 16, 1)
    nodes = [
        quant("x", "xq", "in_q", scale="s_in", bits="b_in"),
        quant("w", "wq", "w_q", scale="s_w", bits="b_w", narrow=1),
        helper.make_node("Conv", ["xq", "wq", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        quant("r", "y", "out_q", scale="s_out", bits="b_out", signed=0),
    ]
    inits = {"w": w, "b": b, "s_in": f32(1 / 16), "b_in": f32(8), "s_w": f32(1 / 8), "b_w": f32(4),
             "s_out": f32(1 / 4), "b_out": f32(5)}
    g = load_onnx(qmodel(nodes, {"x": ("N", 3, 6, 6)}, inits))
    conv = next(nd for nd in g.nodes if nd.op is Op.CONV2D)
    assert g.values[conv.inputs[1]].type == FixedType(4, 1, True, Rounding.RND_CONV, Overflow.SAT_SYM)
    x = grid((BATCH, 3, 6, 6), 1 / 64, 9)
    float_part = make_model([nodes[2], nodes[3]], {"xq": ("N", 3, 6, 6)},
                            {"wq": qonnx_quant(w, 1 / 8, 4, narrow=True).astype(np.float32), "b": b}, outputs=("r",))
    r = run_onnxruntime(float_part, qonnx_quant(x, 1 / 16, 8).astype(np.float32))
    np.testing.assert_array_equal(reference.run(g, x), qonnx_quant(r, 1 / 4, 5, signed=False))


def test_quantized_weights_keep_their_type_through_the_passes() -> None:
    """Conv → Flatten → Gemm permutes the Gemm kernel's rows (channels-first flatten order) and
    MatMul + Add folds the added vector into the bias: both keep the model's fixed-point type."""
    w = RNG.normal(size=(4, 2, 3, 3)).astype(np.float32)
    w2 = RNG.normal(size=(3, 4 * 4 * 4)).astype(np.float32)
    w3 = RNG.normal(size=(3, 2)).astype(np.float32)
    b3 = RNG.normal(size=(2,)).astype(np.float32)
    nodes = [
        quant("w", "wq", "w_q", scale="s", bits="b"),
        helper.make_node("Conv", ["x", "wq"], ["c"], name="conv"),
        quant("c", "cq", "c_q", scale="s", bits="b"),
        helper.make_node("Flatten", ["cq"], ["f"]),
        quant("w2", "w2q", "w2_q", scale="s", bits="b"),
        helper.make_node("Gemm", ["f", "w2q"], ["h"], name="fc", transB=1),
        quant("w3", "w3q", "w3_q", scale="s", bits="b"),
        helper.make_node("MatMul", ["h", "w3q"], ["m"], name="fc2"),
        quant("b3", "b3q", "b3_q", scale="s_b", bits="b_b"),
        helper.make_node("Add", ["m", "b3q"], ["y"], name="fc2_bias"),
    ]
    inits = {"w": w, "w2": w2, "w3": w3, "b3": b3, "s": f32(0.25), "b": f32(4), "s_b": f32(2.0**-6), "b_b": f32(16)}
    g = load_onnx(qmodel(nodes, {"x": ("N", 2, 6, 6)}, inits))
    t4 = FixedType(4, 2, True, Rounding.RND_CONV, Overflow.SAT)
    fc, fc2 = (nd for nd in g.nodes if nd.op is Op.DENSE)
    assert g.values[fc.inputs[1]].type == t4 and g.values[fc2.inputs[1]].type == t4
    assert g.values[fc2.inputs[2]].type == FixedType(16, 10, True, Rounding.RND_CONV, Overflow.SAT)
    np.testing.assert_array_equal(g.values[fc2.inputs[2]].data, qonnx_quant(b3, 2.0**-6, 16))
    x = grid((BATCH, 2, 6, 6), 1 / 8, 2)
    conv_part = make_model([nodes[1]], {"x": ("N", 2, 6, 6)}, {"wq": qonnx_quant(w, 0.25, 4).astype(np.float32)},
                           outputs=("c",))
    cq = qonnx_quant(run_onnxruntime(conv_part, x), 0.25, 4).reshape(BATCH, -1)
    h = cq @ qonnx_quant(w2, 0.25, 4).T
    want = h @ qonnx_quant(w3, 0.25, 4) + qonnx_quant(b3, 2.0**-6, 16)
    np.testing.assert_array_equal(reference.run(g, x), want.astype(np.float32))


# ----------------------------------------------------------------------------- quantized pipeline


def quantized_mlp() -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """Quant(input) → Gemm(Quant(W1), transB) → Relu → Quant(unsigned) → Transpose(Quant(W2)) MatMul + b2."""
    p = {"w1": RNG.normal(size=(12, 10)).astype(np.float32), "b1": grid((12,), 1 / 16, 1),
         "w2": RNG.normal(size=(3, 12)).astype(np.float32) * 2, "b2": grid((3,), 1 / 8, 1)}
    nodes = [
        quant("x", "xq", "in_q", scale="s_in", bits="b_in"),
        quant("w1", "w1q", "w1_q", scale="s_w1", bits="b_w1", narrow=1),
        helper.make_node("Gemm", ["xq", "w1q", "b1"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["hr"], name="relu1"),
        quant("hr", "hq", "act_q", scale="s_h", bits="b_h", signed=0, mode="FLOOR"),
        quant("w2", "w2q", "w2_q", scale="s_w2", bits="b_w2"),
        helper.make_node("Transpose", ["w2q"], ["w2t"], perm=[1, 0]),
        helper.make_node("MatMul", ["hq", "w2t"], ["m"], name="fc2"),
        helper.make_node("Add", ["m", "b2"], ["y"], name="fc2_bias"),
    ]
    inits = {**p, "s_in": f32(1 / 16), "b_in": f32(7), "s_w1": f32(1 / 8), "b_w1": f32(4),
             "s_h": f32(1 / 4), "b_h": f32(4), "s_w2": f32(1 / 2), "b_w2": f32(3)}
    return qmodel(nodes, {"x": ("N", 10)}, inits), p


def mlp_formula(x: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    xq = qonnx_quant(x, 1 / 16, 7)
    h = np.maximum(xq @ qonnx_quant(p["w1"], 1 / 8, 4, narrow=True).T + p["b1"], 0)
    hq = qonnx_quant(h, 1 / 4, 4, signed=False, mode="FLOOR")
    return hq @ qonnx_quant(p["w2"], 1 / 2, 3).T + p["b2"]


def test_quantized_mlp_reference_and_emulator_equal_the_formula() -> None:
    model, p = quantized_mlp()
    g = load_onnx(model)
    assert [nd.op for nd in g.nodes] == [Op.QUANTIZE, Op.DENSE, Op.RELU, Op.QUANTIZE, Op.DENSE]
    x = grid((64, 10), 1 / 64, 5)
    x[0, :4] = [1 / 32, 3 / 32, -1 / 32, 100.0]  # ties to even and saturation at the input quantizer
    want = mlp_formula(x, p)
    np.testing.assert_array_equal(reference.run(g, x), want)
    # Lossless widths everywhere the model has no quantizer; the Dense weight type in the config
    # is far too narrow and must not apply, because the model quantized its weights itself.
    cfg = {"model": {"default": "ap_fixed<40,20>", "input": "ap_fixed<32,16>", "accum": "auto"},
           "op_type": {"Dense": {"weight": "ap_fixed<2,1>"}}}
    q = quantize.configure(g, cfg)
    dense = [nd for nd in q.nodes if nd.op is Op.DENSE]
    assert [q.values[nd.inputs[1]].type for nd in dense] == [
        FixedType(4, 1, True, Rounding.RND_CONV, Overflow.SAT_SYM), FixedType(3, 2, True, Rounding.RND_CONV, Overflow.SAT)]
    assert q.values[q.nodes[3].outputs[0]].type == FixedType(4, 2, False, Rounding.TRN, Overflow.SAT)
    np.testing.assert_array_equal(quantize.emulate.run(q, x), want)


# ----------------------------------------------------------------------------- unsupported


@pytest.mark.parametrize("on_weight", [False, True])
@pytest.mark.parametrize("scale,zeropt,msg", [(0.3, 0.0, "not a power of two"), (0.25, 1.0, "zero point")])
def test_unsupported_quantizers_name_the_node(on_weight: bool, scale: float, zeropt: float, msg: str) -> None:
    n = quant("w" if on_weight else "x", "q", "bad_quant", scale="s", bits="b", zeropt="zp")
    nodes = [n, helper.make_node("MatMul", ["x", "q"], ["y"]) if on_weight else helper.make_node("Relu", ["q"], ["y"])]
    inits = {"s": f32(scale), "b": f32(8), "zp": f32(zeropt), "w": RNG.normal(size=(4, 4)).astype(np.float32)}
    with pytest.raises(UnsupportedOpError, match=msg) as e:
        load_onnx(qmodel(nodes, {"x": ("N", 4)}, inits))
    assert "'bad_quant'" in str(e.value)


def test_unsupported_qonnx_op_and_opset_name_the_node() -> None:
    trunc = helper.make_node("Trunc", ["x", "s", "zero", "b", "b"], ["y"], name="the_trunc", domain=DOMAIN)
    with pytest.raises(UnsupportedOpError, match=r"'the_trunc'.*Trunc.*supported: Quant, IntQuant, BipolarQuant"):
        load_onnx(qmodel([trunc], {"x": ("N", 4)}, {"s": f32(1.0), "b": f32(4)}))
    model = qmodel([quant("x", "y", "newer", scale="s", bits="b")], {"x": ("N", 4)}, {"s": f32(1.0), "b": f32(4)},
                   domains=())
    model.opset_import.append(helper.make_opsetid(DOMAIN, 2))
    with pytest.raises(UnsupportedOpError, match="'newer'.*opset 2"):
        load_onnx(model)


def test_scale_computed_from_the_input_is_unsupported() -> None:
    nodes = [helper.make_node("Relu", ["x"], ["s"]), quant("x", "y", "dyn_scale", scale="s", bits="b")]
    with pytest.raises(UnsupportedOpError, match="'dyn_scale'.*scale.*constant"):
        load_onnx(qmodel(nodes, {"x": ("N", 4)}, {"b": f32(4)}))


def test_other_custom_domains_still_rejected() -> None:
    n = helper.make_node("Quant", ["x"], ["y"], name="foreign", domain="com.example")
    with pytest.raises(UnsupportedOpError, match=r"'foreign'.*com\.example.*not supported"):
        load_onnx(qmodel([n], {"x": ("N", 4)}, {}, domains=("com.example",)))
    assert DOMAIN in QONNX_DOMAINS


# ----------------------------------------------------------------------------- ReduceMean


REDUCE_CASES = {
    "nchw_keepdims": ((3, 5, 4), dict(axes=[2, 3]), 13),
    "nchw_no_keepdims_negative_axes": ((3, 5, 4), dict(axes=[-1, -2], keepdims=0), 13),
    "ncl_keepdims": ((4, 7), dict(axes=[2]), 11),
    "nhwc_tf2onnx": ((5, 4, 3), dict(axes=[1, 2], keepdims=0), 13),
    "nhwc_keepdims": ((5, 4, 3), dict(axes=[1, 2]), 13),
    "opset18_axes_input": ((3, 5, 4), dict(axes_input=[2, 3]), 18),
    "opset18_no_keepdims": ((3, 5, 4), dict(axes_input=[2, 3], keepdims=0), 18),
}


@pytest.mark.parametrize("case", list(REDUCE_CASES))
def test_reduce_mean_is_global_avgpool(case: str) -> None:
    shape, attrs, opset = REDUCE_CASES[case]
    attrs = dict(attrs)
    inits: dict[str, np.ndarray] = {}
    inputs = ["x"]
    if "axes_input" in attrs:
        inits["axes"] = np.array(attrs.pop("axes_input"), np.int64)
        inputs.append("axes")
    # a Conv in front so the channels-first case runs between two layout changes
    c = shape[0]
    nodes = [helper.make_node("Conv", ["x", "cw"], ["c"], pads=[1] * (2 * (len(shape) - 1))),
             helper.make_node("ReduceMean", ["c", *inputs[1:]], ["y"], name="mean", **attrs)]
    inits["cw"] = RNG.normal(size=(c, c) + (3,) * (len(shape) - 1)).astype(np.float32)
    if case.startswith("nhwc"):  # the mean runs on an NHWC tensor: no Conv, a plain input
        nodes = nodes[1:]
        nodes[0].input[0] = "x"
        del inits["cw"]
    model = make_model(nodes, {"x": ("N", *shape)}, inits, opset)
    g = load_onnx(model)
    assert Op.GLOBAL_AVGPOOL in [nd.op for nd in g.nodes]
    x = RNG.normal(size=(BATCH, *shape)).astype(np.float32)
    want = run_onnxruntime(model, x)
    got = reference.run(g, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# (other non-batch axes are supported since issue 12: tests/frontends/test_onnx_reduce.py)
@pytest.mark.parametrize("axes,opset", [([0, 2, 3], 13), (None, 13), ([], 18)])
def test_reduce_mean_other_axes_unsupported(axes: list[int] | None, opset: int) -> None:
    attrs: dict = {}
    inits: dict[str, np.ndarray] = {}
    ins = ["x"]
    if opset >= 18:
        inits["axes"] = np.array(axes, np.int64)
        ins.append("axes")
    elif axes is not None:
        attrs["axes"] = axes
    model = make_model([helper.make_node("ReduceMean", ins, ["y"], name="odd_mean", **attrs)],
                       {"x": ("N", 3, 5, 4)}, inits, opset)
    with pytest.raises(UnsupportedOpError, match="'odd_mean'.*ReduceMean"):
        load_onnx(model)
