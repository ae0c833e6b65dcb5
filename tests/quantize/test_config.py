"""Precision configuration: schema, precedence, files, errors, and what configure writes."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from op_zoo import CASES, random_inputs
from test_emulate_models import mlp_graph

from hlsforge.errors import GraphError, PrecisionError
from hlsforge.ir import Graph, Op
from hlsforge.ir.serialize import load as load_ir
from hlsforge.ir.serialize import save as save_ir
from hlsforge.ir.types import FixedType, FloatType, IntType, Overflow, Rounding, parse_type
from hlsforge.quantize import emulate
from hlsforge.quantize.config import (
    DEFAULT_PRECISION,
    HlsOptions,
    PrecisionConfig,
    configure,
    raw_constant,
)
from hlsforge.quantize.fixed import cast, fixed_add_type
from hlsforge.quantize.infer import dot_accum_type, exact_sum_type, table_sum_type

T = parse_type


def test_default_is_ap_fixed_16_6_everywhere() -> None:
    g = mlp_graph((4, 5, 3))
    q = configure(g)
    assert DEFAULT_PRECISION == FixedType(16, 6)
    for name, v in q.values.items():
        assert v.type == FixedType(16, 6), name
    for node in q.nodes:
        assert all(t == FixedType(16, 6) for t in node.precision.values())
        assert node.options["hls"] == HlsOptions(1, "Latency")


def test_configure_returns_a_copy_and_quantizes_constants_once() -> None:
    g = mlp_graph((4, 5, 3))
    before = {n: (v.type, None if v.data is None else v.data.copy()) for n, v in g.values.items()}
    q = configure(g, {"model": {"weight": "ap_fixed<6,1,AP_RND>"}})
    for n, (t, data) in before.items():
        assert g.values[n].type == t
        if data is not None:
            np.testing.assert_array_equal(g.values[n].data, data)
    w = q.values["w0"]
    assert w.data.dtype == np.float64
    np.testing.assert_array_equal(w.data, cast(g.values["w0"].data, T("ap_fixed<6,1,AP_RND>")))
    raw = raw_constant(w)
    assert raw.dtype == np.int64
    np.testing.assert_array_equal(raw * 2.0**-5, w.data)  # exact values, exact raws


def test_precedence_layer_over_op_type_over_model() -> None:
    g = mlp_graph((4, 5, 3, 2))
    cfg = {
        "model": {"default": "ap_fixed<12,4>", "weight": "ap_fixed<10,2>"},
        "op_type": {"Dense": {"weight": "ap_fixed<9,2>", "result": "ap_fixed<14,5>"}, "relu": "ap_ufixed<8,3>"},
        "layers": {"fc2": {"weight": "ap_fixed<7,1>"}, "fc3": "ap_fixed<11,3>", "relu2": {"result": "ap_fixed<13,4>"}},
    }
    q = configure(g, cfg)
    typ = {n: v.type for n, v in q.values.items()}
    assert typ["input"] == T("ap_fixed<12,4>")  # model default
    assert typ["w0"] == T("ap_fixed<9,2>")  # op type beats model
    assert typ["w1"] == T("ap_fixed<7,1>")  # layer beats op type
    assert typ["w2"] == T("ap_fixed<11,3>")  # a layer's default beats the op type's variable
    assert typ["b0"] == T("ap_fixed<12,4>")  # not configured more specifically
    assert typ[q.node("fc1").outputs[0]] == T("ap_fixed<14,5>")
    assert typ[q.node("relu1").outputs[0]] == T("ap_ufixed<8,3>")  # op type name is case-insensitive
    assert typ[q.node("relu2").outputs[0]] == T("ap_fixed<13,4>")
    assert q.node("fc1").precision["accum"] == T("ap_fixed<12,4>")


def test_layers_match_node_names_and_source_names() -> None:
    g = mlp_graph((4, 5, 3))
    fc1 = g.node("fc1")
    fc1.source_name = "dense_in_keras"
    q = configure(g, {"layers": {"dense_in_keras": {"result": "ap_fixed<9,4>"}, "fc2": {"accum": "ap_fixed<30,10>"}}})
    assert q.values[q.node("fc1").outputs[0]].type == T("ap_fixed<9,4>")
    assert q.node("fc2").precision["accum"] == T("ap_fixed<30,10>")


def test_input_types_string_and_per_input() -> None:
    g = CASES["concat"]()
    q = configure(g, {"model": {"input": "ap_fixed<10,4>"}})
    assert q.values["a"].type == q.values["b"].type == T("ap_fixed<10,4>")
    q = configure(g, {"model": {"default": "ap_fixed<8,3>", "input": {"b": "ap_int<6>"}}})
    assert q.values["a"].type == T("ap_fixed<8,3>") and q.values["b"].type == IntType(6)
    with pytest.raises(PrecisionError, match="'c' is not a graph input"):
        configure(g, {"model": {"input": {"c": "ap_int<6>"}}})


def test_constant_roles() -> None:
    bn = configure(CASES["batchnorm"](), {"model": {"weight": "ap_fixed<9,3>", "bias": "ap_fixed<7,2>"}})
    assert bn.values["scale"].type == T("ap_fixed<9,3>")  # scale falls back to weight
    assert bn.values["bias"].type == T("ap_fixed<7,2>")
    bn = configure(CASES["batchnorm"](), {"model": {"weight": "ap_fixed<9,3>"}, "op_type": {"BatchNormalization": {"scale": "ap_fixed<12,2>"}}})
    assert bn.values["scale"].type == T("ap_fixed<12,2>")
    add = configure(CASES["add_const"](), {"op_type": {"Add": {"weight": "ap_fixed<5,2>"}}})
    assert add.values["c"].type == T("ap_fixed<5,2>")


def test_preset_constant_types_are_kept() -> None:
    g = CASES["dense"]()
    g.values["kernel"].type = T("ap_fixed<4,1>")  # e.g. set by the QKeras frontend
    with pytest.warns(UserWarning, match="its type was set by the model"):
        q = configure(g, {"model": {"weight": "ap_fixed<16,6>"}})
    assert q.values["kernel"].type == T("ap_fixed<4,1>")
    np.testing.assert_array_equal(q.values["kernel"].data, cast(g.values["kernel"].data, T("ap_fixed<4,1>")))
    assert q.values["bias"].type == FixedType(16, 6)


def test_shared_constant_with_two_types_is_split() -> None:
    g = Graph("shared")
    g.add_input("x", (3,))
    g.add_constant("c", np.array([0.3, -0.7, 1.1], np.float32))
    a = g.add_node(Op.MUL, ["x", "c"], source_name="m1").outputs[0]
    b = g.add_node(Op.ADD, [a, "c"], source_name="a1").outputs[0]
    g.outputs = [b]
    q = configure(g, {"layers": {"m1": {"weight": "ap_fixed<8,2>"}, "a1": {"weight": "ap_fixed<4,2>"}}})
    m1, a1 = q.node("m1"), q.node("a1")
    assert q.values[m1.inputs[1]].type == T("ap_fixed<8,2>")
    assert q.values[a1.inputs[1]].type == T("ap_fixed<4,2>")
    assert m1.inputs[1] != a1.inputs[1]
    q.validate()


def test_quantize_node_takes_its_target() -> None:
    g = CASES["quantize"]()
    q = configure(g, {"model": {"default": "ap_fixed<9,4>"}})
    assert q.values[q.nodes[0].outputs[0]].type == g.nodes[0].attrs.target
    with pytest.raises(PrecisionError, match="explicit quantizer"):
        configure(g, {"layers": {"quantize": {"result": "ap_fixed<9,4>"}}})


def test_auto_accumulators_and_sums() -> None:
    g = CASES["dense"]()
    q = configure(g, {"model": {"default": "ap_fixed<10,3>", "accum": "auto"}})
    k, b = q.values["kernel"], q.values["bias"]
    want = dot_accum_type(q.values["x"].type, raw_constant(k), k.type, raw_constant(b), b.type)
    assert q.nodes[0].precision["accum"] == want
    assert want.frac == 14 and want.signed
    p = configure(CASES["avgpool2d_pad"](), {"model": {"accum": "auto"}})
    assert p.nodes[0].precision["accum"] == exact_sum_type(FixedType(16, 6), 9) == FixedType(20, 10)
    s = configure(CASES["softmax"](), {"model": {"sum": "auto"}})
    node = s.nodes[0]
    assert node.precision["sum"] == table_sum_type(node.options["exp_table"].entries, FixedType(16, 6), 5)


def test_auto_accumulator_wider_than_64_bits_names_the_layer() -> None:
    g = CASES["dense"]()
    cfg = {"model": {"default": "ap_fixed<40,20>", "weight": "ap_fixed<40,10>", "accum": "auto"}}
    with pytest.raises(PrecisionError, match=r"node 'dense'.*accum auto.*bits"):
        configure(g, cfg)


def test_hls_options_are_validated_and_stored() -> None:
    g = mlp_graph((4, 5, 3))
    q = configure(g, {"model": {"ReuseFactor": 2}, "op_type": {"ReLU": {"Strategy": "resource"}},
                      "layers": {"fc2": {"ReuseFactor": 5, "Strategy": "Resource"}}})
    assert q.node("fc1").options["hls"] == HlsOptions(2, "Latency")
    assert q.node("relu1").options["hls"] == HlsOptions(2, "Resource")
    assert q.node("fc2").options["hls"] == HlsOptions(5, "Resource")


def test_table_and_softmax_options() -> None:
    q = configure(CASES["sigmoid"](), {"layers": {"sigmoid": {"table_size": 256, "table_range": [-4, 4]}}})
    spec = q.nodes[0].options["table"]
    assert spec.size == 256 and spec.lo == -4 and spec.hi >= 4
    q = configure(CASES["softmax"](), {"op_type": {"Softmax": {"table_size": 128, "inv_table_size": 64}}})
    n = q.nodes[0]
    assert n.options["exp_table"].size == 128 and n.options["inv_table"].size == 64
    q = configure(CASES["softmax"](), {"model": {"softmax_mode": "ARGMAX"}})
    assert q.nodes[0].options["softmax"].mode == "argmax"
    assert "exp_table" not in q.nodes[0].options


def test_softmax_tables_are_indexed_by_exact_types() -> None:
    q = configure(CASES["softmax"](), {"model": {"default": "ap_fixed<12,4>", "sum": "ap_fixed<14,5>"}})
    n = q.nodes[0]
    assert n.options["exp_table"].index_type == fixed_add_type(FixedType(12, 4), FixedType(12, 4)).as_fixed()
    inv = n.options["inv_table"]
    assert inv.index_type == FixedType(14, 5)
    e0 = n.options["exp_table"].lookup(np.array([0]))[0]  # exp(0) entry: the smallest possible sum
    assert inv.lo_raw == max(1, int(e0) << (9 - n.options["exp_table"].entry_type.frac))


def test_yaml_json_and_string_sources(tmp_path) -> None:
    g = mlp_graph((4, 5, 3))
    text = """
model:
  default: ap_fixed<12,4>
  accum: auto
op_type:
  Dense: {weight: "ap_fixed<8,2,AP_RND,AP_SAT>"}
layers:
  fc2:
    result: ap_fixed<10,3>
    ReuseFactor: 3
"""
    (tmp_path / "cfg.yml").write_text(text)
    q1 = configure(g, tmp_path / "cfg.yml")
    q2 = configure(g, str(tmp_path / "cfg.yml"))
    import yaml

    (tmp_path / "cfg.json").write_text(json.dumps(yaml.safe_load(text)))
    q3 = configure(g, tmp_path / "cfg.json")
    for q in (q1, q2, q3):
        assert q.values["w1"].type == FixedType(8, 2, True, Rounding.RND, Overflow.SAT)
        assert q.values[q.node("fc2").outputs[0]].type == T("ap_fixed<10,3>")
        assert q.node("fc2").options["hls"].reuse_factor == 3
        assert q.node("fc1").precision["accum"].frac == 8 + 6
    q4 = configure(g, "ap_fixed<8,3>")
    assert all(v.type == T("ap_fixed<8,3>") for v in q4.values.values())


def test_config_round_trips_through_its_dict_and_the_graph_metadata(tmp_path) -> None:
    raw = {
        "model": {"default": "ap_fixed<12,4>", "accum": "auto", "input": {"input": "ap_fixed<10,3>"}, "ReuseFactor": 2},
        "op_type": {"Dense": {"weight": "ap_fixed<8,2>"}},
        "layers": {"fc2": {"result": "ap_fixed<10,3>"}},
    }
    cfg = PrecisionConfig.from_dict(raw)
    assert PrecisionConfig.from_dict(cfg.to_dict()) == cfg
    q = configure(mlp_graph((4, 5, 3)), cfg)
    assert PrecisionConfig.from_dict(q.metadata["precision_config"]) == cfg
    path = save_ir(q, tmp_path / "q.json")
    q2 = load_ir(path)
    x = np.random.default_rng(0).normal(size=(20, 4)) * 3
    np.testing.assert_array_equal(emulate.run(q2, x), emulate.run(q, x))
    assert q2.nodes[-1].options["exp_table"] == q.nodes[-1].options["exp_table"]
    assert q2.nodes[0].options["hls"] == HlsOptions(2, "Latency")


def test_configuring_twice_is_refused() -> None:
    q = configure(mlp_graph((4, 5, 3)))
    with pytest.raises(PrecisionError, match="already quantized"):
        configure(q, "ap_fixed<8,3>")


def test_constant_overflow_warns() -> None:
    g = CASES["dense"]()
    with pytest.warns(UserWarning, match=r"node 'dense'.*overflow ap_fixed<4,1> and wrap around; give 'weight' more integer bits"):
        configure(g, {"model": {"weight": "ap_fixed<4,1>"}})


def test_transient_ops_are_rejected() -> None:
    g = Graph("t")
    g.add_input("x", (3,))
    g.outputs = g.add_node(Op.IDENTITY, ["x"]).outputs
    with pytest.raises(GraphError, match="transient"):
        configure(g)


@pytest.mark.parametrize(
    "cfg, match",
    [
        ({"modle": {}}, r"unknown top-level config key\(s\) \['modle'\]"),
        ({"model": {"acum": "auto"}}, r"model: unknown key 'acum'; valid keys: default, weight"),
        ({"model": {"default": "ap_fixd<8,3>"}}, r"model: default: invalid precision 'ap_fixd<8,3>'"),
        ({"model": {"default": "ap_fixed<80,3>"}}, r"outside 1..64"),
        ({"model": {"input": "auto"}}, r"input needs a type, not 'auto'"),
        ({"model": {"weight": "float"}}, r"float types are not supported"),
        ({"op_type": {"Dens": {}}}, r"unknown op type 'Dens'; known: Dense"),
        ({"op_type": {"ReLU": {"weight": "ap_fixed<8,3>"}}}, r"op_type 'ReLU': unknown key 'weight' \(this op has no such variable\)"),
        ({"op_type": {"Dense": {"table_size": 64}}}, r"op_type 'Dense': option 'table_size' does not apply"),
        ({"layers": {"fc9": {"result": "ap_fixed<8,3>"}}}, r"no layer named 'fc9' in model .*layer names: fc1, fc2"),
        ({"layers": {"relu1": {"weight": "ap_fixed<8,3>"}}}, r"layer 'relu1' \(ReLU\) has no variable 'weight'; its variables: default, result"),
        ({"layers": {"fc1": {"table_size": 64}}}, r"layer 'fc1' \(Dense\): option 'table_size' does not apply"),
        ({"model": {"table_size": 100}}, r"table_size must be a power of two"),
        ({"model": {"table_range": [3, 1]}}, r"table_range must be two finite numbers with lo < hi"),
        ({"model": {"table_range": "wide"}}, r"table_range must be two numbers"),
        ({"model": {"softmax_mode": "fast"}}, r"softmax_mode must be one of stable, argmax"),
        ({"model": {"ReuseFactor": 0}}, r"ReuseFactor must be a positive integer, got 0"),
        ({"model": {"ReuseFactor": "4"}}, r"ReuseFactor must be a positive integer"),
        ({"model": {"ReuseFactor": True}}, r"ReuseFactor must be a positive integer"),
        ({"layers": {"fc1": {"Strategy": "Fast"}}}, r"layer 'fc1': Strategy must be one of Latency, Resource"),
        ({"layers": ["fc1"]}, r"layers must map layer names"),
        (42, r"must be a mapping"),
    ],
)
def test_config_errors_name_the_key_and_what_is_valid(cfg, match) -> None:
    with pytest.raises(PrecisionError, match=match):
        configure(mlp_graph((4, 5, 3)), cfg)


def test_impossible_table_requests_name_the_layer() -> None:
    with pytest.raises(PrecisionError, match=r"node 'sigmoid'.*needs a 10-bit index, wider than its 8-bit input"):
        configure(CASES["sigmoid"](), {"model": {"default": "ap_fixed<8,3>", "table_size": 1024}})
    with pytest.raises(PrecisionError, match=r"node 'tanh'.*outside the range"):
        configure(CASES["tanh"](), {"layers": {"tanh": {"table_range": [100, 200]}}})


def test_constant_types_wider_than_53_bits_are_refused() -> None:
    with pytest.raises(PrecisionError, match=r"node 'dense'.*kernel type ap_fixed<60,10>.*53 bits"):
        configure(CASES["dense"](), {"model": {"weight": "ap_fixed<60,10>"}})


def test_config_file_errors(tmp_path) -> None:
    with pytest.raises(PrecisionError, match="cannot read precision config"):
        configure(mlp_graph((4, 5, 3)), tmp_path / "missing.yml")
    (tmp_path / "bad.yml").write_text("model: [unclosed\n")
    with pytest.raises(PrecisionError, match="not valid YAML"):
        configure(mlp_graph((4, 5, 3)), tmp_path / "bad.yml")
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    with pytest.raises(PrecisionError, match="must contain a mapping"):
        configure(mlp_graph((4, 5, 3)), tmp_path / "list.yml")


def test_every_zoo_case_configures_and_types_every_value() -> None:
    for name, build in CASES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = configure(build(), {"model": {"default": "ap_fixed<10,4,AP_RND,AP_SAT>", "accum": "auto", "sum": "auto"}})
        for v in q.values.values():
            assert isinstance(v.type, (FixedType, IntType)), (name, v.name)
            assert not isinstance(v.type, FloatType)
        emulate.run(q, random_inputs(q, 2))
