"""Keras 3 runs here on the torch backend (TensorFlow is not installed): select it before any
test module imports keras."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
