"""Live Keras 3 models (Sequential, functional, nested) and ``.keras`` files.

A live model is converted from its config (``model.get_config()``) and the weights of its
layer objects, through the same builder as saved files. ``keras`` is imported only here and
only when needed; the backend is whatever the user's environment selects.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.graph import Graph
from .builder import Builder, keras_major_of
from .layers import CONVERTERS


class LiveWeights:
    """Weights of a live layer, keyed by short name (``kernel``, ``moving_mean``...)."""

    def __init__(self, layer: Any) -> None:
        self._layer = layer

    @property
    def layer(self) -> Any:
        """The live layer object (HGQ2 converters read its quantizers' variables by name)."""
        return self._layer

    def child(self, name: str) -> LiveWeights:
        if name in ("forward_layer", "backward_layer") and hasattr(self._layer, name):  # Bidirectional
            return LiveWeights(getattr(self._layer, name))
        sub = getattr(self._layer, f"_{name}", None)  # a layer's own sublayers (MultiHeadAttention)
        if not hasattr(self._layer, "get_layer") and hasattr(sub, "weights"):
            return LiveWeights(sub)
        try:
            return LiveWeights(self._layer.get_layer(name))
        except ValueError:
            raise ModelFormatError(f"model {self._layer.name!r} has no layer {name!r}") from None

    def arrays(self) -> dict[str, np.ndarray]:
        variables = list(self._layer.weights)
        values = self._layer.get_weights()
        out: dict[str, np.ndarray] = {}
        for var, val in zip(variables, values, strict=True):
            short = str(getattr(var, "path", None) or var.name).split("/")[-1].split(":")[0]
            out.setdefault(short, np.asarray(val))
        return out


def _keras() -> Any:
    try:
        import keras
    except ImportError as e:
        raise ModelFormatError(
            f"loading this Keras model needs the keras package with a working backend ({e}); "
            "without TensorFlow set KERAS_BACKEND=torch (or jax) before importing keras"
        ) from None
    return keras


def from_keras(model: Any, *, input_shape: Any = None) -> Graph:
    """Convert a live Keras (3) Sequential or functional model."""
    kind = type(model).__name__
    if kind not in ("Sequential", "Functional"):
        get_config = getattr(model, "get_config", None)
        config = get_config() if callable(get_config) else None
        if not (isinstance(config, dict) and "layers" in config and "input_layers" in config):
            raise UnsupportedOpError(
                f"cannot convert a {type(model).__module__}.{kind}: only Sequential and functional Keras "
                "models carry their layer graph; rebuild it with keras.Input(...) or export it to ONNX"
            )
        kind = "Functional"
    if not getattr(model, "built", True):
        raise ModelFormatError(f"Keras model {model.name!r} is not built: call it once on data or give it an Input")
    config = model.get_config()
    version = getattr(sys.modules.get(type(model).__module__.split(".")[0]), "__version__", None)
    builder = Builder(
        model.name, CONVERTERS, keras_major=keras_major_of(version, config), source_format="keras",
        input_shapes=input_shape,
    )
    return builder.build_top(kind, config, LiveWeights(model))


def load_keras_file(path: str | os.PathLike[str], *, input_shape: Any = None) -> Graph:
    """A native ``.keras`` archive, loaded with keras (``compile=False``) then converted."""
    keras = _keras()
    try:
        model = keras.saving.load_model(os.fspath(path), compile=False)
    except (ValueError, OSError, TypeError) as e:
        raise ModelFormatError(f"keras could not load {str(path)!r}: {e}") from None
    return from_keras(model, input_shape=input_shape)
