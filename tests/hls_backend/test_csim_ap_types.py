"""The same generated C++ compiled against Xilinx ap_fixed.h (the headers the hls4ml wheel
ships) gives exactly the bits of hlsforge's own header — and of the emulator.

ap_fixed.h is slow to compile, so each sweep is one library (one translation unit). The
ap_fixed build always runs the generic kernel loops (the raw-integer fast path is compiled
only with hlsforge's header). A smaller test builds the weights from the exact decimal
literals that synthesis uses (HLSFORGE_LITERAL_WEIGHTS: one ap_fixed constructor call per
constant, which is what makes those builds slow).
"""

from __future__ import annotations

import model_zoo
import numpy as np
import pytest
from hls_cases import (
    BITS_ONLY_FLAGS,
    QUICK_CONFIGS,
    assert_same_as_emulator,
    chunks,
    emulator_inputs,
    full_configs,
    model_name,
    op_cases,
)

import hlsforge
from hlsforge.errors import ToolNotFoundError
from hlsforge.hls_backend import compile_many, find_ap_types
from hlsforge.quantize.config import configure

try:
    find_ap_types()
except ToolNotFoundError:  # pragma: no cover - hls4ml is a test dependency
    pytest.skip("Xilinx ap_types headers not available (install hls4ml)", allow_module_level=True)

LITERAL = (*BITS_ONLY_FLAGS, "-DHLSFORGE_LITERAL_WEIGHTS")

ONE_PER_KERNEL = [
    "dense_3d",
    "conv1d_stride_pad",
    "conv2d_groups",
    "maxpool2d_pad_ceil",
    "avgpool2d_pad_inc",
    "global_avgpool",
    "batchnorm",
    "relu",
    "leaky_relu",
    "clip_relu6",
    "sigmoid",
    "hard_sigmoid",
    "softmax_3d",
    "elu",
    "selu",
    "add_const",
    "mul",
    "sub",
    "concat",
    "transpose",
    "pad",
    "reshape",
    "quantize",
    "tree_ensemble",
    # recurrent cells and LayerNorm (hlsforge_kernels/recurrent.h)
    "gru",
    "lstm_bidirectional",
    "lstm_input_forget_relu",
    "layernorm",
]


def _compare_both(cases, seed: int = 0, literal: bool = False) -> None:
    graphs = [g for _, g in cases]
    names = [model_name(label) for label, _ in cases]
    ours = compile_many(graphs, names=names, flags=BITS_ONLY_FLAGS)
    xilinx = compile_many(
        graphs, names=names, flags=LITERAL if literal else BITS_ONLY_FLAGS, fixed_lib="ap_types"
    )
    for (label, graph), a, b in zip(cases, ours, xilinx, strict=True):
        x = emulator_inputs(graph, seed=seed + len(label))
        ta, tb = a.trace(x), b.trace(x)
        assert set(ta) == set(tb)
        for key in ta:
            np.testing.assert_array_equal(ta[key], tb[key], err_msg=f"{label}: layer {key!r}")
        assert_same_as_emulator(b, graph, x, label + " (ap_fixed.h)")


def test_ap_fixed_equals_hlsforge_header_quick():
    """One case per kernel variant, under mixed rounding/overflow modes (the slow test runs all)."""
    configs = {k: QUICK_CONFIGS[k] for k in ("mixed_modes",)}
    _compare_both(op_cases(configs, ONE_PER_KERNEL))


def test_decimal_weight_literals_are_exact_in_ap_fixed():
    cases = op_cases(
        {"w24": QUICK_CONFIGS["w24_rndconv_sat"]}, ["dense", "sigmoid", "avgpool2d_pad"]
    )
    _compare_both(cases, seed=2, literal=True)


@pytest.mark.slow
def test_ap_fixed_equals_hlsforge_header_full_sweep():
    for part in chunks(op_cases(full_configs(), ONE_PER_KERNEL), 120):
        _compare_both(part, seed=11)


@pytest.mark.slow
def test_ap_fixed_equals_hlsforge_header_on_model_zoo():
    cases = []
    for name in (
        "mlp_16_64_32_32_5",
        "cnn1d",
        "cnn2d",
        "dense_sigmoid_7",
        "residual_fcn",
        "torch_style_cnn",
    ):
        for cname in ("w16_default", "w12_rndconv_wrap"):
            cases.append(
                (
                    f"{name}__{cname}",
                    configure(hlsforge.load(model_zoo.ZOO[name]()), QUICK_CONFIGS[cname]),
                )
            )
    _compare_both(cases, seed=5)
