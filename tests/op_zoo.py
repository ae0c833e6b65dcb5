"""Small hand-built IR graphs, at least one per final op, for the cross-check matrix.

Every consumer of the IR (reference, emulator, CPU backend, HLS backend) is tested on these, so
a new op gets covered everywhere by adding a case here. Weights come from a seeded rng, so the
graphs are identical on every run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hlsforge.ir import (
    AlphaAttrs,
    AxisAttrs,
    ClipAttrs,
    ConvAttrs,
    GlobalPoolAttrs,
    Graph,
    HardSigmoidAttrs,
    NoAttrs,
    Op,
    PadAttrs,
    PoolAttrs,
    ReshapeAttrs,
    SeluAttrs,
    SoftmaxAttrs,
    TransposeAttrs,
)
from hlsforge.ir.ops import FINAL_OPS, GatherAttrs, SliceAttrs


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(sum(map(ord, name)))


def _weights(g: Graph, rng: np.random.Generator, name: str, shape: tuple[int, ...], scale: float = 0.5) -> str:
    g.add_constant(name, (rng.normal(size=shape) * scale).astype(np.float32))
    return name


def unary(op: Op, attrs: object = None, shape: tuple[int, ...] = (12,)) -> Graph:
    g = Graph(f"op_{op.value.lower()}")
    g.add_input("x", shape)
    n = g.add_node(op, ["x"], attrs=attrs, source_name=op.value.lower())
    g.outputs = n.outputs
    return g.validate()


def dense(n_in: int = 10, n_out: int = 6, rank3: bool = False) -> Graph:
    g = Graph("op_dense" + ("_3d" if rank3 else ""))
    rng = _rng(g.name)
    g.add_input("x", (3, n_in) if rank3 else (n_in,))
    k = _weights(g, rng, "kernel", (n_in, n_out))
    b = _weights(g, rng, "bias", (n_out,), 0.2)
    n = g.add_node(Op.DENSE, ["x", k, b], source_name="dense")
    g.outputs = n.outputs
    return g.validate()


def conv(nsp: int, *, c_in: int = 3, c_out: int = 4, k: int = 3, stride: int = 1, dil: int = 1,
         pad: int = 0, groups: int = 1, size: int = 8, name: str = "") -> Graph:
    g = Graph(name or f"op_conv{nsp}d")
    rng = _rng(g.name)
    g.add_input("x", (size,) * nsp + (c_in,))
    kern = _weights(g, rng, "kernel", (k,) * nsp + (c_in // groups, c_out))
    bias = _weights(g, rng, "bias", (c_out,), 0.2)
    attrs = ConvAttrs((k,) * nsp, (stride,) * nsp, (dil,) * nsp, ((pad, pad),) * nsp, groups)
    n = g.add_node(Op.CONV1D if nsp == 1 else Op.CONV2D, ["x", kern, bias], attrs=attrs, source_name="conv")
    g.outputs = n.outputs
    return g.validate()


def pool(op: Op, nsp: int, *, k: int = 2, stride: int = 2, pad: int = 0, ceil: bool = False,
         include_pad: bool = False, size: int = 7, name: str = "") -> Graph:
    g = Graph(name or f"op_{op.value.lower()}")
    g.add_input("x", (size,) * nsp + (3,))
    attrs = PoolAttrs((k,) * nsp, (stride,) * nsp, ((pad, pad),) * nsp, ceil, include_pad)
    n = g.add_node(op, ["x"], attrs=attrs, source_name="pool")
    g.outputs = n.outputs
    return g.validate()


def batchnorm() -> Graph:
    g = Graph("op_batchnorm")
    rng = _rng(g.name)
    g.add_input("x", (5, 4))
    s = _weights(g, rng, "scale", (4,), 1.0)
    b = _weights(g, rng, "bias", (4,), 0.5)
    n = g.add_node(Op.BATCHNORM, ["x", s, b], source_name="bn")
    g.outputs = n.outputs
    return g.validate()


def binary(op: Op, *, constant_operand: bool = False) -> Graph:
    g = Graph(f"op_{op.value.lower()}" + ("_const" if constant_operand else ""))
    rng = _rng(g.name)
    g.add_input("a", (4, 6))
    if constant_operand:
        b = _weights(g, rng, "c", (6,), 1.0)
    else:
        g.add_input("b", (4, 6))
        b = "b"
    n = g.add_node(op, ["a", b], source_name=op.value.lower())
    g.outputs = n.outputs
    return g.validate()


def concat() -> Graph:
    g = Graph("op_concat")
    g.add_input("a", (4, 3))
    g.add_input("b", (4, 5))
    n = g.add_node(Op.CONCAT, ["a", "b"], attrs=AxisAttrs(1), source_name="concat")
    g.outputs = n.outputs
    return g.validate()


def shape_op(op: Op) -> Graph:
    g = Graph(f"op_{op.value.lower()}")
    g.add_input("x", (4, 3, 2))
    attrs = {
        Op.FLATTEN: NoAttrs(),
        Op.RESHAPE: ReshapeAttrs((6, 4)),
        Op.TRANSPOSE: TransposeAttrs((2, 0, 1)),
        Op.PAD: PadAttrs(((1, 0), (0, 2), (0, 0))),
    }[op]
    n = g.add_node(op, ["x"], attrs=attrs, source_name=op.value.lower())
    g.outputs = n.outputs
    return g.validate()


def index_op(op: Op, attrs: object, name: str) -> Graph:
    """Slice/Gather (issue 12): rank-3 input, a strided or repeating selection."""
    g = Graph(name)
    g.add_input("x", (5, 4, 3))
    n = g.add_node(op, ["x"], attrs=attrs, source_name=op.value.lower())
    g.outputs = n.outputs
    return g.validate()


def quantize_node() -> Graph:
    from hlsforge.ir import FixedType, Overflow, QuantizeAttrs, Rounding

    t = FixedType(6, 2, True, Rounding.RND_CONV, Overflow.SAT)
    return unary(Op.QUANTIZE, QuantizeAttrs(t), (10,))


def tree_ensemble() -> Graph:
    """Three hand-built trees over 4 features, two outputs, both comparison kinds, a
    missing-value default and a base score (trained models are in tests/trees)."""
    from hlsforge.ir.ops_trees import CMP_LE, CMP_LT, make_attrs

    g = Graph("op_tree_ensemble")
    g.add_input("x", (4,))
    #            tree 0 (depth 2)            tree 1 (stump)   tree 2 (depth 2, right side)
    feature = [0, 1, -1, -1, -1,            2, -1, -1,       3, -1, 0, -1, -1]
    threshold = [0.3, -0.75, 0, 0, 0,       1.1, 0, 0,       -0.2, 0, 1.5, 0, 0]
    left = [1, 2, -1, -1, -1,               6, -1, -1,       9, -1, 11, -1, -1]
    right = [4, 3, -1, -1, -1,              7, -1, -1,       10, -1, 12, -1, -1]
    value = [0, 0, 0.5, -0.25, 1.0,         0, -0.6, 0.4,    0, 0.125, 0, -1.5, 0.75]
    attrs = make_attrs(
        n_outputs=2, tree_start=[0, 5, 8, 13], feature=feature, threshold=threshold,
        compare=[CMP_LE] * 5 + [CMP_LT] * 3 + [CMP_LE] * 5, default_left=[True] * 13,
        left=left, right=right, leaf_value=value, tree_output=[0, 1, 0], base_score=[0.1, -0.2],
    )
    n = g.add_node(Op.TREE_ENSEMBLE, ["x"], attrs=attrs, source_name="trees")
    g.outputs = n.outputs
    return g.validate()


CASES: dict[str, Callable[[], Graph]] = {
    "dense": dense,
    "dense_3d": lambda: dense(rank3=True),
    "conv1d": lambda: conv(1),
    "conv1d_stride_pad": lambda: conv(1, stride=2, pad=1, k=4, name="op_conv1d_s2"),
    "conv1d_dilated": lambda: conv(1, dil=2, name="op_conv1d_dil"),
    "conv2d": lambda: conv(2),
    "conv2d_stride_pad": lambda: conv(2, stride=2, pad=1, name="op_conv2d_s2"),
    "conv2d_depthwise": lambda: conv(2, c_in=4, c_out=4, groups=4, pad=1, name="op_conv2d_dw"),
    "conv2d_groups": lambda: conv(2, c_in=4, c_out=6, groups=2, name="op_conv2d_g2"),
    "maxpool1d": lambda: pool(Op.MAXPOOL1D, 1),
    "maxpool2d": lambda: pool(Op.MAXPOOL2D, 2),
    "maxpool2d_pad_ceil": lambda: pool(Op.MAXPOOL2D, 2, k=3, stride=2, pad=1, ceil=True, name="op_maxpool2d_pc"),
    "avgpool1d": lambda: pool(Op.AVGPOOL1D, 1, k=3, stride=1),
    "avgpool2d": lambda: pool(Op.AVGPOOL2D, 2),
    "avgpool2d_pad": lambda: pool(Op.AVGPOOL2D, 2, k=3, stride=2, pad=1, name="op_avgpool2d_pad"),
    "avgpool2d_pad_inc": lambda: pool(Op.AVGPOOL2D, 2, k=3, stride=2, pad=1, include_pad=True, name="op_avgpool2d_inc"),
    "global_maxpool": lambda: unary(Op.GLOBAL_MAXPOOL, GlobalPoolAttrs(False), (5, 5, 3)),
    "global_avgpool": lambda: unary(Op.GLOBAL_AVGPOOL, GlobalPoolAttrs(False), (6, 3)),
    "global_avgpool_keep": lambda: unary(Op.GLOBAL_AVGPOOL, GlobalPoolAttrs(True), (4, 4, 3)),
    "batchnorm": batchnorm,
    "relu": lambda: unary(Op.RELU),
    "leaky_relu": lambda: unary(Op.LEAKY_RELU, AlphaAttrs(0.1)),
    "clip_relu6": lambda: unary(Op.CLIP, ClipAttrs(0.0, 6.0)),
    "clip_hardtanh": lambda: unary(Op.CLIP, ClipAttrs(-1.0, 1.0)),
    "sigmoid": lambda: unary(Op.SIGMOID),
    "hard_sigmoid": lambda: unary(Op.HARD_SIGMOID, HardSigmoidAttrs(0.2, 0.5)),
    "tanh": lambda: unary(Op.TANH),
    "softmax": lambda: unary(Op.SOFTMAX, SoftmaxAttrs(0), (5,)),
    "softmax_3d": lambda: unary(Op.SOFTMAX, SoftmaxAttrs(1), (3, 5)),
    "elu": lambda: unary(Op.ELU, AlphaAttrs(1.0)),
    "selu": lambda: unary(Op.SELU, SeluAttrs()),
    "softplus": lambda: unary(Op.SOFTPLUS),
    "add": lambda: binary(Op.ADD),
    "sub": lambda: binary(Op.SUB),
    "mul": lambda: binary(Op.MUL),
    "add_const": lambda: binary(Op.ADD, constant_operand=True),
    "mul_const": lambda: binary(Op.MUL, constant_operand=True),
    "concat": concat,
    "flatten": lambda: shape_op(Op.FLATTEN),
    "reshape": lambda: shape_op(Op.RESHAPE),
    "transpose": lambda: shape_op(Op.TRANSPOSE),
    "pad": lambda: shape_op(Op.PAD),
    "quantize": quantize_node,
    "tree_ensemble": tree_ensemble,
    # index ops (issue 12)
    "slice": lambda: index_op(Op.SLICE, SliceAttrs(((1, 5, 2), (0, 4, 1), (2, -1, -1))), "op_slice"),
    "gather": lambda: index_op(Op.GATHER, GatherAttrs(1, (3, 0, 0, 2, 1)), "op_gather"),
}


# --------------------------------------------------------------------------- float-only ops (issue 12)
# Ops the float engines (reference, CPU backend) run and the fixed-point consumers refuse with a
# stated reason (their UNSUPPORTED tables): kept apart from CASES, which every engine runs.


def positive_unary(op: Op, attrs: object = None) -> Graph:
    """``op(|x| + 0.1)``: Log, Sqrt and fractional powers need a positive domain."""
    g = Graph(f"op_{op.value.lower()}_pos")
    g.add_input("x", (3, 8))
    a = g.add_node(Op.ABS, ["x"], source_name="abs")
    g.add_constant("eps", np.full((8,), 0.1, np.float32))
    s = g.add_node(Op.ADD, [a.outputs[0], "eps"], source_name="shift")
    n = g.add_node(op, [s.outputs[0]], attrs=attrs, source_name=op.value.lower())
    g.outputs = n.outputs
    return g.validate()


def layernorm() -> Graph:
    from hlsforge.ir.ops import LayerNormAttrs

    g = Graph("op_layernorm")
    rng = _rng(g.name)
    g.add_input("x", (5, 16))
    s = _weights(g, rng, "scale", (16,), 1.0)
    b = _weights(g, rng, "bias", (16,), 0.5)
    n = g.add_node(Op.LAYERNORM, ["x", s, b], attrs=LayerNormAttrs(1e-5), source_name="ln")
    g.outputs = n.outputs
    return g.validate()


def batch_matmul() -> Graph:
    """Attention-shaped: (heads, S, D) @ (heads, D, S) with the second operand a Transpose."""
    g = Graph("op_batch_matmul")
    g.add_input("q", (2, 5, 4))
    g.add_input("k", (2, 5, 4))
    kt = g.add_node(Op.TRANSPOSE, ["k"], attrs=TransposeAttrs((0, 2, 1)), source_name="kt")
    n = g.add_node(Op.BATCH_MATMUL, ["q", kt.outputs[0]], source_name="scores")
    g.outputs = n.outputs
    return g.validate()


def _float_cases() -> dict[str, Callable[[], Graph]]:
    from hlsforge.ir.ops import GeluAttrs, PowAttrs, SwishAttrs

    return {
        "div": lambda: binary(Op.DIV),
        "div_const": lambda: binary(Op.DIV, constant_operand=True),
        "exp": lambda: unary(Op.EXP),
        "log": lambda: positive_unary(Op.LOG),
        "sqrt": lambda: positive_unary(Op.SQRT),
        "neg": lambda: unary(Op.NEG),
        "reciprocal": lambda: positive_unary(Op.RECIPROCAL),
        "abs": lambda: unary(Op.ABS),
        "pow_2": lambda: unary(Op.POW, PowAttrs(2.0)),
        "pow_half": lambda: positive_unary(Op.POW, PowAttrs(0.5)),
        "erf": lambda: unary(Op.ERF),
        "gelu": lambda: unary(Op.GELU, GeluAttrs("none")),
        "gelu_tanh": lambda: unary(Op.GELU, GeluAttrs("tanh"), (7,)),
        "swish": lambda: unary(Op.SWISH, SwishAttrs(1.0)),
        "hard_swish": lambda: unary(Op.HARD_SWISH),
        "layernorm": layernorm,
        "batch_matmul": batch_matmul,
    }


def recurrent(op: Op, direction: str = "forward", lbr: bool = False, seq: int = 5, n_in: int = 4, h: int = 3,
              activations: tuple[tuple[str, float, float], ...] | None = None, input_forget: bool = False) -> Graph:
    """One recurrent node with random weights, biases, initial states (and LSTM peepholes);
    ``activations``: ``(name, alpha, beta)`` per function (default: ONNX's)."""
    from hlsforge.ir.ops import RecurrentAttrs, rnn_default_activations, rnn_gates

    tag = "_" + "_".join(a[0].lower() for a in activations) if activations else ""
    g = Graph(f"op_{op.value.lower()}_{direction}" + ("_lbr" if lbr else "") + tag + ("_if" if input_forget else ""))
    rng = _rng(g.name)
    dirs = 2 if direction == "bidirectional" else 1
    gates = rnn_gates(op)
    g.add_input("x", (seq, n_in))
    ins = ["x", _weights(g, rng, "W", (dirs, gates * h, n_in)), _weights(g, rng, "R", (dirs, gates * h, h)),
           _weights(g, rng, "B", (dirs, 2 * gates * h), 0.2), _weights(g, rng, "initial_h", (dirs, h))]
    if op is Op.LSTM:
        ins += [_weights(g, rng, "initial_c", (dirs, h)), _weights(g, rng, "P", (dirs, 3 * h), 0.2)]
    spec = activations or tuple((a, 0.0, 0.0) for a in rnn_default_activations(op))
    acts = tuple(a[0] for a in spec) * dirs
    alphas, betas = tuple(a[1] for a in spec) * dirs, tuple(a[2] for a in spec) * dirs
    attrs = RecurrentAttrs(h, direction, acts, alphas, betas, None, lbr, input_forget)
    n = g.add_node(op, ins, attrs=attrs, source_name=op.value.lower())
    g.outputs = list(n.outputs)
    return g.validate()


MATH_CASES: dict[str, Callable[[], Graph]] = _float_cases()

RECURRENT_CASES: dict[str, Callable[[], Graph]] = {
    "gru": lambda: recurrent(Op.GRU),
    "gru_bidirectional_lbr": lambda: recurrent(Op.GRU, "bidirectional", lbr=True),
    "lstm_reverse": lambda: recurrent(Op.LSTM, "reverse"),
    "lstm_bidirectional": lambda: recurrent(Op.LSTM, "bidirectional"),
    "simple_rnn": lambda: recurrent(Op.SIMPLE_RNN),
}
FLOAT_CASES: dict[str, Callable[[], Graph]] = {**MATH_CASES, **RECURRENT_CASES}
"""Cases of the issue-12 ops, which the float engines all run; of these only the recurrent
cells and LayerNormalization have a fixed-point form (:data:`FIXED_RECURRENT_CASES`), the
others are listed in each fixed-point consumer's ``UNSUPPORTED`` table."""

FIXED_RECURRENT_CASES: dict[str, Callable[[], Graph]] = {
    **RECURRENT_CASES,
    "layernorm": layernorm,
    "simple_rnn_relu_bidirectional": lambda: recurrent(Op.SIMPLE_RNN, "bidirectional", activations=(("Relu", 0.0, 0.0),)),
    "gru_reverse_hard_sigmoid_lbr": lambda: recurrent(
        Op.GRU, "reverse", lbr=True, activations=(("HardSigmoid", 0.2, 0.5), ("Softsign", 0.0, 0.0))),
    "lstm_input_forget_relu": lambda: recurrent(
        Op.LSTM, activations=(("Sigmoid", 0.0, 0.0), ("Relu", 0.0, 0.0), ("Tanh", 0.0, 0.0)), input_forget=True),
}
"""Recurrent cells (every direction, both GRU reset forms, peepholes, initial states, ReLU and
other activations) and LayerNormalization: the fixed-point sweeps run these too
(docs/numerics.md §12)."""

FIXED_POINT_CASES: dict[str, Callable[[], Graph]] = {**CASES, **FIXED_RECURRENT_CASES}
"""Every case the fixed-point engines (emulator, C-sim) run."""


def random_inputs(graph: Graph, batch: int, seed: int = 0, scale: float = 2.0) -> dict[str, np.ndarray] | np.ndarray:
    """Random inputs in the user's layout: an array for one input, a dict for several."""
    rng = np.random.default_rng(seed)
    xs = {n: (rng.normal(size=(batch, *graph.user_shape(n))) * scale).astype(np.float32) for n in graph.inputs}
    return next(iter(xs.values())) if len(xs) == 1 else xs


def covered_ops() -> set[Op]:
    return {n.op for build in (*CASES.values(), *FLOAT_CASES.values()) for n in build().nodes}


if __name__ == "__main__":  # pragma: no cover - a quick listing for humans
    missing = set(FINAL_OPS) - covered_ops()
    print(f"{len(CASES)} cases; final ops without a case: {sorted(o.value for o in missing)}")


# --------------------------------------------------------------------------- issue 12: missing operators (ops3)


def _ops3_cases() -> dict[str, Callable[[], Graph]]:
    from hlsforge.ir.ops import (
        AxisAttrs,
        ConvAttrs,
        ConvTransposeAttrs,
        PoolAttrs,
        ReduceAttrs,
        TopKAttrs,
    )

    def single(op: Op, attrs: object, shape: tuple[int, ...], name: str) -> Graph:
        g = Graph(name)
        g.add_input("x", shape)
        n = g.add_node(op, ["x"], attrs=attrs, source_name=op.value.lower())
        g.outputs = list(n.outputs)
        return g.validate()

    def knn_gather() -> Graph:
        """EdgeConv's selection: TopK indices of one input pick rows of another."""
        g = Graph("op_gather_elements")
        g.add_input("x", (6, 4))
        g.add_input("s", (6, 6))
        t = g.add_node(Op.TOPK, ["s"], attrs=TopKAttrs(1, 3), source_name="knn")
        n = g.add_node(Op.GATHER_ELEMENTS, ["x", t.outputs[1]], attrs=AxisAttrs(0), source_name="neighbours")
        g.outputs = n.outputs
        return g.validate()

    def knn_gather_broadcast() -> Graph:
        """GatherElements whose data has a size-1 axis that broadcasts (exporters' repeats)."""
        from hlsforge.ir.ops import GatherAttrs, ReshapeAttrs

        g = Graph("op_gather_elements_broadcast")
        g.add_input("x", (1, 6, 2))
        g.add_input("s", (4, 6))
        t = g.add_node(Op.TOPK, ["s"], attrs=TopKAttrs(1, 3, largest=False), source_name="knn")
        r = g.add_node(Op.RESHAPE, [t.outputs[1]], attrs=ReshapeAttrs((4, 3, 1)), source_name="unsqueeze")
        e = g.add_node(Op.GATHER, [r.outputs[0]], attrs=GatherAttrs(2, (0, 0)), source_name="expand")
        n = g.add_node(Op.GATHER_ELEMENTS, ["x", e.outputs[0]], attrs=AxisAttrs(1), source_name="neighbours")
        g.outputs = n.outputs
        return g.validate()

    def conv(op: Op, attrs: object, shape: tuple[int, ...], kshape: tuple[int, ...], c_out: int, name: str) -> Graph:
        g = Graph(name)
        rng = _rng(name)
        g.add_input("x", shape)
        k = _weights(g, rng, "kernel", kshape)
        b = _weights(g, rng, "bias", (c_out,), 0.2)
        n = g.add_node(op, ["x", k, b], attrs=attrs, source_name=op.value.lower())
        g.outputs = n.outputs
        return g.validate()

    def ct(nsp: int, groups: int = 1) -> Callable[[], Graph]:
        sizes = (5, 4, 3)[:nsp]
        attrs = ConvTransposeAttrs((3, 2, 2)[:nsp], (2, 1, 3)[:nsp], (1, 2, 1)[:nsp], ((1, 0), (0, 1), (1, 1))[:nsp],
                                   (1, 0, 2)[:nsp], groups)
        c_in, cog = 4, 3
        return lambda: conv(getattr(Op, f"CONV_TRANSPOSE{nsp}D"), attrs, (*sizes, c_in), (c_in, *attrs.kernel_shape, cog),
                            cog * groups, f"op_conv_transpose{nsp}d_g{groups}")

    return {
        "reduce_prod": lambda: single(Op.REDUCE_PROD, ReduceAttrs((0, 2), True), (3, 4, 5), "op_reduce_prod"),
        "reduce_prod_squeeze": lambda: single(Op.REDUCE_PROD, ReduceAttrs((1,), False), (3, 4), "op_reduce_prod_sq"),
        "topk": lambda: single(Op.TOPK, TopKAttrs(1, 3), (4, 10), "op_topk"),
        "topk_smallest": lambda: single(Op.TOPK, TopKAttrs(0, 2, largest=False), (5, 3), "op_topk_smallest"),
        "gather_elements": knn_gather,
        "gather_elements_broadcast": knn_gather_broadcast,
        "conv_transpose1d": ct(1),
        "conv_transpose2d": ct(2),
        "conv_transpose2d_groups": ct(2, 2),
        "conv_transpose3d": ct(3),
        "conv3d": lambda: conv(Op.CONV3D, ConvAttrs((3, 2, 3), (1, 2, 1), (1, 1, 2), ((1, 1), (0, 1), (2, 0)), 1),
                               (4, 5, 6, 3), (3, 2, 3, 3, 5), 5, "op_conv3d"),
        "conv3d_groups": lambda: conv(Op.CONV3D, ConvAttrs((2, 2, 2), (2, 2, 2), (1, 1, 1), ((0, 0),) * 3, 2),
                                      (4, 4, 4, 4), (2, 2, 2, 2, 6), 6, "op_conv3d_groups"),
        "maxpool3d": lambda: single(Op.MAXPOOL3D, PoolAttrs((2, 2, 3), (2, 2, 2), ((0, 1), (1, 0), (0, 0)), True),
                                    (5, 4, 5, 3), "op_maxpool3d"),
        "avgpool3d": lambda: single(Op.AVGPOOL3D, PoolAttrs((2, 3, 2), (1, 2, 2), ((1, 0), (1, 1), (0, 1)), False,
                                                            True), (3, 5, 4, 2), "op_avgpool3d"),
        "avgpool3d_exclude_pad": lambda: single(Op.AVGPOOL3D, PoolAttrs((2, 2, 2), (2, 2, 2), ((1, 1),) * 3, True),
                                                (3, 4, 5, 2), "op_avgpool3d_ex"),
    }


OPS3_CASES: dict[str, Callable[[], Graph]] = _ops3_cases()
FLOAT_CASES.update(OPS3_CASES)
