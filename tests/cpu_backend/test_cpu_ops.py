"""Every op of the IR catalogue runs on the CPU backend and agrees with the float reference."""

from __future__ import annotations

import pytest
from cpu_helpers import assert_close
from op_zoo import CASES, covered_ops, random_inputs

from hlsforge import reference
from hlsforge.cpu_backend import RULES
from hlsforge.cpu_backend.emit import RENDER
from hlsforge.cpu_backend.lower import Step
from hlsforge.ir.ops import FINAL_OPS


def test_every_final_op_has_a_rule():
    missing = sorted(op.value for op in FINAL_OPS if op not in RULES)
    assert not missing, f"CPU backend has no lowering rule for {missing}"


def test_every_step_record_has_a_renderer():
    def leaves(cls):
        subs = cls.__subclasses__()
        return [c for s in subs for c in leaves(s)] + subs

    assert {c for c in leaves(Step) if c not in RENDER} == set()


def test_op_zoo_covers_every_final_op():
    assert set(FINAL_OPS) <= covered_ops()


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("batch", [1, 1000])
def test_op_matches_reference(op_models, case, batch):
    graph, model = op_models[case]
    x = random_inputs(graph, batch, seed=batch)
    assert_close(model.predict(x), reference.run(graph, x), f"{case} at batch {batch}")


BLAS_CASES = [c for c in CASES if c.startswith(("dense", "conv"))]


@pytest.fixture(scope="module")
def blas_models():
    """The Dense/Conv cases with thresholds that send every product to BLAS (sgemv for single
    rows), so the BLAS paths are tested on the same small graphs as the loop kernels."""
    from hlsforge.cpu_backend import Tuning, compile_models

    forced = Tuning(dense_loop_max_macs=0, dense_blas_min_rows=1, gemv_min_macs=1, conv_direct_max_macs=0,
                    conv_direct_max_macs_32regs=0)
    graphs = [CASES[c]() for c in BLAS_CASES]
    return dict(zip(BLAS_CASES, zip(graphs, compile_models(graphs, tuning=forced), strict=True), strict=True))


@pytest.mark.parametrize("case", BLAS_CASES)
@pytest.mark.parametrize("batch", [1, 300])
def test_blas_paths_match_reference(blas_models, case, batch):
    graph, model = blas_models[case]
    x = random_inputs(graph, batch, seed=batch)
    assert_close(model.predict(x), reference.run(graph, x), f"{case} at batch {batch} through BLAS")


def _extra_convs():
    """Convolutions beyond the op zoo's: groups with padding, stride and dilation together,
    wide outputs (several register tiles), odd sizes."""
    from op_zoo import conv

    return [
        conv(2, c_in=6, c_out=9, groups=3, pad=2, stride=2, dil=2, k=3, size=11, name="xc_g3_s2_d2"),
        conv(1, c_in=4, c_out=20, groups=2, pad=2, stride=3, k=5, size=17, name="xc_1d_g2"),
        conv(2, c_in=5, c_out=40, pad=1, k=3, size=9, name="xc_wide"),
        conv(2, c_in=3, c_out=130, pad=0, k=2, size=6, name="xc_very_wide"),
        conv(2, c_in=7, c_out=3, pad=1, k=1, size=5, name="xc_1x1_padded"),
        conv(2, c_in=10, c_out=10, groups=10, pad=2, stride=2, dil=2, k=3, size=12, name="xc_dw_s2_d2"),
        conv(1, c_in=3, c_out=16, pad=3, k=7, size=40, name="xc_1d_long"),
    ]


@pytest.mark.parametrize("forced_blas", [False, True])
def test_more_convolutions(forced_blas):
    from hlsforge.cpu_backend import Tuning, compile_models

    # im2col blocks of a few rows that do not divide the rows and cross event boundaries
    tuning = Tuning(dense_loop_max_macs=0, dense_blas_min_rows=1, conv_direct_max_macs=0,
                    conv_direct_max_macs_32regs=0, conv_im2col_block_floats=500) if forced_blas else Tuning()
    graphs = _extra_convs()
    for g, m in zip(graphs, compile_models(graphs, tuning=tuning), strict=True):
        for batch in (1, 37):
            x = random_inputs(g, batch, seed=batch)
            assert_close(m.predict(x), reference.run(g, x), f"{g.name} batch {batch} blas={forced_blas}")
