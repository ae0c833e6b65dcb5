"""Trainable fixed-point Keras 3 layers whose forward pass is what hlsforge's firmware computes.

Each layer quantizes its weights, bias and output with :class:`FixedQuantizer`; products and
sums are exact (the IR accumulator is ``auto``), so the only rounding is where a quantizer
sits — the same places as in the exported graph (docs/qat.md §3). Table activations
(sigmoid, tanh, softmax) read the very tables :mod:`hlsforge.quantize.tables` builds for
the HLS backend, held as constants.

Batch normalization is folded into Dense/Conv during training (:class:`QDenseBatchNorm`,
:class:`QConv1DBatchNorm`, :class:`QConv2DBatchNorm`): the statistics scale the kernel and
bias *before* their quantizers, so what is exported is an ordinary quantized Dense/Conv
(docs/qat.md §3).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import PrecisionError
from ..ir.types import FixedType, parse_type
from ..quantize.config import _reciprocal_raw_range, softmax_diff_type
from ..quantize.fixed import quantize as quantize_np
from ..quantize.fixed import to_float
from ..quantize.infer import table_sum_type
from ..quantize.tables import TableSpec, build_table
from ._keras import keras, ops
from .quantizer import FixedQuantizer

KERNEL_DEFAULT = dict(bits=8, integer=1, trainable=True, granularity="element", prune=True)
BIAS_DEFAULT = dict(bits=12, integer=4, trainable=True, granularity="tensor", prune=True)
OUTPUT_DEFAULT = dict(bits=12, integer=5, trainable=True, granularity="tensor")
INPUT_DEFAULT = dict(bits=10, integer=4, trainable=False, granularity="tensor")
TABLE_TYPES = {"sigmoid": "ufixed<12,1,RND_CONV,SAT>", "tanh": "fixed<12,1,RND_CONV,SAT>"}
EXP_TABLE_TYPE = "ufixed<12,1,RND_CONV,SAT>"
INV_TABLE_TYPE = "ufixed<12,1,RND_CONV,SAT>"
ACTIVATIONS = ("linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax")


def quantizer_config(spec: Any, default: dict[str, Any], *, role: str) -> dict[str, Any]:
    """A quantizer spec (dict, :class:`FixedQuantizer` or None) as a plain config dict."""
    if isinstance(spec, FixedQuantizer):
        spec = spec.get_config()
    cfg = dict(default)
    if spec is not None:
        if not isinstance(spec, dict):
            raise PrecisionError(f"{role}: a quantizer is a dict of FixedQuantizer arguments or a FixedQuantizer, got {spec!r}")
        cfg.update({k: v for k, v in spec.items() if k not in ("name", "dtype")})
    return cfg


def _full_config(q: FixedQuantizer | None, fallback: dict[str, Any]) -> dict[str, Any]:
    """A quantizer's complete constructor arguments (what the export reads)."""
    if q is None:
        return fallback
    return {k: v for k, v in q.get_config().items() if k not in ("name", "dtype")}


def _make(owner: str, role: str, cfg: dict[str, Any], dtype: Any = None) -> FixedQuantizer:
    q = FixedQuantizer(**cfg, name=role, dtype=dtype)
    if role == "input_quantizer" and q.granularity != "tensor":
        raise PrecisionError(
            f"layer {owner!r}: {role} must have granularity='tensor' (one type indexes the lookup table; "
            "output quantizers and standalone FixedQuantizers may be per channel or per element)"
        )
    return q


class QLayer(keras.layers.Layer):
    """Base: an output quantizer and, for weighted layers, kernel/bias quantizers."""

    has_weights = False

    def __init__(self, output_quantizer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_quantizer_config = quantizer_config(output_quantizer, OUTPUT_DEFAULT, role=f"{self.name} output")
        self.output_quantizer = _make(self.name, "output_quantizer", self.output_quantizer_config, self.dtype_policy)
        self._qat_cost: Any = None  # set by ResourceLoss.attach: (beta variable, input quantizer, metric)

    def qat_quantizers(self) -> list[FixedQuantizer]:
        return [self.output_quantizer]

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg["output_quantizer"] = _full_config(self.output_quantizer, self.output_quantizer_config)
        return cfg


class _QWeighted(QLayer):
    """Dense/Conv family: ``y = oq(act(x ⊛ kq(W) + bq(b)))``."""

    has_weights = True

    def __init__(self, kernel_quantizer: Any = None, bias_quantizer: Any = None, activation: str | None = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_quantizer_config = quantizer_config(kernel_quantizer, KERNEL_DEFAULT, role=f"{self.name} kernel")
        self.bias_quantizer_config = quantizer_config(bias_quantizer, BIAS_DEFAULT, role=f"{self.name} bias")
        self.kernel_quantizer = _make(self.name, "kernel_quantizer", self.kernel_quantizer_config, self.dtype_policy)
        self.bias_quantizer = _make(self.name, "bias_quantizer", self.bias_quantizer_config, self.dtype_policy)
        act = activation or "linear"
        if act not in ("linear", "relu"):
            raise PrecisionError(f"layer {self.name!r}: activation must be None or 'relu' (use QActivation for others)")
        self.activation = act
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def qat_quantizers(self) -> list[FixedQuantizer]:
        return [self.kernel_quantizer, self.bias_quantizer, self.output_quantizer]

    def _build_weights(self, kernel_shape: tuple[int, ...], n_out: int, out_shape: tuple[Any, ...]) -> None:
        self.kernel = self.add_weight(name="kernel", shape=kernel_shape, initializer=self.kernel_initializer)
        self.kernel_quantizer.build(kernel_shape)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(n_out,), initializer="zeros")
            self.bias_quantizer.build((n_out,))
        self.output_quantizer.build(out_shape)

    def qkernel(self) -> Any:
        return self.kernel_quantizer(self.kernel)

    def qbias(self) -> Any:
        return self.bias_quantizer(self.bias)

    def _finish(self, y: Any, qkernel: Any, qbias: Any = None) -> Any:
        if qbias is not None:
            y = y + qbias
        elif self.use_bias:
            y = y + self.qbias()
        if self.activation == "relu":
            y = ops.relu(y)
        y = self.output_quantizer(y)
        if self._qat_cost is not None:
            self.add_loss(self._qat_cost(self, qkernel))
        return y

    def multiplies_per_weight(self) -> int:
        """How many times each kernel weight is used per sample (output positions)."""
        return 1

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.update(kernel_quantizer=_full_config(self.kernel_quantizer, self.kernel_quantizer_config),
                   bias_quantizer=_full_config(self.bias_quantizer, self.bias_quantizer_config),
                   activation=self.activation, use_bias=self.use_bias,
                   kernel_initializer=keras.initializers.serialize(self.kernel_initializer))
        return cfg


@keras.saving.register_keras_serializable(package="hlsforge")
class QDense(_QWeighted):
    """Fixed-point Dense over the last axis."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape: Any) -> None:
        n_in = int(input_shape[-1])
        self._in_shape = tuple(input_shape)
        self._build_weights((n_in, self.units), self.units, tuple(input_shape[:-1]) + (self.units,))
        super().build(input_shape)

    def call(self, x: Any) -> Any:
        k = self.qkernel()
        return self._finish(self._linear(x, k), k)

    def _linear(self, x: Any, k: Any) -> Any:
        if keras.backend.standardize_dtype(x.dtype) == "float64":
            # keras.ops.matmul on the torch backend computes float64 operands in float32
            return ops.einsum("...i,ij->...j", x, k)
        return ops.matmul(x, k)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape[:-1]) + (self.units,)

    def multiplies_per_weight(self) -> int:
        shape = getattr(self, "_in_shape", None)
        return int(math.prod(shape[1:-1])) if shape else 1

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


def _tuple(v: Any, n: int, what: str) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    t = tuple(int(i) for i in v)
    if len(t) != n:
        raise PrecisionError(f"{what} must have {n} entries, got {v!r}")
    return t


class _QConvBase(_QWeighted):
    nsp = 2
    depthwise = False

    def __init__(self, filters: int | None = None, kernel_size: Any = 3, strides: Any = 1, padding: str = "valid",
                 dilation_rate: Any = 1, depth_multiplier: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = None if filters is None else int(filters)
        self.kernel_size = _tuple(kernel_size, self.nsp, "kernel_size")
        self.strides = _tuple(strides, self.nsp, "strides")
        self.dilation_rate = _tuple(dilation_rate, self.nsp, "dilation_rate")
        self.depth_multiplier = int(depth_multiplier)
        if str(padding).lower() not in ("valid", "same"):
            raise PrecisionError(f"layer {self.name!r}: padding must be 'valid' or 'same'")
        self.padding = str(padding).lower()

    def build(self, input_shape: Any) -> None:
        c = int(input_shape[-1])
        self._in_shape = tuple(input_shape)
        if self.depthwise:
            kshape = self.kernel_size + (c, self.depth_multiplier)
            n_out = c * self.depth_multiplier
        else:
            if self.filters is None:
                raise PrecisionError(f"layer {self.name!r}: filters is required")
            kshape = self.kernel_size + (c, self.filters)
            n_out = self.filters
        out = self.compute_output_shape(input_shape)
        self._build_weights(kshape, n_out, tuple(out))
        super().build(input_shape)

    def _spatial_out(self, spatial: tuple[Any, ...]) -> tuple[Any, ...]:
        out: list[int | None] = []
        for L, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate, strict=True):
            if L is None:
                out.append(None)
            elif self.padding == "same":
                out.append(-(-int(L) // s))
            else:
                out.append((int(L) - d * (k - 1) - 1) // s + 1)
        return tuple(out)

    def compute_output_shape(self, input_shape: Any) -> Any:
        c = int(input_shape[-1])
        n_out = c * self.depth_multiplier if self.depthwise else self.filters
        return (input_shape[0],) + self._spatial_out(tuple(input_shape[1:-1])) + (n_out,)

    def call(self, x: Any) -> Any:
        k = self.qkernel()
        return self._finish(self._linear(x, k), k)

    def _linear(self, x: Any, k: Any) -> Any:
        if self.depthwise:
            return ops.depthwise_conv(x, k, strides=self.strides, padding=self.padding, data_format="channels_last",
                                      dilation_rate=self.dilation_rate)
        return ops.conv(x, k, strides=self.strides, padding=self.padding, data_format="channels_last",
                        dilation_rate=self.dilation_rate)

    def multiplies_per_weight(self) -> int:
        shape = getattr(self, "_in_shape", None)
        if not shape:
            return 1
        return int(math.prod(self._spatial_out(tuple(shape[1:-1]))))

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.update(kernel_size=self.kernel_size, strides=self.strides, padding=self.padding,
                   dilation_rate=self.dilation_rate)
        if self.depthwise:
            cfg["depth_multiplier"] = self.depth_multiplier
        else:
            cfg["filters"] = self.filters
        return cfg


@keras.saving.register_keras_serializable(package="hlsforge")
class QConv1D(_QConvBase):
    """Fixed-point Conv1D (channels last)."""

    nsp = 1


@keras.saving.register_keras_serializable(package="hlsforge")
class QConv2D(_QConvBase):
    """Fixed-point Conv2D (channels last)."""

    nsp = 2


@keras.saving.register_keras_serializable(package="hlsforge")
class QDepthwiseConv2D(_QConvBase):
    """Fixed-point DepthwiseConv2D (channels last); kernel ``(kh, kw, C, depth_multiplier)``."""

    nsp = 2
    depthwise = True

    def __init__(self, kernel_size: Any = 3, **kwargs: Any) -> None:
        kwargs.pop("filters", None)
        super().__init__(None, kernel_size, **kwargs)


# ----------------------------------------------------------------------------- activations


def _fixed_type(text: Any, what: str) -> FixedType:
    t = parse_type(text)
    if not isinstance(t, FixedType):
        raise PrecisionError(f"{what}: {text!r} is not a fixed-point type")
    return t


def _gather(spec: TableSpec, raw: Any) -> Any:
    """``entries[clamp((raw − lo) >> shift)]`` as values, with keras ops (exact in float)."""
    dt = raw.dtype
    step = float(1 << spec.shift)
    idx = ops.floor((raw - float(spec.lo_raw)) / step)
    idx = ops.clip(idx, 0.0, float(spec.size - 1))
    values = ops.convert_to_tensor(spec.values(), dtype=dt)
    return ops.take(values, ops.cast(idx, "int32"), axis=0)


def _raw(x: Any, t: FixedType) -> Any:
    return x * float(2.0**t.frac)


@keras.saving.register_keras_serializable(package="hlsforge")
class QActivation(QLayer):
    """``oq(f(x))`` for ``linear``, ``relu``, ``leaky_relu`` (α as a typed constant) and
    ``sigmoid``/``tanh``/``softmax`` through hlsforge's lookup tables.

    Table activations first cast their input with ``input_quantizer`` (a fixed, per-tensor
    type that indexes the table; omitted in the export when the incoming type already is that
    type). ``table_type``/``exp_table_type``/``inv_table_type`` and ``table_size`` are the
    configuration keys of docs/numerics.md §6.
    """

    def __init__(self, activation: str = "relu", alpha: float = 0.3, alpha_type: str = "fixed<8,1,RND_CONV,SAT>",
                 input_quantizer: Any = None, table_type: str | None = None,
                 exp_table_type: str = EXP_TABLE_TYPE, inv_table_type: str = INV_TABLE_TYPE,
                 table_size: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        act = activation or "linear"
        if act not in ACTIVATIONS:
            raise PrecisionError(f"layer {self.name!r}: activation {act!r} is not one of {', '.join(ACTIVATIONS)}")
        self.activation = act
        self.alpha = float(alpha)
        self.alpha_type = str(alpha_type)
        self.table_type = table_type if table_type is not None else TABLE_TYPES.get(act)
        self.exp_table_type = str(exp_table_type)
        self.inv_table_type = str(inv_table_type)
        self.table_size = None if table_size is None else int(table_size)
        self.uses_table = act in ("sigmoid", "tanh", "softmax")
        self.input_quantizer_config = quantizer_config(input_quantizer, INPUT_DEFAULT, role=f"{self.name} input")
        self.input_quantizer = _make(self.name, "input_quantizer", self.input_quantizer_config, self.dtype_policy) if self.uses_table else None
        if self.input_quantizer is not None and self.input_quantizer.train_bits:
            raise PrecisionError(f"layer {self.name!r}: a table's input_quantizer cannot have trainable bits")
        if act == "leaky_relu":
            at = table_type_or(self.alpha_type, f"layer {self.name!r} alpha_type")
            self.alpha_q = float(to_float(quantize_np(np.array([self.alpha]), at), at)[0])
        if act == "softmax":
            et, it = _fixed_type(self.exp_table_type, "exp_table_type"), _fixed_type(self.inv_table_type, "inv_table_type")
            if et.width + it.width > 24:
                raise PrecisionError(
                    f"layer {self.name!r}: exp_table_type and inv_table_type have {et.width} + {it.width} bits; "
                    "their product must fit float32 exactly (at most 24 bits together)"
                )

    def qat_quantizers(self) -> list[FixedQuantizer]:
        return [q for q in (self.input_quantizer, self.output_quantizer) if q is not None]

    def input_type(self) -> FixedType:
        assert self.input_quantizer is not None
        return self.input_quantizer.fixed_type() if self.input_quantizer.built else type_from_cfg(self.input_quantizer_config)

    def tables(self, n: int | None = None) -> dict[str, TableSpec]:
        """The tables of this layer, built exactly as ``quantize.configure`` builds them."""
        where = f"layer {self.name!r}"
        xt = type_from_cfg(self.input_quantizer_config)
        if self.activation in ("sigmoid", "tanh"):
            return {"table": build_table(self.activation, xt, _fixed_type(self.table_type, "table_type"),
                                         size=self.table_size, where=f"{where}: table")}
        exp = build_table("exp", softmax_diff_type(xt, where), _fixed_type(self.exp_table_type, "exp_table_type"),
                          size=self.table_size, where=f"{where}: exp_table")
        assert n is not None
        st = table_sum_type(exp.entries, exp.entry_type, n, where=f"{where}: sum auto")
        inv = build_table("reciprocal", st, _fixed_type(self.inv_table_type, "inv_table_type"), size=self.table_size,
                          raw_interval=_reciprocal_raw_range(exp, st, n), where=f"{where}: inv_table")
        return {"exp_table": exp, "inv_table": inv, "sum": st}  # type: ignore[dict-item]

    def build(self, input_shape: Any) -> None:
        if self.input_quantizer is not None:
            self.input_quantizer.build(input_shape)
        self.output_quantizer.build(input_shape)
        if self.uses_table:
            self._tables = self.tables(int(input_shape[-1]))
        super().build(input_shape)

    def call(self, x: Any) -> Any:
        a = self.activation
        if a == "relu":
            y = ops.relu(x)
        elif a == "leaky_relu":
            y = ops.where(ops.greater_equal(x, 0.0), x, x * self.alpha_q)
        elif a in ("sigmoid", "tanh"):
            xq = self.input_quantizer(x)  # type: ignore[misc]
            spec = self._tables["table"]
            y = _gather(spec, ops.stop_gradient(_raw(xq, spec.index_type)))
            # straight-through of the float function's slope keeps the table trainable-through
            f = ops.sigmoid(xq) if a == "sigmoid" else ops.tanh(xq)
            y = y + (f - ops.stop_gradient(f))
        elif a == "softmax":
            xq = self.input_quantizer(x)  # type: ignore[misc]
            exp, inv, st = self._tables["exp_table"], self._tables["inv_table"], self._tables["sum"]
            d = xq - ops.max(xq, axis=-1, keepdims=True)
            e = _gather(exp, ops.stop_gradient(_raw(d, exp.index_type)))
            s = ops.sum(e, axis=-1, keepdims=True)
            r = _gather(inv, ops.stop_gradient(_raw(s, st)))  # type: ignore[arg-type]
            y = e * r
            f = ops.softmax(xq, axis=-1)
            y = y + (f - ops.stop_gradient(f))
        else:
            y = x
        return self.output_quantizer(y)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.update(activation=self.activation, alpha=self.alpha, alpha_type=self.alpha_type,
                   input_quantizer=_full_config(self.input_quantizer, self.input_quantizer_config), table_type=self.table_type,
                   exp_table_type=self.exp_table_type, inv_table_type=self.inv_table_type, table_size=self.table_size)
        return cfg


def table_type_or(text: str, what: str) -> FixedType:
    return _fixed_type(text, what)


def type_from_cfg(cfg: dict[str, Any]) -> FixedType:
    """The type of a non-trainable per-tensor quantizer from its config."""
    from ..ir.types import Overflow, Rounding

    return FixedType(int(cfg["bits"]), int(cfg["integer"]), bool(cfg.get("signed", True)),
                     Rounding(str(cfg.get("rounding", "RND_CONV")).upper().removeprefix("AP_")),
                     Overflow(str(cfg.get("overflow", "SAT")).upper().removeprefix("AP_")))


# ----------------------------------------------------------------------------- merge and pooling


@keras.saving.register_keras_serializable(package="hlsforge")
class QAdd(QLayer):
    """``oq(a + b + …)`` — the exact sum, quantized once."""

    def build(self, input_shape: Any) -> None:
        self.output_quantizer.build(input_shape[0])
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        y = inputs[0]
        for t in inputs[1:]:
            y = y + t
        return self.output_quantizer(y)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape[0]


@keras.saving.register_keras_serializable(package="hlsforge")
class QConcatenate(QLayer):
    """``oq(concat(inputs))`` along ``axis`` (default the last)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def build(self, input_shape: Any) -> None:
        self.output_quantizer.build(self.compute_output_shape(input_shape))
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        return self.output_quantizer(ops.concatenate(list(inputs), axis=self.axis))

    def compute_output_shape(self, input_shape: Any) -> Any:
        shapes = [list(s) for s in input_shape]
        out = shapes[0][:]
        ax = self.axis if self.axis >= 0 else len(out) + self.axis
        out[ax] = sum(s[ax] for s in shapes) if all(s[ax] is not None for s in shapes) else None
        return tuple(out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class _QAvgPool(QLayer):
    nsp = 2

    def __init__(self, pool_size: Any = 2, strides: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = _tuple(pool_size, self.nsp, "pool_size")
        self.strides = self.pool_size if strides is None else _tuple(strides, self.nsp, "strides")
        n = math.prod(self.pool_size)
        if n & (n - 1):
            raise PrecisionError(
                f"layer {self.name!r}: an average pool of {n} taps divides by {n}, which no fixed-point scale "
                "holds exactly; use a power-of-two window"
            )

    def build(self, input_shape: Any) -> None:
        self.output_quantizer.build(self.compute_output_shape(input_shape))
        super().build(input_shape)

    def call(self, x: Any) -> Any:
        y = ops.average_pool(x, self.pool_size, strides=self.strides, padding="valid", data_format="channels_last")
        return self.output_quantizer(y)

    def compute_output_shape(self, input_shape: Any) -> Any:
        sp = tuple(None if L is None else (int(L) - k) // s + 1
                   for L, k, s in zip(input_shape[1:-1], self.pool_size, self.strides, strict=True))
        return (input_shape[0],) + sp + (input_shape[-1],)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides}


@keras.saving.register_keras_serializable(package="hlsforge")
class QAveragePooling1D(_QAvgPool):
    """``oq(mean over the window)``, valid padding, power-of-two windows."""

    nsp = 1


@keras.saving.register_keras_serializable(package="hlsforge")
class QAveragePooling2D(_QAvgPool):
    """``oq(mean over the window)``, valid padding, power-of-two windows."""

    nsp = 2


Q_LAYERS = (QDense, QConv1D, QConv2D, QDepthwiseConv2D, QActivation, QAdd, QConcatenate,
            QAveragePooling1D, QAveragePooling2D)
"""Layers the export translates (with :class:`FixedQuantizer`); MaxPooling, Flatten, Reshape
and Dropout from Keras pass values unchanged and keep their input's type."""
