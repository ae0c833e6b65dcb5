"""Calibration: hlsforge.estimate against published Vitis HLS synthesis reports.

The records in tests/data/synthesis/ (sources inside each file) are rebuilt as hlsforge
graphs with the source's own quantized weights and types; the test prints estimate/actual
per point and per resource, and the median relative errors, then asserts the goals
(median relative error <= 25 % for DSP and latency, <= 40 % for LUT and FF).

Run with ``-s`` to see the table. What the data covers and where the model misses is in
docs/estimate.md ("Calibration").
"""

from __future__ import annotations

import statistics

import pytest
from synthesis_points import points

from hlsforge.resources import estimate

RESOURCES = ("dsp", "latency_cycles", "lut", "ff", "bram_18k")
GOALS = {"dsp": 0.25, "latency_cycles": 0.25, "lut": 0.40, "ff": 0.40}


def _rel(est: int, act: int) -> float:
    return abs(est - act) / max(act, 1)


@pytest.fixture(scope="module")
def comparison():
    rows = []
    for pt, graph, part, clock, model in points():
        e = estimate(graph, part=part, clock_ns=clock, model=model)
        est = {r: int(getattr(e, r)) for r in RESOURCES}
        rows.append((pt, est))
    return rows


def test_collected_enough_points(comparison):
    ids = [pt.id for pt, _ in comparison]
    assert len(ids) >= 10 and len(set(ids)) == len(ids)
    assert len({pt.id.split("/")[0] for pt, _ in comparison}) >= 5  # several models
    assert {pt.mult_impl for pt, _ in comparison} >= {"dsp", "fabric"}


def test_estimate_against_synthesis(comparison):
    errors: dict[str, list[float]] = {r: [] for r in RESOURCES}
    lines = ["point".ljust(28) + "".join(f"{r:>22}" for r in RESOURCES)]
    for pt, est in comparison:
        cells = []
        for r in RESOURCES:
            a, b = pt.reported[r], est[r]
            errors[r].append(_rel(b, a))
            cells.append(f"{b:>10}/{a:<10}".rjust(22))
        flag = "" if pt.meets_timing else "  (HLS missed timing)"
        lines.append(pt.id.ljust(28) + "".join(cells) + flag)
    medians = {r: statistics.median(v) for r, v in errors.items()}
    lines.append("median relative error: " + ", ".join(f"{r} {100 * m:.1f} %" for r, m in medians.items()))
    dsp_points = [_rel(est["dsp"], pt.reported["dsp"]) for pt, est in comparison if pt.reported["dsp"]]
    timed = [(pt, est) for pt, est in comparison if pt.meets_timing]
    lines.append(f"DSP over the {len(dsp_points)} points that use DSPs: median {100 * statistics.median(dsp_points):.1f} %, "
                 f"max {100 * max(dsp_points):.1f} %")
    lines.append(f"points where HLS met timing ({len(timed)}): " + ", ".join(
        f"{r} {100 * statistics.median(_rel(e[r], p.reported[r]) for p, e in timed):.1f} %" for r in RESOURCES))
    print("\nestimate/actual per point (" + str(len(comparison)) + " points)\n" + "\n".join(lines))
    missed = {r: m for r, m in medians.items() if r in GOALS and m > GOALS[r]}
    assert not missed, f"median relative error above the goal: {missed}"


def test_dsp_is_exact_where_hls_forced_dsps(comparison):
    """With ``config_op mul -impl dsp`` and RF 1, every multiplication HLS kept is a DSP: the
    count of distinct products with >= 3 CSD digits plus softmax's multiplies must match."""
    exact = [(pt.id, est["dsp"], pt.reported["dsp"]) for pt, est in comparison
             if pt.mult_impl == "dsp" and pt.id.endswith("reuse1")]
    assert exact and all(e == a for _, e, a in exact), exact
