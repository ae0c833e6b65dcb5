"""hlsforge.estimate: the acceptance properties (reuse, pruning, fabric products), the part
database, the records, consistency with the HLS lowering, and speed."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from est_models import cnn2d, mlp

import hlsforge
from hlsforge.errors import InputError, PrecisionError
from hlsforge.hls_backend.lower import lower
from hlsforge.ir import Graph, Op
from hlsforge.quantize.config import configure
from hlsforge.resources import PARTS, differentiable, estimate, get_part
from hlsforge.resources.arith import bram_18k_for, csd_digits, dsps_per_multiply, odd_part
from hlsforge.resources.parts import DSP48E1, DSP48E2, DSP58
from hlsforge.resources.schedule import io_type_of, multiply_schedule, top_pragma

Q16 = {"model": {"default": "ap_fixed<16,6>"}}


def _dense_rows(e):
    return [r for r in e.layers if r.op == "Dense"]


def test_estimate_is_exported():
    assert hlsforge.estimate is estimate


@pytest.mark.parametrize("rf", [2, 4, 8, 16])
def test_doubling_reuse_factor_halves_dsps(rf):
    """Once the multiplier limit n_in*n_out/RF binds, each doubling of RF halves the DSPs."""
    g = mlp()
    a = estimate(configure(g, {"model": {"default": "ap_fixed<16,6>", "ReuseFactor": rf}}))
    b = estimate(configure(g, {"model": {"default": "ap_fixed<16,6>", "ReuseFactor": 2 * rf}}))
    for ra, rb in zip(_dense_rows(a), _dense_rows(b), strict=True):
        assert ra.dsp > 0
        assert abs(rb.dsp - ra.dsp / 2) <= 1, (ra.name, ra.dsp, rb.dsp)
        assert rb.ii >= ra.ii


def test_reuse_factor_2_caps_dsps_at_the_multiplier_limit():
    """From RF 1 to 2 the DSPs drop to the limit n_in*n_out/2 — by half when every product
    needs a multiplier, less when shifts and shared products already need fewer (as Vitis
    HLS reports show: hls4ml's jet tagger kept 247 DSPs in fc1 at RF 1 and at RF 2)."""
    g = mlp()
    a = estimate(configure(g, {"model": {"default": "ap_fixed<16,6>", "ReuseFactor": 1}}))
    b = estimate(configure(g, {"model": {"default": "ap_fixed<16,6>", "ReuseFactor": 2}}))
    for ra, rb, node in zip(_dense_rows(a), _dense_rows(b), [n for n in g.nodes if n.op is Op.DENSE], strict=True):
        n_in, n_out = g.values[node.inputs[1]].shape
        assert rb.dsp == min(ra.dsp, n_in * n_out // 2)


@pytest.mark.parametrize("strategy", ["Latency", "Resource"])
def test_doubling_reuse_factor_halves_dsps_both_strategies(strategy):
    g = mlp()
    cfg = lambda rf: {"model": {"default": "ap_fixed<16,6>", "ReuseFactor": rf, "Strategy": strategy}}  # noqa: E731
    a, b = estimate(configure(g, cfg(4))), estimate(configure(g, cfg(8)))
    assert abs(b.dsp - a.dsp / 2) <= len(_dense_rows(a))


def test_pruning_70_percent_cuts_multiplies_by_70_percent():
    full = estimate(configure(mlp(softmax=False), Q16))
    pruned = estimate(configure(mlp(softmax=False, prune=0.7), Q16))
    ratio = pruned.multiplies / full.multiplies
    assert ratio == pytest.approx(0.3, abs=0.01)
    for rf, rp in zip(_dense_rows(full), _dense_rows(pruned), strict=True):
        assert rp.multiplies / rf.multiplies == pytest.approx(0.3, abs=0.02)
    # pruned weights free their multipliers (Latency); the survivors are the large weights,
    # which more often need a multiplier than a shift or one adder
    assert pruned.dsp < 0.45 * full.dsp


def test_a_6_1_by_6_1_product_goes_to_fabric():
    g = Graph("mul66")
    g.add_input("a", (8,))
    g.add_input("b", (8,))
    out = g.add_node(Op.MUL, ["a", "b"], source_name="mul").outputs[0]
    g.outputs = [out]
    q = configure(g.validate(), {"model": {"default": "ap_fixed<6,1>", "result": "ap_fixed<12,2>"}})
    e = estimate(q)
    row = e.layers[0]
    assert row.dsp == 0 and row.fabric_multiplies == 8 and row.dsp_multiplies == 0
    assert row.lut > 0
    # and the same in a Dense layer: <6,1> inputs times <6,1> weights use no DSP
    d = estimate(configure(mlp(softmax=False), {"model": {"default": "ap_fixed<6,1>", "accum": "ap_fixed<16,6>"}}))
    assert d.dsp == 0 and sum(r.fabric_multiplies for r in d.layers) > 0
    # while <16,6> x <16,6> goes to DSPs
    w = estimate(configure(mlp(softmax=False), Q16))
    assert w.dsp > 0


def test_zero_weights_are_free_powers_of_two_are_shifts_and_products_are_shared():
    g = Graph("shifts")
    g.add_input("x", (4,))
    # column 0: shifts (0.5, 1, -0.25, 2); column 1: zeros; column 2: 3/8 and 5/8 are one
    # adder each (two CSD digits), 11/32 and 13/16 need a multiplier (three digits);
    # column 3 repeats 11/32 on the same input: the product is computed once
    k = np.array([[0.5, 0, 0.375, 0], [1.0, 0, 0.34375, 0.34375], [-0.25, 0, 0.8125, 0], [2.0, 0, 0.625, 0]],
                 dtype=np.float32)
    g.add_constant("k", k)
    g.add_constant("b", np.zeros(4, np.float32))
    out = g.add_node(Op.DENSE, ["x", "k", "b"], source_name="fc").outputs[0]
    g.outputs = [out]
    row = estimate(configure(g.validate(), {"model": {"default": "ap_fixed<16,6>"}})).layers[0]
    assert row.multiplies == 9  # the 7 zeros are skipped
    assert row.shifts == 4
    assert row.dsp_multiplies == 2 and row.dsp == 2  # 11/32 (shared by two outputs) and 13/16
    forced = estimate(configure(g.validate(), {"model": {"default": "ap_fixed<16,6>"}}),
                      model=hlsforge.resources.CostModel(mult_impl="fabric")).layers[0]
    assert forced.dsp == 0 and forced.lut > row.lut


def test_csd_digits_and_dsp_tiles():
    assert list(csd_digits(np.array([0, 1, 3, 7, 5, 11, 255, -7]))) == [0, 1, 2, 2, 2, 3, 2, 2]
    assert list(odd_part(np.array([0, 8, 12, -40]))) == [0, 1, 3, 5]
    assert dsps_per_multiply(DSP48E2, 27, 18) == 1
    assert dsps_per_multiply(DSP48E2, 18, 27) == 1
    assert dsps_per_multiply(DSP48E1, 27, 18) == 2  # over the 25-bit port
    assert dsps_per_multiply(DSP48E2, 32, 32) == 4
    assert dsps_per_multiply(DSP58, 27, 24) == 1
    assert dsps_per_multiply(DSP48E2, 27, 24) == 2
    assert bram_18k_for(1024, 18) == 1 and bram_18k_for(512, 36) == 1 and bram_18k_for(4, 72) == 2


def _full_range_dense(t: str, n_in: int = 16, n_out: int = 8, seed: int = 0) -> Graph:
    """One Dense layer whose weights use the whole range of ``t`` (uniform raw integers)."""
    ft = hlsforge.ir.types.parse_type(t)
    rng = np.random.default_rng(seed)
    raw = rng.integers(ft.raw_min, ft.raw_max, size=(n_in, n_out), endpoint=True)
    g = Graph(f"dense_{n_in}_{n_out}")
    g.add_input("x", (n_in,))
    g.add_constant("k", raw * 2.0 ** -ft.frac)
    g.add_constant("b", np.zeros(n_out))
    g.outputs = [g.add_node(Op.DENSE, ["x", "k", "b"], source_name="fc").outputs[0]]
    return g.validate()


def test_wider_than_the_port_costs_more_dsps():
    cfg = lambda w: {"model": {"default": f"ap_fixed<{w},6>", "accum": "ap_fixed<48,16>"}}  # noqa: E731
    narrow = estimate(configure(_full_range_dense("ap_fixed<18,6>"), cfg(18))).layers[0]
    wide = estimate(configure(_full_range_dense("ap_fixed<24,6>"), cfg(24))).layers[0]
    versal = estimate(configure(_full_range_dense("ap_fixed<24,6>"), cfg(24)), part="xcvc1902-vsva2197-2MP-e-S").layers[0]
    assert narrow.dsp == narrow.dsp_multiplies > 100  # 18 x 18 fits one DSP48E2
    assert wide.dsp == 2 * wide.dsp_multiplies  # 24 x 24 needs two DSP48E2 (27 x 18)
    assert versal.dsp == versal.dsp_multiplies  # a DSP58 takes 27 x 24 in one
    # two activations multiplied: the declared widths decide
    g = Graph("mul24")
    g.add_input("a", (4,))
    g.add_input("b", (4,))
    g.outputs = [g.add_node(Op.MUL, ["a", "b"], source_name="mul").outputs[0]]
    q = configure(g.validate(), {"model": {"default": "ap_fixed<24,6>", "result": "ap_fixed<48,12>"}})
    assert estimate(q).dsp == 8 and estimate(q, part="xcvc1902").dsp == 4
    assert estimate(q, part="xc7z020").dsp == 8  # DSP48E1 25 x 18: two as well


def test_part_database():
    for name in ("xcvu13p", "xcvu9p", "xcku115", "xcu250", "xcu50", "xcvc1902", "xc7z020", "xc7k325t"):
        assert name in PARTS
        p = PARTS[name]
        assert p.lut > 0 and p.ff >= p.lut and p.dsp > 0 and p.bram_18k > 0
    assert get_part("xcvu13p-flga2577-2-e").name == "xcvu13p"
    assert get_part("XCU250-FIGD2104-2L-E").name == "xcu250"
    assert get_part("xc7z020clg400-1").dsp_family is DSP48E1
    assert get_part("xcvc1902").dsp_family is DSP58
    with pytest.raises(InputError, match="unknown FPGA part 'xc9zz'.*xcvu13p"):
        get_part("xc9zz")


def test_records_totals_utilization_and_serialization():
    e = estimate(configure(mlp(), Q16), part="xcvu9p-flga2104-2-e", clock_ns=4.0)
    assert e.lut == sum(r.lut for r in e.layers)
    assert e.dsp == sum(r.dsp for r in e.layers)
    assert e.utilization["dsp"] == pytest.approx(100 * e.dsp / PARTS["xcvu9p"].dsp)
    assert e.latency_ns == pytest.approx(4.0 * e.latency_cycles)
    d = json.loads(e.to_json())
    assert d["dsp"] == e.dsp and d["part"] == "xcvu9p-flga2104-2-e" and len(d["layers"]) == len(e.layers)
    assert {"name", "op", "lut", "ff", "dsp", "bram_18k", "latency_cycles", "ii", "multiplies", "notes"} <= set(d["layers"][0])
    text = str(e)
    assert "fc1" in text and "total" in text and str(e.dsp) in text


def test_latency_grows_with_a_faster_clock_and_sums_along_the_path():
    g = configure(mlp(), Q16)
    slow, fast = estimate(g, clock_ns=10.0), estimate(g, clock_ns=2.5)
    assert fast.latency_cycles > slow.latency_cycles
    m = slow_model = hlsforge.resources.DEFAULT_MODEL
    hops = sum(r.latency_cycles + (m.layer_boundary_cycles if r.latency_cycles else 0) for r in slow.layers)
    assert slow.latency_cycles == hops + slow_model.top_overhead_cycles


def test_config_argument_and_unquantized_graph():
    g = mlp()
    a = estimate(g, config=Q16)
    b = estimate(configure(g, Q16))
    assert a.to_dict() == b.to_dict()
    c = estimate(g)
    assert any("not quantized" in n for n in c.notes)
    with pytest.raises(PrecisionError, match="already quantized"):
        estimate(configure(g, Q16), config=Q16)
    with pytest.raises(PrecisionError, match="clock_ns"):
        estimate(configure(g, Q16), clock_ns=0)


def test_invalid_reuse_factor_is_the_lowering_error():
    g = mlp()
    first = g.nodes[0].name
    q = configure(g, {"model": {"default": "ap_fixed<16,6>"}, "layers": {first: {"ReuseFactor": 3}}})
    with pytest.raises(PrecisionError, match="ReuseFactor 3 is not valid.*valid ReuseFactors: 1, 2, 4"):
        estimate(q)


def test_model_wide_reuse_factor_takes_each_layers_closest_valid_one():
    """As hls4ml does: a ReuseFactor for the whole model becomes, per layer, the closest valid
    one (the smaller of two equally close), with a warning naming the layer."""
    with pytest.warns(UserWarning, match="ReuseFactor 3 .* using the closest valid one, 2") as caught:
        q = configure(mlp(), {"model": {"default": "ap_fixed<16,6>", "ReuseFactor": 3}})
    assert len(caught) == len([n for n in q.nodes if n.op.value == "Dense"])
    assert {n.options["hls"].reuse_factor for n in q.nodes if n.op.value == "Dense"} == {2}
    assert estimate(q).layers  # lowers and estimates with the adjusted values


@pytest.mark.parametrize("strategy", ["Latency", "Resource"])
def test_schedule_matches_the_lowered_records(strategy):
    """The estimate's reuse factor, strategy, multiplier limit and top pragma are the values
    the HLS lowering writes into the generated configs."""
    g = configure(cnn2d(shape=(8, 8, 2), filters=(4,), dense=(8,)), {
        "model": {"default": "ap_fixed<12,4>", "ReuseFactor": 2, "Strategy": strategy}})
    model = lower(g)
    by_node = {n.name: n for n in g.nodes}
    for layer in model.layers:
        cfg = {name: v for c in layer.configs for (_, name, v) in c.ints}
        if "multiplier_limit" in cfg and layer.op in ("Dense", "Conv2D"):
            s = multiply_schedule(by_node[layer.node], cfg["n_in"], cfg["n_out"])
            assert s.multiplier_limit == cfg["multiplier_limit"]
            assert s.reuse_factor == layer.reuse_factor == cfg["reuse_factor"]
            assert s.strategy == layer.strategy
    assert top_pragma(g, io_type_of(g)) == model.top_pragma
    e = estimate(g)
    assert {r.name: r.reuse_factor for r in e.layers if r.op in ("Dense", "Conv2D")} == {
        la.node: la.reuse_factor for la in model.layers if la.op in ("Dense", "Conv2D")}


def test_resource_strategy_puts_weights_in_block_ram():
    """Resource: weight ROMs of depth RF — block RAM from depth 32, LUT-ROM below."""
    g = mlp(softmax=False)
    lat = estimate(configure(g, {"model": {"default": "ap_fixed<16,6>", "ReuseFactor": 32}}))
    res = estimate(configure(g, {"model": {"default": "ap_fixed<16,6>", "ReuseFactor": 32, "Strategy": "Resource"}}))
    assert res.bram_18k > lat.bram_18k == 0
    shallow = estimate(configure(g, {"model": {"default": "ap_fixed<16,6>", "ReuseFactor": 16, "Strategy": "Resource"}}))
    assert shallow.bram_18k == 0 and shallow.lut > res.lut


def test_io_stream_is_modelled():
    g = configure(cnn2d(shape=(10, 10, 2), filters=(4,), dense=(8,)), {"model": {"default": "ap_fixed<10,4>"}})
    par = estimate(g)
    for n in g.nodes:
        n.options["hls"] = {"reuse_factor": 1, "strategy": "latency", "io_type": "io_stream"}
    st = estimate(g)
    assert par.io_type == "io_parallel" and st.io_type == "io_stream"
    assert any(r.op == "FIFO" for r in st.layers)
    assert st.latency_cycles <= par.latency_cycles + 5


@pytest.mark.parametrize("config", ["ap_fixed<16,6>", "ap_fixed<6,2>", {"model": {"default": "ap_fixed<10,4,AP_RND,AP_SAT>", "accum": "auto"}}])
def test_every_op_in_the_zoo_is_costed(config):
    """Every op-zoo case gets a row per node with sane numbers, under several precisions."""
    from op_zoo import FIXED_POINT_CASES, covered_ops

    seen = set()
    for name, build in FIXED_POINT_CASES.items():
        g = configure(build(), config)
        e = estimate(g)
        assert [r.name for r in e.layers] == [n.name for n in g.nodes], name
        for r in e.layers:
            assert min(r.lut, r.ff, r.dsp, r.bram_18k, r.latency_cycles) >= 0 and r.ii >= 1, (name, r)
        seen |= {n.op for n in g.nodes}
    from hlsforge.resources import UNSUPPORTED

    assert seen >= covered_ops() - set(UNSUPPORTED)


def test_speed_under_50_ms_for_a_10_layer_model():
    g = configure(mlp((100,) * 11, softmax=False), Q16)  # 10 Dense layers of 100 x 100
    estimate(g)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        estimate(g)
        times.append(time.perf_counter() - t)
    assert sorted(times)[2] < 0.05, times


# ----------------------------------------------------------------------------- differentiable


@pytest.mark.parametrize("bits", [6, 10, 12, 16])
def test_differentiable_matches_the_discrete_estimate(bits):
    """On weights that use their whole type (what a bit width means to the smooth form),
    the smooth DSP and LUT counts agree with the discrete estimate. (Near the DSP binding
    threshold, ~8 x 8 bits, they differ more: the discrete rule sees each constant's
    narrowed width, the smooth one the declared width.)"""
    t = f"ap_fixed<{bits},3>"
    g = _full_range_dense(t, 32, 16, seed=bits)
    cfg = {"model": {"default": t, "accum": f"ap_fixed<{2 * bits + 6},9>"}}
    row = estimate(configure(g, cfg)).layers[0]
    d = differentiable.dense_cost(np, bits, bits, 32, 16, "dsp")
    assert d == pytest.approx(row.dsp, rel=0.15, abs=8)
    lut = differentiable.dense_cost(np, bits, bits, 32, 16, "lut")
    assert lut == pytest.approx(row.lut, rel=0.35)
    rf = estimate(configure(g, {"model": {**cfg["model"], "ReuseFactor": 4}})).layers[0]
    d4 = differentiable.dense_cost(np, bits, bits, 32, 16, "dsp", reuse_factor=4)
    assert d4 == pytest.approx(rf.dsp, rel=0.15, abs=8)


def test_differentiable_is_smooth_and_monotone_numpy():
    bw = np.full((16, 8), 8.0)
    base = differentiable.dense_cost(np, 10.0, bw, 16, 8, "lut_dsp")
    more = differentiable.dense_cost(np, 10.0, bw + 1, 16, 8, "lut_dsp")
    assert more > base > 0
    # pruning a weight (bits -> 0) removes its cost
    pruned = bw.copy()
    pruned[:8] = 0.0
    assert differentiable.dense_cost(np, 10.0, pruned, 16, 8, "ebops") == pytest.approx(
        0.5 * differentiable.dense_cost(np, 10.0, bw, 16, 8, "ebops"), rel=0.02)
    # finite differences exist everywhere (no flat steps at the DSP threshold)
    xs = [differentiable.dense_cost(np, 8.0, b, 4, 4, "lut_dsp") for b in np.linspace(2, 20, 50)]
    assert np.all(np.diff(xs) > 0)
    with pytest.raises(ValueError, match="metric"):
        differentiable.dense_cost(np, 8, 8, 4, 4, "watts")


def test_long_clock_chains_layers_into_one_cycle():
    """At 25 ns HLS leaves small layers combinational and chains them (no registers); at
    3.33 ns every layer is pipelined and its output registered."""
    g = configure(mlp((8, 8, 4), softmax=False), {"model": {"default": "ap_fixed<10,4>"}})
    slow, fast = estimate(g, clock_ns=25.0), estimate(g, clock_ns=3.33)
    assert all(r.latency_cycles == 0 and r.comb_ns > 0 for r in slow.layers)
    assert slow.latency_cycles <= 1 and sum(r.ff for r in slow.layers) == 0
    assert all(r.latency_cycles >= 1 for r in fast.layers if r.op == "Dense")
    assert fast.latency_cycles > 5 and fast.ff > slow.ff
