"""ConvTranspose 1D/2D/3D (issue 12). Conv/MaxPool/AveragePool on 3D inputs are the window
converters of ``convert_nn`` (they pick Conv3D/MaxPool3D/AvgPool3D by rank).

The ONNX weight ``(C_in, C_out/group, *k)`` becomes the IR kernel ``(C_in, *k, C_out/group)``
(per group, the matrix the CPU backend's GEMM reads). Pads follow ONNX Runtime: explicit
``pads``, or from ``output_shape`` / ``auto_pad`` the total padding
``stride * (in - 1) + output_padding + dilation * (k - 1) + 1 - out`` split with the odd
element at the end for SAME_UPPER, else at the start (the ONNX spec, which ONNX Runtime and the
backend node tests follow). A negative total
(an output larger than the full result) extends the end through ``output_padding``.
"""

from __future__ import annotations

import numpy as np

from ...ir.ops import ConvTransposeAttrs, Op
from .context import NodeContext
from .convert_nn import _spatial, _window
from .registry import converter


def _pads(nc: NodeContext, sizes: list[int], kernel: tuple[int, ...], strides: tuple[int, ...],
          dilations: tuple[int, ...], out_pad: list[int]) -> list[tuple[int, int]]:
    nsp = len(sizes)
    auto = nc.attr("auto_pad", "NOTSET")
    output_shape = nc.ints("output_shape", None)
    if output_shape is None and auto in ("NOTSET", "", "VALID"):
        if auto == "VALID":
            return [(0, 0)] * nsp
        pads = nc.ints("pads", (0,) * (2 * nsp))
        if pads is None or len(pads) != 2 * nsp or any(p < 0 for p in pads):
            raise nc.malformed(f"pads {pads} must list {2 * nsp} non-negative values (begins, then ends)")
        return [(pads[i], pads[i + nsp]) for i in range(nsp)]
    if auto not in ("NOTSET", "", "SAME_UPPER", "SAME_LOWER", "VALID"):
        raise nc.malformed(f"unknown auto_pad {auto!r}")
    if output_shape is not None:
        want = list(output_shape[-nsp:])
        if len(want) != nsp:
            raise nc.malformed(f"output_shape {output_shape} must give {nsp} spatial sizes")
    else:
        want = [sizes[i] * strides[i] for i in range(nsp)]
    out = []
    for i in range(nsp):
        total = strides[i] * (sizes[i] - 1) + out_pad[i] + dilations[i] * (kernel[i] - 1) + 1 - want[i]
        if total < 0:  # the output reaches past the full result: extend the end
            out_pad[i] -= total
            out.append((0, 0))
            continue
        head = total // 2 if auto == "SAME_UPPER" else total - total // 2
        out.append((head, total - head))
    return out


@converter("ConvTranspose", 1)
def _conv_transpose(nc: NodeContext) -> None:
    x = nc.act(0)
    nsp = _spatial(nc, "ConvTranspose")
    c_in, *sizes = nc.shape(0)
    w = nc.const_floats(1, "W")
    group = int(nc.attr("group", 1))
    if w.ndim != nsp + 2 or w.shape[0] != c_in or group < 1 or c_in % group:
        raise nc.malformed(f"weight shape {w.shape} with group={group} does not fit {c_in} input channels")
    kernel = nc.ints("kernel_shape", tuple(w.shape[2:]))
    if kernel != tuple(w.shape[2:]):
        raise nc.malformed(f"kernel_shape {kernel} does not match the weight shape {w.shape}")
    strides = _window(nc, nsp, "strides", 1)
    dilations = _window(nc, nsp, "dilations", 1)
    out_pad = list(_window(nc, nsp, "output_padding", 0))
    if any(p < 0 for p in out_pad):
        raise nc.malformed(f"output_padding {out_pad} must be non-negative")
    pads = _pads(nc, sizes, kernel, strides, dilations, out_pad)  # type: ignore[arg-type]
    c_out = w.shape[1] * group
    bias = nc.const_floats(2, "B") if nc.has_input(2) else np.zeros(c_out)
    if bias.shape != (c_out,):
        raise nc.malformed(f"bias shape {bias.shape} must be ({c_out},)")
    k = np.transpose(w, (0, *range(2, 2 + nsp), 1))  # (C_in, C_out/g, *K) -> (C_in, *K, C_out/g)
    attrs = ConvTransposeAttrs(tuple(kernel), strides, dilations, tuple(pads), tuple(out_pad), group)
    op = (Op.CONV_TRANSPOSE1D, Op.CONV_TRANSPOSE2D, Op.CONV_TRANSPOSE3D)[nsp - 1]
    y = nc.emit(op, [nc.to_channels_last(x), nc.constant("kernel", k), nc.constant("bias", bias)], attrs)
    nc.to_channels_first(y)
