"""The C simulation's fast paths give exactly the generic bits: the input conversion
(``hlsforge::fast::from_double``) equals the type's own double constructor (itself proven
equal to Xilinx ap_fixed), the raw multiply-accumulate equals the fixed-point loop."""

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


def test_fast_mac_equals_the_fixed_point_loop() -> None:
    """The raw-integer multiply-accumulate (and its 8-lane vector form, built both without
    and with optimization) gives the bits of ``acc = accum_t(acc + x * w)``."""
    src = Path(__file__).with_name("mac_fuzz.cpp")
    for level in ("-O0", "-O2"):
        exe = cpp_toolchain.compile_executable(
            [src], name=f"mac_fuzz{level}", include_dirs=[templates_dir()], flags=(level, "-std=c++17")
        )
        proc = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "mismatches: 0" in proc.stdout
        if _has_avx2():  # the two-window form (run_rows2) was exercised
            assert "windows in pairs: 0)" not in proc.stdout, proc.stdout


def _has_avx2() -> bool:
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
