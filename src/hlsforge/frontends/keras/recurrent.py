"""Keras ``GRU``, ``LSTM``, ``SimpleRNN`` and ``Bidirectional`` -> the IR's recurrent ops.

Keras layers map onto ONNX semantics (docs/ir.md "Sequences"): kernels are transposed to
ONNX's ``(gates·units, in)``, LSTM gates reordered from Keras' ``i f c o`` to ONNX's ``i o f c``,
GRU ``reset_after=True`` is ONNX's ``linear_before_reset=1`` (its ``(2, 3u)`` bias is ONNX's
``[Wb, Rb]``). ``go_backwards`` is ``direction="reverse"``; Keras then returns the sequence in
processing (reversed) order, so ``return_sequences`` adds an exact time reversal (a Dense with
a permutation matrix between two Transposes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.ops import NoAttrs, Op, RecurrentAttrs, ReshapeAttrs, TransposeAttrs
from .builder import Builder, LayerCall

_KIND = {"GRU": Op.GRU, "LSTM": Op.LSTM, "SimpleRNN": Op.SIMPLE_RNN}
_GATES = {Op.GRU: 3, Op.LSTM: 4, Op.SIMPLE_RNN: 1}


def _act(call: LayerCall, ctx: Builder, spec: Any) -> tuple[str, float, float]:
    if isinstance(spec, dict):  # serialized function: {"class_name": "function", "config": "tanh", ...}
        spec = spec.get("config") if spec.get("class_name") == "function" else spec.get("class_name")
    name = str(spec or "linear").lower()
    table = {"tanh": ("Tanh", 0.0, 0.0), "sigmoid": ("Sigmoid", 0.0, 0.0), "relu": ("Relu", 0.0, 0.0),
             "linear": ("Affine", 1.0, 0.0), "softsign": ("Softsign", 0.0, 0.0), "softplus": ("Softplus", 0.0, 0.0),
             "elu": ("Elu", 1.0, 0.0),
             "hard_sigmoid": ("HardSigmoid", 0.2, 0.5) if ctx.keras_major < 3 else ("HardSigmoid", 1.0 / 6.0, 0.5)}
    if name not in table:
        raise UnsupportedOpError(f"{call.where}: activation {name!r} has no ONNX recurrent equivalent")
    return table[name]


def _cell(ctx: Builder, call: LayerCall, cfg: dict[str, Any], kind: Op, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """ONNX-shaped weights and activations of one Keras recurrent layer (one direction)."""
    try:
        k, rk = np.asarray(arrays["kernel"], np.float64), np.asarray(arrays["recurrent_kernel"], np.float64)
    except KeyError as e:
        raise ModelFormatError(f"{call.where}: weight {e.args[0]!r} is missing; the layer has {sorted(arrays)}") from None
    u = rk.shape[0]
    g = _GATES[kind]
    if k.shape[1] != g * u or rk.shape != (u, g * u):
        raise ModelFormatError(f"{call.where}: kernel {k.shape} / recurrent_kernel {rk.shape} do not fit {g} gates")
    bias = np.asarray(arrays["bias"], np.float64) if cfg.get("use_bias", True) and "bias" in arrays else np.zeros(g * u)
    lbr = False
    if kind is Op.GRU and bias.ndim == 2:  # reset_after: [input bias, recurrent bias]
        wb, rb = bias[0], bias[1]
        lbr = True
    else:
        wb, rb = bias.reshape(-1), np.zeros(g * u)
        lbr = kind is Op.GRU and bool(cfg.get("reset_after", False))
    if kind is Op.LSTM:  # Keras i f c o -> ONNX i o f c
        order = np.concatenate([np.arange(u) + i * u for i in (0, 3, 1, 2)])
        k, rk, wb, rb = k[:, order], rk[:, order], wb[order], rb[order]
    act = _act(call, ctx, cfg.get("activation", "tanh"))
    rec = _act(call, ctx, cfg.get("recurrent_activation", "sigmoid"))
    acts = {Op.GRU: [rec, act], Op.LSTM: [rec, act, act], Op.SIMPLE_RNN: [act]}[kind]
    if cfg.get("stateful"):
        raise UnsupportedOpError(f"{call.where}: stateful recurrent layers keep state across batches; export with stateful=False")
    return {"W": k.T, "R": rk.T, "B": np.concatenate([wb, rb]), "u": u, "acts": acts, "lbr": lbr}


def _cell_arrays(weights: Any, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
    """A recurrent layer's named weights from any source. Live layers and legacy HDF5 files name
    them; a Keras 3 ``.keras`` archive stores them unnamed under the layer's ``cell`` group, in
    the cell's creation order (kernel, recurrent kernel, bias)."""
    arrays = weights.arrays()
    if not arrays:
        try:
            arrays = weights.child("cell").arrays()
        except ModelFormatError:
            return arrays
    if arrays and all(k.isdigit() for k in arrays):
        order = ["kernel", "recurrent_kernel"] + (["bias"] if cfg.get("use_bias", True) else [])
        if len(order) != len(arrays):
            raise ModelFormatError(f"a recurrent cell should have {len(order)} weight variables ({order}), "
                                   f"the file has {len(arrays)}")
        arrays = {name: arrays[str(i)] for i, name in enumerate(order)}
    return arrays


def _emit(ctx: Builder, call: LayerCall, kind: Op, cells: list[dict[str, Any]], direction: str) -> list[str]:
    u = cells[0]["u"]
    dirs = len(cells)
    ins = [call.inputs[0]] + [ctx.const(call, n, np.stack([c[n] for c in cells])) for n in ("W", "R", "B")]
    ins.append(ctx.const(call, "initial_h", np.zeros((dirs, u))))
    if kind is Op.LSTM:
        ins += [ctx.const(call, "initial_c", np.zeros((dirs, u))), ctx.const(call, "P", np.zeros((dirs, 3 * u)))]
    acts = [a for c in cells for a in c["acts"]]
    attrs = RecurrentAttrs(u, direction, tuple(a[0] for a in acts), tuple(a[1] for a in acts), tuple(a[2] for a in acts),
                           None, cells[0]["lbr"])
    n = ctx.graph.add_node(kind, ins, attrs=attrs, name=ctx.graph.unique_name(call.name), source_name=call.name,
                           source_op=call.class_name)
    return list(n.outputs)


def _reverse_time(ctx: Builder, call: LayerCall, y: str) -> str:
    """Exact reversal of axis 0 of ``(seq, f)``: a permutation-matrix Dense between Transposes."""
    seq = ctx.shape(y)[0]
    t = ctx.node(call, Op.TRANSPOSE, [y], TransposeAttrs((1, 0)), part="time_last")
    flip = np.eye(seq)[::-1]
    t = ctx.node(call, Op.DENSE, [t, ctx.const(call, "reverse", flip), ctx.const(call, "reverse_bias", np.zeros(seq))],
                 NoAttrs(), part="reverse")
    return ctx.node(call, Op.TRANSPOSE, [t], TransposeAttrs((1, 0)), part="time_first")


def _check_input(ctx: Builder, call: LayerCall) -> None:
    if len(ctx.shape(call.inputs[0])) != 2:
        raise UnsupportedOpError(f"{call.where}: input must be (timesteps, features), got batch + {ctx.shape(call.inputs[0])}")


def recurrent(ctx: Builder, call: LayerCall) -> str | list[str]:
    kind = _KIND[call.class_name]
    _check_input(ctx, call)
    cell = _cell(ctx, call, call.config, kind, _cell_arrays(call.weights, call.config))
    backwards = bool(call.get("go_backwards", False))
    outs = _emit(ctx, call, kind, [cell], "reverse" if backwards else "forward")
    u = cell["u"]
    if call.get("return_sequences", False):
        y = ctx.node(call, Op.RESHAPE, [outs[0]], ReshapeAttrs((ctx.shape(outs[0])[0], u)), part="sequence")
        if backwards:
            y = _reverse_time(ctx, call, y)
    else:
        y = ctx.node(call, Op.RESHAPE, [outs[1]], ReshapeAttrs((u,)), part="last")
    if call.get("return_state", False):
        states = [ctx.node(call, Op.RESHAPE, [o], ReshapeAttrs((u,)), part=f"state{i}") for i, o in enumerate(outs[1:])]
        return [y, *states]
    return y


def bidirectional(ctx: Builder, call: LayerCall) -> str:
    _check_input(ctx, call)
    inner = call.get("layer") or {}
    cls, cfg = inner.get("class_name"), inner.get("config", {})
    if cls not in _KIND:
        raise UnsupportedOpError(f"{call.where}: Bidirectional({cls}) is not supported; GRU, LSTM and SimpleRNN are")
    back = call.get("backward_layer") or {"class_name": cls, "config": cfg}
    if back.get("class_name") != cls or bool(back["config"].get("return_sequences")) != bool(cfg.get("return_sequences")):
        raise UnsupportedOpError(f"{call.where}: the backward layer must be the same kind as the forward one")
    mode = call.get("merge_mode", "concat")
    if mode not in ("concat", "sum", "ave"):
        raise UnsupportedOpError(f"{call.where}: merge_mode={mode!r} is not supported (concat, sum, ave are)")
    kind = _KIND[cls]
    fw = _cell(ctx, call, cfg, kind, _cell_arrays(call.weights.child("forward_layer"), cfg))
    bw = _cell(ctx, call, back["config"], kind, _cell_arrays(call.weights.child("backward_layer"), back["config"]))
    if fw["lbr"] != bw["lbr"] or fw["u"] != bw["u"]:
        raise UnsupportedOpError(f"{call.where}: forward and backward layers differ in units or reset_after")
    outs = _emit(ctx, call, kind, [fw, bw], "bidirectional")
    u = fw["u"]
    seqs = bool(cfg.get("return_sequences", False))
    v = outs[0] if seqs else outs[1]  # (seq, 2, u) or (2, u): the backward direction at original positions
    lead = ctx.shape(v)[:-2]
    if mode == "concat":
        return ctx.node(call, Op.RESHAPE, [v], ReshapeAttrs((*lead, 2 * u)), part="concat")
    r = len(ctx.shape(v))
    t = ctx.node(call, Op.TRANSPOSE, [v], TransposeAttrs((*range(r - 2), r - 1, r - 2)), part="dirs_last")
    w = np.full((2, 1), 0.5 if mode == "ave" else 1.0)
    s = ctx.node(call, Op.DENSE, [t, ctx.const(call, "merge", w), ctx.const(call, "merge_bias", np.zeros(1))], NoAttrs(), part=mode)
    return ctx.node(call, Op.RESHAPE, [s], ReshapeAttrs((*lead, u)), part="merged")


CONVERTERS = {"GRU": recurrent, "LSTM": recurrent, "SimpleRNN": recurrent, "Bidirectional": bidirectional}
