"""Compare the float reference, the bit-exact emulator, the CPU backend and the C simulation."""

from .compare import CrossCheckReport, LayerCheck, compare

__all__ = ["compare", "CrossCheckReport", "LayerCheck"]
