"""Keras LayerNormalization and the GELU / Swish / HardSwish activations (issue 12).

Registered into the layer and activation tables by ``frontends.keras.__init__`` (a family
module of its own, like the QAT layers). Only normalization over the last axis is supported,
as in the IR op; Keras 3's ``rms_scaling`` variant is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import UnsupportedOpError
from ...ir.ops import GeluAttrs, LayerNormAttrs, NoAttrs, Op, SwishAttrs
from .builder import Builder, Converter, LayerCall


def layer_normalization(ctx: Builder, call: LayerCall) -> str:
    x = call.inputs[0]
    shape = ctx.shape(x)
    rank = len(shape) + 1
    axes = call.get("axis", -1)
    axes = list(axes) if isinstance(axes, (list, tuple)) else [axes]
    if len(axes) != 1 or int(axes[0]) % rank != rank - 1:
        raise UnsupportedOpError(f"{call.where}: normalization over axis {axes}: only the last axis is supported")
    if call.get("rms_scaling", False):
        raise UnsupportedOpError(f"{call.where}: rms_scaling=True (RMS normalization) is not supported")
    c = shape[-1]
    gamma = np.asarray(call.weight("gamma"), np.float64).reshape(c) if call.get("scale", True) else np.ones(c)
    beta = np.asarray(call.weight("beta"), np.float64).reshape(c) if call.get("center", True) else np.zeros(c)
    eps = float(np.float32(call.get("epsilon", 1e-3)))
    return ctx.node(call, Op.LAYERNORM, [x, ctx.const(call, "gamma", gamma), ctx.const(call, "beta", beta)],
                    LayerNormAttrs(eps), part="ln")


def _act(op: Op, attrs: Any) -> Any:
    def rule(ctx: Builder, call: LayerCall, x: str, part: str) -> str:
        return ctx.node(call, op, [x], attrs, part=part)

    return rule


ACTIVATIONS: dict[str, Any] = {
    "gelu": _act(Op.GELU, GeluAttrs("none")),  # keras.activations.gelu(approximate=False)
    "silu": _act(Op.SWISH, SwishAttrs(1.0)),
    "swish": _act(Op.SWISH, SwishAttrs(1.0)),
    "hard_silu": _act(Op.HARD_SWISH, NoAttrs()),
    "hard_swish": _act(Op.HARD_SWISH, NoAttrs()),
}

CONVERTERS: dict[str, Converter] = {"LayerNormalization": layer_normalization}


def creation_order(config: dict[str, Any]) -> list[str]:
    """Variable order of a Keras 3 LayerNormalization (gamma, then beta)."""
    return [n for n, on in (("gamma", config.get("scale", True)), ("beta", config.get("center", True))) if on]


def register(converters: dict[str, Converter]) -> None:
    from . import activations, builder
    from .attention import CONVERTERS as ATTENTION

    converters.update(CONVERTERS)
    converters.update(ATTENTION)
    activations.ACTIVATIONS.update(ACTIVATIONS)
    builder._CREATION_ORDER["LayerNormalization"] = creation_order
