"""Batch normalization folded into Dense/Conv *during training* (QKeras's QConv2DBatchnorm idea).

The layer keeps BN's state — ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``,
``momentum``, ``epsilon`` — and in every forward pass folds it into the kernel and bias
**before** their quantizers::

    s       = gamma / sqrt(var + epsilon)
    kernel' = kernel · s                       (per output channel)
    bias'   = (bias − mean) · s + beta         (−mean · s + beta without a bias)
    y       = oq(act(x ⊛ kq(kernel') + bq(bias')))

In training ``mean``/``var`` are the batch statistics of ``x ⊛ kernel + bias`` (float kernel)
and the moving statistics are updated; at inference the moving statistics are used. So the
inference network *is* a quantized Dense/Conv whose weights lie on their grids, and the export
is that Dense/Conv — there is no BatchNormalization op in the graph and nothing is folded in
float afterwards.

Why the export is exact: the fold is computed in float32 with exactly these operations in
this order (``+``, ``sqrt``, ``/``, ``·``, ``−``, ``·``, ``+``, each IEEE correctly rounded on
every backend; the square root is taken in float64 and rounded to float32, because torch's
float32 ``sqrt`` is not correctly rounded), whatever the compute dtype of the layer, and the exporter repeats it in numpy
float32 before quantizing (``frontends/keras/qat.py``). Both sides therefore quantize the same
float32 numbers (docs/qat.md §3).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import PrecisionError
from ._keras import keras, ops
from .layers import QConv1D, QConv2D, QDense, _QWeighted


def fold_numpy(kernel: np.ndarray, bias: np.ndarray | None, gamma: np.ndarray, beta: np.ndarray,
               mean: np.ndarray, var: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """The folded ``(kernel', bias')`` in float32, operation for operation as the layer does it."""
    f32 = np.float32
    root = np.sqrt((var.astype(f32) + f32(epsilon)).astype(np.float64)).astype(f32)
    scale = gamma.astype(f32) / root
    k = kernel.astype(f32) * scale
    centred = (bias.astype(f32) - mean.astype(f32)) if bias is not None else -mean.astype(f32)
    return k, centred * scale + beta.astype(f32)


class _BatchNormFold(_QWeighted):
    """Mixin over a Dense/Conv Q layer: BN state, folded before the weight quantizers."""

    def __init__(self, *args: Any, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        if not 0.0 <= self.momentum < 1.0:
            raise PrecisionError(f"layer {self.name!r}: momentum must be in [0, 1), got {momentum!r}")
        if not self.epsilon > 0.0:
            raise PrecisionError(f"layer {self.name!r}: epsilon must be > 0, got {epsilon!r}")

    def _build_weights(self, kernel_shape: tuple[int, ...], n_out: int, out_shape: tuple[Any, ...]) -> None:
        super()._build_weights(kernel_shape, n_out, out_shape)
        if not self.use_bias:
            self.bias_quantizer.build((n_out,))  # the folded bias always exists
        self.gamma = self.add_weight(name="gamma", shape=(n_out,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(n_out,), initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=(n_out,), initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(n_out,), initializer="ones",
                                               trainable=False)

    def folded(self, mean: Any = None, var: Any = None) -> tuple[Any, Any]:
        """``(kernel', bias')`` before quantization, in float32 (moving statistics by default)."""
        f32 = "float32"
        mean = self.moving_mean if mean is None else mean
        var = self.moving_variance if var is None else var
        v = ops.add(ops.cast(var, f32), ops.convert_to_tensor(np.float32(self.epsilon)))
        # torch's float32 sqrt is not correctly rounded (1 ulp off on ~1 value in 10); the
        # float64 root rounded to float32 is (53 ≥ 2·24 + 2 bits), on every backend and in numpy
        root = ops.cast(ops.sqrt(ops.cast(v, "float64")), f32)
        scale = ops.divide(ops.cast(self.gamma, f32), root)
        k = ops.multiply(ops.cast(self.kernel, f32), scale)
        m = ops.cast(mean, f32)
        centred = ops.subtract(ops.cast(self.bias, f32), m) if self.use_bias else ops.negative(m)
        return k, ops.add(ops.multiply(centred, scale), ops.cast(self.beta, f32))

    def _quantized(self, mean: Any = None, var: Any = None) -> tuple[Any, Any]:
        k, b = self.folded(mean, var)
        dt = self.compute_dtype
        return self.kernel_quantizer(ops.cast(k, dt)), self.bias_quantizer(ops.cast(b, dt))

    def qkernel(self) -> Any:
        """The quantized folded kernel of the inference network (moving statistics)."""
        return self._quantized()[0]

    def qbias(self) -> Any:
        return self._quantized()[1]

    def call(self, x: Any, training: bool | None = None) -> Any:
        mean = var = None
        if training:
            y0 = self._linear(x, self.kernel)
            if self.use_bias:
                y0 = y0 + self.bias
            axes = tuple(range(len(y0.shape) - 1))
            mean, var = ops.mean(y0, axis=axes), ops.var(y0, axis=axes)
            mom = self.momentum
            self.moving_mean.assign(ops.cast(self.moving_mean * mom + ops.stop_gradient(mean) * (1.0 - mom),
                                             self.moving_mean.dtype))
            self.moving_variance.assign(ops.cast(self.moving_variance * mom + ops.stop_gradient(var) * (1.0 - mom),
                                                 self.moving_variance.dtype))
        k, b = self._quantized(mean, var)
        return self._finish(self._linear(x, k), k, b)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="hlsforge")
class QDenseBatchNorm(_BatchNormFold, QDense):
    """QDense followed by batch normalization, folded into the quantized kernel and bias."""


@keras.saving.register_keras_serializable(package="hlsforge")
class QConv1DBatchNorm(_BatchNormFold, QConv1D):
    """QConv1D followed by batch normalization, folded into the quantized kernel and bias."""


@keras.saving.register_keras_serializable(package="hlsforge")
class QConv2DBatchNorm(_BatchNormFold, QConv2D):
    """QConv2D followed by batch normalization, folded into the quantized kernel and bias."""


BN_LAYERS = (QDenseBatchNorm, QConv1DBatchNorm, QConv2DBatchNorm)
