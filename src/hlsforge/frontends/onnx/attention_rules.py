"""The op rules of the attention-layout pass (``attention_layout.py``; docs/ir.md "Batch
folded into other axes").

``SYMBOLIC``: shape computations evaluated with the batch size symbolic (``Shape`` of an
activation gives its full shape with :class:`Sym` entries; products and exact quotients of
the batch stay symbolic). ``RULES``: one rule per ONNX op reading activations; each emits the
op on canonical tensors (batch first) and records where the batch is in its outputs, or
raises :class:`GiveUp` through ``p.fail`` naming the node and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import helper

from .attention_layout import WHOLE, Act, Layout, Sym, _prod, _pw

if TYPE_CHECKING:
    from .attention_layout import _Pass


def _sym_ints(p: _Pass, v: np.ndarray | None, what: str) -> list[int]:
    if v is None or v.dtype == object:
        raise p.fail(f"{what} must be a constant")
    return [int(x) for x in np.ravel(v)]


def _s_div(p: _Pass, ins: list) -> np.ndarray:  # noqa: ANN001
    a, b = np.broadcast_arrays(np.asarray(ins[0], dtype=object), np.asarray(ins[1], dtype=object))
    out = []
    for x, y in zip(a.flat, b.flat, strict=True):
        (xc, xp), (yc, yp) = _pw(x), _pw(y)
        if yc == 0 or xc % yc or xp < yp:
            raise p.fail("a division of the batch size that is not exact")
        out.append(Sym(xc // yc) if xp - yp else xc // yc)
    return np.array(out, dtype=object).reshape(a.shape)


def _s_mul(p: _Pass, ins: list) -> np.ndarray:  # noqa: ANN001
    a, b = np.broadcast_arrays(np.asarray(ins[0], dtype=object), np.asarray(ins[1], dtype=object))
    out = []
    for x, y in zip(a.flat, b.flat, strict=True):
        c, pw = _prod([x, y])
        if pw > 1:
            raise p.fail("the batch size squared")
        out.append(Sym(c) if pw else c)
    return np.array(out, dtype=object).reshape(a.shape)


def _s_axes(p: _Pass, ins: list) -> list[int] | None:  # noqa: ANN001
    if p.attr("axes") is not None:
        return [int(x) for x in p.attr("axes")]  # type: ignore[union-attr]
    return _sym_ints(p, ins[1], "axes") if len(ins) > 1 and ins[1] is not None else None


def _s_unsqueeze(p: _Pass, ins: list) -> np.ndarray:  # noqa: ANN001
    axes = _s_axes(p, ins) or []
    rank = ins[0].ndim + len(axes)
    return np.expand_dims(ins[0], tuple(sorted(a % rank for a in axes)))


def _s_squeeze(p: _Pass, ins: list) -> np.ndarray:  # noqa: ANN001
    axes = _s_axes(p, ins)
    return np.squeeze(ins[0], axis=None if axes is None else tuple(a % ins[0].ndim for a in axes))


def _s_slice(p: _Pass, ins: list) -> np.ndarray:  # noqa: ANN001
    data = ins[0]
    if p.opset < 10:
        starts, ends = list(p.attr("starts")), list(p.attr("ends"))  # type: ignore[arg-type]
        axes = list(p.attr("axes", list(range(len(starts)))))  # type: ignore[arg-type]
        steps = [1] * len(starts)
    else:
        starts, ends = _sym_ints(p, ins[1], "starts"), _sym_ints(p, ins[2], "ends")
        axes = _sym_ints(p, ins[3], "axes") if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = _sym_ints(p, ins[4], "steps") if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    index = [slice(None)] * data.ndim
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        index[a] = slice(s, e, st)
    return data[tuple(index)]


SYMBOLIC = {
    "Identity": lambda p, ins: ins[0],
    "Cast": lambda p, ins: ins[0],
    "Gather": lambda p, ins: np.take(ins[0], np.asarray(_sym_ints(p, ins[1], "indices")).reshape(np.shape(ins[1])),
                                     axis=int(p.attr("axis", 0))),
    "Unsqueeze": _s_unsqueeze,
    "Squeeze": _s_squeeze,
    "Concat": lambda p, ins: np.concatenate([np.asarray(v, dtype=object).reshape(-1) if np.ndim(v) == 0 else np.asarray(v, dtype=object)
                                             for v in ins if v is not None], axis=int(p.attr("axis"))),
    "Slice": _s_slice,
    "Mul": _s_mul,
    "Div": _s_div,
    "Reshape": lambda p, ins: np.reshape(ins[0], _sym_ints(p, ins[1], "shape")),
}


# ---------------------------------------------------------------------------- activation rules


def _act(p: _Pass, i: int = 0) -> Act:
    name = p.node.input[i]  # type: ignore[union-attr]
    if name not in p.acts:
        raise p.fail(f"input {i} must be an activation")
    return p.acts[name]


def _transpose(p: _Pass) -> None:
    a = _act(p)
    r = len(a.full)
    perm = [int(x) for x in p.attr("perm", list(reversed(range(r))))]  # type: ignore[union-attr]
    full = tuple(a.full[k] for k in perm)
    if a.lay.axis is None:
        cperm, lay = [0] + [k + 1 for k in perm], WHOLE
    else:
        lay = Layout(perm.index(a.lay.axis), a.lay.inner)
        cperm = [0] + [a.caxis(k) for k in perm if not (k == a.lay.axis and a.c == 1)]
    o = p.out_name()
    if cperm == sorted(cperm):
        p.emit("Identity", [a.name], [o], p.node.name)  # type: ignore[union-attr]
    else:
        p.emit("Transpose", [a.name], [o], p.node.name, perm=cperm)  # type: ignore[union-attr]
    p.bind(Act(full, lay, o))


def _reshape(p: _Pass) -> None:
    a = _act(p)
    target = p.known.get(p.node.input[1])  # type: ignore[union-attr]
    if target is None:
        raise p.fail("the target shape must be computable at import time")
    t = list(np.ravel(target))
    allowzero = p.attr("allowzero", 0)
    out: list = []
    for i, v in enumerate(t):
        if not isinstance(v, Sym) and int(v) == 0:
            if allowzero:
                raise p.fail("a zero-size Reshape target")
            out.append(a.full[i])
        else:
            out.append(v if isinstance(v, Sym) else int(v))
    if sum(1 for v in out if not isinstance(v, Sym) and v == -1) > 1:
        raise p.fail("more than one -1 in the Reshape target")
    total = _prod(a.full)
    if not p.whole and p.fixed is not None and not any(isinstance(v, Sym) for v in out):
        total = (total[0] * p.fixed, 0)  # the batch baked into the target: located below
    if -1 in [v for v in out if not isinstance(v, Sym)]:
        (tc, tp), (oc, op) = total, _prod(v for v in out if isinstance(v, Sym) or v != -1)
        if oc == 0 or tc % oc or tp - op not in (0, 1):
            raise p.fail(f"Reshape target {out} does not fit {a.full}")
        k = next(i for i, v in enumerate(out) if not isinstance(v, Sym) and v == -1)
        out[k] = Sym(tc // oc) if tp - op else tc // oc
    if _prod(out) != total:
        raise p.fail(f"Reshape target {out} does not fit {a.full}")
    p.reshape_to(a, out)


def _flatten(p: _Pass) -> None:
    a = _act(p)
    axis = int(p.attr("axis", 1)) % (len(a.full) + 1)  # type: ignore[arg-type]
    p.reshape_to(a, [_dim(_prod(a.full[:axis])), _dim(_prod(a.full[axis:]))])


def _dim(cp: tuple[int, int]) -> object:
    return Sym(cp[0]) if cp[1] else cp[0]


def _squeeze(p: _Pass) -> None:
    a = _act(p)
    axes = [int(x) for x in p.attr("axes")] if p.attr("axes") is not None else p.ints_input(1)  # type: ignore[union-attr]
    r = len(a.full)
    drop = {x % r for x in axes} if axes is not None else {i for i, d in enumerate(a.full) if d == 1}
    if any(isinstance(a.full[i], Sym) or a.full[i] != 1 for i in drop):
        raise p.fail("Squeeze of an axis that is not of size 1")
    p.reshape_to(a, [d for i, d in enumerate(a.full) if i not in drop])


def _unsqueeze(p: _Pass) -> None:
    a = _act(p)
    axes = [int(x) for x in p.attr("axes")] if p.attr("axes") is not None else p.ints_input(1)  # type: ignore[union-attr]
    if not axes:
        raise p.fail("Unsqueeze needs axes")
    r = len(a.full) + len(axes)
    new = {x % r for x in axes}
    dims = iter(a.full)
    p.reshape_to(a, [1 if i in new else next(dims) for i in range(r)])


def _gather(p: _Pass) -> None:
    a = _act(p)
    idx = p.known.get(p.node.input[1])  # type: ignore[union-attr]
    if idx is None or idx.dtype == object:
        raise p.fail("Gather indices must be constants")
    r = len(a.full)
    ax = int(p.attr("axis", 0)) % r  # type: ignore[arg-type]
    p.check_axis(a, [ax], "Gather")
    full = (*a.full[:ax], *idx.shape, *a.full[ax + 1 :])
    lay = a.lay
    if lay.axis is not None and ax < lay.axis:
        lay = Layout(lay.axis + idx.ndim - 1, lay.inner)
    o = p.out_name()
    p.emit("Gather", [a.name, p.kin(p.node.input[1])], [o], p.node.name, axis=a.caxis(ax))  # type: ignore[union-attr]
    p.bind(Act(full, lay, o))


_SEQ_FIRST = ("the batch (axis 0 of the model input) is a matrix axis of this product, so events would be mixed; "
              "a sequence-first model (nn.MultiheadAttention / nn.TransformerEncoderLayer with batch_first=False) "
              "must be exported with batch_first=True")


def _matmul(p: _Pass) -> None:
    n = p.node
    if n.input[0] not in p.acts:  # type: ignore[union-attr]
        raise p.fail("a constant times an activation is not rewritten")
    a = _act(p)
    r = len(a.full)
    o = p.out_name()
    if n.input[1] in p.known:  # type: ignore[union-attr]
        w = p.known[n.input[1]]  # type: ignore[union-attr]
        if w.ndim != 2 or r < 1:
            raise p.fail("only a 2-D constant right operand is rewritten")
        if a.lay.axis is not None and a.lay.axis == r - 1:
            raise p.fail(_SEQ_FIRST)
        p.emit("MatMul", [a.name, p.kin(n.input[1])], [o], n.name)  # type: ignore[union-attr]
        p.bind(Act((*a.full[:-1], int(w.shape[1])), a.lay, o))
        return
    b = _act(p, 1)
    if len(b.full) != r or r < 3:
        raise p.fail("a product of two activations of different ranks (or without batch axes) is not rewritten")
    if a.lay.axis is not None and (a.lay != b.lay or a.lay.axis >= r - 2 or a.full[a.lay.axis] != b.full[b.lay.axis]):
        raise p.fail(_SEQ_FIRST)
    lead = []
    for x, y in zip(a.full[:-2], b.full[:-2], strict=True):
        if x != y and 1 not in (x, y):
            raise p.fail(f"batch axes {a.full[:-2]} and {b.full[:-2]} do not broadcast")
        lead.append(y if x == 1 else x)
    if a.lay.axis is None and (a.full[:-2] != b.full[:-2]):
        raise p.fail("broadcast batch axes are not rewritten")
    p.emit("MatMul", [a.name, b.name], [o], n.name)  # type: ignore[union-attr]
    p.bind(Act((*lead, a.full[-2], b.full[-1]), a.lay, o))


def _gemm(p: _Pass) -> None:
    n = p.node
    a = _act(p)
    if len(a.full) != 2 or p.attr("transA", 0):
        raise p.fail("only Gemm with transA=0 is rewritten")
    if a.lay.axis == 1:
        raise p.fail(_SEQ_FIRST)
    if any(i not in p.known for i in n.input[1:] if i):  # type: ignore[union-attr]
        raise p.fail("Gemm with activation weights is not rewritten")
    w = p.known[n.input[1]].astype(np.float64)  # type: ignore[union-attr]
    if p.attr("transB", 0):
        w = w.T
    w = w * float(p.attr("alpha", 1.0))  # type: ignore[arg-type]
    o = p.out_name()
    full = (a.full[0], int(w.shape[1]))
    if len(n.input) > 2 and n.input[2]:  # type: ignore[union-attr]
        c = p.known[n.input[2]].astype(np.float64) * float(p.attr("beta", 1.0))  # type: ignore[union-attr, arg-type]
        if c.ndim == 2 and c.shape[0] != 1:
            raise p.fail("a Gemm bias that varies along the rows is not rewritten")
        mid = p.fresh(o + "__matmul")
        p.emit("MatMul", [a.name, p.const(w, np.float32)], [mid], n.name + "__matmul")  # type: ignore[union-attr]
        p.emit("Add", [mid, p.const(c.reshape(-1) if c.ndim else c, np.float32)], [o], n.name)  # type: ignore[union-attr]
    else:
        p.emit("MatMul", [a.name, p.const(w, np.float32)], [o], n.name)  # type: ignore[union-attr]
    p.bind(Act(full, a.lay, o))


def _elementwise(p: _Pass) -> None:
    n = p.node
    acts = [p.acts[i] for i in n.input if i in p.acts]  # type: ignore[union-attr]
    a = acts[0]
    if any(len(x.full) != len(a.full) or x.lay != a.lay for x in acts):
        raise p.fail("operands with different layouts")
    rank = max([len(a.full)] + [p.known[i].ndim for i in n.input if i and i in p.known])  # type: ignore[union-attr]
    if rank != len(a.full):
        raise p.fail("a constant operand has more axes than the activation")
    full = list(a.full)
    for x in acts[1:]:
        for k, (u, v) in enumerate(zip(full, x.full, strict=True)):
            if u != v and 1 not in (u, v):
                raise p.fail("operands do not broadcast")
            full[k] = v if u == 1 else u
    if a.lay.axis is not None and any(x.full[a.lay.axis] != a.full[a.lay.axis] for x in acts):
        raise p.fail("operands hold the batch differently")
    inputs = []
    for i in n.input:  # type: ignore[union-attr]
        if not i:
            inputs.append("")
        elif i in p.acts:
            inputs.append(p.acts[i].name)
        elif n.op_type in _BROADCASTING:  # type: ignore[union-attr]
            inputs.append(p.const_operand(i, rank, a))
        else:
            inputs.append(p.kin(i))
    if len([o for o in n.output if o]) != 1 or not n.output[0]:  # type: ignore[union-attr]
        raise p.fail("only the first output is rewritten")
    o = p.out_name()
    new = onnx.NodeProto()
    new.CopyFrom(n)
    del new.input[:]
    new.input.extend(inputs)
    del new.output[:]
    new.output.append(o)
    p.out.append(new)
    p.bind(Act(tuple(full), a.lay, o))


def _axis_op(p: _Pass) -> None:
    """Softmax/LogSoftmax/Hardmax (one axis; before opset 13 every axis from it on) and
    LayerNormalization (every axis from ``axis`` on)."""
    a = _act(p)
    r = len(a.full)
    legacy = p.node.op_type != "LayerNormalization" and p.opset < 13  # type: ignore[union-attr]
    ax = int(p.attr("axis", 1 if legacy else -1)) % r  # type: ignore[arg-type]
    over = list(range(ax, r)) if legacy or p.node.op_type == "LayerNormalization" else [ax]  # type: ignore[union-attr]
    p.check_axis(a, over, p.node.op_type)  # type: ignore[union-attr, arg-type]
    if legacy and a.lay.axis is not None and a.lay.axis > ax:
        raise p.fail(_SEQ_FIRST)
    new = _copy_with(p, a, axis=a.caxis(ax))
    p.out.append(new)
    p.bind(Act(a.full, a.lay, new.output[0]))


def _copy_with(p: _Pass, a: Act, **attrs: object) -> onnx.NodeProto:
    new = onnx.NodeProto()
    new.CopyFrom(p.node)
    new.input[0] = a.name
    for k in range(1, len(new.input)):
        if new.input[k]:
            new.input[k] = p.kin(new.input[k])
    keep = [x for x in new.attribute if x.name not in attrs]
    del new.attribute[:]
    new.attribute.extend(keep + [helper.make_attribute(k, v) for k, v in attrs.items()])
    new.output[0] = p.out_name()
    if len([o for o in new.output if o]) != 1:
        raise p.fail("only the first output is rewritten")
    return new


def _reduce(p: _Pass) -> None:
    n = p.node
    a = _act(p)
    r = len(a.full)
    as_input = p.opset >= 18 or (n.op_type == "ReduceSum" and p.opset >= 13)  # type: ignore[union-attr]
    axes = p.ints_input(1) if as_input else p.attr("axes")
    if not axes:
        if p.attr("noop_with_empty_axes", 0):
            raise p.fail("noop_with_empty_axes is not rewritten")
        axes = [k for k in range(r) if not (a.lay.axis == k and a.c == 1)] if a.lay.axis is not None else list(range(r))
    axes = sorted({int(x) % r for x in axes})  # type: ignore[union-attr]
    p.check_axis(a, axes, n.op_type)  # type: ignore[union-attr]
    keep = bool(p.attr("keepdims", 1))
    caxes = [a.caxis(k) for k in axes]
    if as_input:
        new = onnx.NodeProto()
        new.CopyFrom(n)
        del new.input[:]
        new.input.extend([a.name, p.const(caxes)])
        new.output[0] = p.out_name()
    else:
        new = _copy_with(p, a, axes=caxes)
    p.out.append(new)
    full = [1 if k in axes else d for k, d in enumerate(a.full)] if keep else [d for k, d in enumerate(a.full) if k not in axes]
    lay = a.lay
    if lay.axis is not None and not keep:
        lay = Layout(lay.axis - sum(1 for k in axes if k < lay.axis), lay.inner)
    p.bind(Act(tuple(full), lay, new.output[0]))


def _slice(p: _Pass) -> None:
    a = _act(p)
    r = len(a.full)
    if p.opset < 10:
        starts, ends = list(p.attr("starts")), list(p.attr("ends"))  # type: ignore[arg-type]
        axes = list(p.attr("axes", list(range(len(starts)))))  # type: ignore[arg-type]
        steps = [1] * len(starts)
    else:
        starts, ends = p.ints_input(1), p.ints_input(2)
        axes = p.ints_input(3) or list(range(len(starts or [])))
        steps = p.ints_input(4) or [1] * len(axes)
    if starts is None or ends is None or not len(starts) == len(ends) == len(axes) == len(steps):
        raise p.fail("Slice needs starts, ends, axes and steps of one length")
    axes = [int(x) % r for x in axes]
    p.check_axis(a, axes, "Slice")
    full = list(a.full)
    for s, e, x, st in zip(starts, ends, axes, steps, strict=True):
        full[x] = len(range(*slice(s, e, st).indices(int(full[x]))))
    caxes = [a.caxis(x) for x in axes]
    o = p.out_name()
    if p.opset < 10:
        p.emit("Slice", [a.name], [o], p.node.name, starts=starts, ends=ends, axes=caxes)  # type: ignore[union-attr]
    else:
        ins = [a.name, p.const(starts), p.const(ends), p.const(caxes), p.const(steps)]
        p.emit("Slice", ins, [o], p.node.name)  # type: ignore[union-attr]
    p.bind(Act(tuple(full), a.lay, o))


def _concat(p: _Pass) -> None:
    n = p.node
    ins = [i for i in n.input if i]  # type: ignore[union-attr]
    if any(i not in p.acts for i in ins):
        raise p.fail("Concat with constants is not rewritten")
    acts = [p.acts[i] for i in ins]
    a = acts[0]
    r = len(a.full)
    ax = int(p.attr("axis")) % r  # type: ignore[arg-type]
    p.check_axis(a, [ax], "Concat")
    if any(x.lay != a.lay or len(x.full) != r or any(x.full[k] != a.full[k] for k in range(r) if k != ax) for x in acts):
        raise p.fail("Concat operands hold the batch differently")
    full = list(a.full)
    full[ax] = sum(int(x.full[ax]) for x in acts)
    o = p.out_name()
    p.emit("Concat", [x.name for x in acts], [o], n.name, axis=a.caxis(ax))  # type: ignore[union-attr]
    p.bind(Act(tuple(full), a.lay, o))


_UNARY = ("Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Gelu", "HardSwish",
          "HardSigmoid", "LeakyRelu", "Elu", "Selu", "Celu", "Softplus", "Softsign", "Identity", "Dropout", "Cast",
          "Clip", "Mish", "ThresholdedRelu")
_BROADCASTING = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu", "Sum", "Mean")

RULES = {
    "Transpose": _transpose,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Gather": _gather,
    "MatMul": _matmul,
    "Gemm": _gemm,
    "Softmax": _axis_op,
    "LogSoftmax": _axis_op,
    "LayerNormalization": _axis_op,
    "ReduceMean": _reduce,
    "ReduceSum": _reduce,
    "ReduceMax": _reduce,
    "ReduceMin": _reduce,
    "Concat": _concat,
    "Slice": _slice,
    **{op: _elementwise for op in (*_UNARY, *_BROADCASTING)},
}
