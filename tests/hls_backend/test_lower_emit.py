"""Lowering and rendering: op coverage, reuse factor validation, names, determinism, exact
literals, the shape of the generated firmware."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import op_zoo
import pytest
from hls_cases import BITS_ONLY_FLAGS, assert_same_as_emulator

from hlsforge.errors import PrecisionError
from hlsforge.hls_backend import RULES, compile, lower, render, valid_reuse_factors, write
from hlsforge.hls_backend.emit import safe_comment
from hlsforge.hls_backend.literals import exact_decimal, fixed_literal, raw_literal
from hlsforge.hls_backend.names import CPP_KEYWORDS, NameScope, sanitize
from hlsforge.ir import FixedType, Graph, Op
from hlsforge.ir.ops import FINAL_OPS
from hlsforge.quantize.config import configure


def test_every_final_op_has_a_lowering_rule():
    from hlsforge.hls_backend.lower import UNSUPPORTED  # refused with a stated reason

    missing = set(FINAL_OPS) - set(RULES) - set(UNSUPPORTED)
    assert not missing, sorted(o.value for o in missing)


# ----------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    "raw,frac",
    [
        (3, 4),
        (-3, 4),
        (0, 10),
        (1, 60),
        (-(1 << 52) + 7, 30),
        (5, -3),
        (-(1 << 40), -20),
        (12345, 0),
    ],
)
def test_exact_decimal_is_the_exact_value(raw, frac):
    text = exact_decimal(raw, frac)
    assert (
        Fraction(text.removesuffix(".0") if text.endswith(".0") else text)
        == Fraction(raw) * Fraction(2) ** -frac
    )
    if -(1 << 53) < raw < (1 << 53):
        assert float(text) == raw * 2.0**-frac  # the compiler's double is the exact value


def test_wide_raw_values_are_split_into_exact_parts():
    t = FixedType(60, 10)
    raw = (1 << 58) + 12345
    text = fixed_literal(raw, t, "w_t")
    parts = re.findall(r"w_t\(([-0-9.]+)\)", text)
    assert len(parts) == 2
    assert sum(Fraction(p) for p in parts) == Fraction(raw) * Fraction(2) ** -t.frac
    assert all(abs(Fraction(p) * 2**t.frac) < 2**59 for p in parts)
    assert raw_literal(-(1 << 63), True) == "(-9223372036854775807LL - 1)"


# ----------------------------------------------------------------------------- names


def test_sanitize_makes_identifiers():
    for name in [
        'x"); system("rm -rf /"); //',
        "class",
        "3d-conv",
        "",
        "__init__",
        "ünïcödé",
        "hlsforge",
        "a" * 200,
    ]:
        ident = sanitize(name)
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", ident), ident
        assert "__" not in ident and ident.lower() not in CPP_KEYWORDS and len(ident) <= 48
    scope = NameScope()
    assert (
        scope.take("a b") == "a_b" and scope.take("a-b") == "a_b_2" and scope.take("a.b") == "a_b_3"
    )


def test_comments_cannot_be_escaped():
    text = safe_comment('evil\\\n#include "x"*/??/')
    assert (
        "\n" not in text
        and not text.endswith("\\")
        and "??" not in text
        and all(" " <= c <= "~" for c in text)
    )


def hostile_graph() -> Graph:
    rng = np.random.default_rng(0)
    g = Graph('model"); system("echo pwned"); //')
    g.add_input("in put\n", (5,))
    g.add_constant("class", rng.normal(size=(5, 3)).astype(np.float32))
    g.add_constant("b\\", rng.normal(size=(3,)).astype(np.float32))
    d = g.add_node(
        Op.DENSE,
        ["in put\n", "class", "b\\"],
        name="int",
        source_name='x"); system("rm -rf /"); //',
        source_op="Gemm */",
    )
    r = g.add_node(Op.RELU, d.outputs, name="3d relu", source_name="??/ tri\\")
    r2 = g.add_node(Op.RELU, d.outputs, name="3d_relu", source_name="dup")
    a = g.add_node(Op.ADD, [r.outputs[0], r2.outputs[0]], name="int_result_t")
    g.outputs = a.outputs
    return g.validate()


def test_hostile_names_compile_and_inject_nothing():
    g = configure(hostile_graph(), "ap_fixed<12,4>")
    files = render(lower(g))
    for rel, text in files.items():
        assert re.fullmatch(r"[A-Za-z0-9_./]+", rel), rel
        for line in text.splitlines():
            code = line.split("//", 1)[0]
            assert "system(" not in code and "echo pwned" not in code and "rm -rf" not in code, (
                rel,
                line,
            )
            if '"' in code:  # the only strings outside comments are include paths
                assert re.fullmatch(r'#include "[A-Za-z0-9_./]+"\s*', code), (rel, line)
    m = compile(g, flags=BITS_ONLY_FLAGS)
    assert_same_as_emulator(m, g, op_zoo.random_inputs(g, 16), "hostile names")


# ----------------------------------------------------------------------------- reuse factor


def test_valid_reuse_factors_are_the_divisors():
    assert valid_reuse_factors(10, 6) == [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60]


def test_invalid_reuse_factor_is_an_error_listing_the_valid_ones():
    graph = op_zoo.CASES["dense"]()
    dense = next(n.name for n in graph.nodes if n.op.value == "Dense")
    g = configure(graph, {"model": {"default": "ap_fixed<16,6>"}, "layers": {dense: {"ReuseFactor": 7}}})
    with pytest.raises(PrecisionError) as err:
        lower(g)
    msg = str(err.value)
    assert (
        "ReuseFactor 7" in msg
        and "dense" in msg
        and "1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60" in msg
    )


def test_strategy_and_reuse_factor_reach_the_configs():
    g = configure(
        op_zoo.CASES["dense"](),
        {
            "model": {"default": "ap_fixed<16,6>"},
            "layers": {"dense": {"Strategy": "Resource", "ReuseFactor": 4}},
        },
    )
    files = render(lower(g))
    params = files["op_dense_parameters.h"]
    assert "static const unsigned reuse_factor = 4;" in params
    assert "static const unsigned strategy = hlsforge::resource;" in params
    assert "static const unsigned multiplier_limit = 15;" in params
    assert "#pragma HLS DATAFLOW" in files["op_dense.cpp"]


# ----------------------------------------------------------------------------- generated text


def test_firmware_layout_and_content():
    g = configure(
        op_zoo.CASES["conv2d"](),
        {"model": {"default": "ap_fixed<16,6>", "accum": "ap_fixed<24,12>"}},
    )
    files = render(lower(g))
    assert set(files) == {
        "op_conv2d.cpp",
        "op_conv2d.h",
        "op_conv2d_types.h",
        "op_conv2d_parameters.h",
        "weights/conv.h",
    }
    top = files["op_conv2d.cpp"]
    assert (
        "void op_conv2d(op_conv2d_ns::input_t in[op_conv2d_ns::N_IN], op_conv2d_ns::result_t out[op_conv2d_ns::N_OUT])"
        in top
    )
    assert re.search(
        r'// layer 0: "conv" \("Conv2D"\) -> Conv2D, strategy latency, reuse factor 1\n\s*hlsforge::conv<input_t, conv_result_t, conv_config>\(in, out, conv_w, conv_b\);',
        top,
    )
    for pragma in (
        "ARRAY_RESHAPE variable=in complete",
        "ARRAY_PARTITION variable=out complete",
        "INTERFACE ap_vld port=in,out",
        "PIPELINE",
    ):
        assert f"#pragma HLS {pragma}" in top
    types = files["op_conv2d_types.h"]
    for td in (
        "typedef ap_fixed<16,6> input_t;",
        "typedef ap_fixed<24,12> conv_accum_t;",
        "typedef ap_fixed<16,6> conv_weight_t;",
        "typedef conv_result_t result_t;",
    ):
        assert td in types
    assert "namespace op_conv2d_ns" in types and "namespace op_conv2d_ns" in files["weights/conv.h"]
    params = files["op_conv2d_parameters.h"]
    assert (
        "struct conv_config : hlsforge::conv_config" in params
        and "typedef conv_accum_t accum_t;" in params
    )
    # weights: exact decimal literals for synthesis, raw codes for the C simulation
    weights = files["weights/conv.h"]
    assert (
        "static const conv_weight_t conv_w[108] =" in weights
        and "static const long long conv_w_raw[108] =" in weights
    )
    raws = (
        np.round(np.asarray(g.values["kernel"].data, np.float64) * 2**10)
        .astype(np.int64)
        .reshape(-1)
    )
    lit = (
        re.search(r"conv_w\[108\] = \{(.*?)\};", weights, re.S)
        .group(1)
        .replace("\n", " ")
        .split(",")
    )
    assert [Fraction(v.strip()) * 2**10 for v in lit if v.strip()] == [
        Fraction(int(r)) for r in raws
    ]


def test_rendering_is_deterministic(tmp_path):
    g = configure(op_zoo.CASES["softmax_3d"](), "ap_fixed<16,6>")
    assert render(lower(g)) == render(lower(g))
    a = write(g, tmp_path / "a")
    b = write(configure(op_zoo.CASES["softmax_3d"](), "ap_fixed<16,6>"), tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa
    assert (tmp_path / "a" / "hlsforge_kernels" / "dense.h").is_file() and (
        tmp_path / "a" / "hlsforge_fixed.h"
    ).is_file()
