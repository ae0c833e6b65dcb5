"""Converters for ONNX ops that select elements: Slice, Gather (constant indices), Split,
Tile, Expand, Resize (nearest) and Where with a constant condition.

All of them become the IR index ops (``Op.SLICE``, ``Op.GATHER``), followed by a Reshape
where ONNX drops or adds axes, so the output copies input elements exactly:

- Split is one Slice per output; Tile repeats indices ``[0..n) * reps`` along each axis;
  Expand broadcasts size-1 axes by gathering index 0 repeatedly (new leading axes are a
  Reshape first); nearest Resize gathers, per axis, the source index ONNX's coordinate
  transformation and rounding mode give;
- Where with a constant condition picks between two tensors: the condition's pattern is a
  Gather of the concatenation of both operands (broadcast to the output shape).

The batch axis is never touched: an op that would slice, gather, tile or resize along it is
unsupported (the IR processes one event at a time).
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.ops import AxisAttrs, GatherAttrs, NoAttrs, Op, ReshapeAttrs, SliceAttrs
from .context import NodeContext
from .registry import converter

INT64_MAX = np.iinfo(np.int64).max


def _norm_axis(nc: NodeContext, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise nc.malformed(f"axis {axis} is outside a rank-{rank} tensor")
    return axis % rank


def _ints(nc: NodeContext, i: int, what: str) -> list[int]:
    return [int(v) for v in np.asarray(nc.const(i, what)).reshape(-1)]


def _emit_chain(nc: NodeContext, x: str, steps: list[tuple[Op, object]], out: int = 0) -> str:
    """Emit ``steps`` on ``x``; the last one produces ONNX output ``out`` (an Identity if none)."""
    if not steps:
        return nc.emit(Op.IDENTITY, [x], NoAttrs(), out=out)
    for k, (op, attrs) in enumerate(steps):
        last = k == len(steps) - 1
        x = nc.emit(op, [x], attrs, out=out if last else None, tag="" if last else op.value.lower())
    return x


# ----------------------------------------------------------------------------- Slice


def _clamp_slice(start: int, end: int, step: int, d: int) -> tuple[int, int, int]:
    """ONNX Slice's clamping rules for one axis, as (start, stop, step) for the IR."""
    if start < 0:
        start += d
    if end < 0:
        end += d
    if step > 0:
        return min(max(start, 0), d), min(max(end, 0), d), step
    start = min(max(start, 0), d - 1)
    end = min(max(end, -1), d - 1)
    return start, end, step


def _slice(nc: NodeContext, starts: list[int], ends: list[int], axes: list[int] | None, steps: list[int] | None) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    rank = len(shape) + 1
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise nc.malformed(f"starts {starts}, ends {ends}, axes {axes}, steps {steps} have different lengths")
    per_axis = [(0, d, 1) for d in shape]
    seen = set()
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        a = _norm_axis(nc, a, rank)
        if a in seen:
            raise nc.malformed(f"axis {a} is sliced twice")
        seen.add(a)
        if st == 0:
            raise nc.malformed("Slice step 0")
        if a == 0:
            if (s, st) == (0, 1) and e >= INT64_MAX // 2:
                continue  # the whole batch axis: nothing to do
            raise nc.unsupported("slicing the batch axis is not supported")
        per_axis[a - 1] = _clamp_slice(s, e, st, shape[a - 1])
    for (s, e, st), d in zip(per_axis, shape, strict=True):
        if len(range(s, e, st)) == 0:
            raise nc.unsupported(f"Slice gives an empty axis (of size {d}); empty tensors are not supported")
    if all(p == (0, d, 1) for p, d in zip(per_axis, shape, strict=True)):
        nc.emit(Op.IDENTITY, [x], NoAttrs(), out=0)
        return
    nc.emit(Op.SLICE, [x], SliceAttrs(tuple(per_axis)), out=0)


@converter("Slice", 1)
def _slice_v1(nc: NodeContext) -> None:
    """Opsets 1-9: starts, ends, axes are attributes; no steps."""
    axes = nc.ints("axes", None)
    _slice(nc, list(nc.ints("starts") or ()), list(nc.ints("ends") or ()), None if axes is None else list(axes), None)


@converter("Slice", 10)
def _slice_v10(nc: NodeContext) -> None:
    """Opset 10+: starts, ends, axes, steps are (constant) inputs."""
    axes = _ints(nc, 3, "axes") if nc.has_input(3) else None
    steps = _ints(nc, 4, "steps") if nc.has_input(4) else None
    _slice(nc, _ints(nc, 1, "starts"), _ints(nc, 2, "ends"), axes, steps)


# ----------------------------------------------------------------------------- Split


def _split(nc: NodeContext, sizes: list[int] | None) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    rank = len(shape) + 1
    axis = _norm_axis(nc, int(nc.attr("axis", 0)), rank)
    if axis == 0:
        raise nc.unsupported("Split along the batch axis is not supported")
    d = shape[axis - 1]
    n_out = len(nc.node.output)
    if sizes is None:
        n_split = int(nc.attr("num_outputs", n_out))
        chunk = -(-d // n_split)
        sizes = [min(chunk, d - i * chunk) for i in range(n_split)]
    if sum(sizes) != d or len(sizes) != n_out or any(s < 1 for s in sizes):
        raise nc.malformed(f"split sizes {sizes} do not cover axis {axis} of size {d} in {n_out} outputs")
    begin = 0
    for i, s in enumerate(sizes):
        per_axis = tuple((begin, begin + s, 1) if a == axis - 1 else (0, n, 1) for a, n in enumerate(shape))
        begin += s
        if not nc.output_used(i):
            continue
        if s == d:
            nc.emit(Op.IDENTITY, [x], NoAttrs(), out=i)
        else:
            nc.emit(Op.SLICE, [x], SliceAttrs(per_axis), out=i, tag=f"split{i}")


@converter("Split", 1)
def _split_v1(nc: NodeContext) -> None:
    """Opsets 1-12: ``split`` attribute (or equal parts); opset 1's second input is rare."""
    split = nc.ints("split", None)
    _split(nc, None if not split else list(split))


@converter("Split", 13)
def _split_v13(nc: NodeContext) -> None:
    """Opset 13+: ``split`` is an optional input; 18+ may give ``num_outputs`` instead."""
    _split(nc, _ints(nc, 1, "split") if nc.has_input(1) else None)


# ----------------------------------------------------------------------------- Gather


@converter("Gather", 1)
def _gather(nc: NodeContext) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    rank = len(shape) + 1
    axis = _norm_axis(nc, int(nc.attr("axis", 0)), rank)
    if axis == 0:
        raise nc.unsupported("Gather along the batch axis is not supported")
    raw = np.asarray(nc.const(1, "indices"))
    if raw.dtype.kind not in "iu":
        raise nc.malformed(f"indices have type {raw.dtype}, not integer")
    d = shape[axis - 1]
    if raw.size == 0:
        raise nc.unsupported("Gather with no indices gives an empty tensor")
    if np.any(raw < -d) or np.any(raw >= d):
        raise nc.malformed(f"indices outside [-{d}, {d}) for axis {axis}")
    idx = tuple(int(i) % d for i in raw.reshape(-1))
    out_shape = shape[: axis - 1] + tuple(raw.shape) + shape[axis:]
    steps: list[tuple[Op, object]] = [(Op.GATHER, GatherAttrs(axis - 1, idx))]
    if out_shape != shape[: axis - 1] + (len(idx),) + shape[axis:]:
        if not out_shape:
            raise nc.unsupported("Gather to a scalar per event is not supported")
        steps.append((Op.RESHAPE, ReshapeAttrs(out_shape)))
    _emit_chain(nc, x, steps)


# ----------------------------------------------------------------------------- Tile / Expand


def _repeat_steps(shape: tuple[int, ...], indices: list[tuple[int, ...] | None]) -> list[tuple[Op, object]]:
    return [(Op.GATHER, GatherAttrs(a, idx)) for a, idx in enumerate(indices) if idx is not None]


@converter("Tile", 6)
def _tile(nc: NodeContext) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    reps = _ints(nc, 1, "repeats")
    if len(reps) != len(shape) + 1 or any(r < 1 for r in reps):
        raise nc.malformed(f"repeats {reps} must give a positive count for each of {len(shape) + 1} axes")
    if reps[0] != 1:
        raise nc.unsupported("tiling the batch axis is not supported")
    idx = [tuple(range(d)) * r if r > 1 else None for d, r in zip(shape, reps[1:], strict=True)]
    _emit_chain(nc, x, _repeat_steps(shape, idx))


@converter("Expand", 8)
def _expand(nc: NodeContext) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    target = _ints(nc, 1, "shape")
    full = (1, *shape)
    rank = max(len(full), len(target))
    a = (1,) * (rank - len(full)) + full
    b = (1,) * (rank - len(target)) + tuple(target)
    out = []
    for da, db in zip(a, b, strict=True):
        if da != db and 1 not in (da, db):
            raise nc.malformed(f"shape {target} does not broadcast with the input (batch, {shape})")
        out.append(max(da, db))
    out[rank - len(full)] = 1  # the batch axis: kept (its target entry is 1 or the batch itself)
    lead = rank - len(full)
    if any(out[i] != 1 for i in range(lead)) or b[lead] not in (1, nc.ctx.fixed_batch):
        raise nc.unsupported(f"Expand to {target} adds or broadcasts axes before the batch axis")
    # per-event shape with the new leading axes placed after the batch (all of size 1 before)
    inner_in = a[lead + 1:] if lead == 0 else (1,) * lead + shape
    inner_out = tuple(out[lead + 1:]) if lead == 0 else tuple(out[:lead]) + tuple(out[lead + 1:])
    steps: list[tuple[Op, object]] = []
    if inner_in != shape:
        steps.append((Op.RESHAPE, ReshapeAttrs(inner_in)))
    idx = [(0,) * o if i == 1 and o > 1 else None for i, o in zip(inner_in, inner_out, strict=True)]
    steps += _repeat_steps(inner_in, idx)
    _emit_chain(nc, x, steps)


# ----------------------------------------------------------------------------- Resize


def _nearest_index(nc: NodeContext, d_in: int, d_out: int, scale: float, ctm: str, mode: str) -> tuple[int, ...]:
    out = []
    for i in range(d_out):
        if ctm == "asymmetric":
            xo = i / scale
        elif ctm == "half_pixel":
            xo = (i + 0.5) / scale - 0.5
        elif ctm == "pytorch_half_pixel":
            xo = (i + 0.5) / scale - 0.5 if d_out > 1 else 0.0
        elif ctm == "align_corners":
            xo = 0.0 if d_out == 1 else i * (d_in - 1) / (d_out - 1)
        elif ctm == "tf_half_pixel_for_nn":
            xo = (i + 0.5) / scale
        else:
            raise nc.unsupported(f"coordinate_transformation_mode {ctm!r} is not supported for nearest Resize")
        if mode == "round_prefer_floor":
            j = math.ceil(xo - 0.5) if xo - math.floor(xo) == 0.5 else round(xo)
        elif mode == "round_prefer_ceil":
            j = math.floor(xo + 0.5)
        elif mode == "floor":
            j = math.floor(xo)
        elif mode == "ceil":
            j = math.ceil(xo)
        else:
            raise nc.malformed(f"unknown nearest_mode {mode!r}")
        out.append(min(max(int(j), 0), d_in - 1))
    return tuple(out)


def _resize(nc: NodeContext, scales: list[float] | None, sizes: list[int] | None, ctm: str, nearest_mode: str) -> None:
    x = nc.act(0)
    shape = nc.shape(0)
    full = (1, *shape)
    mode = nc.attr("mode", "nearest")
    if mode != "nearest":
        raise nc.unsupported(f"Resize mode {mode!r} is not supported (only 'nearest')")
    if nc.has_attr("axes") or (nc.attr("keep_aspect_ratio_policy", "stretch") != "stretch"):
        raise nc.unsupported("Resize with axes or keep_aspect_ratio_policy is not supported")
    if sizes is not None:
        if len(sizes) != len(full):
            raise nc.malformed(f"sizes {sizes} must have {len(full)} values")
        if sizes[0] != nc.ctx.fixed_batch:
            raise nc.unsupported(f"Resize sizes {sizes} set the batch axis (give scales, or export a fixed batch)")
        scales = [1.0] + [s / d for s, d in zip(sizes[1:], shape, strict=True)]
        out = [1, *sizes[1:]]
    else:
        if scales is None or len(scales) != len(full) or any(s <= 0 for s in scales):
            raise nc.malformed(f"scales {scales} must have {len(full)} positive values")
        out = [int(math.floor(d * s)) for d, s in zip(full, scales, strict=True)]
    if scales[0] != 1:
        raise nc.unsupported("resizing the batch axis is not supported")
    idx: list[tuple[int, ...] | None] = []
    for a, d in enumerate(shape, 1):
        if out[a] < 1:
            raise nc.unsupported(f"Resize gives an empty axis {a}")
        ix = _nearest_index(nc, d, out[a], scales[a], ctm, nearest_mode)
        idx.append(None if ix == tuple(range(d)) else ix)
    _emit_chain(nc, x, _repeat_steps(shape, idx))


@converter("Upsample", 7)
def _upsample_v7(nc: NodeContext) -> None:
    """Opsets 7-8: ``scales`` attribute; 9: an input. Nearest, asymmetric, floor."""
    scales = [float(s) for s in nc.attr("scales")] if nc.has_attr("scales") else None
    _resize(nc, scales, None, "asymmetric", "floor")


@converter("Upsample", 9)
def _upsample_v9(nc: NodeContext) -> None:
    scales = [float(s) for s in np.asarray(nc.const(1, "scales")).reshape(-1)]
    _resize(nc, scales, None, "asymmetric", "floor")


@converter("Resize", 10)
def _resize_v10(nc: NodeContext) -> None:
    """Opset 10: ``scales`` is input 1; nearest is asymmetric with floor rounding."""
    scales = [float(s) for s in np.asarray(nc.const(1, "scales")).reshape(-1)]
    _resize(nc, scales, None, "asymmetric", "floor")


@converter("Resize", 11)
def _resize_v11(nc: NodeContext) -> None:
    """Opset 11+: roi, scales, sizes inputs; coordinate_transformation_mode and nearest_mode."""
    scales = None
    if nc.has_input(2):
        sc = np.asarray(nc.const(2, "scales")).reshape(-1)
        scales = [float(s) for s in sc] if sc.size else None
    sizes = _ints(nc, 3, "sizes") if nc.has_input(3) and np.asarray(nc.const(3, "sizes")).size else None
    ctm = nc.attr("coordinate_transformation_mode", "half_pixel")
    if ctm == "tf_crop_and_resize":
        raise nc.unsupported("coordinate_transformation_mode 'tf_crop_and_resize' is not supported")
    _resize(nc, scales, sizes, ctm, nc.attr("nearest_mode", "round_prefer_floor"))


# ----------------------------------------------------------------------------- Where


@converter("Where", 9)
def _where(nc: NodeContext) -> None:
    """``Where(cond, a, b)`` with a constant ``cond``.

    Two model tensors: a Gather from ``concat(a, b)`` (flattened), which copies each output
    element from one operand. One model tensor ``a`` and a constant ``k``: ``a * m + k'``
    with the 0/1 mask ``m`` and ``k'`` zero where ``a`` is taken — exact for finite values
    (a product by 1 or 0 and a sum with 0). Operands must have the output's per-event shape
    (constants and the condition may broadcast); nothing may vary along the batch axis.
    """
    cond = np.asarray(nc.const(0, "condition")).astype(bool)
    ops: list[tuple[str, object, tuple[int, ...]]] = []
    for i in (1, 2):
        if nc.known(i) is None:
            ops.append(("act", nc.act(i), (1, *nc.shape(i))))
        else:
            k = np.asarray(nc.const_floats(i, "value"))
            ops.append(("const", k, tuple(k.shape)))
    try:
        out_full = tuple(np.broadcast_shapes(cond.shape, ops[0][2], ops[1][2]))
    except ValueError:
        raise nc.malformed("condition and operands do not broadcast") from None
    acts = [o for o in ops if o[0] == "act"]
    if not acts:
        raise nc.unsupported("Where of two constants is a constant, not a model output")
    if out_full[0] != 1 or any(o[2] != out_full for o in acts):
        raise nc.unsupported(
            "Where with a condition or constant that varies along the batch axis, or that broadcasts a "
            "model tensor, is not supported"
        )
    per_event = out_full[1:]
    n = math.prod(per_event)
    c = np.broadcast_to(cond, out_full).reshape(per_event)
    if len(acts) == 1:
        take_act = c if ops[0][0] == "act" else ~c
        k = np.broadcast_to(np.asarray([o for o in ops if o[0] == "const"][0][1], dtype=np.float64), out_full)
        k = np.where(take_act, 0.0, k.reshape(per_event))
        x = str(acts[0][1])
        m = nc.emit(Op.MUL, [x, nc.constant("mask", take_act.astype(np.float64))], NoAttrs(), tag="mask")
        nc.emit(Op.ADD, [m, nc.constant("other", k)], NoAttrs(), out=0)
        return
    flats = [str(v) if len(per_event) == 1 else nc.emit(Op.RESHAPE, [str(v)], ReshapeAttrs((n,)), tag="flat")
             for _, v, _ in ops]
    idx = tuple(i if take_a else n + i for i, take_a in enumerate(c.reshape(-1)))
    both = nc.emit(Op.CONCAT, flats, AxisAttrs(0), tag="operands")
    steps: list[tuple[Op, object]] = [(Op.GATHER, GatherAttrs(0, idx))]
    if per_event != (n,):
        steps.append((Op.RESHAPE, ReshapeAttrs(per_event)))
    _emit_chain(nc, both, steps)
