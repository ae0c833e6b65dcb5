"""Float reference rules of the data-dependent selection ops and ReduceProd (issue 12):
TopK, GatherElements, ReduceProd. ``reference.RULES`` merges :data:`RULES`.

Indices are activations here (EdgeConv's k-NN: TopK indices feed a GatherElements), carried
as exact float32 integers, so they travel through Slice/Reshape/Transpose like any value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..ir.graph import Node
from ..ir.ops import AxisAttrs, Op, ReduceAttrs, TopKAttrs

Array = np.ndarray


def topk(node: Node, ins: Sequence[Array]) -> tuple[Array, Array]:
    """Sorted top-k along ``axis`` with ties broken by the lower index (ONNX's rule): a stable
    sort of the keys (negated for ``largest``; NaN ranks as +inf, in the CPU backend too)."""
    a: TopKAttrs = node.attrs
    x = np.asarray(ins[0], np.float32)
    ax = a.axis + 1
    key = x.astype(np.float64)
    key = np.where(np.isnan(key), np.inf, key)
    order = np.argsort(-key if a.largest else key, axis=ax, kind="stable")
    idx = np.take(order, np.arange(a.k), axis=ax)
    return np.take_along_axis(x, idx, axis=ax), idx.astype(np.float32)


def gather_elements(node: Node, ins: Sequence[Array]) -> Array:
    """``y[..., i, ...] = x[..., idx[..., i, ...], ...]`` along ``axis``; negative indices count
    from the end; an index outside ``[-n, n)`` (or not an integer) gives NaN, as in the CPU
    backend, rather than a wrong element."""
    a: AxisAttrs = node.attrs
    x = np.asarray(ins[0], np.float32)
    raw = np.asarray(ins[1], np.float64)
    raw = np.broadcast_to(raw, (x.shape[0],) + raw.shape[1:])  # constant indices: one copy for every event
    ax = a.axis + 1
    n = x.shape[ax]
    bad = ~((raw >= -n) & (raw < n) & (raw == np.floor(raw)))
    idx = np.where(bad, 0, raw).astype(np.int64)
    idx = np.where(idx < 0, idx + n, idx)
    xs = x[tuple(slice(0, d) for d in idx.shape[:ax]) + (slice(None),) + tuple(slice(0, d) for d in idx.shape[ax + 1 :])]
    y = np.take_along_axis(xs, idx, axis=ax)
    return np.where(bad, np.float32(np.nan), y).astype(np.float32)


def reduce_prod(node: Node, ins: Sequence[Array]) -> Array:
    a: ReduceAttrs = node.attrs
    x = np.asarray(ins[0], np.float64)
    return np.prod(x, axis=tuple(i + 1 for i in a.axes), keepdims=a.keepdims).astype(np.float32)


RULES: dict[Op, object] = {Op.TOPK: topk, Op.GATHER_ELEMENTS: gather_elements, Op.REDUCE_PROD: reduce_prod}
