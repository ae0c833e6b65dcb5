"""Gradients on whichever Keras backend is active (TensorFlow, PyTorch or JAX)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np


def gradients(fn: Callable[[], Any], variables: Sequence[Any]) -> tuple[float, list[np.ndarray]]:
    """``(value, [d value / d v])`` of a scalar function of keras variables."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            y = fn()
        gs = tape.gradient(y, [v.value for v in variables])
        return float(y), [np.zeros(v.shape) if g is None else np.asarray(g) for g, v in zip(gs, variables, strict=True)]
    if backend == "torch":
        import torch

        for v in variables:
            if v.value.grad is not None:
                v.value.grad = None
        y = fn()
        gs = torch.autograd.grad(y, [v.value for v in variables], allow_unused=True)
        return float(y), [np.zeros(v.shape) if g is None else g.detach().cpu().numpy() for g, v in zip(gs, variables, strict=True)]
    if backend == "jax":  # pragma: no cover - only where jax is installed
        import jax

        values = [v.value for v in variables]

        def pure(vals: list[Any]) -> Any:
            for v, val in zip(variables, vals, strict=True):
                v.assign(val)
            return fn()

        y, gs = jax.value_and_grad(lambda vals: pure(vals))(values)
        for v, val in zip(variables, values, strict=True):
            v.assign(val)
        return float(y), [np.asarray(g) for g in gs]
    raise NotImplementedError(backend)
