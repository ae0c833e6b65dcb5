"""Keras layers that only rescale, crop or repeat: ``Normalization``, ``Rescaling``,
``Cropping1D``/``Cropping2D`` and ``RepeatVector``.

Why here: trained taggers often keep their input standardization inside the model
(``Normalization`` adapted on the training data, ``Rescaling(1/255)`` on images); dropping it,
or asking the user to re-implement it, silently changes every output. They map onto existing
IR ops — a per-channel affine is the IR's ``BatchNormalization`` (``x * scale + bias`` along
the last axis), crops are ``Slice``, a repeat is ``Gather`` — so every backend runs them as it
runs those ops. Axes other than the channels-last ones these ops express are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.ops import GatherAttrs, NoAttrs, Op, ReshapeAttrs, SliceAttrs
from .builder import Builder, Converter, LayerCall

KERAS_EPSILON = 1e-7
"""``keras.backend.epsilon()``: Normalization divides by ``max(sqrt(variance), epsilon)``."""


def _per_channel(call: LayerCall, values: Any, channels: int, what: str) -> np.ndarray:
    """A scalar or a last-axis vector as a ``(channels,)`` array."""
    a = np.asarray(values, np.float64)
    if a.size == 1:
        return np.full(channels, float(a.reshape(-1)[0]))
    if a.size == channels:
        return a.reshape(channels)
    raise UnsupportedOpError(
        f"{call.where}: {what} has shape {a.shape}; only a scalar or one value per channel (last axis, "
        f"{channels}) is supported"
    )


def _affine(ctx: Builder, call: LayerCall, scale: np.ndarray, bias: np.ndarray) -> str:
    return ctx.node(call, Op.BATCHNORM, [call.inputs[0], ctx.const(call, "scale", scale), ctx.const(call, "bias", bias)],
                    NoAttrs(), part="affine")


def normalization(ctx: Builder, call: LayerCall) -> str:
    """``(x - mean) / max(sqrt(variance), eps)``, or with ``invert`` ``mean + x * max(...)``."""
    shape = ctx.shape(call.inputs[0])
    rank = len(shape) + 1
    axis = call.get("axis", -1)
    axes = [] if axis is None else [int(a) % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    if axes not in ([], [rank - 1]):
        raise UnsupportedOpError(f"{call.where}: normalization kept along axes {axis}; only the last axis "
                                 "(axis=-1) or none (axis=None) is supported")
    channels = shape[-1]
    if call.get("mean") is not None and call.get("variance") is not None:
        mean, var = call.get("mean"), call.get("variance")
    else:
        mean, var = call.weight("mean"), call.weight("variance")
    mean = _per_channel(call, mean, channels, "mean")
    var = _per_channel(call, var, channels, "variance")
    if (var < 0).any() or not np.isfinite(var).all() or not np.isfinite(mean).all():
        raise ModelFormatError(f"{call.where}: mean/variance are not finite or a variance is negative")
    std = np.maximum(np.sqrt(var.astype(np.float32)).astype(np.float64), KERAS_EPSILON)
    if call.get("invert", False):
        return _affine(ctx, call, std, mean)
    return _affine(ctx, call, 1.0 / std, -mean / std)


def rescaling(ctx: Builder, call: LayerCall) -> str:
    """``x * scale + offset`` (scalars or one value per channel)."""
    channels = ctx.shape(call.inputs[0])[-1]
    scale = _per_channel(call, call.get("scale", 1.0), channels, "scale")
    offset = _per_channel(call, call.get("offset", 0.0), channels, "offset")
    return _affine(ctx, call, scale, offset)


def _pairs(call: LayerCall, spec: Any, n: int) -> list[tuple[int, int]]:
    """Keras' cropping forms: ``int``, ``(a, b)`` for 1-D, ``(int, int)`` or ``((a, b), (c, d))`` for 2-D."""
    if isinstance(spec, int):
        return [(spec, spec)] * n
    spec = list(spec)
    if n == 1 and len(spec) == 2 and all(isinstance(s, int) for s in spec):
        return [(int(spec[0]), int(spec[1]))]
    if len(spec) == n:
        return [(int(s), int(s)) if isinstance(s, int) else (int(s[0]), int(s[1])) for s in spec]
    raise ModelFormatError(f"{call.where}: cannot read cropping={spec!r}")


def cropping(ctx: Builder, call: LayerCall) -> str:
    n = 1 if call.class_name == "Cropping1D" else 2
    if call.get("data_format", "channels_last") not in (None, "channels_last"):
        raise UnsupportedOpError(f"{call.where}: data_format={call.get('data_format')!r}; only channels_last is supported")
    shape = ctx.shape(call.inputs[0])
    crops = _pairs(call, call.get("cropping", 1), n)
    slices = []
    for size, (a, b) in zip(shape[:n], crops, strict=True):
        if a < 0 or b < 0 or a + b >= size:
            raise ModelFormatError(f"{call.where}: cropping {(a, b)} leaves nothing of an axis of size {size}")
        slices.append((a, size - b, 1))
    slices += [(0, s, 1) for s in shape[n:]]
    return ctx.node(call, Op.SLICE, [call.inputs[0]], SliceAttrs(tuple(slices)), part="crop")


def repeat_vector(ctx: Builder, call: LayerCall) -> str:
    """``(f,) -> (n, f)``: a leading axis of size 1, gathered ``n`` times."""
    shape = ctx.shape(call.inputs[0])
    if len(shape) != 1:
        raise UnsupportedOpError(f"{call.where}: RepeatVector takes (features,), got batch + {shape}")
    times = int(call.get("n", 1))
    y = ctx.node(call, Op.RESHAPE, [call.inputs[0]], ReshapeAttrs((1, shape[0])), part="row")
    return ctx.node(call, Op.GATHER, [y], GatherAttrs(0, (0,) * times), part="repeat")


CONVERTERS: dict[str, Converter] = {
    "Normalization": normalization, "Rescaling": rescaling, "Cropping1D": cropping, "Cropping2D": cropping,
    "RepeatVector": repeat_vector,
}


def register(converters: dict[str, Converter]) -> None:
    from . import builder

    converters.update(CONVERTERS)
    builder._CREATION_ORDER["Normalization"] = lambda config: ["mean", "variance", "count"]
