"""Calibrated post-training quantization (``hlsforge.quantize.calibrate``).

Every claim is re-measured here from the returned configuration alone: configure it, emulate
it, and compare with the float reference (never the numbers calibrate reports about itself).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hlsforge
from hlsforge import reference
from hlsforge.errors import PrecisionError
from hlsforge.ir.types import parse_type
from hlsforge.quantize import configure, emulate
from hlsforge.quantize.calibrate import calibrate

ROOT = Path(__file__).parents[2]
MODEL = ROOT / "examples" / "jet_tagger_mlp.onnx"


@pytest.fixture(scope="module")
def jet() -> tuple[hlsforge.Graph, np.ndarray]:
    g = hlsforge.load(MODEL)
    x = np.load(ROOT / "examples" / "jet_tagger_inputs.npy")
    rng = np.random.default_rng(5)  # more events like the example's: resampled with small noise
    more = x[rng.integers(0, len(x), 800)] + rng.normal(0, 0.05, size=(800, x.shape[1])).astype(np.float32)
    return g, np.concatenate([x, more]).astype(np.float32)


def _agreement(g: hlsforge.Graph, cfg: dict, x: np.ndarray) -> tuple[float, float]:
    q = configure(g, cfg)
    y = np.asarray(emulate.run(q, x), np.float64)
    r = np.asarray(reference.run(g, x), np.float64)
    return float(np.mean(y.argmax(1) == r.argmax(1))), float(np.abs(y - r).max())


def test_calibration_meets_the_target_and_costs_less_than_the_default(jet: tuple[hlsforge.Graph, np.ndarray]) -> None:
    g, x = jet
    cal = hlsforge.quantize.calibrate(g, x, 0.999)  # the public name
    assert cal.met
    agreement, _ = _agreement(g, cal.config, x)
    assert agreement >= 0.999
    assert agreement == pytest.approx(cal.agreement)
    q = configure(g, cal.config)
    default = configure(g, "ap_fixed<16,6>")
    if cal.cost_kind.startswith("hlsforge.estimate"):
        mine, base = hlsforge.estimate(q), hlsforge.estimate(default)
        assert mine.lut <= base.lut and mine.dsp <= base.dsp
    # integer bits: no layer's calibration range overflows its result type (margin included)
    trace = reference.run(g, x, trace=True)
    for node in q.nodes:
        t = q.values[node.outputs[0]].type
        key = node.source_name if node.source_name in trace else node.name
        y = np.asarray(trace[key], np.float64)
        assert float(t.min) <= y.min() and y.max() <= float(t.max), node.name
    assert "fc1" in cal.report() and "why" in cal.report()


def test_max_error_target_and_yaml_round_trip(jet: tuple[hlsforge.Graph, np.ndarray]) -> None:
    yaml = pytest.importorskip("yaml")
    g, x = jet
    cal = calibrate(g, x[:300], {"max_error": 0.05}, cost="bits")
    _, err = _agreement(g, cal.config, x[:300])
    assert err <= 0.05
    loaded = yaml.safe_load(cal.to_yaml())
    assert loaded == cal.config
    for layer in loaded["layers"].values():
        for v in layer.values():
            assert v == "auto" or parse_type(v) is not None


@pytest.mark.parametrize("bad", [0, 1.5, "nope", {"argmax": 2}, {"max_error": -1}])
def test_bad_targets_are_precision_errors(jet: tuple[hlsforge.Graph, np.ndarray], bad: object) -> None:
    with pytest.raises(PrecisionError, match="target"):
        calibrate(jet[0], jet[1][:10], bad)


def test_cli_calibrate_writes_a_config_convert_accepts(jet: tuple[hlsforge.Graph, np.ndarray], tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    np.save(tmp_path / "x.npy", jet[1][:400])
    env_py = [sys.executable, "-m", "hlsforge.cli"]
    import os

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([*env_py, "calibrate", str(MODEL), "--data", str(tmp_path / "x.npy"), "-o", str(tmp_path / "c.yml")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "hlsforge convert" in r.stdout and (tmp_path / "c.yml").exists()
    r = subprocess.run([*env_py, "convert", str(MODEL), "--backend", "hls", "-o", str(tmp_path / "prj"),
                        "--config", str(tmp_path / "c.yml")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([*env_py, "calibrate", str(MODEL), "--data", str(tmp_path / "missing.npy"), "-o",
                        str(tmp_path / "d.yml")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "missing.npy" in r.stderr


def test_decoupled_agreement_matches_counting_when_every_event_has_the_same_error() -> None:
    """With one error for every event, pairing errors with leads is exactly counting flips."""
    from hlsforge.quantize.calibrate import argmax_agreement, decoupled_agreement, float_margins

    rng = np.random.default_rng(0)
    ref = rng.uniform(0, 1, (4000, 3))
    top = ref.argmax(1)
    y = ref.copy()
    y[np.arange(len(y)), top] -= 0.01  # the lead shrinks by 0.01 everywhere
    expected = argmax_agreement(y, top)
    assert expected < 1.0
    assert decoupled_agreement(y, ref, np.sort(float_margins(ref))) == pytest.approx(expected, abs=1e-12)


def test_decoupled_agreement_is_the_pairwise_flip_rate_of_boundary_errors() -> None:
    """Brute force over every (boundary error, lead) pair gives the same estimate."""
    from hlsforge.quantize.calibrate import BOUNDARY_FRACTION, decoupled_agreement, float_margins

    rng = np.random.default_rng(1)
    ref = rng.normal(0, 1, (1200, 4))
    y = ref + rng.normal(0, 0.05, ref.shape)
    lead = float_margins(ref)
    rows = np.arange(len(ref))
    top = ref.argmax(1)
    second = np.argsort(ref, 1)[:, -2]
    err = (y[rows, top] - y[rows, second]) - lead
    near = np.argsort(lead, kind="stable")[: max(50, int(BOUNDARY_FRACTION * len(ref)))]
    pairs = err[near][:, None] <= -lead[None, :]
    assert decoupled_agreement(y, ref, np.sort(lead)) == pytest.approx(1.0 - pairs.mean(), abs=1e-12)
