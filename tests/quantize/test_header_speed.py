"""Measure hlsforge_fixed.h against Xilinx ap_fixed.h: compile time and a tight MAC loop.

Run with ``pytest -m slow -s tests/quantize/test_header_speed.py`` to see the table (the
numbers in docs/fixed_header.md come from here). Both builds must print the same checksum.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from hlsforge.cpp_toolchain import compile_executable, find_ap_types_include, hlsforge_include

MAC = r"""
#include <chrono>
#include <cstdio>
#include "hlsforge_types.h"

typedef ap_fixed<16, 6, AP_RND_CONV, AP_SAT> data_t;
typedef ap_fixed<12, 2> weight_t;
typedef ap_fixed<32, 14> accum_t;
typedef ap_fixed<16, 6, AP_RND, AP_SAT> result_t;

static const int N = 4096, REPS = 2000;
data_t x[N];
weight_t w[N];

int main() {
  for (int i = 0; i < N; ++i) {
    x[i] = (i % 97) * 0.0625 - 3.0;
    w[i] = ((i * 31) % 61) * 0.015625 - 0.45;
  }
  long long checksum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < REPS; ++r) {
    accum_t acc = r * 0.25;
    for (int i = 0; i < N; ++i) acc += x[i] * w[i];
    result_t y = acc;
    checksum += hlsforge::raw_bits(y);
  }
  const auto t1 = std::chrono::steady_clock::now();
  const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / (double(N) * REPS);
  std::printf("%lld %.3f\n", checksum, ns);
  return 0;
}
"""


def _build(use_ap: bool, flags: list[str]) -> tuple[float, str]:
    inc = [hlsforge_include()] + ([find_ap_types_include()] if use_ap else [])
    start = time.perf_counter()
    exe = compile_executable({"mac.cpp": MAC}, name="mac_ap" if use_ap else "mac_hf", include_dirs=inc,
                             defines={"HLSFORGE_USE_AP_FIXED": None} if use_ap else None,
                             flags=flags, cache=False)
    return time.perf_counter() - start, str(exe)


@pytest.mark.slow
def test_compile_and_mac_speed_against_ap_fixed():
    rows = []
    results = {}
    for label, use_ap in (("hlsforge_fixed.h", False), ("ap_fixed.h", True)):
        t_o0, _ = _build(use_ap, ["-O0", "-std=c++17", "-w"])
        t_o2, exe = _build(use_ap, ["-O2", "-std=c++17", "-w"])
        out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout.split()
        results[label] = out[0]
        rows.append((label, t_o0, t_o2, float(out[1])))
    print("\nheader              compile -O0   compile -O2   MAC ns (-O2)")
    for label, t0, t2, ns in rows:
        print(f"{label:18s}  {t0:9.2f} s   {t2:9.2f} s   {ns:10.2f}")
    assert results["hlsforge_fixed.h"] == results["ap_fixed.h"]
    (_, hf_o0, hf_o2, hf_ns), (_, ap_o0, ap_o2, ap_ns) = rows
    assert hf_o2 < ap_o2 and hf_ns < ap_ns
