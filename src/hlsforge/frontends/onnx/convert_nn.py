"""Converters for the layers with weights and windows: Gemm, MatMul, Conv, pooling, BatchNorm.

ONNX is channels-first; the IR is channels-last. Window ops (Conv, pools, BatchNorm on
feature maps) are emitted between a "to channels-last" and a "back to channels-first"
Transpose, so every ONNX tensor keeps its ONNX layout in the IR while the import runs; the
layout passes then cancel the Transposes that meet.

A weight or bias quantized in the model (a QONNX ``Quant`` on an initializer) keeps its
fixed-point type on the IR constant whenever the converter only moves its values; a scaling
by ``alpha``/``beta`` other than 1 makes it a plain float weight again.
"""

from __future__ import annotations

import numpy as np

from ...ir.ops import ConvAttrs, GlobalPoolAttrs, NoAttrs, Op, PoolAttrs, ReshapeAttrs
from . import batch_one
from .context import NodeContext
from .convert_reduce import reduce_generic
from .registry import converter

Pads = tuple[tuple[int, int], ...]


# ----------------------------------------------------------------------------- dense


@converter("Gemm", 1)
def _gemm(nc: NodeContext) -> None:
    """``Y = alpha * A' @ B' + beta * C`` with A the activation, B and C constants."""
    x = nc.act(0)
    if len(nc.shape(0)) != 1:
        raise nc.malformed(f"Gemm input A must be 2-D (batch, K), got batch + {nc.shape(0)}")
    if nc.attr("transA", 0):
        raise nc.unsupported("transA=1 would move the batch axis; export with the batch first")
    b = nc.const_floats(1, "B")
    if b.ndim != 2:
        raise nc.malformed(f"Gemm input B must be 2-D, got shape {b.shape}")
    w = b.T if nc.attr("transB", 0) else b
    alpha, beta = float(nc.attr("alpha", 1.0)), float(nc.attr("beta", 1.0))
    kernel = alpha * w
    kernel_t = nc.known_type(1) if alpha == 1.0 else None
    n_out = kernel.shape[1]
    bias = np.zeros(n_out)
    bias_t = None
    if nc.has_input(2):
        c = nc.const_floats(2, "C")
        if c.ndim == 2:
            if c.shape[0] != 1:
                raise nc.unsupported(f"bias C of shape {c.shape} differs per batch row; only (N_out,) or (1, N_out) biases are supported")
            c = c[0]
        if c.ndim > 2 or c.size not in (1, n_out):
            raise nc.malformed(f"bias C of shape {c.shape} does not broadcast to ({n_out},)")
        bias = beta * np.broadcast_to(c.reshape(-1), (n_out,))
        bias_t = nc.known_type(2) if beta == 1.0 else None
    nc.emit(Op.DENSE, [x, nc.constant("kernel", kernel, kernel_t), nc.constant("bias", bias, bias_t)], out=0)


@converter("MatMul", 1)
def _matmul(nc: NodeContext) -> None:
    """``x @ W`` with W a constant matrix -> transient MatMul (the passes make it a Dense)."""
    if nc.known(0) is None and nc.known(1) is None:
        from .convert_math import batch_matmul

        batch_matmul(nc)  # two activations (attention): issue 12
        return
    if nc.known(0) is not None:
        raise nc.unsupported("the left operand is a constant and the right one the model input; only x @ W is supported")
    x = nc.act(0)
    w = nc.const_floats(1, "B")
    if w.ndim != 2 or len(nc.shape(0)) < 1:
        raise nc.unsupported(f"only (batch, ..., K) @ (K, N) is supported, got batch + {nc.shape(0)} @ {w.shape}")
    nc.emit(Op.MATMUL, [x, nc.constant("matrix", w, nc.known_type(1))], NoAttrs(), out=0)


# ----------------------------------------------------------------------------- windows


def _spatial(nc: NodeContext, what: str) -> int:
    """Number of spatial dims of input 0 (1 or 2), or an error naming the node."""
    nsp = len(nc.shape(0)) - 1
    if nsp not in (1, 2, 3):
        raise nc.unsupported(f"{what} on a rank-{nsp + 2} tensor: only 1D (N, C, L), 2D (N, C, H, W) and 3D "
                             "(N, C, D, H, W) are supported")
    return nsp


def _explicit_pads(nc: NodeContext, sizes: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...],
                   dilations: tuple[int, ...]) -> Pads:
    """Pads from ``auto_pad`` (SAME_UPPER/SAME_LOWER/VALID) or the ``pads`` attribute."""
    nsp = len(sizes)
    auto = nc.attr("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = nc.ints("pads", (0,) * (2 * nsp))
        if pads is None or len(pads) != 2 * nsp:
            raise nc.malformed(f"pads {pads} must list {2 * nsp} values (begins, then ends)")
        return tuple((pads[i], pads[i + nsp]) for i in range(nsp))
    if auto == "VALID":
        return ((0, 0),) * nsp
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for i in range(nsp):
            n_out = -(-sizes[i] // strides[i])
            total = max((n_out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - sizes[i], 0)
            small = total // 2
            out.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        return tuple(out)
    raise nc.malformed(f"unknown auto_pad {auto!r}")


def _window(nc: NodeContext, nsp: int, name: str, default: int) -> tuple[int, ...]:
    v = nc.ints(name, (default,) * nsp)
    if v is None or len(v) != nsp:
        raise nc.malformed(f"{name} {v} must have {nsp} values")
    return v


@converter("Conv", 1)
def _conv(nc: NodeContext) -> None:
    x = nc.act(0)
    nsp = _spatial(nc, "Conv")
    c_in, *sizes = nc.shape(0)
    w = nc.const_floats(1, "W")
    if w.ndim != nsp + 2:
        raise nc.malformed(f"weight shape {w.shape} does not fit a {nsp}D convolution")
    kernel = nc.ints("kernel_shape", tuple(w.shape[2:]))
    if kernel != tuple(w.shape[2:]):
        raise nc.malformed(f"kernel_shape {kernel} does not match the weight shape {w.shape}")
    strides = _window(nc, nsp, "strides", 1)
    dilations = _window(nc, nsp, "dilations", 1)
    group = int(nc.attr("group", 1))
    pads = _explicit_pads(nc, tuple(sizes), kernel, strides, dilations)  # type: ignore[arg-type]
    bias = nc.const_floats(2, "B") if nc.has_input(2) else np.zeros(w.shape[0])
    bias_t = nc.known_type(2) if nc.has_input(2) else None
    if w.shape[1] * group != c_in:
        raise nc.malformed(f"weight shape {w.shape} with group={group} does not fit {c_in} input channels")
    # (C_out, C_in/g, *K) -> (*K, C_in/g, C_out)
    k = np.transpose(w, tuple(range(2, 2 + nsp)) + (1, 0))
    attrs = ConvAttrs(tuple(kernel), strides, dilations, pads, group)  # type: ignore[arg-type]
    y = nc.emit((Op.CONV1D, Op.CONV2D, Op.CONV3D)[nsp - 1],
                [nc.to_channels_last(x), nc.constant("kernel", k, nc.known_type(1)), nc.constant("bias", bias, bias_t)],
                attrs)
    nc.to_channels_first(y)


def _pool(nc: NodeContext, op1: Op, op2: Op, *, avg: bool) -> None:
    x = nc.act(0)
    nsp = _spatial(nc, nc.op_type)
    _, *sizes = nc.shape(0)
    kernel = nc.ints("kernel_shape")
    if kernel is None or len(kernel) != nsp:
        raise nc.malformed(f"kernel_shape {kernel} must have {nsp} values")
    strides = _window(nc, nsp, "strides", 1)
    dilations = _window(nc, nsp, "dilations", 1)
    if any(d != 1 for d in dilations):
        raise nc.unsupported(f"dilated pooling (dilations={dilations}) is not supported")
    if nc.output_used(1):
        raise nc.unsupported("the Indices output of MaxPool is not supported")
    pads = _explicit_pads(nc, tuple(sizes), kernel, strides, dilations)
    attrs = PoolAttrs(kernel, strides, pads, bool(nc.attr("ceil_mode", 0)),
                      bool(nc.attr("count_include_pad", 0)) if avg else False)
    op3 = Op.AVGPOOL3D if avg else Op.MAXPOOL3D
    y = nc.emit((op1, op2, op3)[nsp - 1], [nc.to_channels_last(x)], attrs)
    nc.to_channels_first(y)


@converter("MaxPool", 1)
def _maxpool(nc: NodeContext) -> None:
    _pool(nc, Op.MAXPOOL1D, Op.MAXPOOL2D, avg=False)


@converter("AveragePool", 1)
def _avgpool(nc: NodeContext) -> None:
    _pool(nc, Op.AVGPOOL1D, Op.AVGPOOL2D, avg=True)


def _global_pool(nc: NodeContext, op: Op) -> None:
    """Pool to ``(C,)`` channels-last, then Reshape to ONNX's ``(C, 1, ..., 1)``."""
    x = nc.act(0)
    shape = nc.shape(0)
    if len(shape) < 2:
        raise nc.unsupported(f"global pooling needs (N, C, spatial...), got batch + {shape}")
    y = nc.emit(op, [nc.to_channels_last(x)], GlobalPoolAttrs(keepdims=False))
    nc.emit(Op.RESHAPE, [y], ReshapeAttrs((shape[0],) + (1,) * (len(shape) - 1)), out=0)


@converter("GlobalAveragePool", 1)
def _global_avgpool(nc: NodeContext) -> None:
    _global_pool(nc, Op.GLOBAL_AVGPOOL)


@converter("GlobalMaxPool", 1)
def _global_maxpool(nc: NodeContext) -> None:
    _global_pool(nc, Op.GLOBAL_MAXPOOL)


def _reduce_mean(nc: NodeContext, axes: tuple[int, ...] | None) -> None:
    """``ReduceMean`` over every spatial axis is a global average pool.

    Channels-first ``(N, C, *spatial)`` with axes ``2..r-1`` (PyTorch's ``x.mean((2, 3))``)
    pools like ``GlobalAveragePool``; channels-last ``(N, *spatial, C)`` with axes ``1..r-2``
    (tf2onnx's Keras ``GlobalAveragePooling``) is already in the IR's layout. ``keepdims``
    keeps the reduced axes as size 1. Other axis sets are not supported.
    """
    x = nc.act(0)
    shape = nc.shape(0)
    rank = len(shape) + 1
    if axes is None:
        raise nc.unsupported("ReduceMean over every axis would average across the batch; give the spatial axes")
    if any(not -rank <= a < rank for a in axes):
        raise nc.malformed(f"axes {axes} are outside a rank-{rank} tensor")
    reduced = sorted({a % rank for a in axes})
    keepdims = bool(nc.attr("keepdims", 1))
    if rank >= 3 and reduced == list(range(2, rank)):
        x_last = nc.to_channels_last(x)
        if not keepdims:
            nc.emit(Op.GLOBAL_AVGPOOL, [x_last], GlobalPoolAttrs(keepdims=False), out=0)
            return
        y = nc.emit(Op.GLOBAL_AVGPOOL, [x_last], GlobalPoolAttrs(keepdims=False))
        nc.emit(Op.RESHAPE, [y], ReshapeAttrs((shape[0],) + (1,) * (len(shape) - 1)), out=0)
        return
    if rank >= 3 and reduced == list(range(1, rank - 1)):
        nc.emit(Op.GLOBAL_AVGPOOL, [x], GlobalPoolAttrs(keepdims=keepdims), out=0)
        return
    reduce_generic(nc, "mean", tuple(reduced), keepdims)  # other axes: transpose + pool (convert_reduce)


@converter("ReduceMean", 1)
def _reduce_mean_v1(nc: NodeContext) -> None:
    """Opsets 1-17: ``axes`` is an attribute (absent: every axis)."""
    _reduce_mean(nc, nc.ints("axes", None))


@converter("ReduceMean", 18)
def _reduce_mean_v18(nc: NodeContext) -> None:
    """Opset 18+: ``axes`` is an optional constant input; empty axes with
    ``noop_with_empty_axes=1`` is the identity."""
    axes = tuple(int(a) for a in nc.const(1, "axes").reshape(-1)) if nc.has_input(1) else ()
    if not axes:
        if nc.attr("noop_with_empty_axes", 0):
            nc.emit(Op.IDENTITY, [nc.act(0)], NoAttrs(), out=0)
            return
        _reduce_mean(nc, None)
        return
    _reduce_mean(nc, axes)


# ----------------------------------------------------------------------------- batch norm


def _batchnorm(nc: NodeContext) -> None:
    """Inference BatchNormalization as ``x * scale + bias`` over the channel axis (axis 1)."""
    whole = nc.is_whole(0)
    x = nc.act(0, allow_whole=whole)
    shape = nc.full_shape(0)[1:]
    if not shape:
        raise nc.malformed("BatchNormalization needs a channel axis")
    if any(nc.output_used(i) for i in range(1, len(nc.node.output))):
        raise nc.unsupported("training outputs (running mean/var) are not supported; export in eval mode")
    gamma, beta, mean, var = (nc.const_floats(i, w) for i, w in enumerate(("scale", "B", "mean", "var"), 1))
    c = shape[0]
    if any(p.shape != (c,) for p in (gamma, beta, mean, var)):
        raise nc.malformed(f"parameters {[p.shape for p in (gamma, beta, mean, var)]} must all be ({c},)")
    eps = float(nc.attr("epsilon", 1e-5))
    if not np.all(var + eps > 0):
        raise nc.malformed(f"variance + epsilon must be positive, got min {np.min(var + eps)}")
    scale = gamma / np.sqrt(var + eps)
    bias = beta - mean * scale
    params = [nc.constant("scale", scale), nc.constant("bias", bias)]
    if whole:
        batch_one.batchnorm(nc, *params)
        return
    if len(shape) == 1:
        nc.emit(Op.BATCHNORM, [x] + params, NoAttrs(), out=0)
        return
    y = nc.emit(Op.BATCHNORM, [nc.to_channels_last(x)] + params, NoAttrs())
    nc.to_channels_first(y)


@converter("BatchNormalization", 7)
def _batchnorm_v7(nc: NodeContext) -> None:
    if not nc.attr("spatial", 1) and len(nc.full_shape(0)) > 2:
        raise nc.unsupported("spatial=0 (per-position statistics) is not supported")
    _batchnorm(nc)


@converter("BatchNormalization", 9)
def _batchnorm_v9(nc: NodeContext) -> None:
    _batchnorm(nc)


@converter("BatchNormalization", 14)
def _batchnorm_v14(nc: NodeContext) -> None:
    if nc.attr("training_mode", 0):
        raise nc.unsupported("training_mode=1 is not supported; export the model in eval mode")
    _batchnorm(nc)

