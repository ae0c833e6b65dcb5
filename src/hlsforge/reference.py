"""The float reference: a numpy interpreter of the IR.

This is the float meaning of every op in the catalogue (one small function per op, in
``RULES``). Activations are float32 like the source frameworks; Dense and Conv accumulate in
float64 and round once, which keeps the reference within float32 rounding of ONNX Runtime,
Keras and PyTorch without copying any one's summation order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .errors import UnsupportedOpError
from .ir.graph import Graph, Node
from .ir.ops import (
    AlphaAttrs,
    AxisAttrs,
    ClipAttrs,
    ConvAttrs,
    GlobalPoolAttrs,
    HardSigmoidAttrs,
    Op,
    PadAttrs,
    PoolAttrs,
    QuantizeAttrs,
    ReshapeAttrs,
    SeluAttrs,
    TransposeAttrs,
)

Array = np.ndarray
Rule = Callable[[Node, Sequence[Array]], "Array | tuple[Array, ...]"]  # tuple: multi-output ops
F32 = np.float32


def _f32(x: Array) -> Array:
    return np.asarray(x, dtype=F32)


# ----------------------------------------------------------------------------- windows


def _windows(x: Array, attrs: ConvAttrs | PoolAttrs, dilations: Sequence[int], fill: float) -> tuple[Array, Array]:
    """Sliding windows of a channels-last batch ``(N, *spatial, C)``.

    Returns ``(win, inside)``: ``win`` is ``(N, *out, C, *kernel)`` with padding filled by
    ``fill``; ``inside`` is ``(*out, *kernel)`` true where the tap lies in the real input.
    """
    nsp = len(attrs.kernel_shape)
    spatial = x.shape[1 : 1 + nsp]
    pads = list(attrs.pads)
    extra = [0] * nsp
    if isinstance(attrs, PoolAttrs) and attrs.ceil_mode:
        from .ir.ops import conv_output_length

        for i in range(nsp):
            out = conv_output_length(spatial[i], attrs.kernel_shape[i], attrs.strides[i], 1, pads[i], True)
            need = (out - 1) * attrs.strides[i] + attrs.kernel_shape[i]
            extra[i] = max(0, need - (spatial[i] + pads[i][0] + pads[i][1]))
    widths = [(0, 0)] + [(pads[i][0], pads[i][1] + extra[i]) for i in range(nsp)] + [(0, 0)]
    xp = np.pad(x, widths, constant_values=fill)
    mask = np.pad(np.ones(spatial, dtype=bool), [w for w in widths[1:-1]], constant_values=False)
    spans = [dilations[i] * (attrs.kernel_shape[i] - 1) + 1 for i in range(nsp)]
    win = sliding_window_view(xp, spans, axis=tuple(range(1, 1 + nsp)))
    mwin = sliding_window_view(mask, spans)
    sel = tuple(slice(None, None, attrs.strides[i]) for i in range(nsp))
    tap = tuple(slice(None, None, dilations[i]) for i in range(nsp))
    win = win[(slice(None),) + sel + (slice(None),) + tap]
    mwin = mwin[sel + tap]
    return win, mwin


def _conv(node: Node, ins: Sequence[Array]) -> Array:
    x, k, b = ins
    a: ConvAttrs = node.attrs
    nsp = len(a.kernel_shape)
    win, _ = _windows(np.asarray(x, np.float64), a, a.dilations, 0.0)  # (N, *out, C, *K)
    # -> (N, *out, *K, C) to match the kernel layout (*K, C_in/g, C_out)
    win = np.moveaxis(win, 1 + nsp, -1)
    g = a.groups
    c_in = x.shape[-1]
    c_out = k.shape[-1]
    cig, cog = c_in // g, c_out // g
    outs = []
    k64 = np.asarray(k, np.float64)
    for gi in range(g):
        wg = win[..., gi * cig : (gi + 1) * cig]
        kg = k64[..., gi * cog : (gi + 1) * cog]
        outs.append(np.tensordot(wg, kg, axes=nsp + 1))
    y = np.concatenate(outs, axis=-1) if g > 1 else outs[0]
    return _f32(y + np.asarray(b, np.float64))


def _pool(node: Node, ins: Sequence[Array], kind: str) -> Array:
    a: PoolAttrs = node.attrs
    nsp = len(a.kernel_shape)
    x = ins[0]
    axes = tuple(range(-nsp, 0))
    if kind == "max":
        win, _ = _windows(x, a, (1,) * nsp, -np.inf)
        return _f32(win.max(axis=axes))
    win, inside = _windows(np.asarray(x, np.float64), a, (1,) * nsp, 0.0)
    total = win.sum(axis=axes)
    if a.count_include_pad:
        # taps in the explicit padding count; taps past it (ceil mode) do not
        counted = _counted_with_pads(x.shape[1 : 1 + nsp], a)
        # the padded-input view may fit one more ceil-mode window than the real output has
        counted = counted[tuple(slice(0, n) for n in total.shape[1 : 1 + nsp])]
    else:
        counted = inside.sum(axis=axes)
    return _f32(total / counted[(None,) + (...,) + (None,)])


def _counted_with_pads(spatial: Sequence[int], a: PoolAttrs) -> Array:
    nsp = len(spatial)
    padded_len = [spatial[i] + a.pads[i][0] + a.pads[i][1] for i in range(nsp)]
    fake = PoolAttrs(a.kernel_shape, a.strides, tuple((0, 0) for _ in range(nsp)), a.ceil_mode)
    ones = np.ones((1, *padded_len, 1))
    _, inside = _windows(ones, fake, (1,) * nsp, 0.0)
    return inside.sum(axis=tuple(range(-nsp, 0))).astype(np.float64)


def _global_pool(node: Node, ins: Sequence[Array], kind: str) -> Array:
    a: GlobalPoolAttrs = node.attrs
    x = ins[0]
    axes = tuple(range(1, x.ndim - 1))
    y = x.max(axis=axes, keepdims=a.keepdims) if kind == "max" else np.asarray(x, np.float64).mean(axis=axes, keepdims=a.keepdims)
    return _f32(y)


def _softmax(node: Node, ins: Sequence[Array]) -> Array:
    x = np.asarray(ins[0], np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return _f32(e / e.sum(axis=-1, keepdims=True))


def _clip(node: Node, ins: Sequence[Array]) -> Array:
    a: ClipAttrs = node.attrs
    x = ins[0]
    if a.min is not None:
        x = np.maximum(x, F32(a.min))
    if a.max is not None:
        x = np.minimum(x, F32(a.max))
    return _f32(x)


def _leaky(node: Node, ins: Sequence[Array]) -> Array:
    x = ins[0]
    alpha = F32(node.attrs.alpha)
    return _f32(np.where(x >= 0, x, x * alpha))


def _elu(node: Node, ins: Sequence[Array]) -> Array:
    x = np.asarray(ins[0], np.float64)
    a: AlphaAttrs = node.attrs
    return _f32(np.where(x > 0, x, a.alpha * np.expm1(np.minimum(x, 0))))


def _selu(node: Node, ins: Sequence[Array]) -> Array:
    x = np.asarray(ins[0], np.float64)
    a: SeluAttrs = node.attrs
    return _f32(a.gamma * np.where(x > 0, x, a.alpha * np.expm1(np.minimum(x, 0))))


def _hard_sigmoid(node: Node, ins: Sequence[Array]) -> Array:
    a: HardSigmoidAttrs = node.attrs
    x = np.asarray(ins[0], np.float64)
    return _f32(np.clip(a.alpha * x + a.beta, 0.0, 1.0))


def _softplus(node: Node, ins: Sequence[Array]) -> Array:
    x = np.asarray(ins[0], np.float64)
    return _f32(np.logaddexp(0.0, x))


def _sigmoid(node: Node, ins: Sequence[Array]) -> Array:
    x = np.asarray(ins[0], np.float64)
    return _f32(0.5 * (1.0 + np.tanh(0.5 * x)))


def _pad(node: Node, ins: Sequence[Array]) -> Array:
    a: PadAttrs = node.attrs
    return np.pad(ins[0], [(0, 0)] + [tuple(p) for p in a.pads])


def _quantize(node: Node, ins: Sequence[Array]) -> Array:
    from .quantize.fixed import cast

    a: QuantizeAttrs = node.attrs
    if a.elements is not None:  # per-channel / per-element types (quantize/per_element.py)
        from .quantize.per_element import cast_elements

        return _f32(cast_elements(ins[0], a.elements))
    return _f32(cast(np.asarray(ins[0], np.float64), a.target))


def _dense(node: Node, ins: Sequence[Array]) -> Array:
    x, k, b = ins
    return _f32(np.asarray(x, np.float64) @ np.asarray(k, np.float64) + np.asarray(b, np.float64))


def _tree_ensemble(node: Node, ins: Sequence[Array]) -> Array:
    from .trees.evaluate import reference_rule

    return reference_rule(node, ins)


def _batch(x: Array, n: int) -> Array:
    return x.reshape((n,) + x.shape)


RULES: dict[Op, Rule] = {
    Op.DENSE: _dense,
    Op.MATMUL: lambda n, ins: _f32(np.asarray(ins[0], np.float64) @ np.asarray(ins[1], np.float64)),
    Op.CONV1D: _conv,
    Op.CONV2D: _conv,
    Op.MAXPOOL1D: lambda n, ins: _pool(n, ins, "max"),
    Op.MAXPOOL2D: lambda n, ins: _pool(n, ins, "max"),
    Op.AVGPOOL1D: lambda n, ins: _pool(n, ins, "avg"),
    Op.AVGPOOL2D: lambda n, ins: _pool(n, ins, "avg"),
    Op.GLOBAL_MAXPOOL: lambda n, ins: _global_pool(n, ins, "max"),
    Op.GLOBAL_AVGPOOL: lambda n, ins: _global_pool(n, ins, "avg"),
    Op.BATCHNORM: lambda n, ins: _f32(ins[0] * F32(1) * _f32(ins[1]) + _f32(ins[2])),
    Op.RELU: lambda n, ins: np.maximum(ins[0], F32(0)),
    Op.LEAKY_RELU: _leaky,
    Op.CLIP: _clip,
    Op.SIGMOID: _sigmoid,
    Op.HARD_SIGMOID: _hard_sigmoid,
    Op.TANH: lambda n, ins: _f32(np.tanh(np.asarray(ins[0], np.float64))),
    Op.SOFTMAX: _softmax,
    Op.ELU: _elu,
    Op.SELU: _selu,
    Op.SOFTPLUS: _softplus,
    Op.ADD: lambda n, ins: _f32(ins[0] + ins[1]),
    Op.SUB: lambda n, ins: _f32(ins[0] - ins[1]),
    Op.MUL: lambda n, ins: _f32(ins[0] * ins[1]),
    Op.CONCAT: lambda n, ins: np.concatenate(ins, axis=n.attrs.axis + 1),
    Op.FLATTEN: lambda n, ins: ins[0].reshape(ins[0].shape[0], -1),
    Op.RESHAPE: lambda n, ins: ins[0].reshape((ins[0].shape[0],) + tuple(n.attrs.shape)),
    Op.TRANSPOSE: lambda n, ins: np.ascontiguousarray(np.transpose(ins[0], (0,) + tuple(p + 1 for p in n.attrs.perm))),
    Op.PAD: _pad,
    Op.QUANTIZE: _quantize,
    Op.TREE_ENSEMBLE: lambda n, ins: _tree_ensemble(n, ins),
    Op.IDENTITY: lambda n, ins: ins[0],
    Op.DROPOUT: lambda n, ins: ins[0],
}

from .reference_rules.recurrent import RULES as _RECURRENT_RULES  # noqa: E402 - rule families in own modules

RULES.update(_RECURRENT_RULES)
_WEIGHT_OPS = (Op.DENSE, Op.CONV1D, Op.CONV2D, Op.BATCHNORM, Op.MATMUL, *_RECURRENT_RULES)

from .reference_index_ops import RULES as _INDEX_RULES  # noqa: E402 - its own rule module (issue 12)

RULES.update(_INDEX_RULES)  # type: ignore[arg-type]

_ = (AxisAttrs, ReshapeAttrs, TransposeAttrs)  # attrs used through node.attrs in the lambdas

from .reference_math import MATH_RULES  # noqa: E402 - the math/attention family (issue 12)

RULES.update(MATH_RULES)

from .reference_rules import select as _select  # noqa: E402 - TopK, GatherElements, ReduceProd (issue 12)
from .reference_rules import spatial as _spatial  # noqa: E402 - ConvTranspose, 3D windows (issue 12)

RULES.update(_select.RULES)  # type: ignore[arg-type]
RULES.update(_spatial.RULES)  # type: ignore[arg-type]
RULES.update(_spatial._window_rules())  # type: ignore[arg-type]
_WEIGHT_OPS = (*_WEIGHT_OPS, *_spatial.WEIGHT_OPS)


def trace_keys(graph: Graph) -> dict[str, str]:
    """Key under which each node's output appears in a trace: the source layer name when it
    is unique in the graph, else the IR node name (always unique)."""
    counts: dict[str, int] = {}
    for n in graph.nodes:
        counts[n.source_name] = counts.get(n.source_name, 0) + 1
    return {n.name: (n.source_name if counts[n.source_name] == 1 else n.name) for n in graph.nodes}


def _broadcast_constant(graph: Graph, name: str, n_batch: int) -> Array:
    """Constants used as activations (e.g. the second operand of Add) broadcast over batch."""
    data = graph.constant(name)
    return np.asarray(data)[None] if data.dtype.kind == "f" else data


def run(graph: Graph, x: Any, *, trace: bool = False) -> Any:
    """Run the float model on a batch given in the source model's layout.

    Inputs are rounded to float32; NaN and ±inf are not refused and propagate as IEEE
    arithmetic says (the float engines' rule, docs/numerics.md "Special input values"), as in
    the CPU backend. Returns one array for a single-output model, else a dict keyed by output name. With
    ``trace=True`` returns a dict of every node's output keyed by source layer name
    (intermediate tensors in the IR's channels-last layout; graph outputs in the user's).
    """
    arrays = graph.prepare_inputs(x, engine="float")  # NaN/inf propagate (docs/numerics.md)
    # IEEE semantics are the rule here (beyond the float32 range rounds to ±inf, inf*0 is NaN):
    # numpy's warnings about them would only be noise, as they are absent from the CPU backend.
    with np.errstate(all="ignore"):
        return _run(graph, arrays, trace)


def values(graph: Graph, x: Any) -> dict[str, np.ndarray]:
    """Every value the float model computes on ``x`` (graph inputs and every output of every
    node, multi-output ops included), keyed by IR value name, in the IR's internal layout.

    Why: a trace holds each node's first output under its layer name; post-training
    calibration (``quantize/_calibrate_recurrent.py``) needs the exact inputs of a layer to
    observe its internal values (gate pre-activations, cell state, LayerNorm variance).
    """
    arrays = graph.prepare_inputs(x, engine="float")
    env: dict[str, Array] = {}
    with np.errstate(all="ignore"):
        _run(graph, arrays, False, env)
    return env


def _run(graph: Graph, arrays: dict[str, np.ndarray], trace: bool, keep: dict[str, Array] | None = None) -> Any:
    env: dict[str, Array] = {n: _f32(graph.to_internal(n, a)) for n, a in arrays.items()}
    n_batch = next(iter(env.values())).shape[0]
    keys = trace_keys(graph) if trace else {}
    traced: dict[str, Array] = {}
    for node in graph.nodes:
        rule = RULES.get(node.op)
        if rule is None:
            raise UnsupportedOpError(f"{node.describe()}: the float reference has no rule for {node.op.value}")
        ins = []
        for i, role_in in enumerate(node.inputs):
            v = graph.values[role_in]
            if v.is_constant:
                is_weight = node.op in _WEIGHT_OPS and i > 0
                ins.append(_f32(v.data) if is_weight else _broadcast_constant(graph, role_in, n_batch))
            else:
                ins.append(env[role_in])
        y = rule(node, ins)
        if isinstance(y, tuple):  # multi-output ops (recurrent: Y, Y_h[, Y_c]); traced by output 0
            env.update(zip(node.outputs, y, strict=True))
            y = y[0]
        env[node.outputs[0]] = y
        if trace:
            out = node.outputs[0]
            traced[keys[node.name]] = graph.to_user(out, y) if out in graph.outputs else y
    if keep is not None:
        keep.update(env)
    if trace:
        return traced
    outs = {o: graph.to_user(o, env[o] if o in env else _f32(graph.constant(o))[None].repeat(n_batch, 0)) for o in graph.outputs}
    return next(iter(outs.values())) if len(outs) == 1 else outs
