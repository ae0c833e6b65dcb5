"""The recurrent and LayerNorm emulator rules against a slow per-element reference in exact
rationals, written from docs/numerics.md §12 alone (scalar loops, ONNX weight layout, the
``(1 − z)·n + z·h`` form of the GRU update, its own rounding rules from
``test_emulate_reference``). It only reads what configure decided: types, constants, tables."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from op_zoo import FIXED_RECURRENT_CASES, random_inputs
from test_emulate_reference import CONFIGS, fr, rcast, table_value

from hlsforge.ir.ops import Op, rnn_default_activations
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure

_TABLES = ("table_f", "table_g", "table_h")


def r_recurrent(node, g, x) -> list[np.ndarray]:
    a = node.attrs
    op = node.op
    w, r, b, h0 = (fr(g.values[i].data) for i in node.inputs[1:5])
    acc_t, res_t = node.precision["accum"], g.values[node.outputs[0]].type
    cell_t = node.precision.get("cell")
    hs, gh, dirs, seq = a.hidden_size, w.shape[1], w.shape[0], x.shape[0]
    acts = a.activations[: len(rnn_default_activations(op))]

    def act(k: int, v: Fraction) -> Fraction:
        return max(v, Fraction(0)) if acts[k] == "Relu" else table_value(node.options[_TABLES[k]], v)

    def dense(vec, m, bias, rows) -> dict[int, Fraction]:
        out = {}
        for j in rows:
            acc = rcast(bias[j], acc_t)
            for i in range(len(vec)):
                if m[j, i] != 0:
                    acc = rcast(acc + vec[i] * m[j, i], acc_t)
            out[j] = acc
        return out

    y = np.empty((seq, dirs, hs), dtype=object)
    yh = np.empty((dirs, hs), dtype=object)
    yc = np.empty((dirs, hs), dtype=object)
    for d in range(dirs):
        h = [h0[d, j] for j in range(hs)]
        c = [Fraction(float(v)) for v in g.values[node.inputs[5]].data[d]] if op is Op.LSTM else []
        p = fr(g.values[node.inputs[6]].data)[d] if op is Op.LSTM else None
        wb, rb = b[d][:gh], b[d][gh:]
        backwards = a.direction == "reverse" or d == 1
        for t in (range(seq - 1, -1, -1) if backwards else range(seq)):
            xw = dense(x[t], w[d], wb, range(gh))
            if op is Op.SIMPLE_RNN:
                hr = dense(h, r[d], rb, range(hs))
                h = [rcast(act(0, rcast(xw[j] + hr[j], acc_t)), res_t) for j in range(hs)]
            elif op is Op.GRU:
                hzr = dense(h, r[d], rb, range(2 * hs))
                z = [act(0, rcast(xw[j] + hzr[j], acc_t)) for j in range(hs)]
                rg = [act(0, rcast(xw[hs + j] + hzr[hs + j], acc_t)) for j in range(hs)]
                if a.linear_before_reset:
                    hn = dense(h, r[d], rb, range(2 * hs, 3 * hs))
                    pre = [rcast(xw[2 * hs + j] + rg[j] * hn[2 * hs + j], acc_t) for j in range(hs)]
                else:
                    rh = [rcast(rg[j] * h[j], res_t) for j in range(hs)]
                    hn = dense(rh, r[d], rb, range(2 * hs, 3 * hs))
                    pre = [rcast(xw[2 * hs + j] + hn[2 * hs + j], acc_t) for j in range(hs)]
                n = [act(1, v) for v in pre]
                h = [rcast((1 - z[j]) * n[j] + z[j] * h[j], res_t) for j in range(hs)]
            else:
                hr = dense(h, r[d], rb, range(gh))
                new_h = []
                for j in range(hs):
                    i = act(0, rcast(xw[j] + hr[j] + p[j] * c[j], acc_t))
                    f = 1 - i if a.input_forget else act(0, rcast(xw[2 * hs + j] + hr[2 * hs + j] + p[2 * hs + j] * c[j], acc_t))
                    gg = act(1, rcast(xw[3 * hs + j] + hr[3 * hs + j], acc_t))
                    c[j] = rcast(f * c[j] + i * gg, cell_t)
                    o = act(0, rcast(xw[hs + j] + hr[hs + j] + p[hs + j] * c[j], acc_t))
                    new_h.append(rcast(o * act(2, c[j]), res_t))
                h = new_h
            y[t, d] = h
        yh[d] = h
        if op is Op.LSTM:
            yc[d] = c
    return [y, yh, yc][: len(node.outputs)]


def r_layernorm(node, g, x) -> np.ndarray:
    gamma, beta = (fr(g.values[i].data) for i in node.inputs[1:3])
    acc_t, res_t = node.precision["accum"], g.values[node.outputs[0]].type
    out = np.empty(x.shape, dtype=object)
    n = x.shape[-1]
    k = rcast(Fraction(1, n), acc_t)
    for lead in np.ndindex(x.shape[:-1]):
        row = [x[lead + (i,)] for i in range(n)]
        mean = rcast(rcast(sum(row), acc_t) * k, acc_t)
        dev = [rcast(v - mean, acc_t) for v in row]
        var = rcast(rcast(sum(dv * dv for dv in dev), acc_t) * k, acc_t)
        inv = table_value(node.options["table"], var)
        for i in range(n):
            out[lead + (i,)] = rcast(dev[i] * inv * gamma[i] + beta[i], res_t)
    return out


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("case", list(FIXED_RECURRENT_CASES))
def test_recurrent_and_layernorm_match_exact_reference(case: str, config: str) -> None:
    g = FIXED_RECURRENT_CASES[case]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant overflow warnings under narrow types
        q = configure(g, CONFIGS[config])
    x = random_inputs(g, 2, seed=11, scale=2.5)
    got = emulate.run(q, x)
    got = got if isinstance(got, dict) else {q.outputs[0]: got}
    (node,) = q.nodes
    in_t = q.values[q.inputs[0]].type
    for b in range(2):
        xb = np.vectorize(lambda v: rcast(Fraction(float(v)), in_t), otypes=[object])(np.asarray(x[b], np.float64))
        want = r_layernorm(node, q, xb) if node.op is Op.LAYERNORM else r_recurrent(node, q, xb)
        want = want if isinstance(want, list) else [want]
        for name, wv in zip(node.outputs, want, strict=True):
            np.testing.assert_array_equal(got[name][b], np.vectorize(float, otypes=[np.float64])(wv),
                                          err_msg=f"{case}/{config} output {name} event {b}")
