"""Fixed point, HLS C simulation and CPU backend on trained tree models.

- on inputs of the input grid every decision of the quantized model equals float's;
- emulator == C-sim with hlsforge's header == C-sim with Xilinx ap_fixed.h, bit for bit;
- the CPU backend equals the float reference exactly (margin and proba), from many threads.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from tree_cases import lightgbm_model, probe_inputs, sklearn_model, xgboost_model

import hlsforge
from hlsforge import cpu_backend, reference
from hlsforge.errors import UnsupportedOpError
from hlsforge.hls_backend import compile_many
from hlsforge.ir.types import parse_type
from hlsforge.quantize import configure, emulate
from hlsforge.quantize.fixed import quantize, to_float
from hlsforge.quantize.trees import fixed_leaves, grid_thresholds
from hlsforge.trees.evaluate import leaves

IN_T = "ap_fixed<12,4,AP_RND,AP_SAT>"
CONFIGS = {
    "auto": {"model": {"input": IN_T, "leaf": "ap_fixed<18,4>", "accum": "auto", "result": "ap_fixed<24,8>"}},
    "narrow": {"model": {"input": "ap_fixed<10,3,AP_RND_CONV,AP_SAT>", "leaf": "ap_fixed<12,3,AP_RND>",
                         "accum": "ap_fixed<12,3,AP_TRN,AP_WRAP>", "result": "ap_fixed<10,3,AP_RND,AP_SAT>"}},
}


def _models():
    return {
        "xgb_multi": xgboost_model("multi:softprob"),
        "lgb_zero": lightgbm_model("binary", zero_as_missing=True),
        "rf_multi": sklearn_model("RandomForest", "multiclass"),
        "gb_binary": sklearn_model("GradientBoosting", "binary"),
    }


@pytest.mark.parametrize("name", ["xgb_multi", "lgb_zero", "rf_multi", "gb_binary"])
def test_grid_decisions_equal_float(name):
    g = hlsforge.load(_models()[name])
    a = g.nodes[0].attrs
    for text in (IN_T, "ap_fixed<8,3>", "ap_ufixed<10,2>"):
        t = parse_type(text)
        x = probe_inputs(a.threshold, a.feature, 20_000, nan=False, inf=False)
        x[:100] = 0.0
        raw = quantize(x.astype(np.float64), t)
        xg = to_float(raw, t)
        np.testing.assert_array_equal(
            fixed_leaves(a, np.asarray(raw, np.int64), grid_thresholds(a, t)), leaves(a, xg), err_msg=text)


def test_emulator_auto_accum_is_exact():
    g = hlsforge.load(_models()["xgb_multi"])
    q = configure(g, CONFIGS["auto"])
    a = q.nodes[0].attrs
    x = probe_inputs(g.nodes[0].attrs.threshold, g.nodes[0].attrs.feature, 5000, nan=False, inf=False)
    t = parse_type(IN_T)
    xg = to_float(quantize(x.astype(np.float64), t), t)
    lf = leaves(a, xg)
    want = np.stack([a.leaf_value[lf[:, a.tree_output == k], 0].sum(1) + a.base_score[k] for k in range(a.n_outputs)], 1)
    np.testing.assert_array_equal(emulate.run(q, x), want)  # result type holds every sum here


def test_hls_csim_equals_emulator_and_ap_fixed():
    cases, names = [], []
    for name, model in _models().items():
        for cname, cfg in CONFIGS.items():
            cases.append(configure(hlsforge.load(model), cfg))
            names.append(f"{name}_{cname}")
    ours = compile_many(cases, names=names)
    xilinx = compile_many(cases, names=names, flags=("-O0", "-std=c++17"), fixed_lib="ap_types")
    for name, q, a, b in zip(names, cases, ours, xilinx, strict=True):
        at = q.nodes[0].attrs
        x = probe_inputs(at.threshold, at.feature, 3000, nan=False, inf=False, seed=4)
        x[:30] = 0.0
        want = emulate.run(q, x)
        np.testing.assert_array_equal(a.predict(x), want, err_msg=name)
        np.testing.assert_array_equal(b.predict(x), want, err_msg=name + " (ap_fixed.h)")


def test_fixed_point_needs_margin_output():
    g = hlsforge.load(_models()["xgb_multi"], output="proba")
    with pytest.raises(UnsupportedOpError, match="output='margin'"):
        configure(g, CONFIGS["auto"])


def test_cpu_backend_equals_reference_threaded():
    graphs = [hlsforge.load(lightgbm_model("multiclass")),
              hlsforge.load(sklearn_model("RandomForest", "binary"), output="proba"),
              hlsforge.load(xgboost_model("binary:logistic"), output="proba")]
    models = cpu_backend.compile_models(graphs)
    for g, m in zip(graphs, models, strict=True):
        a = g.nodes[0].attrs
        x = probe_inputs(a.threshold, a.feature, 20_000, nan=True, inf=g.source_format != "xgboost")
        want = reference.run(g, x)
        np.testing.assert_array_equal(m.predict(x), want)
        errors = []

        def work(k, m=m, x=x, want=want, errors=errors):
            for i in range(k, 400, 8):
                if not np.array_equal(m.predict(x[i]), want[i : i + 1]):
                    errors.append(i)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors


def test_two_same_named_models_in_one_process():
    """Two different forests compiled under the same name, loaded side by side: each C-sim
    must use its own constants (no shared statics between libraries)."""
    outs = []
    for name in ("gb_binary", "rf_multi"):
        q = configure(hlsforge.load(_models()[name]), CONFIGS["auto"])
        m = hls_backend_compile(q, name="same_name")
        outs.append((q, m))
    for q, m in outs:
        at = q.nodes[0].attrs
        x = probe_inputs(at.threshold, at.feature, 2000, nan=False, inf=False, seed=9)
        np.testing.assert_array_equal(m.predict(x), emulate.run(q, x))


def hls_backend_compile(q, name):
    from hlsforge.hls_backend import compile as compile_hls

    return compile_hls(q, name=name)
