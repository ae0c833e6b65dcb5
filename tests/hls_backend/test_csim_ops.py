"""C simulation == emulator, exactly, for every op of the zoo under a matrix of precisions.

All cases of a sweep are compiled into ONE shared library (one compiler run): compile time is
the cost, not the comparisons. The quick sweep covers widths 4..24, TRN/RND/RND_CONV x
WRAP/SAT, Latency and Resource and the remaining modes; the slow one the full product.
"""

from __future__ import annotations

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

from hlsforge.hls_backend import compile_many

QUICK = op_cases(QUICK_CONFIGS)


@pytest.fixture(scope="module")
def quick_models():
    graphs = [g for _, g in QUICK]
    models = compile_many(
        graphs, names=[model_name(label) for label, _ in QUICK], flags=BITS_ONLY_FLAGS
    )
    return dict(zip([label for label, _ in QUICK], models, strict=True))


@pytest.mark.parametrize("label,graph", QUICK, ids=[label for label, _ in QUICK])
def test_op_matches_emulator(quick_models, label, graph):
    assert_same_as_emulator(
        quick_models[label], graph, emulator_inputs(graph, seed=len(label)), label
    )


@pytest.fixture(scope="module")
def generic_models():
    """The same library built with the generic fixed-point loops instead of the fast raw path."""
    subset = [
        (label, g)
        for label, g in QUICK
        if label.split("__")[1] in ("dense", "dense_3d", "conv2d_groups", "conv1d_stride_pad")
    ]
    models = compile_many(
        [g for _, g in subset],
        names=[model_name(label) for label, _ in subset],
        flags=(*BITS_ONLY_FLAGS, "-DHLSFORGE_NO_FAST_CSIM"),
    )
    return dict(
        zip(
            [label for label, _ in subset],
            zip(models, [g for _, g in subset], strict=True),
            strict=True,
        )
    )


def test_generic_loops_match_emulator(generic_models):
    assert generic_models
    for label, (model, graph) in generic_models.items():
        assert_same_as_emulator(model, graph, emulator_inputs(graph, seed=3), label)


@pytest.mark.slow
def test_full_sweep_matches_emulator():
    cases = op_cases(full_configs())
    for fast in (True, False):
        flags = BITS_ONLY_FLAGS if fast else (*BITS_ONLY_FLAGS, "-DHLSFORGE_NO_FAST_CSIM")
        for part in chunks(cases):
            models = compile_many(
                [g for _, g in part], names=[model_name(label) for label, _ in part], flags=flags
            )
            for (label, graph), model in zip(part, models, strict=True):
                assert_same_as_emulator(
                    model, graph, emulator_inputs(graph, seed=len(label) + 7), label
                )
