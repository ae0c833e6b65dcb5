"""The resource cost of a model of hlsforge.qat layers, as a differentiable function of its bits.

EBOPs (HGQ's *effective bit operations*): every multiplication ``x·w`` the firmware performs
costs ``b_x · b_w``, the product of the two operands' widths; a weight quantized to 0 costs
nothing (the kernels skip zero weights). ``ebops(model) = Σ_layers Σ_multiplies b_x · b_w``
with ``b = relu(I + f)`` (integer bits + trainable fractional bits, sign included), so the
gradient reaches every ``f``. For Conv layers each kernel weight counts once per output
position (padding taps included, an upper bound). Details: docs/qat.md §6.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import HlsforgeError, UnsupportedOpError
from ._keras import keras, ops
from .layers import QLayer, _QWeighted
from .quantizer import FixedQuantizer

_PASS_THROUGH = ("Flatten", "Reshape", "MaxPooling1D", "MaxPooling2D", "Dropout", "Permute", "ZeroPadding1D",
                 "ZeroPadding2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "SpatialDropout1D", "SpatialDropout2D")


def _producer(layer: Any) -> Any:
    nodes = getattr(layer, "_inbound_nodes", None)
    if not nodes:
        raise HlsforgeError(f"layer {layer.name!r} has not been called on a tensor yet; build the model first")
    tensors = nodes[0].input_tensors
    if not tensors:
        return None
    return tensors[0]._keras_history[0]


def input_quantizer(layer: Any) -> FixedQuantizer:
    """The quantizer that sets the type of ``layer``'s (first) input, walking back through
    layers that pass values unchanged (Flatten, MaxPooling, …)."""
    op = _producer(layer)
    seen = 0
    while op is not None and seen < 1000:
        seen += 1
        if isinstance(op, FixedQuantizer):
            return op
        if isinstance(op, QLayer):
            return op.output_quantizer
        if type(op).__name__ in _PASS_THROUGH:
            op = _producer(op)
            continue
        break
    what = "the model input" if op is None or type(op).__name__ == "InputLayer" else f"layer {op.name!r}"
    raise UnsupportedOpError(
        f"layer {layer.name!r}: its input comes from {what}, which has no fixed-point type; put a "
        "hlsforge.qat.FixedQuantizer (or a Q layer) before it"
    )


def channel_bits(in_bits: Any, dtype: Any = "float32") -> Any:
    """The input widths per input channel: a scalar for a per-tensor input quantizer, else the
    ``(C,)`` widths (a per-element quantizer's widths averaged over the positions of each
    channel, see :func:`layer_ebops`)."""
    b = ops.cast(in_bits, dtype)
    if len(b.shape) <= 1:
        return b
    return ops.mean(b, axis=tuple(range(len(b.shape) - 1)))


def layer_ebops(layer: _QWeighted, in_bits: Any, qkernel: Any = None) -> Any:
    """EBOPs of one Dense/Conv layer given its input's widths; ``qkernel`` (the quantized
    kernel of the current forward pass) saves quantizing it again.

    ``in_bits``: a scalar (per-tensor input), or per channel / element widths. Each weight
    ``w[..., c, o]`` (axis -2 is the input channel for Dense, Conv and depthwise kernels)
    multiplies inputs of channel ``c``, so it counts ``b_in[c]·b_w``: exact for per-channel
    inputs and for a per-element input of a Dense layer; for a per-element input of a Conv the
    channel's mean width stands for every position (window edges and strides ignored)."""
    wq = layer.kernel_quantizer
    kernel = layer.kernel
    bw = wq.bit_widths(kernel.dtype)
    if qkernel is None:
        qkernel = layer.qkernel()
    nz = ops.stop_gradient(ops.cast(ops.not_equal(qkernel, 0.0), kernel.dtype))
    per_weight = ops.broadcast_to(bw, kernel.shape) * nz
    bx = channel_bits(in_bits, kernel.dtype)
    if len(bx.shape) == 0:
        return bx * ops.sum(per_weight) * float(layer.multiplies_per_weight())
    return ops.sum(ops.reshape(bx, (-1, 1)) * per_weight) * float(layer.multiplies_per_weight())


def multiply_layers(model: Any) -> list[_QWeighted]:
    out = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, _QWeighted):
            out.append(layer)
    return out


def ebops(model: Any) -> Any:
    """Total EBOPs of ``model`` (a keras scalar tensor, differentiable in the trainable bits).
    ``float(ebops(model))`` gives the number."""
    total = ops.convert_to_tensor(0.0)
    for layer in multiply_layers(model):
        total = total + layer_ebops(layer, input_quantizer(layer).bit_widths())
    return total


def _estimator(metric: str) -> Any:
    try:
        from ..resources import differentiable  # type: ignore[attr-defined]
    except ImportError:
        raise HlsforgeError(
            f"ResourceLoss(metric={metric!r}) needs hlsforge's resource estimator (hlsforge.resources), which "
            "is not available in this installation; use metric='ebops'"
        ) from None
    return differentiable


def estimator_cost(est: Any, layer: _QWeighted, in_bits: Any, metric: str) -> Any:
    """LUTs or DSPs of one Dense/Conv layer from ``hlsforge.resources.differentiable`` (the
    estimator's smooth form), with ``keras.ops`` as its array module."""
    kernel = layer.kernel
    bw = ops.broadcast_to(layer.kernel_quantizer.bit_widths(kernel.dtype), kernel.shape)
    shape = tuple(int(d) for d in kernel.shape)
    bx = channel_bits(in_bits, kernel.dtype)
    if getattr(layer, "depthwise", False):  # (k..., C, m): each output sees k taps
        taps, n_out = int(math.prod(shape[:-2])), shape[-2] * shape[-1]
        if len(bx.shape):  # per-channel input widths: the mean stands for all (documented overcount)
            bx = ops.mean(bx)
        return est.dense_cost(ops, bx, ops.reshape(bw, (taps, n_out)), taps, n_out, metric)
    n_out = shape[-1]
    n_in = int(math.prod(shape[:-1]))
    if len(bx.shape):  # per-channel input widths: row (tap, c) of the kernel reads channel c
        bx = ops.reshape(ops.broadcast_to(bx, shape[:-1]), (n_in,))
    return est.dense_cost(ops, bx, ops.reshape(bw, (n_in, n_out)), n_in, n_out, metric)


class ResourceLoss:
    """``beta · cost(model)`` added to the training loss; ``metric`` is ``"ebops"`` (HGQ's
    definition above) or ``"lut"``/``"dsp"``/``"lut_dsp"`` (LUT + 55·DSP) from hlsforge's
    resource estimator (``hlsforge.resources.differentiable``) when it is installed. Use ``ResourceLoss(beta).attach(model)`` before ``fit`` (each multiplying
    layer adds its share with ``add_loss``), or call ``loss(model)`` in a custom loop.
    ``beta`` can be changed between epochs through ``set_beta``.
    """

    METRICS = ("ebops", "lut", "dsp", "lut_dsp")

    def __init__(self, beta: float, metric: str = "ebops") -> None:
        if metric not in self.METRICS:
            raise HlsforgeError(f"ResourceLoss: metric must be one of {', '.join(self.METRICS)}, got {metric!r}")
        if metric != "ebops":
            self._est = _estimator(metric)
        self.metric = metric
        self.beta = keras.Variable(float(beta), trainable=False, dtype="float32", name="resource_beta")

    def set_beta(self, beta: float) -> None:
        self.beta.assign(float(beta))

    def layer_cost(self, layer: _QWeighted, in_q: FixedQuantizer, qkernel: Any = None) -> Any:
        if self.metric == "ebops":
            return layer_ebops(layer, in_q.bit_widths(), qkernel)
        return estimator_cost(self._est, layer, in_q.bit_widths(), self.metric)

    def attach(self, model: Any) -> Any:
        """Make every Dense/Conv layer of ``model`` add ``beta · its cost`` to the loss."""
        for layer in multiply_layers(model):
            in_q = input_quantizer(layer)

            def cost(lay: Any, qkernel: Any, q: FixedQuantizer = in_q) -> Any:
                return ops.cast(self.beta, lay.kernel.dtype) * self.layer_cost(lay, q, qkernel)

            layer._qat_cost = cost
        return model

    def __call__(self, model: Any) -> Any:
        total = ops.convert_to_tensor(0.0)
        for layer in multiply_layers(model):
            total = total + self.layer_cost(layer, input_quantizer(layer))
        return ops.cast(self.beta, total.dtype) * total
