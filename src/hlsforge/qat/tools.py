"""Calibration of integer bits and the exactness check of a trained model (docs/qat.md §4, §7)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..ir.graph import Graph
from ..ir.ops import Op
from ..ir.types import FixedType
from ._keras import keras, ops
from .layers import QActivation, QLayer, _QWeighted
from .quantizer import FixedQuantizer

FLOAT32_BITS = 24


def _predict(model: Any, x: np.ndarray, batch: int = 8192) -> np.ndarray:
    outs = [np.asarray(ops.convert_to_numpy(model(x[i:i + batch], training=False)), dtype=np.float64)
            for i in range(0, len(x), batch)]
    return np.concatenate(outs) if outs else np.zeros((0,))


def _needed_integer(lo: float, hi: float, signed: bool) -> int:
    """Fewest integer bits (sign included) whose range holds ``[lo, hi]``."""
    m = max(hi, -lo if signed else 0.0, 2.0**-30)
    return int(math.floor(math.log2(m))) + 1 + int(signed)


def _needed_integers(lo: np.ndarray, hi: np.ndarray, signed: bool) -> np.ndarray:
    """:func:`_needed_integer` per channel / element (int64 array)."""
    m = np.maximum(np.maximum(hi, -lo if signed else 0.0), 2.0**-30)
    return (np.floor(np.log2(m)).astype(np.int64) + 1 + int(signed))


def calibrate(model: Any, x: Any, *, margin: int = 1, weights: bool = True) -> dict[str, int]:
    """Set integer bits from data so that nothing overflows on ``x``.

    Every activation quantizer (layer outputs and standalone ``FixedQuantizer``s) gets the
    fewest integer bits that hold the values it saw on ``x``, plus ``margin`` bits (default 1:
    twice the range seen) for data the calibration set did not contain; its fractional bits
    are kept. Per-channel / per-element activation quantizers get integer bits per channel /
    element (the returned number is their largest). Per-tensor kernel/bias quantizers get the bits of their largest weight (no
    margin: weights are known). The inputs of table activations are left alone (their type
    fixes the table). Returns ``{quantizer path: integer bits}``. Runs two passes, since a
    quantizer's range depends on the ones before it.
    """
    xa = np.asarray(x, dtype=np.float32)
    acts: list[FixedQuantizer] = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, FixedQuantizer) and not isinstance(layer, QLayer):
            acts.append(layer)
        if isinstance(layer, QLayer):
            acts.append(layer.output_quantizer)
    acts = list(dict.fromkeys(acts))
    out: dict[str, int] = {}
    for _ in range(2):
        for q in acts:
            object.__setattr__(q, "_qat_record", [np.inf, -np.inf])
        try:
            _predict(model, xa)
        finally:
            seen = {q: q.__dict__.pop("_qat_record", None) for q in acts}
        for q in acts:
            lo, hi = (np.asarray(v, dtype=np.float64) for v in seen[q])
            if not np.all(np.isfinite(lo)):
                continue
            if lo.ndim == 0:
                i = _needed_integer(float(lo), float(hi), q.signed) + margin
                q.i.assign(ops.full(q.i.shape, float(i)))
            else:  # per channel / element: each its own integer bits; the report gives the largest
                ia = np.broadcast_to(_needed_integers(lo, hi, q.signed) + margin, tuple(q.i.shape))
                q.i.assign(ia.astype(np.float32))
                i = int(ia.max())
            out[q.path if hasattr(q, "path") else q.name] = i
    if weights:
        for layer in model._flatten_layers(include_self=False, recursive=True):
            if not isinstance(layer, _QWeighted):
                continue
            if hasattr(layer, "folded"):  # batch norm folded: the quantizers see kernel' and bias'
                pairs = list(zip((layer.kernel_quantizer, layer.bias_quantizer), layer.folded(), strict=True))
            else:
                pairs = [(layer.kernel_quantizer, layer.kernel)]
                if layer.use_bias:
                    pairs.append((layer.bias_quantizer, layer.bias))
            for q, w in pairs:
                if q.granularity != "tensor":
                    continue
                a = np.asarray(ops.convert_to_numpy(w), dtype=np.float64)
                i = _needed_integer(float(a.min()), float(a.max()), q.signed)
                q.i.assign(ops.full(q.i.shape, float(i)))
                out[q.path if hasattr(q, "path") else q.name] = i
    return out


def float64_clone(model: Any) -> Any:
    """The same model computing in float64 (same weights)."""
    def clone(layer: Any) -> Any:
        cfg = layer.get_config()
        cfg["dtype"] = "float64"
        return layer.__class__.from_config(cfg)

    m64 = keras.models.clone_model(model, clone_function=clone)
    m64.set_weights(model.get_weights())
    return m64


def wide_layers(graph: Graph) -> list[str]:
    """Layers whose exact intermediate may need more than float32's 24 significant bits:
    a Dense/Conv/AvgPool accumulator wider than 24 bits, a LeakyReLU product ``x·α`` or an
    Add sum wider than 24 bits (a value that only passes through needs no check: it is
    exact wherever its producer is)."""
    wide = []
    for node in graph.nodes:
        acc = node.precision.get("accum")
        if isinstance(acc, FixedType) and acc.width > FLOAT32_BITS:
            wide.append(node.name)
        elif node.op is Op.LEAKY_RELU:
            x_t, p_t = graph.values[node.inputs[0]].type, node.precision.get("param")
            if isinstance(x_t, FixedType) and isinstance(p_t, FixedType) and x_t.width + p_t.width > FLOAT32_BITS:
                wide.append(node.name)
        elif node.op is Op.ADD:
            from ..quantize.fixed import fixed_add_type

            a, b = (graph.values[i].type for i in node.inputs)
            if fixed_add_type(a, b).as_fixed().width > FLOAT32_BITS:  # type: ignore[arg-type]
                wide.append(node.name)
    return wide


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`: rows where the emulator differs from Keras."""

    n: int
    mismatches: int  # against the float32 Keras forward
    mismatches_float64: int | None  # against the float64 forward (only when some layer is wide)
    wide_layers: list[str] = field(default_factory=list)
    graph: Graph | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Exact where the rule promises it: float32 when no layer is wide, else float64."""
        return (self.mismatches_float64 if self.wide_layers else self.mismatches) == 0

    def __str__(self) -> str:
        s = f"{self.n} inputs: {self.mismatches} rows differ from the float32 Keras forward"
        if self.wide_layers:
            s += (f"; layers wider than 24 bits ({', '.join(self.wide_layers)}): "
                  f"{self.mismatches_float64} rows differ from the float64 forward")
        return s


def verify(model: Any, x: Any, graph: Graph | None = None) -> VerifyReport:
    """Compare ``emulate.run(hlsforge.load(model), x)`` with the Keras forward, row by row.

    The float32 forward is exact when every intermediate fits 24 significant bits (every
    accumulator of the export is ≤ 24 bits wide, docs/qat.md §4); when some layer is wider,
    the Keras forward is also run in float64 (exact up to 53 bits) and that comparison decides.
    """
    from ..loader import load
    from ..quantize import emulate

    xa = np.asarray(x, dtype=np.float32)
    if not np.isfinite(xa).all():
        raise InputError("verify: x contains NaN or infinity")
    g = graph if graph is not None else load(model)
    ye = np.asarray(emulate.run(g, xa), dtype=np.float64)
    yk = _predict(model, xa)
    rows = lambda a, b: int(np.count_nonzero((a != b).reshape(len(a), -1).any(axis=1)))  # noqa: E731
    wide = wide_layers(g)
    m64 = None
    if wide:
        m64 = rows(ye, _predict(float64_clone(model), xa.astype(np.float64)))
    return VerifyReport(len(xa), rows(ye, yk), m64, wide, g)


def table_layers(model: Any) -> list[QActivation]:
    return [la for la in model._flatten_layers(include_self=False, recursive=True) if isinstance(la, QActivation)]
