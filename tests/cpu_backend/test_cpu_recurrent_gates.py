"""The rational tanh and sigmoid of the kernel library (``detail::rational_tanh/_sigmoid``: the
fused recurrent steps' ``rnn::gate_tanh``/``gate_sigmoid`` and, clamped to [-1, 1], the Tanh
kernel ``hlsforge_cpu::map(..., Tanh{})``) against numpy's float64 tanh, on a sweep of every
1021st positive float32 bit pattern (so every binade from the smallest subnormal to the
largest finite float) and its negation, a dense linear grid over [-20, 20] through the
clamps, and the special values: NaN propagates, +-inf saturate, tanh keeps the sign of zero
and is odd. Built twice: for this CPU (-march=native: AVX-512/AVX vectors where present) and
for the baseline ISA (4-lane SSE), so both vector widths and the partial-vector path are
checked."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from hlsforge import cpp_toolchain
from hlsforge.cpu_backend.emit import TEMPLATES
from hlsforge.cpu_backend.runtime import host_flags

# the bounds the kernel library documents (hlsforge_cpu.hpp, docs/cpu_backend.md)
TANH_MAX_ERROR = 4e-7  # absolute and relative
SIGMOID_MAX_ERROR = 3e-7  # absolute
OVERSHOOT = 2.5e-7  # both may leave their range by up to two float steps (1 + 2^-22 is 1.0000002)

PROGRAM = r"""
#include <cstdio>
#include <vector>
#include "hlsforge_cpu.hpp"

// argv: input file of n float32, output file: n tanh, n sigmoid, n Tanh-kernel values. Whole
// vectors go through the gate functions in groups of two (the lockstep form), the last
// n % kGateLanes values through a zero-padded vector.
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  std::vector<float> x;
  if (std::FILE* f = std::fopen(argv[1], "rb")) {
    float buf[4096];
    std::size_t k;
    while ((k = std::fread(buf, sizeof(float), 4096, f)) > 0) x.insert(x.end(), buf, buf + k);
    std::fclose(f);
  }
  namespace r = hlsforge_cpu::rnn;
  constexpr std::size_t L = r::kGateLanes;
  const std::size_t n = x.size();
  std::vector<float> out(3 * n);
  std::size_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    r::gv a[2], b[2];
    r::gate_load(x.data() + i, a);
    r::gate_load(x.data() + i, b);
    r::gate_tanh(a);
    r::gate_sigmoid(b);
    r::gate_store(out.data() + i, a);
    r::gate_store(out.data() + n + i, b);
  }
  for (; i < n; i += L) {
    const std::size_t count = n - i < L ? n - i : 0;
    r::gv a[1], b[1];
    r::gate_load(x.data() + i, a, count);
    r::gate_load(x.data() + i, b, count);
    r::gate_tanh(a);
    r::gate_sigmoid(b);
    r::gate_store(out.data() + i, a, count);
    r::gate_store(out.data() + n + i, b, count);
  }
  hlsforge_cpu::map(x.data(), out.data() + 2 * n, n, hlsforge_cpu::Tanh{});
  std::FILE* f = std::fopen(argv[2], "wb");
  if (!f || std::fwrite(out.data(), sizeof(float), out.size(), f) != out.size()) return 1;
  std::fclose(f);
  return 0;
}
"""


POSITIVE = np.arange(0, 0x7F800000, 1021, dtype=np.uint32).view(np.float32)  # 0 up to the largest float
GRID = np.linspace(-20, 20, 400_001, dtype=np.float32)


def _inputs() -> np.ndarray:
    pos = POSITIVE
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 9.0, -9.0, 18.0, -18.0, 3.4e38, -3.4e38, 1e-45, -1e-45,
                        1e-20, -1e-20], np.float32)
    return np.concatenate([pos, -pos, GRID, special, GRID[:5]])  # odd length: a partial last vector


@pytest.fixture(scope="module", params=["native", "baseline"])
def results(request, tmp_path_factory):
    flags = host_flags() if request.param == "native" else ()
    exe = cpp_toolchain.compile_executable({"gates.cpp": PROGRAM}, name="rnn_gates", include_dirs=[TEMPLATES],
                                           defines={"HLSFORGE_CPU_NO_BLAS": None},
                                           flags=("-O3", "-std=c++17"), extra_flags=flags)
    tmp = tmp_path_factory.mktemp(f"gates_{request.param}")
    x = _inputs()
    x.tofile(tmp / "in.bin")
    subprocess.run([str(exe), str(tmp / "in.bin"), str(tmp / "out.bin")], check=True, timeout=120)
    out = np.fromfile(tmp / "out.bin", np.float32)
    assert out.size == 3 * x.size
    return x, out[:x.size], out[x.size:2 * x.size], out[2 * x.size:]


def test_tanh_is_accurate_over_all_floats(results):
    x, th, _, _ = results
    fin = ~np.isnan(x)
    want = np.tanh(x[fin].astype(np.float64))
    err = np.abs(th[fin] - want)
    assert err.max() <= TANH_MAX_ERROR, f"max |error| {err.max():.3g} at x = {x[fin][err.argmax()]}"
    rel = err / np.maximum(np.abs(want), np.finfo(np.float64).tiny)
    assert rel.max() <= TANH_MAX_ERROR, f"max relative error {rel.max():.3g} at x = {x[fin][rel.argmax()]}"
    assert np.abs(th[fin]).max() <= 1.0 + OVERSHOOT
    # odd, exact for tiny x, the sign of zero kept
    n = POSITIVE.size
    np.testing.assert_array_equal(th[:n], -th[n:2 * n])
    tiny = fin & (np.abs(x) < 1e-20)
    np.testing.assert_array_equal(th[tiny], x[tiny])
    zeros = x == 0
    np.testing.assert_array_equal(np.signbit(th[zeros]), np.signbit(x[zeros]))


def test_sigmoid_is_accurate_over_all_floats(results):
    x, _, sg, _ = results
    fin = ~np.isnan(x)
    xd = x[fin].astype(np.float64)
    want = 0.5 * (1.0 + np.tanh(xd / 2.0))  # 1 / (1 + e^-x) without overflow
    err = np.abs(sg[fin] - want)
    assert err.max() <= SIGMOID_MAX_ERROR, f"max |error| {err.max():.3g} at x = {x[fin][err.argmax()]}"
    assert sg[fin].min() >= -OVERSHOOT and sg[fin].max() <= 1.0 + OVERSHOOT
    # monotone on the grid to within the error bound
    grid = sg[2 * POSITIVE.size:][:GRID.size]
    assert np.all(np.diff(grid) >= -2 * SIGMOID_MAX_ERROR)


def test_special_values(results):
    x, th, sg, _ = results
    nan = np.isnan(x)
    assert nan.any() and np.isnan(th[nan]).all() and np.isnan(sg[nan]).all()
    for v, t, s in ((np.inf, 1.0, 1.0), (-np.inf, -1.0, 0.0), (3.4e38, 1.0, 1.0), (-3.4e38, -1.0, 0.0)):
        k = x == np.float32(v)
        assert k.any()
        assert np.all(np.abs(th[k] - t) <= TANH_MAX_ERROR), (v, th[k])
        assert np.all(np.abs(sg[k] - s) <= SIGMOID_MAX_ERROR), (v, sg[k])
    assert np.all(sg[x == 0] == 0.5)


def test_tanh_kernel_is_the_rational_tanh_within_one(results):
    x, th, _, kernel = results
    fin = ~np.isnan(x)
    assert np.isnan(kernel[~fin]).all()
    np.testing.assert_array_equal(kernel[fin], np.clip(th[fin], -1.0, 1.0))
    assert np.abs(kernel[fin]).max() == 1.0
