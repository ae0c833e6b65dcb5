"""Run a test script in a child process, so that a crash (SIGSEGV, SIGBUS) is a failed test
with its exit status, not a crashed test run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

PRELUDE = """
import threading
import numpy as np
from hlsforge import cpu_backend, reference
from hlsforge.errors import HlsforgeError, ModelClosedError
from hlsforge.ir import Graph, Op

def graph(n_in=16, width=64, seed=0, name="damaged"):
    rng = np.random.default_rng(seed)
    g = Graph(name)
    g.add_input("x", (n_in,))
    g.add_constant("k", rng.normal(size=(n_in, width)).astype(np.float32))
    g.add_constant("b", rng.normal(size=(width,)).astype(np.float32))
    d = g.add_node(Op.DENSE, ["x", "k", "b"], source_name="fc")
    g.outputs = [g.add_node(Op.RELU, d.outputs, source_name="act").outputs[0]]
    return g.validate()
"""


def run_script(body: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run ``PRELUDE + body`` with this worktree's ``src`` first; assert exit status 0."""
    full_env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout
