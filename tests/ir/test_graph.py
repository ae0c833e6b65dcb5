"""Graph building, shape inference, validation messages, layouts and the summary."""

import numpy as np
import pytest

from hlsforge.errors import GraphError, InputError, ShapeError, UnsupportedOpError
from hlsforge.ir import ConvAttrs, Graph, Op, PoolAttrs, ReshapeAttrs, SoftmaxAttrs, TransposeAttrs
from hlsforge.ir.ops import conv_output_length, resolve_reshape


def mlp() -> Graph:
    g = Graph("m")
    g.add_input("x", (4,))
    g.add_constant("w", np.ones((4, 3), np.float32))
    g.add_constant("b", np.zeros(3, np.float32))
    d = g.add_node(Op.DENSE, ["x", "w", "b"], source_name="fc1", source_op="Gemm")
    r = g.add_node(Op.RELU, d.outputs, source_name="act")
    g.outputs = r.outputs
    return g


def test_validate_accepts_a_well_formed_graph():
    assert mlp().validate() is not None


def test_shape_inference_names_the_node_and_source_op():
    g = mlp()
    g.add_constant("w2", np.ones((5, 2), np.float32))
    g.add_constant("b2", np.zeros(2, np.float32))
    with pytest.raises(ShapeError, match=r"fc2.*Gemm.*does not fit"):
        g.add_node(Op.DENSE, [g.outputs[0], "w2", "b2"], source_name="fc2", source_op="Gemm")


def test_validate_finds_use_before_definition():
    g = mlp()
    g.nodes.reverse()
    with pytest.raises(GraphError, match="used before it is defined"):
        g.validate()


def test_validate_rejects_transient_ops_in_a_final_graph():
    g = mlp()
    g.add_node(Op.IDENTITY, g.outputs, source_name="id")
    g.validate(final=False)
    with pytest.raises(GraphError, match="transient op Identity"):
        g.validate()


def test_weights_must_be_constants():
    g = Graph("m")
    g.add_input("x", (4,))
    g.add_input("w", (4, 3))
    g.add_constant("b", np.zeros(3, np.float32))
    with pytest.raises(GraphError, match="must be a constant"):
        g.add_node(Op.DENSE, ["x", "w", "b"])


def test_stale_output_shape_is_reported():
    g = mlp()
    g.values[g.outputs[0]].shape = (7,)
    with pytest.raises(GraphError, match="recorded as"):
        g.validate()


def test_softmax_on_another_axis_is_unsupported():
    g = Graph("m")
    g.add_input("x", (3, 5))
    with pytest.raises(UnsupportedOpError, match="last axis"):
        g.add_node(Op.SOFTMAX, ["x"], attrs=SoftmaxAttrs(0))


@pytest.mark.parametrize(
    "length, k, s, d, pad, ceil, expected",
    [(8, 3, 1, 1, (0, 0), False, 6), (8, 3, 2, 1, (1, 1), False, 4), (7, 2, 2, 1, (0, 0), True, 4),
     (5, 3, 2, 1, (1, 1), True, 3), (10, 3, 1, 2, (0, 0), False, 6)],
)
def test_window_output_length(length, k, s, d, pad, ceil, expected):
    assert conv_output_length(length, k, s, d, pad, ceil) == expected


def test_conv_group_and_kernel_checks():
    g = Graph("c")
    g.add_input("x", (8, 8, 4))
    g.add_constant("k", np.zeros((3, 3, 2, 6), np.float32))
    g.add_constant("b", np.zeros(6, np.float32))
    attrs = ConvAttrs((3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), groups=2)
    assert g.add_node(Op.CONV2D, ["x", "k", "b"], attrs=attrs).outputs
    with pytest.raises(ShapeError, match="groups=3"):
        g.add_node(Op.CONV2D, ["x", "k", "b"], attrs=ConvAttrs((3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), groups=3))


def test_pool_padding_must_be_smaller_than_window():
    g = Graph("p")
    g.add_input("x", (8, 3))
    with pytest.raises(ShapeError, match="smaller than the window"):
        g.add_node(Op.MAXPOOL1D, ["x"], attrs=PoolAttrs((2,), (2,), ((2, 0),)))


def test_reshape_resolution():
    assert resolve_reshape((4, 3, 2), (-1, 6)) == (4, 6)
    with pytest.raises(ShapeError):
        resolve_reshape((4, 3), (5, -1))
    with pytest.raises(ShapeError):
        resolve_reshape((4, 3), (-1, -1))


def test_user_layout_round_trip():
    g = Graph("t")
    g.add_input("x", (5, 6, 3), perm=(1, 2, 0))  # user NCHW (3,5,6) -> IR (5,6,3)
    n = g.add_node(Op.TRANSPOSE, ["x"], attrs=TransposeAttrs((2, 0, 1)))
    g.outputs = n.outputs
    assert g.user_shape("x") == (3, 5, 6)
    x = np.arange(2 * 3 * 5 * 6, dtype=np.float32).reshape(2, 3, 5, 6)
    internal = g.to_internal("x", x)
    np.testing.assert_array_equal(internal, x.transpose(0, 2, 3, 1))


def test_input_checks_are_clear():
    g = mlp().validate()
    with pytest.raises(InputError, match=r"shape \(batch, 4\)"):
        g.prepare_inputs(np.zeros((2, 5)))
    with pytest.raises(InputError, match="NaN"):
        g.prepare_inputs(np.array([[0, np.nan, 0, 0]]))
    with pytest.raises(InputError, match="numeric"):
        g.prepare_inputs(np.array([["a"] * 4]))
    assert g.prepare_inputs(np.zeros(4))["x"].shape == (1, 4)


def test_summary_lists_every_node_and_totals():
    g = mlp().validate()
    g.add_node(Op.RESHAPE, g.outputs, attrs=ReshapeAttrs((3, 1)), source_name="rs")
    text = str(g)
    for token in ("fc1", "act", "rs", "Dense", "MACs", "12", "15 parameters"):
        assert token in text, token
