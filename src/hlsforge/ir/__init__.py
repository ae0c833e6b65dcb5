"""hlsforge's common intermediate representation."""

from .element_types import ElementTypes
from .graph import Graph, Node, Value
from .ops import (
    CATALOGUE,
    FINAL_OPS,
    AlphaAttrs,
    AxisAttrs,
    ClipAttrs,
    ConvAttrs,
    GlobalPoolAttrs,
    HardSigmoidAttrs,
    NoAttrs,
    Op,
    OpSpec,
    PadAttrs,
    PoolAttrs,
    QuantizeAttrs,
    ReshapeAttrs,
    SeluAttrs,
    SoftmaxAttrs,
    TransposeAttrs,
    spec,
)
from .records import ir_record
from .types import (
    FLOAT32,
    FixedType,
    FloatType,
    IntType,
    Overflow,
    Rounding,
    TensorType,
    parse_type,
)

__all__ = [
    "Graph", "Node", "Value", "Op", "OpSpec", "CATALOGUE", "FINAL_OPS", "spec", "ir_record",
    "FLOAT32", "FixedType", "FloatType", "IntType", "Overflow", "Rounding", "TensorType", "parse_type",
    "AlphaAttrs", "AxisAttrs", "ClipAttrs", "ConvAttrs", "GlobalPoolAttrs", "HardSigmoidAttrs",
    "NoAttrs", "PadAttrs", "PoolAttrs", "QuantizeAttrs", "ReshapeAttrs", "SeluAttrs",
    "SoftmaxAttrs", "TransposeAttrs", "ElementTypes",
]
