"""``hlsforge check`` on quantized models: saturation by a trained quantizer is the model's own
behaviour (reported apart, never "add integer bits"); the verdict line says agrees / differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import hlsforge
from hlsforge.cli import main
from hlsforge.crosscheck import compare

DATA = Path(__file__).parents[1] / "frontends" / "keras" / "data"


def test_quantizer_saturation_is_reported_apart_and_not_blamed(tmp_path: Path, capsys) -> None:
    model = DATA / "qkeras_v3_mlp.keras"
    x = np.load(DATA / "qkeras_v3_mlp_io.npz")["x"] * 4  # far beyond the input quantizer's ±8
    g = hlsforge.load(model)
    report = compare(g, x)
    sats = {c.layer: c.quantizer_saturations for c in report.layers if c.quantizer_saturations}
    assert sats and all(c.overflows == 0 for c in report.layers)
    assert report.input_quantizer_saturations and not any(report.input_overflows.values())
    assert report.ok and report.verdict.startswith("agrees")
    text = str(report)
    assert "add integer bits" not in text and "model's own quantizers" in text and "verdict: agrees" in text
    np.save(tmp_path / "x.npy", x)
    assert main(["check", str(model), "--inputs", str(tmp_path / "x.npy")]) == 0
    out = capsys.readouterr().out
    assert "verdict: agrees" in out and "add integer bits" not in out


def test_real_overflow_gives_differs_verdict_and_exit_1(tmp_path: Path, capsys) -> None:
    model = Path(__file__).parents[2] / "examples" / "jet_tagger_mlp.onnx"
    x = np.load(Path(__file__).parents[2] / "examples" / "jet_tagger_inputs.npy")
    report = compare(hlsforge.load(model), x, "ap_fixed<8,3>")
    assert not report.ok and report.verdict.startswith("differs") and "integer bits" in report.verdict
    np.save(tmp_path / "x.npy", x)
    assert main(["check", str(model), "--inputs", str(tmp_path / "x.npy"), "--precision", "ap_fixed<8,3>"]) == 1
    assert "verdict: differs" in capsys.readouterr().out


def test_check_help_documents_exit_codes(capsys) -> None:
    try:
        main(["check", "--help"])
    except SystemExit:
        pass
    assert "exit codes" in capsys.readouterr().out


def test_per_element_quantizer_saturation_is_the_models_own() -> None:
    """A per-channel quantizer that saturates is reported as the model's quantizer, not as an
    overflow, and the check agrees (the reference applies the same per-element types)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "quantize"))
    from per_element_cases import quantize_graph, random_elements

    rng = np.random.default_rng(2)
    g = quantize_graph((6,), random_elements((6,), rng, "RND", "SAT", prune=False), dense=True, configured=False)
    x = rng.normal(0, 20, (300, 6)).astype(np.float32)
    report = compare(g, x, {"model": {"input": "ap_fixed<24,10,AP_RND,AP_SAT>", "default": "ap_fixed<32,16>",
                                      "accum": "auto"}})
    sats = {c.layer: c.quantizer_saturations for c in report.layers if c.quantizer_saturations}
    assert sats and all(c.overflows == 0 for c in report.layers)
    assert "add integer bits" not in str(report)
