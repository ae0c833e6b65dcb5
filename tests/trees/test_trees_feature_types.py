"""Per-feature input types (``feature_input``): thresholds on each feature's own grid, every
decision on that grid equal to float, emulator == C-sim (hlsforge header and ap_fixed)."""

from __future__ import annotations

import numpy as np
import pytest
from tree_cases import N_FEATURES, lightgbm_model, probe_inputs, xgboost_model

import hlsforge
from hlsforge.errors import PrecisionError
from hlsforge.hls_backend import compile_many
from hlsforge.ir.types import parse_type
from hlsforge.quantize import configure, emulate
from hlsforge.quantize.fixed import quantize, to_float
from hlsforge.quantize.trees import fixed_leaves
from hlsforge.trees.evaluate import leaves

IN_T = "ap_fixed<18,6,AP_RND,AP_SAT>"
# mixed grids: integer-like, coarse, fine, unsigned; all inside IN_T
FEATURE_T = ["ap_fixed<10,4>", "ap_int<5>", "ap_fixed<14,5>", "ap_ufixed<8,3>", "ap_fixed<6,3>", "ap_fixed<18,6>"]


def _feature_types() -> list[str]:
    return [FEATURE_T[i % len(FEATURE_T)] for i in range(N_FEATURES)]


def _config(ft: list[str]) -> dict:
    return {"model": {"input": IN_T, "leaf": "ap_fixed<18,4>", "accum": "auto", "result": "ap_fixed<24,8>"},
            "layers": {"trees": {"feature_input": ft}}}


def _per_feature_grid(x: np.ndarray, ft: list[str]) -> np.ndarray:
    cols = [to_float(quantize(x[:, f].astype(np.float64), parse_type(t)), parse_type(t)) for f, t in enumerate(ft)]
    return np.stack(cols, 1)


def _trunc(x: np.ndarray, ft: list[str]) -> np.ndarray:
    return np.stack([np.floor(np.ldexp(x[:, f], parse_type(t).frac)) / 2.0 ** parse_type(t).frac
                     for f, t in enumerate(ft)], 1)


@pytest.mark.parametrize("model", ["xgb", "lgb"])
def test_per_feature_grid_decisions_equal_float(model):
    m = xgboost_model("binary:logistic") if model == "xgb" else lightgbm_model("binary")
    g = hlsforge.load(m)
    ft = _feature_types()
    q = configure(g, _config(ft))
    a, aq = g.nodes[0].attrs, q.nodes[0].attrs
    t_in = parse_type(IN_T)
    t_raw = np.rint(np.ldexp(aq.threshold, t_in.frac)).astype(np.int64)
    x = probe_inputs(a.threshold, a.feature, 20_000, nan=False, inf=False)
    x[:100] = 0.0
    # on each feature's own grid: every decision equals float
    xg = _per_feature_grid(x.astype(np.float64), ft)
    raw = np.asarray(quantize(xg, t_in), np.int64)
    np.testing.assert_array_equal(to_float(raw, t_in), xg)  # the common type holds every feature grid
    np.testing.assert_array_equal(fixed_leaves(aq, raw, t_raw), leaves(a, xg))
    # any common-grid input: the float decision of the input truncated onto its feature's grid
    raw = np.asarray(quantize(x.astype(np.float64) * 3.3, t_in), np.int64)
    xc = to_float(raw, t_in)
    np.testing.assert_array_equal(fixed_leaves(aq, raw, t_raw), leaves(a, _trunc(xc, ft)))


def test_per_feature_csim_equals_emulator_and_ap_fixed():
    g = hlsforge.load(xgboost_model("multi:softprob"))
    q = configure(g, _config(_feature_types()))
    (ours,) = compile_many([q], names=["ftypes"])
    (xil,) = compile_many([q], names=["ftypes"], flags=("-O0", "-std=c++17"), fixed_lib="ap_types")
    a = g.nodes[0].attrs
    x = probe_inputs(a.threshold, a.feature, 3000, nan=False, inf=False, seed=4)
    want = emulate.run(q, x)
    np.testing.assert_array_equal(ours.predict(x), want)
    np.testing.assert_array_equal(xil.predict(x), want)


def test_feature_input_errors():
    g = hlsforge.load(xgboost_model("binary:logistic"))
    ft = _feature_types()
    ft[2] = "ap_fixed<16,2>"  # 14 fraction bits > the input's 12
    with pytest.raises(PrecisionError, match=r"feature_input\[2\]"):
        configure(g, _config(ft))
    with pytest.raises(PrecisionError, match="feature_input has 2 types"):
        configure(g, _config(ft[:2]))
    with pytest.raises(PrecisionError, match="feature_input"):
        configure(g, _config("ap_fixed<8,3>"))  # type: ignore[arg-type]


def test_feature_input_config_round_trip_and_graph_save(tmp_path):
    from hlsforge.quantize.config import PrecisionConfig

    cfg = PrecisionConfig.load(_config(_feature_types()))
    assert PrecisionConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()
    q = configure(hlsforge.load(xgboost_model("binary:logistic")), cfg)
    from hlsforge.ir.serialize import save

    save(q, tmp_path / "q.json")
    back = hlsforge.load(tmp_path / "q.json")
    x = probe_inputs(q.nodes[0].attrs.threshold, q.nodes[0].attrs.feature, 500, nan=False, inf=False)
    np.testing.assert_array_equal(emulate.run(back, x), emulate.run(q, x))
