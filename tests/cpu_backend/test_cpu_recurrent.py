"""The batched recurrent kernels (GRU/LSTM/SimpleRNN) against the float reference, on the
variants whose code paths differ: hidden sizes that are and are not whole vectors, both GRU
reset forms, LSTM peepholes (zero and not) and coupled input-forget gates, clip, non-default
activations, reverse and bidirectional, at batch 1 and 16 (events advance together). The
cells with default activations and neither clip nor peepholes take the fused steps (rational
gate functions, one pass over the units per event); the others the general code."""

from __future__ import annotations

import numpy as np
import pytest
from op_zoo import random_inputs

from hlsforge import cpu_backend, reference
from hlsforge.ir import Graph, Op
from hlsforge.ir.ops import RecurrentAttrs, rnn_default_activations, rnn_gates


def _cell(name: str, op: Op, *, direction: str = "forward", lbr: bool = False, seq: int = 7, n_in: int = 13,
          h: int = 20, clip: float | None = None, acts: tuple[str, ...] | None = None,
          alphas: tuple[float, ...] | None = None, input_forget: bool = False, peephole: bool = True) -> Graph:
    g = Graph(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    dirs = 2 if direction == "bidirectional" else 1
    gh = rnn_gates(op) * h

    def const(n: str, shape: tuple[int, ...], scale: float) -> str:
        g.add_constant(n, (rng.normal(size=shape) * scale).astype(np.float32))
        return n

    g.add_input("x", (seq, n_in))
    ins = ["x", const("W", (dirs, gh, n_in), 0.3), const("R", (dirs, gh, h), 0.3), const("B", (dirs, 2 * gh), 0.2),
           const("initial_h", (dirs, h), 0.5)]
    if op is Op.LSTM:
        ins += [const("initial_c", (dirs, h), 0.5), const("P", (dirs, 3 * h), 0.2 if peephole else 0.0)]
    acts = acts or rnn_default_activations(op) * dirs
    alphas = alphas or (0.0,) * len(acts)
    attrs = RecurrentAttrs(h, direction, acts, alphas, (0.5,) * len(acts), clip, lbr, input_forget)
    node = g.add_node(op, ins, attrs=attrs, source_name=name)
    g.outputs = list(node.outputs)
    return g.validate()


CELLS = {
    "gru_h20": lambda: _cell("gru_h20", Op.GRU),
    "gru_h16_lbr_bidir": lambda: _cell("gru_h16_lbr_bidir", Op.GRU, direction="bidirectional", lbr=True, h=16),
    "gru_h5_reverse_clip": lambda: _cell("gru_h5_reverse_clip", Op.GRU, direction="reverse", h=5, clip=0.7),
    "gru_h9_acts": lambda: _cell("gru_h9_acts", Op.GRU, h=9, acts=("HardSigmoid", "Softsign"), alphas=(0.2, 0.0)),
    "lstm_h20_peephole": lambda: _cell("lstm_h20_peephole", Op.LSTM),
    "lstm_h24_no_peephole_bidir": lambda: _cell("lstm_h24_no_peephole_bidir", Op.LSTM, direction="bidirectional",
                                                h=24, peephole=False),
    "lstm_h7_input_forget_clip": lambda: _cell("lstm_h7_input_forget_clip", Op.LSTM, h=7, input_forget=True,
                                               clip=1.5, seq=11),
    # the fused steps (default activations, no clip, no peepholes) with 16-float vectors:
    # groups of 4 and 2 whole vectors plus a partial one (100 units), 4 + a partial (72)
    "lstm_h100_input_forget_reverse": lambda: _cell("lstm_h100_input_forget_reverse", Op.LSTM, h=100, seq=5,
                                                    input_forget=True, peephole=False, direction="reverse"),
    "gru_h72": lambda: _cell("gru_h72", Op.GRU, h=72, seq=5),
    "gru_h72_lbr": lambda: _cell("gru_h72_lbr", Op.GRU, h=72, seq=5, lbr=True),
    "rnn_h32": lambda: _cell("rnn_h32", Op.SIMPLE_RNN, h=32, n_in=8),
    "rnn_h6_relu_reverse": lambda: _cell("rnn_h6_relu_reverse", Op.SIMPLE_RNN, h=6, direction="reverse",
                                         acts=("Relu",)),
}


@pytest.fixture(scope="module")
def compiled():
    graphs = [CELLS[k]() for k in CELLS]
    return dict(zip(CELLS, zip(graphs, cpu_backend.compile_models(graphs), strict=True), strict=True))


@pytest.mark.parametrize("case", list(CELLS))
def test_batched_recurrent_kernels_match_the_reference(compiled, case):
    g, m = compiled[case]
    for batch in (1, 16):
        x = random_inputs(g, batch, seed=batch, scale=1.5)
        want, got = reference.run(g, x), m.predict(x)
        for o in g.outputs:
            np.testing.assert_allclose(got[o], want[o], rtol=1e-4, atol=1e-5, err_msg=f"{case}, batch {batch}: {o}")
    # one event gives the same answer alone as inside a batch (no state leaks between events;
    # the GEMM tiles of 6 rows and of 1 row sum in different orders, hence not bit-equal)
    x = random_inputs(g, 16, seed=3, scale=1.5)
    whole = m.predict(x)
    alone = m.predict(x[5:6])
    for o in g.outputs:
        np.testing.assert_allclose(alone[o], whole[o][5:6], rtol=1e-5, atol=1e-6, err_msg=f"{case}: {o}")
