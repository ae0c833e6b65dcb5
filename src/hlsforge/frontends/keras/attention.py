"""Keras MultiHeadAttention (issue 12) as IR ops: per-head projections are Dense layers,
heads are split with Reshape + Transpose, and attention is BatchMatMul, Softmax, BatchMatMul.

Supported: rank-3 ``(batch, T, D)`` query and value (key = value unless given), the default
attention axes (the sequence), ``use_bias`` either way, no gate, no ``output_shape``, no mask.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import UnsupportedOpError
from ...ir.ops import NoAttrs, Op, ReshapeAttrs, SoftmaxAttrs, TransposeAttrs
from .builder import Builder, Converter, LayerCall


def _proj(ctx: Builder, call: LayerCall, x: str, sub: str, part: str, heads: int) -> tuple[str, int]:
    """Dense projection of ``x (T, D)`` by sublayer ``sub`` into ``(heads, T, dim)``."""
    arrays = call.weights.child(sub).arrays()
    kernel = np.asarray(arrays.get("kernel", arrays.get("0")), np.float64)
    d_in, h, dim = kernel.shape
    bias = np.asarray(arrays.get("bias", arrays.get("1")), np.float64).reshape(h * dim) if call.get("use_bias", True) \
        else np.zeros(h * dim)
    t = ctx.shape(x)[0]
    y = ctx.node(call, Op.DENSE, [x, ctx.const(call, f"{part}_kernel", kernel.reshape(d_in, h * dim)),
                                  ctx.const(call, f"{part}_bias", bias)], part=part)
    y = ctx.node(call, Op.RESHAPE, [y], ReshapeAttrs((t, h, dim)), part=f"{part}_heads")
    return ctx.node(call, Op.TRANSPOSE, [y], TransposeAttrs((1, 0, 2)), part=f"{part}_hfirst"), dim


def multi_head_attention(ctx: Builder, call: LayerCall) -> str:
    if not 2 <= len(call.inputs) <= 3:
        raise UnsupportedOpError(f"{call.where}: expects query, value (and optionally key) tensors, got {len(call.inputs)}")
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[2] if len(call.inputs) == 3 else value
    for v in (query, value, key):
        if len(ctx.shape(v)) != 2:
            raise UnsupportedOpError(f"{call.where}: only (batch, sequence, features) inputs are supported")
    axes = call.get("attention_axes")
    if axes not in (None, [1], (1,)):
        raise UnsupportedOpError(f"{call.where}: attention_axes={axes}: only the sequence axis is supported")
    if call.get("use_gate", False) or call.get("output_shape") is not None:
        raise UnsupportedOpError(f"{call.where}: use_gate / output_shape are not supported")
    heads = int(call.get("num_heads"))
    q, kd = _proj(ctx, call, query, "query_dense", "q", heads)
    k, _ = _proj(ctx, call, key, "key_dense", "k", heads)
    v, vd = _proj(ctx, call, value, "value_dense", "v", heads)
    q = ctx.node(call, Op.MUL, [q, ctx.const(call, "scale", np.array([1.0 / math.sqrt(kd)]))], part="q_scaled")
    kt = ctx.node(call, Op.TRANSPOSE, [k], TransposeAttrs((0, 2, 1)), part="k_t")
    scores = ctx.node(call, Op.BATCH_MATMUL, [q, kt], NoAttrs(), part="scores")
    attn = ctx.node(call, Op.SOFTMAX, [scores], SoftmaxAttrs(2), part="softmax")
    y = ctx.node(call, Op.BATCH_MATMUL, [attn, v], NoAttrs(), part="weighted")
    t = ctx.shape(query)[0]
    y = ctx.node(call, Op.TRANSPOSE, [y], TransposeAttrs((1, 0, 2)), part="tfirst")
    y = ctx.node(call, Op.RESHAPE, [y], ReshapeAttrs((t, heads * vd)), part="merge")
    arrays = call.weights.child("output_dense").arrays()
    kernel = np.asarray(arrays.get("kernel", arrays.get("0")), np.float64)
    d_out = kernel.shape[-1]
    bias = np.asarray(arrays.get("bias", arrays.get("1")), np.float64).reshape(d_out) if call.get("use_bias", True) \
        else np.zeros(d_out)
    return ctx.node(call, Op.DENSE, [y, ctx.const(call, "o_kernel", kernel.reshape(heads * vd, d_out)),
                                     ctx.const(call, "o_bias", bias)], part="out")


CONVERTERS: dict[str, Converter] = {"MultiHeadAttention": multi_head_attention}
