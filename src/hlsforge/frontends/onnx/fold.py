"""Folding of nodes whose inputs are all known at import time.

Weights computed by small constant subgraphs (``Constant``, ``Transpose`` of a weight, ...)
and shape computations (``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``, as Keras and
PyTorch exports produce) are evaluated here, so that converters only ever see constants.
Nodes without the symbolic batch are evaluated by ONNX's own reference implementation
(``onnx.reference``, which covers every standard op); the few ops that shape chains apply to a
tensor holding the symbolic :data:`BATCH` are evaluated on object arrays below.

Ops that only move or select values (:data:`MOVES_VALUES`: a ``Transpose`` of a quantized
weight, as Brevitas exports put between ``Quant`` and ``MatMul``) keep the fixed-point type
of their data input.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ...ir.limits import MAX_TENSOR_ELEMENTS
from .context import BATCH, NodeContext, has_batch_symbol


def fold_shape(nc: NodeContext) -> None:
    """``Shape(x)`` of an activation: ``[batch, *dims]`` (``start``/``end`` from opset 15)."""
    full = np.array([BATCH, *nc.shape(0)], dtype=object)
    start, end = int(nc.attr("start", 0)), nc.attr("end", None)
    nc.bind_known(0, full[start : None if end is None else int(end)])


def fold_known(nc: NodeContext) -> None:
    """Evaluate a node whose inputs are all known and bind its outputs as known values."""
    inputs = [nc.known(i) for i in range(nc.n_inputs)]
    if any(v is not None and has_batch_symbol(v) for v in inputs):
        rule = SYMBOLIC.get(nc.op_type)
        if rule is None:
            raise nc.unsupported(
                f"{nc.op_type} applied to a shape that contains the batch size; hlsforge folds only "
                f"{', '.join(sorted(SYMBOLIC))} on such shapes"
            )
        nc.bind_known(0, rule(nc, inputs))
        return
    from onnx.reference import ReferenceEvaluator

    _check_output_size(nc, inputs)
    feeds = {name: v for name, v in zip(nc.node.input, inputs, strict=True) if name}
    try:
        evaluator = ReferenceEvaluator(nc.node, opsets={"": nc.opset})
        outputs = evaluator.run(None, feeds)
    except Exception as e:  # noqa: BLE001 - onnx.reference raises many types for bad nodes
        raise nc.malformed(f"cannot evaluate this node on its constant inputs ({type(e).__name__}: {e})") from e
    kept = nc.known_type(0) if nc.op_type in MOVES_VALUES else None
    for i, out in enumerate(outputs):
        _check_size(nc, math.prod(np.shape(out)), np.shape(out))
        if nc.output_used(i):
            nc.bind_known(i, np.asarray(out), kept if i == 0 else None)


def _check_size(nc: NodeContext, n: int, shape: object) -> None:
    if n > MAX_TENSOR_ELEMENTS:
        raise nc.malformed(
            f"its constant output {shape} would hold {n:,} elements, more than hlsforge's limit of "
            f"{MAX_TENSOR_ELEMENTS:,} per tensor (hlsforge.ir.limits)"
        )


def _check_output_size(nc: NodeContext, inputs: list[np.ndarray | None]) -> None:
    """Refuse, before allocating anything, the ops whose output size comes from a shape input."""
    try:
        if nc.op_type == "ConstantOfShape" and inputs and inputs[0] is not None:
            shape = [int(d) for d in np.asarray(inputs[0]).reshape(-1)]
        elif nc.op_type == "Expand" and len(inputs) > 1 and inputs[0] is not None and inputs[1] is not None:
            target = [int(d) for d in np.asarray(inputs[1]).reshape(-1)]
            data = list(np.shape(inputs[0]))
            rank = max(len(target), len(data))
            target, data = [1] * (rank - len(target)) + target, [1] * (rank - len(data)) + data
            shape = [max(abs(a), abs(b)) for a, b in zip(data, target, strict=True)]
        elif nc.op_type == "Tile" and len(inputs) > 1 and inputs[0] is not None and inputs[1] is not None:
            reps = [abs(int(r)) for r in np.asarray(inputs[1]).reshape(-1)]
            data = list(np.shape(inputs[0]))
            shape = [a * b for a, b in zip(data, reps, strict=True)] if len(reps) == len(data) else [*data, *reps]
        else:
            return
    except (TypeError, ValueError, OverflowError):
        return  # malformed inputs: the evaluator reports them
    _check_size(nc, math.prod(abs(d) for d in shape), tuple(shape))


MOVES_VALUES = frozenset({"Identity", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Gather"})
"""Ops whose output 0 holds only values of their data input 0 (so it keeps that input's type)."""


# ----------------------------------------------------------------------------- symbolic


def _ints(nc: NodeContext, values: np.ndarray | None, what: str) -> list[int]:
    if values is None or has_batch_symbol(values):
        raise nc.unsupported(f"{what} must be a constant")
    return [int(v) for v in np.asarray(values).reshape(-1)]


def _gather(nc: NodeContext, ins: list[np.ndarray | None]) -> np.ndarray:
    data, idx = ins[0], ins[1]
    return np.take(data, np.asarray(idx, dtype=np.int64), axis=int(nc.attr("axis", 0)))  # type: ignore[arg-type]


def _axes(nc: NodeContext, ins: list[np.ndarray | None]) -> list[int]:
    if nc.has_attr("axes"):
        return list(nc.ints("axes") or ())
    return _ints(nc, ins[1] if len(ins) > 1 else None, "axes")


def _unsqueeze(nc: NodeContext, ins: list[np.ndarray | None]) -> np.ndarray:
    data = ins[0]
    axes = _axes(nc, ins)
    rank = data.ndim + len(axes)  # type: ignore[union-attr]
    return np.expand_dims(data, tuple(sorted(a % rank for a in axes)))  # type: ignore[arg-type]


def _squeeze(nc: NodeContext, ins: list[np.ndarray | None]) -> np.ndarray:
    data = np.asarray(ins[0])
    axes = _axes(nc, ins) if (nc.has_attr("axes") or (len(ins) > 1 and ins[1] is not None)) else None
    return np.squeeze(data, axis=None if axes is None else tuple(a % data.ndim for a in axes))


def _concat(nc: NodeContext, ins: list[np.ndarray | None]) -> np.ndarray:
    arrays = [np.asarray(v, dtype=object) for v in ins if v is not None]
    return np.concatenate(arrays, axis=int(nc.attr("axis")))


def _slice(nc: NodeContext, ins: list[np.ndarray | None]) -> np.ndarray:
    data = ins[0]
    if nc.opset < 10:
        starts, ends = list(nc.ints("starts") or ()), list(nc.ints("ends") or ())
        axes = list(nc.ints("axes", tuple(range(len(starts)))) or ())
        steps = [1] * len(starts)
    else:
        starts, ends = _ints(nc, ins[1], "starts"), _ints(nc, ins[2], "ends")
        axes = _ints(nc, ins[3], "axes") if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = _ints(nc, ins[4], "steps") if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    index = [slice(None)] * data.ndim  # type: ignore[union-attr]
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        index[a] = slice(s, e, st)
    return data[tuple(index)]  # type: ignore[index]


SymbolicRule = Callable[[NodeContext, "list[np.ndarray | None]"], np.ndarray]

SYMBOLIC: dict[str, SymbolicRule] = {
    "Identity": lambda nc, ins: ins[0],  # type: ignore[dict-item,return-value]
    "Cast": lambda nc, ins: ins[0],  # type: ignore[dict-item,return-value]  # ints stay ints; batch stays symbolic
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": _concat,
    "Slice": _slice,
}
