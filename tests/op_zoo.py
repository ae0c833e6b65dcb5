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
    # index ops (issue 12)
    "slice": lambda: index_op(Op.SLICE, SliceAttrs(((1, 5, 2), (0, 4, 1), (2, -1, -1))), "op_slice"),
    "gather": lambda: index_op(Op.GATHER, GatherAttrs(1, (3, 0, 0, 2, 1)), "op_gather"),
}


def random_inputs(graph: Graph, batch: int, seed: int = 0, scale: float = 2.0) -> dict[str, np.ndarray] | np.ndarray:
    """Random inputs in the user's layout: an array for one input, a dict for several."""
    rng = np.random.default_rng(seed)
    xs = {n: (rng.normal(size=(batch, *graph.user_shape(n))) * scale).astype(np.float32) for n in graph.inputs}
    return next(iter(xs.values())) if len(xs) == 1 else xs


def covered_ops() -> set[Op]:
    return {n.op for build in CASES.values() for n in build().nodes}


if __name__ == "__main__":  # pragma: no cover - a quick listing for humans
    missing = set(FINAL_OPS) - covered_ops()
    print(f"{len(CASES)} cases; final ops without a case: {sorted(o.value for o in missing)}")
