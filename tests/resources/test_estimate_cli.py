"""``hlsforge estimate`` on model files and projects, and the estimate in generated projects."""

from __future__ import annotations

import json

import pytest
from est_models import mlp

from hlsforge import load
from hlsforge.cli import main
from hlsforge.ir.serialize import save
from hlsforge.projects import read_settings, write_project
from hlsforge.quantize.config import configure
from hlsforge.resources import estimate


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("est") / "jet.json"
    save(mlp(), path)
    return path


def test_cli_estimate_model_json_matches_the_api(model_file, capsys):
    argv = ["estimate", str(model_file), "--precision", "ap_fixed<10,4>", "--reuse-factor", "2",
            "--part", "xcu250-figd2104-2L-e", "--clock", "4", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    api = estimate(load(model_file), part="xcu250-figd2104-2L-e", clock_ns=4.0,
                   config={"model": {"default": "ap_fixed<10,4>", "ReuseFactor": 2}})
    assert doc == json.loads(api.to_json())
    assert doc["ii"] == 2 and doc["part"] == "xcu250-figd2104-2L-e"


def test_cli_estimate_prints_a_table(model_file, capsys):
    assert main(["estimate", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert "xcvu13p" in out and "total" in out and "fc1" in out
    assert "not quantized" in out  # the default precision is said, not silent


def test_cli_estimate_errors_are_one_line(model_file, capsys):
    assert main(["estimate", str(model_file), "--part", "xc9zz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown FPGA part 'xc9zz'")
    assert main(["estimate", str(model_file), "--reuse-factor", "3"]) == 0  # each layer: the closest valid RF
    err = capsys.readouterr().err
    assert "warning: " in err and "using the closest valid one" in err and "UserWarning" not in err


def test_generated_project_carries_the_estimate(tmp_path, capsys):
    g = mlp()
    cfg = {"model": {"default": "ap_fixed<12,5>"}}
    out = tmp_path / "prj"
    write_project(g, cfg, out, name="jet", part="xcvu9p-flga2104-2-e", clock_period=4.0, n_test_events=5)
    doc = json.loads((out / "hlsforge_project.json").read_text())
    api = estimate(configure(g, cfg), part="xcvu9p-flga2104-2-e", clock_ns=4.0)
    assert doc["estimate"] == json.loads(api.to_json())
    readme = (out / "README.md").read_text()
    assert "## Resource estimate" in readme and f"{api.dsp} DSP" in readme
    assert read_settings(out).part == "xcvu9p-flga2104-2-e"  # the settings still read back
    assert main(["estimate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == doc["estimate"]
    assert main(["estimate", str(out)]) == 0
    assert f"{api.dsp} DSP" in capsys.readouterr().out
    assert main(["estimate", str(out), "--part", "xcu50"]) == 2
    assert "run `hlsforge estimate` on the model file" in capsys.readouterr().err


def test_project_for_a_part_the_database_lacks_still_writes(tmp_path):
    out = tmp_path / "prj"
    write_project(mlp(), "ap_fixed<12,5>", out, name="jet", part="xcau15p-ffvb676-2-e", n_test_events=5)
    assert "Not available: unknown FPGA part" in (out / "README.md").read_text()
    assert "estimate" not in json.loads((out / "hlsforge_project.json").read_text())
