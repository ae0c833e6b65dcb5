"""Index ops (Slice, Gather): every output element is one input element.

One function says, for one event, which flat input element each output element reads; every
consumer builds its rule from it (the float reference and the emulator index the array, the
HLS backends emit it as a ``gather`` index table, the CPU backend as a constant index list),
so the ops cannot mean different things in different places. Values are copied unchanged:
the output type is the input type, and a fixed-point model rounds nothing here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .graph import Node
from .ops import GatherAttrs, Op, SliceAttrs

Shape = tuple[int, ...]


def _slice_index(attrs: SliceAttrs, shape: Shape) -> np.ndarray:
    src = np.arange(math.prod(shape)).reshape(shape)
    window = tuple(slice(a, None if b < 0 else b, c) for a, b, c in attrs.slices)
    return np.ascontiguousarray(src[window]).reshape(-1)


def _gather_index(attrs: GatherAttrs, shape: Shape) -> np.ndarray:
    src = np.arange(math.prod(shape)).reshape(shape)
    return np.take(src, np.asarray(attrs.indices, dtype=np.int64), axis=attrs.axis).reshape(-1)


INDEX_OPS: dict[Op, Callable[..., np.ndarray]] = {Op.SLICE: _slice_index, Op.GATHER: _gather_index}


def source_index(node: Node, shape: Shape, out_shape: Shape | None = None) -> np.ndarray:
    """Flat input index (per event, C order) read by each output element of ``node``."""
    return INDEX_OPS[node.op](node.attrs, tuple(shape)).astype(np.int64)


def apply(node: Node, x: np.ndarray) -> np.ndarray:
    """Apply an index op to a batched array ``(n, *shape)``."""
    idx = source_index(node, x.shape[1:])
    n = x.shape[0]
    out = x.reshape(n, -1)[:, idx]
    probe = np.empty(x.shape[1:], dtype=np.int8)
    return np.ascontiguousarray(out.reshape((n, *_out_shape(node, probe.shape))))


def _out_shape(node: Node, shape: Shape) -> Shape:
    from .ops import spec

    return spec(node.op).infer(node.attrs, [shape], [None])[0]
