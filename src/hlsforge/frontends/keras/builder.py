"""Walk a Keras model *config* and build the IR graph, one layer converter at a time.

Live Keras 3 models, ``.keras``/``.h5`` files and legacy Keras 2 JSON all reduce to the same
two things: the model config (``model.get_config()`` / ``model.to_json()``) and a source of
weight arrays per layer. Working from the config keeps one code path for every source and
needs no Keras import for saved files.

IR tensors mirror the Keras tensors exactly (same shapes, batch excluded). Keras is already
channels-last; a layer with ``data_format="channels_first"`` is wrapped in Transposes
(the shared passes cancel adjacent ones).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ...errors import HlsforgeError, ModelFormatError, ShapeError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.ops import Op, TransposeAttrs
from ...ir.types import FLOAT32, TensorType
from ..quant_steps import Step, emit_steps

MODEL_CLASSES = ("Sequential", "Functional", "Model")


class WeightSource(Protocol):
    """Weight arrays of one layer, keyed by their short Keras name (``kernel``, ``gamma``...)."""

    def arrays(self) -> dict[str, np.ndarray]: ...

    def child(self, name: str) -> WeightSource:
        """The source for layer ``name`` inside this (nested model) layer."""
        ...


@dataclass
class LayerCall:
    """One application of a Keras layer to IR values."""

    class_name: str
    name: str
    config: dict[str, Any]
    inputs: list[str]
    weights: WeightSource
    _arrays: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return f"layer {self.name!r} ({self.class_name})"

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    def weight(self, *names: str) -> np.ndarray:
        """The first present weight among ``names`` (aliases across Keras versions)."""
        if self._arrays is None:
            self._arrays = positional_names(self.class_name, self.config, self.weights.arrays())
        for n in names:
            if n in self._arrays:
                return np.asarray(self._arrays[n])
        raise ModelFormatError(
            f"{self.where}: weight {names[0]!r} is missing; the layer has "
            f"{sorted(self._arrays) or 'no weights'} (is the weights file from the same model?)"
        )


Converter = Callable[["Builder", LayerCall], "str | list[str]"]


class Builder:
    """Owns the graph being built and the helpers every layer converter uses."""

    def __init__(
        self,
        name: str,
        converters: dict[str, Converter],
        *,
        keras_major: int,
        source_format: str,
        input_shapes: dict[str, tuple[int, ...]] | tuple[int, ...] | None = None,
    ) -> None:
        self.graph = Graph(name or "keras_model", source_format=source_format)
        self.converters = converters
        self.keras_major = keras_major
        self._input_shapes = input_shapes
        self.graph.metadata["keras_major"] = keras_major

    # ------------------------------------------------------------------ helpers for converters

    def shape(self, value: str) -> tuple[int, ...]:
        return self.graph.values[value].shape

    def node(self, call: LayerCall, op: Op, inputs: Sequence[str], attrs: Any = None, part: str = "") -> str:
        """Add one node for ``call``; returns its output value name."""
        base = f"{call.name}_{part}" if part else call.name
        n = self.graph.add_node(
            op, list(inputs), attrs=attrs, name=self.graph.unique_name(base),
            source_name=call.name, source_op=call.class_name,
        )
        return n.outputs[0]

    def const(self, call: LayerCall, part: str, data: np.ndarray, type: TensorType = FLOAT32) -> str:
        """A constant input, float32 like the framework's weights. Values quantized to a fixed
        type stay float64 if float32 cannot hold them exactly (types wider than 24 bits)."""
        arr = np.asarray(data, dtype=np.float64)
        as32 = arr.astype(np.float32)
        exact = type == FLOAT32 or np.array_equal(as32.astype(np.float64), arr)
        return self.graph.add_constant(self.graph.unique_name(f"{call.name}_{part}"), as32 if exact else arr, type).name

    def steps(self, call: LayerCall, x: str, steps: Sequence[Step], part: str = "") -> str:
        return emit_steps(self.graph, x, steps, base=f"{call.name}_{part}" if part else call.name,
                          source_name=call.name, source_op=call.class_name)

    def to_channels_last(self, call: LayerCall, x: str) -> str:
        """Transpose a channels-first tensor ``(C, *spatial)`` to ``(*spatial, C)``."""
        r = len(self.shape(x))
        return self.node(call, Op.TRANSPOSE, [x], TransposeAttrs(tuple(range(1, r)) + (0,)), part="to_last")

    def to_channels_first(self, call: LayerCall, x: str) -> str:
        r = len(self.shape(x))
        return self.node(call, Op.TRANSPOSE, [x], TransposeAttrs((r - 1,) + tuple(range(r - 1))), part="to_first")

    # ------------------------------------------------------------------ model walking

    def build_top(self, class_name: str, config: Any, weights: WeightSource) -> Graph:
        outputs = self.convert_model(class_name, config, weights, None)
        self.graph.outputs = list(outputs)
        return self.graph

    def convert_model(
        self, class_name: str, config: Any, weights: WeightSource, inputs: list[str] | None
    ) -> list[str]:
        """Convert a (possibly nested) model; ``inputs=None`` declares graph inputs."""
        if class_name == "Sequential":
            return self._sequential(config, weights, inputs)
        return self._functional(config, weights, inputs)

    def _input_shape(self, name: str, declared: Sequence[Any] | None, where: str) -> tuple[int, ...]:
        given = self._input_shapes
        if isinstance(given, dict) and name in given:
            return tuple(int(d) for d in given[name])
        if given is not None and not isinstance(given, dict):
            return tuple(int(d) for d in given)
        if declared is None:
            raise ShapeError(f"{where}: the model does not declare its input shape; pass input_shape=(...) (batch excluded)")
        if not isinstance(declared, (list, tuple)) or not all(
                d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in declared):
            raise ModelFormatError(f"{where}: malformed input shape {str(declared)[:100]} in the model config")
        dims = list(declared)[1:]
        if any(d is None for d in dims):
            raise ShapeError(
                f"{where}: input {name!r} has unknown dimensions {tuple(dims)}; pass input_shape=(...) "
                "(batch excluded) with every dimension fixed"
            )
        return tuple(int(d) for d in dims)

    def _add_graph_input(self, name: str, declared: Sequence[Any] | None) -> str:
        shape = self._input_shape(name, declared, f"input layer {name!r}")
        return self.graph.add_input(self.graph.unique_name(name), shape).name

    def _sequential(self, config: Any, weights: WeightSource, inputs: list[str] | None) -> list[str]:
        layers = config if isinstance(config, list) else config.get("layers")
        if not isinstance(layers, list):
            raise ModelFormatError("Sequential model config has no 'layers' list")
        layers = [_layer_entry(lc) for lc in layers]
        if inputs is None:
            first = layers[0] if layers else None
            if first is not None and first[0] == "InputLayer":
                x = self._add_graph_input(first[1], _declared_shape(first[2]))
                layers = layers[1:]
            else:
                declared = None if first is None else _declared_shape(first[2])
                if declared is None and isinstance(config, dict):
                    declared = config.get("build_input_shape")
                base = f"{first[1]}_input" if first is not None else "input"
                x = self._add_graph_input(base, declared)
        else:
            if len(inputs) != 1:
                raise ModelFormatError(f"a nested Sequential model takes one input, got {len(inputs)}")
            x = inputs[0]
            if layers and layers[0][0] == "InputLayer":
                layers = layers[1:]
        for class_name, name, cfg, _entry in layers:
            outs = self.convert_layer(class_name, name, cfg, [x], weights)
            if len(outs) != 1:
                raise UnsupportedOpError(f"layer {name!r} ({class_name}) has {len(outs)} outputs inside a Sequential model")
            x = outs[0]
        return [x]

    def _functional(self, config: dict[str, Any], weights: WeightSource, inputs: list[str] | None) -> list[str]:
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ModelFormatError("functional model config has no 'layers' list")
        layers = [_layer_entry(lc) for lc in config["layers"]]
        by_name = {name: (cls, cfg, entry) for cls, name, cfg, entry in layers}
        tensors: dict[tuple[str, int, int], str] = {}
        input_refs = _refs(config.get("input_layers", []))
        if inputs is not None and len(inputs) != len(input_refs):
            raise ModelFormatError(f"nested model {config.get('name')!r} takes {len(input_refs)} inputs, got {len(inputs)}")
        for i, (lname, ni, ti) in enumerate(input_refs):
            if lname not in by_name:
                raise ModelFormatError(f"model input {lname!r} is not one of its layers")
            if inputs is None:
                tensors[(lname, ni, ti)] = self._add_graph_input(lname, _declared_shape(by_name[lname][1]))
            else:
                tensors[(lname, ni, ti)] = inputs[i]
        pending: list[tuple[str, str, dict[str, Any], int, list[tuple[str, int, int]]]] = []
        for cls, name, cfg, entry in layers:
            if cls == "InputLayer":
                continue
            first = self._first_node_index(cls, cfg)
            for k, node in enumerate(entry.get("inbound_nodes") or []):
                pending.append((cls, name, cfg, first + k, _node_inputs(node, name)))
        while pending:
            progress = False
            rest = []
            for cls, name, cfg, k, refs in pending:
                if all(r in tensors for r in refs):
                    outs = self.convert_layer(cls, name, cfg, [tensors[r] for r in refs], weights)
                    for j, o in enumerate(outs):
                        tensors[(name, k, j)] = o
                    progress = True
                else:
                    rest.append((cls, name, cfg, k, refs))
            if not progress:
                missing = sorted({r[0] for _, _, _, _, refs in rest for r in refs if r not in tensors})
                raise ModelFormatError(
                    f"cannot resolve the inputs of layer(s) {[p[1] for p in rest]}: unknown tensor(s) from {missing}"
                )
            pending = rest
        outs = []
        for ref in _refs(config.get("output_layers", [])):
            if ref not in tensors:
                raise ModelFormatError(f"model output {ref[0]!r} (node {ref[1]}, tensor {ref[2]}) is never computed")
            outs.append(tensors[ref])
        return outs

    def _first_node_index(self, class_name: str, config: Any) -> int:
        """Index of a layer's first serialized call. Keras leaves out the node that links a
        nested functional model's own input to its output, so references to such a model's
        calls start at 1 (Keras 2 treats a Sequential with an input shape the same way)."""
        if class_name in ("Functional", "Model"):
            return 1
        if class_name == "Sequential" and self.keras_major < 3:
            layers = config if isinstance(config, list) else config.get("layers", [])
            return int(bool(layers) and isinstance(layers[0], dict) and layers[0].get("class_name") == "InputLayer")
        return 0

    def convert_layer(
        self, class_name: str, name: str, config: dict[str, Any], inputs: list[str], weights: WeightSource
    ) -> list[str]:
        if class_name in MODEL_CLASSES:
            return self.convert_model(class_name, config, weights.child(name), inputs)
        fn = self.converters.get(class_name)
        if fn is None:
            raise UnsupportedOpError(
                f"layer {name!r} of class {class_name} is not supported by the Keras frontend; supported "
                f"layer classes: {', '.join(sorted(self.converters))} (and nested Sequential/Functional models)"
            )
        call = LayerCall(class_name, name, config, list(inputs), _LazyChild(weights, name))
        first_new = len(self.graph.nodes)
        try:
            out = fn(self, call)
        except HlsforgeError as e:
            msg = str(e)
            if name not in msg:
                raise type(e)(f"{call.where}: {msg}") from None
            raise
        outs = [out] if isinstance(out, str) else list(out)
        if len(outs) == 1:
            outs = [self._name_after_layer(outs[0], name, first_new)]
        return outs

    def _name_after_layer(self, value: str, layer: str, first_new: int) -> str:
        """Give the node that produces a layer's output the layer's own name, so traces and
        generated code show Keras layer names; returns the (possibly new) value name."""
        new_nodes = self.graph.nodes[first_new:]
        prod = next((n for n in reversed(new_nodes) if value in n.outputs), None)
        if prod is None or prod.name == layer:
            return value
        taken = {n.name for n in self.graph.nodes} | set(self.graph.values)
        if layer in taken or any(value in n.inputs for n in self.graph.nodes) or value in self.graph.outputs:
            return value
        prod.name = layer
        v = self.graph.values.pop(value)
        v.name = layer
        self.graph.values[layer] = v
        prod.outputs = [layer if o == value else o for o in prod.outputs]
        return layer


class _LazyChild:
    """Weights of one layer, fetched only when a converter asks for them."""

    def __init__(self, parent: WeightSource, name: str) -> None:
        self._parent = parent
        self._name = name

    def arrays(self) -> dict[str, np.ndarray]:
        return self._parent.child(self._name).arrays()

    def child(self, name: str) -> WeightSource:
        return self._parent.child(self._name).child(name)

    def resolve(self) -> WeightSource:
        """The layer's own weight source (HGQ2 layers walk their quantizers from it)."""
        return self._parent.child(self._name)


def _layer_entry(entry: Any) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ModelFormatError(f"malformed layer entry in the model config: {str(entry)[:200]}")
    cfg = entry.get("config") or {}
    name = entry.get("name") or cfg.get("name")
    if not isinstance(name, str):
        raise ModelFormatError(f"layer entry of class {entry['class_name']} has no name")
    return entry["class_name"], name, cfg, entry


def _declared_shape(cfg: dict[str, Any]) -> list[Any] | None:
    for key in ("batch_shape", "batch_input_shape", "input_shape", "shape"):
        v = cfg.get(key)
        if v is None:
            continue
        if not isinstance(v, (list, tuple)):
            raise ModelFormatError(f"layer {cfg.get('name')!r}: malformed {key} {str(v)[:100]} in the model config")
        # Keras 3 InputLayer(shape=...) / layer(input_shape=...) leave the batch out
        return list(v) if key in ("batch_shape", "batch_input_shape") else [None] + list(v)
    return None


def _refs(spec: Any) -> list[tuple[str, int, int]]:
    """``input_layers``/``output_layers``: ``[name, node, tensor]`` or a list of them."""
    if not spec:
        return []
    if isinstance(spec, list) and spec and isinstance(spec[0], str):
        spec = [spec]
    out = []
    for r in spec:
        if not (isinstance(r, (list, tuple)) and len(r) >= 3 and isinstance(r[0], str)):
            raise ModelFormatError(f"malformed tensor reference {r!r} in the model config")
        out.append((r[0], int(r[1]), int(r[2])))
    return out


def _node_inputs(node: Any, layer: str) -> list[tuple[str, int, int]]:
    """Tensor references of one inbound node, in argument order (Keras 2 and Keras 3 forms)."""
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        return list(_keras3_tensors(node.get("args", [])))
    if isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
        refs = []
        for item in node:
            if isinstance(item, (list, tuple)) and len(item) >= 3 and isinstance(item[0], str):
                refs.append((item[0], int(item[1]), int(item[2])))
            else:
                raise ModelFormatError(f"layer {layer!r}: malformed inbound node entry {item!r}")
        return refs
    raise ModelFormatError(f"layer {layer!r}: malformed inbound node {str(node)[:200]}")


def _keras3_tensors(obj: Any) -> Iterator[tuple[str, int, int]]:
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            h = obj.get("config", {}).get("keras_history")
            if not (isinstance(h, list) and len(h) == 3):
                raise ModelFormatError(f"malformed keras_history {h!r}")
            yield (h[0], int(h[1]), int(h[2]))
        return
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _keras3_tensors(o)


def keras_major_of(version: Any, config: Any = None) -> int:
    """Keras major version from a version string; else guessed from the config's style."""
    if isinstance(version, bytes):
        version = version.decode("utf8", "replace")
    head = version.split(".")[0] if isinstance(version, str) else ""
    if head.isdigit() and head.isascii():
        return int(head)
    text = str(config)[:20000] if config is not None else ""
    return 3 if ("'module'" in text or "'batch_shape'" in text or "__keras_tensor__" in text) else 2


def _bn_order(config: dict[str, Any]) -> list[str]:
    return [n for n, on in (("gamma", config.get("scale", True)), ("beta", config.get("center", True))) if on] + [
        "moving_mean", "moving_variance",
    ]


def _kernel_bias(first: list[str]) -> Callable[[dict[str, Any]], list[str]]:
    return lambda config: first + (["bias"] if config.get("use_bias", True) else [])


_CREATION_ORDER: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    **{c: _kernel_bias(["kernel"]) for c in ("Dense", "Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D")},
    **{c: _kernel_bias(["depthwise_kernel", "pointwise_kernel"]) for c in ("SeparableConv1D", "SeparableConv2D")},
    "BatchNormalization": _bn_order,
    # 3D and transposed convolutions (issue 12, frontends/keras/spatial.py)
    **{c: _kernel_bias(["kernel"]) for c in ("Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")},
    # QKeras (v3, Keras 3 archives): same variables as their Keras counterparts
    **{c: _kernel_bias(["kernel"]) for c in ("QDense", "QConv1D", "QConv2D")},
    "QDepthwiseConv2D": _kernel_bias(["depthwise_kernel"]),
    **{c: _kernel_bias(["depthwise_kernel", "pointwise_kernel"]) for c in ("QSeparableConv1D", "QSeparableConv2D")},
    "QBatchNormalization": _bn_order,
}
"""Variable order of each weighted Keras 3 layer, for weight files that store them unnamed."""


def positional_names(class_name: str, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Name positional variables ("0", "1", ...) by the layer class's creation order."""
    if not arrays or not all(k.isdigit() for k in arrays):
        return arrays
    order_fn = _CREATION_ORDER.get(class_name)
    if order_fn is None:
        raise ModelFormatError(f"layer of class {class_name}: cannot name its {len(arrays)} unnamed weight variables")
    order = order_fn(config)
    if len(order) != len(arrays):
        raise ModelFormatError(
            f"layer of class {class_name} should have {len(order)} weight variables ({order}), the file has {len(arrays)}"
        )
    return {name: arrays[str(i)] for i, name in enumerate(order)}

