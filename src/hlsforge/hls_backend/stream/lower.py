"""Lowering for ``io_type="io_stream"``: a quantized graph → ``HlsModel`` records of a DATAFLOW
design whose layers are connected by ``hls::stream`` FIFOs.

Why a module of its own: the arithmetic of every layer is the io_parallel one (the rules here
reuse the io_parallel rules for types, constants and configs and only change how data moves),
while the data movement — beats, FIFOs, clones of streams read twice, line buffers — is
specific to streaming. A tensor of shape (..., C) travels as one beat per position with its C
channels packed (``hlsforge::beat<T, C>``); a rank-1 tensor keeps its producer's beat width
(a Flatten does not repack), and Dense collects as many beats as it needs.

FIFO depths start at their upper bound (every beat of one inference); ``fifo.size_fifos``
replaces them by the occupancy measured in the C simulation plus a margin.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ...errors import UnsupportedOpError
from ...float_only import FLOAT_ONLY
from ...ir.graph import Graph, Node
from ...ir.index_maps import INDEX_OPS, source_index
from ...ir.ops import ConvAttrs, Op, PadAttrs
from ..lower import (
    RULES as PARALLEL_RULES,
)
from ..lower import (
    _Ctx,
    _Layer,
    _Parts,
    _Port,
    _u,
    broadcast_index,
    cpp_type,
    model_identifier,
    pad_index,
    transpose_index,
)
from ..names import NameScope
from ..records import Buffer, Call, ConfigStruct, HlsModel, Layer, Port, StreamDecl, TypeDef
from ..recurrent import MULTI_OUTPUT_OPS

IO_TYPES = ("io_parallel", "io_stream")

_STREAM_HEADER = "hlsforge_kernels/stream_common.h"


@dataclass
class _Beat:
    """How a value travels: ``beat`` values per beat, ``n_beats`` beats, typedef ``type_name``."""

    beat: int
    n_beats: int
    type_name: str


@dataclass
class _StreamCtx(_Ctx):
    beats: dict[str, _Beat] = field(default_factory=dict)
    leaves: dict[str, list[str]] = field(default_factory=dict)  # value -> FIFOs left to hand out


class _StreamLayer(_Layer):
    """A ``_Layer`` whose inputs are FIFOs: each read of a value gets its own FIFO (a clone)."""

    def __init__(self, ctx: _StreamCtx, node: Node, ident: str, out: _Port) -> None:
        super().__init__(ctx, node, ident, out)
        self.sctx = ctx
        self._taken: dict[int, _Port] = {}
        # multi-output ops (recurrent cells): beat typedefs of the outputs after the first,
        # named before the rule runs; their beat widths, set by the rule
        self.extra_beat_types: list[str] = []
        self.extra_beats: list[int] = []
        # FIFOs a rule adds inside its layer (a Concat's constant inputs as streams)
        self.local_streams: list[StreamDecl] = []

    def input(self, i: int) -> _Port:
        if i not in self._taken:
            name = self.node.inputs[i]
            base = self.ctx.env[name]
            leaves = self.sctx.leaves.get(name)
            if not leaves:
                raise UnsupportedOpError(
                    f"{self.node.describe()}: io_stream has no FIFO left for input {name!r}"
                )
            self._taken[i] = _Port(leaves.pop(0), base.type_name, base.value)
        return self._taken[i]

    def beat_in(self, i: int) -> _Beat:
        return self.sctx.beats[self.node.inputs[i]]


def _unsupported(layer: _StreamLayer, why: str) -> UnsupportedOpError:
    return UnsupportedOpError(
        f"{layer.node.describe()}: {why} in io_stream; use io_type='io_parallel' for this model"
    )


def _with_ints(cfg: ConfigStruct, changes: dict[str, int], extra: list[tuple[str, str, int | str]]) -> ConfigStruct:
    ints = [(t, n, changes.get(n, v)) for t, n, v in cfg.ints]
    return replace(cfg, ints=tuple(ints) + tuple(extra))


# ----------------------------------------------------------------------------- rules
# A rule returns (parts, output beat width, initiation interval).

_Rule = Callable[[_StreamLayer], tuple[_Parts, int, int]]


def _elementwise(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    """Any io_parallel element-wise rule, applied beat by beat (``hlsforge::stream_map``)."""
    parts = PARALLEL_RULES[layer.node.op](layer)
    b = layer.beat_in(0)
    (call,) = parts.calls
    (cfg,) = parts.configs
    changes = {"n_in": b.beat, "multiplier_limit": b.beat}
    n_chan = dict((n, v) for _, n, v in cfg.ints).get("n_chan")
    if isinstance(n_chan, int) and b.beat % n_chan:
        raise _unsupported(layer, f"a per-channel layer over {n_chan} values on beats of {b.beat}")
    cfg = _with_ints(cfg, changes, [_u("n_beats", b.n_beats)])
    tag = "hlsforge::k_" + call.kernel.split("::")[-1]
    return _Parts(
        _STREAM_HEADER,
        [Call("hlsforge::stream_map", ("@in", "@out", cfg.name, tag), call.args)],
        typedefs=parts.typedefs, configs=[cfg], arrays=parts.arrays, scalars=parts.scalars,
    ), b.beat, 1


def _quantize(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    if layer.node.attrs.elements is None:
        return _elementwise(layer)
    from ..quantize_elements import stream_quantize_elements  # per-channel / per-element types

    b = layer.beat_in(0)
    parts, beat = stream_quantize_elements(layer, b.beat, b.n_beats, lambda why: _unsupported(layer, why))
    return parts, beat, 1


def _softmax(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    parts = PARALLEL_RULES[Op.SOFTMAX](layer)
    b = layer.beat_in(0)
    n_in = layer.value(0).shape[-1]
    if b.beat != n_in:
        raise _unsupported(layer, f"a softmax over {n_in} values arriving in beats of {b.beat}")
    (call,) = parts.calls
    (cfg,) = parts.configs
    cfg = _with_ints(cfg, {"n_rows": 1}, [_u("n_beats", b.n_beats)])
    tag = "hlsforge::k_" + call.kernel.split("::")[-1]
    return _Parts(
        _STREAM_HEADER, [Call("hlsforge::stream_map", ("@in", "@out", cfg.name, tag), call.args)],
        typedefs=parts.typedefs, configs=[cfg], arrays=parts.arrays, scalars=parts.scalars,
    ), b.beat, 1


def _repack(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    """Flatten / Reshape: values unchanged (cast into the result type), beats regrouped when
    the new last axis asks for another width."""
    b = layer.beat_in(0)
    out_shape = layer.out.value.shape
    beat = out_shape[-1] if len(out_shape) >= 2 else b.beat
    if layer.out.value.size % beat:
        beat = b.beat
    cfg = layer.config("hlsforge::repack_config", [_u("n_elem", layer.out.value.size)])
    call = Call("hlsforge::stream_repack", ("@in", "@out", cfg.name), (layer.input(0).array, layer.out.array))
    return _Parts(_STREAM_HEADER, [call], configs=[cfg]), beat, 1


def _dense(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    b = layer.beat_in(0)
    n_in, n_out = layer.value(1).shape
    if n_in % b.beat:
        raise _unsupported(layer, f"a Dense over {n_in} inputs arriving in beats of {b.beat}")
    parts = PARALLEL_RULES[Op.DENSE](layer)
    (call,) = parts.calls
    (cfg,) = parts.configs
    rows = layer.value(0).size // n_in
    cfg = _with_ints(cfg, {"n_rows": 1}, [_u("n_stream_rows", rows)])
    new = Call("hlsforge::dense_stream", ("@in", "@out", cfg.name), call.args)
    return replace(parts, header="hlsforge_kernels/stream_dense.h", calls=[new], configs=[cfg]), n_out, parts.reuse_factor


def _conv(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    b = layer.beat_in(0)
    x = layer.value(0)
    if b.beat != x.shape[-1]:
        raise _unsupported(layer, "a convolution whose input beats are not one position each")
    parts = PARALLEL_RULES[layer.node.op](layer)
    a: ConvAttrs = layer.node.attrs
    g = a.groups
    c_out = layer.value(1).shape[-1]
    if g > 1:  # weights group-major: w[g][tap][filter] (conv_pixel reads one block per group)
        n_out = c_out // g
        n_in = layer.value(1).size // c_out
        perm = np.arange(n_in * c_out).reshape(n_in, g, n_out).transpose(1, 0, 2).reshape(-1)
        (call,) = parts.calls
        wname = call.args[2]
        arrays = []
        for arr in layer.arrays:
            if arr.name == wname:
                arr = replace(
                    arr,
                    values=tuple(arr.values[i] for i in perm),
                    raw_codes=tuple(arr.raw_codes[i] for i in perm) if arr.raw_codes else (),
                    comment=arr.comment + ", group-major (group, tap, filter)",
                )
            arrays.append(arr)
        layer.arrays[:] = arrays
    (call,) = parts.calls
    new = Call("hlsforge::conv_stream", ("@in", "@out", call.template_args[2]), call.args)
    return replace(parts, header="hlsforge_kernels/stream_conv.h", calls=[new]), c_out, parts.reuse_factor


def _pool(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    b = layer.beat_in(0)
    x = layer.value(0)
    if len(x.shape) < 2 or b.beat != x.shape[-1]:
        raise _unsupported(layer, "pooling whose input beats are not one position each")
    parts = PARALLEL_RULES[layer.node.op](layer)
    (call,) = parts.calls
    kind = "max" if "max" in call.kernel else "avg"
    glob = layer.node.op in (Op.GLOBAL_MAXPOOL, Op.GLOBAL_AVGPOOL)
    kernel = f"hlsforge::{'global_' if glob else ''}pool_{kind}_stream"
    new = Call(kernel, ("@in", "@out", call.template_args[2]), call.args)
    return replace(parts, header="hlsforge_kernels/stream_conv.h", calls=[new]), x.shape[-1], 1


def _merge(tag: str) -> _Rule:
    def rule(layer: _StreamLayer) -> tuple[_Parts, int, int]:
        out_shape = tuple(layer.out.value.shape)
        va, vb = layer.value(0), layer.value(1)
        if va.is_constant and vb.is_constant:
            raise _unsupported(layer, "an operation on two constants")
        if not va.is_constant and not vb.is_constant:
            ba, bb = layer.beat_in(0), layer.beat_in(1)
            if tuple(va.shape) != out_shape or tuple(vb.shape) != out_shape or ba.beat != bb.beat:
                raise _unsupported(layer, "broadcasting between two streams")
            cfg = layer.config("hlsforge::merge_config", [_u("n_out", layer.out.value.size), _u("n_beats", ba.n_beats)])
            call = Call(
                "hlsforge::merge_stream", (f"hlsforge::{tag}", "@in", "@in1", "@out", cfg.name),
                (layer.input(0).array, layer.input(1).array, layer.out.array),
            )
            return _Parts("hlsforge_kernels/stream_merge.h", [call], configs=[cfg]), ba.beat, 1
        ci = 0 if va.is_constant else 1
        si = 1 - ci
        bs = layer.beat_in(si)
        if tuple(layer.value(si).shape) != out_shape:
            raise _unsupported(layer, "a stream broadcast against a constant")
        from ..lower import _operand

        carr, ctype = _operand(layer, ci)
        idx = layer.index_array(
            "c_index", broadcast_index(tuple(layer.value(ci).shape), out_shape),
            f"broadcast {tuple(layer.value(ci).shape)} -> {out_shape}",
        )
        cfg = layer.config("hlsforge::merge_config", [_u("n_out", layer.out.value.size), _u("n_beats", bs.n_beats)])
        call = Call(
            "hlsforge::merge_const_stream",
            (f"hlsforge::{tag}", "true" if ci == 0 else "false", "@in", ctype, "@out", cfg.name),
            (layer.input(si).array, layer.out.array, carr, idx),
        )
        return _Parts("hlsforge_kernels/stream_merge.h", [call], configs=[cfg]), bs.beat, 1

    return rule


def _gather_rule(index_of: Callable[..., np.ndarray]) -> _Rule:
    def rule(layer: _StreamLayer) -> tuple[_Parts, int, int]:
        x = layer.value(0)
        out_shape = tuple(layer.out.value.shape)
        b = layer.beat_in(0)
        beat = out_shape[-1] if len(out_shape) >= 2 else b.beat
        if layer.out.value.size % beat:
            beat = 1
        index = index_of(layer.node, tuple(x.shape), out_shape)
        idx = layer.index_array("index", index, f"source index per output element ({x.size} = zero)")
        cfg = layer.config(
            "hlsforge::gather_stream_config", [_u("n_in", x.size), _u("n_out", layer.out.value.size)]
        )
        call = Call("hlsforge::stream_gather", ("@in", "@out", cfg.name), (layer.input(0).array, layer.out.array, idx))
        return _Parts(_STREAM_HEADER, [call], configs=[cfg]), beat, 1

    return rule


def _pad(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    """ZeroPadding1D/2D (spatial pads only) streams; any other Pad buffers the tensor."""
    a: PadAttrs = layer.node.attrs
    x = layer.value(0)
    b = layer.beat_in(0)
    rank = len(x.shape)
    if rank in (2, 3) and tuple(a.pads[-1]) == (0, 0) and b.beat == x.shape[-1]:
        out_shape = layer.out.value.shape
        if rank == 2:
            geo = dict(in_h=1, in_w=x.shape[0], out_h=1, out_w=out_shape[0], pad_top=0, pad_left=a.pads[0][0])
        else:
            geo = dict(
                in_h=x.shape[0], in_w=x.shape[1], out_h=out_shape[0], out_w=out_shape[1],
                pad_top=a.pads[0][0], pad_left=a.pads[1][0],
            )
        cfg = layer.config("hlsforge::zeropad_stream_config", [_u(k, v) for k, v in geo.items()])
        call = Call("hlsforge::stream_zeropad", ("@in", "@out", cfg.name), (layer.input(0).array, layer.out.array))
        return _Parts(_STREAM_HEADER, [call], configs=[cfg]), x.shape[-1], 1
    return _gather_rule(pad_index)(layer)


UNSUPPORTED: dict[Op, str] = {
    **FLOAT_ONLY,  # float-only op families (float_only.py)
    Op.TREE_ENSEMBLE: "a tree ensemble compares all its features at once and is already pipelined "
    "at II=1; it has no use for a stream of beats",
}
"""Ops with no io_stream kernel, and why (the op-coverage test reads this)."""

RULES: dict[Op, _Rule] = {
    Op.DENSE: _dense,
    Op.CONV1D: _conv,
    Op.CONV2D: _conv,
    Op.MAXPOOL1D: _pool,
    Op.MAXPOOL2D: _pool,
    Op.AVGPOOL1D: _pool,
    Op.AVGPOOL2D: _pool,
    Op.GLOBAL_MAXPOOL: _pool,
    Op.GLOBAL_AVGPOOL: _pool,
    Op.BATCHNORM: _elementwise,
    Op.RELU: _elementwise,
    Op.LEAKY_RELU: _elementwise,
    Op.CLIP: _elementwise,
    Op.SIGMOID: _elementwise,
    Op.HARD_SIGMOID: _elementwise,
    Op.TANH: _elementwise,
    Op.SOFTMAX: _softmax,
    Op.ELU: _elementwise,
    Op.SELU: _elementwise,
    Op.SOFTPLUS: _elementwise,
    Op.ADD: _merge("op_add"),
    Op.SUB: _merge("op_sub"),
    Op.MUL: _merge("op_mul"),
    Op.FLATTEN: _repack,
    Op.RESHAPE: _repack,
    Op.TRANSPOSE: _gather_rule(transpose_index),
    Op.PAD: _pad,
    Op.QUANTIZE: _quantize,
}
"""One io_stream rule per final op (the same op set as the io_parallel ``RULES``)."""

RULES.update({op: _gather_rule(source_index) for op in INDEX_OPS})  # Slice, Gather (issue 12)

from .recurrent import RULES as _RECURRENT_RULES  # noqa: E402 - GRU, LSTM, SimpleRNN, LayerNorm (issue 12)

RULES.update(_RECURRENT_RULES)

from .concat import RULES as _CONCAT_RULES  # noqa: E402 - Concat of N streams, any beat widths

RULES.update(_CONCAT_RULES)


# ----------------------------------------------------------------------------- driver


def _input_beat(shape: tuple[int, ...]) -> int:
    return shape[-1] if len(shape) >= 2 else max(math.prod(shape), 1)


def _clone_chain(
    scope: NameScope, src: str, beat: _Beat, readers: int, base: str, first_leaf: str | None = None
) -> tuple[list[str], list[Call], list[StreamDecl], list[ConfigStruct]]:
    """FIFOs for ``readers`` readers of stream ``src``: one clone per extra reader.

    Returns the leaf FIFOs (in reader order; ``first_leaf``, e.g. an output port, first), the
    clone calls, the new FIFOs to declare and the clone config."""
    if readers <= 1:
        return [src], [], [], []
    cfg = ConfigStruct(scope.take(f"{base}_clone_config"), "hlsforge::stream_config", (_u("n_beats", beat.n_beats),), ())
    leaves: list[str] = []
    calls: list[Call] = []
    decls: list[StreamDecl] = []

    def fifo(name: str) -> str:
        decls.append(StreamDecl(name, beat.type_name, beat.beat, beat.n_beats, beat.n_beats, comment=f"copy of {src}"))
        return name

    cur = src
    for k in range(readers - 1):
        a = first_leaf if (k == 0 and first_leaf) else fifo(scope.take(f"{base}_copy{k + 1}"))
        last = k == readers - 2
        b = fifo(scope.take(f"{base}_copy{k + 2}" if last else f"{base}_fork{k + 1}"))
        calls.append(Call("hlsforge::stream_clone", (beat.type_name, cfg.name), (cur, a, b)))
        leaves.append(a)
        if last:
            leaves.append(b)
        cur = b
    return leaves, calls, decls, [cfg]


def lower_stream(graph: Graph, *, name: str | None = None) -> HlsModel:
    """Lower a quantized graph into io_stream records; errors name the node and what to do."""
    graph.validate()
    from ...reference import trace_keys

    ident = model_identifier(graph, name)
    namespace = f"{ident}_ns"
    scope = NameScope({ident, namespace})
    ctx = _StreamCtx(graph, scope)
    readers: dict[str, int] = {}
    for node in graph.nodes:
        for i in node.inputs:
            if not graph.values[i].is_constant:
                readers[i] = readers.get(i, 0) + 1

    single_in, single_out = len(graph.inputs) == 1, len(graph.outputs) == 1
    in_typedefs: list[TypeDef] = []
    inputs: list[Port] = []
    prologue: list[Call] = []
    prologue_streams: list[StreamDecl] = []
    prologue_configs: list[ConfigStruct] = []
    for vname in graph.inputs:
        v = graph.values[vname]
        arr = "in" if single_in else scope.take(f"in_{vname}")
        tn = "input_t" if single_in else scope.take(f"{arr}_t")
        bt = "input_beat_t" if single_in else scope.take(f"{arr}_beat_t")
        for r in (arr, tn, bt):
            scope.reserve(r)
        beat = _input_beat(tuple(v.shape))
        in_typedefs.append(TypeDef(tn, cpp_type(v.type, f"graph input {vname!r}"), f"graph input {vname!r}"))
        in_typedefs.append(TypeDef(bt, f"hlsforge::beat<{tn}, {beat}>", f"one beat of {vname!r}: {beat} values"))
        inputs.append(Port(vname, arr, tn, v.size, tuple(v.shape), beat, bt))
        ctx.env[vname] = _Port(arr, tn, v)
        b = _Beat(beat, v.size // beat, bt)
        ctx.beats[vname] = b
        leaves, calls, decls, cfgs = _clone_chain(scope, arr, b, readers.get(vname, 0), arr)
        ctx.leaves[vname] = leaves
        prologue += calls
        prologue_streams += decls
        prologue_configs += cfgs

    out_ports: dict[str, tuple[str, str, str]] = {}
    for vname in graph.outputs:
        if vname in out_ports:
            raise UnsupportedOpError(f"graph output {vname!r} is listed twice; the HLS top function needs distinct outputs")
        if graph.producer(vname) is None:
            raise UnsupportedOpError(
                f"graph output {vname!r} is not computed by any layer (it is a graph input or a constant); "
                "the HLS backend needs every output to come from a layer"
            )
        arr = "out" if single_out else scope.take(f"out_{vname}")
        tn = "result_t" if single_out else scope.take(f"{arr}_t")
        bt = "result_beat_t" if single_out else scope.take(f"{arr}_beat_t")
        for r in (arr, tn, bt):
            scope.reserve(r)
        out_ports[vname] = (arr, tn, bt)

    keys = trace_keys(graph)
    layers: list[Layer] = []
    for index, node in enumerate(graph.nodes):
        rule = RULES.get(node.op)
        if rule is None:
            why = UNSUPPORTED.get(node.op, f"there is no io_stream kernel for {node.op.value}")
            raise UnsupportedOpError(f"{node.describe()}: io_stream: {why}; use io_type: io_parallel")
        if len(node.outputs) != 1 and node.op not in MULTI_OUTPUT_OPS:
            raise UnsupportedOpError(f"{node.describe()}: the HLS backend supports single-output layers only")
        lid = scope.take(node.name, fallback="layer")
        out_name = node.outputs[0]
        out_value = graph.values[out_name]
        result_t = scope.take(f"{lid}_result_t")
        beat_t = scope.take(f"{lid}_beat_t")
        n_readers = readers.get(out_name, 0)
        is_port = out_name in out_ports
        only_port = is_port and n_readers == 0
        main = out_ports[out_name][0] if only_port else scope.take(f"{lid}_out")
        port = _Port(main, result_t, out_value)
        helper = _StreamLayer(ctx, node, lid, port)
        # a multi-output layer's first output that nothing reads (e.g. Y of a GRU whose Y_h is
        # used) is discarded: a stream_sink in the firmware, a FIFO only in the C-sim trace
        discard = len(node.outputs) > 1 and n_readers == 0 and not is_port
        extra_plan = _plan_extra_outputs(scope, graph, node, lid, helper, readers, out_ports)
        parts, beat, ii = rule(helper)
        if out_value.size % beat:
            raise UnsupportedOpError(f"{node.describe()}: {out_value.size} values do not split into beats of {beat}")
        b = _Beat(beat, out_value.size // beat, beat_t)
        ctx.beats[out_name] = b
        ctx.env[out_name] = port
        streams: list[StreamDecl] = []
        discards: list[StreamDecl] = []
        if not only_port:
            decl = StreamDecl(main, beat_t, beat, b.n_beats, b.n_beats, comment=f"output of {lid}")
            (discards if discard else streams).append(decl)
        total_readers = n_readers + (1 if is_port and not only_port else 0)
        leaves, clone_calls, decls, clone_cfgs = _clone_chain(
            scope, main, b, total_readers, lid, out_ports[out_name][0] if is_port and not only_port else None
        )
        if is_port and not only_port:
            leaves = leaves[1:]  # the first copy is the output port
        ctx.leaves[out_name] = leaves if total_readers > 1 else [main]
        streams += decls + helper.local_streams
        extra = _wire_extra_outputs(scope, ctx, node, lid, helper, extra_plan, out_ports)
        streams += extra.streams
        discards += extra.discards
        clone_calls += extra.calls
        clone_cfgs += extra.configs
        calls = [_resolve(c, helper, beat_t) for c in parts.calls]
        layers.append(
            Layer(
                index=index, ident=lid, node=node.name, source_name=node.source_name, source_op=node.source_op,
                op=node.op.value, trace_key=keys[node.name], header=parts.header,
                output=Buffer(main, result_t, out_value.size, tuple(out_value.shape)),
                local=not only_port,
                calls=tuple(calls),
                typedefs=(
                    TypeDef(result_t, cpp_type(out_value.type, f"{node.describe()} output")),
                    TypeDef(beat_t, f"hlsforge::beat<{result_t}, {beat}>", f"one beat: {beat} values"),
                    *extra.typedefs, *helper.parts_typedefs, *parts.typedefs,
                ),
                configs=tuple(parts.configs) + tuple(clone_cfgs),
                arrays=tuple(helper.arrays + parts.arrays),
                scalars=tuple(helper.scalars + parts.scalars),
                reuse_factor=parts.reuse_factor, strategy=parts.strategy,
                streams=tuple(streams), post_calls=tuple(clone_calls), ii=max(int(ii), 1),
                discards=tuple(discards),
            )
        )

    out_typedefs: list[TypeDef] = []
    outputs: list[Port] = []
    for vname in graph.outputs:
        arr, tn, bt = out_ports[vname]
        v = graph.values[vname]
        b = ctx.beats[vname]
        out_typedefs.append(TypeDef(tn, ctx.env[vname].type_name, f"graph output {vname!r}"))
        out_typedefs.append(TypeDef(bt, b.type_name, f"one beat of {vname!r}: {b.beat} values"))
        outputs.append(Port(vname, arr, tn, v.size, tuple(v.shape), b.beat, bt))

    if prologue_configs and layers:  # the input clones' configs go with the first layer's
        layers[0] = replace(layers[0], configs=tuple(prologue_configs) + layers[0].configs)
    headers = tuple(sorted({layer.header for layer in layers} | {_STREAM_HEADER}))
    return HlsModel(
        name=ident, namespace=namespace, top=ident, source_name=graph.name,
        inputs=tuple(inputs), outputs=tuple(outputs),
        input_typedefs=tuple(in_typedefs), output_typedefs=tuple(out_typedefs),
        layers=tuple(layers), io_type="io_stream", top_pragma="DATAFLOW", headers=headers,
        prologue=tuple(prologue), prologue_streams=tuple(prologue_streams),
    )


@dataclass
class _ExtraWiring:
    """What the outputs after the first of a multi-output layer add to its ``Layer``."""

    typedefs: list[TypeDef] = field(default_factory=list)
    streams: list[StreamDecl] = field(default_factory=list)
    discards: list[StreamDecl] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    configs: list[ConfigStruct] = field(default_factory=list)


_ExtraPlan = list[tuple[str, str, str, str, int, bool, bool]]


def _plan_extra_outputs(
    scope: NameScope, graph: Graph, node: Node, lid: str, helper: _StreamLayer, readers: dict[str, int],
    out_ports: dict[str, tuple[str, str, str]],
) -> _ExtraPlan:
    """Names of the outputs after the first (Y_h, Y_c of a recurrent cell), given to the rule
    through ``helper.extra`` / ``helper.extra_beat_types`` before it runs."""
    plan: _ExtraPlan = []
    for k, vname in enumerate(node.outputs[1:], 1):
        etn, ebt = scope.take(f"{lid}_result{k}_t"), scope.take(f"{lid}_beat{k}_t")
        n_readers, is_port = readers.get(vname, 0), vname in out_ports
        only_port = is_port and n_readers == 0
        name = out_ports[vname][0] if only_port else scope.take(f"{lid}_out{k}")
        helper.extra.append(_Port(name, etn, graph.values[vname]))
        helper.extra_beat_types.append(ebt)
        plan.append((vname, etn, ebt, name, n_readers, is_port, only_port))
    return plan


def _wire_extra_outputs(
    scope: NameScope, ctx: _StreamCtx, node: Node, lid: str, helper: _StreamLayer, plan: _ExtraPlan,
    out_ports: dict[str, tuple[str, str, str]],
) -> _ExtraWiring:
    """FIFOs (or discards, clones, ports) of the outputs after the first, as for the first."""
    out = _ExtraWiring()
    if len(helper.extra_beats) != len(plan):
        raise UnsupportedOpError(f"{node.describe()}: io_stream has no beat layout for its outputs after the first")
    for k, ((vname, etn, ebt, name, n_readers, is_port, only_port), beat) in enumerate(
        zip(plan, helper.extra_beats, strict=True), 1
    ):
        ev = ctx.graph.values[vname]
        if ev.size % beat:
            raise UnsupportedOpError(f"{node.describe()}: output {k}: {ev.size} values do not split into beats of {beat}")
        b = _Beat(beat, ev.size // beat, ebt)
        ctx.beats[vname] = b
        ctx.env[vname] = _Port(name, etn, ev)
        out.typedefs += [
            TypeDef(etn, cpp_type(ev.type, f"{node.describe()} output {k}")),
            TypeDef(ebt, f"hlsforge::beat<{etn}, {beat}>", f"one beat: {beat} values"),
        ]
        if not only_port:
            decl = StreamDecl(name, ebt, beat, b.n_beats, b.n_beats, comment=f"output {k} of {lid}")
            (out.discards if n_readers == 0 and not is_port else out.streams).append(decl)
        to_port = is_port and not only_port
        total = n_readers + (1 if to_port else 0)
        leaves, calls, decls, cfgs = _clone_chain(
            scope, name, b, total, f"{lid}_out{k}", out_ports[vname][0] if to_port else None
        )
        if to_port:
            leaves = leaves[1:]
        ctx.leaves[vname] = leaves if total > 1 else [name]
        out.streams += decls
        out.calls += calls
        out.configs += cfgs
    return out


def _resolve(call: Call, layer: _StreamLayer, out_beat: str) -> Call:
    """Replace the ``@in``/``@in1``/``@out`` placeholders by the beat typedefs."""
    subs = {"@out": out_beat}
    n_in = len(layer.node.inputs)
    for i in range(n_in):
        v = layer.value(i)
        if not v.is_constant:
            key = "@in" if i == 0 else f"@in{i}"
            subs[key] = layer.beat_in(i).type_name
    # a constant first operand: the stream is operand 1 but fills the "@in" slot
    if n_in >= 1 and layer.value(0).is_constant and n_in > 1:
        subs["@in"] = layer.beat_in(1).type_name
    return replace(call, template_args=tuple(subs.get(t, t) for t in call.template_args))


def streams_of(model: HlsModel) -> list[StreamDecl]:
    """Every internal FIFO of an io_stream model, in declaration order (the order of
    ``fifo_depths`` in the C simulation bridge)."""
    out = list(model.prologue_streams)
    for layer in model.layers:
        out += list(layer.streams)
    return out


__all__ = ["IO_TYPES", "RULES", "lower_stream", "streams_of"]
