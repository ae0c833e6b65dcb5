"""ReduceSum/Mean/Max/Min over any non-batch axes, against ONNX Runtime (float reference and
CPU backend, rtol 1e-4 / atol 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
from model_zoo import make_model, run_onnxruntime
from onnx import helper

from hlsforge import reference
from hlsforge.errors import UnsupportedOpError
from hlsforge.frontends.onnx import load_onnx

RTOL, ATOL = 1e-4, 1e-5
RNG = np.random.default_rng(3)


def _model(op: str, axes, keepdims: int, opset: int):
    inits, ins, attrs = {}, ["x"], {"keepdims": keepdims}
    axes_as_input = opset >= 18 or (op == "ReduceSum" and opset >= 13)
    if axes_as_input:
        inits["axes"] = np.array(axes, np.int64)
        ins.append("axes")
    else:
        attrs["axes"] = axes
    return make_model([helper.make_node(op, ins, ["y"], **attrs)], {"x": ("N", 3, 4, 5)}, inits, opset=opset)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("axes,keepdims", [([1], 1), ([-1], 0), ([1, 3], 0), ([2], 1), ([1, 2, 3], 1)])
@pytest.mark.parametrize("opset", [13, 18])
def test_reduce_matches_onnxruntime(op, axes, keepdims, opset):
    model = _model(op, axes, keepdims, opset)
    graph = load_onnx(model)
    x = RNG.normal(size=(4, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(reference.run(graph, x), run_onnxruntime(model, x), rtol=RTOL, atol=ATOL)


def test_reduce_through_the_cpu_backend():
    from hlsforge.cpu_backend import compile

    nodes = [helper.make_node("ReduceSum", ["x", "a"], ["s"], keepdims=1),
             helper.make_node("ReduceMin", ["s"], ["y"], axes=[1], keepdims=0)]
    model = make_model(nodes, {"x": ("N", 3, 4, 5)}, {"a": np.array([2], np.int64)}, opset=13)
    graph = load_onnx(model)
    x = RNG.normal(size=(5, 3, 4, 5)).astype(np.float32)
    want = run_onnxruntime(model, x)
    np.testing.assert_allclose(compile(graph).predict(x), want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("op,axes,keepdims,match", [
    ("ReduceSum", [0], 1, "batch axis"),
    ("ReduceMax", [1, 2, 3], 0, "scalar per event"),
    ("ReduceProd", [0, 1], 1, "ReduceProd over the batch axis"),  # ReduceProd itself is supported (issue 12)
])
def test_refused_reductions(op, axes, keepdims, match):
    with pytest.raises(UnsupportedOpError, match=match):
        load_onnx(_model(op, axes, keepdims, 13))
