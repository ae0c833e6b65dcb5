"""Keras frontend: live Keras 3 models, ``.keras``/``.h5`` files, legacy Keras 2 JSON + HDF5
weights, and QKeras layers (read from configs, without importing qkeras).

Entry points::

    load_keras(model_or_path, weights=None, input_shape=None) -> Graph
    from_keras(live_model, input_shape=None) -> Graph

``hlsforge.load`` dispatches here for ``.keras``, ``.h5``/``.hdf5``, Keras architecture
``.json`` files and live ``keras`` models. Saved ``.keras``/``.h5``/``.json`` models are read
with zipfile/json and h5py only; TensorFlow, Keras and their backends are not imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import ModelFormatError
from ...ir.graph import Graph
from ...ir.passes import legalize
from .hgq2 import register as _register_hgq2
from .layers import CONVERTERS
from .normalization import register as _register_normalization
from .preprocessing import register as _register_preprocessing
from .qat import finish_qat
from .qat import register as _register_qat
from .wrappers import register as _register_wrappers

__all__ = ["load_keras", "from_keras", "CONVERTERS"]

_register_qat(CONVERTERS)  # hlsforge.qat layers (their graphs come back typed)
_register_normalization(CONVERTERS)  # LayerNormalization, GELU/Swish (issue 12)
_register_preprocessing(CONVERTERS)  # Normalization, Rescaling, Cropping, RepeatVector
_register_wrappers(CONVERTERS)  # TimeDistributed
_register_hgq2(CONVERTERS)  # HGQ2 layers (issue 13), read without importing hgq


def _finish(graph: Graph) -> Graph:
    """Run the shared passes (Transpose cancelling, folding, dead code); validates the result.
    A model of hlsforge.qat layers is then typed with its trained types (``finish_qat``)."""
    return finish_qat(legalize(graph))


def from_keras(model: Any, *, input_shape: Any = None) -> Graph:
    """Convert a live Keras Sequential or functional model (nested models included)."""
    from .live import from_keras as _from_live

    return _finish(_from_live(model, input_shape=input_shape))


def load_keras(model: Any, *, weights: str | os.PathLike[str] | None = None, input_shape: Any = None) -> Graph:
    """Load a Keras model from a live object or a file.

    ``.json``: architecture from ``model.to_json()`` (Keras 2 or 3, QKeras layers allowed) with
    ``weights=`` the HDF5 weights file; ``.h5``/``.hdf5``: a full legacy model file;
    ``.keras``: a native Keras 3 archive (read with zipfile + h5py, no Keras needed). ``input_shape`` (batch excluded, or a
    dict by input name) fixes dimensions the model leaves open.
    """
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        suffix = path.suffix.lower()
        if suffix == ".json":
            from .legacy import load_json

            return _finish(load_json(path, weights, input_shape=input_shape))
        if suffix in (".h5", ".hdf5"):
            from .legacy import load_h5

            if weights is not None:
                raise ModelFormatError(f"{str(path)!r} is a full model file; weights= is only for architecture JSON")
            return _finish(load_h5(path, input_shape=input_shape))
        if suffix == ".keras":
            from .archive import load_keras_archive

            return _finish(load_keras_archive(path, input_shape=input_shape))
        raise ModelFormatError(f"{str(path)!r}: the Keras frontend reads .json (+ weights), .h5/.hdf5 and .keras files")
    return from_keras(model, input_shape=input_shape)
