"""Each pass on a tiny hand-built graph: the rewrite happens, and the float reference output
(the meaning of the graph) does not change. Structural rewrites must keep outputs bit-identical;
rewrites that fold weights (BatchNorm, bias, kernel permutation) change float32 rounding only."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hlsforge import reference
from hlsforge.ir import (
    AxisAttrs,
    ConvAttrs,
    Graph,
    Op,
    PadAttrs,
    ReshapeAttrs,
    SoftmaxAttrs,
    TransposeAttrs,
)
from hlsforge.ir.passes import (
    PASSES,
    compose_transposes,
    dead_nodes,
    drop_identity,
    fold_batchnorm,
    fold_bias_add,
    layout_to_io,
    legalize,
    matmul_to_dense,
    simplify_reshapes,
    sink_transposes,
    transpose_into_dense,
)

RNG = np.random.default_rng(1234)


def _w(*shape: int, scale: float = 0.5) -> np.ndarray:
    return (RNG.normal(size=shape) * scale).astype(np.float32)


def _inputs(g: Graph, batch: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.normal(size=(batch, *g.user_shape(n))).astype(np.float32) for n in g.inputs}


def apply(g: Graph, *passes, exact: bool = True, rounds: int = 10) -> Graph:
    """Run ``passes`` (to a fixed point, then dead-node elimination) on a copy of ``g`` and
    check the float reference output is unchanged; returns the rewritten graph."""
    x = _inputs(g)
    before = reference.run(g, x)
    h = g.copy()
    for _ in range(rounds):
        if not any([p(h) for p in passes]):
            break
    dead_nodes(h)
    h.validate(final=False)
    after = reference.run(h, x)
    pairs = [(before, after)] if not isinstance(before, dict) else [(before[k], after[k]) for k in before]
    for b, a in pairs:
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    return h


def ops(g: Graph) -> list[str]:
    return [n.op.value for n in g.nodes]


def add(g: Graph, op: Op, inputs: list[str], attrs=None, name: str | None = None) -> str:
    return g.add_node(op, inputs, attrs=attrs, name=name).outputs[0]


def const(g: Graph, name: str, data: np.ndarray) -> str:
    g.add_constant(name, data)
    return name


def T(g: Graph, x: str, perm: tuple[int, ...]) -> str:
    return add(g, Op.TRANSPOSE, [x], TransposeAttrs(perm))


# ----------------------------------------------------------------------------- drop / dce


def test_drop_identity_removes_identity_and_dropout_and_keeps_the_output_name():
    g = Graph("ids")
    g.add_input("x", (6,))
    i = add(g, Op.IDENTITY, ["x"])
    r = add(g, Op.RELU, [i])
    g.add_node(Op.DROPOUT, [r], ["y"])
    g.outputs = ["y"]
    h = apply(g, drop_identity)
    assert ops(h) == ["ReLU"]
    assert h.outputs == ["y"] and h.nodes[0].outputs == ["y"]


def test_drop_identity_of_an_input_straight_to_the_output():
    g = Graph("passthrough")
    g.add_input("x", (3,))
    g.add_node(Op.IDENTITY, ["x"], ["y"])
    g.outputs = ["y"]
    h = apply(g, drop_identity)
    assert h.nodes == [] and h.outputs == ["x"]


def test_dead_nodes_removes_unused_nodes_and_constants_but_keeps_inputs():
    g = Graph("dead")
    g.add_input("x", (4,))
    g.add_input("unused", (2,))
    used = add(g, Op.RELU, ["x"])
    add(g, Op.DENSE, ["x", const(g, "w", _w(4, 3)), const(g, "b", _w(3))])
    const(g, "orphan", _w(2))
    g.outputs = [used]
    h = apply(g, dead_nodes)
    assert ops(h) == ["ReLU"]
    assert set(h.values) == {"x", "unused", used}
    assert h.inputs == ["x", "unused"]


# ----------------------------------------------------------------------------- dense / bias / bn


def test_matmul_then_add_becomes_one_dense():
    g = Graph("mm")
    g.add_input("x", (3, 8))  # rank-2 sample: Dense works on the last axis
    m = add(g, Op.MATMUL, ["x", const(g, "W", _w(8, 5))])
    y = add(g, Op.ADD, [const(g, "b", _w(1, 5)), m])  # constant first, leading 1 axis
    g.outputs = [y]
    h = apply(g, matmul_to_dense, fold_bias_add, exact=False)
    assert ops(h) == ["Dense"]
    np.testing.assert_allclose(h.constant(h.nodes[0].inputs[2]), g.constant("b")[0], rtol=1e-7)


def test_fold_bias_add_folds_sub_into_conv_bias():
    g = Graph("convsub")
    g.add_input("x", (6, 6, 2))
    attrs = ConvAttrs((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)))
    c = add(g, Op.CONV2D, ["x", const(g, "k", _w(3, 3, 2, 4)), const(g, "b", _w(4))], attrs)
    y = add(g, Op.SUB, [c, const(g, "c", _w(1, 1, 4))])
    g.outputs = [y]
    assert ops(apply(g, fold_bias_add, exact=False)) == ["Conv2D"]


@pytest.mark.parametrize("shape", [(3, 1), (3, 5)], ids=["varies_on_axis0", "full"])
def test_fold_bias_add_leaves_constants_that_vary_off_the_channel_axis(shape):
    g = Graph("noadd")
    g.add_input("x", (3, 4))
    d = add(g, Op.DENSE, ["x", const(g, "w", _w(4, 5)), const(g, "b", _w(5))])
    y = add(g, Op.ADD, [d, const(g, "c", _w(*shape))])
    g.outputs = [y]
    assert ops(apply(g, fold_bias_add)) == ["Dense", "Add"]


def test_fold_bias_add_leaves_c_minus_y():
    g = Graph("rsub")
    g.add_input("x", (4,))
    d = add(g, Op.DENSE, ["x", const(g, "w", _w(4, 3)), const(g, "b", _w(3))])
    g.outputs = [add(g, Op.SUB, [const(g, "c", _w(3)), d])]
    assert ops(apply(g, fold_bias_add)) == ["Dense", "Sub"]


def _bn(g: Graph, x: str, c: int) -> str:
    scale = (1 + 0.3 * RNG.normal(size=c)).astype(np.float32)
    return add(g, Op.BATCHNORM, [x, const(g, g.unique_name("s"), scale), const(g, g.unique_name("t"), _w(c))])


def test_fold_batchnorm_into_dense():
    g = Graph("bn_dense")
    g.add_input("x", (7,))
    d = add(g, Op.DENSE, ["x", const(g, "w", _w(7, 4)), const(g, "b", _w(4))])
    g.outputs = [_bn(g, d, 4)]
    name = g.outputs[0]
    h = apply(g, fold_batchnorm, exact=False)
    assert ops(h) == ["Dense"] and h.outputs == [name]


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_fold_batchnorm_into_grouped_and_depthwise_conv(groups):
    g = Graph("bn_conv")
    g.add_input("x", (5, 5, 4))
    attrs = ConvAttrs((3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), groups)
    c = add(g, Op.CONV2D, ["x", const(g, "k", _w(3, 3, 4 // groups, 4)), const(g, "b", _w(4))], attrs)
    g.outputs = [add(g, Op.RELU, [_bn(g, c, 4)])]
    assert ops(apply(g, fold_batchnorm, exact=False)) == ["Conv2D", "ReLU"]


def test_fold_batchnorm_keeps_bn_when_the_dense_output_is_also_read_elsewhere():
    g = Graph("bn_shared")
    g.add_input("x", (3,))
    d = add(g, Op.DENSE, ["x", const(g, "w", _w(3, 2)), const(g, "b", _w(2))])
    g.outputs = [_bn(g, d, 2), add(g, Op.RELU, [d])]
    assert ops(apply(g, fold_batchnorm)) == ["Dense", "BatchNormalization", "ReLU"]


# ----------------------------------------------------------------------------- transposes


def test_compose_transposes_cancels_a_pair_and_merges_others():
    g = Graph("tt")
    g.add_input("x", (2, 3, 4))
    a = T(g, T(g, "x", (1, 2, 0)), (2, 0, 1))  # identity
    b = T(g, T(g, a, (1, 0, 2)), (0, 2, 1))  # one transpose (1, 2, 0)
    g.outputs = [add(g, Op.RELU, [b])]
    h = apply(g, compose_transposes)
    assert ops(h) == ["Transpose", "ReLU"]
    assert h.nodes[0].inputs == ["x"] and h.nodes[0].attrs.perm == (1, 2, 0)


@pytest.mark.parametrize("p,q", list(itertools.product(itertools.permutations(range(3)), repeat=2))[::5])
def test_compose_transposes_matches_numpy_for_perm_pairs(p, q):
    g = Graph("pq")
    g.add_input("x", (2, 3, 4))
    g.outputs = [T(g, T(g, "x", p), q)]
    h = apply(g, compose_transposes)
    assert len(h.nodes) <= 1


def test_transpose_of_size_one_axes_before_flatten_becomes_a_reshape():
    g = Graph("t1")
    g.add_input("x", (1, 1, 6))
    g.outputs = [add(g, Op.FLATTEN, [T(g, "x", (2, 0, 1))])]
    h = apply(g, compose_transposes, simplify_reshapes)
    assert ops(h) == ["Flatten"] and h.nodes[0].inputs == ["x"]


def _nchw_block(g: Graph, x: str, act: Op = Op.RELU) -> str:
    """What a frontend makes of an NCHW MaxPool followed by an activation."""
    from hlsforge.ir import PoolAttrs

    y = T(g, add(g, Op.MAXPOOL2D, [T(g, x, (1, 2, 0))], PoolAttrs((2, 2), (1, 1), ((0, 0), (0, 0)))), (2, 0, 1))
    return add(g, act, [y])


def test_sink_transposes_through_elementwise_ops_lets_pairs_cancel():
    g = Graph("sink")
    g.add_input("x", (4, 6, 6))  # NCHW sample
    y = _nchw_block(g, _nchw_block(g, "x"), Op.SIGMOID)
    g.outputs = [y]
    h = apply(g, sink_transposes, compose_transposes)
    assert ops(h) == ["Transpose", "MaxPool2D", "ReLU", "MaxPool2D", "Sigmoid", "Transpose"]


def test_sink_transposes_through_binary_ops_with_constants_and_matching_transposes():
    g = Graph("sink_bin")
    g.add_input("x", (3, 4, 5))
    a = T(g, "x", (1, 2, 0))
    s = add(g, Op.MUL, [a, const(g, "c", _w(5, 3))])  # broadcast over the first axis
    s = add(g, Op.ADD, [const(g, "d", _w(3)), s])
    b = T(g, add(g, Op.RELU, ["x"]), (1, 2, 0))
    y = add(g, Op.SUB, [s, b])
    g.outputs = [add(g, Op.TANH, [y])]
    h = apply(g, sink_transposes)
    assert ops(h)[-1] == "Transpose" and ops(h).count("Transpose") == 1


def test_sink_transposes_through_pad_concat_and_last_axis_softmax():
    g = Graph("sink_misc")
    g.add_input("x", (3, 4, 5))
    p = add(g, Op.PAD, [T(g, "x", (1, 0, 2))], PadAttrs(((1, 0), (0, 2), (0, 0))))
    c = add(g, Op.CONCAT, [p, T(g, add(g, Op.PAD, ["x"], PadAttrs(((0, 2), (1, 0), (0, 0)))), (1, 0, 2))], AxisAttrs(1))
    g.outputs = [add(g, Op.SOFTMAX, [c], SoftmaxAttrs(2))]
    h = apply(g, sink_transposes)
    assert ops(h) == ["Pad", "Pad", "Concat", "Softmax", "Transpose"]


def test_sink_transposes_stops_at_softmax_when_the_last_axis_moves():
    g = Graph("nosink")
    g.add_input("x", (3, 4))
    g.outputs = [add(g, Op.SOFTMAX, [T(g, "x", (1, 0))], SoftmaxAttrs(1))]
    assert ops(apply(g, sink_transposes)) == ["Transpose", "Softmax"]


@pytest.mark.parametrize("perm", list(itertools.permutations(range(3))))
def test_transpose_into_dense_permutes_kernel_rows(perm):
    g = Graph("t_dense")
    g.add_input("x", (2, 3, 4))
    f = add(g, Op.FLATTEN, [T(g, "x", perm)])
    d1 = add(g, Op.DENSE, [f, const(g, "w1", _w(24, 5)), const(g, "b1", _w(5))])
    d2 = add(g, Op.DENSE, [f, const(g, "w2", _w(24, 2)), const(g, "b2", _w(2))])
    g.outputs = [d1, d2]
    h = apply(g, transpose_into_dense, compose_transposes, exact=False)
    assert ops(h) == ["Flatten", "Dense", "Dense"]


def test_transpose_into_dense_keeps_a_flatten_that_is_a_graph_output():
    g = Graph("t_flat_out")
    g.add_input("x", (2, 3))
    f = add(g, Op.FLATTEN, [T(g, "x", (1, 0))])
    g.outputs = [f, add(g, Op.DENSE, [f, const(g, "w", _w(6, 2)), const(g, "b", _w(2))])]
    assert ops(apply(g, transpose_into_dense)) == ["Transpose", "Flatten", "Dense"]


def test_layout_to_io_moves_boundary_transposes_into_the_layout_record():
    g = Graph("io")
    g.add_input("x", (4, 6, 6))  # NCHW sample
    g.outputs = [_nchw_block(g, "x")]
    h = apply(g, sink_transposes, compose_transposes, layout_to_io)
    assert ops(h) == ["MaxPool2D", "ReLU"]
    assert h.input_perm == {"x": (1, 2, 0)} and h.output_perm == {g.outputs[0]: (2, 0, 1)}
    assert h.values["x"].shape == (6, 6, 4)
    assert h.user_shape("x") == (4, 6, 6) and h.user_shape(h.outputs[0]) == (4, 5, 5)


def test_layout_to_io_composes_with_an_existing_input_perm():
    g = Graph("io2")
    g.add_input("x", (4, 5, 6), perm=(2, 0, 1))  # user (5, 6, 4) -> internal (4, 5, 6)
    g.outputs = [add(g, Op.RELU, [T(g, "x", (1, 2, 0))])]
    h = apply(g, layout_to_io)
    assert ops(h) == ["ReLU"] and "x" not in h.input_perm  # the two perms cancel


def test_layout_to_io_takes_a_residual_connection_from_the_input_along():
    g = Graph("io_res")
    g.add_input("x", (4, 6, 6))
    y = T(g, add(g, Op.RELU, [T(g, "x", (1, 2, 0))]), (2, 0, 1))
    g.outputs = [add(g, Op.ADD, ["x", y])]
    h = apply(g, layout_to_io, sink_transposes, compose_transposes)
    assert ops(h) == ["ReLU", "Add"]
    assert h.input_perm == {"x": (1, 2, 0)} and h.output_perm == {h.outputs[0]: (2, 0, 1)}


def test_layout_to_io_leaves_an_input_read_by_other_ops():
    g = Graph("io3")
    g.add_input("x", (2, 3))
    g.outputs = [add(g, Op.RELU, [T(g, "x", (1, 0))]), add(g, Op.FLATTEN, ["x"])]
    h = apply(g, layout_to_io)
    assert h.input_perm == {} and ops(h).count("Transpose") == 1


# ----------------------------------------------------------------------------- reshapes


def test_simplify_reshapes_merges_chains_and_drops_no_ops():
    g = Graph("rs")
    g.add_input("x", (2, 3, 4))
    r = add(g, Op.RESHAPE, ["x"], ReshapeAttrs((6, 4)))
    r = add(g, Op.RESHAPE, [r], ReshapeAttrs((4, 6)))
    r = add(g, Op.RESHAPE, [r], ReshapeAttrs((24,)))
    r = add(g, Op.FLATTEN, [r])
    same = add(g, Op.RESHAPE, ["x"], ReshapeAttrs((2, 3, 4)))
    g.outputs = [r, add(g, Op.RELU, [same])]
    h = apply(g, simplify_reshapes)
    assert ops(h) == ["Flatten", "ReLU"]
    assert h.nodes[0].inputs == ["x"] and h.nodes[1].inputs == ["x"]


# ----------------------------------------------------------------------------- legalize


def _nchw_cnn() -> Graph:
    """A frontend-style NCHW CNN: conv+BN+relu+pool wrapped in transposes, flatten, dense."""
    g = Graph("nchw_cnn")
    g.add_input("img", (3, 8, 8))
    attrs = ConvAttrs((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)))
    c = T(g, add(g, Op.CONV2D, [T(g, "img", (1, 2, 0)), const(g, "k", _w(3, 3, 3, 4)), const(g, "kb", _w(4))], attrs), (2, 0, 1))
    c = T(g, _bn(g, T(g, c, (1, 2, 0)), 4), (2, 0, 1))
    c = add(g, Op.ADD, [c, const(g, "cb", _w(4, 1, 1))])
    p = _nchw_block(g, c)
    f = add(g, Op.RESHAPE, [p], ReshapeAttrs((4 * 7 * 7,)))
    d = add(g, Op.MATMUL, [f, const(g, "w", _w(196, 10))])
    d = add(g, Op.ADD, [d, const(g, "b", _w(10))])
    g.outputs = [add(g, Op.IDENTITY, [add(g, Op.SOFTMAX, [d], SoftmaxAttrs(0))])]
    return g


def test_legalize_reaches_a_final_graph_without_transposes():
    g = _nchw_cnn()
    x = _inputs(g)
    expected = reference.run(g, x)
    h = legalize(g.copy())
    assert ops(h) == ["Conv2D", "MaxPool2D", "ReLU", "Flatten", "Dense", "Softmax"]
    assert h.input_perm == {"img": (1, 2, 0)}
    np.testing.assert_allclose(reference.run(h, x), expected, rtol=1e-5, atol=1e-6)


def test_legalize_is_idempotent():
    h = legalize(_nchw_cnn())
    snapshot = [(n.op, n.inputs, n.outputs) for n in h.nodes]
    assert not any(p(h) for p in PASSES)
    assert [(n.op, n.inputs, n.outputs) for n in h.nodes] == snapshot


def test_legalize_passes_through_a_final_graph_unchanged():
    g = Graph("plain")
    g.add_input("x", (4,))
    g.outputs = [add(g, Op.DENSE, ["x", const(g, "w", _w(4, 2)), const(g, "b", _w(2))])]
    h = legalize(g.copy())
    assert ops(h) == ["Dense"] and h.outputs == g.outputs

