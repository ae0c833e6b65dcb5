"""The emulator: fast exact paths vs the literal loop, auto accumulators, overflow reporting,
inputs, and agreement with the float reference within the quantization error."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from op_zoo import CASES, random_inputs
from test_emulate_models import mlp_graph, small_cnn_graph

from hlsforge import reference
from hlsforge.errors import InputError, PrecisionError
from hlsforge.ir import Graph, Op
from hlsforge.ir.ops import FINAL_OPS
from hlsforge.ir.types import FixedType, Overflow, Rounding
from hlsforge.quantize import emulate
from hlsforge.quantize._emulate_arith import Fx, cast, overflow_mask
from hlsforge.quantize._emulate_dot import _loop, accumulate
from hlsforge.quantize.config import configure
from hlsforge.quantize.fixed import cast as fixed_cast
from hlsforge.quantize.fixed import convert_raw
from hlsforge.quantize.infer import dot_accum_type

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fixed_types(max_width: int = 16, min_int: int = -2, max_int: int = 8):
    return st.builds(
        FixedType,
        st.integers(2, max_width),
        st.integers(min_int, max_int),
        st.booleans(),
        st.sampled_from(list(Rounding)),
        st.sampled_from(list(Overflow)),
    )


def _raws(rng: np.random.Generator, t: FixedType, shape) -> np.ndarray:
    """Random raws of ``t``, with its extremes mixed in."""
    r = rng.integers(t.raw_min, t.raw_max, size=shape, endpoint=True, dtype=np.int64)
    flat = r.reshape(-1)
    if flat.size:
        flat[rng.integers(0, flat.size, size=max(1, flat.size // 5))] = rng.choice([t.raw_min, t.raw_max, 0])
    return r


def test_rules_cover_every_final_op() -> None:
    assert set(emulate.RULES) | set(emulate.UNSUPPORTED) == set(FINAL_OPS)


# ----------------------------------------------------------------------------- accumulation


@FAST
@given(
    xt=fixed_types(), wt=fixed_types(), bt=fixed_types(), acc=fixed_types(40, -4, 14),
    k=st.integers(1, 10), m=st.integers(1, 4), rows=st.sampled_from([1, 7, 40, 300]),
    seed=st.integers(0, 2**31), zero_row=st.booleans(),
)
def test_fast_accumulation_equals_the_literal_loop(xt, wt, bt, acc, k, m, rows, seed, zero_row) -> None:
    rng = np.random.default_rng(seed)
    x, w, b = _raws(rng, xt, (rows, k)), _raws(rng, wt, (k, m)), _raws(rng, bt, (m,))
    if zero_row:
        w[rng.integers(0, k)] = 0
    acc0 = convert_raw(b, bt.frac, acc)
    want, want_over = _loop(Fx(x, xt.frac), w, wt.frac, acc0, acc, True, overflow_mask(Fx(b, bt.frac), acc))
    got, _ = accumulate(Fx(x, xt.frac), w, wt.frac, b, bt.frac, acc)
    got_c, over = accumulate(Fx(x, xt.frac), w, wt.frac, b, bt.frac, acc, count=True)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_c, want)
    assert over == want_over


def _value(raw, frac: int) -> Fraction:
    return int(raw) * Fraction(2) ** -frac


def _exact_dot(x, w, b, xt, wt, bt) -> list[list[Fraction]]:
    return [
        [_value(b[j], bt.frac) + sum(_value(int(x[r, i]) * int(w[i, j]), xt.frac + wt.frac)
                                     for i in range(w.shape[0])) for j in range(w.shape[1])]
        for r in range(x.shape[0])
    ]


@FAST
@given(xt=fixed_types(20), wt=fixed_types(20), bt=fixed_types(20), k=st.integers(1, 8), m=st.integers(1, 3),
       seed=st.integers(0, 2**31))
def test_auto_accumulator_never_rounds_or_overflows(xt, wt, bt, k, m, seed) -> None:
    rng = np.random.default_rng(seed)
    w, b = _raws(rng, wt, (k, m)), _raws(rng, bt, (m,))
    acc = dot_accum_type(xt, w, wt, b, bt)
    # the worst inputs for every output (each x_i at the end of its range that maximizes
    # or minimizes its term) plus random ones
    worst = np.concatenate([np.where(w.T > 0, xt.raw_max, xt.raw_min), np.where(w.T > 0, xt.raw_min, xt.raw_max)])
    x = np.concatenate([worst, _raws(rng, xt, (20, k))])
    got, over = accumulate(Fx(x, xt.frac), w, wt.frac, b, bt.frac, acc, count=True)
    assert over == 0
    exact = _exact_dot(x, w, b, xt, wt, bt)
    assert [[_value(v, acc.frac) for v in row] for row in got] == exact
    # and it is the narrowest such type: one integer bit less overflows for a worst input
    if acc.width > 1:
        narrower = FixedType(acc.width - 1, acc.integer - 1)
        _, over_n = accumulate(Fx(worst, xt.frac), w, wt.frac, b, bt.frac, narrower, count=True)
        lo_hi = [v for row in exact[: len(worst)] for v in row] + [_value(v, bt.frac) for v in b]
        if any(not (narrower.min <= v <= narrower.max) for v in lo_hi):
            assert over_n > 0


def test_auto_accumulator_through_emulate_is_exact() -> None:
    g = CASES["dense"]()
    q = configure(g, {"model": {"default": "ap_fixed<10,3,AP_RND>", "accum": "auto"}})
    acc = q.nodes[0].precision["accum"]
    q = configure(g, {"model": {"default": "ap_fixed<10,3,AP_RND>", "accum": "auto"}, "layers": {"dense": {"result": str(acc)}}})
    x = random_inputs(g, 50, seed=1, scale=6.0)
    t = emulate.run(q, x, trace=True)
    xq = fixed_cast(x, q.values["x"].type)
    k, b = q.values["kernel"].data, q.values["bias"].data
    want = [[sum((Fraction(xq[r, i]) * Fraction(k[i, j]) for i in range(k.shape[0])), Fraction(b[j]))
             for j in range(k.shape[1])] for r in range(len(x))]
    assert [[Fraction(v) for v in row] for row in t.outputs["dense"]] == want
    assert t.total_overflows - t.input_overflows["x"] == 0


@FAST
@given(t=fixed_types(40, -6, 20), frac=st.integers(-4, 30), seed=st.integers(0, 2**31))
def test_cast_shortcut_equals_convert_raw(t, frac, seed) -> None:
    rng = np.random.default_rng(seed)
    scale = rng.choice([1 << 4, 1 << 20, 1 << 40])
    raw = rng.integers(-scale, scale, size=50)
    np.testing.assert_array_equal(cast(Fx(raw, frac), t), convert_raw(raw, frac, t))


@FAST
@given(t=fixed_types(20, -4, 10), frac=st.integers(-4, 24), seed=st.integers(0, 2**31))
def test_overflow_mask_is_rounding_outside_the_range(t, frac, seed) -> None:
    rng = np.random.default_rng(seed)
    raw = rng.integers(-(1 << 30), 1 << 30, size=40) >> rng.integers(0, 30)
    mask = overflow_mask(Fx(raw, frac), t)
    wide = FixedType(62, 62 - t.frac, True, t.rounding, Overflow.WRAP)  # same rounding, no overflow
    rounded = convert_raw(raw, frac, wide)
    assert mask.tolist() == ((rounded < t.raw_min) | (rounded > t.raw_max)).tolist()


# ----------------------------------------------------------------------------- overflow reporting


def _overflowing_dense(overflow: str) -> tuple[Graph, np.ndarray]:
    g = CASES["dense"]()
    cfg = {
        "model": {"default": "ap_fixed<16,6>", "input": "ap_fixed<16,8>"},
        "layers": {"dense": {"accum": "ap_fixed<40,12>", "result": f"ap_fixed<8,2,AP_TRN,AP_{overflow}>"}},
    }
    return configure(g, cfg), random_inputs(g, 200, seed=4, scale=20.0)


def test_wrap_overflow_is_counted() -> None:
    q, x = _overflowing_dense("WRAP")
    t = emulate.run(q, x, trace=True)
    # independent count: the accumulator (exact here: 28 fractional bits) outside [-2, 2)
    assert t.accum_overflows["dense"] == 0
    acc = _float_dense(q, x)
    expected = int(np.count_nonzero((acc >= 2) | (acc < -2)))
    assert t.overflows["dense"] == expected > 0
    y = t.outputs["dense"]
    assert np.all((y >= -2) & (y < 2))
    wrapped = (acc >= 2) | (acc < -2)
    np.testing.assert_array_equal(y[wrapped], ((np.floor(acc * 64) + 128) % 256 - 128)[wrapped] / 64)


def _float_dense(q: Graph, x: np.ndarray) -> np.ndarray:
    xq = fixed_cast(x, q.values["x"].type)
    return xq @ q.values["kernel"].data + q.values["bias"].data  # exact here: few, short terms


def test_saturation_clamps_and_is_counted() -> None:
    q, x = _overflowing_dense("SAT")
    t = emulate.run(q, x, trace=True)
    acc = _float_dense(q, x)
    assert t.overflows["dense"] == int(np.count_nonzero((acc >= 2) | (acc < -2))) > 0
    y = t.outputs["dense"]
    np.testing.assert_array_equal(y[acc >= 2], 2 - 1 / 64)
    np.testing.assert_array_equal(y[acc < -2], -2)


def test_accumulator_overflow_is_counted() -> None:
    g = CASES["dense"]()
    q = configure(g, {"model": {"default": "ap_fixed<16,6>", "input": "ap_fixed<16,8>", "accum": "ap_fixed<12,3>"}})
    t = emulate.run(q, random_inputs(g, 100, seed=2, scale=30.0), trace=True)
    assert t.accum_overflows["dense"] > 0
    assert t.input_overflows == {"x": int(np.count_nonzero(np.abs(random_inputs(g, 100, seed=2, scale=30.0)) >= 128))}


def test_no_overflow_reported_in_range() -> None:
    g = mlp_graph((6, 8, 4))
    q = configure(g, {"model": {"accum": "auto"}})
    t = emulate.run(q, np.random.default_rng(0).normal(size=(50, 6)), trace=True)
    assert t.total_overflows == 0


# ----------------------------------------------------------------------------- inputs and API


def test_nan_input_is_an_input_error() -> None:
    q = configure(CASES["relu"]())
    x = np.zeros((2, 12))
    x[1, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        emulate.run(q, x)


def test_infinity_saturates_under_sat_and_errors_under_wrap() -> None:
    g = CASES["relu"]()
    x = np.zeros((1, 12))
    x[0, 0], x[0, 1] = np.inf, -np.inf
    y = emulate.run(configure(g, {"model": {"input": "ap_fixed<8,4,AP_TRN,AP_SAT>"}}), x)
    assert y[0, 0] == 8 - 1 / 16 and y[0, 1] == 0
    with pytest.raises(InputError, match="infinity"):
        emulate.run(configure(g), x)


def test_unquantized_graph_is_rejected() -> None:
    with pytest.raises(PrecisionError, match="configure"):
        emulate.run(CASES["relu"](), np.zeros((1, 12)))


def test_trace_keys_and_layouts_follow_the_reference() -> None:
    g = small_cnn_graph()
    q = configure(g)
    x = np.random.default_rng(1).normal(size=(4, 2, 6, 6))  # the user's NCHW layout
    t = emulate.run(q, x, trace=True)
    r = reference.run(g, x, trace=True)
    assert list(t.outputs) == list(r) == ["conv", "relu", "pool", "flatten", "fc", "softmax"]
    for key in r:
        assert t.outputs[key].shape == r[key].shape
        assert t.raw[key].dtype == np.int64
    np.testing.assert_array_equal(emulate.run(q, x), t.outputs["softmax"])


def test_chunked_batches_give_the_same_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    g = small_cnn_graph()
    q = configure(g, {"model": {"default": "ap_fixed<10,4>"}})
    x = np.random.default_rng(2).normal(size=(37, 2, 6, 6)) * 2
    whole = emulate.run(q, x, trace=True)
    monkeypatch.setattr(emulate, "_CHUNK_ELEMENTS", 500)
    assert emulate._chunk_rows(q) < 37
    parts = emulate.run(q, x, trace=True)
    for key in whole.outputs:
        np.testing.assert_array_equal(parts.raw[key], whole.raw[key])
    assert parts.overflows == whole.overflows and parts.accum_overflows == whole.accum_overflows


def test_multiple_inputs_by_dict_and_list() -> None:
    g = CASES["concat"]()
    q = configure(g)
    x = random_inputs(g, 3)
    np.testing.assert_array_equal(emulate.run(q, x), emulate.run(q, [x["a"], x["b"]]))


def test_integer_input_type() -> None:
    g = CASES["relu"]()
    q = configure(g, {"model": {"input": "ap_int<6>", "default": "ap_fixed<8,8>"}})
    y = emulate.run(q, np.array([[-2.5, 2.5, 31.9, 40.0] + [0.0] * 8]))
    # ap_int converts toward zero and wraps: -2.5 -> -2 -> relu 0; 40 -> -24 -> 0
    np.testing.assert_array_equal(y[0, :4], [0, 2, 31, 0])


# ----------------------------------------------------------------------------- vs the float reference

_WIDE = {"model": {"default": "ap_fixed<20,8,AP_RND>", "accum": "ap_fixed<32,12,AP_RND>", "input": "ap_fixed<18,6>"}}


def _lsb(t) -> float:
    return 2.0 ** -t.frac


def _tolerance(q: Graph, node, x_in: np.ndarray) -> float:
    """Worst-case error of the emulator against float math on the same (quantized) inputs."""
    res = _lsb(q.values[node.outputs[0]].type)
    p = node.precision
    op = node.op
    if op in (Op.DENSE, Op.CONV1D, Op.CONV2D):
        k = q.values[node.inputs[1]].shape
        taps = int(np.prod(k[:-1]))
        return (taps + 1) * _lsb(p["accum"]) + res
    if op in (Op.AVGPOOL1D, Op.AVGPOOL2D, Op.GLOBAL_AVGPOOL):
        return _lsb(p["accum"]) + 64 * _lsb(p["scale"]) + res
    if op in (Op.LEAKY_RELU, Op.HARD_SIGMOID, Op.CLIP):
        return (np.abs(x_in).max() + 2) * _lsb(p["param"]) + res
    if op is Op.SELU:
        spec = node.options["table"]
        return float(spec.step) * 1.76 / 2 + _lsb(p["table"]) + np.abs(x_in).max() * _lsb(p["param"]) + res
    if op in (Op.SIGMOID, Op.TANH, Op.ELU, Op.SOFTPLUS):
        spec = node.options["table"]
        return float(spec.step) / 2 + _lsb(p["table"]) + res
    if op is Op.SOFTMAX:
        exp, inv = node.options["exp_table"], node.options["inv_table"]
        n = q.values[node.inputs[0]].shape[-1]
        de = float(exp.step) / 2 + _lsb(p["exp_table"])
        return (n + 2) * de + float(inv.step) / 2 + _lsb(p["inv_table"]) + _lsb(p["sum"]) + res
    return res


@pytest.mark.parametrize("case", list(CASES))
def test_op_zoo_within_quantization_error_of_float(case: str) -> None:
    g = CASES[case]()
    q = configure(g, _WIDE)
    x = random_inputs(g, 64, seed=11, scale=2.0)
    t = emulate.run(q, x, trace=True)
    if case != "quantize":  # a Quantize node saturating into its narrow target is its purpose
        assert t.total_overflows == 0
    xs = x if isinstance(x, dict) else {q.inputs[0]: x}
    xq = {n: fixed_cast(a, q.values[n].type) for n, a in xs.items()}
    r = reference.run(q, xq, trace=True)  # the float meaning, with the quantized weights
    node = q.nodes[0]
    key = next(iter(r))
    x_in = np.concatenate([np.ravel(a) for a in xq.values()])
    tol = _tolerance(q, node, x_in) + np.abs(r[key]).max() * 2.0**-22  # float32 reference
    err = np.abs(t.outputs[key] - r[key]).max()
    assert err <= tol, f"{case}: error {err} > bound {tol}"


def test_mlp_close_to_float_reference() -> None:
    # the softmax tables (1024 entries each) dominate the error at these widths
    g = mlp_graph()
    x = np.random.default_rng(0).normal(size=(2000, 16)).astype(np.float32)
    want = reference.run(g, x)
    for cfg, tol in (({"model": {"accum": "auto"}}, 0.02), ({"model": {"default": "ap_fixed<24,8,AP_RND>"}}, 0.005)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no constant overflows expected at these widths
            q = configure(g, cfg)
        got = emulate.run(q, x)
        assert np.abs(got - want).max() < tol
        top2 = np.sort(want, axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 2 * tol  # the label cannot flip within the error
        assert clear.sum() > 100
        np.testing.assert_array_equal(got.argmax(1)[clear], want.argmax(1)[clear])


def test_empty_and_unbatched_inputs() -> None:
    for g in (mlp_graph((4, 5, 3)), small_cnn_graph()):
        q = configure(g)
        shape = g.user_shape(g.inputs[0])
        assert emulate.run(q, np.zeros((0, *shape))).shape == (0, g.values[g.outputs[0]].shape[-1])
        one = np.random.default_rng(0).normal(size=shape)
        np.testing.assert_array_equal(emulate.run(q, one), emulate.run(q, one[None]))
