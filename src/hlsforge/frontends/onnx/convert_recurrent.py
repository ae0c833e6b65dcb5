"""ONNX ``GRU``, ``LSTM`` and ``RNN`` -> the IR's recurrent ops.

The IR ops are ONNX's ``layout=1`` (batch-first) without the batch; exporters' ``layout=0``
nodes reach here already rewritten by :mod:`.sequence_layout`. Weights, biases, initial
states and peepholes must be constants (zeros when absent); ``sequence_lens`` only when every
event uses the full sequence.
"""

from __future__ import annotations

import numpy as np

from ...ir.ops import Op, RecurrentAttrs, rnn_default_activations, rnn_gates
from .context import NodeContext, Tensor
from .registry import converter

_ALPHA = {"LeakyRelu": 0.01, "ThresholdedRelu": 1.0, "HardSigmoid": 0.2, "Elu": 1.0, "ScaledTanh": 1.0, "Affine": 1.0}
_BETA = {"HardSigmoid": 0.5, "ScaledTanh": 1.0, "Affine": 0.0}
_NAMES = {n.lower(): n for n in ("Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
                                 "HardSigmoid", "Elu", "Softsign", "Softplus")}


def _activations(nc: NodeContext, op: Op, dirs: int) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """ONNX activation lists; alphas/betas are consumed in order by the functions that take them."""
    n = len(rnn_default_activations(op))
    given = nc.attr("activations", None)
    names = [a.decode() if isinstance(a, bytes) else str(a) for a in given] if given else list(rnn_default_activations(op))
    if len(names) == n and dirs == 2:
        names = names * 2
    if len(names) != n * dirs:
        raise nc.malformed(f"{len(names)} activations given, {n * dirs} needed")
    try:
        names = [_NAMES[a.lower()] for a in names]
    except KeyError as e:
        raise nc.unsupported(f"activation {e.args[0]!r} is not one ONNX defines for recurrent ops") from None
    alphas = list(nc.attr("activation_alpha", None) or [])
    betas = list(nc.attr("activation_beta", None) or [])
    al = tuple(float(alphas.pop(0)) if a in _ALPHA and alphas else _ALPHA.get(a, 0.0) for a in names)
    be = tuple(float(betas.pop(0)) if a in _BETA and betas else _BETA.get(a, 0.0) for a in names)
    return tuple(names), al, be


def _state(nc: NodeContext, i: int, dirs: int, h: int, what: str) -> np.ndarray:
    """An initial state / peephole input as a per-event constant ``(dirs, h)`` (zeros if absent)."""
    if not nc.has_input(i):
        return np.zeros((dirs, h), np.float32)
    if nc.known(i) is None:
        raise nc.unsupported(f"{what} is computed by the model; only constant {what} is supported")
    s = nc.const_floats(i, what)
    if s.ndim == 3:  # (batch, dirs, h) in layout 1: one row shared by every event
        if s.shape[0] != 1 and not np.all(s == s[:1]):
            raise nc.unsupported(f"{what} differs per event; only a state shared by every event is supported")
        s = s[0]
    return s


def _recurrent(nc: NodeContext, op: Op) -> None:
    if nc.attr("layout", 0) != 1:
        raise nc.unsupported(
            "sequence-first (layout=0) input that is not Transpose(perm=[1,0,2]) of a batch-first tensor: "
            "the IR keeps the batch on axis 0; export with batch_first / layout=1"
        )
    direction = nc.attr("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    dirs = 2 if direction == "bidirectional" else 1
    h = int(nc.attr("hidden_size"))
    gates = rnn_gates(op)
    x = nc.act(0)
    seq = nc.shape(0)[0] if len(nc.shape(0)) == 2 else None
    if seq is None:
        raise nc.malformed(f"X must be (batch, seq, features), got batch + {nc.shape(0)}")
    w = nc.const_floats(1, "W")
    r = nc.const_floats(2, "R")
    b = nc.const_floats(3, "B") if nc.has_input(3) else np.zeros((dirs, 2 * gates * h), np.float32)
    if nc.has_input(4):
        lens = nc.known(4)
        if lens is None or not np.all(np.asarray(lens) == seq):
            raise nc.unsupported("sequence_lens shorter than the sequence (padding) is not supported")
    ins = [x, nc.constant("W", w), nc.constant("R", r), nc.constant("B", b),
           nc.constant("initial_h", _state(nc, 5, dirs, h, "initial_h"))]
    if op is Op.LSTM:
        ins.append(nc.constant("initial_c", _state(nc, 6, dirs, h, "initial_c")))
        p = nc.const_floats(7, "P") if nc.has_input(7) else np.zeros((dirs, 3 * h), np.float32)
        ins.append(nc.constant("P", p))
    acts, al, be = _activations(nc, op, dirs)
    clip = nc.attr("clip", None)
    attrs = RecurrentAttrs(h, direction, acts, al, be, None if clip is None else float(clip),
                           bool(nc.attr("linear_before_reset", 0)), bool(nc.attr("input_forget", 0)))
    n_out = 3 if op is Op.LSTM else 2
    outs = [nc.node.output[i] if nc.output_used(i) else nc.ctx.fresh(f"{nc.name}__out{i}") for i in range(n_out)]
    ctx = nc.ctx
    ctx.graph.add_node(op, ins, outs, attrs, name=ctx.node_name(nc.name), source_name=nc.name, source_op=nc.op_type)
    for i, o in enumerate(outs):
        if nc.output_used(i):
            ctx.tensors[o] = Tensor(value=o)


@converter("GRU", 7)
def _gru(nc: NodeContext) -> None:
    _recurrent(nc, Op.GRU)


@converter("LSTM", 7)
def _lstm(nc: NodeContext) -> None:
    _recurrent(nc, Op.LSTM)


@converter("RNN", 7)
def _rnn(nc: NodeContext) -> None:
    _recurrent(nc, Op.SIMPLE_RNN)
