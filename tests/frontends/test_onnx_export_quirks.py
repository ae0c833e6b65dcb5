"""Export quirks of real ONNX producers, compared with ONNX Runtime.

- keras2onnx with the batch baked in as 1: ``Flatten(axis=0)`` and ``Transpose(1, 0)`` around
  ``BatchNormalization`` move the batch axis, which is exact only because the batch is 1 —
  accepted then, still refused for a dynamic or larger batch;
- models of opset < 7 are converted with ``onnx.version_converter`` (and say so);
- QONNX channels-last ops import like their standard channels-first equivalents.
"""

from __future__ import annotations

import numpy as np
import pytest
from model_zoo import make_model, run_onnxruntime
from onnx import TensorProto, helper, numpy_helper

from hlsforge import reference
from hlsforge.errors import UnsupportedOpError
from hlsforge.frontends.onnx import load_onnx

RTOL, ATOL = 1e-4, 1e-5
RNG = np.random.default_rng(12)


def W(*shape: int) -> np.ndarray:
    return (RNG.normal(size=shape) * 0.5).astype(np.float32)


def _bn_inits(prefix: str, c: int) -> dict[str, np.ndarray]:
    return {f"{prefix}_g": W(c) + 1, f"{prefix}_b": W(c), f"{prefix}_m": W(c),
            f"{prefix}_v": (np.abs(W(c)) + 0.5).astype(np.float32)}


def _bn(x: str, y: str, prefix: str) -> object:
    return helper.make_node("BatchNormalization", [x, f"{prefix}_g", f"{prefix}_b", f"{prefix}_m", f"{prefix}_v"], [y])


def _check(model, x) -> None:
    graph = load_onnx(model)
    np.testing.assert_allclose(reference.run(graph, x), run_onnxruntime(model, x), rtol=RTOL, atol=ATOL)


def _keras2onnx_cnn(batch: int | str):
    """Conv -> Flatten(axis=0) -> Gemm -> Transpose(1,0) -> BN -> Transpose(1,0): the BN runs
    on the batch-moved (16, 1) tensor, its channel axis being the moved batch axis."""
    c = 16
    inits = {"k": W(4, 3, 3, 3), "kb": W(4), "w": W(4 * 6 * 6, c), "wb": W(c), **_bn_inits("bn", 1)}
    nodes = [
        helper.make_node("Conv", ["x", "k", "kb"], ["c"]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"], axis=0),
        helper.make_node("Gemm", ["f", "w", "wb"], ["d"]),
        helper.make_node("Transpose", ["d"], ["t"], perm=[1, 0]),
        _bn("t", "b", "bn"),
        helper.make_node("Transpose", ["b"], ["y"], perm=[1, 0]),
    ]
    return make_model(nodes, {"x": (batch, 3, 8, 8)}, inits)


def test_keras2onnx_batch1_flatten_axis0_and_transpose_around_batchnorm():
    model = _keras2onnx_cnn(1)
    _check(model, RNG.normal(size=(1, 3, 8, 8)).astype(np.float32))


def test_batch1_transpose_to_channels_first_batchnorm_4d():
    """Transpose(1,0,2,3) swaps the batch with the channels: BN then runs with 5 "channels"
    on axis 1, which was the batch-moved spatial axis."""
    inits = _bn_inits("bn", 3)
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2, 3]),  # (1,3,5,4) -> (3,1,5,4)
        helper.make_node("Transpose", ["t"], ["u"], perm=[0, 2, 1, 3]),  # (3,5,1,4)
        helper.make_node("Transpose", ["u"], ["v"], perm=[2, 1, 0, 3]),  # (1,5,3,4)
        helper.make_node("Transpose", ["v"], ["w"], perm=[0, 2, 1, 3]),  # (1,3,5,4)
        _bn("w", "y", "bn"),
    ]
    model = make_model(nodes, {"x": (1, 3, 5, 4)}, inits)
    _check(model, RNG.normal(size=(1, 3, 5, 4)).astype(np.float32))


def test_batch1_whole_tensor_batchnorm_spatial():
    """BN over a batch-moved 3-D tensor (5, 3, 4): channel axis 1 of the whole shape."""
    inits = _bn_inits("bn", 3)
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[2, 1, 0]),  # (1,3,5) -> (5,3,1)
        _bn("t", "b", "bn"),
        helper.make_node("Transpose", ["b"], ["y"], perm=[2, 1, 0]),
    ]
    model = make_model(nodes, {"x": (1, 3, 5)}, inits)
    _check(model, RNG.normal(size=(1, 3, 5)).astype(np.float32))


@pytest.mark.parametrize("batch", ["N", 2])
def test_batch_moves_still_refused_unless_batch_is_one(batch):
    with pytest.raises(UnsupportedOpError, match="batch axis"):
        load_onnx(_keras2onnx_cnn(batch))


def test_batch_moved_tensor_as_output_or_into_other_ops_is_refused():
    model = make_model([helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0])], {"x": (1, 4)}, {})
    with pytest.raises(UnsupportedOpError, match="batch axis first"):
        load_onnx(model)
    model = make_model([helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0]),
                        helper.make_node("Relu", ["t"], ["y"])], {"x": (1, 4)}, {})
    with pytest.raises(UnsupportedOpError, match="moved away from axis 0"):
        load_onnx(model)


# ----------------------------------------------------------------------------- old opsets


def _opset6_model():
    inits = {"w": W(6, 4), "b": W(4), **_bn_inits("bn", 4)}
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["d"], broadcast=1),
        helper.make_node("BatchNormalization", ["d", "bn_g", "bn_b", "bn_m", "bn_v"], ["n"], is_test=1),
        helper.make_node("Relu", ["n"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "old", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 6)])
    model.ir_version = 3
    return model


def test_opset6_is_converted_and_says_so():
    model = _opset6_model()
    graph = load_onnx(model)
    assert graph.metadata["opset"] == 13
    assert any("opset 6" in n and "version_converter" in n for n in graph.metadata["notes"])
    x = RNG.normal(size=(3, 6)).astype(np.float32)
    # ONNX Runtime no longer runs opset-6 Gemm: the expected values are the ops' formulas
    init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    d = x @ init["w"] + init["b"]
    n = (d - init["bn_m"]) / np.sqrt(init["bn_v"] + 1e-5) * init["bn_g"] + init["bn_b"]
    np.testing.assert_allclose(reference.run(graph, x), np.maximum(n, 0), rtol=RTOL, atol=ATOL)


def test_inspect_prints_the_conversion_note(tmp_path, capsys):
    from hlsforge.cli import main

    path = tmp_path / "old.onnx"
    path.write_bytes(_opset6_model().SerializeToString())
    assert main(["inspect", str(path)]) == 0
    assert "note: converted from ONNX opset 6 to opset 13" in capsys.readouterr().out


# ----------------------------------------------------------------------------- QONNX channels-last

CL = "qonnx.custom_op.channels_last"


def _channels_last_pair(spatial: int):
    """The same network twice: QONNX channels-last ops on (N, *sp, C), and standard ops
    between Transposes (what QONNX executes), which ONNX Runtime runs."""
    k = (3,) * spatial
    w = W(5, 3, *k)  # OIHW
    w_last = np.transpose(w, (0, *range(2, 2 + spatial), 1))  # OHWI
    bn = {"b": W(5), **_bn_inits("bn", 5)}
    pool = {"kernel_shape": [2] * spatial, "strides": [2] * spatial}
    r = spatial + 2
    to_first = [0, r - 1, *range(1, r - 1)]
    to_last = [0, *range(2, r), 1]

    def net(domain: str, weight: np.ndarray, pre: list, post: list, x: str, y: str):
        nodes = pre + [
            helper.make_node("Conv", [x, "w", "b"], ["c"], domain=domain, pads=[1] * (2 * spatial)),
            helper.make_node("BatchNormalization", ["c", "bn_g", "bn_b", "bn_m", "bn_v"], ["n"], domain=domain),
            helper.make_node("Relu", ["n"], ["r"]),
            helper.make_node("MaxPool", ["r"], ["p"], domain=domain, **pool),
            helper.make_node("AveragePool", ["p"], [y], domain=domain, kernel_shape=[1] * spatial),
        ] + post
        shape = ("N", *([8] * spatial), 3)
        model = make_model(nodes, {"x": shape}, {"w": weight, **bn})
        if domain:
            model.opset_import.append(helper.make_opsetid(domain, 1))
        return model

    qonnx = net(CL, w_last, [], [], "x", "y")
    standard = net("", w, [helper.make_node("Transpose", ["x"], ["xf"], perm=to_first)],
                   [helper.make_node("Transpose", ["yf"], ["y"], perm=to_last)], "xf", "yf")
    return qonnx, standard


@pytest.mark.parametrize("spatial", [1, 2])
def test_qonnx_channels_last_ops_match_the_standard_ops(spatial):
    qonnx, standard = _channels_last_pair(spatial)
    graph = load_onnx(qonnx)
    x = RNG.normal(size=(4, *([8] * spatial), 3)).astype(np.float32)
    np.testing.assert_allclose(reference.run(graph, x), run_onnxruntime(standard, x), rtol=RTOL, atol=ATOL)


def test_qonnx_channels_last_other_ops_are_refused_by_name():
    model = make_model([helper.make_node("Resize", ["x"], ["y"], domain=CL)], {"x": ("N", 4, 4, 2)}, {})
    model.opset_import.append(helper.make_opsetid(CL, 1))
    with pytest.raises(UnsupportedOpError, match="channels-last op Resize"):
        load_onnx(model)
