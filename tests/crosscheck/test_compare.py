"""The cross-check report names overflowing layers and agrees with the emulator's own counts."""

import json
from pathlib import Path

import numpy as np

import hlsforge
from hlsforge.cli import main
from hlsforge.crosscheck import compare
from hlsforge.quantize import configure, emulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _model_and_events():
    return hlsforge.load(EXAMPLES / "jet_tagger_mlp.onnx"), np.load(EXAMPLES / "jet_tagger_inputs.npy")


def test_wide_types_give_a_clean_report():
    g, x = _model_and_events()
    report = compare(g, x, {"model": {"default": "ap_fixed<18,8>", "accum": "auto"}})
    assert report.ok
    assert [c.layer for c in report.layers] == ["fc1", "relu1", "fc2", "relu2", "fc3", "relu3", "fc4", "softmax"]
    assert all(c.overflows == 0 and "overflow" not in c.cause for c in report.layers)
    assert report.argmax_agreement is not None and report.argmax_agreement > 0.97


def test_narrow_types_are_blamed_on_overflow_with_the_emulators_counts():
    g, x = _model_and_events()
    config = {"model": {"default": "ap_fixed<10,2>", "accum": "auto"}}
    report = compare(g, x, config)
    trace = emulate.run(configure(g, config), x, trace=True)
    fc1 = report.layers[0]
    assert fc1.overflows == trace.overflows["fc1"] > 0
    assert fc1.cause.startswith("overflow") and "wrapped" in fc1.cause
    assert not report.ok
    assert report.input_overflows["input"] == trace.input_overflows["input"] > 0


def test_saturating_types_are_reported_as_saturated():
    g, x = _model_and_events()
    report = compare(g, x, {"model": {"default": "ap_fixed<10,2,AP_RND,AP_SAT>", "accum": "auto"}})
    assert "saturated" in report.layers[0].cause


def test_check_command_exit_code_and_json(tmp_path, capsys):
    inputs = str(EXAMPLES / "jet_tagger_inputs.npy")
    model = str(EXAMPLES / "jet_tagger_mlp.onnx")
    assert main(["check", model, "--inputs", inputs, "--precision", "ap_fixed<8,3>", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["layers"][0]["accum_overflows"] > 0
    assert main(["check", model, "--inputs", inputs, "--precision", "ap_fixed<18,8>"]) == 0
    assert "argmax agreement" in capsys.readouterr().out
