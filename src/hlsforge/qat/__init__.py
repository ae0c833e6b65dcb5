"""Hardware-aware training: trainable fixed-point Keras 3 layers, a resource cost for the
loss, and an export that is bit-exact by construction (docs/qat.md).

``hlsforge.load(model)`` on a model of these layers returns a graph that already carries the
trained type on every value: ``emulate.run``, ``hls_backend`` and ``projects`` work on it
directly. Needs the ``train`` extra (Keras 3 and a backend).
"""

from __future__ import annotations

from .batchnorm import QConv1DBatchNorm, QConv2DBatchNorm, QDenseBatchNorm
from .callback import HardwareCallback
from .cost import ResourceLoss, ebops
from .layers import (
    QActivation,
    QAdd,
    QAveragePooling1D,
    QAveragePooling2D,
    QConcatenate,
    QConv1D,
    QConv2D,
    QDense,
    QDepthwiseConv2D,
)
from .quantizer import FixedQuantizer
from .tools import VerifyReport, calibrate, verify

__all__ = [
    "FixedQuantizer", "QDense", "QConv1D", "QConv2D", "QDepthwiseConv2D", "QActivation", "QAdd",
    "QConcatenate", "QAveragePooling1D", "QAveragePooling2D", "ebops", "ResourceLoss", "HardwareCallback",
    "calibrate", "verify", "VerifyReport", "QDenseBatchNorm", "QConv1DBatchNorm", "QConv2DBatchNorm",
]
