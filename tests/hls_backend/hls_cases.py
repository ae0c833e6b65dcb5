"""Shared cases for the HLS backend tests: precision configs, quantized op graphs, and the
exact comparison of a C simulation with the emulator (the spec, NUMERICS.md)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import op_zoo

from hlsforge.ir.graph import Graph
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure

BITS_ONLY_FLAGS = ("-O0", "-std=c++17")
"""Tests that check bits compile without optimization: identical results, fastest compile."""


def fixed(w: int, i: int, q: str = "TRN", o: str = "WRAP", signed: bool = True) -> str:
    return f"{'ap_fixed' if signed else 'ap_ufixed'}<{w},{i},AP_{q},AP_{o}>"


def matrix_config(w: int, i: int, q: str, o: str, **model: Any) -> dict[str, Any]:
    """Every variable at ``<w,i,q,o>``, a slightly wider accumulator, a rounding input."""
    body = {
        "default": fixed(w, i, q, o),
        "accum": fixed(w + 4, i + 3, q, o),
        "input": fixed(w, i, "RND", "SAT"),
    }
    body.update(model)
    return {"model": body}


QUICK_CONFIGS: dict[str, dict[str, Any]] = {
    "w4_trn_wrap": matrix_config(4, 2, "TRN", "WRAP"),
    "w8_rnd_sat": matrix_config(8, 3, "RND", "SAT"),
    "w12_rndconv_wrap": matrix_config(12, 5, "RND_CONV", "WRAP"),
    "w16_default": {"model": {"default": "ap_fixed<16,6>"}},
    "w24_rndconv_sat": matrix_config(24, 10, "RND_CONV", "SAT"),
    "w10_resource": {
        "model": {"default": "ap_fixed<10,4>", "Strategy": "Resource", "ReuseFactor": 3}
    },
    "exotic_modes": {
        "model": {
            "default": fixed(18, 8, "RND_ZERO", "SAT_SYM"),
            "accum": fixed(14, 6, "TRN_ZERO", "SAT_ZERO"),
        }
    },
    "unsigned_results": {
        "model": {
            "default": fixed(8, 3, "RND_INF", "SAT"),
            "accum": fixed(12, 5, "RND_MIN_INF", "WRAP"),
            "result": fixed(8, 3, "RND", "SAT", signed=False),
        }
    },
    "mixed_modes": {
        "model": {
            "default": fixed(9, 4, "RND", "SAT"),
            "accum": fixed(12, 5, "TRN_ZERO", "SAT_ZERO"),
            "result": fixed(8, 3, "RND_CONV", "SAT_SYM"),
            "input": fixed(10, 4, "RND_INF", "WRAP"),
        }
    },
}
"""Widths 4..24, TRN/RND/RND_CONV x WRAP/SAT, Latency and Resource, the other modes."""


def full_configs() -> dict[str, dict[str, Any]]:
    """The whole sweep (slow tests): every width x rounding x overflow; the strategy alternates
    so that both meet every mode."""
    out = {}
    combos = itertools.product(
        [(4, 2), (8, 3), (12, 5), (16, 6), (24, 10)], ["TRN", "RND", "RND_CONV"], ["WRAP", "SAT"]
    )
    for k, ((w, i), q, o) in enumerate(combos):
        strategy = "Resource" if k % 2 else "Latency"
        extra = {"Strategy": strategy, "ReuseFactor": 3} if strategy == "Resource" else {}
        out[f"w{w}_{q}_{o}_{strategy}".lower()] = matrix_config(w, i, q, o, **extra)
    out.update(QUICK_CONFIGS)
    return out


def chunks(items: list, size: int = 250) -> list[list]:
    """Split a sweep into libraries of a bounded size (one translation unit each)."""
    return [items[k : k + size] for k in range(0, len(items), size)]


def op_cases(
    configs: dict[str, dict[str, Any]], names: list[str] | None = None
) -> list[tuple[str, Graph]]:
    """``(label, quantized graph)`` for every op-zoo case under every config (recurrent cells
    and LayerNorm included: ``op_zoo.FIXED_POINT_CASES``)."""
    out = []
    for cname, cfg in configs.items():
        for case in names or list(op_zoo.FIXED_POINT_CASES):
            out.append((f"{cname}__{case}", configure(op_zoo.FIXED_POINT_CASES[case](), cfg)))
    return out


def model_name(label: str) -> str:
    return "m_" + label.replace("-", "_")


def emulator_inputs(graph: Graph, seed: int, batch: int = 64) -> Any:
    """Inputs that exercise overflow and rounding: a wide spread around the types' range."""
    return op_zoo.random_inputs(graph, batch, seed=seed, scale=3.0)


def assert_same_as_emulator(model: Any, graph: Graph, x: Any, label: str = "") -> None:
    """predict() and every layer of trace() equal the emulator's values exactly."""
    expected = emulate.run(graph, x, trace=True)
    got = model.trace(x)
    assert set(got) == set(expected.outputs), label
    for key, want in expected.outputs.items():
        np.testing.assert_array_equal(got[key], want, err_msg=f"{label}: layer {key!r}")
    y = model.predict(x)
    ey = emulate.run(graph, x)
    if isinstance(ey, dict):
        assert isinstance(y, dict) and set(y) == set(ey), label
        for k in ey:
            np.testing.assert_array_equal(y[k], ey[k], err_msg=f"{label}: output {k!r}")
    else:
        np.testing.assert_array_equal(y, ey, err_msg=f"{label}: output")


def assert_project_passes_with_measured_fifo_depths(out: Path, top_marker: str) -> None:
    """The project's own testbench passes, and every ``#pragma HLS STREAM`` depth in the top
    function (the firmware file containing ``top_marker``) is the one ``fifo_depths.json``
    reports: the measured occupancy plus the margin, never the upper bound."""
    from hlsforge import projects
    from hlsforge.hls_backend.stream import FIFO_MARGIN

    result = projects.run_csim(out, flags=BITS_ONLY_FLAGS)
    assert result.passed, result.output
    report = json.loads((out / "fifo_depths.json").read_text())
    top = next(p for p in (out / "firmware").glob("*.cpp") if top_marker in p.read_text()).read_text()
    pragmas = dict(re.findall(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)", top))
    assert pragmas and {f["name"]: str(f["depth"]) for f in report["fifos"]} == pragmas
    assert all(f["depth"] == max(f["max_occupancy"] + FIFO_MARGIN, 2) for f in report["fifos"])
    assert all(f["max_occupancy"] <= f["beats_per_inference"] for f in report["fifos"])
