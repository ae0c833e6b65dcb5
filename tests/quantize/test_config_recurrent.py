"""Precision configuration of the recurrent cells and LayerNormalization (docs/numerics.md §12):
variables, options, `auto` accumulators, as trained, hls4ml keys."""

from __future__ import annotations

import numpy as np
import pytest
from op_zoo import FIXED_RECURRENT_CASES, random_inputs

from hlsforge.errors import PrecisionError
from hlsforge.ir.ops import Op
from hlsforge.ir.types import FixedType, parse_type
from hlsforge.quantize import configure, emulate
from hlsforge.quantize.config import OP_VARIABLES


def _node(g, op):
    return next(n for n in g.nodes if n.op is op)


def test_variables_reach_their_values():
    cfg = {"model": {"default": "ap_fixed<16,6>"},
           "layers": {"lstm": {"weight": "ap_fixed<8,2>", "recurrent_weight": "ap_fixed<9,2>", "bias": "ap_fixed<10,3>",
                               "accum": "ap_fixed<20,8>", "table": "ap_fixed<12,2>", "cell": "ap_fixed<14,5>",
                               "result": "ap_fixed<11,3>", "table_size": 256}}}
    q = configure(FIXED_RECURRENT_CASES["lstm_bidirectional"](), cfg)
    n = _node(q, Op.LSTM)
    t = {role: q.values[v].type for role, v in zip(("x", "W", "R", "B", "h0", "c0", "P"), n.inputs, strict=True)}
    assert t["W"] == t["P"] == parse_type("ap_fixed<8,2>") and t["R"] == parse_type("ap_fixed<9,2>")
    assert t["B"] == parse_type("ap_fixed<10,3>") and t["h0"] == parse_type("ap_fixed<11,3>")
    assert t["c0"] == parse_type("ap_fixed<14,5>") == n.precision["cell"]
    assert [q.values[o].type for o in n.outputs] == [parse_type("ap_fixed<11,3>")] * 2 + [parse_type("ap_fixed<14,5>")]
    assert n.precision["accum"] == parse_type("ap_fixed<20,8>")
    assert {k: n.options[k].size for k in ("table_f", "table_g", "table_h")} == dict.fromkeys(("table_f", "table_g", "table_h"), 256)
    assert n.options["table_h"].index_frac == 9  # tanh of the cell state is indexed by the cell type
    assert "recurrent_weight" in OP_VARIABLES[Op.GRU] and "cell" not in OP_VARIABLES[Op.GRU]


def test_layernorm_scale_falls_back_to_weight_and_takes_table_options():
    q = configure(FIXED_RECURRENT_CASES["layernorm"](),
                  {"model": {"weight": "ap_fixed<9,3>"}, "op_type": {"LayerNormalization": {"table_range": [0, 4], "table_size": 128}}})
    n = _node(q, Op.LAYERNORM)
    assert q.values[n.inputs[1]].type == parse_type("ap_fixed<9,3>")
    spec = n.options["table"]
    assert spec.size == 128 and float(spec.lo) == 0.0 and float(spec.hi) == 4.0
    with pytest.raises(PrecisionError, match="table_range"):
        configure(FIXED_RECURRENT_CASES["gru"](), {"layers": {"gru": {"table_range": [0, 1]}}})
    with pytest.raises(PrecisionError, match="cell"):
        configure(FIXED_RECURRENT_CASES["gru"](), {"layers": {"gru": {"cell": "ap_fixed<8,3>"}}})


@pytest.mark.parametrize("case", ["gru", "lstm_bidirectional", "simple_rnn", "lstm_input_forget_relu"])
def test_auto_accum_never_rounds_or_overflows(case):
    """`accum: auto` gives the same bits as a much wider accumulator, and no overflow, on inputs
    that fill the input type (saturating)."""
    g = FIXED_RECURRENT_CASES[case]()
    base = {"default": "ap_fixed<10,3,AP_RND,AP_SAT>", "input": "ap_fixed<8,3,AP_RND,AP_SAT>"}
    auto = configure(g, {"model": {**base, "accum": "auto"}})
    acc = _node(auto, g.nodes[0].op).precision["accum"]
    assert isinstance(acc, FixedType) and acc.width < 40
    wide = configure(g, {"model": {**base, "accum": f"ap_fixed<{acc.frac + 40},40>"}})
    x = random_inputs(g, 200, seed=5, scale=8.0)
    ta, tw = emulate.run(auto, x, trace=True), emulate.run(wide, x, trace=True)
    assert sum(ta.accum_overflows.values()) == 0
    for k in ta.raw:
        np.testing.assert_array_equal(ta.outputs[k], tw.outputs[k], err_msg=k)


def test_hls4ml_keys_for_recurrent_layers():
    g = FIXED_RECURRENT_CASES["gru"]()
    cfg = {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"},
           "LayerName": {"gru": {"Precision": {"weight": "ap_fixed<8,3>", "recurrent_weight": "ap_fixed<9,3>",
                                               "recurrent_bias": "ap_fixed<10,4>", "table": "ap_fixed<12,2>",
                                               "result": "ap_fixed<13,4>"}, "ReuseFactor": 3}}}
    q = configure(g, cfg)
    n = _node(q, Op.GRU)
    types = [q.values[v].type for v in n.inputs[1:4]]
    assert types == [parse_type(t) for t in ("ap_fixed<8,3>", "ap_fixed<9,3>", "ap_fixed<10,4>")]
    assert n.precision["table"] == parse_type("ap_fixed<12,2>") and n.options["hls"].reuse_factor == 3
    cfg["LayerName"]["gru"]["Precision"]["bias"] = "ap_fixed<11,4>"  # the variable itself wins over the alias
    assert configure(g, cfg).values[_node(configure(g, cfg), Op.GRU).inputs[3]].type == parse_type("ap_fixed<11,4>")


def test_as_trained_recurrent_cell_behind_a_quantizer():
    """A quantized input in front of a GRU: accum lossless; the tables, the state and weights
    not exact in 32 bits take the default, reported."""
    from hlsforge.ir.ops import QuantizeAttrs

    g = FIXED_RECURRENT_CASES["gru"]()
    node = g.nodes[0]
    qn = g.add_node(Op.QUANTIZE, ["x"], attrs=QuantizeAttrs(parse_type("ap_fixed<8,3>")), source_name="qx")
    g.nodes.remove(qn)
    g.nodes.insert(0, qn)
    node.inputs[0] = qn.outputs[0]
    g.validate()
    with pytest.warns(UserWarning, match="GRU is computed with a table"):
        q = configure(g, input="ap_fixed<12,4>")
    n = _node(q, Op.GRU)
    notes = " ".join(q.metadata["as_trained"])
    assert "GRU is computed with a table; result takes" in notes and "W is not quantized" in notes
    assert isinstance(n.precision["accum"], FixedType)  # auto: lossless
    emulate.run(q, random_inputs(g, 4))
