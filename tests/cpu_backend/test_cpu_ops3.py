"""The operators issue 12 added last (ReduceProd, TopK, GatherElements, ConvTranspose 1D-3D,
Conv3D, 3D pooling) on the CPU backend agree with the float reference, and the fixed-point
consumers refuse them with the reason of the one ``FLOAT_ONLY`` table."""

from __future__ import annotations

import numpy as np
import pytest
from cpu_helpers import assert_close
from op_zoo import OPS3_CASES, random_inputs

from hlsforge import cpu_backend, reference
from hlsforge.errors import HlsforgeError
from hlsforge.float_only import FLOAT_ONLY


@pytest.fixture(scope="module")
def ops3_models() -> dict[str, tuple]:
    names = list(OPS3_CASES)
    graphs = [OPS3_CASES[n]() for n in names]
    models = cpu_backend.compile_models(graphs)
    return {n: (g, m) for n, g, m in zip(names, graphs, models, strict=True)}


@pytest.mark.parametrize("case", list(OPS3_CASES))
def test_op_matches_reference(ops3_models, case):
    graph, model = ops3_models[case]
    for batch in (1, 19):
        x = random_inputs(graph, batch, seed=batch)
        assert_close(model.predict(x), reference.run(graph, x), f"{case} at batch {batch}")


def test_topk_ties_keep_the_lower_index(ops3_models):
    graph, model = ops3_models["topk"]
    x = np.zeros((2, 4, 10), np.float32)
    x[:, :, 7] = 1.0
    got, want = model.predict(x), reference.run(graph, x)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
    np.testing.assert_array_equal(want[graph.outputs[1]][0, 0], [7, 0, 1])


def test_gather_elements_out_of_range_index_is_nan_in_both_engines():
    from hlsforge.ir import Graph
    from hlsforge.ir.ops import AxisAttrs, Op

    g = Graph("gather_bad_index")
    g.add_input("x", (4, 2))
    g.add_input("i", (3, 2))
    n = g.add_node(Op.GATHER_ELEMENTS, ["x", "i"], attrs=AxisAttrs(0), source_name="ge")
    g.outputs = n.outputs
    g.validate()
    x = np.arange(8, dtype=np.float32).reshape(1, 4, 2)
    i = np.array([[[0, -1], [3, 4], [1.5, 2]]], np.float32)
    want = reference.run(g, {"x": x, "i": i})
    np.testing.assert_array_equal(want[0, 0], [0, 7])
    assert np.isnan(want[0, 1, 1]) and np.isnan(want[0, 2, 0]) and want[0, 2, 1] == 5
    (model,) = cpu_backend.compile_models([g])
    np.testing.assert_array_equal(model.predict({"x": x, "i": i}), want)


@pytest.mark.parametrize("op", sorted(o.value for o in FLOAT_ONLY if o.value in {
    "ReduceProd", "TopK", "GatherElements", "ConvTranspose1D", "ConvTranspose2D", "ConvTranspose3D", "Conv3D",
    "MaxPool3D", "AvgPool3D"}))
def test_fixed_point_configuration_refuses_with_reason(op):
    from hlsforge.quantize import configure

    case = {"ReduceProd": "reduce_prod", "TopK": "topk", "GatherElements": "gather_elements",
            "ConvTranspose1D": "conv_transpose1d", "ConvTranspose2D": "conv_transpose2d",
            "ConvTranspose3D": "conv_transpose3d", "Conv3D": "conv3d", "MaxPool3D": "maxpool3d",
            "AvgPool3D": "avgpool3d"}[op]
    with pytest.raises(HlsforgeError, match="float engines only"):
        configure(OPS3_CASES[case]())


def test_topk_nan_and_inf_rank_alike_in_both_engines(ops3_models):
    for case in ("topk", "topk_smallest"):
        graph, model = ops3_models[case]
        x = random_inputs(graph, 3, seed=5)
        x.reshape(-1)[::7] = np.nan
        x.reshape(-1)[3::11] = np.inf
        x.reshape(-1)[5::13] = -np.inf
        got, want = model.predict(x), reference.run(graph, x)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=case)
