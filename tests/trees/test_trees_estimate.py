"""Resource estimate of TreeEnsemble (resources/rules/trees.py): it counts the emitted design,
so it grows with the number of trees and the depth, and ``hlsforge estimate`` takes tree files."""

from __future__ import annotations

import json

import numpy as np
from tree_cases import xgboost_model

import hlsforge
from hlsforge.cli import main
from hlsforge.ir.types import parse_type
from hlsforge.resources.rules.trees import comparator_widths

CFG = {"model": {"input": "ap_fixed<16,6>", "leaf": "ap_fixed<18,4>", "accum": "auto", "result": "ap_fixed<24,8>"}}


def _row(n_trees: int, depth: int):
    e = hlsforge.estimate(hlsforge.load(xgboost_model("binary:logistic", n_trees=n_trees, depth=depth)), config=CFG)
    (row,) = [r for r in e.layers if r.op == "TreeEnsemble"]
    return e, row


def test_estimate_scales_with_trees_and_depth():
    e10, r10 = _row(10, 3)
    e40, r40 = _row(40, 3)
    _, r40d = _row(40, 5)
    assert e10.ii == 1 and r10.ii == 1 and r10.dsp == 0
    assert 3 * r10.lut < r40.lut < 5 * r10.lut  # ~linear in trees
    assert r40d.lut > 1.5 * r40.lut  # deeper trees: more comparators, wider leaf muxes
    assert r40.latency_cycles >= r10.latency_cycles


def test_comparator_width_drops_trailing_ones():
    g = hlsforge.load(xgboost_model("binary:logistic"))
    t = parse_type("ap_fixed<16,6>")
    q = hlsforge.quantize.configure(g, CFG)
    a = q.nodes[0].attrs
    w = comparator_widths(a, t.width, t.frac, t.raw_min, t.raw_max)
    raw = np.rint(np.ldexp(a.threshold, t.frac)).astype(np.int64)
    inner = (a.feature >= 0) & (raw < t.raw_max) & (raw >= t.raw_min)
    for r, width in zip(raw[inner], w[inner], strict=True):
        ones = 0
        while ones < t.width and (int(r) >> ones) & 1:
            ones += 1
        assert width == max(t.width - ones, 1)
    # per-feature grids with 2 fraction bits: every threshold ends in 8 one bits
    cfg = {**CFG, "layers": {"trees": {"feature_input": ["ap_fixed<10,8>"] * 6}}}
    cfg["model"] = {**CFG["model"], "input": "ap_fixed<18,8>"}
    qa = hlsforge.quantize.configure(g, cfg).nodes[0].attrs
    t2 = parse_type("ap_fixed<18,8>")
    w2 = comparator_widths(qa, t2.width, t2.frac, t2.raw_min, t2.raw_max)
    assert w2.max() <= 10


def test_estimate_cli_on_tree_file(tmp_path, capsys):
    xp = tmp_path / "xgb.json"
    xgboost_model("binary:logistic").save_model(xp)
    assert main(["estimate", str(xp), "--precision", "ap_fixed<18,8>", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    rows = [r for r in rep["layers"] if r["op"] == "TreeEnsemble"]
    assert rows and rows[0]["lut"] > 0 and rep["ii"] == 1
