"""The common IR: ``Graph`` of ``Node``s over named ``Value``s.

Every frontend produces a ``Graph``; every backend consumes one. Values are named tensors
(activation or constant); nodes list value names as inputs and outputs, in topological order.
Shapes exclude the batch dimension and are channels-last. The layout in which the *user*
passes inputs (e.g. NCHW for an ONNX or PyTorch CNN) is recorded in ``input_perm`` /
``output_perm``, and :meth:`Graph.to_internal` / :meth:`Graph.to_user` are the one place
where arrays are moved between the user's layout and the IR's.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import GraphError, HlsforgeError, InputError
from .limits import check_event_size, check_shape
from .ops import CATALOGUE, Op, Shape, spec
from .types import FLOAT32, FixedType, IntType, Overflow, TensorType


@dataclass
class Value:
    """A named tensor. ``data`` is set for constants (weights); activations are batched."""

    name: str
    shape: Shape
    type: TensorType = FLOAT32
    data: np.ndarray | None = None

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass
class Node:
    """One op application.

    ``source_name``/``source_op`` are the framework's layer name and op type, kept for error
    messages, traces and comments in generated code. ``precision`` holds the types of a node's
    internal variables (``accum``, ``table``, ...), set by ``quantize.configure``; ``options``
    holds typed per-node records that later stages attach (table specs, strategy, ...).
    """

    name: str
    op: Op
    inputs: list[str]
    outputs: list[str]
    attrs: Any = None
    source_name: str = ""
    source_op: str = ""
    precision: dict[str, TensorType] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.attrs is None:
            self.attrs = spec(self.op).attrs()
        if not self.source_name:
            self.source_name = self.name
        if not self.source_op:
            self.source_op = self.op.value

    def describe(self) -> str:
        """How error messages name this node: IR name, source layer and framework op."""
        src = f" (source layer {self.source_name!r}, {self.source_op})" if self.source_name != self.name or self.source_op != self.op.value else f" ({self.op.value})"
        return f"node {self.name!r}{src}"


@dataclass
class Graph:
    """A model in hlsforge's IR."""

    name: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    values: dict[str, Value] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    input_perm: dict[str, tuple[int, ...]] = field(default_factory=dict)
    output_perm: dict[str, tuple[int, ...]] = field(default_factory=dict)
    source_format: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ building

    def add_value(self, value: Value, *, what: str | None = None) -> Value:
        if value.name in self.values:
            raise GraphError(f"value {value.name!r} is defined twice")
        kind = "constant" if value.is_constant else "value"
        value.shape = check_shape(value.shape, what or f"{kind} {value.name!r}")
        self.values[value.name] = value
        return value

    def add_input(self, name: str, shape: Shape, perm: tuple[int, ...] | None = None) -> Value:
        """Declare a graph input with its channels-last shape (batch excluded)."""
        v = self.add_value(Value(name, check_shape(shape, f"model input {name!r}")))
        self.inputs.append(name)
        if perm is not None and tuple(perm) != tuple(range(len(shape))):
            self.input_perm[name] = tuple(perm)
        return v

    def add_constant(self, name: str, data: np.ndarray, type: TensorType = FLOAT32) -> Value:
        arr = np.ascontiguousarray(data)
        return self.add_value(Value(name, tuple(arr.shape), type, arr))

    def unique_name(self, base: str) -> str:
        """A value/node name not used yet, derived from ``base``."""
        taken = set(self.values) | {n.name for n in self.nodes}
        if base not in taken:
            return base
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def add_node(
        self,
        op: Op,
        inputs: list[str],
        outputs: list[str] | None = None,
        attrs: Any = None,
        *,
        name: str | None = None,
        source_name: str = "",
        source_op: str = "",
        index: int | None = None,
    ) -> Node:
        """Append (or insert at ``index``) a node, inferring and declaring its output values."""
        node_name = name or self.unique_name(source_name or op.value.lower())
        node = Node(node_name, op, list(inputs), [], attrs, source_name or node_name, source_op)
        shapes = self.infer_shapes(node)
        if outputs is None:
            outputs = [self.unique_name(node_name if len(shapes) == 1 else f"{node_name}_{i}") for i in range(len(shapes))]
        for out, shp in zip(outputs, shapes, strict=False):
            self.add_value(Value(out, shp), what=f"{node.describe()}: output {out!r}")
        node.outputs = list(outputs)
        if index is None:
            self.nodes.append(node)
        else:
            self.nodes.insert(index, node)
        return node

    def infer_shapes(self, node: Node) -> list[Shape]:
        """Run the catalogue's shape inference for ``node``; errors name the node."""
        s = spec(node.op)
        if not isinstance(node.attrs, s.attrs):
            raise GraphError(f"{node.describe()}: attrs must be {s.attrs.__name__}, got {type(node.attrs).__name__}")
        if not s.variadic and len(node.inputs) != len(s.inputs):
            raise GraphError(f"{node.describe()}: {node.op.value} takes inputs {s.inputs}, got {len(node.inputs)}")
        missing = [i for i in node.inputs if i not in self.values]
        if missing:
            raise GraphError(f"{node.describe()}: unknown input value(s) {missing}")
        vals = [self.values[i] for i in node.inputs]
        for role, v in zip(s.inputs, vals, strict=False):
            if role in s.constants and not v.is_constant:
                raise GraphError(f"{node.describe()}: input {role!r} ({v.name!r}) must be a constant")
        try:
            return s.infer(node.attrs, [v.shape for v in vals], [v.data for v in vals])
        except HlsforgeError as e:
            raise type(e)(f"{node.describe()}: {e}") from None

    # ------------------------------------------------------------------ queries

    def producer(self, value: str) -> Node | None:
        for n in self.nodes:
            if value in n.outputs:
                return n
        return None

    def consumers(self, value: str) -> list[Node]:
        return [n for n in self.nodes if value in n.inputs]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def constant(self, name: str) -> np.ndarray:
        data = self.values[name].data
        if data is None:
            raise GraphError(f"value {name!r} is not a constant")
        return data

    def activation_inputs(self, node: Node) -> list[str]:
        """The node's non-constant inputs."""
        return [i for i in node.inputs if not self.values[i].is_constant]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def copy(self) -> Graph:
        """A deep copy (constants included) that passes may rewrite freely."""
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ layout

    def user_shape(self, name: str) -> Shape:
        """Shape of a graph input/output as the user sees it (batch excluded)."""
        shape = self.values[name].shape
        if name in self.input_perm:  # internal = T_perm(user), so user = T_inverse(internal)
            inverse = np.argsort(self.input_perm[name])
            return tuple(shape[i] for i in inverse)
        if name in self.output_perm:  # user = T_perm(internal), as in to_user
            return tuple(shape[i] for i in self.output_perm[name])
        return shape

    def to_internal(self, name: str, x: np.ndarray) -> np.ndarray:
        """Move a batch for input ``name`` from the user's layout into the IR's."""
        perm = self.input_perm.get(name)
        if not perm:
            return x
        return np.ascontiguousarray(np.transpose(x, (0,) + tuple(p + 1 for p in perm)))

    def to_user(self, name: str, y: np.ndarray) -> np.ndarray:
        """Move a batch of output ``name`` from the IR's layout to the user's."""
        perm = self.output_perm.get(name)
        if not perm:
            return y
        return np.ascontiguousarray(np.transpose(y, (0,) + tuple(p + 1 for p in perm)))

    def check_batch(self, name: str, x: Any, *, allow_nan: bool = False, allow_inf: bool = False) -> np.ndarray:
        """Validate one input batch (user layout) and return it as a numeric array.

        NaN and ±inf are errors unless allowed: the float CPU backend lets both propagate,
        the emulator lets ±inf saturate (NUMERICS.md §2) but has no NaN.
        """
        want = self.user_shape(name)
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiub":
            raise InputError(f"input {name!r} must be numeric, got dtype {arr.dtype}")
        if arr.shape == want:
            arr = arr[None]
        if arr.shape[1:] != want:
            raise InputError(
                f"input {name!r} must have shape (batch, {', '.join(map(str, want))}), got {arr.shape}"
            )
        if arr.dtype.kind == "f":
            if not allow_nan and np.isnan(arr).any():
                raise InputError(f"input {name!r} contains NaN values")
            if not allow_inf and np.isinf(arr).any():
                raise InputError(f"input {name!r} contains infinite values")
        return arr

    def prepare_inputs(self, x: Any, *, allow_nan: bool = False, allow_inf: bool = False,
                       engine: str | None = None) -> dict[str, np.ndarray]:
        """Accept an array (single-input model), list or dict; return checked user-layout arrays
        (every consumer of the IR takes inputs through here, so all accept the same forms).

        ``engine`` applies the one rule for special values (docs/numerics.md, "Special input
        values") instead of ``allow_nan``/``allow_inf``: ``"float"`` (reference, CPU backend)
        refuses nothing — NaN and ±inf propagate, the engine rounds to float32 as IEEE says;
        ``"fixed"`` (emulator, C-sim) refuses what the input type's conversion does not define:
        NaN, and ±inf into a wrapping (WRAP or integer) type.
        """
        if engine is not None:
            if engine not in ("float", "fixed"):
                raise ValueError(f"engine must be 'float' or 'fixed', got {engine!r}")
            arrays = self.prepare_inputs(x, allow_nan=engine == "float", allow_inf=True)
            if engine == "fixed":
                for name, a in arrays.items():
                    t = self.values[name].type
                    wraps = isinstance(t, IntType) or (isinstance(t, FixedType) and t.overflow is Overflow.WRAP)
                    if wraps and a.dtype.kind == "f" and np.isinf(a).any():
                        raise InputError(
                            f"input {name!r} contains infinity, which cannot be converted into its "
                            f"type {t}: wrap-around has no meaningful result; use a saturating input "
                            "type (AP_SAT) or finite inputs"
                        )
            return arrays
        if isinstance(x, dict):
            unknown = set(x) - set(self.inputs)
            if unknown:
                raise InputError(f"unknown input(s) {sorted(unknown)}; the model takes {self.inputs}")
            missing = [n for n in self.inputs if n not in x]
            if missing:
                raise InputError(f"missing input(s) {missing}")
            items = {n: x[n] for n in self.inputs}
        elif isinstance(x, (list, tuple)) and len(self.inputs) > 1:
            if len(x) != len(self.inputs):
                raise InputError(f"the model takes {len(self.inputs)} inputs {self.inputs}, got {len(x)}")
            items = dict(zip(self.inputs, x, strict=False))
        else:
            if len(self.inputs) != 1:
                raise InputError(f"the model takes {len(self.inputs)} inputs {self.inputs}: pass a dict")
            items = {self.inputs[0]: x}
        arrays = {n: self.check_batch(n, a, allow_nan=allow_nan, allow_inf=allow_inf) for n, a in items.items()}
        batches = {a.shape[0] for a in arrays.values()}
        if len(batches) > 1:
            raise InputError(f"inputs have different batch sizes {sorted(batches)}")
        return arrays

    # ------------------------------------------------------------------ validation

    def validate(self, *, final: bool = True) -> Graph:
        """Check every invariant; the message names the node and the problem.

        ``final=True`` also rejects transient (import-only) ops, which the passes remove.
        Returns ``self`` so calls can be chained.
        """
        defined: set[str] = set()
        for name in self.inputs:
            if name not in self.values:
                raise GraphError(f"graph input {name!r} has no value")
            if self.values[name].is_constant:
                raise GraphError(f"graph input {name!r} is a constant")
            defined.add(name)
        event_total, largest = 0, ""
        for name, v in self.values.items():
            if v.name != name:
                raise GraphError(f"value stored under {name!r} is named {v.name!r}")
            check_shape(v.shape, f"{'constant' if v.is_constant else 'value'} {name!r}")
            if not v.is_constant:
                event_total += v.size
                if not largest or v.size > self.values[largest].size:
                    largest = name
        check_event_size(event_total, repr(largest))
        for name, v in self.values.items():
            if v.is_constant:
                if tuple(v.data.shape) != tuple(v.shape):  # type: ignore[union-attr]
                    raise GraphError(f"constant {name!r} has shape {v.shape} but data {v.data.shape}")  # type: ignore[union-attr]
                defined.add(name)
        node_names: set[str] = set()
        produced: set[str] = set()
        for node in self.nodes:
            if node.name in node_names:
                raise GraphError(f"two nodes are named {node.name!r}")
            node_names.add(node.name)
            if node.op not in CATALOGUE:
                raise GraphError(f"{node.describe()}: unknown op {node.op!r}")
            if final and spec(node.op).transient:
                raise GraphError(f"{node.describe()}: transient op {node.op.value} left in a final graph")
            for i in node.inputs:
                if i not in defined:
                    raise GraphError(f"{node.describe()}: input {i!r} is used before it is defined")
            shapes = self.infer_shapes(node)
            if len(shapes) != len(node.outputs):
                raise GraphError(f"{node.describe()}: expected {len(shapes)} outputs, has {len(node.outputs)}")
            for out, shp in zip(node.outputs, shapes, strict=False):
                if out in produced or out in self.inputs or (out in self.values and self.values[out].is_constant):
                    raise GraphError(f"{node.describe()}: output {out!r} is defined twice")
                if out not in self.values:
                    raise GraphError(f"{node.describe()}: output {out!r} has no value")
                if self.values[out].shape != tuple(shp):
                    raise GraphError(
                        f"{node.describe()}: output {out!r} is recorded as {self.values[out].shape}, inferred {tuple(shp)}"
                    )
                produced.add(out)
                defined.add(out)
        for name in self.outputs:
            if name not in defined:
                raise GraphError(f"graph output {name!r} is not produced by any node")
        for name, perm in list(self.input_perm.items()) + list(self.output_perm.items()):
            if name not in self.values or sorted(perm) != list(range(len(self.values[name].shape))):
                raise GraphError(f"layout permutation {perm} for {name!r} does not fit its shape")
        return self

    # ------------------------------------------------------------------ summary

    def parameter_count(self, node: Node) -> int:
        return sum(self.values[i].size for i in node.inputs if self.values[i].is_constant)

    def __str__(self) -> str:
        from .summary import summary_text

        return summary_text(self)
