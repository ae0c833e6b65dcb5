"""CPU backend rule for the recurrent ops (GRU, LSTM, SimpleRNN): one ``RecurrentStep`` each.

The kernel (``hlsforge_cpu::recurrent`` in the template header) computes each event's input
projection for all steps as one GEMM into an arena scratch, then one recurrent GEMV per step;
the scratch is an arena value written by the node, so a Session stays const and thread-safe
with no allocation per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    args: tuple[str, ...]  # x, W, R, B, h0, c0, P, y, yh, yc, scratch (nullptr where absent)


def _scratch_name(node: Node) -> str:
    return f"{node.name} (recurrent scratch)"


def recurrent_scratch(p: _Planner, node: Node) -> str:
    """Declare the cell's scratch value: seq*G*H projections + G*H GEMV + h and c."""
    a: RecurrentAttrs = node.attrs
    seq = p.shapes[node.inputs[0]][0]
    g, h = rnn_gates(node.op), a.hidden_size
    name = _scratch_name(node)
    p.shapes[name] = (seq * g * h + g * h + 2 * h,)
    return name


def recurrent_rule(p: _Planner, node: Node) -> Step:
    a: RecurrentAttrs = node.attrs
    seq, n_in = p.x_shape(node)
    decls = [p.declare(v) for v in node.outputs]
    scratch = p.declare(_scratch_name(node))
    w = [p.weight(v) for v in node.inputs[1:]]
    lstm = node.op is Op.LSTM
    args = (p.x(node), *w[:4], w[4] if lstm else "nullptr", w[5] if lstm else "nullptr",
            decls[0].ident, decls[1].ident, decls[2].ident if lstm else "nullptr", scratch.ident)
    return RecurrentStep(
        p.origin(node), (*decls, scratch), p.namer.ident("cfg", node.name), RECURRENT_OPS.index(node.op), seq, n_in,
        a.hidden_size, 2 if a.direction == "bidirectional" else 1, a, args,
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
                 f"has_clip = {'false' if a.clip is None else 'true'};")
        cfg.line(f"static constexpr float clip = {f32(a.clip or 0.0)};")
        cfg.line(f"static constexpr int acts[{len(a.activations)}] = "
                 f"{{{', '.join(str(RNN_ACTIVATIONS.index(x)) for x in a.activations)}}};")
        for name, vals in (("alphas", a.alphas), ("betas", a.betas)):
            cfg.line(f"static constexpr float {name}[{len(vals)}] = {{{', '.join(f32(v) for v in vals)}}};")
    body.line(f"hlsforge_cpu::recurrent<{s.cfg}>({', '.join(s.args)}, n);")
