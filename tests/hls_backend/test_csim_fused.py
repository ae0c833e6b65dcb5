"""The C simulation's speed paths give the emulator's bits: io_stream ``predict`` runs fused
layer chains (``stream/fuse.py``), Dense/Conv run on 16-bit or 32-bit SIMD lanes
(``fast_lanes.h``) depending on the types and on whether the pre-shifted weights fit."""

from __future__ import annotations

import numpy as np
import pytest
import stream_models
from hls_cases import BITS_ONLY_FLAGS, assert_same_as_emulator, emulator_inputs

from hlsforge import hls_backend
from hlsforge.hls_backend.stream.fuse import chains
from hlsforge.ir.ops import Op
from hlsforge.quantize.config import configure

HLS4ML_DEFAULT = {"model": {"default": "ap_fixed<16,6>", "io_type": "io_stream"}}


def _cnn(scale: float, name: str, size: int = 10):
    """Conv-BN-ReLU-MaxPool, Conv-ReLU-AvgPool(padded), Flatten, Dense-ReLU, Dense: weights
    scaled by ``scale`` (small ones take the 16-bit lanes with ap_fixed<16,6>)."""
    m = stream_models._Net(name, (size, size, 2))
    m.rng = np.random.default_rng(5)
    base = m._const

    def scaled(prefix: str, data: np.ndarray) -> str:
        return base(prefix, data * (scale if prefix == "w" else 1.0))

    m._const = scaled
    x = m.conv("x", 2, 8, 3, name="conv1")
    x = m.add(Op.RELU, [m.bn(x, 8, "bn1")], "relu1")
    x = m.pool(x, Op.MAXPOOL2D, 2, name="pool1")
    x = m.add(Op.RELU, [m.conv(x, 8, 16, 3, pad=1, name="conv2")], "relu2")
    x = m.pool(x, Op.AVGPOOL2D, 2, name="pool2", pad=1, stride=2)
    f = m.add(Op.FLATTEN, [x], "flatten")
    n = m.g.values[f].shape[0]
    x = m.add(Op.RELU, [m.dense(f, n, 40, "fc1")], "relu3")
    return m.done(m.dense(x, 40, 5, "fc2"))


def _conv_relu_out(name: str):
    """A chain that ends at the top function's output port."""
    m = stream_models._Net(name, (6, 6, 3))
    x = m.conv("x", 3, 8, 3, name="conv")
    return m.done(m.add(Op.RELU, [x], "relu"))


@pytest.fixture(scope="module")
def models():
    graphs = {
        "small_w": configure(_cnn(0.2, "small_w"), HLS4ML_DEFAULT),
        "large_w": configure(_cnn(3.0, "large_w"), HLS4ML_DEFAULT),
        "rnd_acc": configure(_cnn(0.2, "rnd_acc"), {"model": {**HLS4ML_DEFAULT["model"], "accum": "ap_fixed<16,6,AP_RND>"}}),
        "to_port": configure(_conv_relu_out("to_port"), HLS4ML_DEFAULT),
    }
    built = hls_backend.compile_many(list(graphs.values()), names=list(graphs), flags=BITS_ONLY_FLAGS)
    return {k: (graphs[k], m) for k, m in zip(graphs, built, strict=True)}


@pytest.mark.parametrize("label", ["small_w", "large_w", "rnd_acc", "to_port"])
def test_fused_predict_and_lanes_equal_the_emulator(models, label: str) -> None:
    graph, model = models[label]
    assert_same_as_emulator(model, graph, emulator_inputs(graph, seed=2, batch=40), label)


def test_chains_are_fused_in_the_bridge_only(models) -> None:
    graph, model = models["small_w"]
    fused = [[layer.ident for layer in c] for c in chains(model.model) if len(c) > 1]
    assert len(fused) == 2 and len(fused[0]) == 4 and len(fused[1]) == 3  # conv-bn-relu-pool, conv-relu-pool
    files = hls_backend.render(model.model, bridge=True)
    bridge = next(t for k, t in files.items() if k.endswith("_bridge.cpp"))
    top = files[f"{model.model.name}.cpp"]
    assert bridge.count("// fused in C simulation: ") == 2 and "fast_top(in, out)" in bridge
    assert "hlsforge::csim" not in top and "fast_top" not in top  # the firmware is untouched
    _, port = models["to_port"]
    assert [len(c) for c in chains(port.model)] == [2]
