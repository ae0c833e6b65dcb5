"""The emulator against a slow, obviously-correct per-element reference in exact rationals.

The reference below is written from NUMERICS.md / docs/numerics.md alone: Python
``Fraction`` values, one explicit loop per op, its own implementation of the rounding and
overflow rules (no code from ``hlsforge.quantize.fixed``). It only *reads* what configure
decided: types, quantized constants and table entries. Agreement must be exact.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from op_zoo import CASES, random_inputs
from test_emulate_models import mlp_graph, small_cnn_graph

from hlsforge.ir import Graph, Op
from hlsforge.ir.types import FixedType, IntType, Overflow, Rounding
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure
from hlsforge.reference import trace_keys

HALF = Fraction(1, 2)

# ----------------------------------------------------------------------------- §2 in Fractions


def ref_type(t) -> FixedType:
    """ap_int<W> converts like ap_int: toward zero, then wrap."""
    if isinstance(t, IntType):
        return FixedType(t.width, t.width, t.signed, Rounding.TRN_ZERO, Overflow.WRAP)
    return t


def rcast(v: Fraction, t) -> Fraction:
    """Convert the exact value ``v`` into ``t`` (NUMERICS.md §2, written out)."""
    t = ref_type(t)
    scale = Fraction(2) ** t.frac
    s = Fraction(v) * scale
    fl = math.floor(s)
    rem = s - fl
    qb = rem >= HALF
    rest = rem > HALF if qb else rem > 0
    neg = v < 0
    lsb = fl % 2 == 1
    q = t.rounding
    inc = {
        Rounding.TRN: False,
        Rounding.TRN_ZERO: neg and (qb or rest),
        Rounding.RND: qb,
        Rounding.RND_ZERO: qb and (neg or rest),
        Rounding.RND_MIN_INF: qb and rest,
        Rounding.RND_INF: qb and (not neg or rest),
        Rounding.RND_CONV: qb and (lsb or rest),
    }[q]
    r = fl + int(inc)
    lo = -(2 ** (t.width - 1)) if t.signed else 0
    hi = 2 ** (t.width - 1) - 1 if t.signed else 2**t.width - 1
    if r > hi or r < lo:
        if t.overflow is Overflow.WRAP:
            r = (r - lo) % (2**t.width) + lo
        elif t.overflow is Overflow.SAT:
            r = hi if r > hi else lo
        elif t.overflow is Overflow.SAT_ZERO:
            r = 0
        else:  # SAT_SYM
            r = hi if r > hi else (-hi if t.signed and t.width > 1 else lo)
    elif t.overflow is Overflow.SAT_SYM and t.signed and t.width > 1 and r == lo:
        r = -hi
    return Fraction(r) / scale


def rcast_array(a: np.ndarray, t) -> np.ndarray:
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = rcast(a[idx], t)
    return out


def fr(a) -> np.ndarray:
    """float array → object array of exact Fractions."""
    a = np.asarray(a, dtype=np.float64)
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = Fraction(float(a[idx]))
    return out


# ----------------------------------------------------------------------------- §4, per op


def table_value(spec, v: Fraction) -> Fraction:
    lo = Fraction(spec.lo_raw) / Fraction(2) ** spec.index_type.frac
    step = Fraction(2) ** (spec.shift - spec.index_type.frac)
    i = math.floor((v - lo) / step)
    i = min(max(i, 0), spec.size - 1)
    return Fraction(int(spec.entries[i])) / Fraction(2) ** spec.entry_type.frac


def r_dense(node, g, x):
    k, b = (fr(g.values[i].data) for i in node.inputs[1:])
    acc_t, res_t = node.precision["accum"], g.values[node.outputs[0]].type
    out = np.empty(x.shape[:-1] + (k.shape[1],), dtype=object)
    for lead in np.ndindex(x.shape[:-1]):
        for j in range(k.shape[1]):
            acc = rcast(b[j], acc_t)
            for i in range(k.shape[0]):
                if k[i, j] != 0:
                    acc = rcast(acc + x[lead + (i,)] * k[i, j], acc_t)
            out[lead + (j,)] = rcast(acc, res_t)
    return out


def r_conv(node, g, x):
    a = node.attrs
    k, b = (fr(g.values[i].data) for i in node.inputs[1:])
    acc_t, res_t = node.precision["accum"], g.values[node.outputs[0]].type
    nsp = len(a.kernel_shape)
    out_shape = g.values[node.outputs[0]].shape
    c_in, c_out = x.shape[-1], k.shape[-1]
    cig, cog = c_in // a.groups, c_out // a.groups
    out = np.empty(out_shape, dtype=object)
    for pos in np.ndindex(out_shape[:-1]):
        for co in range(c_out):
            grp = co // cog
            acc = rcast(b[co], acc_t)
            for taps in product(*(range(n) for n in a.kernel_shape)):
                src = tuple(pos[d] * a.strides[d] - a.pads[d][0] + taps[d] * a.dilations[d] for d in range(nsp))
                inside = all(0 <= src[d] < x.shape[d] for d in range(nsp))
                for ci in range(cig):
                    w = k[taps + (ci, co)]
                    xv = x[src + (grp * cig + ci,)] if inside else Fraction(0)
                    if w != 0:
                        acc = rcast(acc + xv * w, acc_t)
            out[pos + (co,)] = rcast(acc, res_t)
    return out


def _window(node, x, pos):
    """Taps of a pooling window: (values inside the input, taps counted with padding)."""
    a = node.attrs
    nsp = len(a.kernel_shape)
    vals, padded = [], 0
    for taps in product(*(range(n) for n in a.kernel_shape)):
        src = tuple(pos[d] * a.strides[d] - a.pads[d][0] + taps[d] for d in range(nsp))
        if all(0 <= src[d] < x.shape[d] for d in range(nsp)):
            vals.append(src)
        if all(-a.pads[d][0] <= src[d] < x.shape[d] + a.pads[d][1] for d in range(nsp)):
            padded += 1
    return vals, padded


def r_pool(node, g, x, kind):
    res_t = g.values[node.outputs[0]].type
    out_shape = g.values[node.outputs[0]].shape
    out = np.empty(out_shape, dtype=object)
    for pos in np.ndindex(out_shape[:-1]):
        taps, padded = _window(node, x, pos)
        for c in range(x.shape[-1]):
            vals = [x[s + (c,)] for s in taps]
            if kind == "max":
                out[pos + (c,)] = rcast(max(vals), res_t)
            else:
                n = padded if node.attrs.count_include_pad else len(vals)
                out[pos + (c,)] = _avg(node, res_t, sum(vals), n)
    return out


def _avg(node, res_t, total, n):
    acc = rcast(total, node.precision["accum"])
    return rcast(acc * rcast(Fraction(1, n), node.precision["scale"]), res_t)


def r_global(node, g, x, kind):
    res_t = g.values[node.outputs[0]].type
    c = x.shape[-1]
    out = np.empty((c,), dtype=object)
    for ch in range(c):
        vals = [x[idx + (ch,)] for idx in np.ndindex(x.shape[:-1])]
        out[ch] = rcast(max(vals), res_t) if kind == "max" else _avg(node, res_t, sum(vals), len(vals))
    return out.reshape(g.values[node.outputs[0]].shape)


def _each(x, f):
    out = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(x.shape):
        out[idx] = f(x[idx])
    return out


def r_elementwise(node, g, x):
    res_t = g.values[node.outputs[0]].type
    op, a = node.op, node.attrs
    p = node.precision.get("param")
    if op is Op.RELU:
        return _each(x, lambda v: rcast(max(v, Fraction(0)), res_t))
    if op is Op.LEAKY_RELU:
        alpha = rcast(Fraction(a.alpha), p)
        return _each(x, lambda v: rcast(v if v >= 0 else v * alpha, res_t))
    if op is Op.CLIP:
        lo = rcast(Fraction(a.min), p) if a.min is not None else None
        hi = rcast(Fraction(a.max), p) if a.max is not None else None

        def clip(v):
            if lo is not None:
                v = max(v, lo)
            if hi is not None:
                v = min(v, hi)
            return rcast(v, res_t)

        return _each(x, clip)
    if op is Op.HARD_SIGMOID:
        al, be = rcast(Fraction(a.alpha), p), rcast(Fraction(a.beta), p)
        return _each(x, lambda v: rcast(min(max(v * al + be, Fraction(0)), Fraction(1)), res_t))
    spec = node.options.get("table")
    if op in (Op.SIGMOID, Op.TANH, Op.SOFTPLUS):
        return _each(x, lambda v: rcast(table_value(spec, v), res_t))
    if op is Op.ELU:
        return _each(x, lambda v: rcast(v if v >= 0 else table_value(spec, v), res_t))
    if op is Op.SELU:
        gamma = rcast(Fraction(a.gamma), p)
        return _each(x, lambda v: rcast(v * gamma if v >= 0 else table_value(spec, v), res_t))
    if op is Op.QUANTIZE:
        return _each(x, lambda v: rcast(v, a.target))
    raise NotImplementedError(op)


def r_softmax(node, g, x):
    res_t = g.values[node.outputs[0]].type
    out = np.empty(x.shape, dtype=object)
    for lead in np.ndindex(x.shape[:-1]):
        row = [x[lead + (i,)] for i in range(x.shape[-1])]
        if node.options["softmax"].mode == "argmax":
            first = row.index(max(row))
            vals = [rcast(Fraction(int(i == first)), res_t) for i in range(len(row))]
        else:
            m = max(row)
            e = [table_value(node.options["exp_table"], v - m) for v in row]
            s = rcast(sum(e), node.precision["sum"])
            r = table_value(node.options["inv_table"], s)
            vals = [rcast(ei * r, res_t) for ei in e]
        for i, v in enumerate(vals):
            out[lead + (i,)] = v
    return out


def r_binary(node, g, ins):
    res_t = g.values[node.outputs[0]].type
    a, b = np.broadcast_arrays(*ins)
    f = {Op.ADD: lambda u, v: u + v, Op.SUB: lambda u, v: u - v, Op.MUL: lambda u, v: u * v}[node.op]
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = rcast(f(a[idx], b[idx]), res_t)
    return out


def r_shape(node, g, ins):
    res_t = g.values[node.outputs[0]].type
    x = ins[0]
    a = node.attrs
    if node.op is Op.CONCAT:
        y = np.concatenate(ins, axis=a.axis)
    elif node.op in (Op.FLATTEN, Op.RESHAPE):
        y = x.reshape(g.values[node.outputs[0]].shape)
    elif node.op is Op.TRANSPOSE:
        y = np.transpose(x, a.perm)
    elif node.op is Op.SLICE:
        y = x[tuple(slice(s, None if e < 0 else e, st) for s, e, st in a.slices)]
    elif node.op is Op.GATHER:
        y = np.take(x, list(a.indices), axis=a.axis)
    else:
        y = np.empty(g.values[node.outputs[0]].shape, dtype=object)
        y[...] = Fraction(0)
        y[tuple(slice(p[0], p[0] + n) for p, n in zip(a.pads, x.shape, strict=True))] = x
    return rcast_array(y, res_t)


def reference_run(g: Graph, x) -> dict[str, np.ndarray]:
    """Every node output of one sample (dict name → object array of Fractions)."""
    xs = x if isinstance(x, dict) else {g.inputs[0]: x}
    env = {name: rcast_array(fr(a), g.values[name].type) for name, a in xs.items()}
    for node in g.nodes:
        ins = [env[i] if i in env else fr(g.values[i].data) for i in node.inputs]
        op = node.op
        if op is Op.DENSE:
            y = r_dense(node, g, ins[0])
        elif op in (Op.CONV1D, Op.CONV2D):
            y = r_conv(node, g, ins[0])
        elif op in (Op.MAXPOOL1D, Op.MAXPOOL2D):
            y = r_pool(node, g, ins[0], "max")
        elif op in (Op.AVGPOOL1D, Op.AVGPOOL2D):
            y = r_pool(node, g, ins[0], "avg")
        elif op is Op.GLOBAL_MAXPOOL:
            y = r_global(node, g, ins[0], "max")
        elif op is Op.GLOBAL_AVGPOOL:
            y = r_global(node, g, ins[0], "avg")
        elif op is Op.BATCHNORM:
            res_t = g.values[node.outputs[0]].type
            y = rcast_array(ins[0] * ins[1] + ins[2], res_t)
        elif op is Op.SOFTMAX:
            y = r_softmax(node, g, ins[0])
        elif op in (Op.ADD, Op.SUB, Op.MUL):
            y = r_binary(node, g, ins)
        elif op in (Op.CONCAT, Op.FLATTEN, Op.RESHAPE, Op.TRANSPOSE, Op.PAD, Op.SLICE, Op.GATHER):
            y = r_shape(node, g, ins)
        elif op is Op.TREE_ENSEMBLE:
            y = r_tree_ensemble(node, g, ins[0])
        else:
            y = r_elementwise(node, g, ins[0])
        env[node.outputs[0]] = y
    return env


def r_tree_ensemble(node, g, x):
    """docs/numerics.md (TreeEnsemble): walk with ``x <= t`` (t on the input grid after
    configure; 0 goes to the default side on zero-is-missing splits), then per output a
    pairwise adder tree in accum (leaves cast first, odd last passes up), + base, result."""
    a = node.attrs
    acc_t, res_t = node.precision["accum"], g.values[node.outputs[0]].type
    reached = []
    for t in range(a.n_trees):
        i = int(a.tree_start[t])
        while a.feature[i] >= 0:
            v = x[a.feature[i]]
            go = v <= Fraction(float(a.threshold[i]))
            if a.missing[i] == 2 and v == 0:
                go = bool(a.default_left[i])
            i = int(a.left[i] if go else a.right[i])
        reached.append(i)
    out = np.empty(a.n_outputs, dtype=object)
    for k in range(a.n_outputs):
        trees = range(a.n_trees) if a.leaf_value.shape[1] > 1 else [t for t in range(a.n_trees) if a.tree_output[t] == k]
        col = k if a.leaf_value.shape[1] > 1 else 0
        level = [rcast(Fraction(float(a.leaf_value[reached[t], col])), acc_t) for t in trees]
        while len(level) > 1:
            nxt = [rcast(level[2 * i] + level[2 * i + 1], acc_t) for i in range(len(level) // 2)]
            level = nxt + ([level[-1]] if len(level) % 2 else [])
        total = rcast((level[0] if level else Fraction(0)) + Fraction(float(a.base_score[k])), acc_t)
        out[k] = rcast(total, res_t)
    return out


# ----------------------------------------------------------------------------- the tests

CONFIGS = {
    "default": None,
    "narrow_sat": {
        "model": {
            "default": "ap_fixed<10,4,AP_RND_CONV,AP_SAT>",
            "input": "ap_fixed<12,4,AP_RND>",
            "accum": "ap_fixed<14,5,AP_RND_ZERO,AP_SAT_SYM>",
            "sum": "ap_fixed<10,4,AP_TRN_ZERO,AP_SAT>",
        }
    },
    "wrap": {"model": {"default": "ap_fixed<8,3>", "input": "ap_fixed<10,4>", "table": "ap_fixed<10,2,AP_RND>"}},
    "auto": {"model": {"default": "ap_fixed<12,5,AP_RND_INF,AP_SAT_ZERO>", "accum": "auto", "sum": "auto"}},
}


def _assert_matches_reference(q: Graph, x, batch_items: int) -> None:
    t = emulate.run(q, x, trace=True)
    direct = emulate.run(q, x)
    keys = trace_keys(q)
    xs = x if isinstance(x, dict) else {q.inputs[0]: x}
    xs = {n: q.to_internal(n, np.asarray(a)) for n, a in xs.items()}
    for b in range(batch_items):
        env = reference_run(q, {n: a[b] for n, a in xs.items()})
        for node in q.nodes:
            got = t.outputs[keys[node.name]][b]
            want = np.vectorize(float, otypes=[np.float64])(env[node.outputs[0]])
            np.testing.assert_array_equal(got, want, err_msg=f"{node.describe()} sample {b}")
    out = q.outputs[0]
    final = direct if not isinstance(direct, dict) else direct[out]
    np.testing.assert_array_equal(final, t.outputs[keys[q.producer(out).name]])


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("case", list(CASES))
def test_op_zoo_matches_exact_reference(case: str, config: str) -> None:
    g = CASES[case]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant overflow warnings under narrow types
        q = configure(g, CONFIGS[config])
    x = random_inputs(g, 3, seed=7, scale=3.0)
    _assert_matches_reference(q, x, 3)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_small_networks_match_exact_reference(config: str) -> None:
    for g in (mlp_graph((6, 8, 5, 4)), small_cnn_graph()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = configure(g, CONFIGS[config])
        x = np.random.default_rng(3).normal(size=(2, *g.user_shape(g.inputs[0]))) * 2
        _assert_matches_reference(q, x, 2)


def test_argmax_softmax_matches_reference() -> None:
    g = CASES["softmax_3d"]()
    q = configure(g, {"layers": {"softmax": {"softmax_mode": "argmax"}}})
    x = random_inputs(g, 4, seed=2)
    x[0, 0, :2] = 1.5  # a tie: the first maximum wins
    _assert_matches_reference(q, x, 4)


@pytest.mark.parametrize("case", ["elu", "selu"])
def test_elu_selu_with_unsigned_input_have_no_table(case: str) -> None:
    g = CASES[case]()
    q = configure(g, {"model": {"input": "ap_ufixed<8,3>", "param": "ap_fixed<12,2,AP_RND>"}})
    assert "table" not in q.nodes[0].options
    _assert_matches_reference(q, np.linspace(-1, 7.9, 24).reshape(2, 12), 2)
