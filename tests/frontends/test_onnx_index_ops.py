"""ONNX Slice, Gather, Split, Tile, Expand, Resize (nearest) and Where (constant condition):
imported as the IR index ops and compared with ONNX Runtime through the float reference and
the CPU backend (rtol 1e-4, atol 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
from model_zoo import make_model, run_onnxruntime
from onnx import helper

from hlsforge import reference
from hlsforge.errors import UnsupportedOpError
from hlsforge.frontends.onnx import load_onnx
from hlsforge.ir import Op

RTOL, ATOL = 1e-4, 1e-5
RNG = np.random.default_rng(7)


def I64(*v: int) -> np.ndarray:
    return np.array(v, dtype=np.int64)


def F32(*v: float) -> np.ndarray:
    return np.array(v, dtype=np.float32)


def _one(op: str, inputs: list[str], inits: dict, shape=("N", 4, 5, 6), outputs=("y",), opset=13, **attrs):
    node = helper.make_node(op, inputs, list(outputs), **attrs)
    return make_model([node], {"x": shape}, inits, opset=opset, outputs=outputs)


CASES = {
    "slice_steps": lambda: _one("Slice", ["x", "s", "e", "a", "st"],
                                {"s": I64(1, -1, 0), "e": I64(4, -6, 100), "a": I64(1, 3, 2), "st": I64(2, -2, 3)}),
    "slice_batch_all": lambda: _one("Slice", ["x", "s", "e", "a"],
                                    {"s": I64(0, 1), "e": I64(2**62, 3), "a": I64(0, -1)}),
    "slice_v1": lambda: _one("Slice", ["x"], {}, opset=9, starts=[1], ends=[3], axes=[2]),
    "gather_vector": lambda: _one("Gather", ["x", "i"], {"i": I64(2, 0, -1, 2)}, axis=2),
    "gather_scalar": lambda: _one("Gather", ["x", "i"], {"i": np.array(3, dtype=np.int64)}, axis=-1),
    "gather_matrix": lambda: _one("Gather", ["x", "i"], {"i": np.array([[0, 1], [3, 3]], dtype=np.int64)}, axis=1),
    "split_sizes": lambda: _one("Split", ["x", "sp"], {"sp": I64(2, 4)}, outputs=("y", "z"), axis=3),
    "split_equal_v11": lambda: _one("Split", ["x"], {}, outputs=("y", "z"), opset=11, axis=1),
    "tile": lambda: _one("Tile", ["x", "r"], {"r": I64(1, 2, 1, 3)}),
    "expand": lambda: _one("Expand", ["x", "s"], {"s": I64(1, 3, 1, 5)}, shape=("N", 1, 4, 1)),
    "expand_lower_rank_target": lambda: _one("Expand", ["x", "s"], {"s": I64(3, 4)}, shape=("N", 3, 1)),
    "resize_nearest_scales": lambda: _one("Resize", ["x", "", "sc"], {"sc": F32(1, 1, 2, 1.5)}),
    "resize_nearest_sizes_align": lambda: _one(
        "Resize", ["x", "", "", "sz"], {"sz": I64(3, 4, 3, 11)}, shape=(3, 4, 5, 6), coordinate_transformation_mode="align_corners",
        nearest_mode="round_prefer_ceil"),
    "resize_asymmetric_floor": lambda: _one(
        "Resize", ["x", "", "sc"], {"sc": F32(1, 1, 3, 2)}, coordinate_transformation_mode="asymmetric",
        nearest_mode="floor"),
    "upsample_v9": lambda: _one("Upsample", ["x", "sc"], {"sc": F32(1, 1, 2, 2)}, opset=9),
    "where_const_operand": lambda: _one("Where", ["c", "x", "k"], {
        "c": RNG.random((5, 6)) > 0.5, "k": RNG.normal(size=(4, 1, 6)).astype(np.float32)}, opset=13),
    "where_const_first": lambda: _one("Where", ["c", "k", "x"], {
        "c": RNG.random((1, 4, 5, 1)) > 0.5, "k": np.float32(2.5)}, opset=13),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_onnxruntime(case):
    model = CASES[case]()
    graph = load_onnx(model)
    x = RNG.normal(size=(3, *[d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]))
    x = x.astype(np.float32)
    got, want = reference.run(graph, x), run_onnxruntime(model, x)
    if isinstance(want, dict):
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=RTOL, atol=ATOL)
    else:
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_where_and_slice_through_the_cpu_backend():
    from hlsforge.cpu_backend import compile

    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Where", ["c", "x", "r"], ["w"]),
             helper.make_node("Slice", ["w", "s", "e", "a", "st"], ["y"])]
    inits = {"c": RNG.random((4, 5)) > 0.5, "s": I64(3), "e": I64(0), "a": I64(2), "st": I64(-1)}
    model = make_model(nodes, {"x": ("N", 4, 5)}, inits)
    graph = load_onnx(model)
    x = RNG.normal(size=(6, 4, 5)).astype(np.float32)
    assert {n.op for n in graph.nodes} >= {Op.GATHER, Op.SLICE}
    want = run_onnxruntime(model, x)
    np.testing.assert_allclose(reference.run(graph, x), want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(compile(graph).predict(x), want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("op,inputs,inits,attrs", [
    ("Gather", ["x", "i"], {"i": I64(0)}, {"axis": 0}),
    ("Slice", ["x", "s", "e", "a"], {"s": I64(1), "e": I64(2), "a": I64(0)}, {}),
    ("Tile", ["x", "r"], {"r": I64(2, 1, 1, 1)}, {}),
    ("Split", ["x"], {}, {"axis": 0}),
    ("Resize", ["x", "", "sc"], {"sc": F32(2, 1, 1, 1)}, {}),
])
def test_touching_the_batch_axis_is_refused(op, inputs, inits, attrs):
    outputs = ("y", "z") if op == "Split" else ("y",)
    with pytest.raises(UnsupportedOpError, match="batch"):
        load_onnx(_one(op, inputs, inits, outputs=outputs, **attrs))
