"""HGQ2 layers → IR with the trained types (live models and ``.keras`` archives alike).

Why here and without HGQ2: HGQ2 is LGPL, so hlsforge never imports it. Everything is read
from the layer configs (``get_config()`` / ``config.json``) and the quantizers' variables
(live layer objects, or ``model.weights.h5``), and the few formulas HGQ2 applies at
inference are restated in numpy (docs/frontends.md, "HGQ2").

The mapping, per HGQ2 quantizer (``kif``: keep-negative ``k``, integer bits ``i`` without
sign, fractional bits ``f``; ``kbi``: ``f = b - i``; ``i``, ``f``, ``b`` are rounded half to
even at use):

- an element with ``k + i + f <= 0`` is pruned (always 0), otherwise it is
  ``FixedType(width=k+i+f, integer=k+i, signed=k)`` with HGQ2's rounding (``S_*`` modes
  round deterministically at inference) and overflow (``WRAP``, ``SAT``, ``SAT_SYM``);
  HGQ2 saturates before rounding, which gives the same result because its bounds lie on
  the grid (a signed 1-bit ``SAT_SYM`` element can only be 0 in HGQ2: it is pruned);
- *activation* quantizers (the input ``Quantizer`` layer, each layer's ``iq``/``oq``, the
  inputs of ``QAdd``/``QSubtract``/``QMultiply``) become ``Quantize`` nodes; where the bits
  differ per channel or per element the node carries ``ElementTypes`` and its target is
  the union of them (the container);
- *weights* (kernels, biases, batch-norm scales and offsets) are quantized here exactly as
  HGQ2 does it in float32, and each weight constant gets one type that holds every quantized
  element exactly (per-element weight bits need nothing more).

Layers read: ``Quantizer``, ``QDense``, ``QEinsumDense`` (Dense-like equations), ``QBatchNormDense``, ``QConv1D``, ``QConv2D``,
``QBatchNormalization``, ``QAdd``, ``QSubtract``, ``QMultiply``, ``QMaxPooling1D/2D``,
``QGlobalMaxPooling1D/2D``, ``QAveragePooling1D/2D`` and ``QGlobalAveragePooling1D/2D``
(power-of-two windows only), with ``linear``/``relu`` activations; plain Keras layers between
them (Flatten, Reshape, ReLU, pooling ...) go through the ordinary converters. Every other
HGQ2 layer (table functions such as ``QSoftmax`` and ``QUnaryFunctionLUT``, einsum, attention,
recurrent, ``*T`` table layers) is refused with an ``UnsupportedOpError`` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...errors import ModelFormatError, PrecisionError, UnsupportedOpError
from ...ir.element_types import ElementTypes
from ...ir.ops import ConvAttrs, NoAttrs, Op, QuantizeAttrs
from ...ir.types import MAX_WIDTH, Overflow, Rounding
from ...quantize.as_trained import exact_value_type
from .builder import Builder, Converter, LayerCall

__all__ = ["register", "is_hgq2_layer", "is_hgq2_config", "HGQ2_CONVERTERS", "REFUSED"]

_ROUNDING = {m.value: m for m in Rounding}
_OVERFLOW = {"WRAP": Overflow.WRAP, "SAT": Overflow.SAT, "SAT_SYM": Overflow.SAT_SYM}
_DEFAULT_Q_TYPE = {"weight": "kbi", "datalane": "kif", "bias": "kbi", "table": "kbi"}


# ----------------------------------------------------------------------------- detection


def is_hgq2_layer(call: LayerCall) -> bool:
    """Is this call's layer an HGQ2 layer (see :func:`is_hgq2_config`)?"""
    return is_hgq2_config(call.config)


def is_hgq2_config(cfg: dict[str, Any]) -> bool:
    """HGQ2 layer configs carry quantizer configs (``iq_conf``, ``kq_conf``...) or, for the
    ``Quantizer`` layer, a serialized ``QuantizerConfig``; QKeras and hlsforge.qat layers of
    the same class names never do."""
    if any(k in cfg for k in ("iq_conf", "iq_confs", "kq_conf", "oq_conf")):
        return True
    inner = cfg.get("config")
    return isinstance(inner, dict) and inner.get("class_name") == "QuantizerConfig"


# ----------------------------------------------------------------------------- quantizer state


class _Q:
    """One HGQ2 fixed-point quantizer as trained: per-element ``k, i, f`` (int64 arrays of the
    quantizer's variable shape) and its modes."""

    def __init__(self, where: str, conf: dict[str, Any], k: np.ndarray, i: np.ndarray, f: np.ndarray,
                 trainable: bool) -> None:
        self.where = where
        self.k, self.i, self.f = k, i, f
        rnd = str(conf.get("round_mode", "RND")).upper()
        self.round_name = rnd[2:] if rnd.startswith("S_") else rnd  # stochastic only while training
        if self.round_name not in _ROUNDING:
            raise UnsupportedOpError(f"{where}: HGQ2 round_mode {rnd!r} is not supported")
        ovf = str(conf.get("overflow_mode", "WRAP")).upper()
        if ovf not in _OVERFLOW:
            raise UnsupportedOpError(f"{where}: HGQ2 overflow_mode {ovf!r} has no fixed-point equivalent "
                                     "(supported: WRAP, SAT, SAT_SYM)")
        self.overflow_name = ovf
        self.rounding, self.overflow = _ROUNDING[self.round_name], _OVERFLOW[ovf]
        self.is_weight = bool(conf.get("is_weight", False))
        self.trainable = trainable
        self.q_type = conf["q_type"]

    @property
    def round_only(self) -> bool:
        """HGQ2 applies only the rounding (no overflow, no pruning) to a trainable WRAP weight
        quantizer (kif: always; kbi: with RND)."""
        if not (self.overflow_name == "WRAP" and self.trainable and self.is_weight):
            return False
        return self.q_type == "kif" or self.round_name == "RND"

    # -- weights: HGQ2's own float32 arithmetic, so every tie and bound lands where it lands there

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The quantized values of ``x`` (float32 arithmetic, as HGQ2 computes them)."""
        x = np.asarray(x, np.float32)
        shape = np.broadcast_shapes(x.shape, self.k.shape)
        x = np.broadcast_to(x, shape)
        k, i, f = (np.broadcast_to(a, shape).astype(np.float32) for a in (self.k, self.i, self.f))
        i_eff = np.maximum(i, -f)
        with np.errstate(over="ignore", invalid="ignore"):
            if not self.round_only and self.overflow_name != "WRAP":
                eps = np.float32(2.0) ** -f
                hi = (np.float32(2.0) ** i_eff - eps).astype(np.float32)
                lo = (-hi * k) if self.overflow_name == "SAT_SYM" else (-(np.float32(2.0) ** i_eff) * k)
                x = np.where(x > hi, hi, np.where(x < lo, lo, x)).astype(np.float32)
            scale = (np.float32(2.0) ** f).astype(np.float32)
            y = (_round32(x * scale, self.round_name) / scale).astype(np.float32)
            if self.round_only:
                return y.astype(np.float64)
            if self.overflow_name == "WRAP":
                bk = i_eff + k
                bias = (k * np.float32(2.0) ** (bk - 1)).astype(np.float32)
                y = (np.mod(y + bias, (np.float32(2.0) ** bk).astype(np.float32)) - bias).astype(np.float32)
            y = np.where(k + i + f > 0, y, np.float32(0))
        if not np.all(np.isfinite(y)):
            raise PrecisionError(f"{self.where}: quantized weights are not finite")
        return y.astype(np.float64)

    # -- activations: IR types

    def element_types(self, where: str) -> ElementTypes:
        if self.round_only:
            raise UnsupportedOpError(
                f"{where}: an activation quantizer marked is_weight with WRAP only rounds in HGQ2 (no "
                "overflow), which no fixed-point type reproduces")
        width = self.k + self.i + self.f
        pruned = width <= 0
        if self.overflow_name == "SAT_SYM":  # HGQ2's symmetric range of a signed 1-bit element is {0}
            pruned |= (width == 1) & (self.k > 0)
        if np.any(width > MAX_WIDTH):
            raise PrecisionError(f"{where}: {int(width.max())}-bit elements, more than {MAX_WIDTH}")
        return ElementTypes.from_arrays(np.where(pruned, 0, width), np.where(pruned, 0, self.k + self.i),
                                        np.where(pruned, False, self.k > 0), self.rounding, self.overflow)


def _round32(x: np.ndarray, mode: str) -> np.ndarray:
    """HGQ2's rounding formulas, in float32 (x already scaled by 2**f)."""
    h = np.float32(0.5)
    if mode == "TRN":
        return np.floor(x)
    if mode == "RND":
        return np.floor(x + h)
    if mode == "RND_CONV":
        return np.round(x)  # half to even, like keras.ops.round
    s = np.sign(x)
    a = np.abs(x)
    if mode == "TRN_ZERO":
        return np.floor(a) * s
    if mode == "RND_ZERO":
        return -np.floor(-a + h) * s
    if mode == "RND_MIN_INF":
        return -np.floor(-x + h)
    if mode == "RND_INF":
        return np.floor(a + h) * s
    raise UnsupportedOpError(f"HGQ2 round_mode {mode!r} is not supported")  # pragma: no cover


def _qconf(call: LayerCall, obj: Any, what: str) -> dict[str, Any]:
    """The ``config`` dict of a serialized ``QuantizerConfig``, with ``q_type`` resolved."""
    if isinstance(obj, dict) and obj.get("class_name") == "QuantizerConfig":
        obj = obj.get("config")
    if not isinstance(obj, dict):
        raise ModelFormatError(f"{call.where}: the {what} quantizer config is missing or malformed")
    conf = dict(obj)
    place = str(conf.get("place", "datalane"))
    q_type = str(conf.get("q_type", "default")).lower()
    if q_type == "default":
        q_type = _DEFAULT_Q_TYPE.get(place, "kif")
    if q_type not in ("kif", "kbi"):
        raise UnsupportedOpError(f"{call.where}: {what} quantizer of type {q_type!r} (HGQ2 minifloat) has no "
                                 "fixed-point equivalent; only kif/kbi quantizers are read")
    for key in ("scaler", "affine"):
        if conf.get(key) is not None:
            raise UnsupportedOpError(f"{call.where}: {what} quantizer has {key}={conf[key]!r}, which hlsforge does not read")
    conf["q_type"] = q_type
    return conf


def _var_names(conf: dict[str, Any]) -> list[str]:
    """Keras saves a layer's trainable variables first, then the others, each in creation
    order; which of HGQ2's quantizer variables are trainable depends on its overflow mode."""
    wrap = str(conf.get("overflow_mode", "WRAP")).upper() == "WRAP"
    if conf["q_type"] == "kif":  # created k, i, f (+ i_decay_speed under WRAP)
        return (["f"] + ["k", "i", "i_decay_speed"]) if wrap else (["i", "f"] + ["k"])
    return (["b"] + ["k", "i", "i_decay_speed"]) if wrap else (["b", "i"] + ["k"])  # created k, b, i


def _resolve(source: Any) -> Any:
    return source.resolve() if hasattr(source, "resolve") else source


def _live_layer(source: Any) -> Any | None:
    return getattr(source, "layer", None)


def _quantizer(call: LayerCall, conf_obj: Any, path: Sequence[str | int], what: str) -> _Q:
    """The trained state of the quantizer at ``path`` (``()``: the layer is a ``Quantizer``;
    ``("iq",)``; ``("iq", j)``: input ``j`` of a merge layer)."""
    conf = _qconf(call, conf_obj, what)
    src = _resolve(call.weights)
    layer = _live_layer(src)
    where = f"{call.where} {what} quantizer"
    if layer is not None:  # a live model: variables by name
        from .live import LiveWeights

        q = layer
        if path:
            q = getattr(layer, f"_{path[0]}", None)
            if q is not None and len(path) > 1:
                q = q.quantizers[int(path[1])]
        internal = getattr(q, "quantizer", None)
        if internal is None:
            raise ModelFormatError(f"{where}: not found on the live layer (is it built?)")
        arrays = LiveWeights(internal).arrays()
        trainable = bool(getattr(internal, "trainable", True))
    else:  # an archive: positional variables
        node = src
        if path:
            node = node.child(str(path[0]))
            if len(path) > 1:
                j = int(path[1])
                node = node.child("quantizers").child("quantizer" if j == 0 else f"quantizer_{j}")
        values = node.child("quantizer").arrays()
        names = _var_names(conf)
        if len(values) < len(names):
            raise ModelFormatError(f"{where}: {len(values)} variables stored, HGQ2 saves {len(names)} ({names})")
        arrays = {n: values[str(p)] for p, n in enumerate(names)}
        if arrays["k"].dtype != np.uint8:
            raise ModelFormatError(f"{where}: the variables are not in HGQ2's order (k is {arrays['k'].dtype}, not uint8)")
        trainable = bool(conf.get("trainable", True)) and bool(call.get("trainable", True))
    try:
        k = np.asarray(arrays["k"]).astype(np.int64)
        i = np.round(np.asarray(arrays["i"], np.float32)).astype(np.int64)
        if conf["q_type"] == "kif":
            f = np.round(np.asarray(arrays["f"], np.float32)).astype(np.int64)
        else:
            f = np.round(np.asarray(arrays["b"], np.float32)).astype(np.int64) - i
    except KeyError as e:
        raise ModelFormatError(f"{where}: variable {e} is missing") from None
    if not (k.shape == i.shape == f.shape) or np.any((k != 0) & (k != 1)):
        raise ModelFormatError(f"{where}: malformed k/i/f variables (shapes {k.shape}, {i.shape}, {f.shape})")
    return _Q(where, conf, k, i, f, trainable)


# ----------------------------------------------------------------------------- IR pieces


def _quantize(ctx: Builder, call: LayerCall, x: str, q: _Q, part: str, source: str) -> str:
    """A ``Quantize`` node for an activation quantizer (per element where its bits differ)."""
    shape = q.k.shape
    if len(shape) != len(ctx.shape(x)) + 1 or shape[0] != 1:
        raise UnsupportedOpError(f"{q.where}: bits of shape {shape} for values of shape (batch,) + "
                                 f"{ctx.shape(x)}; per-sample (batch-axis) bits are not supported")
    et = _squeeze(q.element_types(q.where), shape[1:])
    groups = et.groups()
    if len(groups) == 1 and groups[0][0] is not None:
        attrs = QuantizeAttrs(groups[0][0])
    else:
        attrs = QuantizeAttrs.per_element(et)
    y = ctx.node(call, Op.QUANTIZE, [x], attrs, part=part)
    node = ctx.graph.producer(y)
    if node is not None and source:
        node.source_name = f"{call.name}/{source}"
    ctx.graph.values[y].type = attrs.target
    return y


def _squeeze(et: ElementTypes, shape: tuple[int, ...]) -> ElementTypes:
    """Element types without the batch axis, and without leading size-1 axes."""
    while len(shape) > 1 and shape[0] == 1:
        shape = shape[1:]
    w, i, s = (np.reshape(a, shape) for a in et.arrays)
    return ElementTypes.from_arrays(w, i, s, et.rounding, et.overflow, shape=shape)


def _weight_const(ctx: Builder, call: LayerCall, part: str, values: np.ndarray) -> str:
    t = exact_value_type(values, max_width=MAX_WIDTH)
    if t is None:
        raise PrecisionError(f"{call.where}: the quantized {part} has no fixed-point type of at most {MAX_WIDTH} bits")
    return ctx.const(call, part, values, t)


def _arrays(call: LayerCall, order: Callable[[dict[str, Any], int], list[str]]) -> dict[str, np.ndarray]:
    """The layer's own weights by name (live: by variable name; archive: by HGQ2's order)."""
    raw = call.weights.arrays()
    if raw and all(k.isdigit() for k in raw):
        names = order(call.config, len(raw))
        return {n: raw[str(p)] for p, n in enumerate(names) if str(p) in raw}
    return raw


def _kernel_order(config: dict[str, Any], n: int) -> list[str]:
    return ["kernel"] + (["bias"] if config.get("use_bias", True) else [])


def _bn_dense_order(config: dict[str, Any], n: int) -> list[str]:
    trainable = ["kernel", "bias"] + (["bn_gamma"] if config.get("scale", True) else [])
    ebops = ["beta", "ebops"] if n - len(trainable) == 4 else []
    return trainable + ebops + ["moving_mean", "moving_variance"]


def _bn_order(config: dict[str, Any], n: int) -> list[str]:
    trainable = (["bn_gamma"] if config.get("scale", True) else []) + (["bn_beta"] if config.get("center", True) else [])
    return trainable + ["moving_mean", "moving_variance"]


def _need(arrays: dict[str, np.ndarray], name: str, call: LayerCall) -> np.ndarray:
    if name not in arrays:
        raise ModelFormatError(f"{call.where}: weight {name!r} is missing (it has {sorted(arrays)})")
    return np.asarray(arrays[name])


def _input_q(ctx: Builder, call: LayerCall, x: str) -> str:
    if not call.get("enable_iq", True):
        return x
    return _quantize(ctx, call, x, _quantizer(call, call.get("iq_conf"), ("iq",), "input"), "iq", "iq")


def _output_q(ctx: Builder, call: LayerCall, y: str) -> str:
    if not call.get("enable_oq", False):
        return y
    return _quantize(ctx, call, y, _quantizer(call, call.get("oq_conf"), ("oq",), "output"), "oq", "oq")


def _activation(ctx: Builder, call: LayerCall, y: str) -> str:
    act = call.get("activation", "linear")
    if isinstance(act, dict):
        act = act.get("config", {}).get("name", act.get("class_name"))
    if act in (None, "linear"):
        return y
    if act == "relu":
        return ctx.node(call, Op.RELU, [y], NoAttrs(), part="relu")
    raise UnsupportedOpError(
        f"{call.where}: activation {act!r} inside an HGQ2 layer is a float function whose result no "
        "trained quantizer bounds; only linear and relu are exact (use a QUnaryFunctionLUT-free model)")


# ----------------------------------------------------------------------------- layers


def quantizer_layer(ctx: Builder, call: LayerCall) -> str:
    q = _quantizer(call, call.get("config"), (), "")
    return _quantize(ctx, call, call.inputs[0], q, "", "")


def _affine(ctx: Builder, call: LayerCall, op: Op, attrs: Any, kernel: np.ndarray, bias: np.ndarray | None) -> str:
    x = _input_q(ctx, call, call.inputs[0])
    kq = _quantizer(call, call.get("kq_conf"), ("kq",), "kernel")
    k = kq.apply(kernel)
    if bias is not None:
        b = _quantizer(call, call.get("bq_conf"), ("bq",), "bias").apply(bias)
    else:
        b = np.zeros(k.shape[-1])
    kc = _weight_const(ctx, call, "kernel", k)
    bc = _weight_const(ctx, call, "bias", b)
    y = ctx.node(call, op, [x, kc, bc], attrs, part="linear")
    return _output_q(ctx, call, _activation(ctx, call, y))


def qdense(ctx: Builder, call: LayerCall) -> str:
    a = _arrays(call, _kernel_order)
    kernel = _need(a, "kernel", call).astype(np.float32)
    bias = _need(a, "bias", call).astype(np.float32) if call.get("use_bias", True) else None
    if kernel.ndim != 2:
        raise ModelFormatError(f"{call.where}: kernel has shape {kernel.shape}, expected (inputs, units)")
    return _affine(ctx, call, Op.DENSE, NoAttrs(), kernel, bias)


def qeinsum_dense(ctx: Builder, call: LayerCall) -> str:
    """``QEinsumDense`` whose equation is a Dense on the last axis (``...c,co->...o``,
    ``bc,co->bo``, ``btc,co->bto``), bias on the output axis or none."""
    eq = str(call.get("equation", "")).replace(" ", "")
    try:
        lhs, out = eq.split("->")
        inp, ker = lhs.split(",")
    except ValueError:
        raise ModelFormatError(f"{call.where}: malformed einsum equation {eq!r}") from None
    bias_axes = call.get("bias_axes")
    dense_like = (len(ker) == 2 and inp and ker[0] == inp[-1] and ker[1] not in inp
                  and out == inp[:-1] + ker[1] and bias_axes in (None, ker[1]))
    if not dense_like:
        raise UnsupportedOpError(f"{call.where}: einsum {eq!r} (bias_axes={bias_axes!r}) is read only when it is a "
                                 "Dense on the last axis (e.g. '...c,co->...o', bias on 'o')")
    a = _arrays(call, lambda cfg, n: ["kernel"] + (["bias"] if bias_axes else []))
    kernel = _need(a, "kernel", call).astype(np.float32)
    bias = _need(a, "bias", call).astype(np.float32) if bias_axes else None
    return _affine(ctx, call, Op.DENSE, NoAttrs(), kernel, bias)


def qbatchnorm_dense(ctx: Builder, call: LayerCall) -> str:
    """BatchNorm statistics folded into the kernel and bias *before* their quantizers, in
    float32 as HGQ2 folds them (``kernel * gamma/sqrt(var+eps)`` row-wise; ``bias - mean·kernel``)."""
    a = _arrays(call, _bn_dense_order)
    f32 = np.float32
    kernel = _need(a, "kernel", call).astype(f32)
    bias = _need(a, "bias", call).astype(f32)
    mean, var = _need(a, "moving_mean", call).astype(f32), _need(a, "moving_variance", call).astype(f32)
    gamma = _need(a, "bn_gamma", call).astype(f32) if call.get("scale", True) else f32(1)
    scaler = (gamma / np.sqrt(var + f32(call.get("epsilon", 1e-3)))).astype(f32)
    fused_k = (scaler[:, None] * kernel).astype(f32)
    fused_b = (bias + (-np.dot(mean, kernel).astype(f32))).astype(f32)
    return _affine(ctx, call, Op.DENSE, NoAttrs(), fused_k, fused_b)


def _conv(nsp: int) -> Converter:
    from .layers import _window_pads

    op = Op.CONV1D if nsp == 1 else Op.CONV2D

    def conv(ctx: Builder, call: LayerCall) -> str:
        if str(call.get("data_format") or "channels_last") != "channels_last":
            raise UnsupportedOpError(f"{call.where}: data_format={call.get('data_format')!r}; HGQ2 layers are read "
                                     "channels_last only")
        if str(call.get("padding", "valid")).lower() == "causal":
            raise UnsupportedOpError(f"{call.where}: padding='causal' is not read for HGQ2 layers")
        a = _arrays(call, _kernel_order)
        kernel = _need(a, "kernel", call).astype(np.float32)
        bias = _need(a, "bias", call).astype(np.float32) if call.get("use_bias", True) else None
        ksize = tuple(int(d) for d in kernel.shape[:nsp])
        strides = _tuple(call.get("strides", 1), nsp)
        dil = _tuple(call.get("dilation_rate", 1), nsp)
        groups = int(call.get("groups", 1) or 1)
        pads = _window_pads(call, ctx.shape(call.inputs[0])[:nsp], ksize, strides, dil)
        return _affine(ctx, call, op, ConvAttrs(ksize, strides, dil, pads, groups), kernel, bias)

    return conv


def _tuple(v: Any, n: int) -> tuple[int, ...]:
    return tuple(int(s) for s in v) if isinstance(v, (list, tuple)) else (int(v),) * n


def qbatchnorm(ctx: Builder, call: LayerCall) -> str:
    """``iq(x) * kq(gamma/sqrt(var+eps)) + bq(beta - mean*scale)`` per channel (last axis)."""
    x = call.inputs[0]
    rank = len(ctx.shape(x))
    axis = call.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if not isinstance(axis, int) or axis not in (-1, rank):
        raise UnsupportedOpError(f"{call.where}: axis={call.get('axis')!r}; only the last axis is read")
    if not call.get("enable_iq", True):
        prev = ctx.graph.producer(x)
        if prev is not None and prev.op in (Op.DENSE, Op.CONV1D, Op.CONV2D):
            raise UnsupportedOpError(f"{call.where}: QBatchNormalization with enable_iq=False right after "
                                     f"{prev.source_name!r} would be folded into it in float; keep its input quantizer")
    a = _arrays(call, _bn_order)
    f32 = np.float32
    mean, var = _need(a, "moving_mean", call).astype(f32), _need(a, "moving_variance", call).astype(f32)
    gamma = _need(a, "bn_gamma", call).astype(f32) if call.get("scale", True) else f32(1)
    beta = _need(a, "bn_beta", call).astype(f32) if call.get("center", True) else f32(1)  # HGQ2 uses 1 without center
    scale = (gamma / np.sqrt(var + f32(call.get("epsilon", 1e-3)))).astype(f32)
    offset = (beta - mean * scale).astype(f32)
    xq = _input_q(ctx, call, x)
    s = _quantizer(call, call.get("kq_conf"), ("kq",), "scale").apply(scale)
    o = _quantizer(call, call.get("bq_conf"), ("bq",), "offset").apply(offset)
    sc = _weight_const(ctx, call, "scale", np.broadcast_to(s, mean.shape).copy())
    oc = _weight_const(ctx, call, "offset", np.broadcast_to(o, mean.shape).copy())
    y = ctx.node(call, Op.BATCHNORM, [xq, sc, oc], NoAttrs(), part="bn")
    return _output_q(ctx, call, y)


def _merge(keras_name: str) -> Converter:
    def merge(ctx: Builder, call: LayerCall) -> str:
        xs = list(call.inputs)
        if call.get("enable_iq", True):
            confs = call.get("iq_confs")
            confs = confs if isinstance(confs, list) else [confs] * len(xs)
            if len(confs) != len(xs):
                raise ModelFormatError(f"{call.where}: {len(confs)} input quantizer configs for {len(xs)} inputs")
            xs = [_quantize(ctx, call, x, _quantizer(call, c, ("iq", j), f"input {j}"), f"iq{j}", f"iq{j}")
                  for j, (x, c) in enumerate(zip(xs, confs, strict=True))]
        return _output_q(ctx, call, _plain(ctx, call, keras_name, xs))

    return merge


def _plain(ctx: Builder, call: LayerCall, keras_name: str, inputs: list[str]) -> str:
    """The plain Keras converter of the layer's base class, on the quantized inputs."""
    from .layers import CONVERTERS

    out = CONVERTERS[keras_name](ctx, LayerCall(keras_name, call.name, call.config, inputs, call.weights))
    return out if isinstance(out, str) else out[0]


def _pool(keras_name: str, average: bool, nsp: int = 0) -> Converter:
    def pool(ctx: Builder, call: LayerCall) -> str:
        x = call.inputs[0]
        if str(call.get("data_format") or "channels_last") != "channels_last":
            raise UnsupportedOpError(f"{call.where}: data_format={call.get('data_format')!r}; HGQ2 layers are read "
                                     "channels_last only")
        if average:
            shape = ctx.shape(x)
            if nsp:
                size = _tuple(call.get("pool_size"), nsp)
                if str(call.get("padding", "valid")).lower() != "valid":
                    raise UnsupportedOpError(f"{call.where}: averaging with padding={call.get('padding')!r} divides "
                                             "edge windows by their own counts in float; only 'valid' is exact")
            else:
                size = tuple(shape[:-1])
            n = math.prod(size)
            if n & (n - 1):
                raise UnsupportedOpError(f"{call.where}: HGQ2 averages {n} values in float32 (not a power of two), "
                                         "which no fixed-point result reproduces exactly")
        return _output_q(ctx, call, _plain(ctx, call, keras_name, [_input_q(ctx, call, x)]))

    return pool


def _refuse(reason: str) -> Converter:
    def refuse(ctx: Builder, call: LayerCall) -> str:
        raise UnsupportedOpError(f"{call.where}: HGQ2 layer not supported: {reason}")

    return refuse


_TABLE = ("its output is a float function of the input, quantized afterwards; an exact fixed-point "
          "version needs HGQ2's own table, which hlsforge does not emit")

HGQ2_CONVERTERS: dict[str, Converter] = {
    "Quantizer": quantizer_layer,
    "QDense": qdense,
    "QBatchNormDense": qbatchnorm_dense,
    "QEinsumDense": qeinsum_dense,
    "QConv1D": _conv(1),
    "QConv2D": _conv(2),
    "QBatchNormalization": qbatchnorm,
    "QAdd": _merge("Add"),
    "QSubtract": _merge("Subtract"),
    "QMultiply": _merge("Multiply"),
    "QMaxPooling1D": _pool("MaxPooling1D", False),
    "QMaxPooling2D": _pool("MaxPooling2D", False),
    "QGlobalMaxPooling1D": _pool("GlobalMaxPooling1D", False),
    "QGlobalMaxPooling2D": _pool("GlobalMaxPooling2D", False),
    "QAveragePooling1D": _pool("AveragePooling1D", True, 1),
    "QAveragePooling2D": _pool("AveragePooling2D", True, 2),
    "QGlobalAveragePooling1D": _pool("GlobalAveragePooling1D", True),
    "QGlobalAveragePooling2D": _pool("GlobalAveragePooling2D", True),
}
"""HGQ2 class name → converter (HGQ2's short aliases such as ``QMaxPool2D`` serialize under
these names)."""

REFUSED: dict[str, str] = {
    **{c: _TABLE for c in ("QSoftmax", "QUnaryFunctionLUT", "QAffinedUnaryFunctionLUT")},
    **{c: "table-based (lookup) layers are not read" for c in ("QDenseT", "QConvT1D", "QConvT2D", "QEinsumDenseT")},
    **{c: "einsum layers are not read (QEinsumDense is, when it is a Dense)" for c in ("QEinsum", "QEinsumDenseBatchnorm")},
    **{c: "3D layers are not in the IR" for c in ("QConv3D", "QMaxPooling3D", "QAveragePooling3D",
                                                  "QGlobalMaxPooling3D", "QGlobalAveragePooling3D")},
    **{c: "attention layers are not read" for c in ("QMultiHeadAttention", "QMultiHeadAttentionT",
                                                    "QLinformerAttention", "QLinformerAttentionT")},
    **{c: "recurrent and spiking layers are not read" for c in ("QGRU", "QSimpleRNN", "QSimpleSNN", "QLIF",
                                                                "QSimpleSNNCell", "QLIFCell")},
    **{c: "no exact IR equivalent is read for this HGQ2 layer" for c in ("QDot", "QMaximum", "QMinimum", "QSum",
                                                                         "QMeanPow2", "QAveragePow2")},
}
"""HGQ2 layers refused by name, with the reason."""


def _dispatch(hgq_fn: Converter, other: Converter | None) -> Converter:
    def convert(ctx: Builder, call: LayerCall) -> Any:
        if is_hgq2_layer(call):
            try:
                return hgq_fn(ctx, call)
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:  # a damaged config or weights
                raise ModelFormatError(f"{call.where}: malformed HGQ2 layer ({type(e).__name__}: {e})") from None
        if other is None:
            raise UnsupportedOpError(
                f"layer {call.name!r} of class {call.class_name} is not supported by the Keras frontend")
        return other(ctx, call)

    return convert


def register(converters: dict[str, Converter]) -> None:
    """Add the HGQ2 converters; class names other frameworks share (QDense, QConv2D, QAdd,
    QBatchNormalization, ...) go to HGQ2 only for HGQ2 configs (see :func:`is_hgq2_layer`)."""
    table = {**HGQ2_CONVERTERS, **{c: _refuse(r) for c, r in REFUSED.items()}}
    for name, fn in table.items():
        converters[name] = _dispatch(fn, converters.get(name))
