"""Put the batch back on axis 0 where an export folds it into other axes (docs/ir.md
"Batch folded into other axes").

``torch.nn.MultiheadAttention`` (so ``nn.TransformerEncoderLayer``/``nn.TransformerEncoder``)
computes sequence-first: a batch-first model transposes ``(N, L, E)`` to ``(L, N, E)``, the
heads are split by ``view(L, N*H, hd)`` and moved first (``(N*H, L, hd)``), attention is a
batched product over ``N*H``, and ``transpose(0, 1).reshape(L*N, E)`` → out-projection →
``view(L, N, E)`` → transpose brings the batch back. Every event is still computed on its own,
but in between the batch is an inner axis, or a factor of one. The IR holds one event per
batch entry ("the batch is axis 0, shapes exclude it"), so before conversion this pass
rewrites the ONNX node list so that every activation is *canonical*: the batch on axis 0 and
the rest of the ONNX tensor, in its own order, behind it.

Each activation is described by its full ONNX shape (the batch factor as :class:`Sym`, ``c``
× batch) and its :class:`Layout`: the axis holding the batch and the size ``inner`` of the
factor to its right inside that axis (``axis = (outer, batch, inner)``, row-major). The
canonical tensor drops the batch factor from that axis (the axis itself when nothing else
is in it) and puts the batch first. Every op here acts on each event independently, so it
has a canonical counterpart: Transpose/Gather/Softmax/LayerNormalization/Reduce*/Concat
with re-numbered axes, Reshape/Flatten/Squeeze/Unsqueeze as a Reshape with a constant target
(where the batch factor lands follows from the row-major order: the elements before and
after it are preserved), MatMul batched over axes that hold the batch in both operands,
Gemm as MatMul + Add, elementwise ops with their constants re-laid out. Shape chains are
evaluated here (the batch stays symbolic, products of it included) and their consumers
receive constants. The per-op rules are ``attention_rules.py``.

Exports that bake the batch in: with a static batch ``n >= 2`` the batch factor inside a
constant Reshape target is found from the same row-major order (the place is unique); with
a static batch of 1 every activation is kept *whole* (the per-event value is the entire
ONNX tensor; moving a size-1 batch never reorders elements), and the inputs/outputs are
reshaped to and from that form.

The pass runs only when some Transpose moves axis 0. It is all-or-nothing: on a pattern it
does not know (an op outside its table while the batch is moved, the batch on a matrix axis
of a MatMul — a sequence-first model — an axis that mixes events ...) it returns the node
list unchanged together with the reason, and the converters refuse the model as before,
naming the node; the importer appends that reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ...ir.limits import MAX_TENSOR_ELEMENTS
from .sequence_layout import fresh_name

_DEFAULT = ("", "ai.onnx")


@dataclass(frozen=True)
class Sym:
    """``coef`` × the (symbolic) batch size inside a shape."""

    coef: int

    def __repr__(self) -> str:
        return "batch" if self.coef == 1 else f"{self.coef}*batch"

    def __mul__(self, other: object) -> Sym:
        if isinstance(other, (int, np.integer)):
            return Sym(self.coef * int(other))
        return NotImplemented

    __rmul__ = __mul__


class GiveUp(Exception):
    """The pass does not know this pattern; ``str`` is the reason, naming the node."""


def _pw(d: object) -> tuple[int, int]:
    """A dimension as (coefficient, power of the batch)."""
    if isinstance(d, Sym):
        return d.coef, 1
    return int(d), 0  # type: ignore[call-overload]


def _prod(dims) -> tuple[int, int]:  # noqa: ANN001
    c, p = 1, 0
    for d in dims:
        dc, dp = _pw(d)
        c, p = c * dc, p + dp
    return c, p


@dataclass(frozen=True)
class Layout:
    """Where the batch is: ``axis`` (``None``: the *whole* tensor is one event, static batch
    of 1) and the size ``inner`` of the factor to its right inside that axis."""

    axis: int | None
    inner: int = 1


WHOLE = Layout(None)


@dataclass
class Act:
    """An activation: its full ONNX shape, where the batch is, and its canonical tensor."""

    full: tuple  # the ONNX shape, the batch factor as Sym (numeric when whole)
    lay: Layout
    name: str  # the canonical tensor's name

    @property
    def c(self) -> int:
        assert self.lay.axis is not None
        return self.full[self.lay.axis].coef

    def standard(self) -> bool:
        return self.lay.axis == 0 and self.full[0] == Sym(1)

    def cdims(self, full: tuple | None = None, lay: Layout | None = None) -> list[int]:
        """The canonical shape behind the batch."""
        full = self.full if full is None else full
        lay = self.lay if lay is None else lay
        if lay.axis is None:
            return [int(d) for d in full]
        out = []
        for i, d in enumerate(full):
            if i == lay.axis:
                if d.coef != 1:
                    out.append(d.coef)
            else:
                out.append(int(d))
        return out

    def caxis(self, a: int) -> int:
        """Canonical ONNX axis (batch first) of ONNX axis ``a`` (not the batch's own axis)."""
        if self.lay.axis is None:
            return a + 1
        if a == self.lay.axis and self.c == 1:
            raise ValueError("the batch axis has no canonical counterpart")
        return 1 + a - (1 if self.c == 1 and a > self.lay.axis else 0)


class _Pass:
    def __init__(self, graph: onnx.GraphProto, nodes: list[onnx.NodeProto], opset: int, fixed: int | None) -> None:
        self.nodes, self.opset, self.fixed = nodes, opset, fixed
        self.whole = fixed == 1
        self.out: list[onnx.NodeProto] = []
        self.acts: dict[str, Act] = {}
        self.known: dict[str, np.ndarray] = {}
        self.tainted: set[str] = set()
        self.names = {n for node in nodes for n in (*node.input, *node.output)}
        self.names |= {t.name for t in graph.initializer} | {i.name for i in graph.input}
        self.outputs = [o.name for o in graph.output]
        self.node: onnx.NodeProto | None = None
        for t in graph.initializer:
            self.known[t.name] = numpy_helper.to_array(t)
        for vi in graph.input:
            if vi.name in self.known:
                continue
            dims = [d.dim_value if d.HasField("dim_value") else 0 for d in vi.type.tensor_type.shape.dim]
            if not dims or any(d < 1 for d in dims[1:]):
                raise GiveUp(f"model input {vi.name!r} has no static per-event shape")
            if self.whole:
                name = self.fresh(vi.name + "__whole")
                self.emit("Reshape", [vi.name, self.const([0, *dims])], [name], vi.name + "__to_whole")
                self.acts[vi.name] = Act(tuple(dims), WHOLE, name)
            else:
                self.acts[vi.name] = Act((Sym(1), *dims[1:]), Layout(0), vi.name)

    # ------------------------------------------------------------------ helpers
    def fresh(self, base: str) -> str:
        return fresh_name(self.names, base)

    def fail(self, reason: str) -> GiveUp:
        n = self.node
        return GiveUp(f"node {n.name or n.output[0]!r} ({n.op_type}): {reason}" if n is not None else reason)

    def emit(self, op: str, inputs: list[str], outputs: list[str], name: str, **attrs: object) -> None:
        self.out.append(helper.make_node(op, inputs, outputs, name=name, **attrs))

    def const(self, value: object, dtype: type = np.int64) -> str:
        name = self.fresh((self.node.name if self.node is not None else "input") + "__const")
        arr = np.asarray(value, dtype=dtype)
        self.emit("Constant", [], [name], name, value=numpy_helper.from_array(arr, name))
        return name

    def kin(self, name: str) -> str:
        """A known input for an emitted node: the original name, or a constant when it came
        from a shape computation (which this pass removes)."""
        if name not in self.tainted:
            return name
        v = self.known[name]
        if v.dtype == object:
            raise self.fail(f"input {name!r} depends on the batch size")
        return self.const(v, v.dtype.type)

    def out_name(self, i: int = 0) -> str:
        o = self.node.output[i]  # type: ignore[union-attr]
        return self.fresh(o + "__whole") if self.whole else o

    def bind(self, act: Act, i: int = 0) -> None:
        self.acts[self.node.output[i]] = act  # type: ignore[union-attr]

    def attr(self, name: str, default: object = None) -> object:
        for a in self.node.attribute:  # type: ignore[union-attr]
            if a.name == name:
                v = helper.get_attribute_value(a)
                return list(v) if not isinstance(v, (int, float, bytes, onnx.TensorProto)) else v
        return default

    def ints_input(self, i: int) -> list[int] | None:
        n = self.node  # type: ignore[union-attr]
        if len(n.input) <= i or not n.input[i]:
            return None
        if n.input[i] not in self.known:
            raise self.fail(f"input {i} must be a constant")
        v = self.known[n.input[i]]
        if v.dtype == object:
            raise self.fail(f"input {i} depends on the batch size")
        return [int(x) for x in np.ravel(v)]

    # ------------------------------------------------------------------ driver
    def run(self) -> list[onnx.NodeProto]:
        from .attention_rules import RULES  # the rules module builds on this one's types

        for node in self.nodes:
            self.node = node
            if node.domain not in _DEFAULT:
                raise self.fail("only default-domain ops are rewritten")
            ins = [i for i in node.input if i]
            if node.op_type == "Shape" and ins and ins[0] in self.acts:
                self.shape_of(node)
            elif all(i in self.known for i in ins):
                self.fold(node)
            else:
                rule = RULES.get(node.op_type)
                if rule is None:
                    self.passthrough(node)
                else:
                    rule(self)
        self.node = None
        for o in self.outputs:
            a = self.acts.get(o)
            if a is None:
                raise GiveUp(f"graph output {o!r} is not computed from the model inputs")
            if a.lay.axis is None:
                if a.full[0] != 1:
                    raise GiveUp(f"graph output {o!r} does not have the batch first")
                self.emit("Reshape", [a.name, self.const([0, *a.full[1:]])], [o], o + "__from_whole")
            elif not a.standard():
                raise GiveUp(f"graph output {o!r} does not have the batch first ({a.full}, batch on axis {a.lay.axis})")
        return self.out

    def shape_of(self, node: onnx.NodeProto) -> None:
        a = self.acts[node.input[0]]
        full = np.array(list(a.full), dtype=object if a.lay.axis is not None else np.int64)
        start, end = self.attr("start", 0), self.attr("end", None)
        self.known[node.output[0]] = _settle(full[start:end])  # type: ignore[misc]
        self.tainted.add(node.output[0])

    def fold(self, node: onnx.NodeProto) -> None:
        ins = [self.known[i] if i else None for i in node.input]
        tainted = any(i in self.tainted for i in node.input if i)
        if any(v is not None and v.dtype == object for v in ins):
            from .attention_rules import SYMBOLIC

            rule = SYMBOLIC.get(node.op_type)
            if rule is None:
                raise self.fail("a shape computation with the batch size this pass does not evaluate")
            outs = [_settle(np.asarray(rule(self, ins), dtype=object))]
        else:
            from onnx.reference import ReferenceEvaluator

            if node.op_type in _SIZED and _sized_output(node.op_type, ins) > MAX_TENSOR_ELEMENTS:
                raise self.fail("its constant output would be larger than hlsforge's tensor limit")
            feeds = {n: v for n, v in zip(node.input, ins, strict=True) if n}
            try:
                outs = ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds)
            except Exception as e:  # noqa: BLE001 - onnx.reference raises many types
                raise self.fail(f"cannot evaluate ({type(e).__name__})") from None
        for name, v in zip(node.output, outs, strict=False):
            if name:
                self.known[name] = np.asarray(v)
                if tainted:
                    self.tainted.add(name)
        if not tainted:
            self.out.append(node)  # the importer folds it the same way (types of quantized weights kept)

    def passthrough(self, node: onnx.NodeProto) -> None:
        """An op outside the table, on events laid out as the importer expects."""
        acts = [self.acts[i] for i in node.input if i in self.acts]
        if self.whole or not all(a.standard() for a in acts):
            raise self.fail("this op is not rewritten while the batch is not on axis 0")
        from onnx import defs, shape_inference

        types, data = {}, {}
        for i in node.input:
            if i in self.acts:
                shape = ["batch" if isinstance(d, Sym) else int(d) for d in self.acts[i].full]
                types[i] = helper.make_tensor_type_proto(TensorProto.FLOAT, shape)
            elif i:
                v = self.known[i]
                if v.dtype == object:
                    raise self.fail(f"input {i!r} depends on the batch size")
                types[i] = helper.make_tensor_type_proto(helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape))
                data[i] = numpy_helper.from_array(v, i)
        try:
            schema = defs.get_schema(node.op_type, self.opset, node.domain)
            inferred = shape_inference.infer_node_outputs(schema, node, types, data)
        except Exception as e:  # noqa: BLE001 - onnx raises many types
            raise self.fail(f"output shape unknown ({type(e).__name__})") from None
        new = onnx.NodeProto()
        new.CopyFrom(node)
        for k, i in enumerate(node.input):
            if i and i not in self.acts:
                new.input[k] = self.kin(i)
        self.out.append(new)
        for o in node.output:
            if not o:
                continue
            t = inferred.get(o)
            dims = list(t.tensor_type.shape.dim) if t is not None and t.tensor_type.HasField("shape") else None
            if not dims or not dims[0].dim_param == "batch" or any(not d.HasField("dim_value") for d in dims[1:]):
                raise self.fail("output shape unknown")
            self.acts[o] = Act((Sym(1), *[int(d.dim_value) for d in dims[1:]]), Layout(0), o)

    # ------------------------------------------------------------------ layouts
    def locate(self, a: Act, full_out: list) -> tuple[tuple, Layout]:
        """Where the batch factor of ``a`` lands in a row-major reshape to ``full_out``."""
        ax, inner = a.lay.axis, a.lay.inner
        assert ax is not None
        before = math.prod(int(d) for d in a.full[:ax]) * (a.c // inner)
        after = inner * math.prod(int(d) for d in a.full[ax + 1 :])
        syms = [j for j, d in enumerate(full_out) if isinstance(d, Sym)]
        if not syms and self.fixed is not None:
            for j, d in enumerate(full_out):
                pre, suf = math.prod(full_out[:j]), math.prod(full_out[j + 1 :])
                if d % self.fixed == 0 and before % pre == 0 and after % suf == 0 and (before // pre) * (after // suf) * self.fixed == d:
                    full_out = [*full_out[:j], Sym(d // self.fixed), *full_out[j + 1 :]]
                    syms = [j]
                    break
        if len(syms) != 1:
            raise self.fail(f"the batch cannot be followed through the reshape to {full_out}")
        j = syms[0]
        pre = math.prod(int(d) for d in full_out[:j])
        suf = math.prod(int(d) for d in full_out[j + 1 :])
        if before % pre or after % suf or (before // pre) * (after // suf) != full_out[j].coef:
            raise self.fail(f"the reshape to {full_out} splits the batch from its position")
        return tuple(full_out), Layout(j, after // suf)

    def reshape_to(self, a: Act, full_out: list) -> None:
        if self.whole:
            full, lay = tuple(int(d) for d in full_out), WHOLE
        else:
            full, lay = self.locate(a, full_out)
        o = self.out_name()
        cd = a.cdims(full, lay)
        if cd == a.cdims():
            self.emit("Identity", [a.name], [o], self.node.name)  # type: ignore[union-attr]
        else:
            self.emit("Reshape", [a.name, self.const([0, *cd])], [o], self.node.name)  # type: ignore[union-attr]
        self.bind(Act(full, lay, o))

    def check_axis(self, a: Act, axes: list[int], what: str) -> None:
        if a.lay.axis is not None and a.lay.axis in axes:
            raise self.fail(f"{what} runs along the axis that holds the batch (it would mix events)")

    def const_operand(self, name: str, out_rank: int, a: Act) -> str:
        """A constant operand of a broadcasting op, re-laid out for the canonical tensor."""
        v = self.known[name]
        if v.dtype == object:
            raise self.fail(f"input {name!r} depends on the batch size")
        if v.ndim > out_rank:
            raise self.fail("a constant operand has more axes than the activation")
        ax = a.lay.axis
        if ax is None or v.ndim < out_rank - ax:
            return self.kin(name)  # does not reach the batch axis
        v = v.reshape((1,) * (out_rank - v.ndim) + v.shape)
        if v.shape[ax] != 1:
            raise self.fail("a constant operand varies along the axis that holds the batch")
        if a.c == 1:
            v = np.squeeze(v, ax)
        return self.const(v, v.dtype.type)


# ---------------------------------------------------------------------------- constant folding

_SIZED = ("ConstantOfShape", "Expand", "Tile")
"""Ops whose constant output size comes from an input's values (as the importer's fold checks)."""


def _sized_output(op: str, ins: list) -> int:  # noqa: ANN001
    """The output elements of a _SIZED op on constant inputs (huge when it cannot be told)."""
    try:
        if op == "ConstantOfShape":
            return math.prod(abs(int(d)) for d in np.ravel(ins[0]))
        data, arg = list(np.shape(ins[0])), [abs(int(d)) for d in np.ravel(ins[1])]
        if op == "Tile":
            return math.prod(data) * math.prod(arg)
        rank = max(len(data), len(arg))
        data, arg = [1] * (rank - len(data)) + data, [1] * (rank - len(arg)) + arg
        return math.prod(max(a, b) for a, b in zip(data, arg, strict=True))
    except (TypeError, ValueError, OverflowError, IndexError):
        return 2**62


def _settle(v: np.ndarray) -> np.ndarray:
    """A shape value as int64 once no batch symbol is left in it."""
    if v.dtype == object and not any(isinstance(x, Sym) for x in v.flat):
        return v.astype(np.int64)
    return v


# ---------------------------------------------------------------------------- entry point


def _moves_batch(node: onnx.NodeProto) -> bool:
    if node.op_type != "Transpose" or node.domain not in _DEFAULT:
        return False
    perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
    return perm is None or (len(perm) > 1 and perm[0] != 0)


def _fixed_batch(graph: onnx.GraphProto) -> tuple[bool, int | None]:
    """(usable, the static batch of every input or ``None`` when it is dynamic)."""
    inits = {t.name for t in graph.initializer}
    firsts = set()
    for vi in graph.input:
        if vi.name in inits:
            continue
        dims = vi.type.tensor_type.shape.dim
        if not dims:
            return False, None
        firsts.add(int(dims[0].dim_value) if dims[0].HasField("dim_value") and dims[0].dim_value > 0 else None)
    if len(firsts) != 1:
        return False, None
    return True, firsts.pop()


def absorb_attention_layout(
    graph: onnx.GraphProto, nodes: list[onnx.NodeProto], opset: int
) -> tuple[list[onnx.NodeProto], str | None]:
    """The node list with every activation batch-first, or the list unchanged and the reason
    (``None`` when no Transpose moves the batch: nothing to do)."""
    if not any(_moves_batch(n) for n in nodes):
        return nodes, None
    usable, fixed = _fixed_batch(graph)
    if not usable:
        return nodes, "the model inputs do not share one batch axis"
    try:
        return _Pass(graph, nodes, opset, fixed).run(), None
    except GiveUp as e:
        return nodes, str(e)
    except Exception as e:  # noqa: BLE001 - never worse than without the pass: the converters decide
        return nodes, f"unexpected {type(e).__name__}: {e}"
