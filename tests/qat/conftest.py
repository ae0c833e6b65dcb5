"""hlsforge.qat tests run on whichever Keras backend this process selects (TensorFlow when
these tests start first); ``test_backends.py`` repeats the exactness cases on the other
backend in a subprocess."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
