"""Import keras once, with a clear error when the ``train`` extra is missing."""

from __future__ import annotations

from ..errors import HlsforgeError

try:
    import keras
    from keras import ops
except ImportError as e:  # pragma: no cover - depends on the environment
    raise HlsforgeError(
        f"hlsforge.qat needs Keras 3 with a backend ({e}); install it with pip install 'hlsforge[train]'"
    ) from None

__all__ = ["keras", "ops"]
