"""QONNX channels-last ops (domain ``qonnx.custom_op.channels_last``).

QONNX's ``ConvertToChannelsLastAndClean`` rewrites Conv, MaxPool, AveragePool and
BatchNormalization into this domain: the same ONNX op and attributes, applied to a
channels-last tensor ``(N, *spatial, C)``; for Conv the weight is channels-last too,
``(C_out, *kernel, C_in/group)``. QONNX executes them by transposing to channels-first,
running the standard op and transposing back — which is exactly what is imported here: the
IR Transposes around the standard converter's own layout changes cancel in the
``compose_transposes`` pass, so nothing is left of them in the lowered model.
"""

from __future__ import annotations

import numpy as np
import onnx

from ...ir.ops import Op, TransposeAttrs
from .context import NodeContext, Tensor
from .registry import lookup

CHANNELS_LAST_DOMAIN = "qonnx.custom_op.channels_last"
CHANNELS_LAST_OPS = ("Conv", "MaxPool", "AveragePool", "BatchNormalization")


def is_channels_last(nc: NodeContext) -> bool:
    return nc.domain == CHANNELS_LAST_DOMAIN


def convert_channels_last(nc: NodeContext) -> None:
    """Translate one channels-last op through the standard converter of the same op."""
    if nc.op_type not in CHANNELS_LAST_OPS:
        raise nc.unsupported(
            f"channels-last op {nc.op_type} is not supported (only {', '.join(CHANNELS_LAST_OPS)} of domain "
            f"{CHANNELS_LAST_DOMAIN!r})"
        )
    if len([o for o in nc.node.output if o]) != 1:
        raise nc.unsupported("channels-last ops have exactly one output")
    ctx = nc.ctx
    x = nc.act(0)
    rank = len(ctx.graph.values[x].shape)
    if rank < 2:
        raise nc.malformed(f"a channels-last {nc.op_type} needs (N, *spatial, C), got batch + {ctx.graph.values[x].shape}")
    inputs = list(nc.node.input)
    # activation: (*spatial, C) -> (C, *spatial)
    x_first = nc.emit(Op.TRANSPOSE, [x], TransposeAttrs((rank - 1,) + tuple(range(rank - 1))), tag="from_channels_last")
    inputs[0] = _bind(nc, "x_channels_first", Tensor(value=x_first))
    if nc.op_type == "Conv":
        w = np.asarray(nc.const(1, "W"))
        if w.ndim < 3:
            raise nc.malformed(f"channels-last Conv weight {w.shape} needs (C_out, *kernel, C_in)")
        w_first = np.transpose(w, (0, w.ndim - 1) + tuple(range(1, w.ndim - 1)))
        inputs[1] = _bind(nc, "W_channels_first", Tensor(known=w_first, type=nc.known_type(1)))
    y_first = ctx.fresh(f"{nc.node.output[0]}__channels_first")
    ctx.reserved.add(y_first)
    node = onnx.NodeProto()
    node.CopyFrom(nc.node)
    node.domain = ""
    del node.input[:]
    node.input.extend(inputs)
    del node.output[:]
    node.output.append(y_first)
    inner = NodeContext(ctx, node)
    convert = lookup(node.op_type, inner.opset)
    if convert is None:  # pragma: no cover - the four ops are always registered
        raise nc.unsupported(f"no converter for {node.op_type} at opset {inner.opset}")
    convert(inner)
    y = ctx.tensors[y_first].value
    assert y is not None
    r = len(ctx.graph.values[y].shape)
    nc.emit(Op.TRANSPOSE, [y], TransposeAttrs(tuple(range(1, r)) + (0,)), out=0, tag="to_channels_last")


def _bind(nc: NodeContext, tag: str, tensor: Tensor) -> str:
    name = nc.ctx.fresh(f"{nc.name}__{tag}")
    nc.ctx.reserved.add(name)
    nc.ctx.tensors[name] = tensor
    return name
