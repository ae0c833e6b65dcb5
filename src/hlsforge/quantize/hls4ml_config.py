"""hls4ml configurations → hlsforge's native precision schema.

Why: users arrive with ``config_from_keras_model(model, granularity="name")`` dicts and hls4ml
project YAML files. They are translated here, once, into the native ``model`` / ``op_type`` /
``layers`` schema (quantize/config.py), so the resolver stays one piece of code. The mapping
(also in docs/numerics.md, "hls4ml configurations"):

- ``Model: {Precision, ReuseFactor, Strategy}`` → ``model``; ``Precision`` a string is the
  ``default``, a dict maps variables (``default``, ``weight``, ``bias``, ``result``, ``accum``...).
- ``LayerType: {KerasClass: {...}}`` → every layer of that source class (a ``layers`` entry per
  node, below any ``LayerName`` entry: hls4ml's precedence name > type > model).
- ``LayerName: {name: {...}}`` → ``layers``. hls4ml names a Dense/Conv's fused activation
  ``<layer>_<activation>`` (``fc1_relu``); those names reach the activation node here.
- ``HLSConfig`` (a whole project YAML) is unwrapped; ``IOType`` becomes ``io_type``;
  ``Part``/``ClockPeriod``/``OutputDir``/``ProjectName``/``Backend`` belong to
  ``hlsforge convert`` options and are reported, not applied.
- ``auto`` stays ``auto``: the model's own quantizer type where it has one, else the narrowest
  lossless type (quantize/as_trained.py), as hls4ml's precision inference intends.
- hls4ml's defaults where it has them: ``default: ap_fixed<16,6>``, ``table: ap_fixed<18,8>``,
  ``exp_table``/``inv_table``: ``ap_fixed<18,8,AP_RND,AP_SAT>``, ``table_size: 1024``,
  ``ReuseFactor: 1``, ``Strategy: Latency``.
- Keys with no meaning here (``Trace``, ``BramFactor``, ``Compression``...) are reported once
  in one warning, never silently dropped.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import PrecisionError
from ..ir.graph import Graph, Node
from ..ir.ops import Op

__all__ = ["is_hls4ml_config", "translate", "HLS4ML_DEFAULTS"]

HLS4ML_DEFAULTS = {
    "default": "ap_fixed<16,6>",
    "table": "ap_fixed<18,8>",
    "exp_table": "ap_fixed<18,8,AP_RND,AP_SAT>",
    "inv_table": "ap_fixed<18,8,AP_RND,AP_SAT>",
}
"""hls4ml 1.x defaults for variables it gives a default of its own (FPGA backends)."""

_TOP_KEYS = ("Model", "LayerName", "LayerType", "HLSConfig")
_PROJECT_KEYS = ("Part", "ClockPeriod", "OutputDir", "ProjectName", "Backend", "KerasJson", "KerasH5",
                 "KerasModel", "OnnxModel", "PytorchModel", "InputData", "OutputPredictions", "Version",
                 "Stamp", "WriterConfig", "ClockUncertainty", "XilinxPart")
_QUIET = {("Trace", False), ("TraceOutput", False), ("BramFactor", 1000000000)}
_OPTION_KEYS = {"ReuseFactor": "ReuseFactor", "Strategy": "Strategy", "table_size": "table_size",
                "exp_table_size": "exp_table_size", "inv_table_size": "inv_table_size"}

_ACTIVATION_NAMES = {
    Op.RELU: "relu", Op.SIGMOID: "sigmoid", Op.TANH: "tanh", Op.SOFTMAX: "softmax", Op.ELU: "elu",
    Op.SELU: "selu", Op.SOFTPLUS: "softplus", Op.HARD_SIGMOID: "hard_sigmoid", Op.LEAKY_RELU: "leaky_relu",
}
_VAR_ALIASES = {
    # hls4ml variable (without _t) → hlsforge variable, per op where it differs
    (Op.SOFTMAX, "accum"): "sum",
    (Op.BATCHNORM, "weight"): "scale",
    # recurrent cells (issue 12): hlsforge types B = [Wb, Rb] with one `bias`; hls4ml's
    # recurrent_bias reaches it unless `bias` itself is given (below: _WEAK_ALIASES)
    **{(op, "recurrent_bias"): "bias" for op in (Op.GRU, Op.LSTM, Op.SIMPLE_RNN)},
}
_WEAK_ALIASES = {(op, "recurrent_bias") for op in (Op.GRU, Op.LSTM, Op.SIMPLE_RNN)}


def is_hls4ml_config(raw: Any) -> bool:
    """Does ``raw`` use hls4ml's keys (``Model``, ``LayerName``, ``LayerType``, ``HLSConfig``)?"""
    return isinstance(raw, Mapping) and any(k in raw for k in _TOP_KEYS)


def _strip_t(var: str) -> str:
    return var[:-2] if var.endswith("_t") else var


class _Translator:
    def __init__(self, graph: Graph | None, source: str) -> None:
        self.graph = graph
        self.source = source
        self.ignored: list[str] = []
        self.io_type: str | None = None

    def ignore(self, where: str, key: str, value: Any) -> None:
        if value is not None and (key, value) not in _QUIET:
            self.ignored.append(f"{where}.{key}={value!r}")

    def precision(self, value: Any, where: str, op: Op | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if isinstance(value, str):
            value = {"default": value}
        if not isinstance(value, Mapping):
            raise PrecisionError(f"hls4ml config {where}.Precision must be a string or a mapping, got {value!r}")
        out: dict[str, Any] = {}
        given = {_strip_t(str(v)) for v in value}
        for var, t in value.items():
            name = _VAR_ALIASES.get((op, _strip_t(str(var))), _strip_t(str(var))) if op else _strip_t(str(var))
            if (op, _strip_t(str(var))) in _WEAK_ALIASES and name in given:
                continue  # the variable itself is configured: it wins over the alias
            out[name] = t  # hls4ml's "auto" is hlsforge's: quantizer type, else lossless
        return out

    def scope(self, body: Any, where: str, op: Op | None = None) -> dict[str, Any]:
        if isinstance(body, str):
            return {"default": body}
        if not isinstance(body, Mapping):
            raise PrecisionError(f"hls4ml config {where} must be a mapping, got {body!r}")
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key == "Precision":
                out.update(self.precision(value, where, op))
            elif key in _OPTION_KEYS:
                out[_OPTION_KEYS[key]] = value
            elif isinstance(key, str) and key.endswith("_t") and isinstance(value, str):
                out.update(self.precision({key: value}, where, op))
            elif key == "Implementation" and op is Op.SOFTMAX:
                out["softmax_mode"] = "argmax" if str(value).lower() == "argmax" else "stable"
            else:
                self.ignore(where, str(key), value)
        return out

    # ------------------------------------------------------------------ graph-aware names

    def hls4ml_names(self, node: Node) -> list[str]:
        """The names hls4ml gives the layer this node implements."""
        assert self.graph is not None
        src = node.source_name
        names = [node.name, src] if src else [node.name]
        weighted = any(n.source_name == src and n.op in (Op.DENSE, Op.CONV1D, Op.CONV2D)
                       for n in self.graph.nodes if n is not node)
        act = _ACTIVATION_NAMES.get(node.op)
        if act and weighted and src:  # a Dense/Conv's fused activation: hls4ml's <layer>_<act>
            names = [f"{src}_{act}", f"{src}_activation"] + ([node.name] if node.name != src else [])
        return names

    def filter_vars(self, node: Node, scope: dict[str, Any]) -> dict[str, Any]:
        from .config import OP_VARIABLES, OPTIONS, _op_options

        have = set(OP_VARIABLES.get(node.op, ())) | {"default"}
        opts = set(_op_options(node.op))
        out = {}
        for k, v in scope.items():
            if node.op is Op.QUANTIZE and k in ("result", "default"):
                continue  # the model's own quantizer decides
            if k in have or k in opts:
                out[k] = v
            elif k not in OPTIONS:
                self.ignored.append(f"{node.name}.{k} ({node.op.value} has no such variable)")
        return out

    def translate(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        raw = dict(raw)
        if "HLSConfig" in raw:
            io = raw.get("IOType")
            if io is not None:
                self.io_type = str(io)
            for key in raw:
                if key not in ("HLSConfig", "IOType"):
                    self.ignore("project", key, raw[key]) if key not in _PROJECT_KEYS else self.ignored.append(
                        f"project.{key}={raw[key]!r} (a `hlsforge convert` option, not a precision setting)")
            raw = dict(raw["HLSConfig"] or {})
        native_model = raw.get("model")  # command-line flags merged into the file (they win)
        for key in raw:
            if key not in ("Model", "LayerName", "LayerType", "model"):
                self.ignore("HLSConfig", str(key), raw[key])
        model: dict[str, Any] = {"default": HLS4ML_DEFAULTS["default"], "ReuseFactor": 1, "Strategy": "Latency"}
        model.update(self.scope(raw.get("Model") or {}, "Model"))
        for var in ("table", "exp_table", "inv_table"):
            model.setdefault(var, HLS4ML_DEFAULTS[var])
        model.setdefault("table_size", 1024)
        if "Strategy" in model and isinstance(model["Strategy"], str):
            model["Strategy"] = {"latency": "Latency", "resource": "Resource"}.get(model["Strategy"].lower(), model["Strategy"])
        if self.io_type is not None:
            model["io_type"] = self.io_type.lower()  # io_parallel / io_stream; checked by configure
        if isinstance(native_model, Mapping):
            model.update(native_model)
        out: dict[str, Any] = {"model": model}
        layers: dict[str, dict[str, Any]] = {}
        by_type = raw.get("LayerType") or {}
        by_name = raw.get("LayerName") or {}
        if not isinstance(by_type, Mapping) or not isinstance(by_name, Mapping):
            raise PrecisionError("hls4ml config: LayerType and LayerName must be mappings")
        if self.graph is None:
            for name, body in by_name.items():
                layers[str(name)] = self.scope(body, f"LayerName.{name}")
            if by_type:
                self.ignored.append("LayerType (needs the model: pass the config to configure(graph, cfg))")
        else:
            used: set[str] = set()
            for node in self.graph.nodes:
                if node.op is Op.QUANTIZE:
                    continue  # the model's own quantizer: no variables to configure
                entry: dict[str, Any] = {}
                if node.source_op in by_type:
                    entry.update(self.scope(by_type[node.source_op], f"LayerType.{node.source_op}", node.op))
                    used.add(f"type:{node.source_op}")
                for nm in self.hls4ml_names(node):
                    if nm in by_name:
                        entry.update(self.scope(by_name[nm], f"LayerName.{nm}", node.op))
                        used.add(f"name:{nm}")
                        break
                entry = self.filter_vars(node, entry)
                if entry:
                    layers[node.name] = entry
            graph_inputs = set(self.graph.inputs)
            for nm, body in by_name.items():
                if f"name:{nm}" in used:
                    continue
                if nm in graph_inputs:
                    prec = self.precision(body.get("Precision") if isinstance(body, Mapping) else body, f"LayerName.{nm}")
                    t = prec.get("result", prec.get("default"))
                    if t is not None:
                        model.setdefault("input", {})[nm] = t
                    continue
                if any(n.op is Op.QUANTIZE and n.source_name and nm.startswith(f"{n.source_name}_")
                       for n in self.graph.nodes):
                    continue  # a fused quantized activation (fc1_quantized_relu): the model's quantizer decides
                self.ignored.append(f"LayerName.{nm} (no such layer in model {self.graph.name!r})")
            for tn in by_type:
                if f"type:{tn}" not in used and tn not in ("InputLayer",):
                    self.ignored.append(f"LayerType.{tn} (no layer of that class)")
        if layers:
            out["layers"] = layers
        if self.ignored:
            warnings.warn(
                f"hls4ml config{(' ' + self.source) if self.source else ''}: keys with no meaning in hlsforge, "
                f"ignored: {', '.join(dict.fromkeys(self.ignored))}",
                stacklevel=4,
            )
        return out


def translate(raw: Mapping[str, Any], graph: Graph | None = None, *, source: str = "") -> dict[str, Any]:
    """An hls4ml configuration (dict, or a project dict with ``HLSConfig``) in the native schema.

    With ``graph`` the hls4ml layer names and ``LayerType`` classes resolve to the graph's
    nodes; without it ``LayerName`` keys are used as layer names as they are.
    """
    return _Translator(graph, source).translate(raw)
