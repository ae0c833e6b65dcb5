"""hlsforge_types.h: the one selection macro, the portable helpers, and kernel-style code.

The same source — written the way generated HLS code is written (``ap_fixed<16,6,AP_RND_CONV,
AP_SAT>``, ``ap_uint<4>`` indices, ``acc += x * w``) — is compiled once against hlsforge's
header and once with ``-DHLSFORGE_USE_AP_FIXED`` against the real Xilinx headers; both must
print the same bits, and those bits must equal the Python emulation (NUMERICS.md §4 Dense).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from hlsforge.cpp_toolchain import compile_executable, find_ap_types_include, hlsforge_include
from hlsforge.ir.types import FixedType, Overflow, Rounding
from hlsforge.quantize import convert_raw, fixed_mul_type, quantize

KERNEL = r"""
#include <cstdio>
#include "hlsforge_types.h"

typedef ap_fixed<10, 3, AP_RND_CONV, AP_SAT> input_t;
typedef ap_fixed<8, 1> weight_t;
typedef ap_fixed<9, 4> bias_t;
typedef ap_fixed<14, 6, AP_TRN, AP_WRAP> accum_t;
typedef ap_ufixed<8, 4, AP_RND, AP_SAT> result_t;

static const int N_IN = 5, N_OUT = 3;

// NUMERICS.md §4 Dense + ReLU: acc = cast_accum(b); acc = cast_accum(acc + x*w); y = cast_result(max(acc, 0))
template <class X, class W, class B, class A, class R>
void dense_relu(const X x[N_IN], const W w[N_IN][N_OUT], const B b[N_OUT], R y[N_OUT]) {
  for (int j = 0; j < N_OUT; ++j) {
    A acc = b[j];
    for (int i = 0; i < N_IN; ++i) acc += x[i] * w[i][j];
    y[j] = acc > 0 ? R(acc) : R(0);
  }
}

int main() {
  weight_t w[N_IN][N_OUT];
  bias_t b[N_OUT];
  long long wr, br;
  for (int i = 0; i < N_IN; ++i)
    for (int j = 0; j < N_OUT; ++j) { if (scanf("%lld", &wr) != 1) return 1; w[i][j] = hlsforge::from_raw_bits<weight_t>(wr); }
  for (int j = 0; j < N_OUT; ++j) { if (scanf("%lld", &br) != 1) return 1; b[j] = hlsforge::from_raw_bits<bias_t>(br); }
  double xin;
  input_t x[N_IN];
  int k = 0;
  while (scanf("%lf", &xin) == 1) {
    x[k++] = xin;
    if (k < N_IN) continue;
    k = 0;
    result_t y[N_OUT];
    dense_relu<input_t, weight_t, bias_t, accum_t, result_t>(x, w, b, y);
    for (int j = 0; j < N_OUT; ++j) printf("%lld ", (long long)hlsforge::raw_bits(y[j]));
    printf("\n");
  }
  // portable helpers and traits
  typedef hlsforge::fixed_traits<input_t> ti;
  printf("%d %d %d %d %lld %lld %lld\n", ti::width, ti::iwidth, ti::fwidth, (int)ti::is_signed,
         (long long)hlsforge::raw_bits(ti::min()), (long long)hlsforge::raw_bits(ti::max()),
         (long long)hlsforge::raw_bits(ti::lsb()));
  ap_uint<3> idx = 5;
  int table[8] = {0, 10, 20, 30, 40, 50, 60, 70};
  ap_int<6> neg = -7.9;
  printf("%d %d %d\n", table[idx], neg.to_int(), (int)hlsforge::raw_bits(ap_ufixed<5, 2>(-1.0)));
  return 0;
}
"""

X_T = FixedType(10, 3, True, Rounding.RND_CONV, Overflow.SAT)
W_T = FixedType(8, 1)
B_T = FixedType(9, 4)
A_T = FixedType(14, 6, True, Rounding.TRN, Overflow.WRAP)
R_T = FixedType(8, 4, False, Rounding.RND, Overflow.SAT)


def emulate_dense_relu(x: np.ndarray, w_raw: np.ndarray, b_raw: np.ndarray) -> np.ndarray:
    """NUMERICS.md §4 Dense then ReLU, on raw integers, with quantize/convert_raw."""
    x_raw = quantize(x, X_T)
    prod_frac = X_T.frac + W_T.frac
    out = np.zeros((x.shape[0], w_raw.shape[1]), dtype=np.int64)
    for j in range(w_raw.shape[1]):
        acc = convert_raw(np.full(x.shape[0], b_raw[j]), B_T.frac, A_T)
        for i in range(w_raw.shape[0]):
            frac = max(A_T.frac, prod_frac)
            total = (acc << (frac - A_T.frac)) + ((x_raw[:, i] * w_raw[i, j]) << (frac - prod_frac))
            acc = convert_raw(total, frac, A_T)
        relu = np.maximum(acc, 0)
        out[:, j] = convert_raw(relu, A_T.frac, R_T)
    return out


@pytest.fixture(scope="module")
def kernel_binaries():
    inc = [hlsforge_include()]
    hf = compile_executable({"kernel.cpp": KERNEL}, name="kernel_hf", include_dirs=inc,
                            flags=["-O2", "-std=c++14", "-Wall", "-Wextra", "-pedantic", "-Werror"])
    ap = compile_executable({"kernel.cpp": KERNEL}, name="kernel_ap",
                            include_dirs=[*inc, find_ap_types_include()],
                            defines={"HLSFORGE_USE_AP_FIXED": None},
                            flags=["-O0", "-std=c++14", "-w"])
    return hf, ap


def test_same_kernel_source_same_bits_in_both_modes_and_python(kernel_binaries):
    rng = np.random.default_rng(0)
    w_raw = rng.integers(W_T.raw_min, W_T.raw_max + 1, (5, 3))
    b_raw = rng.integers(B_T.raw_min, B_T.raw_max + 1, 3)
    x = rng.normal(0, 3, (300, 5))
    x[:5] = [[0.0625, -0.0625, 7.99, -8.5, 0.5]] * 5  # ties and saturation at the input
    stdin = " ".join(map(str, [*w_raw.ravel(), *b_raw])) + "\n" + "\n".join(
        " ".join(repr(float(v)) for v in row) for row in x) + "\n"
    outs = []
    for exe in kernel_binaries:
        proc = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True)
        outs.append(proc.stdout.splitlines())
    hf, ap = outs
    assert hf == ap
    got = np.array([[int(v) for v in line.split()] for line in hf[:300]])
    np.testing.assert_array_equal(got, emulate_dense_relu(x, w_raw, b_raw))
    assert hf[300].split() == ["10", "3", "7", "1", "-512", "511", "1"]
    assert hf[301].split() == ["50", "-7", "24"]  # ap_ufixed<5,2>(-1.0) wraps to 3.0 = raw 24


def test_acc_type_of_product_matches_python():
    # the Dense loop above relies on x*w being exact in fixed_mul_type
    assert fixed_mul_type(X_T, W_T).frac == X_T.frac + W_T.frac


def test_header_rejects_what_ap_fixed_rejects():
    """Mixing fixed point with double arithmetic must not compile (DESIGN: never ap_fixed*double)."""
    src = '#include "hlsforge_types.h"\nint main() { ap_fixed<8,3> a = 1.0; auto b = a * 0.5; (void)b; }\n'
    from hlsforge.errors import CompileError

    with pytest.raises(CompileError) as e:
        compile_executable({"bad.cpp": src}, name="bad", include_dirs=[hlsforge_include()])
    assert "operator*" in e.value.output or "no match" in e.value.output


def test_too_wide_intermediate_gives_a_clear_error():
    src = ('#include "hlsforge_types.h"\nint main() { ap_fixed<64,32> a = 1.0; ap_ufixed<64,1> b = 0.5;\n'
           ' ap_fixed<40,40> acc = 0; acc = acc + a * b; return acc.to_int(); }\n')
    from hlsforge.errors import CompileError

    with pytest.raises(CompileError) as e:
        compile_executable({"wide.cpp": src}, name="wide", include_dirs=[hlsforge_include()])
    assert "limited to 128 bits" in e.value.output
