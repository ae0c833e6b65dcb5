"""HLS lowering rules of the recurrent cells (GRU, LSTM, SimpleRNN) and LayerNormalization.

Their own rule module (issue 12); ``lower.RULES`` merges :data:`RULES`. The kernels are in
``hlsforge_kernels/recurrent.h``; the arithmetic is docs/numerics.md §12, which the emulator
(``quantize/_emulate_recurrent.py``) implements too. Everything the kernels read is decided
here: weights transposed per direction into the Dense layout ``(n_in, gates·hidden)``, the
activation tables (a one-entry placeholder where a gate is ReLU), the flags, the exact sum
types of LayerNorm, the reuse factor.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import PrecisionError
from ..ir.ops import Op, RecurrentAttrs, rnn_gates
from ..quantize._config_recurrent import cell_functions
from ..quantize.config import raw_constant
from ..quantize.fixed import ResultType, as_fixed_type
from .records import Call

if TYPE_CHECKING:  # pragma: no cover
    from .lower import _Layer, _Parts

HEADER = "hlsforge_kernels/recurrent.h"
MAX_DECLARED_WIDTH = 64


def _activation_members(layer: _Layer, key: str, act: str, index_frac: int, acc_name: str) -> tuple[list[Any], str, str]:
    """Config members ``<k>_relu/size/lo/shift``, the gate typedef and the table array of one
    activation ``key`` (``table_f``/``table_g``/``table_h``)."""
    from .lower import _table_members, _u

    k = key[-1]
    if act == "Relu":  # exact: max(v, 0) in the input's own type; the table is a placeholder
        arr = layer.raw_array(key, [0], layer.precision("accum"), acc_name, "unused: this gate is ReLU")
        ints: list[Any] = [("bool", f"{k}_relu", 1), _u(f"{k}_size", 1), ("long long", f"{k}_lo", 0),
                           ("int", f"{k}_shift", 0)]
        return ints, acc_name, arr
    ints, tt, arr = _table_members(layer, key, k, "table", index_frac=index_frac)
    return [("bool", f"{k}_relu", 0), *ints], tt, arr


def _transposed(value: Any) -> list[int]:
    """ONNX ``(dirs, gates·H, K)`` → per direction ``(K, gates·H)``, flattened."""
    raw = raw_constant(value)
    return [int(v) for v in np.transpose(raw, (0, 2, 1)).reshape(-1)]


def lower_recurrent(layer: _Layer) -> _Parts:
    from .lower import _Parts, _u, hls_options

    node = layer.node
    a: RecurrentAttrs = node.attrs
    x, w, r, b, h0 = (layer.value(i) for i in range(5))
    seq, n_in = x.shape
    dirs, hs = w.shape[0], a.hidden_size
    gates = rnn_gates(node.op)
    opts = hls_options(node)
    mults = dirs * seq * gates * hs * (n_in + hs)
    acc = layer.typedef("accum", layer.precision("accum"))
    wt = layer.typedef("weight", w.type)
    rt = layer.typedef("rweight", r.type)
    bt = layer.typedef("bias", b.type)
    w_arr = layer.raw_array("w", _transposed(w), w.type, wt, f"W {w.name!r} per direction as ({n_in}, {gates * hs})")
    r_arr = layer.raw_array("r", _transposed(r), r.type, rt, f"R {r.name!r} per direction as ({hs}, {gates * hs})")
    b_arr = layer.constant_array("b", b, bt, f"B {b.name!r} ({dirs}, [Wb, Rb])")
    h0_arr = layer.constant_array("h0", h0, layer.out.type_name, f"initial_h {h0.name!r}")
    acc_frac = as_fixed_type(layer.precision("accum")).frac  # type: ignore[arg-type]
    ints: list[Any] = [
        _u("n_seq", seq), _u("n_in", n_in), _u("n_hidden", hs), _u("n_dirs", dirs),
        ("bool", "reverse", int(a.direction == "reverse")),
        ("bool", "linear_before_reset", int(a.linear_before_reset)),
        ("bool", "input_forget", int(a.input_forget)),
        _u("reuse_factor", opts.reuse_factor),
        _u("multiplier_limit", -(-mults // opts.reuse_factor)),
    ]
    types = [("accum_t", acc), ("weight_t", wt), ("rweight_t", rt), ("bias_t", bt)]
    tables = []
    extra_args: list[str] = []
    if node.op is Op.LSTM:
        cell = layer.precision("cell")
        ct = layer.typedef("cell", cell)
        types.append(("cell_t", ct))
        c0, p = layer.value(5), layer.value(6)
        extra_args = [layer.constant_array("c0", c0, ct, f"initial_c {c0.name!r}"),
                      layer.constant_array("p", p, wt, f"peepholes P {p.name!r} (i, o, f)")]
    for key, act in zip(("table_f", "table_g", "table_h"), cell_functions(node), strict=False):
        frac = as_fixed_type(layer.precision("cell")).frac if key == "table_h" else acc_frac  # type: ignore[arg-type]
        index_name = dict(types).get("cell_t") if key == "table_h" else acc
        members, gate_t, arr = _activation_members(layer, key, act, frac, str(index_name))
        ints += members
        types.append((f"{key[-1]}_t", gate_t))
        tables.append(arr)
    cfg = layer.config("hlsforge::recurrent_config", ints, types)
    outs = [layer.out.array] + [p.array for p in layer.extra]
    kernel = {Op.GRU: "hlsforge::gru", Op.LSTM: "hlsforge::lstm", Op.SIMPLE_RNN: "hlsforge::simple_rnn"}[node.op]
    call = Call(kernel, (layer.input(0).type_name, layer.out.type_name, cfg.name),
                (layer.input(0).array, *outs, w_arr, r_arr, b_arr, h0_arr, *extra_args, *tables))
    return _Parts(HEADER, [call], configs=[cfg], reuse_factor=opts.reuse_factor, strategy=opts.strategy)


def _exact_sum(t: ResultType, n: int, what: str, layer: _Layer) -> ResultType:
    extra = max(n - 1, 0).bit_length()
    out = ResultType(t.width + extra, t.integer + extra, t.signed)
    if out.width > MAX_DECLARED_WIDTH:
        raise PrecisionError(
            f"{layer.node.describe()}: the exact {what} needs {out.width} bits, more than the {MAX_DECLARED_WIDTH} a "
            "declared HLS type may have; use a narrower input or accum type"
        )
    return out


def lower_layernorm(layer: _Layer) -> _Parts:
    from .lower import _Parts, _table_members, _u, hls_options

    x, scale, bias = layer.value(0), layer.value(1), layer.value(2)
    n = x.shape[-1]
    acc_type = as_fixed_type(layer.precision("accum"))  # type: ignore[arg-type]
    acc = layer.typedef("accum", acc_type)
    st = layer.typedef("scale", scale.type)
    bt = layer.typedef("bias", bias.type)
    sum_t = layer.typedef("sum", _exact_sum(ResultType.of(as_fixed_type(x.type)), n, "sum of a row", layer),  # type: ignore[arg-type]
                          "exact: holds any row sum")
    sq = ResultType(2 * acc_type.width, 2 * acc_type.integer, True)
    sq_t = layer.typedef("sq_sum", _exact_sum(sq, n, "sum of squared deviations", layer), "exact: holds any sum of dev^2")
    s_arr = layer.constant_array("scale", scale, st, f"scale {scale.name!r}")
    b_arr = layer.constant_array("bias", bias, bt, f"bias {bias.name!r}")
    t_ints, tt, t_arr = _table_members(layer, "table", "table", "table", index_frac=acc_type.frac)
    inv_n = layer.scalar("inv_n", Fraction(1, n), acc_type, acc, f"cast_accum(1/{n})")
    opts = hls_options(layer.node)
    cfg = layer.config(
        "hlsforge::layernorm_config",
        [_u("n_rows", math.prod(x.shape[:-1])), _u("n_in", n), *t_ints, _u("reuse_factor", opts.reuse_factor)],
        [("accum_t", acc), ("scale_t", st), ("bias_t", bt), ("table_t", tt), ("sum_t", sum_t), ("sq_sum_t", sq_t)],
    )
    call = Call("hlsforge::layernorm", (layer.input(0).type_name, layer.out.type_name, cfg.name),
                (layer.input(0).array, layer.out.array, s_arr, b_arr, t_arr, inv_n))
    return _Parts(HEADER, [call], configs=[cfg], reuse_factor=opts.reuse_factor, strategy=opts.strategy)


RULES = {Op.GRU: lower_recurrent, Op.LSTM: lower_recurrent, Op.SIMPLE_RNN: lower_recurrent,
         Op.LAYERNORM: lower_layernorm}
MULTI_OUTPUT_OPS = (Op.GRU, Op.LSTM, Op.SIMPLE_RNN)
"""Ops whose node writes several outputs (``Y``, ``Y_h``[, ``Y_c``]) in one kernel call."""
