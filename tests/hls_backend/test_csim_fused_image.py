"""The fused chain's whole-image convolution (``stream_fused.h``: ``conv_image_fast``, two
windows per pass on 16-bit lanes, the raw-integer beat steps of ReLU / max pooling /
``finish_beat``) gives the emulator's bits on the shapes that reach its edge cases: one input
channel, filter counts that are not a multiple of the lane width (1, 5, 12, 20), odd output
widths (the last window of a row alone), stride, padding, vertical dilation, Conv1D, a ReLU
or an accumulator of another type than the result (the fixed-point steps), padded pooling,
32-bit lanes (large weights, rounding accumulator), no lanes (a 40-bit accumulator), an image
too large for the stack, and the layers that keep the line-buffer
kernel (saturating accumulator, groups). Every model ends with its fused chain, so
``predict`` (which runs the fused copy of the top function) shows the chain's own output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import stream_models
from hls_cases import BITS_ONLY_FLAGS, assert_same_as_emulator, emulator_inputs

from hlsforge import hls_backend
from hlsforge.hls_backend.stream.fuse import chains
from hlsforge.ir import ConvAttrs, Graph, Op, PoolAttrs
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure

DEFAULT = "ap_fixed<16,6>"


def _net(name: str, shape: tuple[int, ...], scale: float) -> stream_models._Net:
    """A builder whose weights are scaled by ``scale`` (small weights take the 16-bit lanes)."""
    m = stream_models._Net(name, shape)
    base = m._const
    m._const = lambda prefix, data: base(prefix, data * (scale if prefix == "w" else 1.0))  # type: ignore[method-assign]
    return m


def _conv(m: stream_models._Net, x: str, c_in: int, c_out: int, k: tuple[int, ...], *, stride: int = 1,
          pad: int = 0, dil: tuple[int, ...] | None = None, groups: int = 1) -> str:
    nsp = len(k)
    w = m._const("w", m.rng.normal(size=(*k, c_in // groups, c_out)) / np.sqrt(np.prod(k) * c_in // groups))
    b = m._const("b", m.rng.normal(size=(c_out,)) * 0.1)
    attrs = ConvAttrs(k, (stride,) * nsp, dil or (1,) * nsp, ((pad, pad),) * nsp, groups)
    return m.add(Op.CONV1D if nsp == 1 else Op.CONV2D, [x, w, b], "conv", attrs)


def _pool(m: stream_models._Net, x: str, k: int, nsp: int = 2, pad: int = 0) -> str:
    op = Op.MAXPOOL1D if nsp == 1 else Op.MAXPOOL2D
    return m.add(op, [x], "pool", PoolAttrs((k,) * nsp, (k,) * nsp, ((pad, pad),) * nsp, False, False))


def _chain(name: str, shape: tuple[int, ...], c_out: int, k: tuple[int, ...], scale: float = 0.3,
           pool: int | None = 2, pool_pad: int = 0, **conv: Any) -> Graph:
    """input -> Conv -> ReLU [-> MaxPool] -> output."""
    m = _net(name, shape, scale)
    x = _conv(m, "x", shape[-1], c_out, k, **conv)
    x = m.add(Op.RELU, [x], "relu")
    if pool:
        x = _pool(m, x, pool, len(k), pool_pad)
    return m.done(x)


def _cfg(**layers: Any) -> dict[str, Any]:
    return {"model": {"default": DEFAULT, "io_type": "io_stream"}, "layers": layers}


CASES: dict[str, tuple[Graph, dict[str, Any]]] = {
    # one input channel, 8 filters: windows in pairs; out_w = 9 leaves the last one alone
    "one_chan": (_chain("one_chan", (9, 11, 1), 8, (3, 3)), _cfg()),
    # 5 filters, stride 2, padding 1 (windows in the padding); ReLU into another type; padded pool
    "stride_pad": (_chain("stride_pad", (10, 9, 1), 5, (3, 3), stride=2, pad=1, pool_pad=1),
                   _cfg(relu={"result": "ap_fixed<12,4>"})),
    # 3 channels, 12 filters (one 16-lane vector in partial sums), vertical dilation 2, padding 2
    "dilated": (_chain("dilated", (9, 8, 3), 12, (3, 3), pad=2, dil=(2, 1), pool=None), _cfg()),
    # 20 filters (two 16-lane vectors), an accumulator wider than the result
    "wide_acc": (_chain("wide_acc", (7, 7, 2), 20, (2, 3)), _cfg(conv={"accum": "ap_fixed<24,10>"})),
    # Conv1D, 1 filter, kernel 5, stride 2
    "conv1d": (_chain("conv1d", (17, 3), 1, (5,), stride=2), _cfg()),
    # large weights: 32-bit lanes; a rounding accumulator: 32-bit lanes with RND
    "large_w": (_chain("large_w", (8, 8, 2), 8, (3, 3), scale=4.0), _cfg()),
    "rnd_acc": (_chain("rnd_acc", (8, 8, 1), 8, (3, 3)), _cfg(conv={"accum": "ap_fixed<16,6,AP_RND>"})),
    # a padded image over 64 KiB (48 x 48 x 8 values): the per-thread buffer, its padding
    # zeroed once and kept from event to event
    "big_image": (_chain("big_image", (46, 46, 8), 4, (3, 3), pad=1), _cfg()),
    # a 40-bit accumulator: modular but no lane form, the scalar loop over the image window
    "acc40": (_chain("acc40", (7, 9, 2), 6, (3, 3), pad=1), _cfg(conv={"accum": "ap_fixed<40,16>"})),
    # not modular (saturating accumulator) and grouped: the line-buffer kernel
    "sat_acc": (_chain("sat_acc", (8, 8, 1), 8, (3, 3)), _cfg(conv={"accum": "ap_fixed<16,6,AP_TRN,AP_SAT>"})),
    "grouped": (_chain("grouped", (8, 8, 4), 4, (3, 3), groups=4), _cfg()),
}


@pytest.fixture(scope="module")
def models() -> dict[str, tuple[Graph, Any]]:
    graphs = {k: configure(g, cfg) for k, (g, cfg) in CASES.items()}
    built = hls_backend.compile_many(list(graphs.values()), names=list(graphs), flags=BITS_ONLY_FLAGS)
    return {k: (graphs[k], m) for k, m in zip(graphs, built, strict=True)}


@pytest.mark.parametrize("label", list(CASES))
def test_whole_image_chain_equals_the_emulator(models, label: str) -> None:
    graph, model = models[label]
    assert [len(c) for c in chains(model.model)] == [len(model.model.layers)]  # one fused chain
    assert_same_as_emulator(model, graph, emulator_inputs(graph, seed=4, batch=24), label)


def test_whole_image_chain_optimized_build_equals_the_emulator() -> None:
    """The library users get (-O3: the window loop inlined and vectorized for AVX2) gives the
    same bits, on the window pairs, 32-bit lanes and the fixed-point steps."""
    labels = ["one_chan", "stride_pad", "wide_acc", "large_w"]
    graphs = [configure(CASES[k][0], CASES[k][1]) for k in labels]
    built = hls_backend.compile_many(graphs, names=[f"{k}_o3" for k in labels])
    for label, graph, model in zip(labels, graphs, built, strict=True):
        x = emulator_inputs(graph, seed=5, batch=24)
        np.testing.assert_array_equal(model.predict(x), emulate.run(graph, x), err_msg=label)
