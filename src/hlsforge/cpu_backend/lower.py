"""Lowering: decide how the CPU backend runs each node, as typed records.

``lower(graph)`` returns a :class:`ModelPlan`, everything :mod:`.emit` needs; rendering is a
pure function of the plan. Three phases:

1. **Tasks.** Graph inputs given in another layout get a permute task; every node is a task;
   graph outputs that cannot be written in place get a copy (or permute) task. Constants used
   where an op expects an activation are materialized once per batch chunk.
2. **Storage.** Reshape/Flatten are views (no code, no copy). A graph output is written
   straight into the caller's buffer when its layout allows. Every other tensor gets an offset
   in one arena, per event, reused as soon as the tensor is dead (greedy first fit by
   liveness); a chunk of ``n`` events uses ``offset * n``, so offsets stay disjoint for any n.
3. **Records.** One small rule per op in ``RULES`` (a test checks it covers ``FINAL_OPS``)
   turns a node into a step record with compile-time sizes and its strategy (inlined loop or
   BLAS; direct convolution or im2col + GEMM), chosen by the thresholds in :class:`Tuning`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import UnsupportedOpError
from ..ir.graph import Graph, Node
from ..ir.ops import (
    AlphaAttrs,
    ClipAttrs,
    ConvAttrs,
    HardSigmoidAttrs,
    Op,
    PadAttrs,
    PoolAttrs,
    QuantizeAttrs,
    SeluAttrs,
    TransposeAttrs,
    spec,
)
from ..ir.types import FixedType, IntType
from ..quantize.fixed import as_fixed_type
from .names import Namer, namespace_name

Shape = tuple[int, ...]

# --------------------------------------------------------------------------------- tuning


@dataclass(frozen=True)
class Tuning:
    """Thresholds that pick a kernel strategy; the defaults were measured (docs/cpu_backend.md).

    A BLAS call costs a fixed ~0.1-0.3 us; an inlined loop with compile-time sizes has no
    such cost but no cache blocking, so small products stay loops and large ones go to BLAS.
    """

    dense_loop_max_macs: int = 16384
    """Dense layers (and 1x1 convolutions) with ``n_in * n_out`` at most this always run as
    the register-tiled loop (blocks of six rows share every weight load; it matches sgemm up
    to about 128 x 128 and has no call overhead) ..."""
    dense_blas_min_rows: int = 32
    """... larger ones use sgemm from this many rows (events x leading dims) on."""
    conv_direct_max_macs: int = 4096
    """Convolutions with at most this many multiply-adds per output position and group run
    as direct register tiles at every batch (no im2col copy); larger ones use im2col + sgemm
    from ``dense_blas_min_rows`` rows (events x output positions) on."""
    conv_im2col_block_floats: int = 1 << 16
    """im2col + sgemm runs in blocks of about this many floats of patches (at least
    ``dense_blas_min_rows`` rows), so that a block is still in L2 when sgemm reads it and the
    scratch does not grow with the image (one 100x100 64-channel 3x3 layer: 23 MB in one go)."""
    conv_direct_max_macs_32regs: int = 1 << 16
    """The same bound where the compiler has 32 vector registers (AVX-512VL): direct tiles of
    6 positions x 4 vectors then run near the FMA peak. Measured on a Zen 4 core (2026-12-04,
    issue 12's 14-layer 3x3 64-channel 100x100 model, batch 1): direct 0.100 s vs blocked
    im2col + OpenBLAS sgemm 0.115 s (the unblocked im2col took 0.158 s) at 36,864 MACs per
    position; larger products were not measured and stay with sgemm (their weights outgrow L2)."""
    conv_winograd_min_channels: int = 32
    """3x3 stride-1 single-group convolutions with at least this many input and output
    channels (both whole vectors of 8) run as Winograd F(2x2, 3x3) (0: never): 16 instead of
    36 multiply-adds per 2x2 output block and channel pair, as 16 register-tiled matrix
    products. Measured on a Zen 4 core (2026-12-04, issue 12's 14-layer 3x3 64-channel
    100x100 model): see docs/cpu_backend.md."""
    conv_winograd_tiles: int = 36
    """Output tiles (2x2 positions) per Winograd block: a multiple of the six-row GEMM block;
    its transformed inputs and products (16 x 36 x channels each) stay in L2."""
    gemv_min_macs: int = 1 << 22
    """Single-row products at least this large use sgemv (the loop is as fast below)."""
    fuse_activations: bool = True
    """Run an activation that alone consumes a Dense/Conv output in that layer's epilogue."""
    workspace_floats: int = 1 << 20
    """Target size (floats) of the default workspace: its batch capacity is this over the
    per-event arena, clamped to [1, max_chunk]."""
    max_chunk: int = 1024


DEFAULT_TUNING = Tuning()

# --------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Origin:
    """The node a step comes from, for the comment above its call (and the activation fused
    into it, if any)."""

    node: str
    source_name: str
    source_op: str
    op: str
    fused_op: str = ""
    fused_source_name: str = ""


@dataclass(frozen=True)
class TensorDecl:
    """A pointer the generated ``run_chunk`` declares for an activation tensor.

    ``kind``: ``"arena"`` (at ``offset * n`` in the workspace), ``"output"`` (the caller's
    output number ``offset``) or ``"alias"`` (a view of ``alias_of``; ``const`` when that is a
    read-only graph input).
    """

    ident: str
    value: str
    shape: Shape
    kind: str
    offset: int = 0
    alias_of: str = ""
    const: bool = False


@dataclass(frozen=True)
class IORecord:
    """A graph input or output as the caller sees it."""

    name: str
    ident: str
    user_shape: Shape
    internal_shape: Shape
    perm: tuple[int, ...] | None
    size: int


@dataclass(frozen=True)
class WeightRecord:
    name: str
    ident: str
    shape: Shape
    offset: int
    size: int
    # A tensor the lowering derived from the graph's constants (a transposed or summed copy,
    # laid out for a kernel); None: the graph constant ``name`` itself.
    data: np.ndarray | None = field(default=None, compare=False, hash=False, repr=False)

    def array(self, graph: Graph) -> np.ndarray:
        """The values this record stores in the weight file."""
        return self.data if self.data is not None else graph.constant(self.name)


@dataclass(frozen=True)
class Step:
    """Base of every step record: where it came from and the tensors it declares."""

    origin: Origin | None
    decls: tuple[TensorDecl, ...]


@dataclass(frozen=True)
class DenseStep(Step):
    cfg: str
    x: str
    w: str
    b: str
    y: str
    rows: int  # rows per event (product of the leading non-batch dims)
    n_in: int
    n_out: int
    blas_min_rows: int  # 0: never sgemm
    use_gemv: bool
    activation: Activation | None = None  # fused into the epilogue


@dataclass(frozen=True)
class ConvGeometry:
    in_h: int
    in_w: int
    c_in: int
    out_h: int
    out_w: int
    c_out: int
    k_h: int
    k_w: int
    s_h: int
    s_w: int
    d_h: int
    d_w: int
    pad_t: int
    pad_l: int
    pad_b: int
    pad_r: int
    groups: int


@dataclass(frozen=True)
class ConvStep(Step):
    cfg: str
    x: str
    w: str
    b: str
    y: str
    geometry: ConvGeometry
    strategy: str  # "general" | "pointwise" | "depthwise" | "winograd"
    blas_min_rows: int  # 0: never sgemm (16 vector registers)
    blas_min_rows_32: int  # the same where the compiler has 32 vector registers
    scratch: int  # floats per event (im2col block or padded event)
    im2col_rows: int  # rows per im2col block (0: no im2col); Winograd: output tiles per block
    activation: Activation | None = None  # fused into the epilogue


@dataclass(frozen=True)
class PoolGeometry:
    in_h: int
    in_w: int
    c: int
    out_h: int
    out_w: int
    k_h: int
    k_w: int
    s_h: int
    s_w: int
    pad_t: int
    pad_l: int
    pad_b: int
    pad_r: int
    count_include_pad: bool


@dataclass(frozen=True)
class PoolStep(Step):
    cfg: str
    kind: str  # "max" | "avg"
    x: str
    y: str
    geometry: PoolGeometry


@dataclass(frozen=True)
class GlobalPoolStep(Step):
    kind: str
    x: str
    y: str
    spatial: int
    channels: int


@dataclass(frozen=True)
class AffineStep(Step):
    x: str
    scale: str
    bias: str
    y: str
    rows: int
    channels: int


@dataclass(frozen=True)
class Activation:
    """An elementwise function of the kernel library and its float parameters."""

    functor: str  # hlsforge_cpu struct name
    params: tuple[float, ...] = ()


@dataclass(frozen=True)
class QuantizeFn:
    """A cast into ``fixed<width, width - frac, signed, rounding, overflow>``; ``int_quirk``
    for ``ap_int`` targets, which map -0.5 < x < 0 to 1 like Xilinx's ``ap_int(double)``."""

    width: int
    frac: int
    signed: bool
    rounding: str
    overflow: str
    int_quirk: bool = False


@dataclass(frozen=True)
class MapStep(Step):
    fn: Activation | QuantizeFn
    x: str
    y: str
    count: int  # values per event


@dataclass(frozen=True)
class SoftmaxStep(Step):
    x: str
    y: str
    rows: int
    width: int


@dataclass(frozen=True)
class BinaryStep(Step):
    cfg: str
    op: str  # "AddOp" | "SubOp" | "MulOp"
    a: str
    b: str
    y: str
    dims: Shape
    a_str: Shape
    b_str: Shape
    y_str: Shape
    a_event: int
    b_event: int
    out_event: int


@dataclass(frozen=True)
class ConcatPart:
    x: str
    x_event: int
    inner: int
    offset: int


@dataclass(frozen=True)
class ConcatStep(Step):
    parts: tuple[ConcatPart, ...]
    y: str
    outer: int
    inner: int


@dataclass(frozen=True)
class PermuteStep(Step):
    cfg: str
    x: str
    y: str
    dims: Shape
    x_str: Shape
    size: int


@dataclass(frozen=True)
class PadStep(Step):
    cfg: str
    x: str
    y: str
    in_dims: Shape
    in_inner: Shape
    y_str: Shape
    begin_offset: int
    in_size: int
    out_size: int


@dataclass(frozen=True)
class CopyStep(Step):
    x: str
    x_event: int  # 0 repeats a constant for every event
    y: str
    count: int


@dataclass(frozen=True)
class ViewStep(Step):
    """Reshape/Flatten: the output is the input's memory under another shape (no code)."""

    x: str
    y: str


@dataclass(frozen=True)
class ModelPlan:
    """Everything the emitter needs to render one model."""

    model_name: str
    namespace: str
    source_format: str
    inputs: tuple[IORecord, ...]
    outputs: tuple[IORecord, ...]
    weights: tuple[WeightRecord, ...]
    weight_floats: int
    arena_floats: int  # per event
    scratch_floats: int  # per event
    default_batch: int
    steps: tuple[Step, ...]


# --------------------------------------------------------------------------------- helpers


def _strides(shape: Shape) -> Shape:
    out = []
    acc = 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return tuple(reversed(out))


def _align(n: int, a: int = 16) -> int:
    return (n + a - 1) // a * a


def _collapse(dims: list[int], *strides: list[int]) -> tuple[Shape, tuple[Shape, ...]]:
    """Drop size-1 dims and merge neighbours that are contiguous in every operand."""
    keep = [i for i, d in enumerate(dims) if d != 1]
    d2 = [dims[i] for i in keep]
    s2 = [[s[i] for i in keep] for s in strides]
    i = len(d2) - 2
    while i >= 0:
        if all(s[i] == s[i + 1] * d2[i + 1] for s in s2):
            d2[i] *= d2[i + 1]
            for s in s2:
                s[i] = s[i + 1]
                del s[i + 1]
            del d2[i + 1]
        i -= 1
    if not d2:
        return (1,), tuple((1,) for _ in strides)
    return tuple(d2), tuple(tuple(s) for s in s2)


def _permute_geometry(shape: Shape, perm: tuple[int, ...]) -> tuple[Shape, Shape]:
    """Output dims and input strides of ``transpose(x, perm)`` for one event, collapsed."""
    st = _strides(shape)
    dims = [shape[p] for p in perm]
    x_str = [st[p] for p in perm]
    y_str = list(_strides(tuple(dims)))
    d, (xs, _) = _collapse(dims, x_str, y_str)
    return d, xs


# --------------------------------------------------------------------------------- tasks


@dataclass
class _Task:
    kind: str  # "node" | "in_perm" | "out_copy" | "materialize"
    node: Node | None = None
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    index: int = 0  # input/output position for in_perm / out_copy
    const: str = ""  # materialize: the constant value


_BINARY = {Op.ADD: "AddOp", Op.SUB: "SubOp", Op.MUL: "MulOp"}
_VIEWS = (Op.RESHAPE, Op.FLATTEN)


class _Planner:
    """Runs the three phases for one graph; ``plan()`` returns the ModelPlan."""

    def __init__(self, graph: Graph, name: str | None, tuning: Tuning) -> None:
        self.g = graph
        self.tuning = tuning
        self.model_name = name or graph.name or "model"
        self.namespace = namespace_name(self.model_name)
        self.namer = Namer({"n", "arena", "scratch", "w_", "storage_", "ws", "batch"})
        self.shapes: dict[str, Shape] = {k: v.shape for k, v in graph.values.items()}
        self.materialized: dict[str, str] = {}  # constant -> synthetic activation value
        self.tasks: list[_Task] = []
        self.weights: dict[str, WeightRecord] = {}
        self.weight_floats = 0
        self.ident: dict[str, str] = {}  # activation value -> pointer name
        self.decl: dict[str, TensorDecl] = {}
        self.in_params: list[IORecord] = []
        self.out_params: list[IORecord] = []

    # ---------------------------------------------------------------- phase 1: tasks

    def _is_weight_role(self, node: Node, i: int) -> bool:
        s = spec(node.op)
        role = s.inputs[i] if not s.variadic else s.inputs[0]
        if role in s.constants:
            return True
        return node.op in _BINARY and self.g.values[node.inputs[i]].is_constant

    def _activation(self, value: str) -> str:
        """The activation value to read for ``value`` (a constant becomes a materialized one)."""
        if not self.g.values[value].is_constant:
            return value
        if value not in self.materialized:
            synth = f"{value} (materialized)"
            self.materialized[value] = synth
            self.shapes[synth] = self.g.values[value].shape
            self.tasks.append(_Task("materialize", writes=[synth], const=value))
        return self.materialized[value]

    def build_tasks(self) -> None:
        g = self.g
        for i, name in enumerate(g.inputs):
            if g.input_perm.get(name):
                self.tasks.append(_Task("in_perm", writes=[name], index=i))
        self.node_reads: dict[str, list[str]] = {}
        self.fusions = self._find_fusions() if self.tuning.fuse_activations else {}
        fused_away = {act.name for act in self.fusions.values()}
        for node in g.nodes:
            if node.name in fused_away:
                continue
            reads = []
            for i, v in enumerate(node.inputs):
                if self._is_weight_role(node, i):
                    continue
                reads.append(self._activation(v))
            self.node_reads[node.name] = reads
            act = self.fusions.get(node.name)
            writes = list(act.outputs) if act is not None else list(node.outputs)
            if node.op in RECURRENT_OPS:  # the cell's working memory: arena, live during the node
                writes.append(recurrent_scratch(self, node))
            elif node.op in SCRATCH_OPS:  # a kernel's working memory (rules_spatial), like the cell's
                writes.append(SCRATCH_OPS[node.op](self, node))
            self.tasks.append(_Task("node", node=node, reads=reads, writes=writes))
        self.out_source: dict[int, str] = {}
        for i, name in enumerate(g.outputs):
            self.out_source[i] = self._activation(name)

    def _find_fusions(self) -> dict[str, Node]:
        """Dense/Conv nodes whose output feeds exactly one vectorized activation (and nothing
        else, not even a graph output): the activation runs in the producer's epilogue."""
        g = self.g
        users: dict[str, list[Node]] = {}
        for node in g.nodes:
            for v in node.inputs:
                users.setdefault(v, []).append(node)
        out: dict[str, Node] = {}
        for node in g.nodes:
            if node.op not in FUSING_OPS:
                continue
            v = node.outputs[0]
            consumers = users.get(v, [])
            if v in g.outputs or len(consumers) != 1:
                continue
            act = consumers[0]
            if act.op not in ACTIVATIONS or act.inputs != [v]:
                continue
            # The epilogue works on a row's output vectors: a transcendental function on a row
            # narrower than a vector would waste most lanes, where the separate pass does not.
            groups = node.attrs.groups if isinstance(node.attrs, ConvAttrs) else 1
            if act.op in _TRANSCENDENTAL and self.shapes[v][-1] // groups < 8:
                continue
            out[node.name] = act
        return out

    # ---------------------------------------------------------------- phase 2: storage

    def assign_storage(self) -> None:
        g = self.g
        root: dict[str, str] = {}
        producer: dict[str, int] = {}
        for name in g.inputs:
            if not g.input_perm.get(name):
                root[name] = name  # lives in the caller's input buffer
        for t_i, task in enumerate(self.tasks):
            for w in task.writes:
                if task.kind == "node" and task.node is not None and task.node.op in _VIEWS:
                    root[w] = root[task.reads[0]]
                else:
                    root[w] = w
                    producer[w] = t_i

        # graph outputs written in place when their layout matches and the root is computed here
        direct: dict[str, int] = {}
        copies: list[int] = []
        for i, name in enumerate(g.outputs):
            src = self.out_source[i]
            r = root[src]
            if not g.output_perm.get(name) and r in producer and r not in direct:
                direct[r] = i
            else:
                copies.append(i)
        for i in copies:
            self.tasks.append(_Task("out_copy", reads=[self.out_source[i]], index=i))

        # liveness of arena roots
        first: dict[str, int] = {}
        last: dict[str, int] = {}
        for t_i, task in enumerate(self.tasks):
            for w in task.writes:
                r = root[w]
                first.setdefault(r, t_i)
                last[r] = max(last.get(r, t_i), t_i)
            for v in task.reads:
                r = root[v]
                last[r] = max(last.get(r, t_i), t_i)
        offsets: dict[str, int] = {}
        live: list[tuple[int, int, str]] = []  # (offset, size, root)
        arena = 0
        for r in sorted((r for r in producer if r not in direct), key=lambda r: (first[r], r)):
            start = first[r]
            live = [blk for blk in live if last[blk[2]] >= start]
            size = _align(math.prod(self.shapes[r]))
            off = 0
            for b_off, b_size, _ in sorted(live):
                if off + size <= b_off:
                    break
                off = max(off, b_off + b_size)
            offsets[r] = off
            live.append((off, size, r))
            arena = max(arena, off + size)
        self.arena_floats = arena
        self.root = root
        self.direct = direct
        self.offsets = offsets

    # ---------------------------------------------------------------- phase 3: records

    def io_records(self) -> None:
        g = self.g
        names = Namer({"batch", "ws", "n"})
        for name in g.inputs:
            shape = self.shapes[name]
            perm = g.input_perm.get(name) or None
            self.in_params.append(IORecord(name, names.ident("in", name), g.user_shape(name), shape, perm, math.prod(shape)))
        for name in g.outputs:
            shape = self.shapes[name]
            perm = g.output_perm.get(name) or None
            user = tuple(shape[p] for p in perm) if perm else shape  # matches Graph.to_user
            self.out_params.append(IORecord(name, names.ident("out", name), user, shape, perm, math.prod(shape)))

    def declare(self, value: str) -> TensorDecl:
        """Declare the pointer of an activation value written by the current task."""
        r = self.root[value]
        if r != value:
            base = self.decl.get(r)
            alias_of = base.ident if base is not None else self.ident[r]
            const = base.const if base is not None else True  # caller's input: read-only
            d = TensorDecl(self.namer.ident("t", value), value, self.shapes[value], "alias", alias_of=alias_of, const=const)
        elif r in self.direct:
            d = TensorDecl(self.out_params[self.direct[r]].ident, value, self.shapes[value], "output", offset=self.direct[r])
        else:
            d = TensorDecl(self.namer.ident("t", value), value, self.shapes[value], "arena", offset=self.offsets[r])
        self.ident[value] = d.ident
        self.decl[value] = d
        return d

    def weight(self, value: str) -> str:
        rec = self.weights.get(value)
        if rec is None:
            data = self.g.constant(value)
            size = int(data.size)
            rec = WeightRecord(value, self.namer.ident("w", value), tuple(data.shape), self.weight_floats, size)
            self.weights[value] = rec
            self.weight_floats += _align(size)
        return rec.ident

    def derived_weight(self, key: str, data: np.ndarray) -> str:
        """A weight tensor computed here from the graph's constants (a kernel's layout of
        them), stored in the weight file under ``key`` like a graph constant."""
        rec = self.weights.get(key)
        if rec is None:
            data = np.ascontiguousarray(data, dtype=np.float32)
            rec = WeightRecord(key, self.namer.ident("w", key), tuple(data.shape), self.weight_floats, int(data.size), data)
            self.weights[key] = rec
            self.weight_floats += _align(int(data.size))
        return rec.ident

    def origin(self, node: Node) -> Origin:
        return Origin(node.name, node.source_name, node.source_op, node.op.value)

    def records(self) -> list[Step]:
        self.io_records()
        for p in self.in_params:
            if not p.perm:
                self.ident[p.name] = p.ident
        steps: list[Step] = []
        for task in self.tasks:
            if task.kind == "in_perm":
                p = self.in_params[task.index]
                d = self.declare(p.name)
                dims, x_str = _permute_geometry(p.user_shape, p.perm or ())
                steps.append(PermuteStep(None, (d,), self.namer.ident("cfg", f"input_{p.name}"), p.ident, d.ident, dims, x_str, p.size))
            elif task.kind == "materialize":
                d = self.declare(task.writes[0])
                size = math.prod(self.shapes[task.writes[0]])
                steps.append(CopyStep(None, (d,), self.weight(task.const), 0, d.ident, size))
            elif task.kind == "out_copy":
                p = self.out_params[task.index]
                src = self.ident[task.reads[0]]
                if p.perm:
                    dims, x_str = _permute_geometry(p.internal_shape, p.perm)
                    steps.append(PermuteStep(None, (), self.namer.ident("cfg", f"output_{p.name}"), src, p.ident, dims, x_str, p.size))
                else:
                    steps.append(CopyStep(None, (), src, p.size, p.ident, p.size))
            elif task.node is not None:
                rule = RULES.get(task.node.op)
                if rule is None:
                    raise UnsupportedOpError(
                        f"{task.node.describe()}: the CPU backend has no kernel for {task.node.op.value}"
                        "; "
                        f"supported ops: {', '.join(sorted(o.value for o in RULES))}"
                    )
                steps.append(rule(self, task.node))
        return steps

    def plan(self) -> ModelPlan:
        self.build_tasks()
        self.assign_storage()
        steps = self.records()
        scratch = max((s.scratch for s in steps if isinstance(s, ConvStep)), default=0)
        per_event = max(1, self.arena_floats + scratch)
        chunk = max(1, min(self.tuning.max_chunk, self.tuning.workspace_floats // per_event))
        return ModelPlan(
            model_name=self.model_name,
            namespace=self.namespace,
            source_format=self.g.source_format,
            inputs=tuple(self.in_params),
            outputs=tuple(self.out_params),
            weights=tuple(self.weights.values()),
            weight_floats=self.weight_floats + WEIGHT_SLACK,
            arena_floats=self.arena_floats,
            scratch_floats=scratch,
            default_batch=chunk,
            steps=tuple(steps),
        )

    # ---------------------------------------------------------------- rule helpers

    def x(self, node: Node, i: int = 0) -> str:
        return self.ident[self.node_reads[node.name][i]]

    def x_shape(self, node: Node, i: int = 0) -> Shape:
        return self.shapes[node.inputs[i]]

    def out(self, node: Node) -> tuple[TensorDecl, str]:
        act = self.fusions.get(node.name)
        d = self.declare(act.outputs[0] if act is not None else node.outputs[0])
        return d, d.ident

    def fused(self, node: Node) -> Activation | None:
        """The activation fused into this node's epilogue, if any."""
        act = self.fusions.get(node.name)
        return ACTIVATIONS[act.op](act) if act is not None else None

    def origin_fused(self, node: Node) -> Origin:
        o = self.origin(node)
        act = self.fusions.get(node.name)
        if act is None:
            return o
        return Origin(o.node, o.source_name, o.source_op, o.op, act.op.value, act.source_name)


Rule = Callable[[_Planner, Node], Step]

# --------------------------------------------------------------------------------- rules


def _dense(p: _Planner, node: Node) -> Step:
    xs = p.x_shape(node)
    n_in, n_out = p.g.values[node.inputs[1]].shape
    d, y = p.out(node)
    t = p.tuning
    macs = n_in * n_out
    return DenseStep(
        p.origin_fused(node), (d,), p.namer.ident("cfg", node.name), p.x(node), p.weight(node.inputs[1]),
        p.weight(node.inputs[2]), y, math.prod(xs[:-1]), n_in, n_out, _blas_min_rows(t, macs),
        macs >= t.gemv_min_macs, p.fused(node),
    )


def _blas_min_rows(t: Tuning, macs: int) -> int:
    """Rows from which a product of ``macs`` multiply-adds per row goes to sgemm (0: never)."""
    return 0 if macs <= t.dense_loop_max_macs else t.dense_blas_min_rows


def _winograd(t: Tuning, geo: ConvGeometry) -> bool:
    """Whether a convolution runs as Winograd F(2x2, 3x3) (``Tuning.conv_winograd_min_channels``)."""
    return (t.conv_winograd_min_channels > 0 and geo.k_h == geo.k_w == 3 and geo.s_h == geo.s_w == 1
            and geo.d_h == geo.d_w == 1 and geo.groups == 1 and geo.c_in % 8 == 0 and geo.c_out % 8 == 0
            and min(geo.c_in, geo.c_out) >= t.conv_winograd_min_channels and geo.out_h >= 2 and geo.out_w >= 2)


_WINOGRAD_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def winograd_weights(kernel: np.ndarray) -> np.ndarray:
    """U = G g G^T of a (3, 3, c_in, c_out) kernel as 16 matrices (c_in, c_out) in (i, j)
    order, computed in float64, then c_out zeros (the kernel's zero bias)."""
    u = np.einsum("ik,klab,jl->ijab", _WINOGRAD_G, np.asarray(kernel, np.float64), _WINOGRAD_G)
    return np.concatenate([u.reshape(-1), np.zeros(kernel.shape[-1])]).astype(np.float32)


def _conv(p: _Planner, node: Node) -> Step:
    a: ConvAttrs = node.attrs
    xs = p.x_shape(node)
    d, y = p.out(node)
    ys = d.shape
    if len(a.kernel_shape) == 1:
        geo = ConvGeometry(1, xs[0], xs[1], 1, ys[0], ys[1], 1, a.kernel_shape[0], 1, a.strides[0], 1,
                           a.dilations[0], 0, a.pads[0][0], 0, a.pads[0][1], a.groups)
    else:
        geo = ConvGeometry(xs[0], xs[1], xs[2], ys[0], ys[1], ys[2], a.kernel_shape[0], a.kernel_shape[1],
                           a.strides[0], a.strides[1], a.dilations[0], a.dilations[1], a.pads[0][0],
                           a.pads[1][0], a.pads[0][1], a.pads[1][1], a.groups)
    cig, cog = geo.c_in // geo.groups, geo.c_out // geo.groups
    kdim = geo.k_h * geo.k_w * cig
    t = p.tuning
    blas_rows = 0 if kdim * cog <= t.conv_direct_max_macs else t.dense_blas_min_rows
    blas_rows_32 = 0 if kdim * cog <= t.conv_direct_max_macs_32regs else t.dense_blas_min_rows
    im2col_rows = 0
    w = p.weight(node.inputs[1])
    if _winograd(p.tuning, geo):
        tiles_h, tiles_w = (geo.out_h + 1) // 2, (geo.out_w + 1) // 2
        block = t.conv_winograd_tiles
        strategy = "winograd"
        scratch = (2 * tiles_h + 2) * (2 * tiles_w + 2) * geo.c_in + 16 * block * (geo.c_in + geo.c_out)
        im2col_rows = block  # tiles per block
        w = p.derived_weight(f"{node.name} (Winograd U)", winograd_weights(p.g.constant(node.inputs[1])))
    elif cig == 1 and cog == 1:
        strategy, scratch = "depthwise", 0
    elif geo.k_h == geo.k_w == geo.s_h == geo.s_w == 1 and geo.groups == 1 and not any(v for pr in a.pads for v in pr):
        strategy, scratch = "pointwise", 0
        blas_rows = blas_rows_32 = _blas_min_rows(t, kdim * cog)  # a plain matrix product, like Dense
    else:
        # im2col rows when sgemm may be used; a zero-bordered copy of one event for the direct tiles
        block = max(t.dense_blas_min_rows, t.conv_im2col_block_floats // kdim)
        im2col_rows = block if blas_rows or blas_rows_32 else 0
        # per event: a batch of n events has n times this, so small images still take a whole block
        im2col = min(geo.out_h * geo.out_w, block) * kdim if im2col_rows else 0
        padded = (geo.in_h + geo.pad_t + geo.pad_b) * (geo.in_w + geo.pad_l + geo.pad_r) * geo.c_in
        has_pad = geo.pad_t or geo.pad_l or geo.pad_b or geo.pad_r
        strategy, scratch = "general", max(im2col, padded if has_pad else 0)
    return ConvStep(
        p.origin_fused(node), (d,), p.namer.ident("cfg", node.name), p.x(node), w,
        p.weight(node.inputs[2]), y, geo, strategy, blas_rows, blas_rows_32, scratch, im2col_rows, p.fused(node),
    )


def _pool(kind: str) -> Rule:
    def rule(p: _Planner, node: Node) -> Step:
        a: PoolAttrs = node.attrs
        xs = p.x_shape(node)
        d, y = p.out(node)
        ys = d.shape
        if len(a.kernel_shape) == 1:
            geo = PoolGeometry(1, xs[0], xs[1], 1, ys[0], 1, a.kernel_shape[0], 1, a.strides[0], 0, a.pads[0][0],
                               0, a.pads[0][1], a.count_include_pad)
        else:
            geo = PoolGeometry(xs[0], xs[1], xs[2], ys[0], ys[1], a.kernel_shape[0], a.kernel_shape[1],
                               a.strides[0], a.strides[1], a.pads[0][0], a.pads[1][0], a.pads[0][1],
                               a.pads[1][1], a.count_include_pad)
        return PoolStep(p.origin(node), (d,), p.namer.ident("cfg", node.name), kind, p.x(node), y, geo)

    return rule


def _global_pool(kind: str) -> Rule:
    def rule(p: _Planner, node: Node) -> Step:
        xs = p.x_shape(node)
        d, y = p.out(node)
        return GlobalPoolStep(p.origin(node), (d,), kind, p.x(node), y, math.prod(xs[:-1]), xs[-1])

    return rule


def _batchnorm(p: _Planner, node: Node) -> Step:
    xs = p.x_shape(node)
    d, y = p.out(node)
    return AffineStep(p.origin(node), (d,), p.x(node), p.weight(node.inputs[1]), p.weight(node.inputs[2]), y,
                      math.prod(xs[:-1]), xs[-1])


def _map(make: Callable[[Node], Activation | QuantizeFn]) -> Rule:
    def rule(p: _Planner, node: Node) -> Step:
        d, y = p.out(node)
        return MapStep(p.origin(node), (d,), make(node), p.x(node), y, math.prod(p.x_shape(node)))

    return rule


def _clip_fn(node: Node) -> Activation:
    a: ClipAttrs = node.attrs
    return Activation("Clip", (-math.inf if a.min is None else a.min, math.inf if a.max is None else a.max))


def _quantize_fn(node: Node) -> QuantizeFn:
    a: QuantizeAttrs = node.attrs
    if not isinstance(a.target, (FixedType, IntType)):
        raise UnsupportedOpError(f"{node.describe()}: Quantize target {a.target} is not a fixed-point type")
    t = as_fixed_type(a.target)  # ap_int<W> converts toward zero, unlike ap_fixed<W,W>
    return QuantizeFn(t.width, t.frac, t.signed, t.rounding.value, t.overflow.value, isinstance(a.target, IntType))


def _softmax(p: _Planner, node: Node) -> Step:
    xs = p.x_shape(node)
    d, y = p.out(node)
    return SoftmaxStep(p.origin(node), (d,), p.x(node), y, math.prod(xs[:-1]), xs[-1])


def _binary(p: _Planner, node: Node) -> Step:
    d, y = p.out(node)
    out = d.shape
    rank = len(out)
    operands = []
    reads = iter(p.node_reads[node.name])
    for v in node.inputs:
        val = p.g.values[v]
        shape = (1,) * (rank - len(val.shape)) + tuple(val.shape)
        st = _strides(shape)
        strides = [0 if shape[i] == 1 and out[i] != 1 else st[i] for i in range(rank)]
        if val.is_constant:
            operands.append((p.weight(v), strides, 0))
        else:
            operands.append((p.ident[next(reads)], strides, math.prod(val.shape)))
    (a, a_str, a_ev), (b, b_str, b_ev) = operands
    dims, (sa, sb, sy) = _collapse(list(out), a_str, b_str, list(_strides(out)))
    return BinaryStep(p.origin(node), (d,), p.namer.ident("cfg", node.name), _BINARY[node.op], a, b, y, dims, sa,
                      sb, sy, a_ev, b_ev, math.prod(out))


def _concat(p: _Planner, node: Node) -> Step:
    axis = node.attrs.axis
    d, y = p.out(node)
    out = d.shape
    parts = []
    offset = 0
    for i, v in enumerate(node.inputs):
        shape = p.shapes[v]
        inner = math.prod(shape[axis:])
        parts.append(ConcatPart(p.x(node, i), math.prod(shape), inner, offset))
        offset += inner
    return ConcatStep(p.origin(node), (d,), tuple(parts), y, math.prod(out[:axis]), math.prod(out[axis:]))


def _view(p: _Planner, node: Node) -> Step:
    d, y = p.out(node)
    return ViewStep(p.origin(node), (d,), p.x(node), y)


def _transpose(p: _Planner, node: Node) -> Step:
    a: TransposeAttrs = node.attrs
    xs = p.x_shape(node)
    d, y = p.out(node)
    dims, x_str = _permute_geometry(xs, a.perm)
    return PermuteStep(p.origin(node), (d,), p.namer.ident("cfg", node.name), p.x(node), y, dims, x_str, math.prod(xs))


def _pad(p: _Planner, node: Node) -> Step:
    a: PadAttrs = node.attrs
    xs = p.x_shape(node)
    d, y = p.out(node)
    ys = d.shape
    y_str = _strides(ys)
    begin = sum(b * s for (b, _), s in zip(a.pads, y_str, strict=True))
    return PadStep(p.origin(node), (d,), p.namer.ident("cfg", node.name), p.x(node), y, xs, _strides(xs), y_str,
                   begin, math.prod(xs), math.prod(ys))


ACTIVATIONS: dict[Op, Callable[[Node], Activation]] = {
    Op.RELU: lambda n: Activation("Relu"),
    Op.LEAKY_RELU: lambda n: Activation("LeakyRelu", (n.attrs.alpha,)),
    Op.CLIP: _clip_fn,
    Op.SIGMOID: lambda n: Activation("Sigmoid"),
    Op.HARD_SIGMOID: lambda n: Activation("HardSigmoid", (n.attrs.alpha, n.attrs.beta)),
    Op.TANH: lambda n: Activation("Tanh"),
    Op.ELU: lambda n: Activation("Elu", (n.attrs.alpha,)),
    Op.SELU: lambda n: Activation("Selu", (n.attrs.alpha, n.attrs.gamma)),
}
"""Elementwise functions with a vectorized kernel: they can also run fused into the epilogue
of a Dense or Conv that feeds only them (``_Planner.fusions``)."""

def _tree(p: _Planner, node: Node) -> Step:
    from .trees import lower_tree  # its own rule module (cpu_backend/trees.py)

    return lower_tree(p, node)


FUSING_OPS = (Op.DENSE, Op.CONV1D, Op.CONV2D)
_TRANSCENDENTAL = (Op.SIGMOID, Op.TANH, Op.ELU, Op.SELU)

RULES: dict[Op, Rule] = {
    Op.DENSE: _dense,
    Op.CONV1D: _conv,
    Op.CONV2D: _conv,
    Op.MAXPOOL1D: _pool("max"),
    Op.MAXPOOL2D: _pool("max"),
    Op.AVGPOOL1D: _pool("avg"),
    Op.AVGPOOL2D: _pool("avg"),
    Op.GLOBAL_MAXPOOL: _global_pool("max"),
    Op.GLOBAL_AVGPOOL: _global_pool("avg"),
    Op.BATCHNORM: _batchnorm,
    **{op: _map(make) for op, make in ACTIVATIONS.items()},
    Op.SOFTMAX: _softmax,
    Op.SOFTPLUS: _map(lambda n: Activation("Softplus")),
    Op.ADD: _binary,
    Op.SUB: _binary,
    Op.MUL: _binary,
    Op.CONCAT: _concat,
    Op.FLATTEN: _view,
    Op.RESHAPE: _view,
    Op.TRANSPOSE: _transpose,
    Op.PAD: _pad,
    Op.QUANTIZE: _map(_quantize_fn),
    Op.TREE_ENSEMBLE: lambda p, node: _tree(p, node),
}

_ = (AlphaAttrs, HardSigmoidAttrs, SeluAttrs)  # read through node.attrs in the lambdas

from .rules_math import MATH_RULES  # noqa: E402 - the math/attention family (issue 12)

RULES.update(MATH_RULES)

from .rules_index import RULES as _INDEX_RULES  # noqa: E402 - index ops: their own module (issue 12)

RULES.update(_INDEX_RULES)  # type: ignore[arg-type]

from .rules_quantize import RULES as _QUANTIZE_RULES  # noqa: E402 - per-element quantizers: own module

RULES.update(_QUANTIZE_RULES)  # type: ignore[arg-type]


def lower(graph: Graph, *, name: str | None = None, tuning: Tuning = DEFAULT_TUNING) -> ModelPlan:
    """Plan the CPU implementation of a validated, final graph."""
    graph.validate(final=True)
    return _Planner(graph, name, tuning).plan()


WEIGHT_SLACK = 16
"""Floats of zero padding after the last weight (``hlsforge_cpu::kWeightSlack``): the
vectorized kernels may read up to 7 floats past a weight matrix."""


from .lower_recurrent import RECURRENT_OPS, recurrent_rule, recurrent_scratch  # noqa: E402 - own rule module

RULES.update({op: recurrent_rule for op in RECURRENT_OPS})

from . import rules_select as _rules_select  # noqa: E402 - TopK, GatherElements, ReduceProd (issue 12)
from . import rules_spatial as _rules_spatial  # noqa: E402 - ConvTranspose, Conv3D, 3D pools (issue 12)

RULES.update(_rules_select.RULES)  # type: ignore[arg-type]
RULES.update(_rules_spatial.RULES)  # type: ignore[arg-type]
SCRATCH_OPS: dict[Op, Callable[[_Planner, Node], str]] = dict(_rules_spatial.SCRATCH)  # type: ignore[arg-type]
FUSING_OPS = (*FUSING_OPS, *_rules_spatial.FUSING)
