"""Resource and latency estimates of the HLS design, from first principles (docs/estimate.md).

``estimate(graph, part=..., clock_ns=...)`` counts the primitives the emitted HLS kernels
instantiate; ``differentiable`` is the same model as smooth functions of bit widths, for
training with a resource cost.
"""

from __future__ import annotations

from . import differentiable
from .arith import DEFAULT_MODEL, CostModel
from .driver import estimate
from .parts import DEFAULT_PART, PARTS, DspFamily, Part, get_part
from .records import RESOURCES, Estimate, LayerEstimate
from .rules import RULES, UNSUPPORTED

__all__ = [
    "estimate", "Estimate", "LayerEstimate", "RESOURCES", "CostModel", "DEFAULT_MODEL",
    "Part", "DspFamily", "PARTS", "DEFAULT_PART", "get_part", "RULES", "UNSUPPORTED", "differentiable",
]
