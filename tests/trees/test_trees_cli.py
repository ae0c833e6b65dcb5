"""The CLI on tree model files: inspect, check (float vs fixed vs CPU vs C-sim), convert + csim."""

from __future__ import annotations

import json

from tree_cases import lightgbm_model, xgboost_model

from hlsforge.cli import main


def test_check_and_project_on_tree_files(tmp_path, capsys):
    xp = tmp_path / "xgb.json"
    xgboost_model("binary:logistic").save_model(xp)
    assert main(["inspect", str(xp)]) == 0
    assert "TreeEnsemble" in capsys.readouterr().out
    assert main(["check", str(xp), "--cpu", "--csim", "--precision", "ap_fixed<18,8>", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backends"]["csim vs emulate"].startswith("exact")
    assert report["backends"]["cpu vs float reference"].startswith("agrees")
    lp = tmp_path / "lgb.txt"
    lightgbm_model("multiclass").save_model(lp)
    out = tmp_path / "prj"
    assert main(["convert", str(lp), "--backend", "hls", "-o", str(out), "--precision", "ap_fixed<18,6>"]) == 0
    assert main(["csim", str(out)]) == 0
    assert "0 differ" in capsys.readouterr().out
