"""The C simulation's fast input conversion (``hlsforge::fast::from_double``) gives exactly the
bits of the type's own double constructor (itself proven equal to Xilinx ap_fixed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hlsforge import cpp_toolchain
from hlsforge.hls_backend import templates_dir


def test_fast_from_double_equals_the_constructor() -> None:
    src = Path(__file__).with_name("from_double_fuzz.cpp")
    exe = cpp_toolchain.compile_executable(
        [src], name="from_double_fuzz", include_dirs=[templates_dir()], flags=("-O0", "-std=c++17")
    )
    proc = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mismatches: 0" in proc.stdout
