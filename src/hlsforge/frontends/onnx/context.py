"""Import state: what each ONNX tensor stands for while a model is being translated.

An ONNX tensor is either an *activation* (an IR value, batched, its shape stored without the
batch and in the ONNX layout) or a *known* value: an initializer, the output of a ``Constant``,
or the result of folding nodes whose inputs are all known. Known values include shape
computations (``Shape -> Gather -> Unsqueeze -> Concat``) whose entries may be the symbolic
:data:`BATCH`, so the ``Reshape`` they feed can be resolved without knowing the batch size.

Converters see one node at a time through :class:`NodeContext`: typed attribute access with
ONNX defaults, activations and constants by input position, ``emit`` to add IR nodes, and
``unsupported``/``malformed`` to build errors that name the node, its op type and the opset.

A known value may carry a fixed-point ``type``: a weight quantized by a QONNX ``Quant`` holds
exactly the quantized values, and converters that only move such values into an IR constant
(transpose, drop a batch axis) pass the type on, so ``quantize.configure`` keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.ops import Op, TransposeAttrs
from ...ir.types import FLOAT32, TensorType

DEFAULT_DOMAINS = ("", "ai.onnx")


class _BatchDim:
    """The symbolic batch size inside a known shape tensor."""

    _instance: _BatchDim | None = None

    def __new__(cls) -> _BatchDim:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "batch"


BATCH = _BatchDim()


def has_batch_symbol(arr: np.ndarray) -> bool:
    return arr.dtype == object and any(v is BATCH for v in arr.flat)


@dataclass
class Tensor:
    """What one ONNX tensor name stands for: an IR activation or a known array.

    ``type`` is set on a known array that holds exactly the values of that fixed-point type
    (the output of a quantizer applied to a weight); ``None`` means plain float.
    """

    value: str | None = None
    known: np.ndarray | None = None
    type: TensorType | None = None
    # ``whole``: a batch-1 model moved its batch axis inside the tensor (keras2onnx's
    # ``Transpose(1, 0)``); the IR value's shape is then the *whole* ONNX shape, its own IR
    # batch being the real (static) batch of 1. Only converters that know it read such values.
    whole: bool = False


@dataclass
class ImportContext:
    """State shared by all converters while one model is imported."""

    graph: Graph
    opset: int  # of the default ONNX domain
    tensors: dict[str, Tensor] = field(default_factory=dict)
    reserved: set[str] = field(default_factory=set)  # ONNX tensor names: helpers avoid them
    node_names: set[str] = field(default_factory=set)
    fixed_batch: int | None = None  # the batch size baked into the inputs, if any
    domain_opsets: dict[str, int] = field(default_factory=dict)  # other domains' opset imports

    def opset_of(self, domain: str) -> int:
        """The opset a node of ``domain`` follows (custom domains default to version 1)."""
        if domain in DEFAULT_DOMAINS:
            return self.opset
        return self.domain_opsets.get(domain, 1)

    def fresh(self, base: str) -> str:
        """A value name not used by the IR graph nor by any ONNX tensor."""
        name, i = base, 1
        while name in self.graph.values or name in self.reserved:
            name = f"{base}_{i}"
            i += 1
        return name

    def node_name(self, base: str) -> str:
        name, i = base, 1
        while name in self.node_names:
            name = f"{base}_{i}"
            i += 1
        self.node_names.add(name)
        return name

    def constant(self, base: str, data: np.ndarray, type: TensorType | None = None) -> str:
        """Add an IR constant; returns its name.

        Float constants are stored as float32. A constant with a fixed-point ``type`` holds
        exact values of that type: float32 when that is exact (always for up to 24 bits),
        else float64, so the value is never rounded on its way into the IR.
        """
        name = self.fresh(base)
        if type is None:
            self.graph.add_constant(name, np.asarray(data, dtype=np.float32))
        else:
            self.graph.add_constant(name, exact_float(data), type)
        return name


def exact_float(data: np.ndarray) -> np.ndarray:
    """``data`` as float32 when that loses nothing, else as float64."""
    f64 = np.asarray(data, dtype=np.float64)
    f32 = f64.astype(np.float32)
    return f32 if np.array_equal(f32.astype(np.float64), f64) else f64


_REQUIRED = object()


class NodeContext:
    """One ONNX node as a converter sees it."""

    def __init__(self, ctx: ImportContext, node: onnx.NodeProto) -> None:
        self.ctx = ctx
        self.node = node
        self.op_type = node.op_type
        self.domain = node.domain
        self.opset = ctx.opset_of(node.domain)
        self.name = node.name or (node.output[0] if node.output else node.op_type)
        self._attrs = {a.name: a for a in node.attribute}

    # ------------------------------------------------------------------ errors

    def where(self) -> str:
        domain = "" if self.domain in DEFAULT_DOMAINS else f"{self.domain} "
        return f"node {self.name!r} ({self.op_type}, {domain}opset {self.opset})"

    def unsupported(self, message: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.where()}: {message}")

    def malformed(self, message: str) -> ModelFormatError:
        return ModelFormatError(f"{self.where()}: {message}")

    # ------------------------------------------------------------------ attributes

    def attr(self, name: str, default: Any = _REQUIRED) -> Any:
        """An attribute's value (bytes decoded to str, lists as tuples), or ``default``."""
        a = self._attrs.get(name)
        if a is None:
            if default is _REQUIRED:
                raise self.malformed(f"required attribute {name!r} is missing")
            return default
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            return v.decode("utf-8", errors="replace")
        if isinstance(v, list):
            return tuple(x.decode("utf-8", errors="replace") if isinstance(x, bytes) else x for x in v)
        return v

    def ints(self, name: str, default: Any = _REQUIRED) -> tuple[int, ...] | None:
        v = self.attr(name, default)
        return None if v is None else tuple(int(i) for i in v)

    def has_attr(self, name: str) -> bool:
        return name in self._attrs

    # ------------------------------------------------------------------ inputs

    @property
    def n_inputs(self) -> int:
        return len(self.node.input)

    def has_input(self, i: int) -> bool:
        return i < len(self.node.input) and self.node.input[i] != ""

    def _tensor(self, i: int) -> Tensor:
        if not self.has_input(i):
            raise self.malformed(f"input {i} is missing")
        return self.ctx.tensors[self.node.input[i]]

    def known(self, i: int) -> np.ndarray | None:
        return self._tensor(i).known if self.has_input(i) else None

    def known_type(self, i: int) -> TensorType | None:
        """The fixed-point type of known input ``i`` (a quantized weight), else ``None``."""
        return self._tensor(i).type if self.has_input(i) else None

    def const(self, i: int, what: str) -> np.ndarray:
        """Input ``i`` as a known array; anything computed from the model input is unsupported."""
        k = self._tensor(i).known
        if k is None:
            raise self.unsupported(f"input {i} ({what}) must be a constant (an initializer or computable at import)")
        if has_batch_symbol(k):
            raise self.unsupported(f"input {i} ({what}) depends on the batch size")
        return k

    def const_floats(self, i: int, what: str) -> np.ndarray:
        """A known input as float64; NaN is a malformed model (infinities are left to the
        caller: they mean "no bound" for Clip, but are rejected as weights by ``constant``)."""
        raw = np.asarray(self.const(i, what))
        if raw.dtype.kind not in "biuf":
            raise self.malformed(f"input {i} ({what}) has non-numeric type {raw.dtype}")
        with np.errstate(invalid="ignore"):  # signalling NaNs raise FE_INVALID when widened
            data = raw.astype(np.float64)
        if np.isnan(data).any():
            raise self.malformed(f"input {i} ({what}) contains NaN")
        return data

    def act(self, i: int, *, allow_whole: bool = False) -> str:
        """Input ``i`` as an IR activation value (``allow_whole``: also one whose batch axis
        was moved inside, see :attr:`Tensor.whole`)."""
        t = self._tensor(i)
        if t.value is None:
            raise self.unsupported(f"input {i} is a constant where hlsforge needs the model input flowing in")
        if t.whole and not allow_whole:
            raise self.unsupported(
                f"input {i} has the batch axis moved away from axis 0 by an earlier Transpose/Flatten; only "
                "Transpose, Flatten, Reshape and BatchNormalization may follow until the batch is first again"
            )
        return t.value

    def is_whole(self, i: int) -> bool:
        """Whether activation input ``i`` carries the batch-1 axis inside (:attr:`Tensor.whole`)."""
        return self._tensor(i).whole

    def full_shape(self, i: int) -> tuple[int, ...]:
        """The whole ONNX shape of activation input ``i``; a batch-first input shows its batch
        as the model's static batch (1 when the model bakes it in, else ``-1``)."""
        v = self.ctx.graph.values[self.act(i, allow_whole=True)].shape
        if self.is_whole(i):
            return tuple(v)
        return (self.ctx.fixed_batch if self.ctx.fixed_batch is not None else -1, *v)

    def shape(self, i: int) -> tuple[int, ...]:
        """Shape (batch excluded, ONNX layout) of activation input ``i``."""
        return self.ctx.graph.values[self.act(i)].shape

    def output_used(self, i: int) -> bool:
        return i < len(self.node.output) and self.node.output[i] != ""

    # ------------------------------------------------------------------ outputs

    def emit(self, op: Op, inputs: list[str], attrs: Any = None, *, out: int | None = None, tag: str = "") -> str:
        """Add one IR node for this ONNX node; ``out=i`` makes it produce ONNX output ``i``
        (same name), otherwise its output is a helper value. Returns the output value name."""
        base = self.name if not tag else f"{self.name}__{tag}"
        if out is not None:
            outputs = [self.node.output[out]]
        else:
            outputs = [self.ctx.fresh(f"{self.node.output[0] if self.node.output else self.name}__{tag or op.value.lower()}")]
        self.ctx.graph.add_node(
            op, inputs, outputs, attrs, name=self.ctx.node_name(base), source_name=self.name, source_op=self.op_type
        )
        if out is not None:
            self.ctx.tensors[self.node.output[out]] = Tensor(value=outputs[0])
        return outputs[0]

    def bind_known(self, i: int, data: np.ndarray, type: TensorType | None = None) -> None:
        self.ctx.tensors[self.node.output[i]] = Tensor(known=np.asarray(data), type=type)

    def constant(self, tag: str, data: np.ndarray, type: TensorType | None = None) -> str:
        """Add a weight for this node as an IR constant (finite; float32, or exact values of
        the fixed-point ``type`` when the weight was quantized in the model)."""
        with np.errstate(over="ignore", invalid="ignore"):
            f32 = np.asarray(data, dtype=np.float32)
        if not np.isfinite(f32).all():
            raise self.malformed(f"the {tag} has NaN or infinite values (or values beyond float32)")
        if type is None or type == FLOAT32:
            return self.ctx.constant(f"{self.name}__{tag}", f32)
        return self.ctx.constant(f"{self.name}__{tag}", np.asarray(data), type)

    # ------------------------------------------------------------------ layout

    def to_channels_last(self, value: str) -> str:
        """``(C, *spatial) -> (*spatial, C)`` (batch excluded) with an IR Transpose."""
        r = len(self.ctx.graph.values[value].shape)
        perm = tuple(range(1, r)) + (0,)
        return self.emit(Op.TRANSPOSE, [value], TransposeAttrs(perm), tag="to_channels_last")

    def to_channels_first(self, value: str, *, out: int | None = 0) -> str:
        """``(*spatial, C) -> (C, *spatial)``, by default producing ONNX output 0."""
        r = len(self.ctx.graph.values[value].shape)
        perm = (r - 1,) + tuple(range(r - 1))
        return self.emit(Op.TRANSPOSE, [value], TransposeAttrs(perm), out=out, tag="to_channels_first")
