"""``FixedQuantizer``: a trainable fixed-point quantizer whose forward pass *is* the conversion
of docs/numerics.md §2, written with ``keras.ops`` (TensorFlow, PyTorch and JAX backends).

Why it is exact: with integer ``F`` the scale ``2**F`` is a power of two, so ``s = x·2**F``,
``floor(s)`` and the dropped part ``d = s − floor(s)`` are exact in binary floating point;
the rounding rule only compares ``d`` with ½ (``qb`` = ``d ≥ ½``, ``rest`` = ``d ∉ {0, ½}``),
and overflow works on the integer ``r`` (exact while ``|r| < 2**24`` in float32). So every mode
matches ``hlsforge.quantize.fixed.quantize`` bit for bit on every finite input.

Gradients (docs/qat.md §2): values pass straight through (inside the range under the
saturating modes, everywhere under WRAP); the fractional bits ``f`` (``trainable=True``)
get HGQ's surrogate ``∂q/∂f = −ln2·(q − x)`` from the rounding error (saturated elements
contribute nothing). The integer bits are a non-trainable variable set at construction or by
:func:`hlsforge.qat.calibrate`. A weight whose width ``I + F`` is ≤ 0 is pruned (exactly 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import PrecisionError
from ..ir.types import FixedType, Overflow, Rounding
from ._keras import keras, ops

ROUNDINGS = tuple(r.value for r in Rounding)
OVERFLOWS = tuple(o.value for o in Overflow)
GRANULARITIES = ("tensor", "channel", "element")
MAX_TRAIN_WIDTH = 24
"""Widest type a float32 forward pass holds exactly (24 significant bits); wider widths are
clamped during training (docs/qat.md §4)."""
LN2 = math.log(2.0)


def _increment(mode: str, d: Any, fl: Any, neg: Any) -> Any:
    """The §2 rounding rule on ``d = s − floor(s)`` (``qb``: ``d ≥ ½``; ``rest``: ``d ∉ {0, ½}``)."""
    half = ops.cast(0.5, d.dtype)
    qb = ops.greater_equal(d, half)
    above = ops.greater(d, half)  # qb and rest
    tie = ops.equal(d, half)  # qb and not rest
    nonzero = ops.greater(d, ops.cast(0.0, d.dtype))
    if mode == "TRN":
        return ops.zeros_like(d)
    if mode == "TRN_ZERO":
        inc = ops.logical_and(neg, nonzero)
    elif mode == "RND":
        inc = qb
    elif mode == "RND_ZERO":
        inc = ops.logical_or(above, ops.logical_and(tie, neg))
    elif mode == "RND_MIN_INF":
        inc = above
    elif mode == "RND_INF":
        inc = ops.logical_or(above, ops.logical_and(tie, ops.logical_not(neg)))
    elif mode == "RND_CONV":
        odd = ops.not_equal(fl - ops.floor(fl * half) * 2.0, ops.cast(0.0, d.dtype))
        inc = ops.logical_or(above, ops.logical_and(tie, odd))
    else:  # pragma: no cover - checked in the constructor
        raise PrecisionError(f"unknown rounding mode {mode!r}")
    return ops.cast(inc, d.dtype)


def fixed_convert(x: Any, frac: Any, width: Any, *, signed: bool, rounding: str, overflow: str,
                  prune: bool = True) -> tuple[Any, Any]:
    """Convert ``x`` into ``fixed<width, width − frac>`` (§2); returns ``(q, in_range)``.

    ``frac`` and ``width`` are integer-valued tensors broadcastable to ``x`` (per tensor,
    channel or element). Elements with ``width ≤ 0`` give exactly 0 (a pruned weight; only
    checked with ``prune``). ``in_range`` (a float 0/1 mask) is 0 where the overflow mode
    changed the rounded value (the straight-through gradient's mask).
    """
    dt = x.dtype
    two = ops.cast(2.0, dt)
    scale = ops.power(two, frac)
    s = x * scale
    if rounding == "RND_CONV":
        r = ops.round(s)  # half to even on every backend: exactly RND_CONV
    elif rounding == "TRN":
        r = ops.floor(s)
    else:
        fl = ops.floor(s)
        r = fl + _increment(rounding, s - fl, fl, ops.less(x, ops.cast(0.0, dt)))
    w = ops.maximum(width, ops.cast(1.0, dt)) if prune else width
    if signed:
        top = ops.power(two, w - 1.0)
        lo, hi = -top, top - 1.0
    else:
        lo, hi = ops.zeros_like(w), ops.power(two, w) - 1.0
    if overflow == "WRAP":
        span = ops.power(two, w)
        rr = r - span * ops.floor((r - lo) / span)
    elif overflow == "SAT_ZERO":
        rr = ops.where(ops.logical_and(ops.greater_equal(r, lo), ops.less_equal(r, hi)), r, ops.zeros_like(r))
    elif overflow == "SAT_SYM" and signed:
        sym_lo = ops.where(ops.greater(w, ops.cast(1.0, dt)), -hi, lo)
        rr = ops.minimum(ops.maximum(r, sym_lo), hi)
    else:  # SAT, and SAT_SYM on unsigned types
        rr = ops.minimum(ops.maximum(r, lo), hi)
    in_range = ops.cast(ops.equal(rr, r), dt)
    q = rr / scale
    if prune:
        q = ops.where(ops.greater(width, ops.cast(0.0, dt)), q, ops.zeros_like(q))
    return q, in_range


def _reduce_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a gradient over the axes that ``shape`` was broadcast along."""
    if len(shape) == 0:
        return ops.sum(g)
    lead = len(g.shape) - len(shape)
    if lead > 0:
        g = ops.sum(g, axis=tuple(range(lead)))
    return g


@keras.saving.register_keras_serializable(package="hlsforge")
class FixedQuantizer(keras.layers.Layer):
    """Quantize into ``fixed<bits, integer, signed, rounding, overflow>`` (docs/numerics.md §2).

    ``granularity``: one type for the whole tensor, one per channel (last axis) or one per
    element (of a weight, or of an activation without its batch axis; activations export as
    ``Quantize`` nodes with per-element types, docs/ir.md).
    ``trainable=True`` trains the fractional bits ``f`` (a float variable, rounded half to
    even in the forward pass) with the surrogate gradient above. ``integer`` bits are a
    non-trainable variable (:func:`hlsforge.qat.calibrate` updates them). ``prune=True``
    (weights) lets the width reach 0, which makes the value exactly 0; otherwise the width stays
    at least 1. Used standalone, the layer is an explicit cast (``Quantize`` in the IR); the
    first layer of a model is its input quantizer and becomes the graph input type.
    """

    def __init__(
        self,
        bits: int = 8,
        integer: int = 1,
        signed: bool = True,
        rounding: str = "RND_CONV",
        overflow: str = "SAT",
        granularity: str = "tensor",
        trainable: bool = False,
        prune: bool = False,
        bits_scale: float = 8.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        rounding, overflow = str(rounding).upper().removeprefix("AP_"), str(overflow).upper().removeprefix("AP_")
        if rounding not in ROUNDINGS:
            raise PrecisionError(f"{self.name}: rounding {rounding!r} is not one of {', '.join(ROUNDINGS)}")
        if overflow not in OVERFLOWS:
            raise PrecisionError(f"{self.name}: overflow {overflow!r} is not one of {', '.join(OVERFLOWS)}")
        if granularity not in GRANULARITIES:
            raise PrecisionError(f"{self.name}: granularity {granularity!r} is not one of {', '.join(GRANULARITIES)}")
        if not isinstance(bits, (int, np.integer)) or not 1 <= int(bits) <= MAX_TRAIN_WIDTH:
            raise PrecisionError(f"{self.name}: bits must be an integer in 1..{MAX_TRAIN_WIDTH}, got {bits!r}")
        self.bits = int(bits)
        self.integer = int(integer)
        self.signed = bool(signed)
        self.rounding = rounding
        self.overflow = overflow
        self.granularity = granularity
        self.train_bits = bool(trainable)
        self.prune = bool(prune)
        self.bits_scale = float(bits_scale)
        if self.bits_scale <= 0 or math.frexp(self.bits_scale)[0] != 0.5:
            raise PrecisionError(f"{self.name}: bits_scale must be a positive power of two, got {bits_scale!r}")

    # ------------------------------------------------------------------ state

    def _param_shape(self, shape: tuple[Any, ...]) -> tuple[int, ...]:
        if self.granularity == "tensor":
            return ()
        if self.granularity == "channel":
            return (int(shape[-1]),)
        return tuple(int(d) for d in shape)

    def build(self, input_shape: Any) -> None:
        """``input_shape``: of the tensor quantized (batch included for activations)."""
        shape = tuple(input_shape)
        if self.granularity == "element" and shape and shape[0] is None:
            shape = shape[1:]
        pshape = self._param_shape(shape)
        # the variable holds f / bits_scale: optimizers move it by about the learning rate per
        # step, so the bits move bits_scale times faster than the weights (docs/qat.md §2)
        self.f = self.add_weight(
            name=f"{self.name}_f", shape=pshape, trainable=self.train_bits,
            initializer=keras.initializers.Constant(float(self.bits - self.integer) / self.bits_scale),
        )
        self.i = self.add_weight(
            name=f"{self.name}_i", shape=pshape, trainable=False,
            initializer=keras.initializers.Constant(float(self.integer)),
        )
        super().build(input_shape)

    def fractional(self, dtype: Any = "float32") -> Any:
        """The continuous fractional bits ``f`` (the variable times ``bits_scale``, exact)."""
        return ops.cast(self.f, dtype) * self.bits_scale

    def set_fractional(self, f: Any) -> None:
        """Set the continuous fractional bits (broadcast to the variable's shape)."""
        v = np.broadcast_to(np.asarray(f, dtype=np.float64) / self.bits_scale, tuple(self.f.shape))
        self.f.assign(v.astype(np.float32))

    def frac_bits(self, dtype: Any = "float32") -> Any:
        """Fractional bits used by the forward pass: ``round(f)`` clamped to the width limits."""
        i = ops.cast(self.i, dtype)
        f = ops.round(self.fractional(dtype))
        lo = -i if self.prune else 1.0 - i
        return ops.minimum(ops.maximum(f, lo), MAX_TRAIN_WIDTH - i)

    def bit_widths(self, dtype: Any = "float32") -> Any:
        """Differentiable widths ``I + f`` (clamped like the forward pass, ≥ 0): the cost model's bits."""
        i = ops.cast(self.i, dtype)
        f = self.fractional(dtype)
        lo = -i if self.prune else 1.0 - i
        return ops.relu(i + ops.minimum(ops.maximum(f, lo), MAX_TRAIN_WIDTH - i))

    # ------------------------------------------------------------------ forward

    def convert(self, x: Any) -> Any:
        """The quantized tensor with the straight-through / surrogate gradients."""
        dt = x.dtype
        rec = self.__dict__.get("_qat_record")
        if rec is not None:  # calibrate(): record the range seen (eager), per tensor/channel/element
            a = np.asarray(ops.convert_to_numpy(x), dtype=np.float64)
            if a.size:
                keep = {"tensor": 0, "channel": 1}.get(self.granularity, a.ndim - 1)
                axes = tuple(range(a.ndim - keep))
                rec[0], rec[1] = np.minimum(rec[0], a.min(axis=axes)), np.maximum(rec[1], a.max(axis=axes))
        if keras.backend.backend() in ("tensorflow", "jax"):
            if hasattr(x, "assign"):  # a variable (a kernel): read it outside the custom-gradient op
                x = ops.multiply(x, ops.cast(1.0, dt))
            return self._convert_custom(x, self.fractional(dt), ops.cast(self.i, dt))
        return self._convert_sg(x)

    def _limits(self, f: Any, i: Any) -> tuple[Any, Any]:
        lo = -i if self.prune else 1.0 - i
        frac = ops.minimum(ops.maximum(ops.round(f), lo), MAX_TRAIN_WIDTH - i)
        return frac, i + frac

    def _convert_sg(self, x: Any) -> Any:
        """Gradients through ``stop_gradient`` terms that are exactly 0 in the forward pass."""
        dt = x.dtype
        fv = self.fractional(dt)
        frac, width = self._limits(ops.stop_gradient(fv), ops.cast(self.i, dt))
        xs = ops.stop_gradient(x)
        q, mask = fixed_convert(xs, frac, width, signed=self.signed, rounding=self.rounding,
                                overflow=self.overflow, prune=self.prune)
        q, mask = ops.stop_gradient(q), ops.stop_gradient(mask)
        ste = x - xs  # exactly 0, gradient 1
        y = q + (ste if self.overflow == "WRAP" else ste * mask)
        if self.train_bits:
            err = ops.stop_gradient((q - xs) * mask)
            y = y + (fv - ops.stop_gradient(fv)) * (-LN2) * err
        return y

    def _convert_custom(self, x: Any, fv: Any, i: Any) -> Any:
        """One fused op with a custom gradient (TensorFlow, JAX): the forward pass computes only
        the conversion; the backward pass applies the mask and the surrogate."""
        signed, rounding, overflow, prune = self.signed, self.rounding, self.overflow, self.prune
        train, wrap = self.train_bits, self.overflow == "WRAP"
        fshape = tuple(fv.shape)
        limits = self._limits

        @ops.custom_gradient
        def quantize(x: Any, fv: Any, i: Any) -> Any:
            frac, width = limits(fv, i)
            q, mask = fixed_convert(x, frac, width, signed=signed, rounding=rounding, overflow=overflow, prune=prune)

            def grad(*args: Any, upstream: Any = None) -> Any:
                if upstream is None:
                    (upstream,) = args
                gx = upstream if wrap else upstream * mask
                if train:
                    gf = _reduce_to(upstream * (q - x) * mask * (-LN2), fshape)
                else:
                    gf = ops.zeros_like(fv)
                return gx, gf, ops.zeros_like(i)

            return q, grad

        return quantize(x, fv, i)

    def call(self, x: Any) -> Any:
        return self.convert(x)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    # ------------------------------------------------------------------ export

    def numpy_state(self) -> tuple[np.ndarray, np.ndarray]:
        """``(frac, integer)`` as int64 arrays, exactly as the forward pass uses them."""
        i = np.asarray(keras.ops.convert_to_numpy(self.i), dtype=np.float64)
        f = np.asarray(keras.ops.convert_to_numpy(self.f), dtype=np.float32).astype(np.float64) * self.bits_scale
        return frac_from_state(f, i, self.prune), i.astype(np.int64)

    def fixed_type(self) -> FixedType:
        """The single type of a per-tensor quantizer (``PrecisionError`` otherwise)."""
        frac, integer = self.numpy_state()
        return type_from_state(self.get_config(), frac, integer, where=self.name)

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.update(bits=self.bits, integer=self.integer, signed=self.signed, rounding=self.rounding,
                   overflow=self.overflow, granularity=self.granularity, trainable=self.train_bits, prune=self.prune,
                   bits_scale=self.bits_scale)
        return cfg


def frac_from_state(f: np.ndarray, i: np.ndarray, prune: bool) -> np.ndarray:
    """numpy twin of :meth:`FixedQuantizer.frac_bits` (round half to even, clamped)."""
    fr = np.round(np.asarray(f, dtype=np.float64))
    lo = -i if prune else 1.0 - i
    return np.minimum(np.maximum(fr, lo), MAX_TRAIN_WIDTH - i).astype(np.int64)


def type_from_state(cfg: dict[str, Any], frac: np.ndarray, integer: np.ndarray, *, where: str) -> FixedType:
    """The IR type of a quantizer with one (frac, integer) pair."""
    if np.size(frac) != 1:
        raise PrecisionError(
            f"{where}: a {cfg.get('granularity')}-granularity quantizer has several types; only weights "
            "may have per-channel or per-element bits (activation quantizers must be per tensor)"
        )
    f, i = int(np.ravel(frac)[0]), int(np.ravel(integer)[0])
    return FixedType(i + f, i, bool(cfg.get("signed", True)), Rounding(cfg.get("rounding", "RND_CONV")),
                     Overflow(cfg.get("overflow", "SAT")))
