"""One converter per Keras (and QKeras) layer class, registered in :data:`CONVERTERS`.

A converter reads its ``LayerCall`` (class name, config, input values, weights) and adds IR
nodes through the :class:`~.builder.Builder`; it translates only — folding, fusing and
layout clean-up are the shared passes' job. QKeras layers share the converter of their
Keras counterpart: the quantizer entries of the config (absent for plain Keras layers)
quantize the weights exactly (:mod:`.qkeras`) and record their types on the constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.ops import (
    AlphaAttrs,
    AxisAttrs,
    ClipAttrs,
    ConvAttrs,
    GlobalPoolAttrs,
    NoAttrs,
    Op,
    PadAttrs,
    Pads,
    PoolAttrs,
    ReshapeAttrs,
    SoftmaxAttrs,
    TransposeAttrs,
    resolve_reshape,
)
from ...ir.types import FLOAT32
from . import qkeras
from .activations import apply_activation
from .builder import Builder, Converter, LayerCall
from .qkeras import QuantizedWeights

# ----------------------------------------------------------------------------- config helpers


def _ints(call: LayerCall, key: str, n: int, default: Any = None) -> tuple[int, ...]:
    """An int or a length-n list from the config, as an n-tuple."""
    v = call.get(key, default)
    if v is None:
        v = default
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return (int(v),) * n
    if isinstance(v, (list, tuple)):
        if len(v) == n and all(isinstance(i, (int, np.integer)) for i in v):
            return tuple(int(i) for i in v)
        if len(v) == 1 and isinstance(v[0], (int, np.integer)):
            return (int(v[0]),) * n
    raise ModelFormatError(f"{call.where}: {key}={v!r} is not {n} integer(s)")


def _channels_first(call: LayerCall) -> bool:
    fmt = call.get("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise ModelFormatError(f"{call.where}: unknown data_format {fmt!r}")
    return fmt == "channels_first"


def _non_batch_axis(call: LayerCall, axis: Any, rank: int) -> int:
    """A Keras axis (which counts the batch dimension) as an index of the non-batch shape."""
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise UnsupportedOpError(f"{call.where}: only a single axis is supported, got {axis}")
        axis = axis[0]
    a = int(axis)
    ax = a + rank if a < 0 else a - 1
    if not 0 <= ax < rank:
        raise ModelFormatError(f"{call.where}: axis {axis} is outside a rank-{rank + 1} tensor (batch included)")
    return ax


def same_pads(length: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow/Keras ``'same'`` padding: output ``ceil(L/s)``, the odd pixel at the end."""
    out = -(-length // stride)
    span = dilation * (kernel - 1) + 1
    total = max((out - 1) * stride + span - length, 0)
    return (total // 2, total - total // 2)


def _window_pads(
    call: LayerCall, spatial: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> Pads:
    padding = str(call.get("padding", "valid")).lower()
    if padding == "valid":
        return tuple((0, 0) for _ in spatial)
    if padding == "same":
        return tuple(same_pads(spatial[i], kernel[i], strides[i], dilations[i]) for i in range(len(spatial)))
    if padding == "causal" and len(spatial) == 1:
        return ((dilations[0] * (kernel[0] - 1), 0),)
    raise UnsupportedOpError(f"{call.where}: padding={padding!r} is not supported (valid, same; causal for 1D)")


def _quantized(call: LayerCall, key: str, w: np.ndarray) -> QuantizedWeights:
    """Weights through their QKeras quantizer ``call.config[key]`` (plain Keras: unchanged)."""
    q = qkeras.parse_quantizer(call.get(key), where=f"{call.where} {key}")
    return qkeras.quantize_weights(q, w, where=f"{call.where} {key}")


def _bias(call: LayerCall, n: int, key: str = "bias_quantizer") -> QuantizedWeights:
    if not call.get("use_bias", True):
        return QuantizedWeights(np.zeros(n), None)
    b = _quantized(call, key, call.weight("bias"))
    if b.scale is not None:  # non-power-of-two alpha on a bias: keep the scaled float values
        return QuantizedWeights(b.values * b.scale, None)
    return b


def _const(ctx: Builder, call: LayerCall, part: str, w: QuantizedWeights) -> str:
    return ctx.const(call, part, w.values, w.type if w.type is not None else FLOAT32)


def _affine(ctx: Builder, call: LayerCall, op: Op, x: str, k: QuantizedWeights, b: QuantizedWeights, attrs: Any, part: str) -> str:
    """``op(x, kernel, bias)``; a leftover kernel scale becomes ``(op(x, k, 0) · s) + b``."""
    kc = _const(ctx, call, f"{part}_kernel", k)
    if k.scale is None:
        return ctx.node(call, op, [x, kc, _const(ctx, call, f"{part}_bias", b)], attrs, part=part)
    zero = ctx.const(call, f"{part}_zero_bias", np.zeros(b.values.shape))
    y = ctx.node(call, op, [x, kc, zero], attrs, part=part)
    y = ctx.node(call, Op.MUL, [y, ctx.const(call, f"{part}_alpha", np.array([k.scale]))], part=f"{part}_alpha")
    return ctx.node(call, Op.ADD, [y, _const(ctx, call, f"{part}_bias", b)], part=f"{part}_bias_add")


# ----------------------------------------------------------------------------- core layers


def dense(ctx: Builder, call: LayerCall) -> str:
    k = _quantized(call, "kernel_quantizer", call.weight("kernel"))
    if k.values.ndim != 2:
        raise ModelFormatError(f"{call.where}: kernel has shape {k.values.shape}, expected (inputs, units)")
    units = call.get("units")
    if units is not None and units != k.values.shape[1]:
        raise ModelFormatError(
            f"{call.where}: the config says units={units!r} but the kernel has shape {k.values.shape}; "
            "the architecture and the weights do not belong together"
        )
    b = _bias(call, k.values.shape[1])
    y = _affine(ctx, call, Op.DENSE, call.inputs[0], k, b, NoAttrs(), "linear")
    return apply_activation(ctx, call, y, call.get("activation"), part="act")


def conv_prologue(ctx: Builder, call: LayerCall, nsp: int) -> tuple[str, bool, QuantizedWeights, tuple[int, ...]]:
    """What every Keras convolution starts with: its input in channels-last layout, whether the
    layer is channels-first (its output goes back), its (quantized) kernel, checked for rank,
    and the kernel's spatial size."""
    x = call.inputs[0]
    cf = _channels_first(call)
    if cf:
        x = ctx.to_channels_last(call, x)
    k = _quantized(call, "kernel_quantizer", call.weight("kernel"))
    if k.values.ndim != nsp + 2:
        raise ModelFormatError(f"{call.where}: kernel has shape {k.values.shape}, expected rank {nsp + 2}")
    return x, cf, k, tuple(int(d) for d in k.values.shape[:nsp])


def _conv(nsp: int) -> Converter:
    op = Op.CONV1D if nsp == 1 else Op.CONV2D

    def conv(ctx: Builder, call: LayerCall) -> str:
        x, cf, k, ksize = conv_prologue(ctx, call, nsp)
        strides = _ints(call, "strides", nsp, 1)
        dil = _ints(call, "dilation_rate", nsp, 1)
        groups = int(call.get("groups", 1) or 1)
        pads = _window_pads(call, ctx.shape(x)[:nsp], ksize, strides, dil)
        b = _bias(call, k.values.shape[-1])
        y = _affine(ctx, call, op, x, k, b, ConvAttrs(ksize, strides, dil, pads, groups), "conv")
        y = apply_activation(ctx, call, y, call.get("activation"), part="act")
        return ctx.to_channels_first(call, y) if cf else y

    return conv


def _depthwise_kernel(k: QuantizedWeights, nsp: int, where: str) -> tuple[QuantizedWeights, int]:
    """Keras ``(*k, C, m)`` → grouped-conv kernel ``(*k, 1, C·m)`` with groups = C."""
    if k.values.ndim != nsp + 2:
        raise ModelFormatError(f"{where}: depthwise kernel has shape {k.values.shape}, expected rank {nsp + 2}")
    c, m = k.values.shape[-2:]
    values = k.values.reshape(k.values.shape[:nsp] + (1, c * m))
    return QuantizedWeights(values, k.type, k.scale), int(c)


def _depthwise_conv(
    ctx: Builder, call: LayerCall, x: str, nsp: int, k: QuantizedWeights, b: QuantizedWeights | None, part: str
) -> str:
    kernel, c = _depthwise_kernel(k, nsp, call.where)
    ksize = tuple(int(d) for d in kernel.values.shape[:nsp])
    strides = _ints(call, "strides", nsp, 1)
    dil = _ints(call, "dilation_rate", nsp, 1)
    pads = _window_pads(call, ctx.shape(x)[:nsp], ksize, strides, dil)
    bias = b if b is not None else QuantizedWeights(np.zeros(kernel.values.shape[-1]), None)
    op = Op.CONV1D if nsp == 1 else Op.CONV2D
    return _affine(ctx, call, op, x, kernel, bias, ConvAttrs(ksize, strides, dil, pads, c), part)


def _depthwise(nsp: int) -> Converter:
    def conv(ctx: Builder, call: LayerCall) -> str:
        x = call.inputs[0]
        cf = _channels_first(call)
        if cf:
            x = ctx.to_channels_last(call, x)
        k = _quantized(call, "depthwise_quantizer", call.weight("depthwise_kernel", "kernel"))
        b = _bias(call, k.values.shape[-2] * k.values.shape[-1])
        y = _depthwise_conv(ctx, call, x, nsp, k, b, "depthwise")
        y = apply_activation(ctx, call, y, call.get("activation"), part="act")
        return ctx.to_channels_first(call, y) if cf else y

    return conv


def _separable(nsp: int) -> Converter:
    op = Op.CONV1D if nsp == 1 else Op.CONV2D

    def conv(ctx: Builder, call: LayerCall) -> str:
        x = call.inputs[0]
        cf = _channels_first(call)
        if cf:
            x = ctx.to_channels_last(call, x)
        dk = _quantized(call, "depthwise_quantizer", call.weight("depthwise_kernel"))
        y = _depthwise_conv(ctx, call, x, nsp, dk, None, "depthwise")
        pk = _quantized(call, "pointwise_quantizer", call.weight("pointwise_kernel"))
        if pk.values.ndim != nsp + 2 or any(d != 1 for d in pk.values.shape[:nsp]):
            raise ModelFormatError(f"{call.where}: pointwise kernel has shape {pk.values.shape}, expected 1x1")
        b = _bias(call, pk.values.shape[-1])
        one = (1,) * nsp
        attrs = ConvAttrs(one, one, one, tuple((0, 0) for _ in range(nsp)), 1)
        y = _affine(ctx, call, op, y, pk, b, attrs, "pointwise")
        y = apply_activation(ctx, call, y, call.get("activation"), part="act")
        return ctx.to_channels_first(call, y) if cf else y

    return conv


_QBN_DEFAULTS = {
    "gamma_quantizer": "quantized_relu_po2(6, 2048)",
    "beta_quantizer": "quantized_po2(5)",
    "mean_quantizer": "quantized_po2(5)",
    "variance_quantizer": "quantized_relu_po2(6, quadratic_approximation=True)",
}


def batch_normalization(ctx: Builder, call: LayerCall) -> str:
    x = call.inputs[0]
    rank = len(ctx.shape(x))
    ax = _non_batch_axis(call, call.get("axis", -1), rank)
    n = ctx.shape(x)[ax]
    quantized = call.class_name == "QBatchNormalization"

    def param(key: str, names: tuple[str, ...], present: bool, default: float) -> np.ndarray:
        if not present:
            return np.full(n, default)
        w = call.weight(*names)
        if not quantized:
            return np.asarray(w, np.float64)
        qkey = f"{key}_quantizer"
        spec = call.config[qkey] if qkey in call.config else _QBN_DEFAULTS[qkey]
        q = qkeras.parse_quantizer(spec, where=f"{call.where} {qkey}")
        qw = qkeras.quantize_weights(q, w, where=f"{call.where} {qkey}")
        return qw.values * (qw.scale if qw.scale is not None else 1.0)

    gamma = param("gamma", ("gamma",), bool(call.get("scale", True)), 1.0)
    beta = param("beta", ("beta",), bool(call.get("center", True)), 0.0)
    mean = param("mean", ("moving_mean",), True, 0.0)
    var = param("variance", ("moving_variance",), True, 1.0)
    eps = float(call.get("epsilon", 1e-3))
    scale = gamma / np.sqrt(var + eps)
    bias = beta - mean * scale
    if ax != rank - 1:
        perm = tuple(i for i in range(rank) if i != ax) + (ax,)
        x = ctx.node(call, Op.TRANSPOSE, [x], TransposeAttrs(perm), part="to_last")
    y = ctx.node(call, Op.BATCHNORM, [x, ctx.const(call, "scale", scale), ctx.const(call, "bias", bias)], part="bn")
    if ax != rank - 1:
        y = ctx.node(call, Op.TRANSPOSE, [y], TransposeAttrs(tuple(int(i) for i in np.argsort(perm))), part="back")
    return y


# ----------------------------------------------------------------------------- activations


def activation(ctx: Builder, call: LayerCall) -> str:
    return apply_activation(ctx, call, call.inputs[0], call.get("activation"))


def relu(ctx: Builder, call: LayerCall) -> str:
    x = call.inputs[0]
    max_value = call.get("max_value")
    slope = float(call.get("negative_slope") or 0.0)
    threshold = float(call.get("threshold") or 0.0)
    if threshold != 0.0:
        raise UnsupportedOpError(f"{call.where}: ReLU threshold={threshold} has no IR equivalent; only threshold=0")
    if slope == 0.0:
        if max_value is None:
            return ctx.node(call, Op.RELU, [x], part="relu")
        return ctx.node(call, Op.CLIP, [x], ClipAttrs(0.0, float(max_value)), part="clip")
    y = ctx.node(call, Op.LEAKY_RELU, [x], AlphaAttrs(slope), part="leaky")
    if max_value is not None:
        y = ctx.node(call, Op.CLIP, [y], ClipAttrs(None, float(max_value)), part="clip")
    return y


def leaky_relu(ctx: Builder, call: LayerCall) -> str:
    slope = call.get("negative_slope", call.get("alpha", 0.3))
    return ctx.node(call, Op.LEAKY_RELU, [call.inputs[0]], AlphaAttrs(float(0.3 if slope is None else slope)))


def elu(ctx: Builder, call: LayerCall) -> str:
    return ctx.node(call, Op.ELU, [call.inputs[0]], AlphaAttrs(float(call.get("alpha", 1.0))))


def softmax(ctx: Builder, call: LayerCall) -> str:
    x = call.inputs[0]
    rank = len(ctx.shape(x))
    ax = _non_batch_axis(call, call.get("axis", -1), rank)
    if ax != rank - 1:
        raise UnsupportedOpError(f"{call.where}: softmax over axis {call.get('axis')} — only the last axis is supported")
    return ctx.node(call, Op.SOFTMAX, [x], SoftmaxAttrs(ax))


def qactivation(ctx: Builder, call: LayerCall) -> str:
    return apply_activation(ctx, call, call.inputs[0], call.get("activation"))


# ----------------------------------------------------------------------------- pooling


def _pool(op: Op, nsp: int) -> Converter:
    def pool(ctx: Builder, call: LayerCall) -> str:
        x = call.inputs[0]
        cf = _channels_first(call)
        if cf:
            x = ctx.to_channels_last(call, x)
        size = _ints(call, "pool_size", nsp, 2)
        strides = _ints(call, "strides", nsp, None) if call.get("strides") is not None else size
        pads = _window_pads(call, ctx.shape(x)[:nsp], size, strides, (1,) * nsp)
        y = ctx.node(call, op, [x], PoolAttrs(size, strides, pads, False, False), part="pool")
        return ctx.to_channels_first(call, y) if cf else y

    return pool


def _global_pool(op: Op) -> Converter:
    def pool(ctx: Builder, call: LayerCall) -> str:
        x = call.inputs[0]
        cf = _channels_first(call)
        keep = bool(call.get("keepdims", False))
        if cf:
            x = ctx.to_channels_last(call, x)
        y = ctx.node(call, op, [x], GlobalPoolAttrs(keep), part="pool")
        return ctx.to_channels_first(call, y) if cf and keep else y

    return pool


# ----------------------------------------------------------------------------- reshaping


def _pad_pairs(call: LayerCall, nsp: int) -> list[tuple[int, int]]:
    p = call.get("padding", 1)
    if isinstance(p, (int, np.integer)):
        return [(int(p), int(p))] * nsp
    if isinstance(p, (list, tuple)):
        if nsp == 1 and len(p) == 2 and all(isinstance(i, (int, np.integer)) for i in p):
            return [(int(p[0]), int(p[1]))]
        if len(p) == nsp:
            out = []
            for item in p:
                if isinstance(item, (int, np.integer)):
                    out.append((int(item), int(item)))
                elif isinstance(item, (list, tuple)) and len(item) == 2:
                    out.append((int(item[0]), int(item[1])))
                else:
                    break
            else:
                return out
    raise ModelFormatError(f"{call.where}: cannot read padding={p!r}")


def _zero_padding(nsp: int) -> Converter:
    def pad(ctx: Builder, call: LayerCall) -> str:
        x = call.inputs[0]
        pairs = _pad_pairs(call, nsp)
        pads = pairs + [(0, 0)] if not _channels_first(call) else [(0, 0)] + pairs
        if len(pads) != len(ctx.shape(x)):
            raise ModelFormatError(f"{call.where}: input shape {ctx.shape(x)} does not fit {nsp}D padding")
        return ctx.node(call, Op.PAD, [x], PadAttrs(tuple(pads)), part="pad")

    return pad


def flatten(ctx: Builder, call: LayerCall) -> str:
    x = call.inputs[0]
    if len(ctx.shape(x)) <= 1:
        return x
    if _channels_first(call):
        x = ctx.to_channels_last(call, x)
    return ctx.node(call, Op.FLATTEN, [x], part="flatten")


def reshape(ctx: Builder, call: LayerCall) -> str:
    target = call.get("target_shape")
    if not isinstance(target, (list, tuple)):
        raise ModelFormatError(f"{call.where}: target_shape {target!r} is not a list")
    x = call.inputs[0]
    shape = resolve_reshape(ctx.shape(x), [-1 if t is None else int(t) for t in target])
    return ctx.node(call, Op.RESHAPE, [x], ReshapeAttrs(shape), part="reshape")


def permute(ctx: Builder, call: LayerCall) -> str:
    dims = call.get("dims")
    if not isinstance(dims, (list, tuple)):
        raise ModelFormatError(f"{call.where}: dims {dims!r} is not a list")
    return ctx.node(call, Op.TRANSPOSE, [call.inputs[0]], TransposeAttrs(tuple(int(d) - 1 for d in dims)), part="permute")


def identity(ctx: Builder, call: LayerCall) -> str:
    """Dropout and noise layers do nothing at inference."""
    return call.inputs[0]


# ----------------------------------------------------------------------------- merging


def _chain(ctx: Builder, call: LayerCall, op: Op, inputs: Sequence[str]) -> str:
    if len(inputs) < 2:
        raise ModelFormatError(f"{call.where}: needs two or more inputs, got {len(inputs)}")
    y = inputs[0]
    for i, other in enumerate(inputs[1:], start=1):
        y = ctx.node(call, op, [y, other], part=f"{op.value.lower()}{i}")
    return y


def add(ctx: Builder, call: LayerCall) -> str:
    return _chain(ctx, call, Op.ADD, call.inputs)


def subtract(ctx: Builder, call: LayerCall) -> str:
    if len(call.inputs) != 2:
        raise ModelFormatError(f"{call.where}: Subtract takes exactly two inputs, got {len(call.inputs)}")
    return ctx.node(call, Op.SUB, call.inputs, part="sub")


def multiply(ctx: Builder, call: LayerCall) -> str:
    return _chain(ctx, call, Op.MUL, call.inputs)


def average(ctx: Builder, call: LayerCall) -> str:
    total = _chain(ctx, call, Op.ADD, call.inputs)
    inv = ctx.const(call, "inv_n", np.array([1.0 / len(call.inputs)]))
    return ctx.node(call, Op.MUL, [total, inv], part="mean")


def concatenate(ctx: Builder, call: LayerCall) -> str:
    rank = len(ctx.shape(call.inputs[0]))
    ax = _non_batch_axis(call, call.get("axis", -1), rank)
    return ctx.node(call, Op.CONCAT, call.inputs, AxisAttrs(ax), part="concat")


# ----------------------------------------------------------------------------- the table


CONVERTERS: dict[str, Converter] = {
    "Dense": dense,
    "Conv1D": _conv(1),
    "Conv2D": _conv(2),
    "DepthwiseConv1D": _depthwise(1),
    "DepthwiseConv2D": _depthwise(2),
    "SeparableConv1D": _separable(1),
    "SeparableConv2D": _separable(2),
    "BatchNormalization": batch_normalization,
    "Activation": activation,
    "ReLU": relu,
    "LeakyReLU": leaky_relu,
    "ELU": elu,
    "Softmax": softmax,
    "MaxPooling1D": _pool(Op.MAXPOOL1D, 1),
    "MaxPooling2D": _pool(Op.MAXPOOL2D, 2),
    "AveragePooling1D": _pool(Op.AVGPOOL1D, 1),
    "AveragePooling2D": _pool(Op.AVGPOOL2D, 2),
    "GlobalMaxPooling1D": _global_pool(Op.GLOBAL_MAXPOOL),
    "GlobalMaxPooling2D": _global_pool(Op.GLOBAL_MAXPOOL),
    "GlobalAveragePooling1D": _global_pool(Op.GLOBAL_AVGPOOL),
    "GlobalAveragePooling2D": _global_pool(Op.GLOBAL_AVGPOOL),
    "ZeroPadding1D": _zero_padding(1),
    "ZeroPadding2D": _zero_padding(2),
    "Flatten": flatten,
    "Reshape": reshape,
    "Permute": permute,
    "Dropout": identity,
    "SpatialDropout1D": identity,
    "SpatialDropout2D": identity,
    "GaussianNoise": identity,
    "GaussianDropout": identity,
    "AlphaDropout": identity,
    "ActivityRegularization": identity,
    "Add": add,
    "Subtract": subtract,
    "Multiply": multiply,
    "Average": average,
    "Concatenate": concatenate,
    # QKeras (read from configs; qkeras itself is never imported)
    "QDense": dense,
    "QConv1D": _conv(1),
    "QConv2D": _conv(2),
    "QDepthwiseConv2D": _depthwise(2),
    "QSeparableConv1D": _separable(1),
    "QSeparableConv2D": _separable(2),
    "QActivation": qactivation,
    "QBatchNormalization": batch_normalization,
}

from .recurrent import CONVERTERS as _RECURRENT  # noqa: E402 - recurrent layers live in their own module

CONVERTERS.update(_RECURRENT)

from .spatial import CONVERTERS as _SPATIAL  # noqa: E402 - 3D, transposed convolutions, UpSampling (issue 12)

CONVERTERS.update(_SPATIAL)

# Aliases Keras also accepts as class names in configs.
for _alias, _target in {
    "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D", "AvgPool1D": "AveragePooling1D",
    "AvgPool2D": "AveragePooling2D", "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D", "Convolution1D": "Conv1D", "Convolution2D": "Conv2D",
}.items():
    CONVERTERS[_alias] = CONVERTERS[_target]

