"""Small Keras 2 model files written with h5py alone (no Keras import), for loader and CLI tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

K2 = "2.11.0"
INPUT = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 16], "dtype": "float32", "name": "in"}}


def dense(name: str, units: int, activation: str = "relu") -> dict[str, Any]:
    return {"class_name": "Dense", "config": {"name": name, "units": units, "activation": activation, "use_bias": True,
                                              "dtype": "float32", "trainable": True}}


def model_json(*layers: dict[str, Any]) -> str:
    return json.dumps({"class_name": "Sequential", "config": {"name": "seq", "layers": [INPUT, *layers]},
                       "keras_version": K2, "backend": "tensorflow"})


def write_h5(path: Path, weights: dict[str, list[tuple[str, Any]]], model_config: str | None = None) -> Path:
    """Keras 2 ``save_weights`` layout, or ``model.save`` with ``model_config``. A tuple instead
    of an array declares a chunked, compressed dataset of that shape that stores nothing."""
    with h5py.File(path, "w") as f:
        root = f
        if model_config is not None:
            f.attrs["model_config"] = model_config.encode()
            f.attrs["keras_version"] = K2.encode()
            root = f.create_group("model_weights")
        root.attrs["layer_names"] = np.array([n.encode() for n in weights])
        for lname, ws in weights.items():
            g = root.create_group(lname)
            g.attrs["weight_names"] = np.array([wn.encode() for wn, _ in ws], dtype="S")
            for wn, arr in ws:
                if isinstance(arr, tuple):
                    g.create_dataset(wn, shape=arr, dtype="f4", chunks=True, compression="gzip")
                else:
                    g.create_dataset(wn, data=arr)
    return path


_RNG = np.random.default_rng(3)
MLP_WEIGHTS = {
    "d1": [("d1/kernel:0", _RNG.normal(size=(16, 8)).astype("f4")), ("d1/bias:0", _RNG.normal(size=8).astype("f4"))],
    "d2": [("d2/kernel:0", _RNG.normal(size=(8, 5)).astype("f4")), ("d2/bias:0", _RNG.normal(size=5).astype("f4"))],
}
MLP_JSON = model_json(dense("d1", 8), dense("d2", 5, "softmax"))


def write_mlp(directory: Path) -> dict[str, Path]:
    """``mlp.h5`` (full model), ``mlp.json`` + ``mlp_weights.h5`` (architecture + weights)."""
    (directory / "mlp.json").write_text(MLP_JSON)
    return {
        "h5": write_h5(directory / "mlp.h5", MLP_WEIGHTS, MLP_JSON),
        "json": directory / "mlp.json",
        "weights": write_h5(directory / "mlp_weights.h5", MLP_WEIGHTS),
    }
