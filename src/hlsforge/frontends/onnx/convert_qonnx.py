"""QONNX quantizers (``Quant``, ``IntQuant``, ``BipolarQuant``) inside an ONNX model.

QONNX (and Brevitas' QONNX export) put these custom ops, in the domains of
:data:`hlsforge.frontends.qonnx.QONNX_DOMAINS`, on activations and on weights. Their meaning
and the mapping to exact fixed-point types live in :mod:`hlsforge.frontends.qonnx`; this
module only connects them to the import:

- on an activation, the quantizer becomes its IR chain (one ``Quantize`` node, or the sign
  chain of ``BipolarQuant``), the last node producing the ONNX output under its own name;
- on a known tensor (a weight), it is evaluated at import — not by ``onnx.reference``, which
  does not know these domains — and the result is bound as a known value *with its fixed-point
  type*, which the converter of the layer reading it puts on the IR constant, so that
  ``quantize.configure`` keeps the model's weight type instead of the configured one.
"""

from __future__ import annotations

import numpy as np

from ..qonnx import QONNX_DOMAINS, quant_steps, quantize_constant
from .context import NodeContext

__all__ = ["QONNX_DOMAINS", "convert_qonnx", "is_qonnx"]


def is_qonnx(nc: NodeContext) -> bool:
    return nc.domain in QONNX_DOMAINS


def _parameters(nc: NodeContext) -> dict[str, np.ndarray]:
    """The known inputs after the first (scale, zero point, bit width) by ONNX name."""
    out: dict[str, np.ndarray] = {}
    for i in range(1, nc.n_inputs):
        k = nc.known(i)
        if k is not None:
            out[nc.node.input[i]] = nc.const_floats(i, f"input {i}")
    return out


def convert_qonnx(nc: NodeContext) -> None:
    """Translate one node of a QONNX domain (see the module docstring)."""
    params = _parameters(nc)
    if nc.known(0) is not None:
        values, t = quantize_constant(nc.node, nc.const_floats(0, "quantized tensor"), params, nc.opset)
        nc.bind_known(0, values, t)
        return
    x = nc.act(0)
    steps = quant_steps(nc.node, params, nc.opset)
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        inputs = [x]
        if step.const is not None:
            inputs.append(nc.constant(step.part or step.op.value.lower(), np.array([step.const])))
        x = nc.emit(step.op, inputs, step.attrs, out=0 if last else None, tag="" if last else step.part)
