"""Convolution plans on large images: the scratch stays bounded (issue 12, memory) and the
strategy follows the measured thresholds in ``Tuning``."""

from __future__ import annotations

from model_zoo import deep_cnn2d

import hlsforge
from hlsforge.cpu_backend import Tuning, lower
from hlsforge.cpu_backend.lower import ConvStep


def _conv_steps(plan):
    return [s for s in plan.steps if isinstance(s, ConvStep)]


def test_large_image_scratch_is_an_im2col_block_or_a_padded_event():
    graph = hlsforge.load(deep_cnn2d(n_layers=2, size=100, channels=64))
    forced = Tuning(conv_direct_max_macs=0, conv_direct_max_macs_32regs=0, conv_winograd_min_channels=0)
    plan = lower(graph, tuning=forced)
    kdim = 3 * 3 * 64
    padded_event = 102 * 102 * 64
    block_rows = forced.conv_im2col_block_floats // kdim
    second = _conv_steps(plan)[1]
    assert second.strategy == "general" and second.blas_min_rows and second.im2col_rows == block_rows
    # whole-image im2col would be 100 * 100 * 576 floats (23 MB) per event
    assert plan.scratch_floats == max(padded_event, block_rows * kdim) < 100 * 100 * kdim // 8


def test_threshold_for_32_vector_registers():
    graph = hlsforge.load(deep_cnn2d(n_layers=2, size=100, channels=64))
    step = _conv_steps(lower(graph, tuning=Tuning(conv_winograd_min_channels=0)))[1]  # 3x3x64 -> 64: 36,864 MACs
    assert step.blas_min_rows == Tuning().dense_blas_min_rows  # 16 registers: im2col + sgemm
    assert step.blas_min_rows_32 == 0  # 32 registers: direct tiles
    tight = lower(graph, tuning=Tuning(conv_direct_max_macs_32regs=36863, conv_winograd_min_channels=0))
    assert _conv_steps(tight)[1].blas_min_rows_32 == Tuning().dense_blas_min_rows


def test_many_channel_3x3_layers_run_as_winograd():
    graph = hlsforge.load(deep_cnn2d(n_layers=3, size=100, channels=64))
    steps = _conv_steps(lower(graph))
    assert [s.strategy for s in steps][:3] == ["general", "winograd", "winograd"]  # the first has one input channel
    tiles = Tuning().conv_winograd_tiles
    assert steps[1].scratch == 102 * 102 * 64 + 16 * tiles * (64 + 64)  # padded event, V and M blocks
