"""The ONNX frontend: ``load_onnx(path | bytes | ModelProto) -> Graph``.

Layout: ``reader`` (file and structure checks), ``context`` (import state and the per-node
view converters use), ``registry`` (versioned converters), ``convert_*`` (one small function
per ONNX op and opset range), ``fold`` (constants and shape chains evaluated at import),
``importer`` (the driver).
"""

from .importer import load_onnx
from .registry import supported_ops

__all__ = ["load_onnx", "supported_ops"]
