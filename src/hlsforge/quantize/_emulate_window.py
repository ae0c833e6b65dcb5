"""Sliding windows over channels-last raw arrays, for the emulator's Conv and pooling rules.

Window geometry is the catalogue's (``ir.ops.conv_output_length``, the formula ONNX, Keras
and PyTorch share): explicit ``(begin, end)`` zero padding, strides, dilations and, for
pooling, ``ceil_mode`` (extra taps past the end padding, which never count).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..ir.ops import conv_output_length

Pads = Sequence[tuple[int, int]]


def output_lengths(spatial: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                   dilations: Sequence[int], pads: Pads, ceil: bool = False) -> tuple[int, ...]:
    return tuple(
        conv_output_length(spatial[i], kernel[i], strides[i], dilations[i], (pads[i][0], pads[i][1]), ceil)
        for i in range(len(kernel))
    )


def windows(x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int],
            pads: Pads, ceil: bool, fill: int) -> np.ndarray:
    """Windows of a batch ``(N, *spatial, C)``: ``(N, *out, *kernel, C)``, taps in
    ``(k0, k1, ...)`` C order, padding (and ceil-mode overhang) filled with ``fill``."""
    nsp = len(kernel)
    spatial = x.shape[1 : 1 + nsp]
    out = output_lengths(spatial, kernel, strides, dilations, pads, ceil)
    spans = [dilations[i] * (kernel[i] - 1) + 1 for i in range(nsp)]
    widths = [(0, 0)]
    for i in range(nsp):
        need = (out[i] - 1) * strides[i] + spans[i]
        extra = max(0, need - (spatial[i] + pads[i][0] + pads[i][1]))
        widths.append((pads[i][0], pads[i][1] + extra))
    widths.append((0, 0))
    xp = np.pad(x, widths, constant_values=fill)
    win = sliding_window_view(xp, spans, axis=tuple(range(1, 1 + nsp)))  # (N, *P, C, *spans)
    sel = tuple(slice(0, (out[i] - 1) * strides[i] + 1, strides[i]) for i in range(nsp))
    taps = tuple(slice(None, None, dilations[i]) for i in range(nsp))
    win = win[(slice(None),) + sel + (slice(None),) + taps]
    return np.moveaxis(win, 1 + nsp, -1)


def tap_counts(spatial: Sequence[int], kernel: Sequence[int], strides: Sequence[int], pads: Pads,
               ceil: bool, include_pad: bool) -> np.ndarray:
    """Divisor of each pooling window ``(*out,)``: the taps inside the input, or with
    ``include_pad`` also those in the explicit padding (never the ceil-mode overhang)."""
    nsp = len(kernel)
    out = output_lengths(spatial, kernel, strides, (1,) * nsp, pads, ceil)
    per_axis = []
    for i in range(nsp):
        start = np.arange(out[i]) * strides[i] - pads[i][0]
        pos = start[:, None] + np.arange(kernel[i])[None, :]
        lo, hi = (-pads[i][0], spatial[i] + pads[i][1]) if include_pad else (0, spatial[i])
        per_axis.append(((pos >= lo) & (pos < hi)).sum(axis=1))
    counts = per_axis[0]
    for c in per_axis[1:]:
        counts = np.multiply.outer(counts, c)
    return np.asarray(counts, dtype=np.int64)
