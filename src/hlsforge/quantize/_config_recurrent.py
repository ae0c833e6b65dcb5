"""Precision configuration of the recurrent cells (GRU, LSTM, SimpleRNN) and LayerNormalization.

Their own rule module (issue 12): ``quantize/config.py`` merges :data:`OP_VARIABLES`,
:data:`OP_OPTIONS` and :data:`CONFIG_RULES` into its tables. What each variable types is
stated in docs/numerics.md §12; the emulator (``_emulate_recurrent``) and the HLS kernels
(``hlsforge_kernels/recurrent.h``) read only what these rules write on the node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import PrecisionError, UnsupportedOpError
from ..ir.graph import Node
from ..ir.ops import LayerNormAttrs, Op, RecurrentAttrs, rnn_default_activations
from ..ir.types import FixedType
from .fixed import as_fixed_type
from .infer import dot_partial_sum_bounds, type_for_raw_range
from .tables import build_table

if TYPE_CHECKING:  # pragma: no cover
    from .config import _Configurer

RECURRENT_OPS = (Op.GRU, Op.LSTM, Op.SIMPLE_RNN)

TABLE_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "HardSigmoid": "hard_sigmoid", "Softsign": "softsign",
                     "Softplus": "softplus"}
"""ONNX recurrent activations computed through a lookup table (the tables io_parallel emits
for standalone Sigmoid/Tanh layers, ``quantize/tables.py``)."""
EXACT_ACTIVATIONS = ("Relu",)
"""Activations computed exactly (a comparison), no table."""

NEW_VARIABLES = ("recurrent_weight", "cell")
"""Variables these ops add to ``config.VARIABLES``."""

_RNN_VARS = ("weight", "recurrent_weight", "bias", "accum", "table", "result")
OP_VARIABLES: dict[Op, tuple[str, ...]] = {
    Op.GRU: _RNN_VARS,
    Op.SIMPLE_RNN: _RNN_VARS,
    Op.LSTM: _RNN_VARS + ("cell",),
    Op.LAYERNORM: ("scale", "weight", "bias", "accum", "table", "result"),
}
"""``weight`` W (and LSTM peepholes P), ``recurrent_weight`` R, ``bias`` B, ``accum`` the gate
accumulators, ``table`` the activation tables' entries, ``cell`` the LSTM cell state,
``result`` the hidden state (Y, Y_h, initial_h). LayerNorm: ``scale`` γ (falls back to
``weight``), ``bias`` β, ``accum`` sum/mean/deviation/variance, ``table`` 1/sqrt(v + ε)."""

OP_OPTIONS: dict[Op, tuple[str, ...]] = {
    Op.GRU: ("table_size",), Op.SIMPLE_RNN: ("table_size",), Op.LSTM: ("table_size",),
    Op.LAYERNORM: ("table_size", "table_range"),
}

FALLBACK: dict[tuple[Op, str], tuple[str, ...]] = {(Op.LAYERNORM, "scale"): ("weight",)}


def directions(node: Node) -> int:
    return 2 if node.attrs.direction == "bidirectional" else 1


def cell_functions(node: Node) -> tuple[str, ...]:
    """The activation names of direction 0 (``f``, ``g``[, ``h``]); both directions must agree."""
    a: RecurrentAttrs = node.attrs
    n = len(rnn_default_activations(node.op))
    return tuple(a.activations[:n])


def check_cell(node: Node) -> None:
    """Refuse (``UnsupportedOpError`` naming the node) what the fixed-point cell does not define."""
    a: RecurrentAttrs = node.attrs
    n = len(rnn_default_activations(node.op))
    acts = list(a.activations)
    if directions(node) == 2 and (acts[:n] != acts[n:] or a.alphas[:n] != a.alphas[n:] or a.betas[:n] != a.betas[n:]):
        raise UnsupportedOpError(
            f"{node.describe()}: the fixed-point {node.op.value} needs the same activations in both directions, "
            f"got {acts}"
        )
    bad = [f for f in acts[:n] if f not in TABLE_ACTIVATIONS and f not in EXACT_ACTIVATIONS]
    if bad:
        raise UnsupportedOpError(
            f"{node.describe()}: activation(s) {bad} have no fixed-point form in a recurrent cell; supported: "
            f"{', '.join([*TABLE_ACTIVATIONS, *EXACT_ACTIVATIONS])} (docs/numerics.md §12)"
        )
    if a.clip is not None:
        raise UnsupportedOpError(
            f"{node.describe()}: clip={a.clip} is not supported by the fixed-point {node.op.value} "
            "(float engines only); export the model without cell clipping"
        )


def table_keys(node: Node) -> dict[str, tuple[str, tuple[float, ...]]]:
    """``{option key: (table function, params)}`` of the tables a cell uses (``table_f`` for
    gates, ``table_g`` for the candidate, ``table_h`` for LSTM's output of the cell state)."""
    a: RecurrentAttrs = node.attrs
    out: dict[str, tuple[str, tuple[float, ...]]] = {}
    for i, (key, act) in enumerate(zip(("table_f", "table_g", "table_h"), cell_functions(node), strict=False)):
        if act in TABLE_ACTIVATIONS:
            params = (float(a.alphas[i]), float(a.betas[i])) if act == "HardSigmoid" else ()
            out[key] = (TABLE_ACTIVATIONS[act], params)
    return out


def recurrent_accum_type(c: _Configurer, node: Node, x_t: FixedType, h_t: FixedType, cell_t: FixedType | None,
                         where: str) -> FixedType:
    """``accum: auto``: every partial sum of the two dot products (``W·x + Wb`` and
    ``R·h + Rb``, bias first), their sum, and the LSTM peephole terms, for every input of the
    input type and every state of the result/cell types, exactly: fractional bits
    ``max(F_x + F_W, F_h + F_R, F_B[, F_W + F_c])``, integer bits from the actual weights.
    GRU with ``linear_before_reset``: the reset product ``r·(R·h + Rb)`` rounds into it
    (its bound is counted with ``|r| <= 1``)."""
    from .config import raw_constant

    vals = [c.g.values[i] for i in node.inputs]
    w, r, b = (raw_constant(v) for v in vals[1:4])
    wt, rt, bt = (as_fixed_type(v.type) for v in vals[1:4])  # type: ignore[arg-type]
    frac = max(x_t.frac + wt.frac, h_t.frac + rt.frac, bt.frac)
    peep = None
    if node.op is Op.LSTM and cell_t is not None:
        peep = raw_constant(vals[6])
        frac = max(frac, wt.frac + cell_t.frac)
    gh = w.shape[1]
    lo = hi = 0
    for d in range(w.shape[0]):
        xlo, xhi = dot_partial_sum_bounds(x_t, w[d].T, wt.frac, b[d, :gh], bt.frac, frac)
        hlo, hhi = dot_partial_sum_bounds(h_t, r[d].T, rt.frac, b[d, gh:], bt.frac, frac)
        plo = phi = 0
        if peep is not None and cell_t is not None:
            p = np.abs(peep[d].astype(object))
            m = max(abs(cell_t.raw_min), abs(cell_t.raw_max))
            s = 1 << (frac - wt.frac - cell_t.frac)
            phi = int(p.max(initial=0)) * m * s
            plo = -phi
        if node.op is Op.GRU and node.attrs.linear_before_reset:
            m = max(abs(hlo), abs(hhi))  # |r·(R·h + Rb)| <= |R·h + Rb| for |r| <= 1
            hlo, hhi = min(hlo, -m), max(hhi, m)
        lo = min(lo, xlo, hlo, xlo + hlo + plo)
        hi = max(hi, xhi, hhi, xhi + hhi + phi)
    return type_for_raw_range(lo, hi, frac, signed=True, where=where)


def _cfg_recurrent(c: _Configurer, node: Node) -> None:
    check_cell(node)
    where = node.describe()
    c.set_constant(node, 1, "weight", "W")
    c.set_constant(node, 2, "recurrent_weight", "R")
    c.set_constant(node, 3, "bias", "B")
    h_t = as_fixed_type(c.fixed(node, "result"))  # type: ignore[arg-type]
    c.set_constant(node, 4, "result", "initial_h")
    cell_t = None
    if node.op is Op.LSTM:
        cell_t = as_fixed_type(c.fixed(node, "cell"))  # type: ignore[arg-type]
        c.set_constant(node, 5, "cell", "initial_c")
        c.set_constant(node, 6, "weight", "P")
        node.precision["cell"] = cell_t
    acc = c.prec(node, "accum")
    if acc is None:
        acc = recurrent_accum_type(c, node, c.in_type(node), h_t, cell_t, f"{where}: accum auto")
    acc_t = as_fixed_type(acc)  # type: ignore[arg-type]
    node.precision["accum"] = acc
    keys = table_keys(node)
    if keys:
        table_t = c.fixed(node, "table")
        node.precision["table"] = table_t
        for key, (fn, params) in keys.items():
            index_t: FixedType = cell_t if (key == "table_h" and cell_t is not None) else acc_t
            node.options[key] = build_table(
                fn, index_t, table_t, size=c.cfg.option(node, "table_size"), params=params, where=f"{where}: {key}"
            )
    for i, out in enumerate(node.outputs):
        c.g.values[out].type = cell_t if (cell_t is not None and i == 2) else h_t


def _cfg_layernorm(c: _Configurer, node: Node) -> None:
    a: LayerNormAttrs = node.attrs
    where = node.describe()
    c.set_constant(node, 1, "scale", "scale")
    c.set_constant(node, 2, "bias", "bias")
    acc = c.prec(node, "accum")
    if acc is None:  # the mean of C values has no exact binary type: auto is the default (reported)
        acc = c.auto.default
        c.auto.notes.append(f"{where}: LayerNormalization's mean/variance cannot be exact; accum takes {acc}")
    acc_t = as_fixed_type(acc)  # type: ignore[arg-type]
    node.precision["accum"] = acc
    table_t = c.fixed(node, "table")
    node.precision["table"] = table_t
    interval = c.cfg.option(node, "table_range")
    node.options["table"] = build_table(
        "rsqrt", acc_t, table_t, size=c.cfg.option(node, "table_size"),
        interval=interval, raw_interval=None if interval is not None else (max(acc_t.raw_min, 0), acc_t.raw_max + 1),
        params=(float(a.epsilon),), where=f"{where}: table",
    )
    if acc_t.raw_max <= 0:
        raise PrecisionError(f"{where}: accum {acc} cannot hold a positive variance")
    c.set_result(node, c.fixed(node, "result"))


CONFIG_RULES: dict[Op, Callable[[_Configurer, Node], None]] = {
    Op.GRU: _cfg_recurrent, Op.LSTM: _cfg_recurrent, Op.SIMPLE_RNN: _cfg_recurrent,
    Op.LAYERNORM: _cfg_layernorm,
}
"""How each op of this family is configured (merged into ``config._CONFIG_RULES``)."""
