"""``load_onnx``: translate an ONNX model into a legalized, validated IR graph.

Steps: read and check the file (``reader``), bind initializers as known values, declare the
inputs (the first axis is the batch, every other axis must be static), translate node by node
(known inputs are folded, others go to the op's versioned converter; QONNX quantizers go to
``convert_qonnx``, which also handles quantized weights), then run the shared passes (``hlsforge.ir.passes.legalize``). Nothing is returned half-built: any problem raises an
``HlsforgeError`` naming the node, its op type and the opset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from ...errors import HlsforgeError, ModelFormatError, ShapeError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.passes import legalize
from . import (  # noqa: F401 - register converters
    convert_elementwise,
    convert_index,
    convert_math,
    convert_nn,
    convert_recurrent,
    convert_reduce,
    convert_select,
    convert_shape,
    convert_spatial,
)
from .attention_layout import absorb_attention_layout
from .context import DEFAULT_DOMAINS, ImportContext, NodeContext, Tensor, has_batch_symbol
from .convert_channels_last import CHANNELS_LAST_DOMAIN, convert_channels_last, is_channels_last
from .convert_qonnx import QONNX_DOMAINS, convert_qonnx, is_qonnx
from .fold import fold_known, fold_shape
from .reader import default_opset, domain_opsets, read_model, sorted_nodes, upgrade_old_opset
from .registry import lookup, supported_ops
from .sequence_layout import absorb_sequence_layout

_FLOAT_INPUTS = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
# errors numpy/onnx raise on malformed attributes or tensors inside a converter
_MALFORMED = (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError)


def load_onnx(
    model: str | os.PathLike[str] | bytes | onnx.ModelProto,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    name: str | None = None,
) -> Graph:
    """Import an ONNX model (path, bytes or ``ModelProto``) into hlsforge's IR.

    ``input_shapes`` gives the per-sample shape (batch excluded, ONNX layout) of inputs whose
    non-batch dimensions are dynamic in the file. The returned graph is legalized and
    validated; for channels-first models ``graph.input_perm``/``output_perm`` record the
    layout so that ``reference.run(graph, x)`` takes and returns arrays laid out as in ONNX.
    """
    proto, source = read_model(model)
    if not proto.HasField("graph"):
        raise ModelFormatError(f"{source} has no graph (not an ONNX model, or truncated)")
    proto, upgrade_note = upgrade_old_opset(proto, source)
    opset = default_opset(proto, source)
    nodes = sorted_nodes(proto.graph, source)
    nodes = absorb_sequence_layout(proto.graph, nodes, opset)  # recurrent layout=0 (docs/ir.md)
    nodes, why_not = absorb_attention_layout(proto.graph, nodes, opset)  # batch folded into other axes
    graph = Graph(name or proto.graph.name or (Path(source).stem if not source.startswith("<") else "model"))
    graph.source_format = "onnx"
    graph.metadata.update(
        {"opset": opset, "ir_version": int(proto.ir_version), "producer": proto.producer_name or ""}
    )
    if upgrade_note is not None:
        graph.metadata.setdefault("notes", []).append(upgrade_note)
    ctx = ImportContext(graph, opset, domain_opsets=domain_opsets(proto, source))
    ctx.reserved = _all_names(proto.graph)
    _bind_initializers(ctx, proto.graph)
    _declare_inputs(ctx, proto.graph, dict(input_shapes or {}))
    try:
        for node in nodes:
            _convert(ctx, node)
        _declare_outputs(ctx, proto.graph)
    except HlsforgeError as e:
        if why_not is None:
            raise
        raise type(e)(f"{e} (the batch could not be moved back to axis 0 either: {why_not})") from None
    return legalize(graph)


def _all_names(g: onnx.GraphProto) -> set[str]:
    names = {t.name for t in g.initializer} | {v.name for v in g.input} | {v.name for v in g.output}
    for n in g.node:
        names.update(n.input)
        names.update(n.output)
    names.discard("")
    return names


def _bind_initializers(ctx: ImportContext, g: onnx.GraphProto) -> None:
    for t in g.initializer:
        try:
            data = numpy_helper.to_array(t)
        except Exception as e:  # noqa: BLE001 - numpy_helper raises many types on bad tensors
            raise ModelFormatError(f"initializer {t.name!r} cannot be read ({type(e).__name__}: {e})") from None
        ctx.tensors[t.name] = Tensor(known=np.asarray(data))


def _declare_inputs(ctx: ImportContext, g: onnx.GraphProto, overrides: dict[str, Sequence[int]]) -> None:
    batches = set()
    for vi in g.input:
        if vi.name in ctx.tensors:  # an initializer listed as input (IR version < 4 exporters)
            continue
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            raise UnsupportedOpError(f"model input {vi.name!r} is not a tensor (sequence/map inputs are not supported)")
        if tt.elem_type not in _FLOAT_INPUTS:
            kind = TensorProto.DataType.Name(tt.elem_type) if tt.elem_type in TensorProto.DataType.values() else tt.elem_type
            raise UnsupportedOpError(f"model input {vi.name!r} has element type {kind}; hlsforge models take float inputs")
        if not tt.HasField("shape") or len(tt.shape.dim) == 0:
            raise ShapeError(f"model input {vi.name!r} has no shape with a batch axis; re-export with a static input shape")
        dims = list(tt.shape.dim)
        if dims[0].HasField("dim_value"):
            batches.add(int(dims[0].dim_value))
        if vi.name in overrides:
            shape = tuple(int(d) for d in overrides[vi.name])
            if len(shape) != len(dims) - 1 or any(d < 1 for d in shape):
                raise ShapeError(f"input_shapes[{vi.name!r}] = {shape} must give {len(dims) - 1} positive sizes (batch excluded)")
        else:
            shape = tuple(_static_dim(vi.name, i, d) for i, d in enumerate(dims[1:], 1))
        ctx.graph.add_input(vi.name, shape)
        ctx.tensors[vi.name] = Tensor(value=vi.name)
    if not ctx.graph.inputs:
        raise ModelFormatError("the model has no inputs (every graph input is an initializer)")
    if len(batches) == 1:
        ctx.fixed_batch = batches.pop()
        ctx.graph.metadata["batch_size"] = ctx.fixed_batch


def _static_dim(name: str, axis: int, dim: onnx.TensorShapeProto.Dimension) -> int:
    if dim.HasField("dim_value") and dim.dim_value > 0:
        return int(dim.dim_value)
    what = repr(dim.dim_param) if dim.HasField("dim_param") else "unknown"
    hint = ""
    if axis == 1:  # torch's sequence-first layout puts the batch on axis 1
        hint = (" (a sequence-first input, e.g. of nn.TransformerEncoderLayer or nn.MultiheadAttention with "
                "batch_first=False, has its batch here: hlsforge needs it first, export with batch_first=True)")
    raise ShapeError(
        f"model input {name!r}: axis {axis} is dynamic ({what}); only the first (batch) axis may be{hint}. "
        f"Pass input_shapes={{{name!r}: (...)}} or re-export with a static shape"
    )


def _convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
    nc = NodeContext(ctx, node)
    try:
        _dispatch(nc)
    except HlsforgeError as e:
        if nc.name not in str(e):
            raise type(e)(f"{nc.where()}: {e}") from None
        raise
    except _MALFORMED as e:
        raise ModelFormatError(f"{nc.where()}: malformed node ({type(e).__name__}: {e})") from e


def _dispatch(nc: NodeContext) -> None:
    node = nc.node
    if is_qonnx(nc):
        convert_qonnx(nc)
        return
    if is_channels_last(nc):
        convert_channels_last(nc)
        return
    if node.domain not in DEFAULT_DOMAINS:
        raise nc.unsupported(
            f"op {node.op_type} of domain {node.domain!r} is not supported (only the default ONNX domain, "
            f"the QONNX quantizers of {', '.join(QONNX_DOMAINS)} and the {CHANNELS_LAST_DOMAIN} ops)"
        )
    inputs = [i for i in node.input if i]
    if node.op_type == "Shape" and inputs and nc.known(0) is None:
        fold_shape(nc)
        return
    if all(nc.ctx.tensors[i].known is not None for i in inputs) and node.op_type not in _NEVER_FOLD:
        fold_known(nc)
        return
    convert = lookup(node.op_type, nc.opset)
    if convert is None:
        raise nc.unsupported(
            f"op {node.op_type} is not supported by hlsforge's ONNX frontend. Supported ops: {', '.join(supported_ops())}"
        )
    convert(nc)


# ops with no inputs that are not constants (random generators) are left to their converter,
# which does not exist, so they are reported as unsupported
_NEVER_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}


def _declare_outputs(ctx: ImportContext, g: onnx.GraphProto) -> None:
    for vi in g.output:
        t = ctx.tensors[vi.name]
        if t.whole:
            raise UnsupportedOpError(f"graph output {vi.name!r} does not have the batch axis first (moved by a Transpose)")
        if t.value is None:
            what = "the batch size" if t.known is not None and has_batch_symbol(t.known) else "no model input"
            raise UnsupportedOpError(f"graph output {vi.name!r} depends on {what}: it is a constant, not a model output")
        ctx.graph.outputs.append(t.value)

