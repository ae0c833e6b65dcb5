"""Float reference rules of the elementwise-math and attention ops (issue 12).

Kept out of ``reference.py`` so each op family has its own module; ``reference.RULES`` merges
``MATH_RULES``. Like the other rules: float32 in and out, transcendental functions and the
reductions of LayerNormalization/BatchMatMul evaluated in float64 and rounded once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .ir.graph import Node
from .ir.ops import GeluAttrs, LayerNormAttrs, Op, PowAttrs, SwishAttrs

Array = np.ndarray
Rule = Callable[[Node, Sequence[Array]], Array]

_ERF = np.frompyfunc(math.erf, 1, 1)


def _f32(x: Array) -> Array:
    return np.asarray(x, dtype=np.float32)


def _f64(x: Array) -> Array:
    return np.asarray(x, dtype=np.float64)


def erf(x: Array) -> Array:
    """Elementwise erf in float64 (numpy has none; ``math.erf`` is exact to double rounding)."""
    x = _f64(x)
    return np.asarray(_ERF(x), dtype=np.float64).reshape(x.shape)


def _pow(node: Node, ins: Sequence[Array]) -> Array:
    a: PowAttrs = node.attrs
    return _f32(np.power(_f64(ins[0]), a.exponent))


def _gelu(node: Node, ins: Sequence[Array]) -> Array:
    a: GeluAttrs = node.attrs
    x = _f64(ins[0])
    if a.approximate == "tanh":
        return _f32(0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))))
    return _f32(0.5 * x * (1.0 + erf(x / math.sqrt(2.0))))


def _swish(node: Node, ins: Sequence[Array]) -> Array:
    a: SwishAttrs = node.attrs
    x = _f64(ins[0])
    return _f32(x * 0.5 * (1.0 + np.tanh(0.5 * a.alpha * x)))


def _hard_swish(node: Node, ins: Sequence[Array]) -> Array:
    x = _f64(ins[0])
    return _f32(x * np.clip(x / 6.0 + 0.5, 0.0, 1.0))


def _layernorm(node: Node, ins: Sequence[Array]) -> Array:
    a: LayerNormAttrs = node.attrs
    x = _f64(ins[0])
    scale, bias = _f64(ins[1]).reshape(-1), _f64(ins[2]).reshape(-1)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return _f32((x - mean) / np.sqrt(var + a.epsilon) * scale + bias)


def _reciprocal(node: Node, ins: Sequence[Array]) -> Array:
    return _f32(np.float32(1.0) / _f32(ins[0]))


MATH_RULES: dict[Op, Rule] = {
    Op.DIV: lambda n, ins: _f32(_f32(ins[0]) / _f32(ins[1])),
    Op.EXP: lambda n, ins: _f32(np.exp(_f64(ins[0]))),
    Op.LOG: lambda n, ins: _f32(np.log(_f64(ins[0]))),
    Op.SQRT: lambda n, ins: _f32(np.sqrt(_f64(ins[0]))),
    Op.NEG: lambda n, ins: _f32(-_f32(ins[0])),
    Op.RECIPROCAL: _reciprocal,
    Op.ABS: lambda n, ins: _f32(np.abs(_f32(ins[0]))),
    Op.POW: _pow,
    Op.ERF: lambda n, ins: _f32(erf(ins[0])),
    Op.GELU: _gelu,
    Op.SWISH: _swish,
    Op.HARD_SWISH: _hard_swish,
    Op.LAYERNORM: _layernorm,
    Op.BATCH_MATMUL: lambda n, ins: _f32(np.matmul(_f64(ins[0]), _f64(ins[1]))),
}


FIXED_POINT_UNSUPPORTED: dict[Op, str] = {
    op: "float engines only (reference, CPU backend): no fixed-point semantics is defined yet for "
        f"{op.value} (docs/numerics.md); quantizing it needs lookup tables or dividers not written yet"
    for op in MATH_RULES
}
"""The reason every fixed-point consumer (precision configuration, emulator, HLS backend in
both IO types, resource estimate) gives for this family: its ``UNSUPPORTED`` table."""
