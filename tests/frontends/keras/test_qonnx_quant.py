"""QONNX Quant / IntQuant / BipolarQuant → exact hlsforge types, against the QONNX reference
formula (re-implemented here in numpy) evaluated through an independent ap_fixed oracle."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper
from qk_numpy import fixed_cast, run_steps

from hlsforge import reference
from hlsforge.errors import ModelFormatError, UnsupportedOpError
from hlsforge.frontends.qonnx import QONNX_DOMAINS, bipolar_steps, convert_quant, emit_qonnx_quant
from hlsforge.ir import FixedType, Graph, Op, Overflow, Rounding

RNG = np.random.default_rng(3)
DOMAIN = QONNX_DOMAINS[0]

ROUNDERS = {
    "ROUND": np.rint,
    "FLOOR": np.floor,
    "DOWN": np.trunc,
    "HALF_UP": lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5),
    "HALF_DOWN": lambda v: np.sign(v) * np.ceil(np.abs(v) - 0.5),
}


def qonnx_quant(x: np.ndarray, scale: float, bits: int, signed: bool, narrow: bool, mode: str) -> np.ndarray:
    """The QONNX IntQuant reference: clamp(x / scale) to the integer range, round, rescale."""
    lo = -(2 ** (bits - 1)) + int(narrow) if signed else 0
    hi = 2 ** (bits - 1) - 1 if signed else 2**bits - 1 - int(narrow)
    y = np.clip(x / scale, lo, hi)
    return ROUNDERS[mode](y) * scale


def quant_node(op: str = "Quant", **attrs: object) -> object:
    return helper.make_node(op, ["x", "scale", "zeropt", "bitwidth"], ["y"], name="q0", domain=DOMAIN, **attrs)


def consts(scale: float | np.ndarray, bits: float, zeropt: float = 0.0) -> dict[str, np.ndarray]:
    return {"scale": np.asarray(scale, np.float32), "zeropt": np.asarray(zeropt, np.float32),
            "bitwidth": np.asarray(bits, np.float32)}


CASES = [
    (0.125, 6, 1, 0, "ROUND"),
    (0.25, 4, 1, 1, "ROUND"),
    (0.5, 8, 0, 0, "ROUND"),
    (2.0, 5, 1, 0, "FLOOR"),
    (2**-6, 8, 1, 0, "DOWN"),
    (0.125, 5, 1, 1, "HALF_UP"),
    (0.0625, 7, 0, 0, "HALF_DOWN"),
    (1.0, 3, 1, 0, "round"),  # modes may be lower case
]


@pytest.mark.parametrize("scale,bits,signed,narrow,mode", CASES)
@pytest.mark.parametrize("op", ["Quant", "IntQuant"])
def test_quant_is_exact_fixed_cast(op: str, scale: float, bits: int, signed: int, narrow: int, mode: str) -> None:
    attrs = convert_quant(quant_node(op, signed=signed, narrow=narrow, rounding_mode=mode), consts(scale, bits))
    t = attrs.target
    assert (t.width, t.signed) == (bits, bool(signed))
    assert t.frac == -int(np.log2(scale))
    assert t.overflow == (Overflow.SAT_SYM if narrow else Overflow.SAT)
    k = np.arange(-(2**bits) - 3, 2**bits + 4)
    x = np.concatenate([k * scale, (k + 0.5) * scale, RNG.normal(size=300) * scale * 2**bits, [1e9, -1e9]])
    np.testing.assert_array_equal(fixed_cast(x, t), qonnx_quant(x, scale, bits, bool(signed), bool(narrow), mode.upper()))


def test_rounding_mode_table() -> None:
    want = {"ROUND": Rounding.RND_CONV, "FLOOR": Rounding.TRN, "DOWN": Rounding.TRN_ZERO,
            "HALF_UP": Rounding.RND_INF, "HALF_DOWN": Rounding.RND_ZERO}
    for mode, r in want.items():
        assert convert_quant(quant_node(rounding_mode=mode), consts(0.5, 8)).target.rounding == r


def test_per_channel_equal_scales_accepted() -> None:
    attrs = convert_quant(quant_node(), consts(np.full((1, 4, 1, 1), 0.25), 8))
    assert attrs.target == FixedType(8, 6, True, Rounding.RND_CONV, Overflow.SAT)


@pytest.mark.parametrize(
    "node,c,exc,msg",
    [
        (quant_node(), consts(0.3, 8), UnsupportedOpError, "not a power of two"),
        (quant_node(), consts(0.25, 8, zeropt=1.0), UnsupportedOpError, "zero point"),
        (quant_node(rounding_mode="CEIL"), consts(0.25, 8), UnsupportedOpError, "CEIL"),
        (quant_node(signed=0, narrow=1), consts(0.25, 8), UnsupportedOpError, "unsigned narrow"),
        (quant_node(), consts(np.array([0.25, 0.5]), 8), UnsupportedOpError, "varies"),
        (quant_node(), consts(0.25, 4.5), UnsupportedOpError, "bit width"),
        (quant_node(), consts(-0.25, 4), ModelFormatError, "positive"),
        (quant_node(), {"scale": np.float32(0.5), "zeropt": np.float32(0)}, UnsupportedOpError, "bitwidth.*constant"),
    ],
)
def test_quant_errors_name_the_node(node: object, c: dict, exc: type, msg: str) -> None:
    with pytest.raises(exc, match=msg) as e:
        convert_quant(node, c)
    assert "'q0'" in str(e.value)


@pytest.mark.parametrize("scale", [1.0, 0.5, 4.0])
def test_bipolar_quant(scale: float) -> None:
    node = helper.make_node("BipolarQuant", ["x", "scale"], ["y"], name="bp", domain=DOMAIN)
    steps = bipolar_steps(node, {"scale": np.float32(scale)})
    x = np.concatenate([RNG.normal(size=200), [0.0, -0.0, 1e-30, -1e-30, -1.0, 1.0]])
    np.testing.assert_array_equal(run_steps(x, steps), np.where(x >= 0, 1.0, -1.0) * scale)


def test_emit_into_graph_and_reference() -> None:
    g = Graph("qonnx")
    g.add_input("x", (16,))
    q = helper.make_node("IntQuant", ["x", "scale", "zeropt", "bitwidth"], ["y"], name="act_q", domain=DOMAIN)
    y = emit_qonnx_quant(g, q, "x", consts(0.125, 6))
    bp = helper.make_node("BipolarQuant", ["y", "s2"], ["z"], name="bin", domain=DOMAIN)
    z = emit_qonnx_quant(g, bp, y, {"s2": np.float32(0.5)})
    g.outputs = [y, z]
    g.validate()
    assert [n.op for n in g.nodes] == [Op.QUANTIZE, Op.QUANTIZE, Op.MUL, Op.ADD]
    assert {n.source_name for n in g.nodes} == {"act_q", "bin"}
    x = (RNG.normal(size=(32, 16)) * 3).astype(np.float32)
    out = reference.run(g, x)
    want_y = qonnx_quant(x.astype(np.float64), 0.125, 6, True, False, "ROUND")
    np.testing.assert_array_equal(out[y], want_y.astype(np.float32))
    np.testing.assert_array_equal(out[z], np.where(want_y >= 0, 0.5, -0.5).astype(np.float32))


def test_unsupported_qonnx_op() -> None:
    g = Graph("qonnx")
    g.add_input("x", (4,))
    node = helper.make_node("FloatQuant", ["x"], ["y"], name="fq", domain=DOMAIN)
    with pytest.raises(UnsupportedOpError, match="'fq'.*FloatQuant.*supported"):
        emit_qonnx_quant(g, node, "x", {})
