"""Float reference rules of the transposed and 3D window ops (issue 12): ConvTranspose1D/2D/3D,
Conv3D, MaxPool3D, AvgPool3D. ``reference.RULES`` merges :data:`RULES`.

Conv3D and the 3D pools are the N-dimensional rules of ``reference.py`` (written for any
number of spatial axes). ConvTranspose scatters: every input position adds its
``x @ kernel[tap]`` at ``position * stride + tap * dilation`` of an uncropped output, which is
then cropped by the pads; float64 accumulation rounded once, like Conv.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ..ir.graph import Node
from ..ir.ops import ConvTransposeAttrs, Op

Array = np.ndarray


def conv_transpose(node: Node, ins: Sequence[Array]) -> Array:
    x, k, b = (np.asarray(v, np.float64) for v in ins)
    a: ConvTransposeAttrs = node.attrs
    nsp = len(a.kernel_shape)
    n, spatial, c_in = x.shape[0], x.shape[1:-1], x.shape[-1]
    g = a.groups
    cig, cog = c_in // g, k.shape[-1]
    full = [(spatial[i] - 1) * a.strides[i] + a.dilations[i] * (a.kernel_shape[i] - 1) + 1 + a.output_padding[i]
            for i in range(nsp)]
    y = np.zeros((n, *full, g * cog))
    for tap in itertools.product(*(range(kk) for kk in a.kernel_shape)):
        sel = (slice(None),) + tuple(
            slice(tap[i] * a.dilations[i], tap[i] * a.dilations[i] + (spatial[i] - 1) * a.strides[i] + 1, a.strides[i])
            for i in range(nsp))
        for gi in range(g):
            w = k[(slice(gi * cig, (gi + 1) * cig),) + tap]  # (cig, cog)
            y[sel + (slice(gi * cog, (gi + 1) * cog),)] += x[..., gi * cig : (gi + 1) * cig] @ w
    crop = (slice(None),) + tuple(slice(a.pads[i][0], full[i] - a.pads[i][1]) for i in range(nsp))
    return (y[crop] + b).astype(np.float32)


def _window_rules() -> dict[Op, object]:
    from ..reference import _conv, _pool  # the N-dimensional window rules

    return {
        Op.CONV3D: _conv,
        Op.MAXPOOL3D: lambda n, ins: _pool(n, ins, "max"),
        Op.AVGPOOL3D: lambda n, ins: _pool(n, ins, "avg"),
    }


RULES: dict[Op, object] = {
    Op.CONV_TRANSPOSE1D: conv_transpose,
    Op.CONV_TRANSPOSE2D: conv_transpose,
    Op.CONV_TRANSPOSE3D: conv_transpose,
}
WEIGHT_OPS = (Op.CONV_TRANSPOSE1D, Op.CONV_TRANSPOSE2D, Op.CONV_TRANSPOSE3D, Op.CONV3D)
