"""CPU backend rules of the transposed and 3D window ops (issue 12): ConvTranspose1D/2D/3D,
Conv3D, MaxPool3D, AvgPool3D. ``lower.RULES``/``emit.RENDER`` merge :data:`RULES` and
:data:`RENDER`; ``lower.SCRATCH_OPS`` merges :data:`SCRATCH`.

One geometry for all of them: ``(d, h, w)`` spatial axes, 1D and 2D inputs being ``d = h = 1``.
ConvTranspose is one GEMM per group for every event of a chunk (``x . W`` into the node's
scratch) followed by col2im (each input position adds its tap rows into the output);
Conv3D is im2col in blocks of rows + the same GEMMs as Conv2D (sgemm for large products, the
register-tiled loop below). The scratch is an arena value the node writes, sized per event,
so a ``Session`` stays const, thread-safe and allocation-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from ..ir.graph import Node
from ..ir.ops import ConvAttrs, ConvTransposeAttrs, Op, PoolAttrs
from .lower import Activation, Step

if TYPE_CHECKING:
    from .emit import Writer
    from .lower import _Planner


@dataclass(frozen=True)
class Geometry3D:
    in_d: int
    in_h: int
    in_w: int
    c_in: int
    out_d: int
    out_h: int
    out_w: int
    c_out: int
    k_d: int
    k_h: int
    k_w: int
    s_d: int
    s_h: int
    s_w: int
    d_d: int
    d_h: int
    d_w: int
    pad_f: int  # begin pads (front, top, left) ...
    pad_t: int
    pad_l: int
    pad_k: int  # ... and end pads (back, bottom, right)
    pad_b: int
    pad_r: int
    groups: int


@dataclass(frozen=True)
class SpatialStep(Step):
    cfg: str
    kernel: str  # "conv_transpose" | "conv3d" | "maxpool3d" | "avgpool3d"
    x: str
    w: str
    b: str
    y: str
    scratch: str
    geometry: Geometry3D
    extra: tuple[tuple[str, str, str], ...]  # (C++ type, name, value) for the config struct
    activation: Activation | None = None


_TRANSPOSE = (Op.CONV_TRANSPOSE1D, Op.CONV_TRANSPOSE2D, Op.CONV_TRANSPOSE3D)


def _pad3(v: tuple[int, ...], fill: int) -> tuple[int, int, int]:
    return tuple([fill] * (3 - len(v)) + list(v))  # type: ignore[return-value]


def geometry(xs: tuple[int, ...], ys: tuple[int, ...], a: ConvAttrs | PoolAttrs | ConvTransposeAttrs) -> Geometry3D:
    nsp = len(a.kernel_shape)
    ins, outs = _pad3(xs[:nsp], 1), _pad3(ys[:nsp], 1)
    k, s = _pad3(a.kernel_shape, 1), _pad3(a.strides, 1)
    d = _pad3(getattr(a, "dilations", (1,) * nsp), 1)
    pb = _pad3(tuple(p[0] for p in a.pads), 0)
    pe = _pad3(tuple(p[1] for p in a.pads), 0)
    return Geometry3D(*ins, xs[-1], *outs, ys[-1], *k, *s, *d, *pb, *pe, getattr(a, "groups", 1))


def _scratch_name(node: Node) -> str:
    return f"{node.name} (scratch)"


def _conv3d_block_rows(p: _Planner, node: Node) -> int:
    kshape = p.shapes[node.inputs[1]]
    kdim = math.prod(kshape[:-1])
    positions = math.prod(p.shapes[node.outputs[0]][:-1])
    t = p.tuning
    return min(positions, max(t.dense_blas_min_rows, t.conv_im2col_block_floats // kdim))


def scratch(p: _Planner, node: Node) -> str:
    """Declare the node's working memory (floats per event): the GEMM's output columns of
    ConvTranspose, a block of im2col rows for Conv3D."""
    kshape = p.shapes[node.inputs[1]]
    if node.op in _TRANSPOSE:
        size = math.prod(p.shapes[node.inputs[0]][:-1]) * math.prod(kshape[1:])
    else:
        size = _conv3d_block_rows(p, node) * math.prod(kshape[:-1])
    name = _scratch_name(node)
    p.shapes[name] = (size,)
    return name


def _conv_like(p: _Planner, node: Node) -> Step:
    xs = p.x_shape(node)
    d, y = p.out(node)
    sc = p.declare(_scratch_name(node))
    geo = geometry(xs, d.shape, node.attrs)
    kshape = p.shapes[node.inputs[1]]
    t = p.tuning
    if node.op in _TRANSPOSE:
        a: ConvTransposeAttrs = node.attrs
        macs = kshape[0] // a.groups * math.prod(kshape[1:])
        # the GEMM (events x input positions rows): the register-tiled loop up to the Dense rule's
        # multiply-adds per row at every batch (measured on a 3-layer 4x4 -> 32x32 decoder: the
        # plain row loop it replaced stored each output row once per input channel), sgemm above
        extra = (("bool", "use_blas", "true" if macs > t.dense_loop_max_macs else "false"),
                 ("std::size_t", "blas_min_rows", str(t.dense_blas_min_rows)))
        kernel = "conv_transpose"
    else:
        kdim, cog = math.prod(kshape[:-1]), kshape[-1] // node.attrs.groups
        blas = 0 if kdim * cog <= t.dense_loop_max_macs else t.dense_blas_min_rows
        direct = kdim * cog <= t.conv_direct_max_macs  # few multiply-adds per position: no im2col copy
        extra = (("std::size_t", "block_rows", str(_conv3d_block_rows(p, node))),
                 ("std::size_t", "blas_min_rows", str(blas)), ("bool", "direct", "true" if direct else "false"))
        kernel = "conv3d"
    return SpatialStep(p.origin_fused(node), (d, sc), p.namer.ident("cfg", node.name), kernel, p.x(node),
                       p.weight(node.inputs[1]), p.weight(node.inputs[2]), y, sc.ident, geo, extra, p.fused(node))


def _pool3d(kind: str):  # noqa: ANN202 - a Rule
    def rule(p: _Planner, node: Node) -> Step:
        a: PoolAttrs = node.attrs
        d, y = p.out(node)
        geo = geometry(p.x_shape(node), d.shape, a)
        extra = (("bool", "count_include_pad", "true" if a.count_include_pad else "false"),)
        return SpatialStep(p.origin(node), (d,), p.namer.ident("cfg", node.name), kind, p.x(node), "", "", y, "",
                           geo, extra)

    return rule


def _render(s: SpatialStep, cfg: Writer, body: Writer) -> None:
    from .emit import _epilogue

    g = s.geometry
    names = [f.name for f in fields(g)]
    with cfg.block(f"struct {s.cfg}", "};"):
        for i in range(0, len(names), 8):
            part = names[i : i + 8]
            if s.kernel.endswith("pool3d"):
                part = [n for n in part if not n.startswith(("d_", "groups"))]
                part = ["c" if n == "c_in" else n for n in part if n != "c_out"]
            if part:
                vals = [getattr(g, "c_in" if n == "c" else n) for n in part]
                cfg.line("static constexpr std::size_t " + ", ".join(f"{n} = {v}" for n, v in zip(part, vals, strict=True))
                         + ";")
        for ctype, name, value in s.extra:
            cfg.line(f"static constexpr {ctype} {name} = {value};")
    if s.kernel == "maxpool3d" or s.kernel == "avgpool3d":
        flag = "true" if s.kernel == "maxpool3d" else "false"
        body.line(f"hlsforge_cpu::pool3d<{s.cfg}, {flag}>({s.x}, {s.y}, n);")
    else:
        body.line(f"hlsforge_cpu::{s.kernel}<{s.cfg}>({s.x}, {s.w}, {s.b}, {s.y}, n, {s.scratch}"
                  f"{_epilogue(s.activation)});")


RULES: dict[Op, object] = {
    **{op: _conv_like for op in (*_TRANSPOSE, Op.CONV3D)},
    Op.MAXPOOL3D: _pool3d("maxpool3d"),
    Op.AVGPOOL3D: _pool3d("avgpool3d"),
}
RENDER: dict[type, object] = {SpatialStep: _render}
SCRATCH: dict[Op, object] = {op: scratch for op in (*_TRANSPOSE, Op.CONV3D)}
FUSING = (*_TRANSPOSE, Op.CONV3D)
