"""Rendering: a pure function from a :class:`~.lower.ModelPlan` to C++ text.

Nothing here decides anything: every size, offset and strategy is in the plan. Each step
record type has one small render function in ``RENDER`` that writes the step's config struct
(namespace scope) and its call (inside ``run_chunk``). Text is built with :class:`Writer`;
rendering the same plan twice gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .lower import (
    Activation,
    AffineStep,
    BinaryStep,
    ConcatStep,
    ConvStep,
    CopyStep,
    DenseStep,
    GlobalPoolStep,
    IORecord,
    MapStep,
    ModelPlan,
    PadStep,
    PermuteStep,
    PoolStep,
    QuantizeFn,
    SoftmaxStep,
    Step,
    TensorDecl,
    ViewStep,
)
from .names import comment_text, cpp_string

KERNEL_HEADER = "hlsforge_cpu.hpp"
TEMPLATES = Path(__file__).resolve().parent / "templates"


def kernel_header_text() -> str:
    """The kernel library that every generated model includes."""
    return (TEMPLATES / KERNEL_HEADER).read_text()


# --------------------------------------------------------------------------------- writer


class Writer:
    """Lines with indentation; ``with w.block("for (...)"):`` opens and closes a brace."""

    def __init__(self, depth: int = 0) -> None:
        self.lines: list[str] = []
        self._depth = depth

    def line(self, text: str = "") -> None:
        self.lines.append(("  " * self._depth + text) if text else "")

    def comment(self, text: str) -> None:
        self.line(f"// {text}" if text else "//")

    def access(self, specifier: str) -> None:
        """``public:`` / ``private:`` one space in from the enclosing class."""
        self.lines.append("  " * max(0, self._depth - 1) + f" {specifier}:")

    @contextmanager
    def block(self, head: str, tail: str = "}", *, indent: bool = True) -> Iterator[None]:
        """``head {`` ... ``tail``; ``indent=False`` for namespaces (not indented by convention)."""
        self.line(f"{head} {{")
        step = 1 if indent else 0
        self._depth += step
        try:
            yield
        finally:
            self._depth -= step
            self.line(tail)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# --------------------------------------------------------------------------------- literals


def f32(value: float) -> str:
    """An exact C++ float literal for ``float32(value)`` (shortest round-trip digits)."""
    v = np.float32(value)
    if np.isnan(v):
        return "std::numeric_limits<float>::quiet_NaN()"
    if np.isinf(v):
        return ("-" if v < 0 else "") + "std::numeric_limits<float>::infinity()"
    text = np.format_float_scientific(v, unique=True, trim="0", exp_digits=1)
    mantissa, exp = text.split("e")
    if exp in ("+0", "-0"):
        return f"{mantissa}f"
    return f"{mantissa}e{int(exp)}f"


def _arr(values: Sequence[int]) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _rows(k: int) -> str:
    return "n" if k == 1 else f"n * {k}"


# --------------------------------------------------------------------------------- steps

Render = Callable[[Step, Writer, Writer], None]


def _cfg(w: Writer, name: str, fields: Sequence[tuple[str, str, object]]) -> None:
    """``struct name { static constexpr <type> <field> = <value>; ... };``"""
    with w.block(f"struct {name}", "};"):
        for ctype, field_name, value in fields:
            w.line(f"static constexpr {ctype} {field_name} = {value};")


def _sz(names: str, step: object) -> list[tuple[str, str, object]]:
    return [("std::size_t", n, getattr(step, n)) for n in names.split()]


def _dense(s: DenseStep, cfg: Writer, body: Writer) -> None:
    _cfg(cfg, s.cfg, [*_sz("n_in n_out blas_min_rows", s), ("bool", "use_gemv", "true" if s.use_gemv else "false")])
    body.line(f"hlsforge_cpu::dense<{s.cfg}>({s.x}, {s.w}, {s.b}, {s.y}, {_rows(s.rows)}{_epilogue(s.activation)});")


def _conv(s: ConvStep, cfg: Writer, body: Writer) -> None:
    g = s.geometry
    fields = _sz("in_h in_w c_in out_h out_w c_out k_h k_w s_h s_w d_h d_w pad_t pad_l pad_b pad_r groups", g)
    strategy = {"general": "kGeneral", "pointwise": "kPointwise", "depthwise": "kDepthwise",
                "winograd": "kWinograd"}[s.strategy]
    fields += [("std::size_t", "blas_min_rows", s.blas_min_rows), ("std::size_t", "blas_min_rows_32", s.blas_min_rows_32),
               ("std::size_t", "scratch", s.scratch),
               ("std::size_t", "im2col_rows", max(1, s.im2col_rows)),
               ("int", "strategy", f"hlsforge_cpu::conv_strategy::{strategy}")]
    if s.strategy == "winograd":
        fields.append(("std::size_t", "wino_tiles", s.im2col_rows))  # output tiles per block
    _cfg(cfg, s.cfg, fields)
    body.line(f"hlsforge_cpu::conv2d<{s.cfg}>({s.x}, {s.w}, {s.b}, {s.y}, n, scratch{_epilogue(s.activation)});")


def _pool(s: PoolStep, cfg: Writer, body: Writer) -> None:
    g = s.geometry
    fields = _sz("in_h in_w c out_h out_w k_h k_w s_h s_w pad_t pad_l pad_b pad_r", g)
    fields.append(("bool", "count_include_pad", "true" if g.count_include_pad else "false"))
    _cfg(cfg, s.cfg, fields)
    body.line(f"hlsforge_cpu::{s.kind}pool2d<{s.cfg}>({s.x}, {s.y}, n);")


def _global_pool(s: GlobalPoolStep, cfg: Writer, body: Writer) -> None:
    body.line(f"hlsforge_cpu::global_{s.kind}pool<{s.spatial}, {s.channels}>({s.x}, {s.y}, n);")


def _affine(s: AffineStep, cfg: Writer, body: Writer) -> None:
    body.line(f"hlsforge_cpu::channel_affine<{s.channels}>({s.x}, {s.scale}, {s.bias}, {s.y}, {_rows(s.rows)});")


def _functor(fn: Activation | QuantizeFn) -> str:
    if isinstance(fn, QuantizeFn):
        flag = "true" if fn.signed else "false"
        quirk = ", true" if fn.int_quirk else ""
        return (f"hlsforge_cpu::Quantize{{{fn.width}, {fn.frac}, {flag}, hlsforge_cpu::rounding::{fn.rounding}, "
                f"hlsforge_cpu::overflow::{fn.overflow}{quirk}}}")
    return f"hlsforge_cpu::{fn.functor}{{{', '.join(f32(p) for p in fn.params)}}}"


def _epilogue(fn: Activation | None) -> str:
    """The extra argument of a Dense/Conv call that fuses an activation ('' for none)."""
    return "" if fn is None else ", " + _functor(fn)


def _map(s: MapStep, cfg: Writer, body: Writer) -> None:
    body.line(f"hlsforge_cpu::map({s.x}, {s.y}, {_rows(s.count)}, {_functor(s.fn)});")


def _softmax(s: SoftmaxStep, cfg: Writer, body: Writer) -> None:
    body.line(f"hlsforge_cpu::softmax<{s.width}>({s.x}, {s.y}, {_rows(s.rows)});")


def _binary(s: BinaryStep, cfg: Writer, body: Writer) -> None:
    with cfg.block(f"struct {s.cfg}", "};"):
        cfg.line(f"static constexpr std::size_t rank = {len(s.dims)};")
        for name in ("dims", "a_str", "b_str", "y_str"):
            cfg.line(f"static constexpr std::size_t {name}[rank] = {_arr(getattr(s, name))};")
        cfg.line(f"static constexpr std::size_t a_event = {s.a_event}, b_event = {s.b_event}, out_event = {s.out_event};")
    body.line(f"hlsforge_cpu::broadcast_binary<{s.cfg}>({s.a}, {s.b}, {s.y}, n, hlsforge_cpu::{s.op}{{}});")


def _concat(s: ConcatStep, cfg: Writer, body: Writer) -> None:
    for p in s.parts:
        body.line(f"hlsforge_cpu::concat_part({p.x}, {p.x_event}, {s.y}, n, {s.outer}, {p.inner}, {s.inner}, {p.offset});")


def _permute(s: PermuteStep, cfg: Writer, body: Writer) -> None:
    with cfg.block(f"struct {s.cfg}", "};"):
        cfg.line(f"static constexpr std::size_t rank = {len(s.dims)}, size = {s.size};")
        cfg.line(f"static constexpr std::size_t dims[rank] = {_arr(s.dims)};")
        cfg.line(f"static constexpr std::size_t x_str[rank] = {_arr(s.x_str)};")
    body.line(f"hlsforge_cpu::permute<{s.cfg}>({s.x}, {s.y}, n);")


def _pad(s: PadStep, cfg: Writer, body: Writer) -> None:
    with cfg.block(f"struct {s.cfg}", "};"):
        cfg.line(f"static constexpr std::size_t rank = {len(s.in_dims)};")
        cfg.line(f"static constexpr std::size_t in_dims[rank] = {_arr(s.in_dims)};")
        cfg.line(f"static constexpr std::size_t in_inner[rank] = {_arr(s.in_inner)};")
        cfg.line(f"static constexpr std::size_t y_str[rank] = {_arr(s.y_str)};")
        cfg.line(f"static constexpr std::size_t begin_offset = {s.begin_offset}, in_size = {s.in_size}, "
                 f"out_size = {s.out_size};")
    body.line(f"hlsforge_cpu::pad<{s.cfg}>({s.x}, {s.y}, n);")


def _copy(s: CopyStep, cfg: Writer, body: Writer) -> None:
    body.line(f"hlsforge_cpu::copy_events({s.x}, {s.x_event}, {s.y}, {s.count}, n);")


def _view(s: ViewStep, cfg: Writer, body: Writer) -> None:
    return None  # the declaration of the output (an alias of the input) is all there is


RENDER: dict[type, Render] = {
    DenseStep: _dense,  # type: ignore[dict-item]
    ConvStep: _conv,  # type: ignore[dict-item]
    PoolStep: _pool,  # type: ignore[dict-item]
    GlobalPoolStep: _global_pool,  # type: ignore[dict-item]
    AffineStep: _affine,  # type: ignore[dict-item]
    MapStep: _map,  # type: ignore[dict-item]
    SoftmaxStep: _softmax,  # type: ignore[dict-item]
    BinaryStep: _binary,  # type: ignore[dict-item]
    ConcatStep: _concat,  # type: ignore[dict-item]
    PermuteStep: _permute,  # type: ignore[dict-item]
    PadStep: _pad,  # type: ignore[dict-item]
    CopyStep: _copy,  # type: ignore[dict-item]
    ViewStep: _view,  # type: ignore[dict-item]
}

from .rules_math import MATH_RENDER  # noqa: E402 - the math/attention family (issue 12)

RENDER.update(MATH_RENDER)


def _register_trees() -> None:
    from .trees import TreeStep, render_tree  # TreeEnsemble: its own rule module

    RENDER[TreeStep] = render_tree


_register_trees()

from .lower_recurrent import RecurrentStep, render_recurrent  # noqa: E402 - rule family in its own module

RENDER[RecurrentStep] = render_recurrent

from .rules_index import RENDER as _INDEX_RENDER  # noqa: E402 - index ops: their own module (issue 12)

RENDER.update(_INDEX_RENDER)  # type: ignore[arg-type]

from .rules_quantize import RENDER as _QUANTIZE_RENDER  # noqa: E402 - per-element quantizers: own module

RENDER.update(_QUANTIZE_RENDER)  # type: ignore[arg-type]

from .rules_select import RENDER as _SELECT_RENDER  # noqa: E402 - TopK, GatherElements, ReduceProd (issue 12)
from .rules_spatial import RENDER as _SPATIAL_RENDER  # noqa: E402 - ConvTranspose, Conv3D, 3D pools (issue 12)

RENDER.update(_SELECT_RENDER)  # type: ignore[arg-type]
RENDER.update(_SPATIAL_RENDER)  # type: ignore[arg-type]


def _step_comment(s: Step, plan: ModelPlan) -> str:
    if s.origin is not None:
        o = s.origin
        what = f"{o.op} {comment_text(o.source_name)}"
        if o.source_op and o.source_op != o.op:
            what += f" ({comment_text(o.source_op)})"
        if o.fused_op:
            what += f" + {o.fused_op} {comment_text(o.fused_source_name)}"
        if s.decls:
            d = s.decls[0]
            what += f" -> {comment_text(d.value)} {_shape(d.shape)}"
        return what
    if isinstance(s, PermuteStep) and not s.decls:
        return "output " + comment_text(_io_name(plan.outputs, s.y)) + ": channels-last -> source layout"
    if isinstance(s, PermuteStep):
        return "input " + comment_text(_io_name(plan.inputs, s.x)) + ": source layout -> channels-last"
    if isinstance(s, CopyStep) and not s.decls:
        return "output " + comment_text(_io_name(plan.outputs, s.y))
    return "constant " + comment_text(s.decls[0].value if s.decls else "")


def _io_name(records: Sequence[IORecord], ident: str) -> str:
    for r in records:
        if r.ident == ident:
            return r.name
    return ident


def _declare(d: TensorDecl, body: Writer) -> None:
    if d.kind == "arena":
        body.line(f"float* const {d.ident} = arena + {d.offset} * n;")
    elif d.kind == "alias":
        body.line(f"{'const ' if d.const else ''}float* const {d.ident} = {d.alias_of};")


# --------------------------------------------------------------------------------- header


def _signature(plan: ModelPlan) -> tuple[str, str]:
    """(parameters for one pointer per input and output, the matching argument list)."""
    params = [f"const float* {p.ident}" for p in plan.inputs] + [f"float* {p.ident}" for p in plan.outputs]
    args = [p.ident for p in plan.inputs] + [p.ident for p in plan.outputs]
    return ", ".join(params), ", ".join(args)


def _intro(w: Writer, plan: ModelPlan, embedded: bool) -> None:
    ns = plan.namespace
    w.comment(f"{ns}.hpp - CPU inference for model {comment_text(plan.model_name)}, generated by hlsforge.")
    w.comment("float32, C++17; needs only a CBLAS (build switches: see hlsforge_cpu.hpp). Do not edit:")
    w.comment("regenerate from the model instead.")
    w.comment("")
    w.comment("Calling convention: one pointer per input, then one per output, then the batch size.")
    w.comment("Each buffer holds `batch` events back to back, every event in the source model's layout")
    w.comment("(C order, float32), exactly as hlsforge.reference.run takes and returns them:")
    for kind, recs in (("input ", plan.inputs), ("output", plan.outputs)):
        for r in recs:
            note = ""
            if r.perm:
                note = "  (transposed to channels-last inside)" if kind == "input " else "  (transposed from channels-last inside)"
            w.comment(f"  {kind} {r.ident:<14} {comment_text(r.name):<20} (batch, {', '.join(map(str, r.user_shape))}){note}")
    w.comment("")
    _, args = _signature(plan)
    ctor = "session" if embedded else f'session("{ns}.weights")'
    w.comment(f"  {ns}::Session {ctor};  // loads and checks the weights")
    w.comment(f"  session.infer({args}, batch);       // thread-safe")
    w.comment("")
    w.comment("Thread safety: a Session never changes after construction; infer() is const and may run")
    w.comment("concurrently from any number of threads. Scratch memory lives in a Workspace: overloads")
    w.comment("without one use a per-thread Workspace (kDefaultBatch events, allocated on the thread's")
    w.comment("first call, never again); pass your own to control memory - one thread at a time per")
    w.comment("Workspace. Batches larger than the workspace run in chunks. No global state, no threads.")
    w.comment("")
    w.comment("Layers:")
    for s in plan.steps:
        if s.origin is not None:
            w.comment(f"  {_step_comment(s, plan)}")


def render_header(plan: ModelPlan, *, embedded_weights: Sequence[np.ndarray] | None = None) -> str:
    """The model header ``<namespace>.hpp``.

    With ``embedded_weights`` (the arrays of ``plan.weights`` in order) the weights are
    compiled in as exact float literals and ``Session`` has a default constructor; otherwise
    ``Session(weight_file)`` loads ``<namespace>.weights``.
    """
    embedded = embedded_weights is not None
    ns = plan.namespace
    w = Writer()
    _intro(w, plan, embedded)
    guard = f"HLSFORGE_MODEL_{ns.upper()}_HPP"
    w.line(f"#ifndef {guard}")
    w.line(f"#define {guard}")
    w.line()
    for inc in ("<cstddef>", "<limits>", "<string>", "<vector>"):
        w.line(f"#include {inc}")
    w.line()
    w.line(f'#include "{KERNEL_HEADER}"')
    w.line()
    with w.block(f"namespace {ns}", f"}}  // namespace {ns}", indent=False):
        w.line()
        w.line(f"inline constexpr char kModelName[] = {cpp_string(plan.model_name)};")
        w.line(f"inline constexpr std::size_t kWeightFloats = {plan.weight_floats};")
        w.line(f"inline constexpr std::size_t kArenaFloats = {plan.arena_floats};    // per event")
        w.line(f"inline constexpr std::size_t kScratchFloats = {plan.scratch_floats};  // per event")
        w.line(f"inline constexpr std::size_t kDefaultBatch = {plan.default_batch};  // events per default Workspace")
        w.line()
        cfg = Writer()
        body = Writer(depth=1)  # inside run_chunk
        _render_body(plan, cfg, body)
        if cfg.lines:
            w.comment("---------------------------------------------------------------- layer configurations")
            w.lines.extend(cfg.lines)
            w.line()
        _weights_section(w, plan, embedded_weights)
        _classes(w, plan, embedded)
        _definitions(w, plan, embedded, body)
    w.line()
    w.line(f"#endif  // {guard}")
    return w.text()


def _render_body(plan: ModelPlan, cfg: Writer, body: Writer) -> None:
    for s in plan.steps:
        body.comment(_step_comment(s, plan))
        for d in s.decls:
            _declare(d, body)
        RENDER[type(s)](s, cfg, body)


def _weights_section(w: Writer, plan: ModelPlan, embedded: Sequence[np.ndarray] | None) -> None:
    w.comment("---------------------------------------------------------------- weights")
    if embedded is not None:
        flat = np.zeros(max(plan.weight_floats, 1), dtype=np.float32)
        for rec, arr in zip(plan.weights, embedded, strict=True):
            flat[rec.offset : rec.offset + rec.size] = np.asarray(arr, np.float32).ravel()
        for rec in plan.weights:
            w.comment(f"{rec.ident}: {comment_text(rec.name)} {_shape(rec.shape)} at {rec.offset}")
        with w.block(f"alignas(64) inline constexpr float kEmbeddedWeights[{flat.size}] =", "};"):
            for i in range(0, flat.size, 8):
                w.line(", ".join(f32(v) for v in flat[i : i + 8]) + ",")
    elif plan.weights:
        with w.block("inline const hlsforge_cpu::TensorSpec kWeightTable[] =", "};"):
            for rec in plan.weights:
                w.line(f"{{{cpp_string(rec.name)}, {len(rec.shape)}, {_arr(rec.shape)}, {rec.offset}}},  // {rec.ident}")
    w.line()


def _classes(w: Writer, plan: ModelPlan, embedded: bool) -> None:
    params, _ = _signature(plan)
    n_in, n_out = len(plan.inputs), len(plan.outputs)
    w.comment("---------------------------------------------------------------- API")
    w.comment("Scratch memory for up to max_batch events per chunk; use from one thread at a time.")
    with w.block("class Workspace", "};"):
        w.access("public")
        w.line("explicit Workspace(std::size_t max_batch = kDefaultBatch)")
        w.line("    : max_batch_(max_batch ? max_batch : 1), buffer_(max_batch_ * (kArenaFloats + kScratchFloats)) {}")
        w.line("std::size_t max_batch() const noexcept { return max_batch_; }")
        w.line("float* data() noexcept { return buffer_.data(); }")
        w.line()
        w.access("private")
        w.line("std::size_t max_batch_;")
        w.line("hlsforge_cpu::AlignedBuffer buffer_;")
    w.line()
    with w.block("class Session", "};"):
        w.access("public")
        w.line(f"static constexpr std::size_t kNumInputs = {n_in};")
        w.line(f"static constexpr std::size_t kNumOutputs = {n_out};")
        w.line(f"static constexpr std::size_t kInputSize[kNumInputs] = {_arr([p.size for p in plan.inputs])};  // floats per event")
        w.line(f"static constexpr std::size_t kOutputSize[kNumOutputs] = {_arr([p.size for p in plan.outputs])};")
        names_in = ", ".join(cpp_string(p.name) for p in plan.inputs)
        names_out = ", ".join(cpp_string(p.name) for p in plan.outputs)
        w.line(f"static constexpr const char* kInputNames[kNumInputs] = {{{names_in}}};")
        w.line(f"static constexpr const char* kOutputNames[kNumOutputs] = {{{names_out}}};")
        w.line()
        if embedded:
            w.line("Session() = default;  // weights are compiled in")
        else:
            w.line("// Loads and checks the weight file; throws hlsforge_cpu::WeightFileError (a")
            w.line("// std::runtime_error naming the file and tensor) if it is missing or does not fit.")
            w.line("explicit Session(const std::string& weight_file);")
        w.line()
        w.line(f"void infer({params}, std::size_t batch, Workspace& ws) const;")
        w.line(f"void infer({params}, std::size_t batch) const;  // per-thread workspace")
        ins = ", ".join(f"const float* {p.ident}" for p in plan.inputs)
        ret = "std::vector<float>" if n_out == 1 else "std::vector<std::vector<float>>"
        w.line(f"{ret} infer({ins}) const;  // one event")
        w.line("// Pointer-array form (inputs[kNumInputs], outputs[kNumOutputs]), e.g. for C bindings.")
        w.line("void infer_ptrs(const float* const* inputs, float* const* outputs, std::size_t batch, Workspace& ws) const;")
        w.line("void infer_ptrs(const float* const* inputs, float* const* outputs, std::size_t batch) const;")
        w.line()
        w.access("private")
        w.line(f"void run_chunk({params}, std::size_t n, float* arena) const;")
        if embedded:
            w.line("const float* weights() const noexcept { return kEmbeddedWeights; }")
        else:
            w.line("const float* weights() const noexcept { return storage_.data(); }")
            w.line("hlsforge_cpu::AlignedBuffer storage_;")
    w.line()


def _definitions(w: Writer, plan: ModelPlan, embedded: bool, body: Writer) -> None:
    params, args = _signature(plan)
    n_out = len(plan.outputs)
    if not embedded:
        with w.block("inline Session::Session(const std::string& weight_file) : storage_(kWeightFloats)"):
            table = "kWeightTable" if plan.weights else "nullptr"
            w.line(f"hlsforge_cpu::load_weight_file(weight_file, kModelName, {table}, {len(plan.weights)}, "
                   "storage_.data(), kWeightFloats);")
        w.line()
    with w.block(f"inline void Session::infer({params}, std::size_t batch, Workspace& ws) const"):
        w.line("const std::size_t cap = ws.max_batch();")
        with w.block("for (std::size_t start = 0; start < batch; start += cap)"):
            w.line("const std::size_t n = batch - start < cap ? batch - start : cap;")
            chunk_args = [f"{p.ident} + start * {p.size}" for p in (*plan.inputs, *plan.outputs)]
            w.line(f"run_chunk({', '.join(chunk_args)}, n, ws.data());")
    w.line()
    with w.block(f"inline void Session::infer({params}, std::size_t batch) const"):
        w.line("thread_local Workspace ws;")
        w.line(f"infer({args}, batch, ws);")
    w.line()
    ins = ", ".join(f"const float* {p.ident}" for p in plan.inputs)
    in_args = ", ".join(p.ident for p in plan.inputs)
    if n_out == 1:
        with w.block(f"inline std::vector<float> Session::infer({ins}) const"):
            w.line(f"std::vector<float> {plan.outputs[0].ident}(kOutputSize[0]);")
            w.line(f"infer({in_args}, {plan.outputs[0].ident}.data(), 1);")
            w.line(f"return {plan.outputs[0].ident};")
    else:
        with w.block(f"inline std::vector<std::vector<float>> Session::infer({ins}) const"):
            w.line("std::vector<std::vector<float>> out;")
            w.line("for (std::size_t i = 0; i < kNumOutputs; ++i) out.emplace_back(kOutputSize[i]);")
            outs = ", ".join(f"out[{i}].data()" for i in range(n_out))
            w.line(f"infer({in_args}, {outs}, 1);")
            w.line("return out;")
    w.line()
    ptr_args = [f"inputs[{i}]" for i in range(len(plan.inputs))] + [f"outputs[{i}]" for i in range(n_out)]
    for tail, call_tail in ((", Workspace& ws", ", ws"), ("", "")):
        with w.block(f"inline void Session::infer_ptrs(const float* const* inputs, float* const* outputs, "
                     f"std::size_t batch{tail}) const"):
            w.line(f"infer({', '.join(ptr_args)}, batch{call_tail});")
        w.line()
    with w.block(f"inline void Session::run_chunk({params}, std::size_t n, [[maybe_unused]] float* arena) const"):
        w.line("[[maybe_unused]] const float* const w = weights();")
        w.line("[[maybe_unused]] float* const scratch = arena + kArenaFloats * n;")
        for rec in plan.weights:
            w.line(f"const float* const {rec.ident} = w + {rec.offset};  // {comment_text(rec.name)} {_shape(rec.shape)}")
        w.lines.extend(body.lines)


# --------------------------------------------------------------------------------- C API


def capi_prefix(plan: ModelPlan) -> str:
    return f"hlsforge_{plan.namespace}"


def render_capi(plans: Sequence[ModelPlan]) -> str:
    """A C interface to one or more models (one translation unit), for Python's ctypes.

    Per model ``<p> = hlsforge_<namespace>``: ``<p>_create(path, err, errlen)``,
    ``<p>_destroy(session)``, ``<p>_infer(session, inputs, outputs, batch, err, errlen)``
    (pointer arrays; returns 0 or -1 with a message) and ``<p>_infer1(session, x, y, batch)``
    for one-input one-output models. No exception crosses the C boundary.
    """
    w = Writer()
    w.comment("C interface for ctypes, generated by hlsforge. Do not edit.")
    w.line("#include <cstddef>")
    w.line("#include <cstdio>")
    w.line("#include <cstring>")
    w.line("#include <exception>")
    for plan in plans:
        w.line(f'#include "{plan.namespace}.hpp"')
    w.line()
    w.line('#define HLSFORGE_CAPI extern "C" __attribute__((visibility("default")))')
    w.line()
    w.line("static void hlsforge_capi_error(const char* what, char* err, std::size_t errlen) {")
    w.line('  if (err && errlen) std::snprintf(err, errlen, "%s", what);')
    w.line("}")
    for plan in plans:
        ns, p = plan.namespace, capi_prefix(plan)
        w.line()
        with w.block(f"HLSFORGE_CAPI void* {p}_create(const char* path, char* err, std::size_t errlen)"):
            with w.block("try"):
                w.line(f"return new {ns}::Session(path);")
            with w.block("catch (const std::exception& e)"):
                w.line("hlsforge_capi_error(e.what(), err, errlen);")
            w.line("return nullptr;")
        with w.block(f"HLSFORGE_CAPI void {p}_destroy(void* session)"):
            w.line(f"delete static_cast<{ns}::Session*>(session);")
        with w.block(f"HLSFORGE_CAPI int {p}_infer(const void* session, const float* const* inputs, "
                     "float* const* outputs, std::size_t batch, char* err, std::size_t errlen)"):
            with w.block("try"):
                w.line(f"static_cast<const {ns}::Session*>(session)->infer_ptrs(inputs, outputs, batch);")
                w.line("return 0;")
            with w.block("catch (const std::exception& e)"):
                w.line("hlsforge_capi_error(e.what(), err, errlen);")
            w.line("return -1;")
        if len(plan.inputs) == 1 and len(plan.outputs) == 1:
            with w.block(f"HLSFORGE_CAPI int {p}_infer1(const void* session, const float* x, float* y, std::size_t batch)"):
                with w.block("try"):
                    w.line(f"static_cast<const {ns}::Session*>(session)->infer(x, y, batch);")
                    w.line("return 0;")
                with w.block("catch (...)"):
                    w.line("return -1;")
            w.comment("Same, given the addresses of two array objects whose data pointer is stored `offset`")
            w.comment("bytes into the object (numpy's documented struct layout; Python checks it first),")
            w.comment("and the address of the slot holding the session: read here, so a close() that cleared")
            w.comment("the slot before this call is seen (returns 2) instead of touching freed memory.")
            with w.block(f"HLSFORGE_CAPI int {p}_infer1_obj(void* const* session_slot, const char* x, const char* y, "
                         "std::size_t batch, std::size_t offset)"):
                w.line("const void* session = __atomic_load_n(session_slot, __ATOMIC_ACQUIRE);")
                w.line("if (!session) return 2;")
                w.line("const float* xp;")
                w.line("float* yp;")
                w.line("std::memcpy(&xp, x + offset, sizeof xp);")
                w.line("std::memcpy(&yp, y + offset, sizeof yp);")
                w.line(f"return {p}_infer1(session, xp, yp, batch);")
    return w.text()
