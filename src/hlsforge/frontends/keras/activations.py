"""Keras activation functions (``activation="relu"`` and the ``Activation`` layer) → IR ops.

One small function per activation name. ``hard_sigmoid`` depends on the Keras version that
wrote the model: Keras 2 computes ``clip(0.2·x + 0.5, 0, 1)``, Keras 3 ``relu6(x + 3) / 6``
(slope 1/6). A QKeras quantizer given as an activation (``activation="quantized_relu(4)"``)
becomes its quantizer chain (see :mod:`.qkeras`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.ops import AlphaAttrs, ClipAttrs, HardSigmoidAttrs, NoAttrs, Op, SeluAttrs, SoftmaxAttrs
from . import qkeras
from .builder import Builder, LayerCall

ActivationRule = Callable[[Builder, LayerCall, str, str], str]


def _unary(op: Op, attrs: Any = None) -> ActivationRule:
    def rule(ctx: Builder, call: LayerCall, x: str, part: str) -> str:
        return ctx.node(call, op, [x], attrs if attrs is not None else NoAttrs(), part=part)

    return rule


def _softmax(ctx: Builder, call: LayerCall, x: str, part: str) -> str:
    return ctx.node(call, Op.SOFTMAX, [x], SoftmaxAttrs(len(ctx.shape(x)) - 1), part=part)


def _hard_sigmoid(ctx: Builder, call: LayerCall, x: str, part: str) -> str:
    attrs = HardSigmoidAttrs(0.2, 0.5) if ctx.keras_major < 3 else HardSigmoidAttrs(1.0 / 6.0, 0.5)
    return ctx.node(call, Op.HARD_SIGMOID, [x], attrs, part=part)


ACTIVATIONS: dict[str, ActivationRule] = {
    "relu": _unary(Op.RELU),
    "sigmoid": _unary(Op.SIGMOID),
    "tanh": _unary(Op.TANH),
    "softmax": _softmax,
    "elu": _unary(Op.ELU, AlphaAttrs(1.0)),
    "selu": _unary(Op.SELU, SeluAttrs()),
    "softplus": _unary(Op.SOFTPLUS),
    "hard_sigmoid": _hard_sigmoid,
    "relu6": _unary(Op.CLIP, ClipAttrs(0.0, 6.0)),
    "leaky_relu": _unary(Op.LEAKY_RELU, AlphaAttrs(0.2)),
    "hard_tanh": _unary(Op.CLIP, ClipAttrs(-1.0, 1.0)),
}
"""Keras activation names (``linear``/``None`` add no node)."""


def activation_name(spec: Any, where: str) -> str | None:
    """Normalize an activation entry of a config: a name, ``None``, or a Keras 3 dict."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        inner = spec.get("config")
        if isinstance(inner, str):  # Keras 3 {"class_name": "function", "config": "relu"}
            return inner
        name = spec.get("class_name")
        if isinstance(name, str):
            return name
    raise ModelFormatError(f"{where}: cannot read activation {spec!r}")


def apply_activation(ctx: Builder, call: LayerCall, x: str, spec: Any, part: str = "") -> str:
    """Append the activation ``spec`` after ``x``; returns the resulting value."""
    if spec is not None and qkeras.is_quantizer_spec(spec):
        q = qkeras.parse_quantizer(spec, where=f"{call.where} activation")
        if q is None:
            return x
        return ctx.steps(call, x, qkeras.activation_steps(q, where=call.where), part=part)
    name = activation_name(spec, call.where)
    if name is None or name == "linear":
        return x
    rule = ACTIVATIONS.get(name)
    if rule is None:
        raise UnsupportedOpError(
            f"{call.where}: activation {name!r} is not supported; supported activations: "
            f"linear, {', '.join(sorted(ACTIVATIONS))} and QKeras quantizers"
        )
    return rule(ctx, call, x, part)
