"""The report renders in headless Chromium: a screenshot that is not blank, no console errors."""

from __future__ import annotations

import pytest
from chromium_render import CHROMIUM, SKIP_REASON, is_blank, render
from jet_events import JET_MODEL, jet_events

import hlsforge
from hlsforge.htmlreport import write_report

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)


def test_report_renders_without_console_errors(tmp_path):
    x, y = jet_events(500)
    graph = hlsforge.load(JET_MODEL)
    scan = hlsforge.scan(graph, x, y, precisions=["ap_fixed<10,4>", "ap_fixed<16,6>"], reuse_factors=[1, 2], workers=1)
    page = write_report(tmp_path / "report.html", graph, x=x, scan=scan)
    shot = tmp_path / "report.png"
    console = render(page, shot, tmp_path)
    assert console == []
    assert not is_blank(shot)


def test_a_page_that_throws_is_caught(tmp_path):
    """The console check is real: an uncaught exception and console.error are both seen."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><h1>broken page</h1>"
                    "<script>throw new Error('hlsforge-test-boom')</script>"
                    "<script>console.error('hlsforge-test-console')</script></body></html>")
    console = render(page, tmp_path / "bad.png", tmp_path, size=(600, 400))
    assert any("Uncaught Error: hlsforge-test-boom" in m for m in console), console
    assert any("hlsforge-test-console" in m for m in console), console


def test_a_blank_page_is_detected(tmp_path):
    page = tmp_path / "blank.html"
    page.write_text("<!DOCTYPE html><html><body></body></html>")
    shot = tmp_path / "blank.png"
    assert render(page, shot, tmp_path, size=(600, 400)) == []
    assert is_blank(shot)
