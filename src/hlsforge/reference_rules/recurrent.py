"""Float meaning of the recurrent ops (GRU, LSTM, SimpleRNN) with ONNX semantics.

The IR tensors are batch-first (ONNX ``layout=1`` minus the batch): ``x`` is ``(N, seq, in)``
here, ``Y`` is ``(N, seq, dirs, hidden)``, ``Y_h``/``Y_c`` are ``(N, dirs, hidden)``. Weights
keep ONNX's gate order (GRU ``z r h``, LSTM ``i o f c``). The cell runs in float64 and rounds
once per output, which stays within float32 rounding of ONNX Runtime for short sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..ir.graph import Node
from ..ir.ops import Op, RecurrentAttrs, rnn_default_activations

Array = np.ndarray


def activation(name: str, alpha: float, beta: float) -> Callable[[Array], Array]:
    """The ONNX recurrent activation ``name`` (float64 in, float64 out)."""
    table: dict[str, Callable[[Array], Array]] = {
        "Relu": lambda x: np.maximum(x, 0.0),
        "Tanh": np.tanh,
        "Sigmoid": lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),
        "Affine": lambda x: alpha * x + beta,
        "LeakyRelu": lambda x: np.where(x >= 0, x, alpha * x),
        "ThresholdedRelu": lambda x: np.where(x > alpha, x, 0.0),
        "ScaledTanh": lambda x: alpha * np.tanh(beta * x),
        "HardSigmoid": lambda x: np.clip(alpha * x + beta, 0.0, 1.0),
        "Elu": lambda x: np.where(x >= 0, x, alpha * np.expm1(np.minimum(x, 0.0))),
        "Softsign": lambda x: x / (1.0 + np.abs(x)),
        "Softplus": lambda x: np.logaddexp(0.0, x),
    }
    return table[name]


def _acts(node: Node, d: int) -> list[Callable[[Array], Array]]:
    a: RecurrentAttrs = node.attrs
    n = len(rnn_default_activations(node.op))
    clip = a.clip
    out = []
    for i in range(d * n, (d + 1) * n):
        f = activation(a.activations[i], a.alphas[i], a.betas[i])
        out.append(f if clip is None else (lambda x, f=f: f(np.clip(x, -clip, clip))))
    return out


Observer = Callable[[str, Array], None]
"""``observe(kind, values)``: called with every gate pre-activation (``"accum"``: the input and
recurrent products and their sums) and every cell state (``"cell"``), for calibration."""


def _direction(node: Node, x: Array, ins: Sequence[Array], d: int,
               observe: Observer | None = None) -> tuple[Array, Array, Array]:
    """Run direction ``d`` over ``x`` (N, seq, in); returns (Y (N, seq, h), H, C).
    ``observe`` (optional) sees the internal values (:data:`Observer`)."""
    a: RecurrentAttrs = node.attrs
    h = a.hidden_size
    w, r, b = (np.asarray(t[d], np.float64) for t in ins[1:4])
    hs = np.broadcast_to(np.asarray(ins[4][d], np.float64), (x.shape[0], h)).copy()
    g = w.shape[0] // h
    wb, rb = b[: g * h], b[g * h :]
    reverse = a.direction == "reverse" or (a.direction == "bidirectional" and d == 1)
    steps = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
    acts = _acts(node, d)
    xw = x @ w.T + wb  # (N, seq, g*h): the input projection of every step in one GEMM
    y = np.zeros((x.shape[0], x.shape[1], h))
    seen: Observer = observe if observe is not None else (lambda kind, v: None)
    seen("accum", xw)
    c, p = np.zeros_like(hs), np.zeros(3 * h)  # LSTM cell state and peepholes
    if node.op is Op.LSTM:
        c = np.broadcast_to(np.asarray(ins[5][d], np.float64), hs.shape).copy()
        p = np.asarray(ins[6][d], np.float64)
        seen("cell", c)
    for t in steps:
        xt = xw[:, t]
        if node.op is Op.SIMPLE_RNN:
            pre = xt + hs @ r.T + rb
            if observe is not None:
                observe("accum", hs @ r.T + rb)
                observe("accum", pre)
            hs = acts[0](pre)
        elif node.op is Op.GRU:
            f, gg = acts
            hr = hs @ r[: 2 * h].T + rb[: 2 * h]
            seen("accum", hr)
            seen("accum", xt[:, : 2 * h] + hr)
            z = f(xt[:, :h] + hr[:, :h])
            rr = f(xt[:, h : 2 * h] + hr[:, h:])
            if a.linear_before_reset:
                hn = hs @ r[2 * h :].T + rb[2 * h :]
                seen("accum", hn)
                pre_n = xt[:, 2 * h :] + rr * hn
            else:
                pre_n = xt[:, 2 * h :] + (rr * hs) @ r[2 * h :].T + rb[2 * h :]
                seen("accum", pre_n - xt[:, 2 * h :])
            seen("accum", pre_n)
            cand = gg(pre_n)
            hs = (1.0 - z) * cand + z * hs
        else:
            f, gg, hh = acts
            pre = xt + hs @ r.T + rb
            if observe is not None:
                observe("accum", hs @ r.T + rb)
                observe("accum", pre)
            pre_i, pre_f = pre[:, :h] + p[:h] * c, pre[:, 2 * h : 3 * h] + p[2 * h :] * c
            seen("accum", pre_i)
            seen("accum", pre_f)
            i = f(pre_i)
            fg = 1.0 - i if a.input_forget else f(pre_f)
            c = fg * c + i * gg(pre[:, 3 * h :])
            seen("cell", c)
            pre_o = pre[:, h : 2 * h] + p[h : 2 * h] * c
            seen("accum", pre_o)
            o = f(pre_o)
            hs = o * hh(c)
        y[:, t] = hs
    return y, hs, c


def recurrent(node: Node, ins: Sequence[Array]) -> tuple[Array, ...]:
    x = np.asarray(ins[0], np.float64)
    dirs = 2 if node.attrs.direction == "bidirectional" else 1
    runs = [_direction(node, x, ins, d) for d in range(dirs)]
    y = np.stack([r[0] for r in runs], axis=2).astype(np.float32)
    yh = np.stack([r[1] for r in runs], axis=1).astype(np.float32)
    if node.op is Op.LSTM:
        return y, yh, np.stack([r[2] for r in runs], axis=1).astype(np.float32)
    return y, yh


RULES = {Op.GRU: recurrent, Op.LSTM: recurrent, Op.SIMPLE_RNN: recurrent}
