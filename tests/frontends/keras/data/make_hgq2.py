"""Regenerate the HGQ2 fixtures: ``hgq2_<name>.keras`` written by HGQ2 itself, and
``hgq2_<name>_io.npz`` with inputs on the input quantizer's grid and HGQ2's own outputs.

Run in an environment with HGQ2 (it is LGPL: a test-time tool, never a dependency):

    KERAS_BACKEND=torch PYTHONPATH=tests python tests/frontends/keras/data/make_hgq2.py tests/frontends/keras/data

``test_hgq2.py`` then checks, with no framework installed, that hlsforge reproduces the
outputs exactly. Models are kept small (a few KB each).
"""

from __future__ import annotations

import os
import sys
import zipfile

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
from frontends.keras.hgq2_models import (  # noqa: E402
    forward,
    grid_inputs,
    jet_mlp,
    randomize,
    residual,
    small_cnn,
)


def main(out: str) -> None:
    models = {
        "hgq2_mlp": (jet_mlp((16, 12, 8, 5), name="hgq2_mlp"), 31),
        "hgq2_residual": (residual(8, name="hgq2_residual"), 32),
        "hgq2_cnn": (small_cnn((6, 6, 2), name="hgq2_cnn"), 33),
    }
    for name, (model, seed) in models.items():
        rng = np.random.default_rng(seed)
        randomize(model, rng)
        x = grid_inputs(model, 100 if name == "hgq2_cnn" else 300, rng)
        y = forward(model, x)
        path = os.path.join(out, f"{name}.keras")
        model.save(path)
        _deflate(path)
        np.savez_compressed(os.path.join(out, f"{name}_io.npz"), x=x, y=y)
        print(name, x.shape, y.shape, os.path.getsize(path), "bytes")


def _deflate(path: str) -> None:
    """Keras stores its members uncompressed; deflate them to keep the fixtures small."""
    with zipfile.ZipFile(path) as z:
        members = [(i, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info, data in members:
            z.writestr(info.filename, data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
