"""PyTorch frontend: export the module to ONNX in memory, then import it with the ONNX frontend.

Going through ONNX keeps one importer for PyTorch's op semantics (``torch.onnx.export`` is
PyTorch's own statement of what each module computes). The TorchScript-based exporter is
used (``dynamo=False``) because the dynamo exporter needs ``onnxscript``, which hlsforge does
not require. Inputs keep PyTorch's layout (NCHW for CNNs) for the user; the ONNX frontend
records the permutation to the IR's channels-last layout.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

from ..errors import ModelFormatError, UnsupportedOpError
from ..ir.graph import Graph

DEFAULT_OPSET = 17


def _shapes(input_shape: Any) -> list[tuple[int, ...]]:
    """One shape (ints, batch excluded) or a sequence of shapes, as a list of tuples."""
    if input_shape is None:
        raise ModelFormatError(
            "a PyTorch module does not declare its input shape: pass input_shape=(C, H, W) "
            "(batch excluded), or a list of shapes for several inputs"
        )
    if isinstance(input_shape, Sequence) and all(isinstance(d, int) for d in input_shape):
        shapes = [tuple(input_shape)]
    elif isinstance(input_shape, Sequence) and all(
        isinstance(s, Sequence) and all(isinstance(d, int) for d in s) for s in input_shape
    ):
        shapes = [tuple(s) for s in input_shape]
    else:
        raise ModelFormatError(f"input_shape must be a tuple of ints or a list of such tuples, got {input_shape!r}")
    if any(d < 1 for s in shapes for d in s):
        raise ModelFormatError(f"input_shape {input_shape!r} has a non-positive dimension")
    return shapes


def _positional(module: Any, n_inputs: int) -> Any:
    """``module`` itself, or a wrapper that calls it with the inputs only when its ``forward``
    takes more parameters: the TorchScript exporter fills the top-level module's defaults in as
    traced tensors, and ``nn.TransformerEncoderLayer`` then fails inside torch
    (``scaled_dot_product_attention``: ``is_causal`` must be bool, not Tensor)."""
    import inspect

    import torch

    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return module
    named = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if len(named) <= n_inputs:
        return module

    class _Call(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.module = module

        def forward(self, *xs: Any) -> Any:
            return self.module(*xs)

    return _Call()


def export_onnx(module: Any, input_shape: Any, *, opset: int = DEFAULT_OPSET) -> Any:
    """``torch.onnx.export`` into memory with a dynamic batch; returns the ``onnx.ModelProto``."""
    import onnx
    import torch

    if not isinstance(module, torch.nn.Module):
        raise ModelFormatError(f"expected a torch.nn.Module, got {type(module).__name__}")
    shapes = _shapes(input_shape)
    target = _positional(module, len(shapes))
    names = ["input"] if len(shapes) == 1 else [f"input_{i}" for i in range(len(shapes))]
    dummies = tuple(torch.zeros((1, *s), dtype=torch.float32) for s in shapes)
    buf = io.BytesIO()
    was_training = module.training
    try:
        target.eval()
        with torch.no_grad():
            probe = target(*dummies)
        n_out = len(probe) if isinstance(probe, (tuple, list)) else 1
        out_names = ["output"] if n_out == 1 else [f"output_{i}" for i in range(n_out)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(  # a BytesIO target is accepted at run time
                target, dummies, buf, opset_version=opset, dynamo=False,  # type: ignore[arg-type]
                input_names=names, output_names=out_names,
                dynamic_axes={n: {0: "batch"} for n in names + out_names},
            )
    except torch.onnx.errors.UnsupportedOperatorError as e:
        raise UnsupportedOpError(f"PyTorch module {type(module).__name__}: {e}") from None
    except (RuntimeError, TypeError, ValueError) as e:
        raise ModelFormatError(
            f"torch.onnx.export failed for {type(module).__name__} with input_shape={input_shape!r}: {e}"
        ) from None
    finally:
        module.train(was_training)
    proto = onnx.load_from_string(buf.getvalue())
    proto.graph.name = type(module).__name__
    return proto


def from_torch(module: Any, input_shape: Any, *, opset: int = DEFAULT_OPSET) -> Graph:
    """Convert a ``torch.nn.Module`` (evaluated in eval mode) for inputs of ``input_shape``.

    ``input_shape`` excludes the batch, e.g. ``(3, 32, 32)`` for an NCHW image, or is a list of
    shapes for a module with several inputs. The graph takes inputs in PyTorch's layout.
    """
    from .onnx import load_onnx

    graph = load_onnx(export_onnx(module, input_shape, opset=opset))
    graph.source_format = "torch"
    return graph
