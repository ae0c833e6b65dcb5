"""The bit-exact fixed-point emulator: NUMERICS.md §4 in numpy, on raw integers.

Why an emulator: it is the Python statement of what the HLS C++ computes, bit for bit, so a
user sees the FPGA's numbers (and where they overflow) without compiling, and the C simulation
is checked against it with exact equality. It runs a graph returned by
``quantize.configure``: every value carries its fixed-point type, every constant is already
quantized, tables are stored on the nodes.

Everything is integer: a tensor is its raw integers (``value = raw * 2**-frac``), operations
are exact (int64, or Python ints when a bound says int64 could overflow) and precision is lost
only by ``fixed.convert_raw`` where a value is assigned to a declared type. Each op has one
small rule in :data:`RULES`; Dense/Conv use the fast exact paths of ``_emulate_dot``.

``run(graph, x)`` returns float64 arrays in the user's layout (exact: ``to_float`` of the raw
results). ``run(graph, x, trace=True)`` returns a :class:`Trace` with every layer's output
(keyed like ``reference.run(trace=True)``) and overflow counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import GraphError, PrecisionError, UnsupportedOpError
from ..ir.graph import Graph, Node
from ..ir.ops import ConvAttrs, Op, PoolAttrs
from ..ir.types import FixedType, Overflow, TensorType
from ..reference import trace_keys
from ._emulate_arith import (
    I64_SAFE,
    Fx,
    absmax,
    add,
    align,
    cast,
    in_range,
    mul,
    overflow_mask,
    to_object,
)
from ._emulate_dot import accumulate
from ._emulate_window import tap_counts, windows
from .config import is_configured, raw_constant
from .fixed import as_fixed_type, quantize, quantize_exact, to_float
from .tables import TableSpec

__all__ = ["run", "Trace", "RULES", "float_overflow_mask", "pool_scale_raw"]

Rule = Callable[["_Ctx", Node, Sequence[Fx]], np.ndarray]

_CHUNK_ELEMENTS = 1 << 20
"""Target size (elements) of the largest intermediate array; the batch is split to fit."""


@dataclass
class Trace:
    """Every layer's output and overflow counts of one emulator run.

    ``outputs[key]``: float64 values (exact for types up to 53 bits), keyed like
    ``reference.run(trace=True)`` (the source layer name, or the IR node name when a source
    name is shared); graph outputs in the user's layout, others channels-last.
    ``raw[key]``: the same as raw integers of ``types[key]``.
    ``overflows[key]``: how many values overflowed when cast into the layer's result type.
    ``accum_overflows[key]``: for layers with an accumulator (Dense/Conv ``accum``, AvgPool
    ``accum``, Softmax ``sum``): how many outputs saw the accumulator overflow at least once.
    ``input_overflows[name]``: graph inputs that overflowed the input type.
    An overflow is a value whose rounding lies outside the type's range; the type's overflow
    mode (wrap or saturate) then decided the stored value.
    """

    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    raw: dict[str, np.ndarray] = field(default_factory=dict)
    types: dict[str, TensorType] = field(default_factory=dict)
    overflows: dict[str, int] = field(default_factory=dict)
    accum_overflows: dict[str, int] = field(default_factory=dict)
    input_overflows: dict[str, int] = field(default_factory=dict)

    @property
    def total_overflows(self) -> int:
        return sum(self.overflows.values()) + sum(self.accum_overflows.values()) + sum(self.input_overflows.values())


def float_overflow_mask(x: np.ndarray, t: TensorType) -> np.ndarray:
    """Where converting float values ``x`` into ``t`` overflows (±inf always does)."""
    ft = as_fixed_type(t)  # type: ignore[arg-type]
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    xf = np.where(finite, x, 0.0)
    wrapped = quantize(xf, replace(ft, overflow=Overflow.WRAP))
    sat = quantize(xf, replace(ft, overflow=Overflow.SAT))
    far = (xf >= float(ft.max) * 2 + 1) | (xf <= float(ft.min) * 2 - 1)
    return (wrapped != sat) | far | ~finite


def pool_scale_raw(n: int, t: TensorType) -> int:
    """``cast_scale(1/n)``: the exact rational ``1/n`` converted into the scale type."""
    return int(quantize_exact(Fraction(1, n), as_fixed_type(t)))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- context


class _Ctx:
    """What a rule needs besides its inputs: types, casts, overflow bookkeeping."""

    def __init__(self, graph: Graph, count: bool, keys: Mapping[str, str]) -> None:
        self.graph = graph
        self.count = count
        self.keys = keys
        self.overflows: dict[str, int] = {}
        self.accum_overflows: dict[str, int] = {}
        self.caches: dict[tuple[str, int], dict] = {}  # per node (and conv group), across chunks

    def cache(self, node: Node, part: int = 0) -> dict:
        return self.caches.setdefault((node.name, part), {})

    def out_type(self, node: Node) -> FixedType:
        return as_fixed_type(self.graph.values[node.outputs[0]].type)  # type: ignore[arg-type]

    def var(self, node: Node, name: str) -> FixedType:
        t = node.precision.get(name)
        if t is None:
            raise PrecisionError(
                f"{node.describe()}: no '{name}' precision on the node; run quantize.configure(graph, config) first"
            )
        return as_fixed_type(t)  # type: ignore[arg-type]

    def option(self, node: Node, name: str) -> Any:
        if name not in node.options:
            raise PrecisionError(
                f"{node.describe()}: no '{name}' on the node; run quantize.configure(graph, config) first"
            )
        return node.options[name]

    def result(self, node: Node, x: Fx, bounds: tuple[int, int] | None = None) -> np.ndarray:
        """Cast into the node's result type (the only place a layer's output rounds).

        ``bounds``: the raw range of ``x`` when the rule knows it statically (from its input
        type), which spares a pass over the data and, when it fits, the overflow check.
        """
        t = self.out_type(node)
        out = cast(x, t, bounds)
        if self.count and not (bounds is not None and in_range(bounds, x.frac, t)):
            key = self.keys[node.name]
            self.overflows[key] = self.overflows.get(key, 0) + int(np.count_nonzero(overflow_mask(x, t)))
        return out

    def accum(self, node: Node, x: Fx, t: FixedType) -> np.ndarray:
        out = cast(x, t)
        if self.count:
            self.add_accum(node, int(np.count_nonzero(overflow_mask(x, t))))
        return out

    def add_accum(self, node: Node, n: int) -> None:
        if self.count:
            key = self.keys[node.name]
            self.accum_overflows[key] = self.accum_overflows.get(key, 0) + n


def _frac(t: TensorType) -> int:
    return as_fixed_type(t).frac  # type: ignore[arg-type]


def _input_bounds(ctx: _Ctx, node: Node, i: int = 0) -> tuple[int, int]:
    """Raw range of the node's input ``i`` (its type's range): ops that only move, pick or
    compare values stay inside it."""
    t = as_fixed_type(ctx.graph.values[node.inputs[i]].type)  # type: ignore[arg-type]
    return t.raw_min, t.raw_max


# ----------------------------------------------------------------------------- rules


def _dense(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    x, k, b = ins
    acc_t = ctx.var(node, "accum")
    lead = x.raw.shape[:-1]
    rows = Fx(x.raw.reshape(-1, x.raw.shape[-1]), x.frac)
    acc, n_over = accumulate(rows, k.raw, k.frac, b.raw, b.frac, acc_t, count=ctx.count, cache=ctx.cache(node))
    ctx.add_accum(node, n_over)
    return ctx.result(node, Fx(acc.reshape(lead + (k.raw.shape[1],)), acc_t.frac))


def _conv(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    x, k, b = ins
    a: ConvAttrs = node.attrs
    acc_t = ctx.var(node, "accum")
    nsp = len(a.kernel_shape)
    win = windows(x.raw, a.kernel_shape, a.strides, a.dilations, a.pads, False, 0)  # (N, *out, *K, C)
    n, out = win.shape[0], win.shape[1 : 1 + nsp]
    c_in, c_out = x.raw.shape[-1], k.raw.shape[-1]
    g = a.groups
    cig, cog = c_in // g, c_out // g
    parts = []
    n_over = 0
    for gi in range(g):
        taps = math.prod(a.kernel_shape) * cig
        patches = win[..., gi * cig : (gi + 1) * cig].reshape(n * math.prod(out), taps)  # (ky, kx, c_in) order
        kg = k.raw[..., gi * cog : (gi + 1) * cog].reshape(-1, cog)
        acc, over = accumulate(Fx(patches, x.frac), kg, k.frac, b.raw[gi * cog : (gi + 1) * cog], b.frac, acc_t,
                               count=ctx.count, cache=ctx.cache(node, gi))
        parts.append(acc)
        n_over += over
    ctx.add_accum(node, n_over)
    acc = np.concatenate(parts, axis=-1) if g > 1 else parts[0]
    return ctx.result(node, Fx(acc.reshape((n, *out, c_out)), acc_t.frac))


def _kernel_axes(nsp: int) -> tuple[int, ...]:
    return tuple(range(1 + nsp, 1 + 2 * nsp))


def _max_pool(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    a: PoolAttrs = node.attrs
    nsp = len(a.kernel_shape)
    fill = int(np.iinfo(np.int64).min) if x.raw.dtype != object else -(1 << 70)
    win = windows(x.raw, a.kernel_shape, a.strides, (1,) * nsp, a.pads, a.ceil_mode, fill)
    return ctx.result(node, Fx(win.max(axis=_kernel_axes(nsp)), x.frac), _input_bounds(ctx, node))


def _exact_sum(raw: np.ndarray, axis: tuple[int, ...], keepdims: bool = False) -> np.ndarray:
    n = math.prod(raw.shape[i] for i in axis)
    if raw.dtype != object and absmax(raw) * n >= I64_SAFE:
        raw = to_object(raw)
    return raw.sum(axis=axis, keepdims=keepdims)


def _scaled_average(ctx: _Ctx, node: Node, total: Fx, counts: np.ndarray) -> np.ndarray:
    """``cast_result(cast_accum(Σx) · cast_scale(1/n))`` with ``n`` per window."""
    acc_t, scale_t = ctx.var(node, "accum"), ctx.var(node, "scale")
    acc = ctx.accum(node, total, acc_t)
    scales = {int(c): pool_scale_raw(int(c), scale_t) for c in np.unique(counts)}
    scale = np.vectorize(scales.__getitem__, otypes=[np.int64])(counts) if counts.ndim else np.int64(scales[int(counts)])
    return ctx.result(node, mul(Fx(acc, acc_t.frac), Fx(np.asarray(scale)[None, ..., None], scale_t.frac)))


def _avg_pool(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    a: PoolAttrs = node.attrs
    nsp = len(a.kernel_shape)
    win = windows(x.raw, a.kernel_shape, a.strides, (1,) * nsp, a.pads, a.ceil_mode, 0)
    total = Fx(_exact_sum(win, _kernel_axes(nsp)), x.frac)
    counts = tap_counts(x.raw.shape[1 : 1 + nsp], a.kernel_shape, a.strides, a.pads, a.ceil_mode, a.count_include_pad)
    return _scaled_average(ctx, node, total, counts)


def _global_max(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    axes = tuple(range(1, x.raw.ndim - 1))
    return ctx.result(node, Fx(x.raw.max(axis=axes, keepdims=node.attrs.keepdims), x.frac), _input_bounds(ctx, node))


def _global_avg(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    axes = tuple(range(1, x.raw.ndim - 1))
    total = Fx(_exact_sum(x.raw, axes, keepdims=node.attrs.keepdims), x.frac)
    n = math.prod(x.raw.shape[1:-1])
    counts = np.full(total.raw.shape[1:-1], n, dtype=np.int64)
    return _scaled_average(ctx, node, total, counts)


def _batchnorm(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    x, s, b = ins
    return ctx.result(node, add(mul(x, s), b))


def _relu(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    lo, hi = _input_bounds(ctx, node)
    return ctx.result(node, Fx(np.maximum(x.raw, 0), x.frac), (max(lo, 0), max(hi, 0)))


def _param(ctx: _Ctx, node: Node, value: float) -> Fx:
    """A float attribute as a typed constant: ``cast_param(value)``."""
    t = ctx.var(node, "param")
    return Fx(np.asarray(quantize(np.float64(value), t)), t.frac)


def _select(cond: np.ndarray, a: Fx, b: Fx) -> Fx:
    """Elementwise ``cond ? a : b`` of exact values (aligned to a common frac, no rounding)."""
    f = max(a.frac, b.frac)
    x, y = align(a, f), align(b, f)
    if x.dtype == object or y.dtype == object:
        x, y = to_object(x), to_object(y)
    return Fx(np.where(cond, x, y), f)


def _leaky_relu(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    return ctx.result(node, _select(x.raw >= 0, x, mul(x, _param(ctx, node, node.attrs.alpha))))


def _clip(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    lo = _param(ctx, node, node.attrs.min) if node.attrs.min is not None else None
    hi = _param(ctx, node, node.attrs.max) if node.attrs.max is not None else None
    f = max([x.frac] + [p.frac for p in (lo, hi) if p is not None])
    v = align(x, f)
    if lo is not None:
        v = np.maximum(v, int(align(lo, f)))
    if hi is not None:
        v = np.minimum(v, int(align(hi, f)))
    return ctx.result(node, Fx(v, f))


def _hard_sigmoid(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    v = add(mul(x, _param(ctx, node, node.attrs.alpha)), _param(ctx, node, node.attrs.beta))
    f = max(v.frac, 0)
    r = align(v, f)
    return ctx.result(node, Fx(np.minimum(np.maximum(r, 0), 1 << f), f))


def _table_of(ctx: _Ctx, node: Node, name: str, x: Fx) -> Fx:
    spec: TableSpec = ctx.option(node, name)
    if spec.index_frac != x.frac:
        raise GraphError(
            f"{node.describe()}: {name} is indexed by a value with {spec.index_frac} fractional bits, "
            f"got {x.frac}; re-run quantize.configure"
        )
    return Fx(spec.lookup(x.raw), spec.entry_type.frac)


def _table(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    return ctx.result(node, _table_of(ctx, node, "table", x))


def _elu(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    if "table" not in node.options:  # unsigned input: x >= 0 always
        return ctx.result(node, x)
    return ctx.result(node, _select(x.raw >= 0, x, _table_of(ctx, node, "table", x)))


def _selu(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    pos = mul(x, _param(ctx, node, node.attrs.gamma))
    if "table" not in node.options:
        return ctx.result(node, pos)
    return ctx.result(node, _select(x.raw >= 0, pos, _table_of(ctx, node, "table", x)))


def _softmax(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    mode = ctx.option(node, "softmax").mode
    if mode == "argmax":
        first = np.argmax(x.raw, axis=-1)[..., None]
        onehot = (np.arange(x.raw.shape[-1]) == first).astype(np.int64)
        return ctx.result(node, Fx(onehot, 0))
    m = x.raw.max(axis=-1, keepdims=True)
    d = add(x, Fx(m, x.frac), subtract=True)  # exact, <= 0
    e = _table_of(ctx, node, "exp_table", d)
    sum_t = ctx.var(node, "sum")
    s = ctx.accum(node, Fx(_exact_sum(e.raw, (e.raw.ndim - 1,), keepdims=True), e.frac), sum_t)
    r = _table_of(ctx, node, "inv_table", Fx(s, sum_t.frac))
    return ctx.result(node, mul(e, r))


def _batched_operands(node: Node, ins: Sequence[Fx], const: Sequence[bool], out_rank: int) -> list[Fx]:
    """Line up operands for numpy broadcasting: activations ``(N, *shape)`` get size-1 axes
    after the batch axis up to the output rank; constants (unbatched) align on trailing axes."""
    out = []
    for fx, is_const in zip(ins, const, strict=True):
        r = fx.raw
        if not is_const and r.ndim - 1 < out_rank:
            r = r.reshape((r.shape[0],) + (1,) * (out_rank - (r.ndim - 1)) + r.shape[1:])
        out.append(Fx(r, fx.frac))
    return out


def _binary(kind: str) -> Rule:
    def rule(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
        const = [ctx.graph.values[i].is_constant for i in node.inputs]
        if all(const):  # pragma: no cover - constant folding happens in the passes
            raise UnsupportedOpError(f"{node.describe()}: both operands are constants")
        rank = len(ctx.graph.values[node.outputs[0]].shape)
        a, b = _batched_operands(node, ins, const, rank)
        v = mul(a, b) if kind == "mul" else add(a, b, subtract=kind == "sub")
        return ctx.result(node, v)

    return rule


def _concat(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    f = max(x.frac for x in ins)
    n = next(x.raw.shape[0] for x, i in zip(ins, node.inputs, strict=True) if not ctx.graph.values[i].is_constant)
    parts = []
    for x, name in zip(ins, node.inputs, strict=True):
        r = align(x, f)
        if ctx.graph.values[name].is_constant:
            r = np.broadcast_to(r[None], (n,) + r.shape)
        parts.append(r)
    if any(p.dtype == object for p in parts):
        parts = [to_object(p) for p in parts]
    return ctx.result(node, Fx(np.concatenate(parts, axis=node.attrs.axis + 1), f))


def _reshape_like(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    shape = ctx.graph.values[node.outputs[0]].shape
    return ctx.result(node, Fx(x.raw.reshape((x.raw.shape[0],) + tuple(shape)), x.frac), _input_bounds(ctx, node))


def _transpose(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    perm = (0,) + tuple(p + 1 for p in node.attrs.perm)
    return ctx.result(node, Fx(np.ascontiguousarray(np.transpose(x.raw, perm)), x.frac), _input_bounds(ctx, node))


def _pad(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    lo, hi = _input_bounds(ctx, node)
    padded = np.pad(x.raw, [(0, 0)] + [tuple(p) for p in node.attrs.pads])
    return ctx.result(node, Fx(padded, x.frac), (min(lo, 0), max(hi, 0)))


def _quantize(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    (x,) = ins
    elements = node.attrs.elements
    if elements is None:
        return ctx.result(node, x, _input_bounds(ctx, node))
    from .per_element import convert_raw_elements, overflow_count_elements  # per-element quantizers

    container = ctx.out_type(node)
    try:
        elements.check_container(container)
    except PrecisionError as e:
        raise PrecisionError(f"{node.describe()}: {e}") from None
    if ctx.count:
        key = ctx.keys[node.name]
        ctx.overflows[key] = ctx.overflows.get(key, 0) + overflow_count_elements(x.raw, x.frac, elements)
    return convert_raw_elements(x.raw, x.frac, elements, container)


def _tree_ensemble(ctx: _Ctx, node: Node, ins: Sequence[Fx]) -> np.ndarray:
    from .trees import emulate_tree_ensemble  # its own rule module (quantize/trees.py)

    return emulate_tree_ensemble(ctx, node, list(ins))


RULES: dict[Op, Rule] = {
    Op.DENSE: _dense,
    Op.CONV1D: _conv,
    Op.CONV2D: _conv,
    Op.MAXPOOL1D: _max_pool,
    Op.MAXPOOL2D: _max_pool,
    Op.AVGPOOL1D: _avg_pool,
    Op.AVGPOOL2D: _avg_pool,
    Op.GLOBAL_MAXPOOL: _global_max,
    Op.GLOBAL_AVGPOOL: _global_avg,
    Op.BATCHNORM: _batchnorm,
    Op.RELU: _relu,
    Op.LEAKY_RELU: _leaky_relu,
    Op.CLIP: _clip,
    Op.SIGMOID: _table,
    Op.HARD_SIGMOID: _hard_sigmoid,
    Op.TANH: _table,
    Op.SOFTMAX: _softmax,
    Op.ELU: _elu,
    Op.SELU: _selu,
    Op.SOFTPLUS: _table,
    Op.ADD: _binary("add"),
    Op.SUB: _binary("sub"),
    Op.MUL: _binary("mul"),
    Op.CONCAT: _concat,
    Op.FLATTEN: _reshape_like,
    Op.RESHAPE: _reshape_like,
    Op.TRANSPOSE: _transpose,
    Op.PAD: _pad,
    Op.QUANTIZE: _quantize,
    Op.TREE_ENSEMBLE: lambda ctx, node, ins: _tree_ensemble(ctx, node, ins),
}
"""The emulator's rule for each final op (docs/numerics.md states each one); a test checks
that it covers ``ir.ops.FINAL_OPS``."""

from ._emulate_index import rules as _index_rules  # noqa: E402 - index ops: their own module (issue 12)

RULES.update(_index_rules(_input_bounds))

from ._emulate_recurrent import rules as _recurrent_rules  # noqa: E402 - recurrent cells, LayerNorm (issue 12)

RULES.update(_recurrent_rules())


# ----------------------------------------------------------------------------- driver


def _prepare_inputs(graph: Graph, x: Any) -> dict[str, np.ndarray]:
    """The fixed-point engines' rule (docs/numerics.md, "Special input values"): ±inf saturate
    under SAT types, give 0 under SAT_ZERO, are an ``InputError`` under WRAP; NaN is an
    ``InputError``: the fixed-point model has no NaN. Shared with the C simulation."""
    return graph.prepare_inputs(x, engine="fixed")


def _check_graph(graph: Graph) -> None:
    if not is_configured(graph):
        raise PrecisionError(
            f"model {graph.name!r} is not quantized: run hlsforge.quantize.configure(graph, config) "
            "first (the emulator needs a fixed-point type on every value)"
        )
    for node in graph.nodes:
        if node.op not in RULES:
            why = UNSUPPORTED.get(node.op, "no rule")
            raise UnsupportedOpError(f"{node.describe()}: the emulator has no rule for {node.op.value} ({why})")


def _chunk_rows(graph: Graph) -> int:
    """Rows per chunk so the largest intermediate (incl. Conv patches) stays near 1M
    elements: small enough that a layer's arrays stay in cache between its steps."""
    biggest = max([v.size for v in graph.values.values() if not v.is_constant] + [1])
    for node in graph.nodes:
        if node.op in (Op.CONV1D, Op.CONV2D):
            k = graph.values[node.inputs[1]].shape
            biggest = max(biggest, math.prod(graph.values[node.outputs[0]].shape[:-1]) * math.prod(k[:-1]))
    return max(1, _CHUNK_ELEMENTS // biggest)


def _run_chunk(graph: Graph, inputs: Mapping[str, np.ndarray], ctx: _Ctx, keep: set[str] | None) -> dict[str, np.ndarray]:
    env: dict[str, np.ndarray] = dict(inputs)
    consts: dict[str, Fx] = {}
    last_use = {name: i for i, n in enumerate(graph.nodes) for name in n.inputs}
    for idx, node in enumerate(graph.nodes):
        ins = []
        for name in node.inputs:
            v = graph.values[name]
            if v.is_constant:
                if name not in consts:
                    consts[name] = Fx(raw_constant(v), _frac(v.type))
                ins.append(consts[name])
            else:
                ins.append(Fx(env[name], _frac(v.type)))
        out = RULES[node.op](ctx, node, ins)
        if isinstance(out, tuple):  # multi-output ops (recurrent cells: Y, Y_h[, Y_c])
            env.update(zip(node.outputs, out, strict=True))
        else:
            env[node.outputs[0]] = out
        if keep is None:  # free what no later node reads
            for name in node.inputs:
                if last_use.get(name) == idx and name not in graph.outputs:
                    env.pop(name, None)
    return env


def run(graph: Graph, x: Any, *, trace: bool = False) -> Any:
    """Emulate the quantized model bit-exactly on a batch (in the source model's layout).

    Returns one float64 array for a single-output model, else a dict keyed by output name;
    with ``trace=True`` a :class:`Trace`. Raises ``PrecisionError`` if ``graph`` did not come
    from ``quantize.configure``, ``InputError`` for NaN or badly shaped inputs.
    """
    _check_graph(graph)
    arrays = _prepare_inputs(graph, x)
    n = next(iter(arrays.values())).shape[0]
    keys = trace_keys(graph)
    ctx = _Ctx(graph, trace, keys)
    in_types = {name: as_fixed_type(graph.values[name].type) for name in graph.inputs}  # type: ignore[arg-type]
    input_over: dict[str, int] = {name: 0 for name in graph.inputs}
    step = _chunk_rows(graph)
    pieces: dict[str, list[np.ndarray]] = {}
    wanted = set(graph.outputs) | ({o for nd in graph.nodes for o in nd.outputs} if trace else set())
    for start in range(0, max(n, 1), step):
        chunk = {}
        for name, a in arrays.items():
            xi = np.asarray(graph.to_internal(name, a[start : start + step]), dtype=np.float64)
            # the input's own type: ap_int converts doubles by its own C rules (see fixed.quantize)
            chunk[name] = quantize(xi, graph.values[name].type)  # type: ignore[arg-type]  # configured: fixed
            if trace:
                input_over[name] += int(np.count_nonzero(float_overflow_mask(xi, in_types[name])))
        env = _run_chunk(graph, chunk, ctx, wanted if trace else None)
        for name in wanted:
            pieces.setdefault(name, []).append(env[name])
    raw = {name: (np.concatenate(p) if len(p) > 1 else p[0]) for name, p in pieces.items()}

    def user(name: str) -> np.ndarray:
        return graph.to_user(name, raw[name]) if name in graph.outputs else raw[name]

    def value(name: str) -> np.ndarray:
        return to_float(user(name), graph.values[name].type)  # type: ignore[arg-type]

    if trace:
        t = Trace(input_overflows=input_over)
        for node in graph.nodes:
            key, out = keys[node.name], node.outputs[0]
            t.raw[key] = user(out)
            t.outputs[key] = to_float(t.raw[key], graph.values[out].type)  # type: ignore[arg-type]
            t.types[key] = graph.values[out].type
            t.overflows[key] = ctx.overflows.get(key, 0)
            if node.op in (Op.DENSE, Op.CONV1D, Op.CONV2D, Op.AVGPOOL1D, Op.AVGPOOL2D, Op.GLOBAL_AVGPOOL,
                           Op.TREE_ENSEMBLE, Op.GRU, Op.LSTM, Op.SIMPLE_RNN, Op.LAYERNORM) or (
                node.op is Op.SOFTMAX and "sum" in node.precision
            ):
                t.accum_overflows[key] = ctx.accum_overflows.get(key, 0)
        return t
    outs = {name: value(name) for name in graph.outputs}
    return next(iter(outs.values())) if len(outs) == 1 else outs


from ..float_only import FLOAT_ONLY  # noqa: E402 - float-only op families (issue 12)

UNSUPPORTED: dict[Op, str] = dict(FLOAT_ONLY)
"""Final ops this consumer refuses on purpose, with the reason (tests/test_op_coverage.py)."""
