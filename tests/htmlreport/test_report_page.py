"""hlsforge report: one self-contained page with the model, the layers, the estimate and a scan."""

from __future__ import annotations

import re

import numpy as np
import pytest
from jet_events import JET_MODEL, jet_events

import hlsforge
from hlsforge import HlsforgeError
from hlsforge.cli import main
from hlsforge.crosscheck import compare
from hlsforge.htmlreport import build_report, graph_svg, layer_profiles
from hlsforge.quantize import configure
from hlsforge.reference import run as float_run

CONFIG = {"model": {"default": "ap_fixed<10,4>", "accum": "auto"}}


@pytest.fixture(scope="module")
def graph():
    return hlsforge.load(JET_MODEL)


@pytest.fixture(scope="module")
def events():
    return jet_events(400)


def _external_references(html: str) -> list[str]:
    """src/href attributes or CSS url() that would need the network (or another file)."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html) + re.findall(r"url\(([^)]*)\)", html)
    return [r for r in refs if not r.startswith(("data:", "#"))]


def test_page_is_self_contained_and_has_every_section(graph, events):
    x, y = events
    scan = hlsforge.scan(graph, x, y, precisions=["ap_fixed<10,4>"], reuse_factors=[1, 2], workers=1)
    html = build_report(graph, CONFIG, x, scan)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert _external_references(html) == []
    assert "<script" not in html
    for heading in ("Model", "Layers: types, ranges and errors", "Profiling", "Resource and latency estimate",
                    "Design-space scan"):
        assert f">{heading}</h" in html, heading
    assert html.count("data:image/png;base64,") == 2  # profiling plot and Pareto plot
    assert "<svg" in html and "fc1" in html


def test_layer_rows_carry_the_crosschecks_numbers(graph, events):
    x, _ = events
    q = configure(graph, CONFIG)
    rows, report = layer_profiles(graph, q, x, CONFIG)
    expected = {c.layer: c for c in compare(graph, x, CONFIG).layers}
    trace = float_run(graph, x, trace=True)
    assert [r.key for r in rows] == [n.source_name for n in q.nodes]
    for r in rows:
        c = expected[r.key]
        assert (r.overflows, r.accum_overflows, r.max_abs_diff, r.cause) == (
            c.overflows, c.accum_overflows, c.max_abs_diff, c.cause)
        assert (r.seen_min, r.seen_max) == (float(np.min(trace[r.key])), float(np.max(trace[r.key])))
        assert (r.type_min, r.type_max) == (-8.0, 8.0 - 2.0**-6)  # ap_fixed<10,4> results
    fc1 = rows[0]
    assert set(fc1.weights) == {"weight", "bias"} and fc1.precision["accum"].startswith("ap_fixed<")
    assert any(r.overflows for r in rows) and report is not None  # <10,4> overflows on this model


def test_page_without_data_profiles_the_weights_only(graph):
    html = build_report(graph, None)
    assert "No data given" in html and "Design-space scan" not in html
    assert html.count("data:image/png;base64,") == 1


def test_model_names_are_escaped(graph):
    g = graph.copy()
    g.nodes[0].source_name = "<script>alert(1)</script>"
    svg = graph_svg(g)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_cli_scan_then_report(tmp_path, capsys, events):
    x, y = events
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "scan"
    assert main(["scan", str(JET_MODEL), "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
                 "--precision", "ap_fixed<10,4>", "ap_fixed<16,6>", "--reuse", "1", "4", "--strategy", "latency",
                 "resource", "--workers", "1", "-o", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"scan.csv", "scan.json", "pareto.png"}
    text = capsys.readouterr().out
    assert "8 points" in text and "accuracy" in text
    assert len((out / "scan.csv").read_text().splitlines()) == 9
    page = tmp_path / "r.html"
    assert main(["report", str(JET_MODEL), "--precision", "ap_fixed<12,5>", "--data", str(tmp_path / "x.npy"),
                 "--scan", str(out / "scan.json"), "-o", str(page)]) == 0
    html = page.read_text()
    assert "ap_fixed&lt;12,5&gt;" in html and "Design-space scan" in html


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan", str(JET_MODEL), "--data", "missing.npy", "--precision", "ap_fixed<8,3>"], "cannot read --data"),
        (["scan", str(JET_MODEL), "--data", "{x}", "--precision", "ap_fixed<8"], "ap_fixed<8"),
        (["report", str(JET_MODEL), "--scan", "{x}", "-o", "{out}"], "cannot read scan result"),
        (["report", str(JET_MODEL), "-o", "{dir}"], "is a directory"),
    ],
)
def test_cli_errors_exit_2_with_a_message(tmp_path, capsys, events, argv, message):
    np.save(tmp_path / "x.npy", events[0][:20])
    subst = {"{x}": str(tmp_path / "x.npy"), "{out}": str(tmp_path / "r.html"), "{dir}": str(tmp_path)}
    assert main([subst.get(a, a) for a in argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_report_rejects_a_scan_file_that_is_not_one(tmp_path, graph):
    p = tmp_path / "s.json"
    p.write_text("[1, 2]")
    with pytest.raises(HlsforgeError, match="not an hlsforge scan result"):
        build_report(graph, None, scan=p)


def test_report_of_a_residual_cnn_draws_the_branch(tmp_path):
    """A convolutional model with a skip connection: the picture has an arrow per activation
    edge, and the page builds with its data (any op the estimate covers)."""
    import model_zoo

    model = model_zoo.residual_fcn()
    graph = hlsforge.load(model)
    svg = graph_svg(graph)
    n_edges = sum(1 for n in graph.nodes for i in n.inputs
                  if not graph.values[i].is_constant) + len(graph.outputs)
    assert svg.count("marker-end=") == n_edges
    add = next(n for n in graph.nodes if n.op.value == "Add")
    assert sum(1 for i in add.inputs if not graph.values[i].is_constant) == 2
    html = build_report(graph, "ap_fixed<16,6>", model_zoo.make_input(model, batch=8))
    assert ">Layers: types, ranges and errors</h" in html and "Add" in html


def test_a_model_the_estimate_cannot_cost_still_gets_a_report(graph, monkeypatch):
    import hlsforge.resources
    from hlsforge import UnsupportedOpError

    def refuse(*args, **kwargs):
        raise UnsupportedOpError("node 'fc1': the estimate cannot cost Dense: <reason>")

    monkeypatch.setattr(hlsforge.resources, "estimate", refuse)
    html = build_report(graph, None)
    assert "No estimate for this model: node &#x27;fc1&#x27;: the estimate cannot cost Dense: &lt;reason&gt;" in html
    assert ">Layers: types, ranges and errors</h" in html
