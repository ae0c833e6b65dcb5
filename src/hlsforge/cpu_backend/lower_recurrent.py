"""CPU backend rule for the recurrent ops (GRU, LSTM, SimpleRNN): one ``RecurrentStep`` each.

The kernel (``hlsforge_cpu::recurrent`` in the template header) works on all events of a
chunk at once, direction by direction:

- the input projection of every event and step is one register-tiled GEMM,
  ``(n * seq, in) x W^T`` plus the biases that add outside the gates (``W_b + R_b``, except
  the candidate's ``R_b`` of a GRU with ``linear_before_reset``, which is multiplied by ``r``);
- each step is one GEMM ``(n, hidden) x R^T`` over all gates (a GRU without
  ``linear_before_reset`` does z, r first, then ``(r . h) x R_h^T``), followed by the gate
  arithmetic with the vectorized sigmoid/tanh of the elementwise kernels.

The lowering stores the kernel's layouts as derived weights: ``W^T`` (dirs, in, gates*hidden),
``R^T`` (dirs, hidden, gates*hidden), the projection bias and the recurrent bias (dirs,
gates*hidden). The working memory (projections, recurrent products, h, c) is an arena value
written by the node, so a Session stays const and thread-safe with no allocation per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..ir.graph import Node
from ..ir.ops import RNN_ACTIVATIONS, Op, RecurrentAttrs, rnn_default_activations, rnn_gates
from .lower import Step

if TYPE_CHECKING:
    from .lower import _Planner

RECURRENT_OPS = (Op.SIMPLE_RNN, Op.GRU, Op.LSTM)


@dataclass(frozen=True)
class RecurrentStep(Step):
    cfg: str
    kind: int  # 0 RNN, 1 GRU, 2 LSTM
    seq: int
    n_in: int
    hidden: int
    dirs: int
    attrs: RecurrentAttrs
    peephole: bool  # LSTM with a non-zero P
    args: tuple[str, ...]  # x, W^T, R^T, bias_x, bias_h, h0, c0, P, y, yh, yc, scratch (nullptr where absent)


def _scratch_name(node: Node) -> str:
    return f"{node.name} (recurrent scratch)"


def recurrent_scratch(p: _Planner, node: Node) -> str:
    """Declare the cell's scratch value: seq*G*H projections + G*H recurrent GEMM + h and c."""
    a: RecurrentAttrs = node.attrs
    seq = p.shapes[node.inputs[0]][0]
    g, h = rnn_gates(node.op), a.hidden_size
    name = _scratch_name(node)
    p.shapes[name] = (seq * g * h + g * h + 2 * h,)
    return name


def kernel_weights(node: Node, w: np.ndarray, r: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """The kernel's layouts of W (dirs, G*H, in), R (dirs, G*H, H) and B (dirs, 2*G*H)."""
    a: RecurrentAttrs = node.attrs
    h = a.hidden_size
    gh = rnn_gates(node.op) * h
    wb, rb = b[:, :gh].astype(np.float32), b[:, gh:].astype(np.float32)
    bias_h = np.zeros_like(rb)
    if node.op is Op.GRU and a.linear_before_reset:  # h~ = g(x W_h + W_bh + r . (h R_h + R_bh))
        bias_h[:, 2 * h:] = rb[:, 2 * h:]
        rb = rb.copy()
        rb[:, 2 * h:] = 0.0
    return {
        "W^T": np.transpose(w, (0, 2, 1)),
        "R^T": np.transpose(r, (0, 2, 1)),
        "bias_x": wb + rb,
        "bias_h": bias_h,
    }


def recurrent_rule(p: _Planner, node: Node) -> Step:
    a: RecurrentAttrs = node.attrs
    seq, n_in = p.x_shape(node)
    decls = [p.declare(v) for v in node.outputs]
    scratch = p.declare(_scratch_name(node))
    consts = [p.g.constant(v) for v in node.inputs[1:4]]
    derived = [p.derived_weight(f"{node.name} ({k})", v) for k, v in kernel_weights(node, *consts).items()]
    h0 = p.weight(node.inputs[4])
    lstm = node.op is Op.LSTM
    peephole = lstm and bool(np.any(p.g.constant(node.inputs[6]) != 0))
    args = (p.x(node), *derived, h0, p.weight(node.inputs[5]) if lstm else "nullptr",
            p.weight(node.inputs[6]) if peephole else "nullptr",
            decls[0].ident, decls[1].ident, decls[2].ident if lstm else "nullptr", scratch.ident)
    return RecurrentStep(
        p.origin(node), (*decls, scratch), p.namer.ident("cfg", node.name), RECURRENT_OPS.index(node.op), seq, n_in,
        a.hidden_size, 2 if a.direction == "bidirectional" else 1, a, peephole, args,
    )


def render_recurrent(s: RecurrentStep, cfg, body) -> None:  # noqa: ANN001 - emit.Writer
    from .emit import f32  # the emitter's float literal

    a = s.attrs
    n_act = len(rnn_default_activations(RECURRENT_OPS[s.kind]))
    with cfg.block(f"struct {s.cfg}", "};"):
        cfg.line(f"static constexpr std::size_t seq = {s.seq}, in = {s.n_in}, hidden = {s.hidden}, "
                 f"gates = {rnn_gates(RECURRENT_OPS[s.kind])}, dirs = {s.dirs};")
        cfg.line(f"static constexpr int kind = {s.kind}, n_act = {n_act};")
        cfg.line(f"static constexpr bool reverse = {'true' if a.direction == 'reverse' else 'false'}, "
                 f"lbr = {'true' if a.linear_before_reset else 'false'}, "
                 f"input_forget = {'true' if a.input_forget else 'false'}, "
                 f"peephole = {'true' if s.peephole else 'false'}, "
                 f"has_clip = {'false' if a.clip is None else 'true'};")
        cfg.line(f"static constexpr float clip = {f32(a.clip or 0.0)};")
        cfg.line(f"static constexpr int acts[{len(a.activations)}] = "
                 f"{{{', '.join(str(RNN_ACTIVATIONS.index(x)) for x in a.activations)}}};")
        for name, vals in (("alphas", a.alphas), ("betas", a.betas)):
            cfg.line(f"static constexpr float {name}[{len(vals)}] = {{{', '.join(f32(v) for v in vals)}}};")
    body.line(f"hlsforge_cpu::recurrent<{s.cfg}>({', '.join(s.args)}, n);")
