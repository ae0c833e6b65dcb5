"""Lowering: a quantized IR graph → typed records (``records.HlsModel``) for the renderer.

Everything the generated C++ depends on is decided here, once: sanitized unique identifiers,
the C++ spelling of every type, strategy and reuse factor per layer (validated: an invalid
ReuseFactor is an error listing the valid ones, never silently changed), array partitioning,
and every constant as exact literals. Each op has one small rule in ``RULES``; a rule receives
the node with its already-resolved types (``quantize.configure`` set them) and never infers a
type of its own — except the *exact* (lossless) intermediate sums, whose width follows from
the operand types alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import PrecisionError, UnsupportedOpError
from ..ir.graph import Graph, Node, Value
from ..ir.index_maps import INDEX_OPS, source_index
from ..ir.ops import (
    AlphaAttrs,
    ClipAttrs,
    ConvAttrs,
    HardSigmoidAttrs,
    Op,
    PadAttrs,
    PoolAttrs,
    SeluAttrs,
    TransposeAttrs,
)
from ..ir.types import FixedType, IntType, TensorType
from ..quantize.config import raw_constant
from ..quantize.fixed import ResultType, as_fixed_type, quantize, quantize_exact
from .literals import fixed_literal, literal_list, raw_literal_list
from .names import NameScope, sanitize
from .records import (
    Buffer,
    Call,
    ConfigStruct,
    ConstArray,
    ConstScalar,
    HlsModel,
    Layer,
    OutputCopy,
    Port,
    TypeDef,
)

STRATEGIES = ("latency", "resource")


# ----------------------------------------------------------------------------- helpers


def cpp_type(t: TensorType | ResultType, what: str = "") -> str:
    """C++ spelling of a fixed-point type (``ap_fixed<16,6,AP_RND,AP_SAT>``, ``ap_int<8>``)."""
    if isinstance(t, (FixedType, IntType)):
        return str(t)
    if isinstance(t, ResultType):
        return f"{'ap_fixed' if t.signed else 'ap_ufixed'}<{t.width},{t.integer}>"
    raise PrecisionError(
        f"{what or 'a value'} has type {t}: the HLS backend needs every value in a fixed-point "
        "type; quantize the graph with hlsforge.quantize.configure(graph, config) first (or pass "
        "config= to hlsforge.hls_backend.compile / write)"
    )


def exact_sum_type(t: TensorType, n: int) -> ResultType:
    """A type that holds the exact sum of ``n`` values of type ``t`` (no rounding, no overflow)."""
    base = ResultType.of(as_fixed_type(t) if isinstance(t, (FixedType, IntType)) else t)
    extra = max(n - 1, 0).bit_length()
    return ResultType(base.width + extra, base.integer + extra, base.signed)


def valid_reuse_factors(n_in: int, n_out: int) -> list[int]:
    """Reuse factors a Dense/Conv layer accepts: the divisors of its multiplication count."""
    total = n_in * n_out
    small = [d for d in range(1, math.isqrt(total) + 1) if total % d == 0]
    return sorted(set(small) | {total // d for d in small})


@dataclass(frozen=True)
class HlsOptions:
    """The per-layer HLS knobs the lowering reads from ``node.options['hls']``."""

    reuse_factor: int = 1
    strategy: str = "latency"


def hls_options(node: Node) -> HlsOptions:
    """Read ReuseFactor / Strategy that ``quantize.configure`` attached to a node."""
    rec = node.options.get("hls")
    if rec is None:
        return HlsOptions()
    if isinstance(rec, dict):
        rf = rec.get("reuse_factor", rec.get("ReuseFactor", 1))
        strategy = rec.get("strategy", rec.get("Strategy", "latency"))
    else:
        rf = getattr(rec, "reuse_factor", 1)
        strategy = getattr(rec, "strategy", "latency")
    strategy = str(getattr(strategy, "value", strategy)).lower()
    if strategy not in STRATEGIES:
        raise PrecisionError(
            f"{node.describe()}: unknown Strategy {strategy!r}; use one of {', '.join(STRATEGIES)}"
        )
    if isinstance(rf, bool) or not isinstance(rf, (int, np.integer)) or rf < 1:
        raise PrecisionError(
            f"{node.describe()}: ReuseFactor must be a positive integer, got {rf!r}"
        )
    return HlsOptions(int(rf), strategy)


def _table_spec(node: Node, key: str) -> Any:
    spec = node.options.get(key)
    if spec is None:
        raise PrecisionError(
            f"{node.describe()}: no lookup table {key!r} was attached; quantize the graph with "
            "hlsforge.quantize.configure(graph, config) first"
        )
    return spec


def _spec_field(spec: Any, *names: str) -> Any:
    for n in names:
        if hasattr(spec, n):
            return getattr(spec, n)
    raise PrecisionError(f"table spec {spec!r} has none of the fields {names}")


# ----------------------------------------------------------------------------- context


@dataclass
class _Port:
    array: str
    type_name: str
    value: Value


@dataclass
class _Ctx:
    graph: Graph
    scope: NameScope
    env: dict[str, _Port] = field(default_factory=dict)  # value name -> array + typedef

    def name(self, base: str) -> str:
        return self.scope.take(base)


@dataclass
class _Parts:
    """What one op rule contributes to a ``Layer``."""

    header: str
    calls: list[Call]
    typedefs: list[TypeDef] = field(default_factory=list)
    configs: list[ConfigStruct] = field(default_factory=list)
    arrays: list[ConstArray] = field(default_factory=list)
    scalars: list[ConstScalar] = field(default_factory=list)
    reuse_factor: int = 1
    strategy: str = "latency"


class _Layer:
    """Per-node naming helper handed to the op rules."""

    def __init__(self, ctx: _Ctx, node: Node, ident: str, out: _Port) -> None:
        self.ctx = ctx
        self.node = node
        self.ident = ident
        self.out = out
        self.parts_typedefs: list[TypeDef] = []
        self.arrays: list[ConstArray] = []
        self.scalars: list[ConstScalar] = []
        self.extra: list[_Port] = []  # outputs after the first (multi-output ops)

    # -- inputs
    def input(self, i: int) -> _Port:
        return self.ctx.env[self.node.inputs[i]]

    def value(self, i: int) -> Value:
        return self.ctx.graph.values[self.node.inputs[i]]

    # -- types
    def typedef(self, role: str, t: TensorType | ResultType, comment: str = "") -> str:
        name = self.ctx.name(f"{self.ident}_{role}_t")
        self.parts_typedefs.append(
            TypeDef(name, cpp_type(t, f"{self.node.describe()} {role}"), comment)
        )
        return name

    def precision(self, key: str) -> TensorType:
        t = self.node.precision.get(key)
        if t is None:
            raise PrecisionError(
                f"{self.node.describe()}: no '{key}' precision was resolved; quantize the graph "
                "with hlsforge.quantize.configure(graph, config) first"
            )
        return t

    # -- constants
    def constant_array(self, role: str, value: Value, type_name: str, comment: str = "") -> str:
        t = _fixed(value.type, f"{self.node.describe()} constant {value.name!r}")
        raws = raw_constant(value)
        name = self._array_name(role)
        codes, raw_type = raw_literal_list(raws, t)
        self.arrays.append(
            ConstArray(name, type_name, literal_list(raws, t, type_name), comment, codes, raw_type)
        )
        return name

    def raw_array(
        self, role: str, raws: Sequence[int], t: TensorType, type_name: str, comment: str = ""
    ) -> str:
        name = self._array_name(role)
        ft = _fixed(t, role)
        arr = np.asarray(raws, dtype=object)
        codes, raw_type = raw_literal_list(arr, ft)
        self.arrays.append(
            ConstArray(name, type_name, literal_list(arr, ft, type_name), comment, codes, raw_type)
        )
        return name

    def _array_name(self, role: str) -> str:
        """A constant array's name; its C-sim companions ``<name>_raw`` / ``<name>_loaded`` are
        reserved with it."""
        name = self.ctx.name(f"{self.ident}_{role}")
        self.ctx.scope.reserve(f"{name}_raw")
        self.ctx.scope.reserve(f"{name}_loaded")
        return name

    def index_array(self, role: str, index: np.ndarray, comment: str = "") -> str:
        name = self.ctx.name(f"{self.ident}_{role}")
        self.arrays.append(
            ConstArray(
                name, "unsigned", tuple(str(int(i)) for i in np.asarray(index).reshape(-1)), comment
            )
        )
        return name

    def scalar(
        self, role: str, value: float | Fraction, t: TensorType, type_name: str, comment: str = ""
    ) -> str:
        ft = _fixed(t, f"{self.node.describe()} {role}")
        raw = (
            quantize_exact(Fraction(value), ft)
            if isinstance(value, Fraction)
            else int(quantize(np.float64(value), ft))
        )
        name = self.ctx.name(f"{self.ident}_{role}")
        self.scalars.append(
            ConstScalar(name, type_name, fixed_literal(raw, ft, type_name), comment)
        )
        return name

    def config(
        self,
        base: str,
        ints: Sequence[tuple[str, str, int]],
        types: Sequence[tuple[str, str]] = (),
        suffix: str = "config",
    ) -> ConfigStruct:
        return ConfigStruct(
            self.ctx.name(f"{self.ident}_{suffix}"), base, tuple(ints), tuple(types)
        )


def _fixed(t: TensorType, what: str) -> FixedType | IntType:
    """``t`` if it is a fixed-point type, else the ``PrecisionError`` of :func:`cpp_type`."""
    if isinstance(t, (FixedType, IntType)):
        return t
    raise PrecisionError(
        f"{what} has type {t}: the HLS backend needs every value in a fixed-point type; quantize "
        "the graph with hlsforge.quantize.configure(graph, config) first (or pass config= to "
        "hlsforge.hls_backend.compile / write)"
    )


def _u(name: str, value: int) -> tuple[str, str, int]:
    return ("unsigned", name, int(value))


def weights_in_bram(opts: HlsOptions) -> bool:
    """Resource strategy with ReuseFactor R > 1: the weights become a ROM of R words of
    ``n_in*n_out/R`` weights each (one word per cycle), bound to BRAM; Latency (or R = 1)
    keeps them in registers/LUTs, read all at once."""
    return opts.strategy == "resource" and opts.reuse_factor > 1


def _reuse(layer: _Layer, n_in: int, n_out: int) -> tuple[HlsOptions, int]:
    """Validated (options, multiplier_limit) of a Dense/Conv node."""
    opts = hls_options(layer.node)
    valid = valid_reuse_factors(n_in, n_out)
    if opts.reuse_factor not in valid:
        raise PrecisionError(
            f"{layer.node.describe()}: ReuseFactor {opts.reuse_factor} is not valid for a layer "
            f"with {n_in} inputs and {n_out} outputs per position ({n_in * n_out} multiplications); "
            f"valid ReuseFactors: {', '.join(map(str, valid))}"
        )
    return opts, (n_in * n_out) // opts.reuse_factor


# ----------------------------------------------------------------------------- op rules


def _multiply_layer(
    layer: _Layer, *, n_in: int, n_out: int, shape_fields: list[Any], kernel_desc: str, bias_desc: str,
    config: str, function: str, header: str,
) -> _Parts:
    """Dense and Conv differ only in their shape fields: both get typed weights and bias, an
    accumulator, and the strategy/reuse fields, and call ``function(in, out, w, b)``."""
    kernel, bias = layer.value(1), layer.value(2)
    opts, limit = _reuse(layer, n_in, n_out)
    accum = layer.typedef("accum", layer.precision("accum"))
    wt = layer.typedef("weight", kernel.type)
    bt = layer.typedef("bias", bias.type)
    w = layer.constant_array("w", kernel, wt, kernel_desc)
    b = layer.constant_array("b", bias, bt, bias_desc)
    cfg = layer.config(
        config,
        [
            *shape_fields,
            _u("reuse_factor", opts.reuse_factor),
            ("unsigned", "strategy", f"hlsforge::{opts.strategy}"),
            _u("multiplier_limit", limit),
            ("bool", "weights_in_bram", int(weights_in_bram(opts))),
        ],
        [("accum_t", accum), ("weight_t", wt), ("bias_t", bt)],
    )
    call = Call(
        function,
        (layer.input(0).type_name, layer.out.type_name, cfg.name),
        (layer.input(0).array, layer.out.array, w, b),
    )
    return _Parts(header, [call], configs=[cfg], reuse_factor=opts.reuse_factor, strategy=opts.strategy)


def _dense(layer: _Layer) -> _Parts:
    x, kernel, bias = layer.value(0), layer.value(1), layer.value(2)
    n_in, n_out = kernel.shape
    return _multiply_layer(
        layer, n_in=n_in, n_out=n_out,
        shape_fields=[_u("n_rows", x.size // n_in), _u("n_in", n_in), _u("n_out", n_out)],
        kernel_desc=f"kernel {kernel.name!r} ({n_in}, {n_out})", bias_desc=f"bias {bias.name!r} ({n_out},)",
        config="hlsforge::dense_config", function="hlsforge::dense", header="hlsforge_kernels/dense.h",
    )


def _conv(layer: _Layer) -> _Parts:
    x, kernel, bias = layer.value(0), layer.value(1), layer.value(2)
    a: ConvAttrs = layer.node.attrs
    out_shape = layer.out.value.shape
    nsp = len(a.kernel_shape)

    def two(vals: Sequence[int], fill: int) -> tuple[int, int]:
        return (fill, vals[0]) if nsp == 1 else (vals[0], vals[1])

    in_h, in_w = two(x.shape[:nsp], 1)
    out_h, out_w = two(out_shape[:nsp], 1)
    kh, kw = two(a.kernel_shape, 1)
    sh, sw = two(a.strides, 1)
    dh, dw = two(a.dilations, 1)
    pt, pl = two([p[0] for p in a.pads], 0)
    c_in, c_out = x.shape[-1], kernel.shape[-1]
    g = a.groups
    n_in = kh * kw * (c_in // g)
    n_out = c_out // g
    shape_fields = [
        _u("in_h", in_h), _u("in_w", in_w), _u("n_chan", c_in), _u("out_h", out_h), _u("out_w", out_w),
        _u("n_filt", c_out), _u("kern_h", kh), _u("kern_w", kw), _u("stride_h", sh), _u("stride_w", sw),
        _u("dil_h", dh), _u("dil_w", dw), _u("pad_top", pt), _u("pad_left", pl), _u("groups", g),
        _u("n_in", n_in), _u("n_out", n_out),
    ]
    return _multiply_layer(
        layer, n_in=n_in, n_out=n_out, shape_fields=shape_fields,
        kernel_desc=f"kernel {kernel.name!r} {tuple(kernel.shape)}", bias_desc=f"bias {bias.name!r} ({c_out},)",
        config="hlsforge::conv_config", function="hlsforge::conv", header="hlsforge_kernels/conv.h",
    )


def _pool_geometry(layer: _Layer) -> tuple[list[tuple[str, str, int]], int]:
    """Config members of a (global) pooling node, and its window size."""
    x = layer.value(0)
    node = layer.node
    out_shape = layer.out.value.shape
    if node.op in (Op.GLOBAL_MAXPOOL, Op.GLOBAL_AVGPOOL):
        positions = math.prod(x.shape[:-1])
        geo = dict(
            in_h=1,
            in_w=positions,
            out_h=1,
            out_w=1,
            pool_h=1,
            pool_w=positions,
            stride_h=1,
            stride_w=1,
            pad_top=0,
            pad_left=0,
            pad_bottom=0,
            pad_right=0,
        )
        include_pad = False
    else:
        a: PoolAttrs = node.attrs
        nsp = len(a.kernel_shape)

        def two(vals: Sequence[int], fill: int) -> tuple[int, int]:
            return (fill, vals[0]) if nsp == 1 else (vals[0], vals[1])

        in_h, in_w = two(x.shape[:nsp], 1)
        out_h, out_w = two(out_shape[:nsp], 1)
        ph, pw = two(a.kernel_shape, 1)
        sh, sw = two(a.strides, 1)
        pt, pl = two([p[0] for p in a.pads], 0)
        pb, pr = two([p[1] for p in a.pads], 0)
        geo = dict(
            in_h=in_h,
            in_w=in_w,
            out_h=out_h,
            out_w=out_w,
            pool_h=ph,
            pool_w=pw,
            stride_h=sh,
            stride_w=sw,
            pad_top=pt,
            pad_left=pl,
            pad_bottom=pb,
            pad_right=pr,
        )
        include_pad = a.count_include_pad
    ints = [_u(k, v) for k, v in geo.items()]
    ints.insert(2, _u("n_chan", x.shape[-1]))
    ints.append(("bool", "count_include_pad", int(include_pad)))
    return ints, geo["pool_h"] * geo["pool_w"]


def _maxpool(layer: _Layer) -> _Parts:
    ints, _ = _pool_geometry(layer)
    cfg = layer.config("hlsforge::pool_config", ints)
    call = Call(
        "hlsforge::pool_max",
        (layer.input(0).type_name, layer.out.type_name, cfg.name),
        (layer.input(0).array, layer.out.array),
    )
    return _Parts("hlsforge_kernels/pool.h", [call], configs=[cfg])


def _avgpool(layer: _Layer) -> _Parts:
    ints, window = _pool_geometry(layer)
    x = layer.value(0)
    accum = layer.typedef("accum", layer.precision("accum"))
    scale_t = layer.precision("scale")
    st = layer.typedef("scale", scale_t)
    sum_t = layer.typedef("sum", exact_sum_type(x.type, window), "exact: holds any window sum")
    ft = _fixed(scale_t, f"{layer.node.describe()} scale")
    raws = [0] + [quantize_exact(Fraction(1, n), ft) for n in range(1, window + 1)]
    scale = layer.raw_array(
        "scale", raws, scale_t, st, "scale[n] = cast_scale(1/n), n = taps counted"
    )
    cfg = layer.config(
        "hlsforge::pool_config", ints, [("accum_t", accum), ("scale_t", st), ("sum_t", sum_t)]
    )
    call = Call(
        "hlsforge::pool_avg",
        (layer.input(0).type_name, layer.out.type_name, cfg.name),
        (layer.input(0).array, layer.out.array, scale),
    )
    return _Parts("hlsforge_kernels/pool.h", [call], configs=[cfg])


def _activation(
    layer: _Layer, function: str, *, fields: Sequence[Any] = (), types: Sequence[tuple[str, str]] = (),
    args: Sequence[str] = (), header: str = "hlsforge_kernels/activation.h",
) -> _Parts:
    """An elementwise layer: an ``activation_config`` (``n_in`` plus ``fields``, typedefs
    ``types``) and one call ``function(in, out, *args)``."""
    cfg = layer.config("hlsforge::activation_config", [_u("n_in", layer.value(0).size), *fields], list(types))
    call = Call(
        function,
        (layer.input(0).type_name, layer.out.type_name, cfg.name),
        (layer.input(0).array, layer.out.array, *args),
    )
    return _Parts(header, [call], configs=[cfg])


def _batchnorm(layer: _Layer) -> _Parts:
    x, scale, bias = layer.value(0), layer.value(1), layer.value(2)
    st = layer.typedef("scale", scale.type)
    bt = layer.typedef("bias", bias.type)
    s = layer.constant_array("scale", scale, st, f"scale {scale.name!r}")
    b = layer.constant_array("bias", bias, bt, f"bias {bias.name!r}")
    return _activation(
        layer, "hlsforge::batchnorm", fields=[_u("n_chan", x.shape[-1]), _u("multiplier_limit", x.size)],
        types=[("scale_t", st), ("bias_t", bt)], args=[s, b],
    )


def _elementwise(
    kernel: str, header: str = "hlsforge_kernels/activation.h"
) -> Callable[[_Layer], _Parts]:
    def rule(layer: _Layer) -> _Parts:
        return _activation(layer, kernel, header=header)

    return rule


def _leaky_relu(layer: _Layer) -> _Parts:
    a: AlphaAttrs = layer.node.attrs
    param = layer.precision("param")
    pt = layer.typedef("param", param)
    alpha = layer.scalar("alpha", a.alpha, param, pt, "negative slope")
    return _activation(layer, "hlsforge::leaky_relu", types=[("param_t", pt)], args=[alpha])


def _clip(layer: _Layer) -> _Parts:
    a: ClipAttrs = layer.node.attrs
    param = layer.precision("param")
    pt = layer.typedef("param", param)
    lo = layer.scalar(
        "min",
        a.min if a.min is not None else 0.0,
        param,
        pt,
        "lower bound" if a.min is not None else "unused",
    )
    hi = layer.scalar(
        "max",
        a.max if a.max is not None else 0.0,
        param,
        pt,
        "upper bound" if a.max is not None else "unused",
    )
    flags = [("bool", "has_min", int(a.min is not None)), ("bool", "has_max", int(a.max is not None))]
    return _activation(layer, "hlsforge::clip", fields=flags, types=[("param_t", pt)], args=[lo, hi])


def _hard_sigmoid(layer: _Layer) -> _Parts:
    a: HardSigmoidAttrs = layer.node.attrs
    param = layer.precision("param")
    pt = layer.typedef("param", param)
    slope = layer.scalar("slope", a.alpha, param, pt, "slope (alpha)")
    shift = layer.scalar("shift", a.beta, param, pt, "shift (beta)")
    return _activation(layer, "hlsforge::hard_sigmoid", types=[("param_t", pt)], args=[slope, shift])


def _table_members(
    layer: _Layer, key: str, prefix: str, precision_key: str, index_frac: int | None = None
) -> tuple[list[tuple[str, str, int | str]], str, str]:
    """Config members, typedef and array name of one lookup table.

    ``index_frac``: fractional bits of the value that indexes the table (default: the
    layer's input); the table's ``lo_raw`` and ``shift`` are in that value's raw units.
    """
    spec = _table_spec(layer.node, key)
    want = layer.value(0).type.frac if index_frac is None else index_frac
    have = getattr(spec, "index_frac", want)
    if have != want:
        raise PrecisionError(
            f"{layer.node.describe()}: table {key!r} is indexed by a value with {have} fractional "
            f"bits, but the kernel indexes it with {want}; re-run hlsforge.quantize.configure"
        )
    tt = layer.precision(precision_key)
    type_name = layer.typedef(precision_key, tt)
    entries = [int(e) for e in _spec_field(spec, "entries")]
    size = int(_spec_field(spec, "size"))
    if size != len(entries):
        raise PrecisionError(
            f"{layer.node.describe()}: table {key!r} declares {size} entries but holds {len(entries)}"
        )
    arr = layer.raw_array(key, entries, tt, type_name, f"{key}: {size} entries")
    ints = [
        _u(f"{prefix}_size", size),
        ("long long", f"{prefix}_lo", int(_spec_field(spec, "lo_raw"))),
        ("int", f"{prefix}_shift", int(_spec_field(spec, "shift"))),
    ]
    return ints, type_name, arr


def _elu(layer: _Layer) -> _Parts:
    if "table" not in layer.node.options:  # unsigned input: only the x >= 0 branch exists
        return _elementwise("hlsforge::cast")(layer)
    ints, tt, arr = _table_members(layer, "table", "table", "table")
    return _activation(layer, "hlsforge::elu", fields=ints, types=[("table_t", tt)], args=[arr])


def _quantize(layer: _Layer) -> _Parts:
    if layer.node.attrs.elements is None:
        return _elementwise("hlsforge::cast")(layer)
    from .quantize_elements import lower_quantize_elements  # per-channel / per-element types

    return lower_quantize_elements(layer)


def _selu(layer: _Layer) -> _Parts:
    a: SeluAttrs = layer.node.attrs
    param = layer.precision("param")
    pt = layer.typedef("param", param)
    gamma = layer.scalar("gamma", a.gamma, param, pt, "scale of the positive branch")
    if "table" not in layer.node.options:  # unsigned input: only the x >= 0 branch exists
        return _activation(layer, "hlsforge::scale", types=[("param_t", pt)], args=[gamma])
    ints, tt, arr = _table_members(layer, "table", "table", "table")
    return _activation(
        layer, "hlsforge::selu", fields=ints, types=[("table_t", tt), ("param_t", pt)], args=[arr, gamma]
    )


def _table_activation(layer: _Layer) -> _Parts:
    ints, tt, arr = _table_members(layer, "table", "table", "table")
    return _activation(layer, "hlsforge::table_lookup", fields=ints, types=[("table_t", tt)], args=[arr])


def _softmax(layer: _Layer) -> _Parts:
    x = layer.value(0)
    n_in = x.shape[-1]
    mode = _softmax_mode(layer.node)
    ints = [
        _u("n_rows", x.size // n_in),
        _u("n_in", n_in),
        ("unsigned", "mode", f"hlsforge::softmax_mode_{mode}"),
    ]
    if mode == "argmax":
        cfg = layer.config("hlsforge::softmax_config", ints)
        call = Call(
            "hlsforge::softmax_argmax",
            (layer.input(0).type_name, layer.out.type_name, cfg.name),
            (layer.input(0).array, layer.out.array),
        )
        return _Parts("hlsforge_kernels/softmax.h", [call], configs=[cfg])
    e_ints, et, e_arr = _table_members(layer, "exp_table", "exp", "exp_table")
    sum_type = layer.precision("sum")
    i_ints, it, i_arr = _table_members(
        layer, "inv_table", "inv", "inv_table", index_frac=sum_type.frac
    )
    sum_t = layer.typedef("sum", sum_type)
    exact = layer.typedef(
        "exact_sum", exact_sum_type(layer.precision("exp_table"), n_in), "exact: holds any row sum"
    )
    cfg = layer.config(
        "hlsforge::softmax_config",
        ints + e_ints + i_ints,
        [("exp_table_t", et), ("inv_table_t", it), ("sum_t", sum_t), ("exact_sum_t", exact)],
    )
    call = Call(
        "hlsforge::softmax_stable",
        (layer.input(0).type_name, layer.out.type_name, cfg.name),
        (layer.input(0).array, layer.out.array, e_arr, i_arr),
    )
    return _Parts("hlsforge_kernels/softmax.h", [call], configs=[cfg])


def _softmax_mode(node: Node) -> str:
    rec = node.options.get("softmax")
    mode = (
        getattr(rec, "mode", rec if isinstance(rec, str) else "stable")
        if rec is not None
        else "stable"
    )
    mode = str(getattr(mode, "value", mode)).lower()
    if mode not in ("stable", "argmax"):
        raise PrecisionError(
            f"{node.describe()}: unknown softmax mode {mode!r}; use 'stable' or 'argmax'"
        )
    return mode


def broadcast_index(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    """Flat index into an operand of ``shape`` for every element of the broadcast output."""
    n = int(np.prod(shape)) if shape else 1
    src = np.arange(n).reshape(shape)
    return np.ascontiguousarray(np.broadcast_to(src, out_shape)).reshape(-1)


def _merge(tag: str) -> Callable[[_Layer], _Parts]:
    def rule(layer: _Layer) -> _Parts:
        out_shape = layer.out.value.shape
        n_out = layer.out.value.size
        ports = [_operand(layer, i) for i in range(2)]
        cfg = layer.config("hlsforge::merge_config", [_u("n_out", n_out)])
        targs = (f"hlsforge::{tag}", ports[0][1], ports[1][1], layer.out.type_name, cfg.name)
        shapes = [layer.value(i).shape for i in range(2)]
        if all(tuple(s) == tuple(out_shape) for s in shapes):
            call = Call("hlsforge::merge", targs, (ports[0][0], ports[1][0], layer.out.array))
        else:
            idx = [
                layer.index_array(
                    f"{'ab'[i]}_index",
                    broadcast_index(tuple(shapes[i]), tuple(out_shape)),
                    f"broadcast {tuple(shapes[i])} -> {tuple(out_shape)}",
                )
                for i in range(2)
            ]
            call = Call(
                "hlsforge::merge_broadcast",
                targs,
                (ports[0][0], ports[1][0], layer.out.array, idx[0], idx[1]),
            )
        return _Parts("hlsforge_kernels/merge.h", [call], configs=[cfg])

    return rule


def _operand(layer: _Layer, i: int) -> tuple[str, str]:
    """(array, typedef) of input ``i``: an activation, or a constant emitted as a typed array."""
    v = layer.value(i)
    if not v.is_constant:
        p = layer.input(i)
        return p.array, p.type_name
    tn = layer.typedef(f"{'ab'[i]}_const", v.type)
    return layer.constant_array(
        f"{'ab'[i]}_const", v, tn, f"constant operand {v.name!r} {tuple(v.shape)}"
    ), tn


def _concat(layer: _Layer) -> _Parts:
    axis = layer.node.attrs.axis
    out_shape = layer.out.value.shape
    outer = math.prod(out_shape[:axis])
    out_inner = math.prod(out_shape[axis:])
    calls, configs = [], []
    offset = 0
    for i in range(len(layer.node.inputs)):
        v = layer.value(i)
        if v.is_constant:
            arr, tn = _operand_const(layer, i)
        else:
            arr, tn = layer.input(i).array, layer.input(i).type_name
        inner = math.prod(v.shape[axis:])
        cfg = layer.config(
            "hlsforge::concat_config",
            [
                _u("n_outer", outer),
                _u("n_inner", inner),
                _u("out_inner", out_inner),
                _u("offset", offset),
            ],
            suffix=f"part{i}_config",
        )
        configs.append(cfg)
        calls.append(
            Call(
                "hlsforge::concat_part", (tn, layer.out.type_name, cfg.name), (arr, layer.out.array)
            )
        )
        offset += inner
    return _Parts("hlsforge_kernels/merge.h", calls, configs=configs)


def _operand_const(layer: _Layer, i: int) -> tuple[str, str]:
    v = layer.value(i)
    tn = layer.typedef(f"in{i}_const", v.type)
    return layer.constant_array(f"in{i}_const", v, tn, f"constant input {v.name!r}"), tn


def _gather(
    index_of: Callable[[Node, tuple[int, ...], tuple[int, ...]], np.ndarray],
) -> Callable[[_Layer], _Parts]:
    def rule(layer: _Layer) -> _Parts:
        x = layer.value(0)
        index = index_of(layer.node, tuple(x.shape), tuple(layer.out.value.shape))
        idx = layer.index_array(
            "index", index, f"source index per output element ({x.size} = zero)"
        )
        cfg = layer.config(
            "hlsforge::gather_config", [_u("n_in", x.size), _u("n_out", layer.out.value.size)]
        )
        call = Call(
            "hlsforge::gather",
            (layer.input(0).type_name, layer.out.type_name, cfg.name),
            (layer.input(0).array, layer.out.array, idx),
        )
        return _Parts("hlsforge_kernels/shape.h", [call], configs=[cfg])

    return rule


def transpose_index(node: Node, shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    a: TransposeAttrs = node.attrs
    return np.transpose(np.arange(math.prod(shape)).reshape(shape), a.perm).reshape(-1)


def pad_index(node: Node, shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    a: PadAttrs = node.attrs
    n = math.prod(shape)
    src = np.arange(n).reshape(shape)
    return np.pad(src, [tuple(p) for p in a.pads], constant_values=n).reshape(-1)


def _tree_ensemble(layer: _Layer) -> _Parts:
    from .trees import lower_tree_ensemble  # its own rule module (hls_backend/trees.py)

    return lower_tree_ensemble(layer)


RULES: dict[Op, Callable[[_Layer], _Parts]] = {
    Op.DENSE: _dense,
    Op.CONV1D: _conv,
    Op.CONV2D: _conv,
    Op.MAXPOOL1D: _maxpool,
    Op.MAXPOOL2D: _maxpool,
    Op.AVGPOOL1D: _avgpool,
    Op.AVGPOOL2D: _avgpool,
    Op.GLOBAL_MAXPOOL: _maxpool,
    Op.GLOBAL_AVGPOOL: _avgpool,
    Op.BATCHNORM: _batchnorm,
    Op.RELU: _elementwise("hlsforge::relu"),
    Op.LEAKY_RELU: _leaky_relu,
    Op.CLIP: _clip,
    Op.SIGMOID: _table_activation,
    Op.HARD_SIGMOID: _hard_sigmoid,
    Op.TANH: _table_activation,
    Op.SOFTMAX: _softmax,
    Op.ELU: _elu,
    Op.SELU: _selu,
    Op.SOFTPLUS: _table_activation,
    Op.ADD: _merge("op_add"),
    Op.SUB: _merge("op_sub"),
    Op.MUL: _merge("op_mul"),
    Op.CONCAT: _concat,
    Op.FLATTEN: _elementwise("hlsforge::cast"),
    Op.RESHAPE: _elementwise("hlsforge::cast"),
    Op.TRANSPOSE: _gather(transpose_index),
    Op.PAD: _gather(pad_index),
    Op.QUANTIZE: lambda layer: _quantize(layer),
    Op.TREE_ENSEMBLE: lambda layer: _tree_ensemble(layer),
}
"""One lowering rule per final op (a test checks that every op in ``FINAL_OPS`` has one)."""

RULES.update({op: _gather(source_index) for op in INDEX_OPS})  # Slice, Gather: index tables (issue 12)

from .recurrent import MULTI_OUTPUT_OPS  # noqa: E402 - recurrent cells, LayerNorm: their own module (issue 12)
from .recurrent import RULES as _RECURRENT_RULES  # noqa: E402

RULES.update(_RECURRENT_RULES)

# ----------------------------------------------------------------------------- driver


def model_identifier(graph: Graph, name: str | None = None) -> str:
    """The C++ identifier of a model: file prefix and top function name."""
    return sanitize(name or graph.name or "model", fallback="model")


def graph_io_type(graph: Graph, io_type: str | None = None) -> str:
    """``io_type`` if given, else the configured ``model: {io_type: ...}``, else io_parallel."""
    if io_type is None:
        cfg = graph.metadata.get("precision_config") or {}
        io_type = (cfg.get("model") or {}).get("io_type") if isinstance(cfg, dict) else None
    io_type = str(io_type or "io_parallel").lower()
    if io_type not in ("io_parallel", "io_stream"):
        raise PrecisionError(f"unknown io_type {io_type!r}; use io_parallel or io_stream")
    return io_type


def lower(graph: Graph, *, name: str | None = None, io_type: str | None = None) -> HlsModel:
    """Lower a quantized graph into records; errors name the node and what to do.

    ``io_type``: ``"io_parallel"`` (arrays) or ``"io_stream"`` (FIFOs under DATAFLOW, see
    ``hls_backend.stream``); default: the graph's configured ``io_type``, else io_parallel."""
    if graph_io_type(graph, io_type) == "io_stream":
        from .stream.lower import lower_stream

        return lower_stream(graph, name=name)
    graph.validate()
    from ..reference import trace_keys

    ident = model_identifier(graph, name)
    namespace = f"{ident}_ns"
    scope = NameScope({ident, namespace})
    ctx = _Ctx(graph, scope)
    consumers: dict[str, int] = {}
    for node in graph.nodes:
        for i in node.inputs:
            consumers[i] = consumers.get(i, 0) + 1

    single_in = len(graph.inputs) == 1
    single_out = len(graph.outputs) == 1
    in_typedefs: list[TypeDef] = []
    out_typedefs: list[TypeDef] = []
    inputs: list[Port] = []
    for vname in graph.inputs:
        v = graph.values[vname]
        arr = "in" if single_in else scope.take(f"in_{vname}")
        tn = "input_t" if single_in else scope.take(f"{arr}_t")
        scope.reserve(arr)
        scope.reserve(tn)
        in_typedefs.append(
            TypeDef(tn, cpp_type(v.type, f"graph input {vname!r}"), f"graph input {vname!r}")
        )
        inputs.append(Port(vname, arr, tn, v.size, tuple(v.shape)))
        ctx.env[vname] = _Port(arr, tn, v)

    out_ports: dict[str, tuple[str, str]] = {}
    for vname in graph.outputs:
        if vname in out_ports:
            raise UnsupportedOpError(
                f"graph output {vname!r} is listed twice; the HLS top function needs distinct outputs"
            )
        if graph.producer(vname) is None:
            raise UnsupportedOpError(
                f"graph output {vname!r} is not computed by any layer (it is a graph input or a "
                "constant); the HLS backend needs every output to come from a layer"
            )
        arr = "out" if single_out else scope.take(f"out_{vname}")
        tn = "result_t" if single_out else scope.take(f"{arr}_t")
        scope.reserve(arr)
        scope.reserve(tn)
        out_ports[vname] = (arr, tn)

    keys = trace_keys(graph)
    layers: list[Layer] = []
    copies: list[OutputCopy] = []
    for index, node in enumerate(graph.nodes):
        rule = RULES.get(node.op)
        if rule is None:
            raise UnsupportedOpError(
                f"{node.describe()}: the HLS backend has no kernel for {node.op.value}"
                + (f": {UNSUPPORTED[node.op]}" if node.op in UNSUPPORTED else "")
            )
        if len(node.outputs) != 1 and node.op not in MULTI_OUTPUT_OPS:
            raise UnsupportedOpError(
                f"{node.describe()}: the HLS backend supports single-output layers only"
            )
        lid = scope.take(node.name, fallback="layer")
        out_name = node.outputs[0]
        out_value = graph.values[out_name]
        result_t = scope.take(f"{lid}_result_t")
        result_td = TypeDef(result_t, cpp_type(out_value.type, f"{node.describe()} output"))
        is_port = out_name in out_ports and consumers.get(out_name, 0) == 0
        array = out_ports[out_name][0] if is_port else scope.take(f"{lid}_out")
        port = _Port(array, result_t, out_value)
        helper = _Layer(ctx, node, lid, port)
        extra_tds, extra_local = [], []
        for k, extra_name in enumerate(node.outputs[1:], 1):  # multi-output ops (recurrent cells)
            ev = graph.values[extra_name]
            etn = scope.take(f"{lid}_result{k}_t")
            extra_tds.append(TypeDef(etn, cpp_type(ev.type, f"{node.describe()} output {k}")))
            e_port = extra_name in out_ports and consumers.get(extra_name, 0) == 0
            e_arr = out_ports[extra_name][0] if e_port else scope.take(f"{lid}_out{k}")
            helper.extra.append(_Port(e_arr, etn, ev))
            extra_local.append(not e_port)
        parts = rule(helper)
        ctx.env[out_name] = port
        if out_name in out_ports and not is_port:
            copies.append(OutputCopy(out_ports[out_name][0], array, out_value.size))
        for extra_name, e in zip(node.outputs[1:], helper.extra, strict=True):
            ctx.env[extra_name] = e
            if extra_name in out_ports and out_ports[extra_name][0] != e.array:
                copies.append(OutputCopy(out_ports[extra_name][0], e.array, e.value.size))
        layers.append(
            Layer(
                index=index,
                ident=lid,
                node=node.name,
                source_name=node.source_name,
                source_op=node.source_op,
                op=node.op.value,
                trace_key=keys[node.name],
                header=parts.header,
                output=Buffer(array, result_t, out_value.size, tuple(out_value.shape)),
                local=not is_port,
                calls=tuple(parts.calls),
                typedefs=(result_td, *extra_tds, *helper.parts_typedefs, *parts.typedefs),
                configs=tuple(parts.configs),
                arrays=tuple(helper.arrays + parts.arrays),
                scalars=tuple(helper.scalars + parts.scalars),
                reuse_factor=parts.reuse_factor,
                strategy=parts.strategy,
                extra_outputs=tuple(
                    Buffer(e.array, e.type_name, e.value.size, tuple(e.value.shape)) for e in helper.extra
                ),
                extra_local=tuple(extra_local),
            )
        )

    outputs: list[Port] = []
    for vname in graph.outputs:
        arr, tn = out_ports[vname]
        v = graph.values[vname]
        out_typedefs.append(TypeDef(tn, ctx.env[vname].type_name, f"graph output {vname!r}"))
        outputs.append(Port(vname, arr, tn, v.size, tuple(v.shape)))

    headers = tuple(sorted({layer.header for layer in layers}))
    top_pragma = "DATAFLOW" if any(layer.strategy == "resource" for layer in layers) else "PIPELINE"
    return HlsModel(
        name=ident,
        namespace=namespace,
        top=ident,
        source_name=graph.name,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        input_typedefs=tuple(in_typedefs),
        output_typedefs=tuple(out_typedefs),
        layers=tuple(layers),
        output_copies=tuple(copies),
        top_pragma=top_pragma,
        headers=headers,
    )


__all__ = [
    "lower",
    "RULES",
    "HlsOptions",
    "hls_options",
    "valid_reuse_factors",
    "cpp_type",
    "model_identifier",
    "graph_io_type",
]

from ..float_only import FLOAT_ONLY  # noqa: E402 - float-only op families (issue 12)

UNSUPPORTED: dict[Op, str] = dict(FLOAT_ONLY)
"""Final ops this consumer refuses on purpose, with the reason (tests/test_op_coverage.py)."""
