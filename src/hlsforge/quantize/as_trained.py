"""The model as trained: types inferred from a quantized model's own quantizers.

Why: a QKeras / QONNX / HGQ2 / ``hlsforge.qat`` model already says how every quantized value
is rounded. ``configure(graph)`` without a configuration must reproduce that model exactly,
not fall back to ``ap_fixed<16,6>`` wherever a layer has no quantizer. The rule, per variable
that no configuration sets:

- a quantizer's type where the model has one (``Quantize`` targets, typed weights, values a
  frontend or ``hlsforge.qat`` typed already);
- elsewhere the **narrowest lossless type** for every input the previous types allow:
  accumulators (``auto``), results of Dense/Conv (the accumulator), Add/Sub/Mul (the exact
  ``ap_fixed`` result type), Concat (the union), pooling, ReLU, Clip, LeakyReLU,
  BatchNormalization and reshapes; constants without a quantizer (a float bias, a BN scale)
  take the narrowest type holding their values exactly (at most :data:`EXACT_CONST_WIDTH`
  bits), else the default, as hls4ml does for layers without quantizers (not exact, reported);
- table functions (sigmoid, tanh, softmax...) cannot be exact; their tables and results take
  the configuration's default (``ap_fixed<16,6>``), and the report says so.

The graph input takes the type of the quantizer that reads it (then casting a float input
*is* that quantizer, for every float input), a type the graph already carries, or the
``input=`` given by the caller; otherwise a ``PrecisionError`` says to pass one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import PrecisionError
from ..ir.graph import Graph, Node
from ..ir.ops import Op
from ..ir.types import MAX_WIDTH, FixedType, IntType, TensorType, parse_type
from .fixed import ResultType, as_fixed_type, fixed_add_type, fixed_mul_type, fixed_sub_type
from .infer import type_for_raw_range

if TYPE_CHECKING:  # pragma: no cover
    from .config import _Configurer

__all__ = ["carries_quantizers", "exact_value_type", "union_type", "AsTrained"]

EXACT_CONST_WIDTH = 32
"""Widest type given to an unquantized constant so that it stays exact."""

_TABLE_OPS = (Op.SIGMOID, Op.TANH, Op.ELU, Op.SELU, Op.SOFTPLUS, Op.SOFTMAX)
_TABLE_OPS += (Op.GRU, Op.LSTM, Op.SIMPLE_RNN, Op.LAYERNORM)  # tables inside (docs/numerics.md §12)
_SAME_AS_INPUT = (Op.MAXPOOL1D, Op.MAXPOOL2D, Op.GLOBAL_MAXPOOL, Op.FLATTEN, Op.RESHAPE, Op.TRANSPOSE, Op.PAD,
                  Op.SLICE, Op.GATHER)


def _is_fixed(t: Any) -> bool:
    return isinstance(t, (FixedType, IntType))


def carries_quantizers(graph: Graph) -> bool:
    """Does the model quantize anything itself (explicit quantizers, typed weights or values)?"""
    if any(n.op is Op.QUANTIZE for n in graph.nodes):
        return True
    return any(_is_fixed(v.type) for v in graph.values.values())


def exact_value_type(values: np.ndarray, *, max_width: int = EXACT_CONST_WIDTH) -> FixedType | None:
    """The narrowest fixed-point type holding every value exactly, or ``None`` if it needs more
    than ``max_width`` bits (or the values are not finite)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0 or not np.isfinite(v).all():
        return None if v.size else FixedType(1, 1, False)
    nz = v[v != 0]
    if nz.size == 0:
        return FixedType(1, 1, False)
    mant, exp = np.frexp(nz)
    m = np.abs(mant * 2.0**53).astype(np.int64)
    tz = np.zeros(m.shape, dtype=np.int64)
    for k in (32, 16, 8, 4, 2, 1):  # trailing zero bits of each significand
        mask = (m & ((1 << k) - 1)) == 0
        tz += np.where(mask, k, 0)
        m = np.where(mask, m >> k, m)
    frac = int((53 - exp - tz).max())
    if abs(frac) > 4 * MAX_WIDTH:
        return None
    raw = [int(x) for x in np.round(nz * 2.0**frac)] if abs(frac) < 1000 else None
    if raw is None:
        return None
    lo, hi = min(min(raw), 0), max(max(raw), 0)
    try:
        t = type_for_raw_range(lo, hi, frac)
    except PrecisionError:
        return None
    return t if t.width <= max_width else None


def approx_value_type(values: np.ndarray, width: int) -> FixedType:
    """A ``width``-bit type whose range covers the values (inexact: used when no exact type fits)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    big = float(np.abs(v).max()) if v.size else 1.0
    integer = max(math.frexp(big)[1], 1 - width + 1) + 1 if big > 0 else 1
    return FixedType(width, integer, True)


def union_type(types: list[TensorType]) -> FixedType:
    """The narrowest type holding every value of each of ``types`` (Concat, Clip, Select)."""
    fts = [as_fixed_type(t) for t in types]  # type: ignore[arg-type]
    frac = max(t.frac for t in fts)
    lo = min(t.raw_min << (frac - t.frac) for t in fts)
    hi = max(t.raw_max << (frac - t.frac) for t in fts)
    return type_for_raw_range(lo, hi, frac, signed=lo < 0 or None)


def _plain(rt: ResultType | FixedType) -> FixedType:
    """An exact result type as a ``FixedType`` (TRN/WRAP: nothing ever rounds or wraps)."""
    if isinstance(rt, ResultType):
        if rt.width > MAX_WIDTH:
            raise PrecisionError(f"needs {rt.width} bits, more than {MAX_WIDTH}")
        return rt.as_fixed()
    return FixedType(rt.width, rt.integer, rt.signed)


@dataclass
class AsTrained:
    """Type inference for the variables a configuration leaves unset (see the module doc)."""

    default: TensorType
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ inputs

    @staticmethod
    def input_types(graph: Graph, given: Any) -> dict[str, TensorType | None]:
        """Type of each graph input from ``given`` (a type, or a dict by input name), the type
        the graph carries, or the one quantizer that reads it; ``None`` when unknown."""
        out: dict[str, TensorType | None] = {}
        for name in graph.inputs:
            t: Any = given.get(name) if isinstance(given, Mapping) else given
            if t is not None:
                pt = parse_type(t)
                if not _is_fixed(pt):
                    raise PrecisionError(f"input {name!r}: {t!r} is not a fixed-point type")
                out[name] = pt
                continue
            v = graph.values[name]
            if _is_fixed(v.type):
                out[name] = v.type
                continue
            readers = [n for n in graph.nodes if name in n.inputs]
            targets = {n.attrs.target for n in readers if n.op is Op.QUANTIZE}
            out[name] = targets.pop() if readers and len(targets) == 1 and all(
                n.op is Op.QUANTIZE for n in readers) else None
        return out

    # ------------------------------------------------------------------ constants

    def constant_type(self, node: Node, role: str, data: np.ndarray) -> FixedType:
        t = exact_value_type(data)
        if t is not None:
            return t
        t = as_fixed_type(self.default)  # type: ignore[arg-type]
        self.notes.append(
            f"{node.describe()}: {role} is not quantized in the model and not exactly representable in "
            f"{EXACT_CONST_WIDTH} bits; it takes the default {t} (not bit-exact with the float model)"
        )
        return t

    # ------------------------------------------------------------------ variables

    def infer(self, c: _Configurer, node: Node, var: str) -> TensorType | None:
        """The as-trained type of ``var`` of ``node`` (``None``: auto, the lossless accumulator)."""
        if var == "result" and node.name in c.pretyped:
            return c.pretyped[node.name]
        if var in ("accum", "sum"):
            return None
        op = node.op
        if op in _TABLE_OPS:
            if var == "result" or var.endswith("table"):
                self.notes.append(f"{node.describe()}: {op.value} is computed with a table; {var} takes {self.default}")
            return self.default
        try:
            return self._infer(c, node, var)
        except PrecisionError as e:
            self.notes.append(f"{node.describe()}: no exact {var} type ({e}); using {self.default}")
            return self.default

    def _infer(self, c: _Configurer, node: Node, var: str) -> TensorType:
        op = node.op
        ins = [c.g.values[i] for i in node.inputs]
        x = ins[0].type if ins else None
        if var == "param":
            return self._param_type(node)
        if var == "scale" and op in (Op.AVGPOOL1D, Op.AVGPOOL2D, Op.GLOBAL_AVGPOOL):
            from .config import _window_taps

            n = _window_taps(node, c)
            t = exact_value_type(np.array([1.0 / n]))
            if t is None:
                t = FixedType(18, 0, False)
                self.notes.append(f"{node.describe()}: 1/{n} has no exact type; scale is {t} (not exact)")
            return t
        if var != "result":
            raise PrecisionError(f"{var} has no as-trained rule")  # pragma: no cover - constants go elsewhere
        if op in (Op.DENSE, Op.CONV1D, Op.CONV2D):
            return node.precision["accum"]
        if op in (Op.AVGPOOL1D, Op.AVGPOOL2D, Op.GLOBAL_AVGPOOL):
            return _plain(fixed_mul_type(node.precision["accum"], node.precision["scale"]))  # type: ignore[arg-type]
        if op in _SAME_AS_INPUT:
            return _plain(as_fixed_type(x))  # type: ignore[arg-type]
        if op is Op.RELU:
            ft = as_fixed_type(x)  # type: ignore[arg-type]
            return FixedType(ft.width - 1, ft.integer - 1, False) if ft.signed and ft.width > 1 else _plain(ft)
        if op is Op.CONCAT:
            return union_type([v.type for v in ins])  # type: ignore[misc]
        if op is Op.ADD:
            return _plain(fixed_add_type(ins[0].type, ins[1].type))  # type: ignore[arg-type]
        if op is Op.SUB:
            return _plain(fixed_sub_type(ins[0].type, ins[1].type))  # type: ignore[arg-type]
        if op is Op.MUL:
            return _plain(fixed_mul_type(ins[0].type, ins[1].type))  # type: ignore[arg-type]
        if op is Op.BATCHNORM:
            return _plain(fixed_add_type(fixed_mul_type(x, ins[1].type), ins[2].type))  # type: ignore[arg-type]
        if op is Op.LEAKY_RELU:
            p = node.precision["param"]
            return union_type([x, _plain(fixed_mul_type(x, p))])  # type: ignore[list-item, arg-type]
        if op is Op.CLIP:
            return union_type([x, node.precision["param"]])  # type: ignore[list-item]
        if op is Op.HARD_SIGMOID:
            p = node.precision["param"]
            lin = fixed_add_type(fixed_mul_type(x, p), p)  # type: ignore[arg-type]
            return FixedType(max(lin.frac, 0) + 1, 1, False)
        raise PrecisionError(f"no as-trained rule for {op.value}")

    def _param_type(self, node: Node) -> TensorType:
        a = node.attrs
        vals = [getattr(a, k) for k in ("alpha", "beta", "gamma", "min", "max") if getattr(a, k, None) is not None]
        t = exact_value_type(np.array(vals, dtype=np.float64)) if vals else FixedType(1, 1, False)
        if t is None:
            t = approx_value_type(np.array(vals, dtype=np.float64), 18)
            self.notes.append(f"{node.describe()}: parameters {vals} have no exact type; param is {t} (not exact)")
        return t
