"""The op catalogue: every IR op is defined here, once.

An op has an ``Op`` enum member, a frozen attrs dataclass, the names of its inputs, and a
shape-inference rule that also validates its attributes. The *float meaning* of each op is
written in ``hlsforge.reference`` (one small function per op); every other consumer
(emulator, CPU backend, HLS backend, resource estimates) keeps its own ``{Op: rule}`` table,
and a test checks that every table covers every final op.

Conventions:
- Shapes exclude the batch dimension; every activation tensor is batched, constants are not.
- Layout is channels-last: Conv/pool inputs are ``(L, C)`` or ``(H, W, C)``.
- Axes in attributes index the shape *without* the batch and are stored non-negative.
- Weights are constant inputs of the node (``Value.data``), not attributes.
- Ops marked ``transient`` may appear while a frontend imports a model; the passes remove
  them, and ``Graph.validate(final=True)`` rejects them, so backends never see them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..errors import HlsforgeError, ShapeError, UnsupportedOpError
from .element_types import ElementTypes
from .ops_trees import TreeEnsembleAttrs, infer_tree_ensemble
from .records import ir_record
from .types import FixedType, IntType, TensorType

Shape = tuple[int, ...]
Pads = tuple[tuple[int, int], ...]


class Op(str, Enum):
    DENSE = "Dense"
    CONV1D = "Conv1D"
    CONV2D = "Conv2D"
    MAXPOOL1D = "MaxPool1D"
    MAXPOOL2D = "MaxPool2D"
    AVGPOOL1D = "AvgPool1D"
    AVGPOOL2D = "AvgPool2D"
    GLOBAL_MAXPOOL = "GlobalMaxPool"
    GLOBAL_AVGPOOL = "GlobalAvgPool"
    BATCHNORM = "BatchNormalization"
    RELU = "ReLU"
    LEAKY_RELU = "LeakyReLU"
    CLIP = "Clip"
    SIGMOID = "Sigmoid"
    HARD_SIGMOID = "HardSigmoid"
    TANH = "Tanh"
    SOFTMAX = "Softmax"
    ELU = "ELU"
    SELU = "SELU"
    SOFTPLUS = "Softplus"
    ADD = "Add"
    SUB = "Sub"
    MUL = "Mul"
    CONCAT = "Concat"
    FLATTEN = "Flatten"
    RESHAPE = "Reshape"
    TRANSPOSE = "Transpose"
    PAD = "Pad"
    QUANTIZE = "Quantize"
    TREE_ENSEMBLE = "TreeEnsemble"
    # elementwise math and attention (issue 12)
    DIV = "Div"
    EXP = "Exp"
    LOG = "Log"
    SQRT = "Sqrt"
    NEG = "Neg"
    RECIPROCAL = "Reciprocal"
    ABS = "Abs"
    POW = "Pow"
    ERF = "Erf"
    GELU = "GELU"
    SWISH = "Swish"
    HARD_SWISH = "HardSwish"
    LAYERNORM = "LayerNormalization"
    BATCH_MATMUL = "BatchMatMul"
    # recurrent ops (ONNX semantics, batch-first layout=1; see docs/ir.md "Sequences")
    GRU = "GRU"
    LSTM = "LSTM"
    SIMPLE_RNN = "SimpleRNN"
    # index ops (issue 12, onnx-ops): each output element is one input element
    SLICE = "Slice"
    GATHER = "Gather"
    # missing operators of issue 12 (ops3): float engines only, see float_only.py
    REDUCE_PROD = "ReduceProd"
    TOPK = "TopK"
    GATHER_ELEMENTS = "GatherElements"
    CONV_TRANSPOSE1D = "ConvTranspose1D"
    CONV_TRANSPOSE2D = "ConvTranspose2D"
    CONV_TRANSPOSE3D = "ConvTranspose3D"
    CONV3D = "Conv3D"
    MAXPOOL3D = "MaxPool3D"
    AVGPOOL3D = "AvgPool3D"
    # transient (import-only) ops, removed by the passes
    MATMUL = "MatMul"
    IDENTITY = "Identity"
    DROPOUT = "Dropout"


# --------------------------------------------------------------------------- attrs records


@ir_record
@dataclass(frozen=True)
class NoAttrs:
    """For ops without attributes."""


@ir_record
@dataclass(frozen=True)
class ConvAttrs:
    """Conv1D/Conv2D. Kernel input is ``(*kernel_shape, C_in // groups, C_out)``."""

    kernel_shape: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: Pads  # (begin, end) per spatial dim, zero padding
    groups: int = 1


@ir_record
@dataclass(frozen=True)
class PoolAttrs:
    """Max/Avg pooling over the spatial dims of a channels-last tensor."""

    kernel_shape: tuple[int, ...]
    strides: tuple[int, ...]
    pads: Pads
    ceil_mode: bool = False
    count_include_pad: bool = False  # AvgPool only: divide by the full window incl. padding


@ir_record
@dataclass(frozen=True)
class GlobalPoolAttrs:
    keepdims: bool = False  # keep the spatial dims as size 1 (ONNX style)


@ir_record
@dataclass(frozen=True)
class AlphaAttrs:
    """LeakyReLU (negative slope) and ELU (scale of the negative branch)."""

    alpha: float


@ir_record
@dataclass(frozen=True)
class SeluAttrs:
    alpha: float = 1.6732632423543772
    gamma: float = 1.0507009873554805


@ir_record
@dataclass(frozen=True)
class ClipAttrs:
    """Clip / ReLU6 / HardTanh; ``None`` means unbounded on that side."""

    min: float | None = None
    max: float | None = None


@ir_record
@dataclass(frozen=True)
class HardSigmoidAttrs:
    """``clip(alpha * x + beta, 0, 1)``; ONNX default 0.2/0.5, Keras 3 uses 1/6 and 0.5."""

    alpha: float = 0.2
    beta: float = 0.5


@ir_record
@dataclass(frozen=True)
class SoftmaxAttrs:
    """Softmax over ``axis``, which must be the last axis of the tensor."""

    axis: int


@ir_record
@dataclass(frozen=True)
class AxisAttrs:
    """Concat: the axis (without batch) to join along."""

    axis: int


@ir_record
@dataclass(frozen=True)
class ReshapeAttrs:
    """Target shape without batch; fully resolved (no -1) once the node is built."""

    shape: tuple[int, ...]


@ir_record
@dataclass(frozen=True)
class TransposeAttrs:
    """Permutation of the non-batch axes."""

    perm: tuple[int, ...]


@ir_record
@dataclass(frozen=True)
class PadAttrs:
    """Zero padding, ``(begin, end)`` per non-batch axis."""

    pads: Pads


@ir_record
@dataclass(frozen=True)
class QuantizeAttrs:
    """An explicit cast into ``target`` (a quantizer from QKeras/HGQ2/QONNX/hlsforge.qat).

    With ``elements`` set (per-channel / per-element quantizers), element ``e`` is converted
    to ``elements.type_at(e)`` (0 where pruned) and ``target`` is the container type that holds
    all of them exactly (normally ``elements.union()``); it is also the output value's type."""

    target: TensorType
    elements: ElementTypes | None = None

    @classmethod
    def per_element(cls, elements: ElementTypes) -> QuantizeAttrs:
        """The Quantize of ``elements`` with its union as the container ``target``."""
        return cls(elements.union(), elements)


@ir_record
@dataclass(frozen=True)
class SliceAttrs:
    """Slice: per non-batch axis, ``(start, stop, step)`` with Python's meaning after
    clamping (``stop == -1`` with a negative step means "through element 0"); axes not sliced
    have ``(0, size, 1)``. Every axis is listed."""

    slices: tuple[tuple[int, int, int], ...]


@ir_record
@dataclass(frozen=True)
class GatherAttrs:
    """Gather along one non-batch ``axis`` with constant, non-negative ``indices`` (1-D;
    repeats allowed): ``y = take(x, indices, axis)``. Tile, Expand of size-1 axes, nearest
    Resize and ONNX Gather all import as this op."""

    axis: int
    indices: tuple[int, ...]


# --------------------------------------------------------------------------- math/attention attrs (issue 12)


@ir_record
@dataclass(frozen=True)
class PowAttrs:
    """``x ** exponent`` with a constant scalar exponent (ONNX Pow with a constant ``Y``)."""

    exponent: float


@ir_record
@dataclass(frozen=True)
class GeluAttrs:
    """GELU: ``"none"`` is ``x * (1 + erf(x / sqrt 2)) / 2``, ``"tanh"`` the tanh approximation."""

    approximate: str = "none"


@ir_record
@dataclass(frozen=True)
class SwishAttrs:
    """Swish / SiLU: ``x * sigmoid(alpha * x)``."""

    alpha: float = 1.0


@ir_record
@dataclass(frozen=True)
class LayerNormAttrs:
    """Layer normalization over the last axis (ONNX opset 17, axis=-1): scale and bias are
    constants of shape ``(C,)``; ``epsilon`` is added to the (biased) variance."""

    epsilon: float = 1e-5


# --------------------------------------------------------------------------- issue 12: missing operators (ops3)


@ir_record
@dataclass(frozen=True)
class ReduceAttrs:
    """A reduction over the non-batch ``axes`` (sorted, distinct); ``keepdims`` keeps them as
    size 1 (ONNX's meaning)."""

    axes: tuple[int, ...]
    keepdims: bool = True


@ir_record
@dataclass(frozen=True)
class TopKAttrs:
    """The ``k`` largest (``largest``) or smallest elements along non-batch ``axis``: outputs
    ``values`` and ``indices`` (positions along ``axis``, as exact float32 integers). Sorted
    outputs; among equal values the lower index comes first (ONNX's rule). ``sorted=False``
    is accepted and also gives sorted outputs (ONNX leaves that order unspecified)."""

    axis: int
    k: int
    largest: bool = True
    sorted: bool = True


@ir_record
@dataclass(frozen=True)
class ConvTransposeAttrs:
    """ConvTranspose (the gradient of a convolution), channels-last. Kernel input is
    ``(C_in, *kernel_shape, C_out // groups)``: per group a ``(C_in/g, K * C_out/g)`` matrix.
    Output length per axis: ``(in - 1) * stride + dilation * (k - 1) + 1 + output_padding
    - pad_begin - pad_end`` (ONNX's formula)."""

    kernel_shape: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: Pads
    output_padding: tuple[int, ...]
    groups: int = 1




InferFn = Callable[[Any, Sequence[Shape], Sequence[Any]], list[Shape]]


@dataclass(frozen=True)
class OpSpec:
    """What the catalogue knows of one op."""

    op: Op
    attrs: type
    inputs: tuple[str, ...]  # input roles in order; constant roles are listed in ``constants``
    infer: InferFn
    constants: tuple[str, ...] = ()  # roles that must be constant (weights)
    variadic: bool = False  # Concat takes two or more inputs
    transient: bool = False
    doc: str = ""
    elementwise: bool = field(default=False)  # output shape == input shape, value-wise


def _fail(node: str, message: str) -> ShapeError:
    return ShapeError(f"node {node!r}: {message}")


def _check_rank(name: str, shape: Shape, ranks: Sequence[int], what: str) -> None:
    if len(shape) not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise _fail(name, f"{what} expects a rank-{want} input (batch excluded), got shape {shape}")


def conv_output_length(
    length: int, kernel: int, stride: int, dilation: int, pad: tuple[int, int], ceil: bool = False
) -> int:
    """Output length of a sliding window (the formula ONNX, Keras and PyTorch share)."""
    span = dilation * (kernel - 1) + 1
    total = length + pad[0] + pad[1] - span
    if total < 0:
        return 0
    if ceil:
        out = -(-total // stride) + 1
        # PyTorch/ONNX rule: the last window must start inside the input or left padding
        if (out - 1) * stride >= length + pad[0]:
            out -= 1
        return out
    return total // stride + 1


def _infer_identity(attrs: Any, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    return [shapes[0]]


def _infer_dense(attrs: NoAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    x, k, b = shapes
    if len(x) < 1 or len(k) != 2 or x[-1] != k[0]:
        raise ShapeError(f"Dense input {x} does not fit kernel {k} (kernel is (n_in, n_out))")
    if b != (k[1],):
        raise ShapeError(f"Dense bias shape {b} must be ({k[1]},)")
    return [x[:-1] + (k[1],)]


def _infer_matmul(attrs: NoAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    x, k = shapes
    if len(k) != 2 or x[-1] != k[0]:
        raise ShapeError(f"MatMul input {x} does not fit the constant matrix {k}")
    return [x[:-1] + (k[1],)]


def _check_window_attrs(attrs: ConvAttrs | PoolAttrs, nsp: int) -> None:
    fields_ = {"kernel_shape": attrs.kernel_shape, "strides": attrs.strides}
    if isinstance(attrs, ConvAttrs):
        fields_["dilations"] = attrs.dilations
    for fname, vals in fields_.items():
        if len(vals) != nsp or any((not isinstance(v, int)) or v < 1 for v in vals):
            raise ShapeError(f"{fname} must be {nsp} positive integers, got {vals}")
    if len(attrs.pads) != nsp or any(p < 0 for pair in attrs.pads for p in pair):
        raise ShapeError(f"pads must be {nsp} (begin, end) pairs of non-negative ints, got {attrs.pads}")


def _infer_conv(nsp: int) -> InferFn:
    def infer(attrs: ConvAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
        x, k, b = shapes
        if len(x) != nsp + 1:
            raise ShapeError(f"Conv{nsp}D expects a rank-{nsp + 1} channels-last input, got {x}")
        _check_window_attrs(attrs, nsp)
        c_in = x[-1]
        g = attrs.groups
        if g < 1 or c_in % g:
            raise ShapeError(f"groups={g} does not divide the {c_in} input channels")
        if len(k) != nsp + 2 or tuple(k[:nsp]) != tuple(attrs.kernel_shape) or k[nsp] != c_in // g:
            raise ShapeError(
                f"Conv{nsp}D kernel {k} must be (*{attrs.kernel_shape}, {c_in // g}, C_out)"
            )
        c_out = k[-1]
        if c_out % g:
            raise ShapeError(f"groups={g} does not divide the {c_out} output channels")
        if b != (c_out,):
            raise ShapeError(f"Conv bias shape {b} must be ({c_out},)")
        out = tuple(
            conv_output_length(x[i], attrs.kernel_shape[i], attrs.strides[i], attrs.dilations[i], attrs.pads[i])
            for i in range(nsp)
        )
        if any(o < 1 for o in out):
            raise ShapeError(f"Conv{nsp}D window does not fit the input {x} (output {out})")
        return [out + (c_out,)]

    return infer


def _infer_pool(nsp: int) -> InferFn:
    def infer(attrs: PoolAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
        (x,) = shapes
        if len(x) != nsp + 1:
            raise ShapeError(f"{nsp}D pooling expects a rank-{nsp + 1} channels-last input, got {x}")
        _check_window_attrs(attrs, nsp)
        for i in range(nsp):
            if attrs.pads[i][0] >= attrs.kernel_shape[i] or attrs.pads[i][1] >= attrs.kernel_shape[i]:
                raise ShapeError(f"pads {attrs.pads} must be smaller than the window {attrs.kernel_shape}")
        out = tuple(
            conv_output_length(x[i], attrs.kernel_shape[i], attrs.strides[i], 1, attrs.pads[i], attrs.ceil_mode)
            for i in range(nsp)
        )
        if any(o < 1 for o in out):
            raise ShapeError(f"pooling window does not fit the input {x}")
        return [out + (x[-1],)]

    return infer


def _infer_global_pool(attrs: GlobalPoolAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    (x,) = shapes
    if len(x) < 2:
        raise ShapeError(f"global pooling expects (spatial..., C), got {x}")
    return [(1,) * (len(x) - 1) + (x[-1],) if attrs.keepdims else (x[-1],)]


def _infer_channel_affine(attrs: NoAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    x, scale, bias = shapes
    if len(x) < 1 or scale != (x[-1],) or bias != (x[-1],):
        raise ShapeError(f"BatchNormalization scale {scale} / bias {bias} must match channels of {x}")
    return [x]


def broadcast_shapes(a: Shape, b: Shape) -> Shape:
    """Numpy broadcasting of two shapes (aligned on trailing dims)."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da != db and 1 not in (da, db):
            raise ShapeError(f"shapes {a} and {b} do not broadcast")
        out.append(max(da, db))
    return tuple(reversed(out))


def _infer_binary(attrs: NoAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    a, b = shapes
    return [broadcast_shapes(a, b)]


def _infer_concat(attrs: AxisAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    if len(shapes) < 2:
        raise ShapeError("Concat needs two or more inputs")
    rank = len(shapes[0])
    ax = attrs.axis
    if not 0 <= ax < rank:
        raise ShapeError(f"Concat axis {ax} is outside a rank-{rank} tensor (batch excluded)")
    for s in shapes[1:]:
        if len(s) != rank or any(s[i] != shapes[0][i] for i in range(rank) if i != ax):
            raise ShapeError(f"Concat inputs {list(shapes)} differ outside axis {ax}")
    return [shapes[0][:ax] + (sum(s[ax] for s in shapes),) + shapes[0][ax + 1 :]]


def _infer_flatten(attrs: NoAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    return [(math.prod(shapes[0]),)]


def resolve_reshape(source: Shape, target: Sequence[int]) -> Shape:
    """Resolve one ``-1`` in a target shape (batch excluded on both sides)."""
    target = tuple(int(t) for t in target)
    n = math.prod(source)
    if target.count(-1) > 1 or any(t < -1 or t == 0 for t in target):
        raise ShapeError(f"invalid reshape target {target}")
    if -1 in target:
        known = math.prod(t for t in target if t != -1)
        if known == 0 or n % known:
            raise ShapeError(f"cannot reshape {source} into {target}")
        target = tuple(n // known if t == -1 else t for t in target)
    if math.prod(target) != n:
        raise ShapeError(f"cannot reshape {source} ({n} elements) into {target}")
    return target


def _infer_reshape(attrs: ReshapeAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    return [resolve_reshape(shapes[0], attrs.shape)]


def _infer_transpose(attrs: TransposeAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    (x,) = shapes
    if sorted(attrs.perm) != list(range(len(x))):
        raise ShapeError(f"Transpose perm {attrs.perm} is not a permutation of {len(x)} axes")
    return [tuple(x[p] for p in attrs.perm)]


def _infer_pad(attrs: PadAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    (x,) = shapes
    if len(attrs.pads) != len(x) or any(p < 0 for pair in attrs.pads for p in pair):
        raise ShapeError(f"Pad needs a non-negative (begin, end) pair per axis of {x}, got {attrs.pads}")
    return [tuple(d + b + e for d, (b, e) in zip(x, attrs.pads, strict=False))]


def _infer_softmax(attrs: SoftmaxAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    (x,) = shapes
    if attrs.axis != len(x) - 1:
        raise UnsupportedOpError(
            f"Softmax over axis {attrs.axis} of a rank-{len(x)} tensor: only the last axis is supported"
        )
    return [x]


def _infer_clip(attrs: ClipAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    if attrs.min is not None and attrs.max is not None and attrs.min > attrs.max:
        raise ShapeError(f"Clip min {attrs.min} is greater than max {attrs.max}")
    return [shapes[0]]


def _infer_quantize(attrs: QuantizeAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    if not isinstance(attrs.target, (FixedType, IntType)):
        raise ShapeError(f"Quantize target must be a fixed-point or integer type, got {attrs.target}")
    if attrs.elements is not None:
        if not isinstance(attrs.elements, ElementTypes):
            raise ShapeError(f"Quantize elements must be ElementTypes, got {type(attrs.elements).__name__}")
        try:
            attrs.elements.check_shape(shapes[0])
            attrs.elements.union()
            attrs.elements.check_container(attrs.target)
        except HlsforgeError as e:
            raise type(e)(f"Quantize: {e}") from None
    return [shapes[0]]


def _infer_gelu(attrs: GeluAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    if attrs.approximate not in ("none", "tanh"):
        raise ShapeError(f"GELU approximate must be 'none' or 'tanh', got {attrs.approximate!r}")
    return [shapes[0]]


def _infer_layernorm(attrs: LayerNormAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    x, scale, bias = shapes
    if len(x) < 1 or scale != (x[-1],) or bias != (x[-1],):
        raise ShapeError(f"LayerNormalization scale {scale} / bias {bias} must be ({x[-1] if x else '?'},) for {x}")
    if not attrs.epsilon >= 0:
        raise ShapeError(f"LayerNormalization epsilon must be >= 0, got {attrs.epsilon}")
    return [x]


def _infer_batch_matmul(attrs: NoAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    """``(..., M, K) @ (..., K, N)``, both activations, with equal leading (batch-like) axes."""
    a, b = shapes
    if len(a) < 2 or len(a) != len(b) or a[:-2] != b[:-2] or a[-1] != b[-2]:
        raise ShapeError(f"BatchMatMul operands {a} @ {b} must be (..., M, K) @ (..., K, N) with equal leading axes")
    return [a[:-1] + (b[-1],)]


# --------------------------------------------------------------------------- recurrent ops


_RNN_GATES = {"GRU": 3, "LSTM": 4, "SimpleRNN": 1}
_RNN_DEFAULT_ACTS = {"GRU": ("Sigmoid", "Tanh"), "LSTM": ("Sigmoid", "Tanh", "Tanh"), "SimpleRNN": ("Tanh",)}
RNN_ACTIVATIONS = ("Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
                   "HardSigmoid", "Elu", "Softsign", "Softplus")
"""The activation names ONNX defines for recurrent ops (alpha/beta as ONNX gives them)."""


@ir_record
@dataclass(frozen=True)
class RecurrentAttrs:
    """ONNX GRU/LSTM/RNN attributes. ``activations`` lists one entry per function per
    direction (forward first), with ``alphas``/``betas`` aligned to it (0.0 when unused)."""

    hidden_size: int
    direction: str = "forward"  # forward | reverse | bidirectional
    activations: tuple[str, ...] = ()
    alphas: tuple[float, ...] = ()
    betas: tuple[float, ...] = ()
    clip: float | None = None
    linear_before_reset: bool = False  # GRU only
    input_forget: bool = False  # LSTM only


def rnn_gates(op: Op) -> int:
    return _RNN_GATES[op.value]


def rnn_default_activations(op: Op) -> tuple[str, ...]:
    return _RNN_DEFAULT_ACTS[op.value]


def _infer_recurrent(op: Op) -> InferFn:
    gates = _RNN_GATES[op.value]

    def infer(attrs: RecurrentAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
        if attrs.direction not in ("forward", "reverse", "bidirectional"):
            raise ShapeError(f"{op.value}: direction must be forward, reverse or bidirectional, got {attrs.direction!r}")
        dirs = 2 if attrs.direction == "bidirectional" else 1
        h = attrs.hidden_size
        n_act = len(_RNN_DEFAULT_ACTS[op.value])
        if len(attrs.activations) != n_act * dirs or len(attrs.alphas) != len(attrs.activations) \
                or len(attrs.betas) != len(attrs.activations):
            raise ShapeError(f"{op.value}: needs {n_act * dirs} activations (with alphas/betas), got {attrs.activations}")
        bad = [a for a in attrs.activations if a not in RNN_ACTIVATIONS]
        if bad:
            raise ShapeError(f"{op.value}: unknown activation(s) {bad}; ONNX defines {', '.join(RNN_ACTIVATIONS)}")
        if attrs.clip is not None and not attrs.clip > 0:
            raise ShapeError(f"{op.value}: clip must be positive, got {attrs.clip}")
        x = shapes[0]
        _check_rank(op.value, x, (2,), "input (seq, features)")
        want = [(dirs, gates * h, x[1]), (dirs, gates * h, h), (dirs, 2 * gates * h), (dirs, h)]
        if op is Op.LSTM:
            want += [(dirs, h), (dirs, 3 * h)]
        for role, got, exp in zip(("W", "R", "B", "initial_h", "initial_c", "P"), shapes[1:], want, strict=False):
            if tuple(got) != exp:
                raise ShapeError(f"{op.value}: {role} must have shape {exp}, got {tuple(got)}")
        outs = [(x[0], dirs, h), (dirs, h)]
        return outs + [(dirs, h)] if op is Op.LSTM else outs

    return infer


_RNN_INPUTS = ("x", "W", "R", "B", "initial_h")
_RNN_DOC = ("ONNX {} with layout=1 minus the batch: x (seq, in) -> Y (seq, dirs, hidden), Y_h (dirs, hidden){}; "
            "weights in ONNX gate order")


def _infer_slice(attrs: SliceAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    (x,) = shapes
    if len(attrs.slices) != len(x):
        raise ShapeError(f"Slice lists {len(attrs.slices)} axes for a rank-{len(x)} input {x}")
    out = []
    for d, (start, stop, step) in zip(x, attrs.slices, strict=True):
        if step == 0 or not 0 <= start <= d - (step < 0) or not -1 <= stop <= d:
            raise ShapeError(f"Slice ({start}, {stop}, {step}) does not fit an axis of size {d}")
        n = len(range(start, stop, step))  # stop -1 with a negative step: through element 0
        if n == 0:
            raise ShapeError(f"Slice ({start}, {stop}, {step}) of an axis of size {d} is empty")
        out.append(n)
    return [tuple(out)]


def _infer_gather(attrs: GatherAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    (x,) = shapes
    if not 0 <= attrs.axis < len(x):
        raise ShapeError(f"Gather axis {attrs.axis} is outside a rank-{len(x)} input {x}")
    if not attrs.indices or any(not 0 <= i < x[attrs.axis] for i in attrs.indices):
        raise ShapeError(f"Gather indices must be non-empty and within [0, {x[attrs.axis]})")
    return [x[: attrs.axis] + (len(attrs.indices),) + x[attrs.axis + 1 :]]


def _infer_reduce(attrs: ReduceAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    (x,) = shapes
    ax = attrs.axes
    if not ax or list(ax) != sorted(set(ax)) or any(not 0 <= a < len(x) for a in ax):
        raise ShapeError(f"reduction axes {ax} must be distinct, sorted non-batch axes of {x}")
    if attrs.keepdims:
        return [tuple(1 if i in ax else d for i, d in enumerate(x))]
    out = tuple(d for i, d in enumerate(x) if i not in ax)
    if not out:
        raise ShapeError(f"reducing every axis of {x} without keepdims leaves a scalar per event")
    return [out]


def _infer_topk(attrs: TopKAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    (x,) = shapes
    if not 0 <= attrs.axis < len(x):
        raise ShapeError(f"TopK axis {attrs.axis} is outside a rank-{len(x)} input {x}")
    if not 1 <= attrs.k <= x[attrs.axis]:
        raise ShapeError(f"TopK k={attrs.k} must be in [1, {x[attrs.axis]}] for axis {attrs.axis} of {x}")
    out = x[: attrs.axis] + (attrs.k,) + x[attrs.axis + 1 :]
    return [out, out]


def _infer_gather_elements(attrs: AxisAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
    x, idx = shapes
    if len(x) != len(idx) or not 0 <= attrs.axis < len(x):
        raise ShapeError(f"GatherElements needs data {x} and indices {idx} of equal rank and an axis inside them")
    if any(i > d != 1 for a, (i, d) in enumerate(zip(idx, x, strict=True)) if a != attrs.axis):
        raise ShapeError(f"GatherElements indices {idx} exceed the data {x} outside axis {attrs.axis} "
                         "(only size-1 data axes broadcast)")
    return [tuple(idx)]


def _infer_conv_transpose(nsp: int) -> InferFn:
    def infer(attrs: ConvTransposeAttrs, shapes: Sequence[Shape], consts: Sequence[Any]) -> list[Shape]:
        x, k, b = shapes
        name = f"ConvTranspose{nsp}D"
        if len(x) != nsp + 1:
            raise ShapeError(f"{name} expects a rank-{nsp + 1} channels-last input, got {x}")
        fields_ = {"kernel_shape": attrs.kernel_shape, "strides": attrs.strides, "dilations": attrs.dilations}
        for fname, vals in fields_.items():
            if len(vals) != nsp or any((not isinstance(v, int)) or v < 1 for v in vals):
                raise ShapeError(f"{fname} must be {nsp} positive integers, got {vals}")
        if len(attrs.pads) != nsp or any(p < 0 for pair in attrs.pads for p in pair):
            raise ShapeError(f"pads must be {nsp} (begin, end) pairs of non-negative ints, got {attrs.pads}")
        op_ = attrs.output_padding
        if len(op_) != nsp or any(o < 0 for o in op_):
            raise ShapeError(f"output_padding {op_} must be {nsp} non-negative values")
        g, c_in = attrs.groups, x[-1]
        if g < 1 or c_in % g:
            raise ShapeError(f"groups={g} does not divide the {c_in} input channels")
        if len(k) != nsp + 2 or k[0] != c_in or tuple(k[1:-1]) != tuple(attrs.kernel_shape):
            raise ShapeError(f"{name} kernel {k} must be ({c_in}, *{attrs.kernel_shape}, C_out/groups)")
        c_out = k[-1] * g
        if b != (c_out,):
            raise ShapeError(f"{name} bias shape {b} must be ({c_out},)")
        out = tuple(
            (x[i] - 1) * attrs.strides[i] + attrs.dilations[i] * (attrs.kernel_shape[i] - 1) + 1 + op_[i]
            - attrs.pads[i][0] - attrs.pads[i][1]
            for i in range(nsp)
        )
        if any(o < 1 for o in out):
            raise ShapeError(f"{name} pads {attrs.pads} crop the whole output of input {x} (output {out})")
        return [out + (c_out,)]

    return infer


def _spec(op: Op, attrs: type, inputs: tuple[str, ...], infer: InferFn, **kw: Any) -> OpSpec:
    return OpSpec(op=op, attrs=attrs, inputs=inputs, infer=infer, **kw)


_X = ("x",)
_ELEMENTWISE = dict(elementwise=True)

CATALOGUE: dict[Op, OpSpec] = {
    s.op: s
    for s in [
        _spec(Op.DENSE, NoAttrs, ("x", "kernel", "bias"), _infer_dense, constants=("kernel", "bias"),
              doc="y = x @ kernel + bias over the last axis; kernel is (n_in, n_out)"),
        _spec(Op.CONV1D, ConvAttrs, ("x", "kernel", "bias"), _infer_conv(1), constants=("kernel", "bias"),
              doc="channels-last 1D convolution (cross-correlation), zero padding"),
        _spec(Op.CONV2D, ConvAttrs, ("x", "kernel", "bias"), _infer_conv(2), constants=("kernel", "bias"),
              doc="channels-last 2D convolution (cross-correlation), groups incl. depthwise"),
        _spec(Op.MAXPOOL1D, PoolAttrs, _X, _infer_pool(1)),
        _spec(Op.MAXPOOL2D, PoolAttrs, _X, _infer_pool(2)),
        _spec(Op.AVGPOOL1D, PoolAttrs, _X, _infer_pool(1)),
        _spec(Op.AVGPOOL2D, PoolAttrs, _X, _infer_pool(2)),
        _spec(Op.GLOBAL_MAXPOOL, GlobalPoolAttrs, _X, _infer_global_pool),
        _spec(Op.GLOBAL_AVGPOOL, GlobalPoolAttrs, _X, _infer_global_pool),
        _spec(Op.BATCHNORM, NoAttrs, ("x", "scale", "bias"), _infer_channel_affine,
              constants=("scale", "bias"),
              doc="inference-mode batch norm as y = x * scale + bias per channel (last axis); "
                  "frontends compute scale = gamma / sqrt(var + eps), bias = beta - mean * scale"),
        _spec(Op.RELU, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.LEAKY_RELU, AlphaAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.CLIP, ClipAttrs, _X, _infer_clip, **_ELEMENTWISE),
        _spec(Op.SIGMOID, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.HARD_SIGMOID, HardSigmoidAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.TANH, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.SOFTMAX, SoftmaxAttrs, _X, _infer_softmax),
        _spec(Op.ELU, AlphaAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.SELU, SeluAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.SOFTPLUS, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.ADD, NoAttrs, ("a", "b"), _infer_binary, doc="numpy broadcasting"),
        _spec(Op.SUB, NoAttrs, ("a", "b"), _infer_binary, doc="numpy broadcasting"),
        _spec(Op.MUL, NoAttrs, ("a", "b"), _infer_binary, doc="numpy broadcasting"),
        _spec(Op.CONCAT, AxisAttrs, ("inputs",), _infer_concat, variadic=True),
        _spec(Op.FLATTEN, NoAttrs, _X, _infer_flatten, doc="C-order flatten of the non-batch axes"),
        _spec(Op.RESHAPE, ReshapeAttrs, _X, _infer_reshape),
        _spec(Op.TRANSPOSE, TransposeAttrs, _X, _infer_transpose),
        _spec(Op.PAD, PadAttrs, _X, _infer_pad),
        _spec(Op.QUANTIZE, QuantizeAttrs, _X, _infer_quantize, **_ELEMENTWISE),
        _spec(Op.TREE_ENSEMBLE, TreeEnsembleAttrs, _X, infer_tree_ensemble,
              doc="a forest of decision trees over a feature vector (ir/ops_trees.py)"),
        # elementwise math and attention (issue 12)
        _spec(Op.DIV, NoAttrs, ("a", "b"), _infer_binary, doc="numpy broadcasting, IEEE division"),
        _spec(Op.EXP, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.LOG, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.SQRT, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.NEG, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.RECIPROCAL, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.ABS, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.POW, PowAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.ERF, NoAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.GELU, GeluAttrs, _X, _infer_gelu, **_ELEMENTWISE),
        _spec(Op.SWISH, SwishAttrs, _X, _infer_identity, **_ELEMENTWISE),
        _spec(Op.HARD_SWISH, NoAttrs, _X, _infer_identity, **_ELEMENTWISE, doc="x * clip(x / 6 + 1/2, 0, 1)"),
        _spec(Op.LAYERNORM, LayerNormAttrs, ("x", "scale", "bias"), _infer_layernorm, constants=("scale", "bias"),
              doc="(x - mean) / sqrt(var + eps) * scale + bias over the last axis"),
        _spec(Op.BATCH_MATMUL, NoAttrs, ("a", "b"), _infer_batch_matmul,
              doc="matrix product of two activations over the last two axes, per leading index"),
        _spec(Op.GRU, RecurrentAttrs, _RNN_INPUTS, _infer_recurrent(Op.GRU), constants=_RNN_INPUTS[1:],
              doc=_RNN_DOC.format("GRU", "")),
        _spec(Op.LSTM, RecurrentAttrs, _RNN_INPUTS + ("initial_c", "P"), _infer_recurrent(Op.LSTM),
              constants=_RNN_INPUTS[1:] + ("initial_c", "P"), doc=_RNN_DOC.format("LSTM", ", Y_c (dirs, hidden)")),
        _spec(Op.SIMPLE_RNN, RecurrentAttrs, _RNN_INPUTS, _infer_recurrent(Op.SIMPLE_RNN), constants=_RNN_INPUTS[1:],
              doc=_RNN_DOC.format("RNN", "")),
        # index ops (issue 12, onnx-ops): rules in each consumer's index-op module
        _spec(Op.SLICE, SliceAttrs, _X, _infer_slice, doc="strided window per axis (hlsforge.ir.index_maps)"),
        _spec(Op.GATHER, GatherAttrs, _X, _infer_gather, doc="take constant indices along one axis"),
        # missing operators of issue 12 (ops3): float engines only (float_only.py)
        _spec(Op.REDUCE_PROD, ReduceAttrs, _X, _infer_reduce, doc="product over non-batch axes"),
        _spec(Op.TOPK, TopKAttrs, _X, _infer_topk,
              doc="k largest/smallest along one axis: values, indices (exact float32 integers)"),
        _spec(Op.GATHER_ELEMENTS, AxisAttrs, ("x", "indices"), _infer_gather_elements,
              doc="ONNX GatherElements with activation indices (float32 integers; negative counts from the end); "
                  "size-1 data axes broadcast"),
        _spec(Op.CONV_TRANSPOSE1D, ConvTransposeAttrs, ("x", "kernel", "bias"), _infer_conv_transpose(1),
              constants=("kernel", "bias"), doc="channels-last transposed 1D convolution"),
        _spec(Op.CONV_TRANSPOSE2D, ConvTransposeAttrs, ("x", "kernel", "bias"), _infer_conv_transpose(2),
              constants=("kernel", "bias"), doc="channels-last transposed 2D convolution"),
        _spec(Op.CONV_TRANSPOSE3D, ConvTransposeAttrs, ("x", "kernel", "bias"), _infer_conv_transpose(3),
              constants=("kernel", "bias"), doc="channels-last transposed 3D convolution"),
        _spec(Op.CONV3D, ConvAttrs, ("x", "kernel", "bias"), _infer_conv(3), constants=("kernel", "bias"),
              doc="channels-last 3D convolution (D, H, W, C), kernel (kd, kh, kw, C_in/groups, C_out)"),
        _spec(Op.MAXPOOL3D, PoolAttrs, _X, _infer_pool(3)),
        _spec(Op.AVGPOOL3D, PoolAttrs, _X, _infer_pool(3)),
        _spec(Op.MATMUL, NoAttrs, ("x", "matrix"), _infer_matmul, constants=("matrix",), transient=True),
        _spec(Op.IDENTITY, NoAttrs, _X, _infer_identity, transient=True),
        _spec(Op.DROPOUT, NoAttrs, _X, _infer_identity, transient=True),
    ]
}

FINAL_OPS: tuple[Op, ...] = tuple(op for op, s in CATALOGUE.items() if not s.transient)
"""Ops a validated, legalized graph may contain: every backend must cover these."""


def spec(op: Op) -> OpSpec:
    return CATALOGUE[op]
