"""Keras Conv3D, Conv1D/2D/3DTranspose, MaxPooling3D/AveragePooling3D, GlobalMax/AveragePooling3D,
ZeroPadding3D and UpSampling1D/2D/3D (nearest) (issue 12): their own converter module, merged
into ``layers.CONVERTERS``, so live models and saved files (``.keras``, ``.h5``, JSON) read them
alike.

Keras' transposed convolution has the output length
``(n - 1) * s + k_eff - 2 * pad + output_padding`` with ``pad = k_eff // 2`` for ``same`` when
``output_padding`` is given, else ``n * s + max(k_eff - s, 0)`` (valid) / ``n * s`` (same); the
crop at the start is TensorFlow's: half the total padding ``max((n - 1) * s + k_eff - L, 0)``,
rounded down. What the crop leaves beyond the full result becomes the IR's ``output_padding``.
UpSampling repeats every position ``size`` times: a Gather with constant indices per axis,
as ONNX Resize imports.
"""

from __future__ import annotations

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.ops import ConvAttrs, ConvTransposeAttrs, GatherAttrs, Op
from .activations import apply_activation
from .builder import Builder, LayerCall
from .layers import (
    Converter,
    _affine,
    _bias,
    _channels_first,
    _global_pool,
    _ints,
    _pool,
    _window_pads,
    _zero_padding,
    conv_prologue,
    identity,
)


def _conv3d(ctx: Builder, call: LayerCall) -> str:
    x, cf, k, ksize = conv_prologue(ctx, call, 3)
    strides = _ints(call, "strides", 3, 1)
    dil = _ints(call, "dilation_rate", 3, 1)
    groups = int(call.get("groups", 1) or 1)
    pads = _window_pads(call, ctx.shape(x)[:3], ksize, strides, dil)
    y = _affine(ctx, call, Op.CONV3D, x, k, _bias(call, k.values.shape[-1]), ConvAttrs(ksize, strides, dil, pads, groups),
                "conv")
    y = apply_activation(ctx, call, y, call.get("activation"), part="act")
    return ctx.to_channels_first(call, y) if cf else y


def transpose_geometry(n: int, k: int, s: int, d: int, padding: str, output_padding: int | None) -> tuple[tuple[int, int], int]:
    """``((crop_begin, crop_end), extra_end)`` of one axis of a Keras ConvNDTranspose."""
    k_eff = d * (k - 1) + 1
    if output_padding is None:
        length = n * s + max(k_eff - s, 0) if padding == "valid" else n * s
    else:
        pad = k_eff // 2 if padding == "same" else 0
        length = (n - 1) * s + k_eff - 2 * pad + output_padding
    full = (n - 1) * s + k_eff
    begin = max(full - length, 0) // 2
    end = full - length - begin
    return (begin, max(end, 0)), max(-end, 0)


def _conv_transpose(nsp: int) -> Converter:
    op = (Op.CONV_TRANSPOSE1D, Op.CONV_TRANSPOSE2D, Op.CONV_TRANSPOSE3D)[nsp - 1]

    def conv(ctx: Builder, call: LayerCall) -> str:
        x, cf, k, ksize = conv_prologue(ctx, call, nsp)
        padding = str(call.get("padding", "valid")).lower()
        if padding not in ("valid", "same"):
            raise UnsupportedOpError(f"{call.where}: padding={padding!r} is not supported (valid, same)")
        strides = _ints(call, "strides", nsp, 1)
        dil = _ints(call, "dilation_rate", nsp, 1)
        out_pad = _ints(call, "output_padding", nsp, None) if call.get("output_padding") is not None else (None,) * nsp
        spatial = ctx.shape(x)[:nsp]
        geo = [transpose_geometry(spatial[i], ksize[i], strides[i], dil[i], padding, out_pad[i]) for i in range(nsp)]
        # Keras (*k, C_out, C_in) -> IR (C_in, *k, C_out)
        kernel = np.transpose(k.values, (nsp + 1, *range(nsp), nsp))
        kt = type(k)(kernel, k.type, k.scale)
        attrs = ConvTransposeAttrs(ksize, strides, dil, tuple(g[0] for g in geo), tuple(g[1] for g in geo), 1)
        y = _affine(ctx, call, op, x, kt, _bias(call, kernel.shape[-1]), attrs, "conv_transpose")
        y = apply_activation(ctx, call, y, call.get("activation"), part="act")
        return ctx.to_channels_first(call, y) if cf else y

    return conv


def _upsampling(nsp: int) -> Converter:
    def up(ctx: Builder, call: LayerCall) -> str:
        x = call.inputs[0]
        interp = str(call.get("interpolation", "nearest")).lower()
        if interp != "nearest":
            raise UnsupportedOpError(f"{call.where}: interpolation={interp!r} is not supported (nearest)")
        size = _ints(call, "size", nsp, 2)
        offset = 1 if nsp > 1 and _channels_first(call) else 0
        shape = ctx.shape(x)
        for i in range(nsp):
            if size[i] < 1:
                raise ModelFormatError(f"{call.where}: size {size} must be positive")
            if size[i] == 1:
                continue
            n = shape[i + offset]
            idx = tuple(j // size[i] for j in range(n * size[i]))
            x = ctx.node(call, Op.GATHER, [x], GatherAttrs(i + offset, idx), part=f"repeat{i}")
        return x

    return up


CONVERTERS: dict[str, Converter] = {
    "Conv3D": _conv3d,
    "Convolution3D": _conv3d,
    "Conv1DTranspose": _conv_transpose(1),
    "Conv2DTranspose": _conv_transpose(2),
    "Conv3DTranspose": _conv_transpose(3),
    "Convolution2DTranspose": _conv_transpose(2),
    "Convolution3DTranspose": _conv_transpose(3),
    "Deconvolution2D": _conv_transpose(2),
    "Deconvolution3D": _conv_transpose(3),
    "MaxPooling3D": _pool(Op.MAXPOOL3D, 3),
    "MaxPool3D": _pool(Op.MAXPOOL3D, 3),
    "AveragePooling3D": _pool(Op.AVGPOOL3D, 3),
    "AvgPool3D": _pool(Op.AVGPOOL3D, 3),
    "GlobalMaxPooling3D": _global_pool(Op.GLOBAL_MAXPOOL),
    "GlobalMaxPool3D": _global_pool(Op.GLOBAL_MAXPOOL),
    "GlobalAveragePooling3D": _global_pool(Op.GLOBAL_AVGPOOL),
    "GlobalAvgPool3D": _global_pool(Op.GLOBAL_AVGPOOL),
    "ZeroPadding3D": _zero_padding(3),
    "UpSampling1D": _upsampling(1),
    "UpSampling2D": _upsampling(2),
    "UpSampling3D": _upsampling(3),
    "SpatialDropout3D": identity,
}
