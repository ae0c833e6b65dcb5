"""Keras ``TimeDistributed`` around a layer that acts on the last axis only.

Why: constituent-based taggers (DeepJet-style) apply ``TimeDistributed(Dense)`` to every
particle. A layer that acts on the last axis alone (Dense on any rank, activations,
BatchNormalization over the last axis, dropout) already does exactly that when applied to
the whole ``(steps, features)`` tensor, so the wrapped layer is converted as itself. Wrapped
layers that mix positions (convolutions, pooling, recurrent layers) are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from .builder import Builder, Converter, LayerCall

PER_LAST_AXIS = ("Dense", "QDense", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout",
                 "BatchNormalization", "QActivation", "QBatchNormalization", "Rescaling")
"""Wrapped classes whose result at each step depends only on that step's last-axis vector."""


class _WrappedWeights:
    """The wrapped layer's weights: a live layer and an HDF5 file list them under the wrapper;
    a ``.keras`` archive stores them, unnamed, in the wrapper's ``layer`` group."""

    def __init__(self, outer: Any) -> None:
        self._outer = outer

    def arrays(self) -> dict[str, np.ndarray]:
        own = self._outer.arrays()
        if own:
            return own
        try:
            return self._outer.child("layer").arrays()
        except ModelFormatError:
            return {}

    def child(self, name: str) -> Any:
        return self._outer.child(name)


def time_distributed(ctx: Builder, call: LayerCall) -> str | list[str]:
    inner = call.get("layer") or {}
    cls, cfg = inner.get("class_name"), dict(inner.get("config") or {})
    if cls not in PER_LAST_AXIS:
        raise UnsupportedOpError(
            f"{call.where}: TimeDistributed({cls}) is not supported; wrapped layers that act on the last axis "
            f"only are: {', '.join(PER_LAST_AXIS)}"
        )
    if cls in ("BatchNormalization", "QBatchNormalization") and cfg.get("axis", -1) not in (-1, [-1]):
        raise UnsupportedOpError(f"{call.where}: TimeDistributed(BatchNormalization) over axis {cfg.get('axis')}")
    converter = ctx.converters[cls]
    return converter(ctx, LayerCall(cls, call.name, cfg, call.inputs, _WrappedWeights(call.weights)))


CONVERTERS: dict[str, Converter] = {"TimeDistributed": time_distributed}


def register(converters: dict[str, Converter]) -> None:
    converters.update(CONVERTERS)
