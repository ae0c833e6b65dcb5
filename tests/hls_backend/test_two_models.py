"""Two generated models link into one C++ program and each gives its own correct outputs:
every symbol lives in the model's namespace, top functions are named after the models."""

from __future__ import annotations

import subprocess

import model_zoo
import numpy as np

import hlsforge
from hlsforge import cpp_toolchain
from hlsforge.hls_backend import write
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure

MAIN = """\
#include <cstdio>
#include "mlp/mlp.h"
#include "cnn/cnn.h"

int main() {
    double x;
    for (int event = 0; event < %(n)d; event++) {
        mlp_ns::input_t a[mlp_ns::N_IN];
        for (unsigned i = 0; i < mlp_ns::N_IN; i++) { if (std::scanf("%%lf", &x) != 1) return 2; a[i] = mlp_ns::input_t(x); }
        cnn_ns::input_t b[cnn_ns::N_IN];
        for (unsigned i = 0; i < cnn_ns::N_IN; i++) { if (std::scanf("%%lf", &x) != 1) return 2; b[i] = cnn_ns::input_t(x); }
        mlp_ns::result_t ya[mlp_ns::N_OUT];
        cnn_ns::result_t yb[cnn_ns::N_OUT];
        mlp(a, ya);
        cnn(b, yb);
        for (unsigned j = 0; j < mlp_ns::N_OUT; j++) std::printf("%%.17g ", ya[j].to_double());
        for (unsigned j = 0; j < cnn_ns::N_OUT; j++) std::printf("%%.17g ", yb[j].to_double());
        std::printf("\\n");
    }
    return 0;
}
"""


def test_two_models_in_one_binary(tmp_path):
    n = 20
    ga = configure(hlsforge.load(model_zoo.mlp_16_64_32_32_5()), "ap_fixed<16,6>")
    gb = configure(
        hlsforge.load(model_zoo.cnn1d()), {"model": {"default": "ap_fixed<12,5,AP_RND,AP_SAT>"}}
    )
    write(ga, tmp_path / "mlp", name="mlp")
    write(gb, tmp_path / "cnn", name="cnn")
    (tmp_path / "main.cpp").write_text(MAIN % {"n": n})
    exe = cpp_toolchain.compile_executable(
        [tmp_path / "main.cpp", tmp_path / "mlp" / "mlp.cpp", tmp_path / "cnn" / "cnn.cpp"],
        name="two_models",
        include_dirs=[tmp_path],
        flags=("-O1", "-std=c++17"),
        extra_flags=("-Wno-unknown-pragmas",),
    )
    xa = model_zoo.make_input(model_zoo.mlp_16_64_32_32_5(), batch=n, seed=1)
    xb = model_zoo.make_input(model_zoo.cnn1d(), batch=n, seed=2)
    xb_internal = gb.to_internal(gb.inputs[0], xb).reshape(
        n, -1
    )  # the top function takes channels-last
    stdin = "\n".join(
        " ".join(repr(float(v)) for v in np.concatenate([ra.reshape(-1), rb]))
        for ra, rb in zip(xa, xb_internal, strict=True)
    )
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True).stdout
    got = np.array([[float(v) for v in line.split()] for line in out.splitlines()])
    ya, yb = emulate.run(ga, xa), emulate.run(gb, xb)
    np.testing.assert_array_equal(got[:, :5], ya)
    np.testing.assert_array_equal(got[:, 5:], yb.reshape(n, -1))
