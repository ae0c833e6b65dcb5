"""hlsforge: trained models to bit-exact HLS C++ and BLAS-only CPU C++, from one common IR."""

from __future__ import annotations

from .dse import ScanResult, scan
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

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``hlsforge.estimate`` (= ``hlsforge.resources.estimate``), imported on first use so that
    ``import hlsforge`` stays light."""
    if name == "estimate":
        from .resources import estimate

        return estimate
    raise AttributeError(f"module 'hlsforge' has no attribute {name!r}")


__all__ = [
    "load", "Graph", "HlsforgeError", "ModelFormatError", "UnsupportedOpError", "PrecisionError",
    "CompileError", "GraphError", "ShapeError", "InputError", "__version__",
    "estimate",
    "scan", "ScanResult",
]
