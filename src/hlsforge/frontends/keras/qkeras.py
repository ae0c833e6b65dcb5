"""QKeras quantizers → exact hlsforge types and nodes, read from saved configs.

``qkeras`` (and TensorFlow) are never imported: a QKeras layer's config names its quantizers
either as a string such as ``"quantized_bits(6,0,alpha=1)"`` or as a dict
``{"class_name": "quantized_bits", "config": {...}}``; both parse into a :class:`Quantizer`.

What each quantizer becomes (the table is repeated, with the QKeras formulas, in
docs/frontends.md; ``m_i = 2**integer``):

=========================================  ==================================================
QKeras                                     hlsforge
=========================================  ==================================================
``quantized_bits(b, i)`` (keep_negative)   ``fixed<b, i+1, RND_CONV, SAT>``
``quantized_bits(b, i, symmetric=1)``      ``fixed<b, i+1, RND_CONV, SAT_SYM>``
``quantized_bits(b, i, keep_negative=0)``  ``ufixed<b, i, RND_CONV, SAT>``
``quantized_bits(1, i)``                   sign (0 → +1): ``binary``
``quantized_relu(b, i)``                   ``ufixed<b, i, RND_CONV, SAT>``
``quantized_relu(b, i, negative_slope=s)`` LeakyReLU(s) → ``fixed<b, i+1, RND_CONV, SAT>`` →
                                           Clip(min = -s·m_i)
``quantized_tanh(b)``                      Clip(-1, 1) (QKeras' default hard tanh) or Tanh
                                           (``use_real_tanh``) → ``fixed<b, 1, RND_CONV, SAT>``
                                           (``SAT_SYM`` if symmetric)
``quantized_sigmoid(b)``                   HardSigmoid(0.5, 0.5) or Sigmoid →
                                           ``ufixed<b, 0, RND_CONV, SAT>``
``binary()``                               ``fixed<1,1,TRN,SAT>`` cast (−1 / 0) → ·2 → +1
``ternary(threshold=t)``                   ·1/(2t) → ``fixed<2,2,RND_INF,SAT_SYM>``
``quantized_po2`` / ``quantized_relu_po2`` weights only (applied exactly in Python)
=========================================  ==================================================

QKeras rounds with ``tf.round`` (ties to even, ``RND_CONV``) and clips (``SAT``).
A numeric ``alpha`` scales the quantized value: a power of two is folded exactly (into the
weight values and their type, or as an exact ``Mul`` after an activation quantizer); any
other value becomes a ``Mul`` with a warning that the result is no longer bit-exact.
Data-dependent scales (``alpha="auto"``/``"auto_po2"``) are refused with an explanation.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.ops import AlphaAttrs, ClipAttrs, HardSigmoidAttrs, NoAttrs, Op, QuantizeAttrs
from ...ir.types import FixedType, Overflow, Rounding
from ..quant_steps import Step, sign_steps

# Constructor parameters of each quantizer, in positional order, with QKeras' defaults.
QUANTIZER_PARAMS: dict[str, tuple[tuple[str, Any], ...]] = {
    "quantized_bits": (
        ("bits", 8), ("integer", 0), ("symmetric", 0), ("keep_negative", True), ("alpha", None),
        ("use_stochastic_rounding", False), ("scale_axis", None), ("qnoise_factor", 1.0),
        ("var_name", None), ("use_ste", True), ("use_variables", False),
        ("elements_per_scale", None), ("min_po2_exponent", None), ("max_po2_exponent", None),
        ("post_training_scale", None),
    ),
    "quantized_relu": (
        ("bits", 8), ("integer", 0), ("use_sigmoid", 0), ("negative_slope", 0.0),
        ("use_stochastic_rounding", False), ("relu_upper_bound", None), ("is_quantized_clip", True),
        ("qnoise_factor", 1.0), ("var_name", None), ("use_ste", True), ("use_variables", False),
    ),
    "quantized_tanh": (
        ("bits", 8), ("use_stochastic_rounding", False), ("symmetric", False), ("use_real_tanh", False),
    ),
    "quantized_sigmoid": (
        ("bits", 8), ("symmetric", False), ("use_real_sigmoid", False), ("use_stochastic_rounding", False),
    ),
    "quantized_po2": (
        ("bits", 8), ("max_value", None), ("use_stochastic_rounding", False),
        ("quadratic_approximation", False), ("log2_rounding", "rnd"), ("qnoise_factor", 1.0),
        ("var_name", None), ("use_ste", True), ("use_variables", False),
    ),
    "quantized_relu_po2": (
        ("bits", 8), ("max_value", None), ("negative_slope", 0), ("use_stochastic_rounding", False),
        ("quadratic_approximation", False), ("log2_rounding", "rnd"), ("qnoise_factor", 1.0),
        ("var_name", None), ("use_ste", True), ("use_variables", False),
    ),
    "binary": (("use_01", False), ("alpha", None), ("use_stochastic_rounding", False)),
    "ternary": (("alpha", None), ("threshold", None), ("use_stochastic_rounding", False), ("number_of_unrolls", 5)),
}
"""Quantizers hlsforge understands. Stochastic rounding only acts while training, so it is
ignored; ``qnoise_factor`` must be 1 (the fully quantized forward pass)."""

KERAS_EPSILON = 1e-7  # K.epsilon(), used by the po2 quantizers as their zero threshold


@dataclass(frozen=True)
class Quantizer:
    """A parsed QKeras quantizer: its class name and every constructor parameter."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""  # as written in the model, for messages

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


@dataclass(frozen=True)
class QuantizedWeights:
    """Weights after their quantizer: exact values, their type, and a leftover scale.

    ``scale`` is set only for a non-power-of-two ``alpha``: the layer must multiply its
    (bias-free) output by it, which is not bit-exact.
    """

    values: np.ndarray
    type: FixedType | None
    scale: float | None = None


# ----------------------------------------------------------------------------- parsing


def is_quantizer_spec(spec: Any) -> bool:
    """Does this activation/quantizer entry of a config name a QKeras quantizer?"""
    if isinstance(spec, dict):
        return spec.get("class_name") in QUANTIZER_PARAMS or str(spec.get("class_name", "")).startswith(
            ("quantized_", "stochastic_", "bernoulli", "binary", "ternary")
        )
    if isinstance(spec, str):
        head = spec.strip().split("(", 1)[0].strip()
        return head in QUANTIZER_PARAMS or head.startswith(("quantized_", "stochastic_")) or head == "bernoulli"
    return False


def parse_quantizer(spec: Any, *, where: str) -> Quantizer | None:
    """Parse a quantizer from a layer config (string or dict); ``None``/empty means none.

    ``where`` names the layer and the config key, for error messages.
    """
    if spec is None or spec == "" or spec == {}:
        return None
    if isinstance(spec, dict):
        kind = spec.get("class_name")
        cfg = spec.get("config") or {}
        if not isinstance(kind, str) or not isinstance(cfg, dict):
            raise ModelFormatError(f"{where}: malformed quantizer config {spec!r}")
        return _bind(kind, [], dict(cfg), text=f"{kind}({cfg})", where=where)
    if not isinstance(spec, str):
        raise ModelFormatError(f"{where}: a quantizer must be a string or a dict, got {spec!r}")
    text = spec.strip()
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ModelFormatError(f"{where}: cannot parse quantizer {text!r}") from None
    if isinstance(tree, ast.Name):
        return _bind(tree.id, [], {}, text=text, where=where)
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name):
        raise ModelFormatError(f"{where}: quantizer {text!r} is not of the form name(args)")
    try:
        args = [ast.literal_eval(a) for a in tree.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in tree.keywords if k.arg is not None}
    except ValueError:
        raise ModelFormatError(f"{where}: quantizer {text!r} has arguments that are not literals") from None
    return _bind(tree.func.id, args, kwargs, text=text, where=where)


def _bind(kind: str, args: list[Any], kwargs: dict[str, Any], *, text: str, where: str) -> Quantizer:
    if kind not in QUANTIZER_PARAMS:
        raise UnsupportedOpError(
            f"{where}: QKeras quantizer {kind!r} ({text}) is not supported; supported: "
            f"{', '.join(sorted(QUANTIZER_PARAMS))}"
        )
    names = [n for n, _ in QUANTIZER_PARAMS[kind]]
    if kind == "quantized_tanh" and "integer" in kwargs:
        raise UnsupportedOpError(
            f"{where}: {text} uses the pre-0.9 quantized_tanh(bits, integer, ...) signature, whose "
            "grid differs from current QKeras; re-save the model with a current QKeras"
        )
    if len(args) > len(names):
        raise ModelFormatError(f"{where}: quantizer {text!r} has {len(args)} positional arguments, {kind} takes {len(names)}")
    params = dict(QUANTIZER_PARAMS[kind])
    params.update(zip(names, args, strict=False))
    unknown = set(kwargs) - set(names)
    if unknown:
        raise ModelFormatError(f"{where}: quantizer {text!r} has unknown arguments {sorted(unknown)}")
    params.update(kwargs)
    q = Quantizer(kind, params, text)
    _check_common(q, where)
    return q


def _check_common(q: Quantizer, where: str) -> None:
    qnf = q.params.get("qnoise_factor", 1.0)
    if qnf is not None and float(qnf) != 1.0:
        raise UnsupportedOpError(
            f"{where}: {q.text} has qnoise_factor={qnf}: the forward pass mixes float and quantized "
            "values, which no fixed-point type reproduces; export with qnoise_factor=1"
        )
    if "bits" in q.params:
        bits = q["bits"]
        if not isinstance(bits, (int, np.integer)) or isinstance(bits, bool) or bits < 1:
            raise ModelFormatError(f"{where}: {q.text} has an invalid bit width {bits!r}")


def _int(q: Quantizer, key: str, where: str) -> int:
    v = q[key]
    if isinstance(v, (list, tuple)) and len(v) == 1:  # some QKeras versions store [integer]
        v = v[0]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise ModelFormatError(f"{where}: {q.text}: {key} must be an integer, got {v!r}")
    return int(v)


def _alpha(q: Quantizer, where: str) -> tuple[float, int | None]:
    """``(scale, log2(scale))`` of a quantizer's alpha; log2 is None unless a power of two."""
    a = q.params.get("alpha")
    if a is None:
        return 1.0, 0
    if isinstance(a, str):
        raise UnsupportedOpError(
            f"{where}: {q.text} uses alpha={a!r}, a scale computed from the data at run time; "
            "hlsforge needs a fixed scale: retrain with alpha=1 (or a power of two)"
        )
    if isinstance(a, (list, tuple)):
        raise UnsupportedOpError(f"{where}: {q.text}: per-channel alpha lists are not supported; use a scalar alpha")
    a = float(a)
    if not math.isfinite(a) or a <= 0:
        raise ModelFormatError(f"{where}: {q.text}: alpha must be a positive number, got {a}")
    m, e = math.frexp(a)
    return a, (e - 1 if m == 0.5 else None)


def _warn_inexact(where: str, what: str) -> None:
    warnings.warn(
        f"{where}: {what}; hlsforge inserts an explicit floating scale, so fixed-point results are "
        "not bit-exact with QKeras",
        stacklevel=3,
    )


# ----------------------------------------------------------------------------- types


def quantizer_type(q: Quantizer, *, where: str) -> FixedType | None:
    """The fixed-point type of a quantizer's output before any alpha scale.

    ``None`` for quantizers whose values are not a fixed-point grid (po2, binary, ternary).
    """
    bits = int(q.params.get("bits") or 0)
    if q.kind == "quantized_bits":
        keep_negative = bool(q["keep_negative"])
        integer = _int(q, "integer", where)
        if bits - keep_negative <= 0:
            return None
        if keep_negative:
            ov = Overflow.SAT_SYM if q["symmetric"] else Overflow.SAT
            return FixedType(bits, integer + 1, True, Rounding.RND_CONV, ov)
        return FixedType(bits, integer, False, Rounding.RND_CONV, Overflow.SAT)
    if q.kind == "quantized_relu":
        integer = _int(q, "integer", where)
        if q["negative_slope"]:
            return FixedType(bits, integer + 1, True, Rounding.RND_CONV, Overflow.SAT)
        return FixedType(bits, integer, False, Rounding.RND_CONV, Overflow.SAT)
    if q.kind == "quantized_tanh":
        ov = Overflow.SAT_SYM if q["symmetric"] else Overflow.SAT
        return FixedType(bits, 1, True, Rounding.RND_CONV, ov)
    if q.kind == "quantized_sigmoid":
        return FixedType(bits, 0, False, Rounding.RND_CONV, Overflow.SAT)
    return None


# ----------------------------------------------------------------------------- activations


def activation_steps(q: Quantizer, *, where: str) -> list[Step]:
    """The IR chain that applies quantizer ``q`` to an activation tensor."""
    fn = _ACTIVATION_RULES.get(q.kind)
    if fn is None:
        raise UnsupportedOpError(
            f"{where}: {q.text} cannot quantize activations in hlsforge (power-of-two activations are "
            f"not a fixed-point cast); supported activation quantizers: {', '.join(sorted(_ACTIVATION_RULES))}"
        )
    return fn(q, where)


def _scale_steps(q: Quantizer, where: str) -> list[Step]:
    scale, log2 = _alpha(q, where)
    if scale == 1.0:
        return []
    if log2 is None:
        _warn_inexact(where, f"{q.text} has alpha={scale}, not a power of two")
    return [Step(Op.MUL, const=scale, part="alpha")]


def _act_bits(q: Quantizer, where: str) -> list[Step]:
    t = quantizer_type(q, where=where)
    if t is None:  # one bit with a sign: QKeras computes the sign with 0 → +1
        scale, log2 = _alpha(q, where)
        if log2 is None:
            _warn_inexact(where, f"{q.text} has alpha={scale}, not a power of two")
        return sign_steps(scale)
    return [Step(Op.QUANTIZE, QuantizeAttrs(t), part="quant")] + _scale_steps(q, where)


def _act_relu(q: Quantizer, where: str) -> list[Step]:
    if q["use_sigmoid"]:
        raise UnsupportedOpError(f"{where}: {q.text} with use_sigmoid=1 is not supported")
    t = _grid_type(q, where)
    steps: list[Step] = []
    slope = float(q["negative_slope"] or 0.0)
    if slope:
        if slope < 0 or math.frexp(slope)[0] != 0.5:
            raise ModelFormatError(f"{where}: {q.text}: negative_slope must be a power of two")
        steps.append(Step(Op.LEAKY_RELU, AlphaAttrs(slope), part="leaky"))
    steps.append(Step(Op.QUANTIZE, QuantizeAttrs(t), part="quant"))
    lo = -slope * 2.0 ** _int(q, "integer", where) if slope else None
    hi = None
    if q["relu_upper_bound"] is not None and not q["is_quantized_clip"]:
        hi = float(q["relu_upper_bound"])
    if (lo is not None and lo > float(t.min)) or hi is not None:
        steps.append(Step(Op.CLIP, ClipAttrs(lo if lo is not None and lo > float(t.min) else None, hi), part="clip"))
    return steps


def _grid_type(q: Quantizer, where: str) -> FixedType:
    t = quantizer_type(q, where=where)
    if t is None:  # only reached for the grid quantizers, whose type always exists
        raise UnsupportedOpError(f"{where}: {q.text} has no fixed-point type")
    return t


def _act_tanh(q: Quantizer, where: str) -> list[Step]:
    t = _grid_type(q, where)
    first = Step(Op.TANH, NoAttrs(), part="tanh") if q["use_real_tanh"] else Step(Op.CLIP, ClipAttrs(-1.0, 1.0), part="hard_tanh")
    return [first, Step(Op.QUANTIZE, QuantizeAttrs(t), part="quant")]


def _act_sigmoid(q: Quantizer, where: str) -> list[Step]:
    t = _grid_type(q, where)
    first = (
        Step(Op.SIGMOID, NoAttrs(), part="sigmoid")
        if q["use_real_sigmoid"]
        else Step(Op.HARD_SIGMOID, HardSigmoidAttrs(0.5, 0.5), part="hard_sigmoid")
    )
    steps = [first, Step(Op.QUANTIZE, QuantizeAttrs(t), part="quant")]
    if q["symmetric"]:
        steps.append(Step(Op.CLIP, ClipAttrs(float(t.lsb), None), part="clip"))
    return steps


def _act_binary(q: Quantizer, where: str) -> list[Step]:
    scale, log2 = _alpha(q, where)
    if log2 is None:
        _warn_inexact(where, f"{q.text} has alpha={scale}, not a power of two")
    return sign_steps(scale, use_01=bool(q["use_01"]))


def _act_ternary(q: Quantizer, where: str) -> list[Step]:
    scale, log2 = _alpha(q, where)
    threshold = 0.33 if q["threshold"] is None else float(q["threshold"])
    if threshold <= 0:
        raise UnsupportedOpError(f"{where}: {q.text}: threshold must be positive")
    inv = 1.0 / (2.0 * threshold)
    if math.frexp(inv)[0] != 0.5:
        _warn_inexact(where, f"{q.text} has threshold {threshold}, so 2·threshold is not a power of two")
    if log2 is None:
        _warn_inexact(where, f"{q.text} has alpha={scale}, not a power of two")
    steps = [
        Step(Op.MUL, const=inv, part="threshold"),
        # |v| >= 0.5 ↔ |x| >= t; round half away from zero, then clamp to {-1, 0, 1}
        Step(Op.QUANTIZE, QuantizeAttrs(FixedType(2, 2, True, Rounding.RND_INF, Overflow.SAT_SYM)), part="quant"),
    ]
    return steps + ([Step(Op.MUL, const=scale, part="alpha")] if scale != 1.0 else [])


_ACTIVATION_RULES = {
    "quantized_bits": _act_bits,
    "quantized_relu": _act_relu,
    "quantized_tanh": _act_tanh,
    "quantized_sigmoid": _act_sigmoid,
    "binary": _act_binary,
    "ternary": _act_ternary,
}


# ----------------------------------------------------------------------------- weights


def quantize_weights(q: Quantizer | None, w: np.ndarray, *, where: str) -> QuantizedWeights:
    """Apply ``q`` to a weight array exactly (float64), as QKeras does at inference."""
    w = np.asarray(w, dtype=np.float64)
    if q is None:
        return QuantizedWeights(w, None)
    fn = _WEIGHT_RULES.get(q.kind)
    if fn is None:
        raise UnsupportedOpError(
            f"{where}: {q.text} cannot quantize weights; supported weight quantizers: "
            f"{', '.join(sorted(_WEIGHT_RULES))}"
        )
    return fn(q, w, where)


def round_half_even(x: np.ndarray) -> np.ndarray:
    """``tf.round``: nearest integer, ties to even (numpy's ``rint``)."""
    return np.rint(x)


def _fold_alpha(q: Quantizer, values: np.ndarray, t: FixedType | None, where: str) -> QuantizedWeights:
    scale, log2 = _alpha(q, where)
    if scale == 1.0:
        return QuantizedWeights(values, t)
    if log2 is not None:
        shifted = None if t is None else FixedType(t.width, t.integer + log2, t.signed, t.rounding, t.overflow)
        return QuantizedWeights(values * scale, shifted)
    _warn_inexact(where, f"{q.text} has alpha={scale}, not a power of two")
    return QuantizedWeights(values, t, scale)


def _w_bits(q: Quantizer, w: np.ndarray, where: str) -> QuantizedWeights:
    bits, keep_negative = int(q["bits"]), bool(q["keep_negative"])
    integer = _int(q, "integer", where)
    unsigned_bits = bits - keep_negative
    if unsigned_bits > 0:
        m, m_i = 2.0**unsigned_bits, 2.0**integer
        lo = -m + (1 if q["symmetric"] else 0) if keep_negative else 0.0
        values = m_i * np.clip(round_half_even(w * m / m_i), lo, m - 1) / m
        return _fold_alpha(q, values, quantizer_type(q, where=where), where)
    values = np.where(w >= 0, 1.0, -1.0)
    return _fold_alpha(q, values, FixedType(2, 2, True, Rounding.RND_CONV, Overflow.SAT), where)


def _w_relu(q: Quantizer, w: np.ndarray, where: str) -> QuantizedWeights:
    if q["use_sigmoid"] or q["negative_slope"]:
        raise UnsupportedOpError(f"{where}: {q.text} with use_sigmoid/negative_slope cannot quantize weights")
    bits, integer = int(q["bits"]), _int(q, "integer", where)
    m, m_i = 2.0**bits, 2.0**integer
    values = m_i * np.clip(round_half_even(w * m / m_i) / m, 0.0, 1.0 - 1.0 / m)
    return QuantizedWeights(values, quantizer_type(q, where=where))


def _w_binary(q: Quantizer, w: np.ndarray, where: str) -> QuantizedWeights:
    if q["use_01"]:
        values = np.where(w >= 0, 1.0, 0.0)
        t = FixedType(1, 1, False, Rounding.RND_CONV, Overflow.SAT)
    else:
        values = np.where(w >= 0, 1.0, -1.0)
        t = FixedType(2, 2, True, Rounding.RND_CONV, Overflow.SAT)
    return _fold_alpha(q, values, t, where)


def _w_ternary(q: Quantizer, w: np.ndarray, where: str) -> QuantizedWeights:
    threshold = 0.33 if q["threshold"] is None else float(q["threshold"])
    values = np.where(np.abs(w) >= threshold, np.sign(w), 0.0)
    return _fold_alpha(q, values, FixedType(2, 2, True, Rounding.RND_CONV, Overflow.SAT), where)


def _po2_exponents(
    x_abs: np.ndarray, min_exp: int, max_exp: int, max_value: float | None, quadratic: bool, log2_rounding: str, where: str
) -> np.ndarray:
    """QKeras ``_clip_power_of_two`` in float32, as TensorFlow computes it."""
    if log2_rounding not in ("rnd", "floor"):
        raise ModelFormatError(f"{where}: log2_rounding must be 'rnd' or 'floor', got {log2_rounding!r}")
    f32 = np.float32
    x_abs = x_abs.astype(f32)
    eps = f32(KERAS_EPSILON)
    x_filter = np.where(x_abs < eps, eps, x_abs)
    if max_value is not None:
        x_filter = np.where(x_filter >= f32(max_value), f32(max_value), x_filter)
    q_factor = 2.0 if quadratic else 1.0
    x_input = np.sqrt(x_filter) if quadratic else x_filter
    with np.errstate(divide="ignore"):
        ratio = (np.log(x_input) / f32(np.log(2.0))).astype(f32)
    x_log2 = np.floor(ratio) if log2_rounding == "floor" else round_half_even(ratio)
    clipped = q_factor * np.clip(x_log2.astype(np.float64), min_exp, max_exp)
    return np.where(x_abs < eps, float(min_exp), clipped)


def _need_exponent_sign_bit(max_value: float | None, where: str) -> int:
    if max_value is None:
        return 1
    if max_value < 0:
        raise ModelFormatError(f"{where}: po2 max_value must be non-negative, got {max_value}")
    return 1 if max_value > 1 else 0


def _po2_type(values: np.ndarray, where: str) -> FixedType | None:
    """Narrowest fixed type holding every ±2**e in ``values`` exactly (None past 64 bits)."""
    mags = np.abs(values[values != 0])
    if mags.size == 0:
        return FixedType(1, 1, False)
    exps = np.log2(mags).astype(np.int64)
    lo, hi = int(exps.min()), int(exps.max())
    signed = bool(np.any(values < 0))
    width = hi - lo + 1 + int(signed)
    if width > 64:
        warnings.warn(
            f"{where}: power-of-two weights span 2**{lo}..2**{hi}, wider than 64 bits; their type is "
            "left to the precision configuration",
            stacklevel=3,
        )
        return None
    return FixedType(width, hi + 1 + int(signed), signed, Rounding.RND_CONV, Overflow.SAT)


def _w_po2(q: Quantizer, w: np.ndarray, where: str) -> QuantizedWeights:
    max_value = None if q["max_value"] is None else float(q["max_value"])
    need = _need_exponent_sign_bit(max_value, where)
    effect_bits = int(q["bits"]) - 1 - need
    min_exp, max_exp = -(2**effect_bits), 2**effect_bits - 1
    if q["quadratic_approximation"]:
        max_exp = 2 * (max_exp // 2)
    sign = np.where(w >= 0, 1.0, -1.0)  # QKeras: sign with 0 → +1
    e = _po2_exponents(np.abs(w), min_exp, max_exp, max_value, bool(q["quadratic_approximation"]), q["log2_rounding"], where)
    values = sign * np.exp2(e)
    return QuantizedWeights(values, _po2_type(values, where))


def _w_relu_po2(q: Quantizer, w: np.ndarray, where: str) -> QuantizedWeights:
    max_value = None if q["max_value"] is None else float(q["max_value"])
    need = _need_exponent_sign_bit(max_value, where)
    bits = int(q["bits"])
    min_exp, max_exp = -(2 ** (bits - need)), 2 ** (bits - need) - 1
    quadratic = bool(q["quadratic_approximation"])
    if quadratic:
        max_exp = 2 * (max_exp // 2)
    slope = float(q["negative_slope"] or 0.0)
    rounding = q["log2_rounding"]
    pos = _po2_exponents(np.maximum(w, 0.0), min_exp, max_exp, max_value, quadratic, rounding, where)
    neg = _po2_exponents(np.maximum(-w, 0.0) * slope, min_exp, max_exp, max_value, quadratic, rounding, where)
    values = np.where((w >= 0) | (slope == 0.0), np.exp2(pos), -np.exp2(neg))
    return QuantizedWeights(values, _po2_type(values, where))


_WEIGHT_RULES = {
    "quantized_bits": _w_bits,
    "quantized_relu": _w_relu,
    "quantized_po2": _w_po2,
    "quantized_relu_po2": _w_relu_po2,
    "binary": _w_binary,
    "ternary": _w_ternary,
}
