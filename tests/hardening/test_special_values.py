"""Special input values follow one documented rule in all four engines (docs/numerics.md,
"Special input values"; issue 15: the emulator saturated ±inf while the C-sim refused it, and
float64 values beyond the float32 range silently became NaN in the reference while inf itself
was refused).

The rule: every engine converts each input value with its own number system's conversion and
refuses a value (``InputError``, naming the input) only where that conversion is undefined.

- float engines (reference, CPU backend): the value is rounded to float32 as IEEE says
  (beyond the float32 range → ±inf, float64 subnormals → 0 or a float32 subnormal, -0.0 kept);
  NaN and ±inf are never refused and propagate as IEEE arithmetic does;
- fixed-point engines (emulator, C-sim): the float64 value converts exactly into the input type
  (§2): NaN → ``InputError``; ±inf → saturate (SAT, SAT_SYM), 0 (SAT_ZERO), ``InputError``
  (WRAP); values beyond the float32 range are ordinary out-of-range values; -0.0 is 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hlsforge import cpu_backend, reference
from hlsforge.errors import InputError
from hlsforge.hls_backend import compile_many
from hlsforge.ir import Graph, Op
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure

F32_MAX = float(np.finfo(np.float32).max)
SPECIAL = {
    "zeros": [0.0, -0.0, 0.0, -0.0],
    "inf": [np.inf, -np.inf, 1.0, -1.0],
    "beyond_f32": [1e39, -1e39, 3.5e38, -F32_MAX],
    "huge_f64": [1e300, -1e300, np.finfo(np.float64).max, 0.5],
    "subnormal_f64": [5e-324, -5e-324, 2.2e-308, -1e-310],
    "subnormal_f32": [1.4e-45, -1.4e-45, 1e-40, -1e-39],
}
INPUT_TYPES = {
    "sat": "ap_fixed<8,4,AP_TRN,AP_SAT>",
    "sat_sym_rnd": "ap_fixed<10,3,AP_RND,AP_SAT_SYM>",
    "sat_zero": "ap_fixed<8,4,AP_RND_CONV,AP_SAT_ZERO>",
    "wrap": "ap_fixed<8,4,AP_TRN,AP_WRAP>",
}


def graph() -> Graph:
    """x(4) -> ReLU -> Dense(3): the ReLU shows each input's converted value, the Dense mixes."""
    rng = np.random.default_rng(7)
    g = Graph("special_values")
    g.add_input("x", (4,))
    r = g.add_node(Op.RELU, ["x"], source_name="act")
    g.add_constant("k", rng.normal(size=(4, 3)).astype(np.float32))
    g.add_constant("b", rng.normal(size=(3,)).astype(np.float32))
    d = g.add_node(Op.DENSE, [r.outputs[0], "k", "b"], source_name="fc")
    g.outputs = [r.outputs[0], d.outputs[0]]
    return g.validate()


def batch(names: list[str]) -> np.ndarray:
    return np.array([SPECIAL[n] for n in names], dtype=np.float64)


@pytest.fixture(scope="module")
def engines():
    g = graph()
    qs = {k: configure(g, {"model": {"default": "ap_fixed<16,6>", "input": t}}) for k, t in INPUT_TYPES.items()}
    sims = compile_many(list(qs.values()), names=[f"special_{k}" for k in qs], flags=("-O0", "-std=c++17"))
    return g, cpu_backend.compile(g), qs, dict(zip(qs, sims, strict=True))


def test_float_engines_round_to_float32_and_propagate(engines):
    g, cpu, _, _ = engines
    x = np.concatenate([batch(list(SPECIAL)), [[np.nan, 1.0, np.nan, -2.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warnings: the rounding is the rule
        want = reference.run(g, x)
        got = cpu.predict(x)
    with np.errstate(over="ignore"):
        x32 = x.astype(np.float32)
    as_f32 = reference.run(g, x32)
    relu_ref, relu_cpu = want[g.outputs[0]], got[g.outputs[0]]
    # the ReLU output is the float32 input through max(x, 0): inf stays inf, 1e39 became inf
    np.testing.assert_array_equal(relu_ref[:, :2][1:3], [[np.inf, 0], [np.inf, 0]])
    for name in g.outputs:
        np.testing.assert_array_equal(want[name], as_f32[name])  # float64 inputs = their float32 rounding
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6)  # NaN where NaN
    assert np.isnan(relu_ref[-1, 0]) and np.isnan(relu_cpu[-1, 0])
    fast = cpu.predict(np.ascontiguousarray(x32))  # the lean float32 path: the same rule
    for name in g.outputs:
        np.testing.assert_allclose(fast[name], want[name], rtol=1e-5, atol=1e-6)
    assert np.isnan(want[g.outputs[1]][-1]).all() and np.isnan(got[g.outputs[1]][-1]).all()


@pytest.mark.parametrize("itype", list(INPUT_TYPES))
def test_fixed_engines_agree_bit_for_bit(engines, itype):
    _, _, qs, sims = engines
    q, sim = qs[itype], sims[itype]
    finite = batch(["zeros", "beyond_f32", "huge_f64", "subnormal_f64", "subnormal_f32"])
    np.testing.assert_array_equal(sim.predict(finite)[q.outputs[0]], emulate.run(q, finite)[q.outputs[0]])
    for name in q.outputs:
        np.testing.assert_array_equal(sim.predict(finite)[name], emulate.run(q, finite)[name])
    # -0.0 is 0; a float64 beyond the float32 range is an ordinary out-of-range value
    relu = emulate.run(q, finite)[q.outputs[0]]
    assert not np.signbit(relu[0]).any()
    inf = batch(["inf"])
    if itype == "wrap":
        for engine in (lambda v: emulate.run(q, v), sim.predict):
            with pytest.raises(InputError, match="infinity.*'x'|'x'.*infinity"):
                engine(inf)
    else:
        want = emulate.run(q, inf)
        for name in q.outputs:
            np.testing.assert_array_equal(sim.predict(inf)[name], want[name])
        big = batch(["beyond_f32"])[:, :2]
        np.testing.assert_array_equal(emulate.run(q, np.c_[inf[:, :2], [[0.0, 0.0]]])[q.outputs[0]][:, :2],
                                      emulate.run(q, np.c_[big, [[0.0, 0.0]]])[q.outputs[0]][:, :2])
        if itype == "sat_zero":
            assert (want[q.outputs[0]][0, :2] == 0).all()
        else:
            assert want[q.outputs[0]][0, 0] > 3.9  # +inf saturated to the input type's max
    nan = np.array([[1.0, np.nan, 0.0, 0.0]])
    for engine in (lambda v: emulate.run(q, v), sim.predict, sim.trace):
        with pytest.raises(InputError, match="NaN"):
            engine(nan)


@pytest.mark.slow
def test_ap_types_csim_follows_the_same_rule():
    """Xilinx ap_fixed.h converts special values exactly as hlsforge's header and the emulator."""
    g = graph()
    qs = [configure(g, {"model": {"default": "ap_fixed<16,6>", "input": t}})
          for k, t in INPUT_TYPES.items() if k != "wrap"]
    sims = compile_many(qs, names=[f"special_ap_{i}" for i in range(len(qs))], fixed_lib="ap_types",
                        flags=("-O0", "-std=c++17"))
    x = np.concatenate([batch(list(SPECIAL))])
    for q, sim in zip(qs, sims, strict=True):
        want, got = emulate.run(q, x), sim.predict(x)
        for name in q.outputs:
            np.testing.assert_array_equal(got[name], want[name])
