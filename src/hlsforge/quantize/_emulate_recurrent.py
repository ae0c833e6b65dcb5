"""Emulator rules of the recurrent cells (GRU, LSTM, SimpleRNN) and LayerNormalization.

Their own rule module (issue 12): ``emulate.RULES`` merges :func:`rules`. The arithmetic is
docs/numerics.md §12, on raw integers like every other rule, vectorized over events (and,
for the input projection ``W·x + Wb``, over all time steps at once: it does not depend on
the state). The two dot products of a step are the Dense rule itself
(``_emulate_dot.accumulate``), so they share its exact fast paths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ir.graph import Node
from ..ir.ops import Op, RecurrentAttrs
from ..ir.types import FixedType
from ._emulate_arith import I64_SAFE, Fx, absmax, add, cast, mul, overflow_mask, to_object
from ._emulate_dot import accumulate
from .fixed import as_fixed_type

Array = np.ndarray


def _fx(t: Any) -> FixedType:
    return as_fixed_type(t)  # type: ignore[arg-type]


class _Cell:
    """One direction of one recurrent node, for a chunk of events."""

    def __init__(self, ctx: Any, node: Node, ins: Sequence[Fx], d: int) -> None:
        self.ctx, self.node, self.d = ctx, node, d
        a: RecurrentAttrs = node.attrs
        self.h = a.hidden_size
        self.acc_t = ctx.var(node, "accum")
        self.res_t = _fx(ctx.graph.values[node.outputs[0]].type)
        self.cell_t = ctx.var(node, "cell") if node.op is Op.LSTM else None
        self.w, self.r, self.b = ins[1], ins[2], ins[3]
        self.n_act = {Op.GRU: 2, Op.LSTM: 3, Op.SIMPLE_RNN: 1}[node.op]
        self.acts = a.activations[: self.n_act]

    def dot(self, x: Fx, w: Fx, rows: slice, bias: Array, part: int) -> Array:
        """``cast_accum`` Dense loop of ``x`` (events, K) with ``w[d][rows]`` (ONNX (out, K))."""
        kernel = np.ascontiguousarray(w.raw[self.d][rows].T)
        acc, over = accumulate(x, kernel, w.frac, bias, self.b.frac, self.acc_t, count=self.ctx.count,
                               cache=self.ctx.cache(self.node, 16 * self.d + part + 1))
        self.ctx.add_accum(self.node, over)
        return acc

    def gate(self, key: str, act: str, v: Fx) -> Fx:
        """A gate's activation: a table lookup (entry type) or ReLU (exact, the input's type)."""
        if act == "Relu":
            return Fx(np.maximum(v.raw, 0), v.frac)
        spec = self.ctx.option(self.node, key)
        return Fx(spec.lookup(v.raw), spec.entry_type.frac)

    def to_accum(self, v: Fx) -> Fx:
        return Fx(self.ctx.accum(self.node, v, self.acc_t), self.acc_t.frac)


def _state_cast(ctx: Any, node: Node, v: Fx, t: FixedType) -> Array:
    """``cast_cell``: counted with the layer's result overflows (a state, like ``h``)."""
    if ctx.count:
        key = ctx.keys[node.name]
        ctx.overflows[key] = ctx.overflows.get(key, 0) + int(np.count_nonzero(overflow_mask(v, t)))
    return cast(v, t)


def _stack(parts: list[Array], axis: int) -> Array:
    if any(p.dtype == object for p in parts):
        parts = [to_object(p) for p in parts]
    return np.stack(parts, axis=axis)


def _direction(ctx: Any, node: Node, x: Fx, ins: Sequence[Fx], d: int) -> tuple[Array, Array, Array | None]:
    """Run direction ``d``; returns raw (Y (N, S, H), H_last (N, H), C_last (N, H) or None)."""
    cell = _Cell(ctx, node, ins, d)
    a: RecurrentAttrs = node.attrs
    hs, g_n = cell.h, ins[1].raw.shape[1]
    n, s, k = x.raw.shape
    af = cell.acc_t.frac
    b = ins[3].raw[d]
    # input projection of every step at once: cast_accum Dense loop with bias Wb
    xw = cell.dot(Fx(x.raw.reshape(n * s, k), x.frac), ins[1], slice(None), b[:g_n], 0).reshape(n, s, g_n)
    h = Fx(np.broadcast_to(ins[4].raw[d], (n, hs)).copy(), ins[4].frac)
    c = Fx(np.broadcast_to(ins[5].raw[d], (n, hs)).copy(), ins[5].frac) if node.op is Op.LSTM else None
    reverse = a.direction == "reverse" or (a.direction == "bidirectional" and d == 1)
    steps = range(s - 1, -1, -1) if reverse else range(s)
    ys: list[Array] = [np.zeros(0)] * s
    rb = b[g_n:]
    peep = Fx(ins[6].raw[d], ins[6].frac) if node.op is Op.LSTM else None

    def peephole(j: int, cv: Fx) -> Fx:
        """``P_j · c`` (LSTM peepholes i, o, f), exact."""
        return mul(Fx(peep.raw[j * hs : (j + 1) * hs], peep.frac), cv)  # type: ignore[union-attr]

    for t in steps:
        xt = xw[:, t]

        def xg(i: int, xt: Array = xt) -> Fx:
            return Fx(xt[:, i * hs : (i + 1) * hs], af)

        if node.op is Op.SIMPLE_RNN:
            hr = cell.dot(h, ins[2], slice(None), rb, 1)
            pre_h = cell.to_accum(add(xg(0), Fx(hr, af)))
            h = Fx(ctx.result(node, cell.gate("table_f", cell.acts[0], pre_h)), cell.res_t.frac)
        elif node.op is Op.GRU:
            f_act, g_act = cell.acts
            hzr = cell.dot(h, ins[2], slice(0, 2 * hs), rb[: 2 * hs], 1)
            z = cell.gate("table_f", f_act, cell.to_accum(add(xg(0), Fx(hzr[:, :hs], af))))
            r = cell.gate("table_f", f_act, cell.to_accum(add(xg(1), Fx(hzr[:, hs:], af))))
            if a.linear_before_reset:
                hn = cell.dot(h, ins[2], slice(2 * hs, 3 * hs), rb[2 * hs :], 2)
                pre_n = cell.to_accum(add(xg(2), mul(r, Fx(hn, af))))
            else:
                rh = Fx(cast(mul(r, h), cell.res_t), cell.res_t.frac)  # cast_result(r·h)
                hn = cell.dot(rh, ins[2], slice(2 * hs, 3 * hs), rb[2 * hs :], 2)
                pre_n = cell.to_accum(add(xg(2), Fx(hn, af)))
            cand = cell.gate("table_g", g_act, pre_n)
            # (1 - z)·n + z·h == n + z·(h - n), exactly
            h = Fx(ctx.result(node, add(cand, mul(z, add(h, cand, subtract=True)))), cell.res_t.frac)
        else:  # LSTM, gates i o f c
            f_act, g_act, h_act = cell.acts
            cell_t: FixedType = cell.cell_t  # type: ignore[assignment]
            hr = cell.dot(h, ins[2], slice(None), rb, 1)

            def pre(i: int, extra: Fx | None, hr: Array = hr) -> Fx:
                v = add(xg(i), Fx(hr[:, i * hs : (i + 1) * hs], af))
                return cell.to_accum(v if extra is None else add(v, extra))

            ig = cell.gate("table_f", f_act, pre(0, peephole(0, c)))  # type: ignore[arg-type]
            if a.input_forget:
                fg = add(Fx(np.array(1, dtype=np.int64), 0), ig, subtract=True)
            else:
                fg = cell.gate("table_f", f_act, pre(2, peephole(2, c)))  # type: ignore[arg-type]
            gg = cell.gate("table_g", g_act, pre(3, None))
            c = Fx(_state_cast(ctx, node, add(mul(fg, c), mul(ig, gg)), cell_t), cell_t.frac)  # type: ignore[arg-type]
            og = cell.gate("table_f", f_act, pre(1, peephole(1, c)))
            h = Fx(ctx.result(node, mul(og, cell.gate("table_h", h_act, c))), cell.res_t.frac)
        ys[t] = h.raw
    return _stack(ys, 1), h.raw, (c.raw if c is not None else None)


def recurrent(ctx: Any, node: Node, ins: Sequence[Fx]) -> tuple[Array, ...]:
    """``Y (N, S, dirs, H)``, ``Y_h (N, dirs, H)`` (LSTM also ``Y_c``), raw in their types."""
    x = ins[0]
    dirs = 2 if node.attrs.direction == "bidirectional" else 1
    runs = [_direction(ctx, node, x, ins, d) for d in range(dirs)]
    y = _stack([r[0] for r in runs], 2)
    yh = _stack([r[1] for r in runs], 1)
    if node.op is Op.LSTM:
        return y, yh, _stack([r[2] for r in runs], 1)  # type: ignore[misc]
    return y, yh


def _exact_last_sum(raw: Array) -> Array:
    if raw.dtype != object and absmax(raw) * raw.shape[-1] >= I64_SAFE:
        raw = to_object(raw)
    return raw.sum(axis=-1, keepdims=True)


def layernorm(ctx: Any, node: Node, ins: Sequence[Fx]) -> Array:
    """docs/numerics.md §12: mean and variance in ``accum`` (1/C a typed constant), the
    inverse standard deviation from the ``rsqrt`` table, then ``cast_result(d·r·γ + β)``."""
    from .emulate import pool_scale_raw  # cast_accum(1/C): the exact rational converted once

    x, gamma, beta = ins
    acc_t = ctx.var(node, "accum")
    af = acc_t.frac
    n_c = x.raw.shape[-1]
    k = Fx(np.array(pool_scale_raw(n_c, acc_t), dtype=np.int64), af)

    def to_acc(v: Fx) -> Fx:
        return Fx(ctx.accum(node, v, acc_t), af)

    total = to_acc(Fx(_exact_last_sum(x.raw), x.frac))
    mean = to_acc(mul(total, k))
    dev = to_acc(add(x, mean, subtract=True))
    sq = mul(dev, dev)
    var = to_acc(mul(to_acc(Fx(_exact_last_sum(sq.raw), sq.frac)), k))
    spec = ctx.option(node, "table")
    inv = Fx(spec.lookup(var.raw), spec.entry_type.frac)
    return ctx.result(node, add(mul(mul(dev, inv), gamma), beta))


def rules() -> dict[Op, Callable[..., Any]]:
    return {Op.GRU: recurrent, Op.LSTM: recurrent, Op.SIMPLE_RNN: recurrent, Op.LAYERNORM: layernorm}
