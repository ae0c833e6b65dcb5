"""hlsforge.qat layers → IR, already typed (no ``quantize.configure`` call needed by the user).

The converters read only the layer configs and weight arrays (numpy; keras is not imported):
weights are quantized here, exactly, by ``quantize.fixed`` with each element's trained
``(integer, frac)``, and every value gets the trained type. :func:`finish_qat` then gives the
values that pass numbers unchanged (Flatten, MaxPool, …) their input's type, a Dense/Conv
followed by its own ReLU the exact accumulator type, and calls ``configure`` with a
configuration naming every layer's types, so tables, accumulators (``auto``) and HLS options
are built by the same code as for any other model (docs/qat.md §5).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ModelFormatError, PrecisionError, UnsupportedOpError
from ...ir.element_types import ElementTypes
from ...ir.graph import Graph
from ...ir.ops import (
    AlphaAttrs,
    AxisAttrs,
    ConvAttrs,
    NoAttrs,
    Op,
    PoolAttrs,
    QuantizeAttrs,
    SoftmaxAttrs,
)
from ...ir.types import FixedType, Overflow, Rounding, TensorType, parse_type
from ...quantize.fixed import quantize, to_float
from ...quantize.infer import dot_accum_type, type_for_raw_range
from .builder import Builder, Converter, LayerCall

MARK = "qat"
"""``graph.metadata`` key: per-layer options of a model built from hlsforge.qat layers."""
BITS_SCALE = 8.0  # FixedQuantizer's default bits_scale
MAX_TRAIN_WIDTH = 24  # kept equal to hlsforge.qat.quantizer.MAX_TRAIN_WIDTH (no keras import here)


# ----------------------------------------------------------------------------- quantizers


def _state(call: LayerCall, qname: str, cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(frac, integer)`` int64 arrays of a quantizer, as its forward pass uses them."""
    arrays = call.weights.arrays()
    try:
        scale = float(cfg.get("bits_scale", BITS_SCALE))  # the variable holds f / bits_scale
        f = np.asarray(arrays[f"{qname}_f"], dtype=np.float32).astype(np.float64) * scale
        i = np.asarray(arrays[f"{qname}_i"], dtype=np.float64)
    except KeyError:
        raise ModelFormatError(f"{call.where}: the weights of quantizer {qname!r} are missing (is the layer built?)") from None
    fr = np.round(f)
    lo = -i if cfg.get("prune", False) else 1.0 - i
    frac = np.minimum(np.maximum(fr, lo), MAX_TRAIN_WIDTH - i).astype(np.int64)
    return frac, i.astype(np.int64)


def _modes(cfg: dict[str, Any]) -> tuple[bool, Rounding, Overflow]:
    return (bool(cfg.get("signed", True)), Rounding(str(cfg.get("rounding", "RND_CONV"))),
            Overflow(str(cfg.get("overflow", "SAT"))))


def act_types(call: LayerCall, qname: str, cfg: dict[str, Any]) -> tuple[FixedType, ElementTypes | None]:
    """``(type, None)`` for an activation quantizer with one type; for a per-channel /
    per-element one whose elements differ, ``(container, ElementTypes)`` (docs/ir.md)."""
    frac, integer = _state(call, qname, cfg)
    signed, rnd, ovf = _modes(cfg)
    width = np.maximum(frac + integer, 0)  # <= 0 only when pruning is on: exactly 0
    if frac.size == 1 or (len(set(zip(width.ravel().tolist(), integer.ravel().tolist(), strict=True))) == 1
                          and width.ravel()[0] > 0):
        f, i = int(frac.ravel()[0]), int(integer.ravel()[0])
        return FixedType(i + f, i, signed, rnd, ovf), None
    try:
        et = ElementTypes.from_arrays(width, integer, signed, rnd, ovf)
        return et.union(), et
    except PrecisionError as e:
        raise PrecisionError(f"{call.where}: {qname}: {e}") from None


def act_type(call: LayerCall, qname: str, cfg: dict[str, Any]) -> FixedType:
    """The single type of a per-tensor quantizer (a table's input quantizer)."""
    t, elements = act_types(call, qname, cfg)
    if elements is not None:
        raise UnsupportedOpError(
            f"{call.where}: {qname} has {cfg.get('granularity')} granularity with different types; a table "
            "activation's input quantizer must be per tensor (one type indexes the table)"
        )
    return t


def quantize_weights(values: np.ndarray, frac: np.ndarray, integer: np.ndarray, cfg: dict[str, Any]) -> np.ndarray:
    """Exact quantized weights: each element in its own ``fixed<I+F, I>`` (width ≤ 0: pruned)."""
    v = np.asarray(values, dtype=np.float64)
    f = np.broadcast_to(frac, v.shape)
    i = np.broadcast_to(integer, v.shape)
    signed, rnd, ovf = _modes(cfg)
    out = np.zeros(v.shape)
    for fi, ii in {(int(a), int(b)) for a, b in zip(f.ravel(), i.ravel(), strict=True)}:
        if fi + ii < 1:
            continue  # pruned
        t = FixedType(fi + ii, ii, signed, rnd, ovf)
        m = (f == fi) & (i == ii)
        out[m] = to_float(quantize(v[m], t), t)
    return out


def exact_type(values: np.ndarray, frac: np.ndarray) -> FixedType:
    """The narrowest type holding every value exactly (they lie on grids of at most ``max frac`` bits)."""
    nz = values != 0
    fmax = int(np.max(np.broadcast_to(frac, values.shape)[nz])) if nz.any() else 0
    raw = np.round(np.ldexp(values, fmax)).astype(np.int64)
    return type_for_raw_range(int(raw.min(initial=0)), int(raw.max(initial=0)), fmax)


def _weights(call: LayerCall, key: str, qname: str, values: np.ndarray | None = None) -> tuple[np.ndarray, FixedType]:
    cfg = dict(call.get(f"{qname}") or {})
    frac, integer = _state(call, qname, cfg)
    w = quantize_weights(call.weight(key) if values is None else values, frac, integer, cfg)
    return w, exact_type(w, frac)


BN_CLASSES = ("QDenseBatchNorm", "QConv1DBatchNorm", "QConv2DBatchNorm")


def _bn_folded(call: LayerCall) -> tuple[np.ndarray, np.ndarray]:
    """A *BatchNorm layer's float32 ``(kernel', bias')``, computed as the layer computes them
    (hlsforge.qat.batchnorm, repeated here so this module needs no keras)."""
    f32 = np.float32
    bias = call.weight("bias").astype(f32) if call.get("use_bias", True) else None
    gamma, beta = call.weight("gamma").astype(f32), call.weight("beta").astype(f32)
    mean, var = call.weight("moving_mean").astype(f32), call.weight("moving_variance").astype(f32)
    root = np.sqrt((var + f32(call.get("epsilon", 1e-3))).astype(np.float64)).astype(f32)  # see batchnorm.py
    scale = gamma / root
    centred = (bias - mean) if bias is not None else -mean
    return call.weight("kernel").astype(f32) * scale, centred * scale + beta


def _record(ctx: Builder, call: LayerCall, **options: Any) -> None:
    ctx.graph.metadata.setdefault(MARK, {})[call.name] = {k: v for k, v in options.items() if v is not None}


def _typed(ctx: Builder, value: str, t: TensorType) -> str:
    ctx.graph.values[value].type = t
    return value


# ----------------------------------------------------------------------------- layers


def fixed_quantizer(ctx: Builder, call: LayerCall) -> str:
    cfg = dict(call.config)
    t, elements = act_types(call, call.name, cfg)
    _record(ctx, call)
    x = call.inputs[0]
    if x in ctx.graph.inputs and ctx.graph.producer(x) is None and not isinstance(ctx.graph.values[x].type, FixedType):
        if elements is None:
            return _typed(ctx, x, t)  # the model's input quantizer is the graph input's type
        _typed(ctx, x, t)  # per-element input quantizer: the input takes the container, then each element its type
    return _typed(ctx, ctx.node(call, Op.QUANTIZE, [x], QuantizeAttrs(t, elements)), t)


def _out_type(call: LayerCall) -> FixedType:
    return act_type(call, "output_quantizer", dict(call.get("output_quantizer") or {}))


def _output(ctx: Builder, call: LayerCall, y: str, lossless: TensorType | None = None) -> str:
    """Apply the layer's output quantizer to ``y``: a per-tensor one is ``y``'s type; a
    per-channel / per-element one is a ``Quantize`` node after ``y``, which keeps its exact
    (lossless) type: ``lossless`` when given, else inferred by :func:`finish_qat`."""
    t, elements = act_types(call, "output_quantizer", dict(call.get("output_quantizer") or {}))
    if elements is None:
        return _typed(ctx, y, t)
    if lossless is not None:
        _typed(ctx, y, lossless)
    q = ctx.node(call, Op.QUANTIZE, [y], QuantizeAttrs(t, elements), part="output_quantizer")
    node = ctx.graph.producer(q)
    if node is not None:  # its own source name: the layer's config entry must not reach it
        node.source_name = f"{call.name}/output_quantizer"
    return _typed(ctx, q, t)


def _affine(ctx: Builder, call: LayerCall, op: Op, x: str, kernel: np.ndarray, kt: FixedType, attrs: Any,
            bias: tuple[np.ndarray, FixedType] | None = None) -> str:
    n_out = kernel.shape[-1]
    if bias is not None:
        b, bt = bias
    elif call.get("use_bias", True):
        b, bt = _weights(call, "bias", "bias_quantizer")
    else:
        b, bt = np.zeros(n_out), FixedType(1, 1)
    kc = ctx.const(call, "kernel", kernel, kt)
    bc = ctx.const(call, "bias", b, bt)
    y = ctx.node(call, op, [x, kc, bc], attrs, part="linear")
    _record(ctx, call)
    if call.get("activation", "linear") == "relu":
        return _output(ctx, call, ctx.node(call, Op.RELU, [y], NoAttrs(), part="relu"))
    return _output(ctx, call, y)


def _kernel_bias(call: LayerCall) -> tuple[tuple[np.ndarray, FixedType], tuple[np.ndarray, FixedType] | None]:
    """Quantized kernel and (for the BatchNorm-folding layers) quantized folded bias."""
    if call.class_name not in BN_CLASSES:
        return _weights(call, "kernel", "kernel_quantizer"), None
    kf, bf = _bn_folded(call)
    return _weights(call, "kernel", "kernel_quantizer", kf), _weights(call, "bias", "bias_quantizer", bf)


def qdense(ctx: Builder, call: LayerCall) -> str:
    (k, kt), bias = _kernel_bias(call)
    if k.ndim != 2:
        raise ModelFormatError(f"{call.where}: kernel has shape {k.shape}, expected (inputs, units)")
    return _affine(ctx, call, Op.DENSE, call.inputs[0], k, kt, NoAttrs(), bias)


def _conv(nsp: int, depthwise: bool) -> Converter:
    from .layers import _window_pads

    op = Op.CONV1D if nsp == 1 else Op.CONV2D

    def conv(ctx: Builder, call: LayerCall) -> str:
        x = call.inputs[0]
        (k, kt), bias = _kernel_bias(call)
        groups = 1
        if depthwise:
            c, m = k.shape[-2:]
            k = k.reshape(k.shape[:nsp] + (1, c * m))
            groups = int(c)
        ksize = tuple(int(d) for d in k.shape[:nsp])
        strides = tuple(int(s) for s in call.get("strides"))
        dil = tuple(int(d) for d in call.get("dilation_rate"))
        pads = _window_pads(call, ctx.shape(x)[:nsp], ksize, strides, dil)
        return _affine(ctx, call, op, x, k, kt, ConvAttrs(ksize, strides, dil, pads, groups), bias)

    return conv


def _table_input(ctx: Builder, call: LayerCall) -> str:
    x = call.inputs[0]
    t = act_type(call, "input_quantizer", dict(call.get("input_quantizer") or {}))
    if ctx.graph.values[x].type == t:
        return x
    y = ctx.node(call, Op.QUANTIZE, [x], QuantizeAttrs(t), part="input")
    node = ctx.graph.producer(y)
    if node is not None:  # its own source name: the layer's config entry must not reach it
        node.source_name = f"{call.name}/input_quantizer"
    return _typed(ctx, y, t)


def qactivation(ctx: Builder, call: LayerCall) -> str:
    act = call.get("activation", "linear")
    out_t, elements = act_types(call, "output_quantizer", dict(call.get("output_quantizer") or {}))
    x = call.inputs[0]
    size = call.get("table_size")
    if act == "linear":
        _record(ctx, call)
        return _typed(ctx, ctx.node(call, Op.QUANTIZE, [x], QuantizeAttrs(out_t, elements)), out_t)
    if act == "relu":
        _record(ctx, call)
        return _output(ctx, call, ctx.node(call, Op.RELU, [x], NoAttrs()))
    if act == "leaky_relu":
        _record(ctx, call, param=str(parse_type(call.get("alpha_type"))))
        return _output(ctx, call, ctx.node(call, Op.LEAKY_RELU, [x], AlphaAttrs(float(call.get("alpha")))))
    if act in ("sigmoid", "tanh"):
        xq = _table_input(ctx, call)
        table_t = parse_type(call.get("table_type"))
        _record(ctx, call, table=str(table_t), table_size=size)
        op = Op.SIGMOID if act == "sigmoid" else Op.TANH
        return _output(ctx, call, ctx.node(call, op, [xq], NoAttrs()), lossless=table_t)
    if act == "softmax":
        xq = _table_input(ctx, call)
        _record(ctx, call, exp_table=str(parse_type(call.get("exp_table_type"))),
                inv_table=str(parse_type(call.get("inv_table_type"))), sum="auto", table_size=size)
        y = ctx.node(call, Op.SOFTMAX, [xq], SoftmaxAttrs(len(ctx.shape(xq)) - 1))
        if elements is None:
            return _typed(ctx, y, out_t)
        from ...quantize.fixed import fixed_mul_type  # e * r, exact (docs/qat.md §3)

        exact = fixed_mul_type(parse_type(call.get("exp_table_type")), parse_type(call.get("inv_table_type")))
        return _output(ctx, call, y, lossless=exact.as_fixed())
    raise UnsupportedOpError(f"{call.where}: QActivation {act!r} is not supported")


def qadd(ctx: Builder, call: LayerCall) -> str:
    _record(ctx, call)
    y = call.inputs[0]
    for i, other in enumerate(call.inputs[1:]):
        y = ctx.node(call, Op.ADD, [y, other], NoAttrs(), part="" if i == len(call.inputs) - 2 else f"add{i}")
    return _output(ctx, call, y)


def qconcatenate(ctx: Builder, call: LayerCall) -> str:
    _record(ctx, call)
    rank = len(ctx.shape(call.inputs[0]))
    axis = int(call.get("axis", -1))
    ax = axis + rank if axis < 0 else axis - 1
    return _output(ctx, call, ctx.node(call, Op.CONCAT, list(call.inputs), AxisAttrs(ax)))


def _avgpool(nsp: int) -> Converter:
    op = Op.AVGPOOL1D if nsp == 1 else Op.AVGPOOL2D

    def pool(ctx: Builder, call: LayerCall) -> str:
        size = tuple(int(s) for s in call.get("pool_size"))
        strides = tuple(int(s) for s in call.get("strides"))
        n = int(np.prod(size))
        k = n.bit_length() - 1
        _record(ctx, call, scale=str(FixedType(k + 1, 1, False)))  # 1/n = 2**-k exactly
        pads = tuple((0, 0) for _ in range(nsp))
        y = ctx.node(call, op, [call.inputs[0]], PoolAttrs(size, strides, pads, False, False))
        if act_types(call, "output_quantizer", dict(call.get("output_quantizer") or {}))[1] is not None:
            raise UnsupportedOpError(f"{call.where}: a per-channel / per-element output quantizer on average "
                                     "pooling is not supported yet; put a FixedQuantizer after the pooling instead")
        return _typed(ctx, y, _out_type(call))

    return pool


QAT_CONVERTERS: dict[str, Converter] = {
    "FixedQuantizer": fixed_quantizer,
    "QDense": qdense,
    "QConv1D": _conv(1, False),
    "QConv2D": _conv(2, False),
    "QDepthwiseConv2D": _conv(2, True),
    "QDenseBatchNorm": qdense,
    "QConv1DBatchNorm": _conv(1, False),
    "QConv2DBatchNorm": _conv(2, False),
    "QActivation": qactivation,
    "QAdd": qadd,
    "QConcatenate": qconcatenate,
    "QAveragePooling1D": _avgpool(1),
    "QAveragePooling2D": _avgpool(2),
}


def _is_qat(call: LayerCall) -> bool:
    """hlsforge.qat layers carry an ``output_quantizer`` dict of FixedQuantizer arguments
    (QKeras layers of the same class names never do)."""
    oq = call.get("output_quantizer")
    return isinstance(oq, dict) and "bits" in oq and "integer" in oq


def _dispatch(qat_fn: Converter, other: Converter) -> Converter:
    def convert(ctx: Builder, call: LayerCall) -> Any:
        return qat_fn(ctx, call) if _is_qat(call) else other(ctx, call)

    return convert


def register(converters: dict[str, Converter]) -> None:
    """Add the converters; class names QKeras shares (QDense, QConv2D, QActivation, …) go to
    the hlsforge.qat converter only for hlsforge.qat configs."""
    for name, fn in QAT_CONVERTERS.items():
        prev = converters.get(name)
        converters[name] = fn if prev is None or name == "FixedQuantizer" else _dispatch(fn, prev)


# ----------------------------------------------------------------------------- finishing


_PASS_THROUGH = (Op.FLATTEN, Op.RESHAPE, Op.TRANSPOSE, Op.MAXPOOL1D, Op.MAXPOOL2D, Op.GLOBAL_MAXPOOL, Op.PAD)
_DOT = (Op.DENSE, Op.CONV1D, Op.CONV2D)


def finish_qat(graph: Graph) -> Graph:
    """Type the remaining values and configure the graph (a no-op for other models)."""
    layers = graph.metadata.pop(MARK, None)
    if layers is None:
        return graph
    from ...quantize.config import configure, raw_constant

    for name in graph.inputs:
        if not isinstance(graph.values[name].type, FixedType):
            raise PrecisionError(
                f"model {graph.name!r}: input {name!r} is not quantized; start the model with a "
                "hlsforge.qat.FixedQuantizer (the input quantizer gives the input type)"
            )
    config: dict[str, Any] = {"model": {"input": {n: str(graph.values[n].type) for n in graph.inputs}},
                              "layers": {}}
    for node in graph.nodes:
        out = graph.values[node.outputs[0]]
        x_t = graph.values[node.inputs[0]].type
        if not isinstance(out.type, FixedType):
            if node.op in _PASS_THROUGH and isinstance(x_t, FixedType):
                out.type = x_t
            elif node.op in _DOT and isinstance(x_t, FixedType) and isinstance(graph.values[node.inputs[1]].type, FixedType):
                kernel = raw_constant(graph.values[node.inputs[1]])
                bias = raw_constant(graph.values[node.inputs[2]])
                out.type = dot_accum_type(x_t, kernel.reshape(-1, kernel.shape[-1]), graph.values[node.inputs[1]].type,
                                          bias, graph.values[node.inputs[2]].type, where=node.describe())
            elif node.op is Op.ADD and all(isinstance(graph.values[i].type, FixedType) for i in node.inputs):
                from ...quantize.fixed import fixed_add_type

                out.type = fixed_add_type(x_t, graph.values[node.inputs[1]].type).as_fixed()  # type: ignore[arg-type]
            elif node.op is Op.RELU and isinstance(x_t, FixedType):  # before a per-element output quantizer
                out.type = x_t
            elif node.op is Op.CONCAT and all(isinstance(graph.values[i].type, FixedType) for i in node.inputs):
                from ...quantize.as_trained import union_type

                out.type = union_type([graph.values[i].type for i in node.inputs])
            elif node.op is Op.LEAKY_RELU and isinstance(x_t, FixedType):
                from ...quantize.as_trained import union_type
                from ...quantize.fixed import fixed_mul_type

                param = parse_type((layers.get(node.source_name) or {})["param"])
                out.type = union_type([x_t, fixed_mul_type(x_t, param).as_fixed()])  # type: ignore[arg-type]
            else:
                raise UnsupportedOpError(
                    f"{node.describe()}: layer {node.source_name!r} ({node.source_op}) is not a hlsforge.qat layer "
                    "and changes values; use the Q layers (QDense, QActivation, ...) throughout the model"
                )
        entry: dict[str, Any] = {"result": str(out.type)}
        if node.op in _DOT or node.op in (Op.AVGPOOL1D, Op.AVGPOOL2D):
            entry["accum"] = "auto"
        entry.update((layers.get(node.source_name) or {}) if node.op is not Op.QUANTIZE else {})
        if node.op not in (Op.AVGPOOL1D, Op.AVGPOOL2D):
            entry.pop("scale", None)
        if node.op is not Op.LEAKY_RELU:
            entry.pop("param", None)
        if node.op not in (Op.SIGMOID, Op.TANH):
            entry.pop("table", None)
        if node.op is not Op.SOFTMAX:
            for k in ("exp_table", "inv_table", "sum"):
                entry.pop(k, None)
        if node.op not in (Op.SIGMOID, Op.TANH, Op.SOFTMAX):
            entry.pop("table_size", None)
        if node.op is Op.QUANTIZE:
            entry.pop("result")
        config["layers"][node.name] = entry
    return configure(graph, config)
