"""Render a page in headless Chromium (Debian's ``chromium``): a screenshot and the console.

Console messages come from Chromium's own log (``--enable-logging=stderr``), where every
``console.*`` call and every uncaught exception is one ``CONSOLE`` line; the tests prove the
parsing catches a page that throws.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
SKIP_REASON = "headless Chromium is not installed (Debian: apt-get install -y chromium)"

_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\))?(?::\d+)?\]\s+\"(?P<msg>.*)\", source: (?P<src>.*)$", re.MULTILINE)


def render(page: Path, screenshot: Path, workdir: Path, size: tuple[int, int] = (1280, 2000)) -> list[str]:
    """Load ``page`` from disk, write a PNG screenshot, return the console messages."""
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
        f"--user-data-dir={workdir / 'profile'}",
        "--enable-logging=stderr", "--v=0", f"--screenshot={screenshot}", f"--window-size={size[0]},{size[1]}",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert screenshot.exists(), f"chromium wrote no screenshot (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    return [f"{m['msg']} ({m['src']})" for m in _CONSOLE.finditer(proc.stderr)]


def is_blank(png: Path) -> bool:
    """A screenshot with (almost) no content: one colour everywhere, or nearly all white."""
    import matplotlib.image

    img = np.asarray(matplotlib.image.imread(png), dtype=np.float64)[..., :3]
    non_white = float(np.mean(img.min(axis=-1) < 0.95))
    return float(img.std()) < 0.02 or non_white < 0.01
