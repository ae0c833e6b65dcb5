"""Scan the bundled jet tagger and write the HTML report; regenerates the images in the docs.

1. 30-point scan (6 precisions × 5 ReuseFactors) on 10,000 events with labels, on this machine
   (``--ray auto`` to run it on a Ray cluster instead) -> OUT/scan.{csv,json}, OUT/pareto.png;
2. ``hlsforge report`` of ``ap_fixed<16,6>`` on 2,000 events with the scan -> OUT/report.html;
3. with ``--docs``: copies the Pareto plot to docs/images/jet_tagger_pareto.png and, when headless
   Chromium is installed, a screenshot of the report to docs/images/report.png.

Run from the repository root: ``python examples/scan_and_report.py [OUT_DIR] [--ray ADDRESS] [--docs]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

import hlsforge
from hlsforge.htmlreport import write_report

HERE = Path(__file__).resolve().parent
DOCS_IMAGES = HERE.parent / "docs" / "images"
PRECISIONS = ["ap_fixed<8,3>", "ap_fixed<10,4>", "ap_fixed<12,5>", "ap_fixed<14,6>", "ap_fixed<16,6>", "ap_fixed<18,8>"]
REPORT_CONFIG = {"model": {"default": "ap_fixed<16,6>", "accum": "auto"},
                 "layers": {"softmax": {"result": "ap_ufixed<16,0,AP_RND,AP_SAT>"}}}


def jet_events(n: int) -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.spec_from_file_location("make_jet_tagger", HERE / "make_jet_tagger.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x, y = mod.synthetic_jets(16000 + n, np.random.default_rng(2026))
    return x[16000:], y[16000:]


def screenshot(page: Path, png: Path) -> bool:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("headless Chromium not found: no screenshot")
        return False
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "shot.png"
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp}/p",
                        f"--screenshot={raw}", "--window-size=1240,2300", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=180)
        try:  # a smaller file for the docs when Pillow is there
            from PIL import Image

            img = Image.open(raw).convert("RGB")
            img = img.resize((img.width * 2 // 3, img.height * 2 // 3), Image.LANCZOS)
            img.quantize(colors=128).save(png, optimize=True)
        except ImportError:
            shutil.copy(raw, png)
    return True


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", default="scan_report_out")
    p.add_argument("--ray", help="Ray address ('auto' for a running cluster)")
    p.add_argument("--docs", action="store_true", help="also update docs/images")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    graph = hlsforge.load(HERE / "jet_tagger_mlp.onnx")
    x, y = jet_events(10_000)
    result = hlsforge.scan(graph, x, y, precisions=PRECISIONS, reuse_factors=[1, 2, 4, 8, 16],
                           executor="ray" if args.ray else "local", ray_address=args.ray)
    print(result)
    print(f"{len(result.rows)} points in {result.elapsed_s:.1f} s ({result.executor})")
    result.to_csv(out / "scan.csv")
    result.to_json(out / "scan.json")
    result.plot(out / "pareto.png")
    page = write_report(out / "report.html", graph, config=REPORT_CONFIG, x=x[:2000], scan=result,
                        source="examples/jet_tagger_mlp.onnx")
    print(f"wrote {out}/scan.csv, scan.json, pareto.png, report.html")
    if args.docs:
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        fig = result.plot()
        fig.savefig(DOCS_IMAGES / "jet_tagger_pareto.png", dpi=80, bbox_inches="tight")
        if screenshot(page, DOCS_IMAGES / "report.png"):
            print(f"updated {DOCS_IMAGES}/jet_tagger_pareto.png and report.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
