"""Calibration knobs of the recurrent cells (GRU, LSTM, SimpleRNN) and LayerNormalization.

Why a module of its own: these layers have internal values — gate pre-activations, the LSTM
cell state, the activation tables, LayerNorm's mean/variance and its ``1/sqrt`` table — whose
types the generic Dense-like knobs of ``quantize/calibrate.py`` do not reach; left at the
default ``ap_fixed<16,6>`` they cap the accuracy no matter how wide everything else is.
``calibrate`` dispatches here for every op in :data:`OPS` (:func:`knobs` and :func:`entry`).

What each variable means is docs/numerics.md §12. The choices follow calibrate's rule:

* **integer bits** from ranges: weights from their values; internal values from the float
  reference's own cell math run on the layer's real inputs (:func:`observe`: every input and
  recurrent product, every pre-activation, every cell state; LayerNorm's row sums, means,
  deviations, squared-deviation sums and variances);
* **fractional bits** are knobs descended by cost: ``weight`` (W, P and LayerNorm's γ/β),
  ``rweight`` (R), ``accum`` (the accumulators; biases take the accumulator's fractional bits,
  more would be rounded away when the accumulator starts from them), ``cell`` (LSTM), ``table``
  (entry fractional bits) and the generic ``result``;
* **table size** is a knob too (``tsize``: log2 of ``table_size``), so the descent trades a
  table's error against its ROM (``hlsforge.estimate`` costs a table by entries × width per
  read: LUT ROM, or block RAM beyond ``rom_lut_max_bits``, which calibrate's objective
  counts); after the descent a layer's table size and entry bits are searched together
  (:func:`table_pairs`), since block RAM comes in steps of entries × width. LayerNorm's table interval (``table_range``) is the observed variance range with the
  margin, so its entries go where rows are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..ir.graph import Graph, Node
from ..ir.ops import LayerNormAttrs, Op
from ..ir.types import FixedType, type_to_str
from ..reference_rules.recurrent import _direction
from ._config_recurrent import RECURRENT_OPS, directions, table_keys

OPS = (*RECURRENT_OPS, Op.LAYERNORM)
"""Ops whose knobs this module chooses."""

TABLE_LOG2_MIN = 4
"""Smallest table tried: 16 entries."""
TABLE_LOG2_MAX = 16
"""Largest table tried: 65536 entries. A table's error is its slope times half a step, so a
layer whose output another layer amplifies (LayerNorm of rows with a small variance) can need
large tables to agree with the float model; the descent shrinks them when it can."""


def knob_start(key: str, frac_start: int) -> int:
    """Where a knob of this module starts when the fractional-bit knobs start at ``frac_start``
    (12, or up to 24 when 12 misses the target): 2^12 entries, one more
    doubling every 3 bits above 12, at most 2^16."""
    if key.startswith("tsize:"):
        return min(TABLE_LOG2_MAX, 12 + max(frac_start - 12, 0) // 3)
    return frac_start

Ranges = dict[str, tuple[float, float]]

_BOUNDED = ("sigmoid", "tanh", "hard_sigmoid", "softsign")
"""Table functions whose values lie in [-1, 1]: their entries need no integer bit beyond the sign."""


def _span(a: np.ndarray, old: tuple[float, float] | None = None) -> tuple[float, float]:
    lo, hi = float(np.min(a)), float(np.max(a))
    return (lo, hi) if old is None else (min(lo, old[0]), max(hi, old[1]))


def observe(graph: Graph, node: Node, env: Mapping[str, np.ndarray]) -> Ranges:
    """Ranges of ``node``'s internal values on the calibration data (``env``: every float
    value of the model, ``reference.values``). Recurrent: ``accum`` (every product, sum and
    pre-activation), LSTM ``cell`` (initial_c included) and ``result`` (initial_h, which the
    state type must hold besides the outputs); LayerNorm: ``accum`` (row sum, mean, deviations, sum
    of squared deviations, variance) and ``var`` (the table's input)."""
    ins = [np.asarray(env[v], np.float64) if v in env else np.asarray(graph.values[v].data, np.float64)
           for v in node.inputs]
    out: Ranges = {}
    if node.op is Op.LAYERNORM:
        x = ins[0]
        c = x.shape[-1]
        total = x.sum(axis=-1)
        mean = total / c
        d = x - mean[..., None]
        sq = (d * d).sum(axis=-1)
        var = sq / c
        out["accum"] = _span(np.concatenate([total.ravel(), d.ravel(), sq.ravel(), [1.0 / c]]))
        out["var"] = _span(var)
        return out

    def seen(kind: str, v: np.ndarray) -> None:
        out[kind] = _span(v, out.get(kind))

    seen("result", ins[4])  # initial_h takes the result type: it must fit too

    x = ins[0]
    x = x.reshape(x.shape[0], x.shape[1], -1)
    for d in range(directions(node)):
        _direction(node, x, ins, d, seen)
    return out


def knobs(node: Node, start: int) -> dict[str, int]:
    """The knobs of ``node`` (``result`` is calibrate's own) and where each starts."""
    n = node.name
    k = {f"weight:{n}": start, f"accum:{n}": start, f"table:{n}": start}
    if node.op is not Op.LAYERNORM:
        k[f"rweight:{n}"] = start
        if node.op is Op.LSTM:
            k[f"cell:{n}"] = start
        if not table_keys(node):  # Relu cells: no table
            del k[f"table:{n}"]
            return k
    k[f"tsize:{n}"] = knob_start(f"tsize:{n}", start)
    return k


def unused(node: Node) -> tuple[str, ...]:
    """Variables ``node`` has but does not use (a cell whose activations are all ReLU has no
    table), which calibration therefore need not choose."""
    if node.op in RECURRENT_OPS and not table_keys(node):
        return ("table",)
    return ()


def knob_bounds(key: str, min_frac: int) -> tuple[int, int | None]:
    """``(lowest value tried, highest value allowed or None)`` of a knob of this module."""
    if key.startswith("tsize:"):
        return TABLE_LOG2_MIN, TABLE_LOG2_MAX
    return min_frac, None


def guarded(key: str) -> bool:
    """Whether calibrate's guard bit applies: not to tables (size and entry bits). A table's
    error is a fixed function of its index, chosen jointly with its cost (ROMs cost in steps,
    one more entry bit can cost a whole block RAM per copy); the guard bit on the index
    (``accum``, ``cell``) and on every other value still covers data beyond the calibration."""
    return not key.startswith(("tsize:", "table:"))


def table_pairs(knobs: Mapping[str, int]) -> list[tuple[str, str]]:
    """``(size knob, entry-bits knob)`` of every layer with tables, for the joint search."""
    return [(k, "table:" + k.split(":", 1)[1]) for k in knobs
            if k.startswith("tsize:") and "table:" + k.split(":", 1)[1] in knobs]


def _table_entry_type(functions: list[tuple[str, tuple[float, ...], tuple[float, float]]], frac: int,
                      margin: float) -> FixedType:
    """Entry type of the tables of one layer: the integer bits of every entry the observed index
    ranges (widened by the margin) reach; functions bounded by 1 need only the sign."""
    from .calibrate import _fixed, integer_bits
    from .tables import FUNCTIONS

    lo = hi = 0.0
    for fn, params, (a, b) in functions:
        xs = np.linspace(a - margin * abs(a), b + margin * abs(b), 257)
        with np.errstate(all="ignore"):
            v = np.asarray(FUNCTIONS[fn](xs, params), np.float64)
        v = v[np.isfinite(v)]
        if v.size:
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    signed = lo < 0
    if all(fn in _BOUNDED for fn, _, _ in functions):
        return _fixed(int(signed), signed, frac)  # ±1 saturates to one LSB below: within an LSB
    i, s = integer_bits(lo, hi, 0.0)
    return _fixed(i, s, frac)


def entry(g: Graph, node: Node, k: Mapping[str, int], internal: Ranges, in_type: FixedType, result: FixedType,
          margin: float) -> tuple[dict[str, Any], dict[str, str]]:
    """The configuration entry of ``node`` (besides ``result``) from the knobs ``k``, and the
    types to show in the report (``weight``, ``accum``)."""
    if node.op is Op.LAYERNORM:
        return _layernorm_entry(g, node, k, internal, margin)
    return _recurrent_entry(g, node, k, internal, in_type, result, margin)


def _const(g: Graph, node: Node, i: int) -> np.ndarray:
    return np.asarray(g.values[node.inputs[i]].data, np.float64).ravel()


def _recurrent_entry(g: Graph, node: Node, k: Mapping[str, int], internal: Ranges, in_type: FixedType,
                     result: FixedType, margin: float) -> tuple[dict[str, Any], dict[str, str]]:
    from .calibrate import _const_type, _fixed, integer_bits

    n = node.name
    w = [_const(g, node, 1)] + ([_const(g, node, 6)] if node.op is Op.LSTM and len(node.inputs) > 6 else [])
    wt = _const_type(np.concatenate(w), k[f"weight:{n}"])
    rt = _const_type(_const(g, node, 2), k[f"rweight:{n}"])
    # gate accumulators: integer bits from every observed product/sum/pre-activation; they wrap
    # (the Dense loop's partial sums end exact when the sum fits); fractional bits: the knob,
    # at most every product bit
    ia, _ = integer_bits(*internal["accum"], margin)
    ia = max(ia, 1)
    exact = max(in_type.frac + wt.frac, result.frac + rt.frac)
    cell_t = None
    if node.op is Op.LSTM:
        ic, sc = integer_bits(*internal["cell"], margin)
        cell_t = _fixed(ic, True, k[f"cell:{n}"])
        exact = max(exact, wt.frac + cell_t.frac)
    af = min(k[f"accum:{n}"], exact)
    acc = FixedType(ia + af, ia, True) if ia + af >= 2 else FixedType(2, 2 - af, True)
    entry: dict[str, Any] = {
        "weight": type_to_str(wt), "recurrent_weight": type_to_str(rt),
        "bias": type_to_str(_const_type(_const(g, node, 3), acc.frac)), "accum": type_to_str(acc),
    }
    if cell_t is not None:
        entry["cell"] = type_to_str(cell_t)
    tables = table_keys(node)
    if tables:
        funcs = [(fn, params, internal["cell"] if key == "table_h" else internal["accum"])
                 for key, (fn, params) in tables.items()]
        entry["table"] = type_to_str(_table_entry_type(funcs, k[f"table:{n}"], margin))
        index_w = min([acc.width] + ([cell_t.width] if cell_t is not None and "table_h" in tables else []))
        entry["table_size"] = 2 ** min(k[f"tsize:{n}"], index_w)
    return entry, {"weight": entry["weight"], "accum": entry["accum"]}


def _layernorm_entry(g: Graph, node: Node, k: Mapping[str, int], internal: Ranges,
                     margin: float) -> tuple[dict[str, Any], dict[str, str]]:
    from .calibrate import _const_type, _fixed, integer_bits

    n = node.name
    a: LayerNormAttrs = node.attrs
    fw = k[f"weight:{n}"]
    ia, _ = integer_bits(*internal["accum"], margin)
    acc = _fixed(max(ia, 1), True, k[f"accum:{n}"])  # casts of exact sums: round and saturate
    vlo, vhi = internal["var"]
    lo, hi = vlo / (1.0 + margin), vhi * (1.0 + margin)
    hi = max(hi, lo + 2.0 ** -acc.frac)
    inv = [1.0 / np.sqrt(hi + a.epsilon), 1.0 / np.sqrt(lo + a.epsilon)]
    it, _ = integer_bits(0.0, inv[1], 0.0)
    table_t = _fixed(it, False, k[f"table:{n}"])
    entry: dict[str, Any] = {
        "scale": type_to_str(_const_type(_const(g, node, 1), fw)),
        "bias": type_to_str(_const_type(_const(g, node, 2), fw)),
        "accum": type_to_str(acc), "table": type_to_str(table_t),
        "table_size": 2 ** min(k[f"tsize:{n}"], acc.width),
        "table_range": [float(f"{lo:.6g}"), float(f"{hi:.6g}")],
    }
    return entry, {"weight": entry["scale"], "accum": entry["accum"]}


def reason(node: Node, k: Mapping[str, int], cfg_entry: Mapping[str, Any]) -> str:
    """The report's *why* for a layer of this module."""
    n = node.name
    names = {"weight": "weight frac", "rweight": "recurrent_weight frac", "accum": "accum frac",
             "cell": "cell frac", "table": "table frac", "result": "result frac"}
    parts = [f"{label} {k[f'{key}:{n}']}" for key, label in names.items() if f"{key}:{n}" in k]
    extra = []
    if "table_size" in cfg_entry:
        extra.append(f"table {cfg_entry['table']} × {cfg_entry['table_size']}")
    if "cell" in cfg_entry:
        extra.append(f"cell {cfg_entry['cell']}")
    if "table_range" in cfg_entry:
        extra.append(f"variance table over {cfg_entry['table_range']}")
    text = "fewest " + ", ".join(parts) + " meeting the target"
    return text + ("; " + ", ".join(extra) if extra else "")


__all__ = ["OPS", "observe", "knobs", "knob_start", "knob_bounds", "unused", "table_pairs", "guarded", "entry", "reason"]
