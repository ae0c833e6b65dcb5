"""Precision configuration: from a dict or YAML file to a type on every IR value.

Why one resolver: "types are data" (DESIGN.md). The config is resolved *once*, here, into
``Value.type`` (every activation and constant), ``node.precision`` (internal variables such as
``accum``) and typed records in ``node.options`` (tables, HLS strategy); every backend and the
emulator only read them.

Schema (all parts optional; docs/numerics.md has the full table)::

    model:                       # applies to every layer
      default: ap_fixed<16,6>    # any variable not configured more specifically
      input: ap_fixed<16,6>      # graph inputs (or {input_name: type, ...})
      accum: auto                # any variable name; auto only for accum and sum
      table_size: 1024           # options: table_size, table_range, softmax_mode,
      ReuseFactor: 1             #   ReuseFactor, Strategy, (exp|inv)_table_(size|range)
    op_type:
      Dense: {weight: ap_fixed<8,3>, accum: ap_fixed<20,8>}
      Softmax: {softmax_mode: argmax}
    layers:                      # IR node name or the source framework's layer name
      fc1: {result: ap_fixed<8,3>, ReuseFactor: 4}
      fc2: ap_fixed<12,4>        # a string is the layer's default

Precedence: layer > op type > model > built-in default ``ap_fixed<16,6>``; within a scope a
variable beats that scope's ``default``. BatchNormalization ``scale`` falls back to ``weight``
within each scope. Every node's result type comes from the config (no type propagation),
which keeps the resolution predictable: a Flatten gets the configured result type like a Dense.

Constants are quantized once, here: after :func:`configure`, ``Value.data`` of a constant is a
float64 array holding *exactly* the quantized values (constant types are at most 53 bits wide,
so float64 is exact), and :func:`raw_constant` gives the raw integers the backends emit.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HlsforgeError, PrecisionError
from ..ir.graph import Graph, Node, Value
from ..ir.ops import Op
from ..ir.records import ir_record
from ..ir.types import FixedType, FloatType, IntType, Overflow, TensorType, parse_type, type_to_str
from .as_trained import AsTrained, carries_quantizers
from .fixed import as_fixed_type, convert_raw, fixed_add_type, quantize, to_float
from .infer import dot_accum_type, exact_sum_type, table_sum_type
from .reuse import reuse_factor_for
from .tables import TableSpec, build_table

__all__ = [
    "DEFAULT_PRECISION",
    "VARIABLES",
    "OPTIONS",
    "OP_VARIABLES",
    "HlsOptions",
    "SoftmaxOptions",
    "Scope",
    "PrecisionConfig",
    "load_config",
    "configure",
    "raw_constant",
    "is_configured",
]

DEFAULT_PRECISION = FixedType(16, 6)
"""hls4ml's default: every variable not configured otherwise."""

VARIABLES = ("weight", "bias", "accum", "result", "table", "scale", "param", "exp_table", "inv_table", "sum",
             "threshold", "leaf")
"""Variables a layer may have (which ones a given op has: :data:`OP_VARIABLES`)."""

AUTO_VARIABLES = ("accum", "sum", "threshold")
"""Variables whose ``auto`` is the narrowest lossless type of ``quantize.infer``. Every other
variable accepts ``auto`` too: the model's own quantizer type, else the narrowest lossless
type (``quantize/as_trained.py``) — hls4ml's ``auto``."""

OPTIONS = (
    "table_size", "table_range", "exp_table_size", "inv_table_size", "exp_table_range", "inv_table_range",
    "softmax_mode", "ReuseFactor", "Strategy",
    "feature_input",  # TreeEnsemble: one type per feature (quantize/trees.py)
)
"""Non-precision keys accepted in every scope."""

SOFTMAX_MODES = ("stable", "argmax")
STRATEGIES = ("Latency", "Resource")

_DOT = ("weight", "bias", "accum", "result")
_AVG = ("accum", "scale", "result")
_TABLE = ("table", "result")
_BINARY = ("weight", "result")  # weight: the type of a constant operand

OP_VARIABLES: dict[Op, tuple[str, ...]] = {
    Op.DENSE: _DOT, Op.CONV1D: _DOT, Op.CONV2D: _DOT,
    Op.AVGPOOL1D: _AVG, Op.AVGPOOL2D: _AVG, Op.GLOBAL_AVGPOOL: _AVG,
    Op.MAXPOOL1D: ("result",), Op.MAXPOOL2D: ("result",), Op.GLOBAL_MAXPOOL: ("result",),
    Op.BATCHNORM: ("scale", "bias", "weight", "result"),
    Op.RELU: ("result",),
    Op.LEAKY_RELU: ("param", "result"), Op.CLIP: ("param", "result"), Op.HARD_SIGMOID: ("param", "result"),
    Op.SIGMOID: _TABLE, Op.TANH: _TABLE, Op.ELU: _TABLE, Op.SOFTPLUS: _TABLE,
    Op.SELU: ("table", "param", "result"),
    Op.SOFTMAX: ("exp_table", "inv_table", "sum", "result"),
    Op.ADD: _BINARY, Op.SUB: _BINARY, Op.MUL: _BINARY, Op.CONCAT: _BINARY,
    Op.FLATTEN: ("result",), Op.RESHAPE: ("result",), Op.TRANSPOSE: ("result",), Op.PAD: ("result",),
    Op.QUANTIZE: (),
    Op.TREE_ENSEMBLE: ("threshold", "leaf", "accum", "result"),  # quantize/trees.py
    Op.SLICE: ("result",), Op.GATHER: ("result",),  # index ops (issue 12): values copied
}
"""Variables of each final op. BatchNormalization lists ``weight`` only as the fallback of
``scale``; Quantize has none (its result type is its target)."""

_TABLE_OPS = (Op.SIGMOID, Op.TANH, Op.ELU, Op.SELU, Op.SOFTPLUS)
_OP_OPTIONS: dict[Op, tuple[str, ...]] = {
    **{op: ("table_size", "table_range") for op in _TABLE_OPS},
    Op.SOFTMAX: ("table_size", "exp_table_size", "inv_table_size", "exp_table_range", "inv_table_range", "softmax_mode"),
    Op.TREE_ENSEMBLE: ("feature_input",),
}
_HLS_OPTIONS = ("ReuseFactor", "Strategy")

IO_TYPES = ("io_parallel", "io_stream")
MODEL_OPTIONS = ("io_type",)
"""Keys accepted only under ``model``: ``io_type`` (io_parallel | io_stream, the HLS backend's
interface and dataflow style; read by ``hls_backend.lower``)."""


def _parse_model_option(key: str, value: Any, where: str) -> Any:
    if key == "io_type":
        if not isinstance(value, str) or value.lower() not in IO_TYPES:
            raise PrecisionError(f"{where}: io_type must be one of {', '.join(IO_TYPES)}, got {value!r}")
        return value.lower()
    raise AssertionError(key)  # pragma: no cover - callers only pass MODEL_OPTIONS


def _op_options(op: Op) -> tuple[str, ...]:
    return _OP_OPTIONS.get(op, ()) + _HLS_OPTIONS


# ----------------------------------------------------------------------------- records


@ir_record
@dataclass(frozen=True)
class HlsOptions:
    """Per-layer HLS implementation choices, validated here and read by the HLS backend
    (which checks ``reuse_factor`` against the layer's sizes)."""

    reuse_factor: int = 1
    strategy: str = "Latency"


@ir_record
@dataclass(frozen=True)
class SoftmaxOptions:
    """``stable``: max-subtracted tables (NUMERICS.md §4); ``argmax``: one-hot of the first maximum."""

    mode: str = "stable"


# ----------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Scope:
    """The settings of one scope (model, an op type or a layer).

    ``precision`` maps a variable (or ``default``) to a type, ``None`` meaning ``auto``.
    """

    precision: Mapping[str, TensorType | None] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: type_to_str(t) for k, t in self.precision.items()}
        for k, v in self.options.items():
            out[k] = list(v) if isinstance(v, tuple) else v
            if k == "feature_input":  # TreeEnsemble: one type per feature
                out[k] = [type_to_str(t) for t in v]
        return out


def _is_type_text(s: str) -> bool:
    low = s.strip().lower()
    return "<" in low or low in ("auto", "float", "double", "float32", "float64")


def _parse_precision(value: Any, key: str, where: str) -> TensorType | None:
    try:
        t = parse_type(value)
    except PrecisionError as e:
        raise PrecisionError(f"{where}: {key}: {e}") from None
    if isinstance(t, FloatType):
        raise PrecisionError(
            f"{where}: {key}: float types are not supported by the fixed-point pipeline; use e.g. 'ap_fixed<16,6>'"
        )
    if t is None and key.startswith("input"):
        raise PrecisionError(f"{where}: {key}: the graph input needs a type, not 'auto'")
    return t


def _parse_option(key: str, value: Any, where: str) -> Any:
    def fail(what: str) -> PrecisionError:
        return PrecisionError(f"{where}: {key} must be {what}, got {value!r}")

    if key in ("table_size", "exp_table_size", "inv_table_size"):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise fail("a power of two such as 1024")
        n = int(value)
        if n < 1 or n & (n - 1):
            raise fail("a power of two such as 1024")
        return n
    if key in ("table_range", "exp_table_range", "inv_table_range"):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
            raise fail("two numbers [lo, hi]")
        try:
            lo, hi = (float(v) for v in value)
        except (TypeError, ValueError):
            raise fail("two numbers [lo, hi]") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise fail("two finite numbers with lo < hi")
        return (lo, hi)
    if key == "softmax_mode":
        if not isinstance(value, str) or value.lower() not in SOFTMAX_MODES:
            raise fail(f"one of {', '.join(SOFTMAX_MODES)}")
        return value.lower()
    if key == "ReuseFactor":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
            raise fail("a positive integer")
        return int(value)
    if key == "Strategy":
        canon = {s.lower(): s for s in STRATEGIES}
        if not isinstance(value, str) or value.lower() not in canon:
            raise fail(f"one of {', '.join(STRATEGIES)}")
        return canon[value.lower()]
    if key == "feature_input":  # TreeEnsemble: per-feature input grids (quantize/trees.py)
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
            raise fail("a list of fixed-point types, one per feature")
        types = tuple(_parse_precision(v, f"{key}[{i}]", where) for i, v in enumerate(value))
        if any(t is None for t in types):
            raise fail("a list of fixed-point types, one per feature (no 'auto')")
        return types
    raise AssertionError(key)  # pragma: no cover - callers only pass OPTIONS


def _parse_scope(raw: Any, where: str, allowed_vars: Sequence[str], *, model: bool = False) -> tuple[Scope, Any]:
    """Parse one scope; returns the scope and (model level only) the ``input`` entry."""
    if isinstance(raw, str):
        raw = {"default": raw}
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise PrecisionError(f"{where} must be a mapping of variables/options or a precision string, got {raw!r}")
    prec: dict[str, TensorType | None] = {}
    opts: dict[str, Any] = {}
    input_entry = None
    for key, value in raw.items():
        if not isinstance(key, str):
            raise PrecisionError(f"{where}: keys must be strings, got {key!r}")
        if model and key == "input":
            input_entry = value
        elif model and key in MODEL_OPTIONS:  # io_type: model-wide HLS choice
            opts[key] = _parse_model_option(key, value, where)
        elif key == "default":
            prec["default"] = _parse_precision(value, key, where)
        elif key in allowed_vars:
            prec[key] = _parse_precision(value, key, where)
        elif key in OPTIONS:
            opts[key] = _parse_option(key, value, where)
        else:
            valid = ["default", *allowed_vars, *OPTIONS] + (["input", *MODEL_OPTIONS] if model else [])
            hint = ""
            if key in VARIABLES:
                hint = " (this op has no such variable)"
            raise PrecisionError(f"{where}: unknown key {key!r}{hint}; valid keys: {', '.join(valid)}")
    return Scope(prec, opts), input_entry


def _find_op(name: Any) -> Op:
    if isinstance(name, Op):
        return name
    if isinstance(name, str):
        for op in OP_VARIABLES:
            if op.value.lower() == name.lower():
                return op
    known = ", ".join(op.value for op in OP_VARIABLES)
    raise PrecisionError(f"op_type: unknown op type {name!r}; known: {known}")


@dataclass(frozen=True)
class PrecisionConfig:
    """A parsed, validated precision configuration (see the module docstring for the schema)."""

    model: Scope = field(default_factory=Scope)
    op_type: Mapping[Op, Scope] = field(default_factory=dict)
    layers: Mapping[str, Scope] = field(default_factory=dict)
    input: TensorType | None = None
    inputs: Mapping[str, TensorType] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | str | None) -> PrecisionConfig:
        """Validate a config dict. A precision string alone is the model default."""
        if raw is None:
            return cls()
        if isinstance(raw, str):
            raw = {"model": {"default": raw}}
        if not isinstance(raw, Mapping):
            raise PrecisionError(f"a precision config must be a mapping with keys model, op_type, layers; got {raw!r}")
        unknown = [k for k in raw if k not in ("model", "op_type", "layers")]
        if unknown:
            raise PrecisionError(f"unknown top-level config key(s) {unknown}; valid: model, op_type, layers")
        model, input_entry = _parse_scope(raw.get("model"), "model", VARIABLES, model=True)
        input_t: TensorType | None = None
        inputs: dict[str, TensorType] = {}
        if isinstance(input_entry, Mapping):
            for name, t in input_entry.items():
                inputs[str(name)] = _parse_precision(t, f"input {name!r}", "model")  # type: ignore[assignment]
        elif input_entry is not None:
            input_t = _parse_precision(input_entry, "input", "model")
        op_type: dict[Op, Scope] = {}
        raw_ops = raw.get("op_type") or {}
        if not isinstance(raw_ops, Mapping):
            raise PrecisionError(f"op_type must map op types (e.g. 'Dense') to settings, got {raw_ops!r}")
        for name, body in raw_ops.items():
            op = _find_op(name)
            scope, _ = _parse_scope(body, f"op_type {op.value!r}", OP_VARIABLES[op])
            _check_options(scope, _op_options(op), f"op_type {op.value!r}")
            op_type[op] = scope
        layers: dict[str, Scope] = {}
        raw_layers = raw.get("layers") or {}
        if not isinstance(raw_layers, Mapping):
            raise PrecisionError(f"layers must map layer names to settings, got {raw_layers!r}")
        for name, body in raw_layers.items():
            layers[str(name)], _ = _parse_scope(body, f"layer {name!r}", VARIABLES)
        return cls(model, op_type, layers, input_t, inputs)

    @classmethod
    def load(cls, source: PrecisionConfig | Mapping[str, Any] | str | os.PathLike[str] | None) -> PrecisionConfig:
        """Accept a ``PrecisionConfig``, a dict, a YAML/JSON file path, a precision string
        (the model default) or ``None`` (all ``ap_fixed<16,6>``)."""
        if isinstance(source, PrecisionConfig):
            return source
        if isinstance(source, os.PathLike) or (isinstance(source, str) and not _is_type_text(source)):
            return cls.from_dict(load_config(source))
        return cls.from_dict(source)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-safe dict that :meth:`from_dict` reads back to an equal config."""
        model = self.model.to_dict()
        if self.input is not None:
            model["input"] = str(self.input)
        if self.inputs:
            model["input"] = {k: str(t) for k, t in self.inputs.items()}
        out: dict[str, Any] = {"model": model}
        if self.op_type:
            out["op_type"] = {op.value: s.to_dict() for op, s in self.op_type.items()}
        if self.layers:
            out["layers"] = {k: s.to_dict() for k, s in self.layers.items()}
        return out

    # ------------------------------------------------------------------ resolution

    def scopes(self, node: Node) -> list[tuple[str, Scope]]:
        """The scopes that apply to ``node``, most specific first."""
        out: list[tuple[str, Scope]] = []
        for key in dict.fromkeys((node.name, node.source_name)):
            if key in self.layers:
                out.append((f"layer {key!r}", self.layers[key]))
        if node.op in self.op_type:
            out.append((f"op_type {node.op.value!r}", self.op_type[node.op]))
        out.append(("model", self.model))
        return out

    def precision(self, node: Node, var: str) -> TensorType | None:
        """Resolved type of ``var`` of ``node`` (``None``: auto)."""
        chain = (var, *_FALLBACK.get((node.op, var), ()), "default")
        for _, scope in self.scopes(node):
            for key in chain:
                if key in scope.precision:
                    return scope.precision[key]
        return DEFAULT_PRECISION

    def is_set(self, node: Node, var: str) -> bool:
        """Does any scope set ``var`` of ``node`` (itself, a fallback or a ``default``)?"""
        chain = (var, *_FALLBACK.get((node.op, var), ()), "default")
        return any(key in scope.precision for _, scope in self.scopes(node) for key in chain)

    def option(self, node: Node, key: str, default: Any = None, *fallbacks: str) -> Any:
        for _, scope in self.scopes(node):
            for k in (key, *fallbacks):
                if k in scope.options:
                    return scope.options[k]
        return default

    def precision_default(self) -> TensorType:
        """The model-level ``default`` (``ap_fixed<16,6>`` when unset)."""
        t = self.model.precision.get("default", DEFAULT_PRECISION)
        return t if t is not None else DEFAULT_PRECISION

    def input_type(self, name: str) -> TensorType:
        if name in self.inputs:
            return self.inputs[name]
        if self.input is not None:
            return self.input
        t = self.model.precision.get("default", DEFAULT_PRECISION)
        return t if t is not None else DEFAULT_PRECISION

    def check_against(self, graph: Graph) -> None:
        """Unknown layer names, inputs and variables an op does not have → ``PrecisionError``."""
        names = {n.name for n in graph.nodes} | {n.source_name for n in graph.nodes}
        for name in self.inputs:
            if name not in graph.inputs:
                raise PrecisionError(f"model: input: {name!r} is not a graph input; inputs: {graph.inputs}")
        for key, scope in self.layers.items():
            if key not in names:
                shown = sorted(names)
                more = f" (and {len(shown) - 40} more)" if len(shown) > 40 else ""
                raise PrecisionError(
                    f"layers: no layer named {key!r} in model {graph.name!r}; layer names: "
                    f"{', '.join(shown[:40])}{more}"
                )
            nodes = [n for n in graph.nodes if key in (n.name, n.source_name)]
            have_vars = {v for n in nodes for v in OP_VARIABLES[n.op]}
            have_opts = {o for n in nodes for o in _op_options(n.op)}
            ops = ", ".join(sorted({n.op.value for n in nodes}))
            for n in nodes:
                if n.op is Op.QUANTIZE and "result" in scope.precision:
                    raise PrecisionError(
                        f"layer {key!r}: {n.describe()} is an explicit quantizer whose type "
                        f"{n.attrs.target} comes from the model; remove 'result' for it"
                        + ("" if getattr(n.attrs, "elements", None) is None else
                           f" (it converts each element to its own type, {n.attrs.elements}, into that container)")
                    )
            for var in scope.precision:
                if var != "default" and var not in have_vars:
                    raise PrecisionError(
                        f"layer {key!r} ({ops}) has no variable {var!r}; its variables: "
                        f"{', '.join(['default', *sorted(have_vars)])}"
                    )
            _check_options(scope, tuple(have_opts), f"layer {key!r} ({ops})")


def _check_options(scope: Scope, allowed: Sequence[str], where: str) -> None:
    for key in scope.options:
        if key not in allowed:
            raise PrecisionError(f"{where}: option {key!r} does not apply; valid options: {', '.join(allowed)}")


_FALLBACK: dict[tuple[Op, str], tuple[str, ...]] = {(Op.BATCHNORM, "scale"): ("weight",)}


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a config file: ``.json`` as JSON, anything else as YAML."""
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise PrecisionError(f"cannot read precision config {str(p)!r}: {e}") from None
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            raise PrecisionError(f"precision config {str(p)!r} is not valid JSON: {e}") from None
    else:
        try:
            import yaml
        except ImportError:
            raise PrecisionError(
                f"reading {str(p)!r} needs PyYAML: pip install 'hlsforge[yaml]' (or pass a dict / a .json file)"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise PrecisionError(f"precision config {str(p)!r} is not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PrecisionError(f"precision config {str(p)!r} must contain a mapping, got {type(data).__name__}")
    return data


# ----------------------------------------------------------------------------- constants


METADATA_KEY = "precision_config"
"""Where ``configure`` records the configuration it applied (in ``graph.metadata``)."""

MAX_CONSTANT_WIDTH = 53
"""Constants are stored as exact float64 values, so their types are at most 53 bits wide."""


def raw_constant(value: Value) -> np.ndarray:
    """Raw integers of a configured constant (exact): what the HLS backend emits."""
    if value.data is None:
        raise PrecisionError(f"value {value.name!r} is not a constant")
    if not isinstance(value.type, (FixedType, IntType)):
        raise PrecisionError(f"constant {value.name!r} has type {value.type}: run quantize.configure first")
    return quantize(value.data, as_fixed_type(value.type))


def _overflow_count(x: np.ndarray, t: FixedType) -> int:
    """How many of ``x`` overflow ``t`` (the rounded value lies outside the type's range)."""
    wrapped = quantize(x, replace(t, overflow=Overflow.WRAP)) if np.isfinite(x).all() else None
    sat = quantize(x, replace(t, overflow=Overflow.SAT))
    far = (x > float(t.max) * 2 + 1) | (x < float(t.min) * 2 - 1)
    if wrapped is None:
        return int(np.count_nonzero(far | ~np.isfinite(x)))
    return int(np.count_nonzero((wrapped != sat) | far))


# ----------------------------------------------------------------------------- configure


class _Configurer:
    """State of one :func:`configure` run over a copy of the graph."""

    def __init__(self, graph: Graph, cfg: PrecisionConfig, trained: AsTrained | None = None) -> None:
        self.g = graph
        self.cfg = cfg
        self.preset = {n for n, v in graph.values.items() if v.is_constant and isinstance(v.type, (FixedType, IntType))}
        self.typed_here: dict[str, TensorType] = {}
        # as trained (quantize/as_trained.py): types inferred where the config sets nothing
        self.trained = trained
        self.auto = trained if trained is not None else AsTrained(cfg.precision_default())
        self.pretyped: dict[str, TensorType] = {
            n.name: graph.values[n.outputs[0]].type for n in graph.nodes
            if n.outputs and isinstance(graph.values[n.outputs[0]].type, (FixedType, IntType))
        } if trained is not None else {}

    def prec(self, node: Node, var: str) -> TensorType | None:
        if self.trained is not None and not self.cfg.is_set(node, var):
            return self.trained.infer(self, node, var)
        t = self.cfg.precision(node, var)
        if t is None and var not in AUTO_VARIABLES:  # `auto` beyond accumulators: as trained / lossless
            return self.auto.infer(self, node, var)
        return t

    def is_auto(self, node: Node, var: str) -> bool:
        """Is ``var`` of ``node`` inferred (as trained, or configured ``auto``)?"""
        if self.trained is not None and not self.cfg.is_set(node, var):
            return True
        return self.cfg.is_set(node, var) and self.cfg.precision(node, var) is None

    def fixed(self, node: Node, var: str) -> TensorType:
        t = self.prec(node, var)
        if t is None:  # pragma: no cover - parse rejects auto outside AUTO_VARIABLES
            raise PrecisionError(f"{node.describe()}: {var} cannot be auto")
        return t

    def in_type(self, node: Node, i: int = 0) -> FixedType:
        return as_fixed_type(self.g.values[node.inputs[i]].type)  # type: ignore[arg-type]

    def set_constant(self, node: Node, i: int, var: str, role: str) -> FixedType:
        """Type and quantize constant input ``i`` with variable ``var`` (``role`` names it)."""
        name = node.inputs[i]
        v = self.g.values[name]
        if self.is_auto(node, var):
            t: TensorType = v.type if name in self.preset else self.auto.constant_type(node, role, np.asarray(v.data))
        else:
            t = self.fixed(node, var)
        hint = f"give '{var}' more integer bits"
        if name in self.preset:
            t = v.type
            hint = "its type was set by the model"
        elif name in self.typed_here and self.typed_here[name] != t:
            new = self.g.unique_name(f"{name}_{node.name}")
            v = self.g.add_constant(new, np.array(v.data, copy=True), v.type)
            node.inputs[i] = new
            name = new
        ft = as_fixed_type(t)  # type: ignore[arg-type]
        if ft.width > MAX_CONSTANT_WIDTH:
            raise PrecisionError(
                f"{node.describe()}: {role} type {t} is {ft.width} bits wide; constants are stored as exact "
                f"float64 values, so at most {MAX_CONSTANT_WIDTH} bits are supported"
            )
        data = np.asarray(v.data, dtype=np.float64)
        if np.isnan(data).any():
            raise PrecisionError(f"{node.describe()}: {role} {name!r} contains NaN")
        n_over = _overflow_count(data, ft)
        if n_over:
            what = "wrap around" if ft.overflow is Overflow.WRAP else "saturate"
            warnings.warn(
                f"{node.describe()}: {n_over} of {data.size} values of {role} {name!r} overflow {t} and {what}; "
                f"{hint}",
                stacklevel=3,
            )
        try:
            raw = quantize(data, ft)
        except HlsforgeError as e:
            raise PrecisionError(f"{node.describe()}: cannot quantize {role} {name!r} into {t}: {e}") from None
        v.data = to_float(raw, ft)
        v.type = t
        self.typed_here[name] = t
        return ft

    def set_result(self, node: Node, t: TensorType) -> None:
        for out in node.outputs:
            self.g.values[out].type = t

    def where(self, node: Node) -> str:
        return node.describe()


def _cfg_constants(c: _Configurer, node: Node, role_types: Mapping[int, tuple[str, str]]) -> None:
    """Type the constant inputs: ``{input index: (variable, role name)}``; other constant
    inputs (e.g. a constant operand of Add) take ``weight``."""
    for i, name in enumerate(node.inputs):
        if not c.g.values[name].is_constant:
            continue
        var, role = role_types.get(i, ("weight", "constant operand"))
        c.set_constant(node, i, var, role)


def _cfg_result_only(c: _Configurer, node: Node) -> None:
    _cfg_constants(c, node, {})
    c.set_result(node, c.fixed(node, "result"))


def _cfg_dot(c: _Configurer, node: Node) -> None:
    wt = c.set_constant(node, 1, "weight", "kernel")
    bt = c.set_constant(node, 2, "bias", "bias")
    acc = c.prec(node, "accum")
    if acc is None:
        kernel = raw_constant(c.g.values[node.inputs[1]])
        bias = raw_constant(c.g.values[node.inputs[2]])
        acc = dot_accum_type(c.in_type(node), kernel.reshape(-1, kernel.shape[-1]), wt, bias, bt,
                             where=f"{node.describe()}: accum auto")
    node.precision["accum"] = acc
    c.set_result(node, c.fixed(node, "result"))


def _window_taps(node: Node, c: _Configurer) -> int:
    if node.op is Op.GLOBAL_AVGPOOL:
        return math.prod(c.g.values[node.inputs[0]].shape[:-1])
    return math.prod(node.attrs.kernel_shape)


def _cfg_avgpool(c: _Configurer, node: Node) -> None:
    acc = c.prec(node, "accum")
    if acc is None:
        acc = exact_sum_type(c.in_type(node), _window_taps(node, c), where=f"{node.describe()}: accum auto")
    node.precision["accum"] = acc
    node.precision["scale"] = c.fixed(node, "scale")
    c.set_result(node, c.fixed(node, "result"))


def _cfg_batchnorm(c: _Configurer, node: Node) -> None:
    c.set_constant(node, 1, "scale", "scale")
    c.set_constant(node, 2, "bias", "bias")
    c.set_result(node, c.fixed(node, "result"))


def _cfg_param(c: _Configurer, node: Node) -> None:
    node.precision["param"] = c.fixed(node, "param")
    c.set_result(node, c.fixed(node, "result"))


_TABLE_FUNCTION = {Op.SIGMOID: "sigmoid", Op.TANH: "tanh", Op.SOFTPLUS: "softplus", Op.ELU: "elu", Op.SELU: "selu"}


def _table_params(node: Node) -> tuple[float, ...]:
    if node.op is Op.ELU:
        return (float(node.attrs.alpha),)
    if node.op is Op.SELU:
        return (float(node.attrs.alpha), float(node.attrs.gamma))
    return ()


def _cfg_table(c: _Configurer, node: Node) -> None:
    table_t = c.fixed(node, "table")
    node.precision["table"] = table_t
    if node.op is Op.SELU:
        node.precision["param"] = c.fixed(node, "param")
    x_t = c.in_type(node)
    if node.op in (Op.ELU, Op.SELU) and not x_t.signed:
        pass  # unsigned input: only the identity branch exists, no table
    else:
        node.options["table"] = build_table(
            _TABLE_FUNCTION[node.op], x_t, table_t,
            size=c.cfg.option(node, "table_size"),
            interval=c.cfg.option(node, "table_range"),
            params=_table_params(node),
            where=f"{node.describe()}: table",
        )
    c.set_result(node, c.fixed(node, "result"))


def softmax_diff_type(x_type: TensorType, where: str = "") -> FixedType:
    """Type of ``x[i] - max(x)`` in Softmax: the exact ``ap_fixed`` sum type of the input
    with itself (every difference is representable, none rounds)."""
    try:
        return fixed_add_type(x_type, x_type).as_fixed()  # type: ignore[arg-type]
    except PrecisionError as e:
        raise PrecisionError(f"{where}: the difference x - max(x) needs a type wider than 64 bits: {e}") from None


def _cfg_softmax(c: _Configurer, node: Node) -> None:
    mode = c.cfg.option(node, "softmax_mode", "stable")
    node.options["softmax"] = SoftmaxOptions(mode)
    if mode == "stable":
        where = node.describe()
        exp_t = c.fixed(node, "exp_table")
        inv_t = c.fixed(node, "inv_table")
        exp = build_table(
            "exp", softmax_diff_type(c.in_type(node), where), exp_t,
            size=c.cfg.option(node, "exp_table_size", None, "table_size"),
            interval=c.cfg.option(node, "exp_table_range"),
            where=f"{where}: exp_table",
        )
        n = c.g.values[node.inputs[0]].shape[-1]
        sum_t = c.prec(node, "sum")
        if sum_t is None:
            sum_t = table_sum_type(exp.entries, exp.entry_type, n, where=f"{where}: sum auto")
        st = as_fixed_type(sum_t)  # type: ignore[arg-type]
        inv = build_table(
            "reciprocal", st, inv_t,
            size=c.cfg.option(node, "inv_table_size", None, "table_size"),
            interval=c.cfg.option(node, "inv_table_range"),
            raw_interval=_reciprocal_raw_range(exp, st, n),
            where=f"{where}: inv_table",
        )
        node.precision.update(exp_table=exp_t, sum=sum_t, inv_table=inv_t)
        node.options["exp_table"] = exp
        node.options["inv_table"] = inv
    c.set_result(node, c.fixed(node, "result"))


def _reciprocal_raw_range(exp: TableSpec, sum_t: FixedType, n: int) -> tuple[int, int]:
    """Default range of Softmax's 1/s table: the sums that can occur without overflow.

    The largest input has ``d = 0``, so ``s >= cast_sum(exp_table(0))``; every entry is at
    most ``max(entries)``, so ``s <= cast_sum(n · max(entries))`` (saturated to the type).
    The range starts at one LSB or more, so no entry is evaluated at 0.
    """
    sat = replace(sum_t, overflow=Overflow.SAT)
    e0 = exp.lookup(np.array([0], dtype=np.int64))
    lo = int(convert_raw(e0, exp.entry_type.frac, sat)[0])
    hi = int(convert_raw(np.array([n * int(exp.entries.max())], dtype=object), exp.entry_type.frac, sat)[0])
    lo = max(lo, 1)
    hi = max(hi + 1, lo + 1)
    return lo, hi


def _cfg_tree_ensemble(c: _Configurer, node: Node) -> None:
    from .trees import configure_tree_ensemble  # thresholds on the input grid: quantize/trees.py

    configure_tree_ensemble(c, node)


def _cfg_quantize(c: _Configurer, node: Node) -> None:
    c.set_result(node, node.attrs.target)


_CONFIG_RULES: dict[Op, Callable[[_Configurer, Node], None]] = {
    Op.DENSE: _cfg_dot, Op.CONV1D: _cfg_dot, Op.CONV2D: _cfg_dot,
    Op.AVGPOOL1D: _cfg_avgpool, Op.AVGPOOL2D: _cfg_avgpool, Op.GLOBAL_AVGPOOL: _cfg_avgpool,
    Op.MAXPOOL1D: _cfg_result_only, Op.MAXPOOL2D: _cfg_result_only, Op.GLOBAL_MAXPOOL: _cfg_result_only,
    Op.BATCHNORM: _cfg_batchnorm,
    Op.RELU: _cfg_result_only,
    Op.LEAKY_RELU: _cfg_param, Op.CLIP: _cfg_param, Op.HARD_SIGMOID: _cfg_param,
    Op.SIGMOID: _cfg_table, Op.TANH: _cfg_table, Op.ELU: _cfg_table, Op.SELU: _cfg_table, Op.SOFTPLUS: _cfg_table,
    Op.SOFTMAX: _cfg_softmax,
    Op.ADD: _cfg_result_only, Op.SUB: _cfg_result_only, Op.MUL: _cfg_result_only, Op.CONCAT: _cfg_result_only,
    Op.FLATTEN: _cfg_result_only, Op.RESHAPE: _cfg_result_only, Op.TRANSPOSE: _cfg_result_only,
    Op.PAD: _cfg_result_only,
    Op.QUANTIZE: _cfg_quantize,
    Op.TREE_ENSEMBLE: lambda c, node: _cfg_tree_ensemble(c, node),
    Op.SLICE: _cfg_result_only, Op.GATHER: _cfg_result_only,  # index ops (issue 12)
}
"""How each final op is configured (one small function per op, like every IR consumer)."""


def configure(
    graph: Graph,
    config: PrecisionConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    input: Any = None,  # noqa: A002 - the documented keyword
) -> Graph:
    """Return a quantized copy of ``graph`` (the input is never changed).

    Every activation value gets its type (graph inputs: ``input``; node outputs: ``result``;
    a Quantize node: its target), constants are quantized into ``weight``/``bias``/``scale``
    (constants that already carry a fixed-point type keep it), internal variables go into
    ``node.precision``, tables into ``node.options``, and ``node.options["hls"]`` holds the
    validated ``ReuseFactor``/``Strategy``. ``graph.metadata["precision_config"]`` records
    the config used. Errors are ``PrecisionError`` naming the layer; configuring a graph that
    is already quantized is one (weights would be rounded twice).

    A graph that carries quantizers (QKeras, QONNX, HGQ2, ``hlsforge.qat``) is configured
    **as trained** wherever the config sets nothing (``quantize/as_trained.py``): quantizer
    types, else the narrowest lossless type. ``input=`` (a type, or a dict by input name)
    gives the graph input's type; without it the input takes its input quantizer's type, and
    with no configuration at all a missing input type is a ``PrecisionError``. hls4ml
    configurations (``Model``/``LayerName``/``LayerType``/``HLSConfig``) are translated first.
    """
    config = _translate_hls4ml(config, graph)
    cfg = PrecisionConfig.load(config)
    if METADATA_KEY in graph.metadata:
        if input is None and _only_hls_options(cfg):
            return _with_hls_options(graph, cfg)
        raise PrecisionError(
            f"model {graph.name!r} is already quantized; configure the float graph instead "
            "(quantizing quantized weights again would round them twice); on a quantized graph (an "
            "hlsforge.qat export) only ReuseFactor, Strategy and io_type may still be set"
        )
    g = graph.copy()
    g.validate(final=True)
    cfg.check_against(g)
    trained = AsTrained(cfg.precision_default()) if carries_quantizers(g) else None
    c = _Configurer(g, cfg, trained)
    known = AsTrained.input_types(g, input) if (trained is not None or input is not None) else {}
    for name in g.inputs:
        t = known.get(name)
        if t is None and name not in cfg.inputs and cfg.input is None and trained is not None and config is None:
            raise PrecisionError(
                f"model {graph.name!r}: graph input {name!r} has no input quantizer, so the model does not say "
                f"its type; pass it: configure(graph, input='ap_fixed<16,6>') (CLI: a config with "
                "model: {input: ...}), or put a quantizer on the input when training"
            )
        explicit = name in cfg.inputs or cfg.input is not None
        g.values[name].type = t if t is not None and (input is not None or not explicit) else cfg.input_type(name)
    for node in list(g.nodes):
        rule = _CONFIG_RULES.get(node.op)
        if rule is None:
            why = UNSUPPORTED.get(node.op, "")
            raise PrecisionError(f"{node.describe()}: no precision rule for op {node.op.value}" + (f": {why}" if why else ""))
        node.precision = {}
        for key in ("table", "exp_table", "inv_table", "softmax"):
            node.options.pop(key, None)
        rule(c, node)
        own = any(where.startswith("layer ") and "ReuseFactor" in scope.options for where, scope in cfg.scopes(node))
        rf, note = reuse_factor_for(g, node, cfg.option(node, "ReuseFactor", 1), own)
        if note:
            warnings.warn(note, stacklevel=2)
        node.options["hls"] = HlsOptions(reuse_factor=rf, strategy=cfg.option(node, "Strategy", "Latency"))
    g.metadata[METADATA_KEY] = cfg.to_dict()
    if trained is not None:
        g.metadata["as_trained"] = list(dict.fromkeys(trained.notes))
        for note in g.metadata["as_trained"]:
            warnings.warn(note, stacklevel=2)
    return g


def _translate_hls4ml(config: Any, graph: Graph) -> Any:
    """hls4ml configurations (dict or YAML path) → the native schema (quantize/hls4ml_config.py)."""
    from .hls4ml_config import is_hls4ml_config, translate

    if isinstance(config, (str, os.PathLike)) and not (isinstance(config, str) and _is_type_text(config)):
        loaded = load_config(config)
        return translate(loaded, graph, source=str(config)) if is_hls4ml_config(loaded) else loaded
    if isinstance(config, Mapping) and is_hls4ml_config(config):
        return translate(config, graph)
    return config


def _only_hls_options(cfg: PrecisionConfig) -> bool:
    """Does ``cfg`` set nothing but schedule choices (ReuseFactor, Strategy, io_type)?"""
    scopes = [cfg.model, *cfg.op_type.values(), *cfg.layers.values()]
    allowed = set(_HLS_OPTIONS) | set(MODEL_OPTIONS)
    return (cfg.input is None and not cfg.inputs and not any(s.precision for s in scopes)
            and all(set(s.options) <= allowed for s in scopes))


def _with_hls_options(graph: Graph, cfg: PrecisionConfig) -> Graph:
    """A quantized graph with new ReuseFactor/Strategy/io_type and nothing else changed: these
    choose the schedule, not the arithmetic, so a trained export (already typed) takes them."""
    g = graph.copy()
    cfg.check_against(g)
    for node in g.nodes:
        old = node.options.get("hls")
        if old is None:
            continue
        own = any(where.startswith("layer ") and "ReuseFactor" in scope.options for where, scope in cfg.scopes(node))
        rf, note = reuse_factor_for(g, node, cfg.option(node, "ReuseFactor", old.reuse_factor), own)
        if note:
            warnings.warn(note, stacklevel=3)
        node.options["hls"] = HlsOptions(reuse_factor=rf, strategy=cfg.option(node, "Strategy", old.strategy))
    recorded = dict(g.metadata.get(METADATA_KEY) or {})
    model = dict(recorded.get("model") or {})
    model.update(cfg.model.to_dict())
    recorded["model"] = model
    g.metadata[METADATA_KEY] = recorded
    return g


def is_configured(graph: Graph) -> bool:
    """Whether every activation value carries a fixed-point type (i.e. ``configure`` ran)."""
    for v in graph.values.values():
        if not v.is_constant and not isinstance(v.type, (FixedType, IntType)):
            return False
    return all(isinstance(graph.values[i].type, (FixedType, IntType)) for n in graph.nodes for i in n.inputs)


from ..float_only import FLOAT_ONLY  # noqa: E402 - float-only op families (issue 12)

UNSUPPORTED: dict[Op, str] = dict(FLOAT_ONLY)
"""Final ops this consumer refuses on purpose, with the reason (tests/test_op_coverage.py)."""

# Recurrent cells and LayerNormalization (issue 12): their own rule module, merged here.
from . import _config_recurrent as _rec  # noqa: E402

VARIABLES = VARIABLES + _rec.NEW_VARIABLES  # type: ignore[assignment]
OP_VARIABLES.update(_rec.OP_VARIABLES)
_OP_OPTIONS.update(_rec.OP_OPTIONS)
_FALLBACK.update(_rec.FALLBACK)
_CONFIG_RULES.update(_rec.CONFIG_RULES)
