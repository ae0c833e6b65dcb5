"""hlsforge: trained models to bit-exact HLS C++ and BLAS-only CPU C++, from one common IR."""

from __future__ import annotations

from .errors import (
    CompileError,
    GraphError,
    HlsforgeError,
    InputError,
    ModelFormatError,
    PrecisionError,
    ShapeError,
    UnsupportedOpError,
)
from .ir import Graph
from .loader import load
from .resources import estimate

__version__ = "0.1.0"

__all__ = [
    "load", "Graph", "HlsforgeError", "ModelFormatError", "UnsupportedOpError", "PrecisionError",
    "CompileError", "GraphError", "ShapeError", "InputError", "__version__",
    "estimate",
]
