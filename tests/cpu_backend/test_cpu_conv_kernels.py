"""The convolution kernels picked for many channels: Winograd F(2x2, 3x3) (even and odd output
sizes, SAME/VALID/asymmetric padding, a fused ReLU, several tile blocks per event) and the
16-float direct tiles (output channels in whole 16-float vectors, strides, other kernels),
against the float reference at the backend's tolerance; the plan picks them by Tuning."""

from __future__ import annotations

import numpy as np
import pytest
from cpu_helpers import assert_close

from hlsforge import cpu_backend, reference
from hlsforge.cpu_backend import Tuning, lower
from hlsforge.cpu_backend.lower import ConvStep
from hlsforge.ir import ConvAttrs, Graph, Op


def _conv(name: str, *, h: int, w: int, c_in: int, c_out: int, k: tuple[int, int] = (3, 3), stride: int = 1,
          pads: tuple[tuple[int, int], tuple[int, int]] = ((1, 1), (1, 1)), relu: bool = False) -> Graph:
    g = Graph(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    g.add_input("x", (h, w, c_in))
    scale = 1.0 / np.sqrt(k[0] * k[1] * c_in)
    g.add_constant("kernel", (rng.normal(size=(*k, c_in, c_out)) * scale).astype(np.float32))
    g.add_constant("bias", (rng.normal(size=(c_out,)) * 0.2).astype(np.float32))
    node = g.add_node(Op.CONV2D, ["x", "kernel", "bias"], attrs=ConvAttrs(k, (stride,) * 2, (1, 1), pads, 1),
                      source_name="conv")
    if relu:
        node = g.add_node(Op.RELU, node.outputs, source_name="relu")
    g.outputs = node.outputs
    return g.validate()


CASES = {
    "wino_same_even_relu": lambda: _conv("wino_same_even_relu", h=12, w=16, c_in=32, c_out=64, relu=True),
    "wino_same_odd": lambda: _conv("wino_same_odd", h=9, w=13, c_in=48, c_out=32),
    "wino_valid": lambda: _conv("wino_valid", h=11, w=10, c_in=32, c_out=40, pads=((0, 0), (0, 0))),
    "wino_asymmetric": lambda: _conv("wino_asymmetric", h=7, w=30, c_in=64, c_out=32, pads=((0, 2), (1, 0))),
    "direct16_stride2": lambda: _conv("direct16_stride2", h=13, w=15, c_in=8, c_out=48, stride=2, relu=True),
    "direct16_5x5": lambda: _conv("direct16_5x5", h=10, w=11, c_in=6, c_out=32, k=(5, 5), pads=((2, 2), (2, 2))),
    "direct16_1x3": lambda: _conv("direct16_1x3", h=4, w=25, c_in=16, c_out=16, k=(1, 3), pads=((0, 0), (1, 1))),
}


@pytest.fixture(scope="module")
def compiled():
    graphs = {k: f() for k, f in CASES.items()}
    return dict(zip(graphs, zip(graphs.values(), cpu_backend.compile_models(list(graphs.values())), strict=True),
                    strict=True))


@pytest.mark.parametrize("case", list(CASES))
def test_conv_kernels_match_the_reference(compiled, case):
    graph, model = compiled[case]
    (step,) = [s for s in lower(graph).steps if isinstance(s, ConvStep)]
    assert (step.strategy == "winograd") == case.startswith("wino"), step.strategy
    for batch in (1, 3):
        x = np.random.default_rng(batch).normal(size=(batch, *graph.user_shape("x"))).astype(np.float32)
        assert_close(model.predict(x), reference.run(graph, x), f"{case} at batch {batch}")


def test_winograd_threshold_is_a_tuning_choice():
    graph = CASES["wino_same_odd"]()
    assert [s.strategy for s in lower(graph, tuning=Tuning(conv_winograd_min_channels=0)).steps
            if isinstance(s, ConvStep)] == ["general"]
    assert [s.strategy for s in lower(graph, tuning=Tuning(conv_winograd_min_channels=33)).steps
            if isinstance(s, ConvStep)] == ["general"]  # 32 output channels: below 33
