"""One small ONNX model per op and attribute variant, imported and compared with ONNX Runtime.

These cover what the model zoo does not: every auto_pad mode, ceil_mode, count_include_pad,
Gemm's transB/alpha/beta, Clip with attributes (opsets 7-10) and inputs (opset 11+),
Softmax's opset-12 "coerce to 2-D" axis against opset-13's single axis, broadcast constants
(with and without a leading batch axis), Div by a constant, and the data-movement ops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx
import pytest
from model_zoo import make_model as build
from model_zoo import run_onnxruntime
from onnx import helper, numpy_helper

from hlsforge import reference
from hlsforge.frontends.onnx import load_onnx
from hlsforge.ir import Op

RTOL, ATOL = 1e-5, 1e-6
RNG = np.random.default_rng(99)


def W(*shape: int, scale: float = 0.5) -> np.ndarray:
    return (RNG.normal(size=shape) * scale).astype(np.float32)


def I64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def node(op: str, inputs: Sequence[str], output: str = "y", **attrs) -> onnx.NodeProto:
    return helper.make_node(op, list(inputs), [output], **attrs)


def unary(op: str, shape=("N", 3, 5), opset: int = 13, **attrs) -> onnx.ModelProto:
    return build([node(op, ["x"], **attrs)], {"x": shape}, {}, opset)


def conv(shape, w_shape, opset=13, bias=True, **attrs) -> onnx.ModelProto:
    consts = {"w": W(*w_shape)}
    if bias:
        consts["b"] = W(w_shape[0])
    return build([node("Conv", ["x", "w"] + (["b"] if bias else []), **attrs)], {"x": shape}, consts, opset)


def pool(op: str, shape, opset=13, **attrs) -> onnx.ModelProto:
    return build([node(op, ["x"], **attrs)], {"x": shape}, {}, opset)


def after_conv(make: Callable[[str], list[onnx.NodeProto]], consts: dict[str, np.ndarray], opset: int = 13) -> onnx.ModelProto:
    """``make(c)`` appended to a 3x3 conv producing ``c`` (N, 4, 6, 6)."""
    nodes = [node("Conv", ["x", "cw", "cb"], "c", pads=[1, 1, 1, 1])] + make("c")
    return build(nodes, {"x": ("N", 2, 6, 6)}, {"cw": W(4, 2, 3, 3), "cb": W(4), **consts}, opset)


CASES: dict[str, Callable[[], onnx.ModelProto]] = {
    # ---------------------------------------------------------------- dense
    "gemm_transB_alpha_beta": lambda: build([node("Gemm", ["x", "w", "c"], transB=1, alpha=0.5, beta=2.0)],
                                            {"x": ("N", 6)}, {"w": W(4, 6), "c": W(4)}),
    "gemm_bias_1xN": lambda: build([node("Gemm", ["x", "w", "c"])], {"x": ("N", 6)}, {"w": W(6, 4), "c": W(1, 4)}),
    "gemm_scalar_bias": lambda: build([node("Gemm", ["x", "w", "c"])], {"x": ("N", 6)}, {"w": W(6, 4), "c": W(1)}),
    "gemm_no_bias_opset11": lambda: build([node("Gemm", ["x", "w"])], {"x": ("N", 6)}, {"w": W(6, 4)}, 11),
    "matmul_add_rank3": lambda: build([node("MatMul", ["x", "w"], "m"), node("Add", ["m", "b"])],
                                      {"x": ("N", 3, 6)}, {"w": W(6, 4), "b": W(4)}),
    "matmul_no_add": lambda: build([node("MatMul", ["x", "w"])], {"x": ("N", 6)}, {"w": W(6, 2)}),
    # ---------------------------------------------------------------- conv
    "conv1d_pads_strides": lambda: conv(("N", 3, 17), (5, 3, 4), pads=[2, 1], strides=[2]),
    "conv1d_dilated_no_bias": lambda: conv(("N", 3, 17), (5, 3, 3), bias=False, dilations=[3]),
    "conv2d_same_upper": lambda: conv(("N", 3, 9, 8), (4, 3, 3, 2), auto_pad="SAME_UPPER", strides=[2, 3]),
    "conv2d_same_lower": lambda: conv(("N", 3, 9, 8), (4, 3, 3, 2), auto_pad="SAME_LOWER", strides=[2, 3]),
    "conv2d_valid": lambda: conv(("N", 3, 9, 8), (4, 3, 3, 3), auto_pad="VALID"),
    "conv2d_asymmetric_pads": lambda: conv(("N", 2, 7, 7), (3, 2, 3, 3), pads=[0, 1, 2, 0], dilations=[2, 1]),
    "conv2d_groups": lambda: conv(("N", 4, 6, 6), (6, 2, 3, 3), group=2, pads=[1, 1, 1, 1]),
    "conv2d_depthwise": lambda: conv(("N", 3, 6, 6), (6, 1, 3, 3), group=3, strides=[2, 2]),
    "conv2d_opset7": lambda: conv(("N", 2, 6, 6), (3, 2, 3, 3), opset=7, pads=[1, 1, 1, 1]),
    # ---------------------------------------------------------------- pooling
    "maxpool1d": lambda: pool("MaxPool", ("N", 3, 11), kernel_shape=[3], strides=[2]),
    "maxpool2d_pads_ceil": lambda: pool("MaxPool", ("N", 3, 7, 8), kernel_shape=[3, 3], strides=[2, 2],
                                        pads=[1, 1, 1, 1], ceil_mode=1),
    "maxpool2d_same_upper": lambda: pool("MaxPool", ("N", 2, 7, 8), kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_UPPER"),
    "maxpool2d_opset8": lambda: pool("MaxPool", ("N", 2, 6, 6), 8, kernel_shape=[2, 2], strides=[2, 2]),
    "avgpool1d_pads": lambda: pool("AveragePool", ("N", 3, 10), kernel_shape=[3], pads=[1, 1]),
    "avgpool2d_count_include_pad": lambda: pool("AveragePool", ("N", 2, 7, 7), kernel_shape=[3, 3], strides=[2, 2],
                                                pads=[1, 1, 1, 1], count_include_pad=1),
    "avgpool2d_ceil": lambda: pool("AveragePool", ("N", 2, 7, 7), kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
    "avgpool2d_same_lower": lambda: pool("AveragePool", ("N", 2, 7, 7), kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER"),
    "global_avgpool1d": lambda: pool("GlobalAveragePool", ("N", 3, 9)),
    "global_maxpool2d": lambda: pool("GlobalMaxPool", ("N", 3, 5, 4)),
    # ---------------------------------------------------------------- batch norm
    **{
        f"batchnorm_rank{len(shape)}_opset{opset}": (lambda shape=shape, opset=opset: build(
            [node("BatchNormalization", ["x", "g", "b", "m", "v"], epsilon=1e-2)], {"x": shape},
            {"g": W(3) + 1, "b": W(3), "m": W(3), "v": np.abs(W(3)) + 0.5}, opset))
        for shape in [("N", 3), ("N", 3, 5), ("N", 3, 4, 4)] for opset in (7, 9, 15)
    },
    # ---------------------------------------------------------------- activations
    "relu": lambda: unary("Relu"),
    "leaky_relu": lambda: unary("LeakyRelu", alpha=0.2),
    "leaky_relu_default": lambda: unary("LeakyRelu"),
    "sigmoid": lambda: unary("Sigmoid"),
    "hard_sigmoid": lambda: unary("HardSigmoid", alpha=0.3, beta=0.4),
    "tanh": lambda: unary("Tanh"),
    "elu": lambda: unary("Elu", alpha=0.7),
    "selu_default": lambda: unary("Selu"),
    "selu": lambda: unary("Selu", alpha=1.5, gamma=1.1),
    "softplus": lambda: unary("Softplus"),
    "prelu_shared_slope": lambda: build([node("PRelu", ["x", "s"])], {"x": ("N", 3, 5)}, {"s": np.full((1,), 0.3, np.float32)}),
    "clip_v6_attrs_opset9": lambda: unary("Clip", opset=9, min=-0.5, max=0.7),
    "clip_v6_min_only_opset7": lambda: unary("Clip", opset=7, min=0.0),
    "clip_opset11_inputs": lambda: build([node("Clip", ["x", "lo", "hi"])], {"x": ("N", 8)},
                                         {"lo": np.array(-0.3, np.float32), "hi": np.array(0.4, np.float32)}, 11),
    "clip_opset13_max_only": lambda: build([node("Clip", ["x", "", "hi"])], {"x": ("N", 8)}, {"hi": np.array(6.0, np.float32)}),
    "clip_opset13_no_bounds": lambda: build([node("Clip", ["x"])], {"x": ("N", 8)}, {}),
    # ---------------------------------------------------------------- softmax
    "softmax_opset11_default_axis_rank3": lambda: unary("Softmax", ("N", 3, 5), 11),  # coerce: flattened 15
    "softmax_opset11_axis2": lambda: unary("Softmax", ("N", 3, 5), 11, axis=2),
    "softmax_opset11_axis1_trailing_ones": lambda: unary("Softmax", ("N", 4, 1), 11, axis=1),
    "softmax_opset11_axis_neg1": lambda: unary("Softmax", ("N", 2, 3, 4), 11, axis=-1),
    "softmax_opset13_axis1": lambda: unary("Softmax", ("N", 3, 5), 13, axis=1),  # moved to last and back
    "softmax_opset13_default": lambda: unary("Softmax", ("N", 3, 5), 13),
    "softmax_opset9_2d": lambda: unary("Softmax", ("N", 6), 9),
    # ---------------------------------------------------------------- arithmetic
    "add_channel_bias_after_conv": lambda: after_conv(lambda c: [node("Add", [c, "k"])], {"k": W(4, 1, 1)}),
    "mul_batch1_constant": lambda: after_conv(lambda c: [node("Mul", [c, "k"])], {"k": W(1, 4, 1, 1)}),
    "sub_constant_first": lambda: after_conv(lambda c: [node("Sub", ["k", c])], {"k": W(6, 6)}),
    "div_by_constant": lambda: after_conv(lambda c: [node("Div", [c, "k"])], {"k": np.abs(W(4, 1, 1)) + 0.5}),
    "add_scalar": lambda: build([node("Add", ["x", "k"])], {"x": ("N", 5)}, {"k": np.array(0.25, np.float32)}),
    "two_activations": lambda: after_conv(lambda c: [node("Relu", [c], "r"), node("Sigmoid", [c], "s"),
                                                     node("Mul", ["r", "s"], "m"), node("Sub", ["m", c])], {}),
    "sum_three": lambda: build([node("Relu", ["x"], "r"), node("Tanh", ["x"], "t"), node("Sum", ["x", "r", "t"])],
                               {"x": ("N", 5)}, {}),
    "constant_node_operand": lambda: build(
        [helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(W(5), "k")), node("Mul", ["x", "k"])],
        {"x": ("N", 5)}, {}),
    "constant_subgraph_weights": lambda: build(
        [node("Transpose", ["wt"], "w", perm=[1, 0]), node("Gemm", ["x", "w"])], {"x": ("N", 6)}, {"wt": W(3, 6)}),
    # ---------------------------------------------------------------- data movement
    "concat_channels_after_conv": lambda: after_conv(lambda c: [node("Relu", [c], "r"), node("Concat", [c, "r"], axis=1)], {}),
    "concat_inputs_axis_neg1": lambda: build([node("Concat", ["x", "z"], axis=-1)], {"x": ("N", 3, 2), "z": ("N", 3, 4)}, {}),
    "transpose_inner": lambda: unary("Transpose", ("N", 3, 4, 5), perm=[0, 3, 1, 2]),
    "flatten_rank4": lambda: unary("Flatten", ("N", 3, 4, 5)),
    "flatten_negative_axis": lambda: unary("Flatten", ("N", 3, 4, 5), 13, axis=-3),
    "flatten_axis2_size1": lambda: unary("Flatten", ("N", 1, 4, 5), 13, axis=2),
    "flatten_after_conv": lambda: after_conv(lambda c: [node("Flatten", [c], "f"), node("Gemm", ["f", "g"])], {"g": W(144, 3)}),
    "reshape_minus1_first": lambda: build([node("Reshape", ["x", "s"])], {"x": ("N", 3, 4)}, {"s": I64(-1, 12)}),
    "reshape_zero_copies_batch": lambda: build([node("Reshape", ["x", "s"])], {"x": ("N", 3, 4)}, {"s": I64(0, 2, -1)}),
    "reshape_fixed_batch": lambda: build([node("Reshape", ["x", "s"])], {"x": (4, 3, 4)}, {"s": I64(4, 6, 2)}),
    "reshape_shape_chain_opset9": lambda: build(
        [node("Shape", ["x"], "sh"), node("Gather", ["sh", "i0"], "n", axis=0),
         helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]), node("Concat", ["n1", "m1"], "t", axis=0),
         node("Reshape", ["x", "t"])], {"x": ("N", 2, 3, 2)}, {"i0": I64(0).reshape(()), "m1": I64(-1)}, 9),
    "reshape_shape_slice_chain": lambda: build(
        [node("Shape", ["x"], "sh"), node("Slice", ["sh", "st", "en"], "n"),
         node("Concat", ["n", "rest"], "t", axis=0), node("Reshape", ["x", "t"])],
        {"x": ("N", 2, 6)}, {"st": I64(0), "en": I64(1), "rest": I64(3, 4)}),
    "pad_v2_attrs_opset10": lambda: unary("Pad", ("N", 3, 4), 10, pads=[0, 1, 0, 0, 0, 2]),
    "pad_opset11_inputs": lambda: build([node("Pad", ["x", "p", "v"])], {"x": ("N", 2, 4, 4)},
                                        {"p": I64(0, 0, 1, 2, 0, 0, 2, 1), "v": np.array(0.0, np.float32)}, 11),
    "pad_opset18_axes": lambda: build([node("Pad", ["x", "p", "", "a"])], {"x": ("N", 2, 4, 4)},
                                      {"p": I64(1, 0, 2, 3), "a": I64(-1, 2)}, 18),
    "squeeze_unsqueeze_opset11": lambda: build([node("Unsqueeze", ["x"], "u", axes=[2, -1]), node("Squeeze", ["u"], axes=[2])],
                                               {"x": ("N", 3, 4)}, {}, 11),
    "squeeze_unsqueeze_opset13": lambda: build([node("Unsqueeze", ["x", "a"], "u"), node("Squeeze", ["u", "a"])],
                                               {"x": ("N", 3, 4)}, {"a": I64(1)}, 13),
    "squeeze_all_ones": lambda: build([node("Squeeze", ["x"])], {"x": ("N", 1, 4, 1)}, {}, 13),
    "identity_dropout_opset7": lambda: build([node("Identity", ["x"], "i"), node("Dropout", ["i"], ratio=0.3)],
                                             {"x": ("N", 4)}, {}, 7),
    "dropout_opset12_inputs": lambda: build([node("Dropout", ["x", "r", "t"])], {"x": ("N", 4)},
                                            {"r": np.array(0.5, np.float32), "t": np.array(False)}, 12),
    "two_outputs": lambda: build([node("Relu", ["x"], "a"), node("Sigmoid", ["a"], "b")], {"x": ("N", 4)}, {}, 13, ("a", "b")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_onnxruntime(name):
    model = CASES[name]()
    shape = [d.dim_value or 4 for d in model.graph.input[0].type.tensor_type.shape.dim]
    rng = np.random.default_rng(7)
    feeds = {
        vi.name: rng.normal(size=[d.dim_value or shape[0] for d in vi.type.tensor_type.shape.dim]).astype(np.float32)
        for vi in model.graph.input
    }
    x = feeds if len(feeds) > 1 else next(iter(feeds.values()))
    expected = run_onnxruntime(model, x)
    graph = load_onnx(model)
    got = reference.run(graph, x)
    if isinstance(expected, dict):
        for k in expected:
            np.testing.assert_allclose(got[k], expected[k], rtol=RTOL, atol=ATOL)
    else:
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_batchnorm_parameters_are_computed_in_float64():
    model = CASES["batchnorm_rank2_opset15"]()
    graph = load_onnx(model)
    (bn,) = graph.nodes
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    scale = inits["g"] / np.sqrt(inits["v"] + 1e-2)
    np.testing.assert_array_equal(graph.constant(bn.inputs[1]), scale.astype(np.float32))
    np.testing.assert_array_equal(graph.constant(bn.inputs[2]), (inits["b"] - inits["m"] * scale).astype(np.float32))


def test_gemm_becomes_dense_with_the_transposed_kernel():
    graph = load_onnx(CASES["gemm_transB_alpha_beta"]())
    (dense,) = graph.nodes
    assert dense.op is Op.DENSE and dense.source_op == "Gemm"
    assert graph.values[dense.inputs[1]].shape == (6, 4)


def test_nodes_remember_their_onnx_name_and_op():
    model = build([helper.make_node("Relu", ["x"], ["y"], name="my_relu")], {"x": ("N", 3)}, {})
    (n,) = load_onnx(model).nodes
    assert (n.source_name, n.source_op) == ("my_relu", "Relu")
    assert load_onnx(model).outputs == ["y"]
