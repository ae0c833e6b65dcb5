"""QONNX quantizers inside ONNX models → exact hlsforge types and nodes.

Called by the ONNX frontend for nodes of the QONNX domains. Semantics (QONNX custom-op
docs, ``IntQuant`` v1 / ``BipolarQuant`` v1)::

    Quant / IntQuant(x, scale, zeropt, bitwidth; signed, narrow, rounding_mode):
        y = (clamp(round(x / scale + zeropt), min_int, max_int) - zeropt) * scale
        min_int = signed ? -2**(b-1) + narrow : 0
        max_int = signed ? 2**(b-1) - 1 : 2**b - 1 - narrow
    BipolarQuant(x, scale): y = (x >= 0 ? +1 : -1) * scale

With ``zeropt == 0`` and ``scale == 2**s`` (one value for the whole tensor) ``IntQuant`` is
exactly a cast into ``fixed<b, b + s, signed, Q, SAT>`` — SAT_SYM when narrow and signed —
with the rounding modes mapped as ROUND (ties to even) → RND_CONV, FLOOR → TRN,
DOWN (toward zero) → TRN_ZERO, HALF_UP (ties away from zero) → RND_INF,
HALF_DOWN (ties toward zero) → RND_ZERO. CEIL and UP have no ap_fixed mode; other scales,
zero points, unsigned narrow ranges and non-integer bit widths are refused with the reason.
``BipolarQuant`` becomes the exact sign chain of :mod:`.quant_steps`.

A quantizer applied to a *weight* (all inputs known at import) is evaluated here, once, by
:func:`quantize_constant`: the result holds exactly the values of a fixed-point type, which
the caller records as the constant's type (``onnx.reference`` cannot evaluate these domains).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ModelFormatError, PrecisionError, UnsupportedOpError
from ..ir.graph import Graph
from ..ir.ops import Op, QuantizeAttrs
from ..ir.types import MAX_WIDTH, FixedType, Overflow, Rounding
from .quant_steps import Step, emit_steps, sign_steps

QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas")
QUANT_OPS = ("Quant", "IntQuant", "BipolarQuant")

ROUNDING_MODES: dict[str, Rounding] = {
    "ROUND": Rounding.RND_CONV,
    "HALF_EVEN": Rounding.RND_CONV,
    "FLOOR": Rounding.TRN,
    "DOWN": Rounding.TRN_ZERO,
    "ROUND_TO_ZERO": Rounding.TRN_ZERO,
    "HALF_UP": Rounding.RND_INF,
    "HALF_DOWN": Rounding.RND_ZERO,
}


def _describe(node: Any) -> str:
    return f"QONNX node {node.name or node.output[0]!r} ({node.op_type})"


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _const(node: Any, constants: Mapping[str, np.ndarray], index: int, role: str) -> np.ndarray:
    if len(node.input) <= index or not node.input[index]:
        raise ModelFormatError(f"{_describe(node)}: missing input {role!r}")
    name = node.input[index]
    if name not in constants:
        raise UnsupportedOpError(
            f"{_describe(node)}: input {role!r} ({name!r}) must be a constant (initializer or Constant); "
            "hlsforge needs quantizer parameters known at import time"
        )
    return np.asarray(constants[name], dtype=np.float64)


def _single(node: Any, arr: np.ndarray, role: str) -> float:
    """One value for the whole tensor (per-channel parameters must all be equal)."""
    flat = np.unique(arr.reshape(-1))
    if flat.size != 1:
        raise UnsupportedOpError(
            f"{_describe(node)}: {role} varies across the tensor ({flat[:4].tolist()}...); hlsforge maps a "
            "quantizer to one fixed-point type per tensor"
        )
    return float(flat[0])


def _po2_exponent(node: Any, scale: float) -> int:
    if not math.isfinite(scale) or scale <= 0:
        raise ModelFormatError(f"{_describe(node)}: scale must be positive, got {scale}")
    m, e = math.frexp(scale)
    if m != 0.5:
        raise UnsupportedOpError(
            f"{_describe(node)}: scale {scale!r} is not a power of two, so the quantizer is not a fixed-point "
            "type; retrain with power-of-two scales (e.g. Brevitas restrict_scaling_type=POWER_OF_TWO)"
        )
    return e - 1


def convert_quant(node: Any, constants: Mapping[str, np.ndarray], opset: int = 1) -> QuantizeAttrs:
    """``Quant``/``IntQuant`` → the ``QuantizeAttrs`` of an exactly equivalent ``Quantize`` node.

    ``node`` is an ``onnx.NodeProto``; ``constants`` maps initializer / Constant names to arrays;
    ``opset`` is the QONNX domain's opset (only version 1 exists). Raises
    ``UnsupportedOpError`` naming the node for anything without an exact fixed-point form.
    """
    if node.op_type not in ("Quant", "IntQuant"):
        raise UnsupportedOpError(f"{_describe(node)}: convert_quant handles Quant/IntQuant; use emit_qonnx_quant")
    _check_opset(node, opset)
    attrs = _attrs(node)
    signed = bool(attrs.get("signed", 1))
    narrow = bool(attrs.get("narrow", 0))
    mode_raw = attrs.get("rounding_mode", "ROUND")
    mode = (mode_raw.decode() if isinstance(mode_raw, bytes) else str(mode_raw)).upper()
    if mode not in ROUNDING_MODES:
        raise UnsupportedOpError(
            f"{_describe(node)}: rounding_mode {mode!r} has no ap_fixed equivalent; supported: "
            f"{', '.join(ROUNDING_MODES)}"
        )
    scale = _single(node, _const(node, constants, 1, "scale"), "scale")
    zeropt = _single(node, _const(node, constants, 2, "zeropt"), "zeropt")
    bits_f = _single(node, _const(node, constants, 3, "bitwidth"), "bitwidth")
    if zeropt != 0.0:
        raise UnsupportedOpError(
            f"{_describe(node)}: zero point {zeropt} is not 0; hlsforge maps only zero-point-free quantizers "
            "to fixed point"
        )
    if not bits_f.is_integer() or not 1 <= bits_f <= MAX_WIDTH:
        raise UnsupportedOpError(f"{_describe(node)}: bit width {bits_f} must be an integer in 1..{MAX_WIDTH}")
    bits = int(bits_f)
    if narrow and not signed:
        raise UnsupportedOpError(
            f"{_describe(node)}: an unsigned narrow range [0, 2**b - 2] is not a fixed-point overflow mode"
        )
    if signed and bits == 1 and narrow:
        raise UnsupportedOpError(f"{_describe(node)}: a 1-bit signed narrow quantizer can only produce 0")
    s = _po2_exponent(node, scale)
    overflow = Overflow.SAT_SYM if narrow else Overflow.SAT
    return QuantizeAttrs(FixedType(bits, bits + s, signed, ROUNDING_MODES[mode], overflow))


def _check_opset(node: Any, opset: int) -> None:
    if opset > 1:
        raise UnsupportedOpError(f"{_describe(node)}: QONNX opset {opset} is newer than the supported version 1")


def _bipolar_scale(node: Any, constants: Mapping[str, np.ndarray]) -> tuple[float, int]:
    scale = _single(node, _const(node, constants, 1, "scale"), "scale")
    return scale, _po2_exponent(node, scale)


def bipolar_steps(node: Any, constants: Mapping[str, np.ndarray]) -> list[Step]:
    """``BipolarQuant`` → cast to ``fixed<1,1,TRN,SAT>`` (−1 for x<0, else 0), ·2s, +s."""
    scale, _ = _bipolar_scale(node, constants)
    return sign_steps(scale)


def _unsupported_op(node: Any) -> UnsupportedOpError:
    return UnsupportedOpError(
        f"{_describe(node)}: QONNX op {node.op_type} is not supported; supported: {', '.join(QUANT_OPS)} "
        "(FloatQuant and Trunc have no fixed-point cast equivalent here)"
    )


def quant_steps(node: Any, constants: Mapping[str, np.ndarray], opset: int = 1) -> list[Step]:
    """The IR chain of a QONNX quantizer applied to an activation.

    ``Quant``/``IntQuant`` → one ``Quantize`` step; ``BipolarQuant`` → the sign chain.
    Anything else in the QONNX domains raises ``UnsupportedOpError`` naming the node.
    """
    if node.op_type in ("Quant", "IntQuant"):
        return [Step(Op.QUANTIZE, convert_quant(node, constants, opset), part="quant")]
    if node.op_type == "BipolarQuant":
        _check_opset(node, opset)
        return bipolar_steps(node, constants)
    raise _unsupported_op(node)


def quantize_constant(
    node: Any, x: np.ndarray, constants: Mapping[str, np.ndarray], opset: int = 1
) -> tuple[np.ndarray, FixedType]:
    """A QONNX quantizer applied to a known tensor ``x`` (a weight): its exact float64 result
    and the fixed-point type whose values it holds.

    ``Quant``/``IntQuant`` → ``cast(x, target)`` (the same conversion the ``Quantize`` node
    performs); ``BipolarQuant`` with scale ``2**s`` → ``±2**s``, values of ``fixed<2, 2 + s>``.
    """
    from ..quantize.fixed import cast

    x = np.asarray(x, dtype=np.float64)
    if node.op_type in ("Quant", "IntQuant"):
        target = convert_quant(node, constants, opset).target
        if not isinstance(target, FixedType):  # pragma: no cover - convert_quant builds FixedType
            raise UnsupportedOpError(f"{_describe(node)}: target {target} is not a fixed-point type")
        try:
            return cast(x, target), target
        except PrecisionError as e:
            raise UnsupportedOpError(f"{_describe(node)}: cannot quantize the constant input: {e}") from None
    if node.op_type == "BipolarQuant":
        _check_opset(node, opset)
        scale, s = _bipolar_scale(node, constants)
        return np.where(x >= 0, scale, -scale), FixedType(2, 2 + s, True)
    raise _unsupported_op(node)


def emit_qonnx_quant(
    graph: Graph, node: Any, x: str, constants: Mapping[str, np.ndarray], opset: int = 1
) -> str:
    """Add the IR nodes for a QONNX quantizer node applied to value ``x``; returns the output value.

    ``Quant``/``IntQuant`` → one ``Quantize`` node; ``BipolarQuant`` → the sign chain. Node
    names derive from the ONNX node's name and carry it as ``source_name``.
    """
    src = node.name or node.output[0]
    steps = quant_steps(node, constants, opset)
    return emit_steps(graph, x, steps, base=src, source_name=src, source_op=node.op_type)
