"""Rendering of io_stream models: the top function with ``hls::stream`` ports under
``DATAFLOW``, one FIFO per connection (``#pragma HLS STREAM ... depth=N``), and the C-sim
bridge (batch ``predict``, per-layer ``trace`` and, with ``HLSFORGE_FIFO_TRACKING``, the
``fifo`` entry point that runs the layers as concurrent processes and reports every FIFO's
maximum occupancy). Types, configs and weights render exactly as for io_parallel.
"""

from __future__ import annotations

from ..emit import (
    GENERATOR,
    bridge_symbol,
    describe_layer,
    file_names,
    guard,
    open_bridge_exports,
    quote,
    render_call,
    render_files,
    render_types,
    safe_comment,
)
from ..records import HlsModel, Layer, Port, StreamDecl
from ..writer import CodeWriter
from .fuse import FUSED_HEADER, render_fast_top

TRACKING_MACRO = "HLSFORGE_FIFO_TRACKING"


def _size_const(model: HlsModel, port: Port, is_input: bool) -> str:
    single = len(model.inputs if is_input else model.outputs) == 1
    base = "N_IN" if is_input else "N_OUT"
    return base if single else f"{base}_{port.name.upper()}"


def port_args(model: HlsModel) -> str:
    ns = model.namespace
    args = [f"hls::stream<{ns}::{p.beat_type}> &{p.name}" for p in (*model.inputs, *model.outputs)]
    return ", ".join(args)


def render_header(model: HlsModel) -> str:
    names = file_names(model)
    w = CodeWriter()
    w.line(f"// {names['header']}: top function of model {quote(model.source_name)} ({GENERATOR}; do not edit)")
    w.raw(f"#ifndef {guard(model, 'top')}")
    w.raw(f"#define {guard(model, 'top')}")
    w.blank()
    w.raw(f'#include "{names["types"]}"')
    w.blank()
    with w.block(f"namespace {model.namespace}"):
        for is_in, ports in ((True, model.inputs), (False, model.outputs)):
            for p in ports:
                c = _size_const(model, p, is_in)
                w.line(f"static const unsigned {c} = {p.size}; // {'input' if is_in else 'output'} {quote(p.value)}, shape {list(p.shape)}")
                w.line(f"static const unsigned {c}_BEATS = {p.size // p.beat}; // beats of {p.beat} values")
    w.blank()
    w.line("// One inference (io_stream): every port carries one beat per position, channels packed.")
    w.line(f"void {model.top}({port_args(model)});")
    w.blank()
    w.raw("#endif")
    return w.text()


def render_types_stream(model: HlsModel) -> str:
    text = render_types(model)
    return text.replace('#include "hlsforge_types.h"\n', '#include "hlsforge_types.h"\n#include "hlsforge_kernels/stream_common.h"\n', 1)


def _declare(w: CodeWriter, s: StreamDecl, *, pragma: bool) -> None:
    w.line(f'hls::stream<{s.beat_type}> {s.name}("{s.name}"); // {safe_comment(s.comment)}, {s.n_beats} beats')
    if pragma:
        w.raw(f"    #pragma HLS STREAM variable={s.name} depth={s.depth} // {safe_comment(s.depth_source)}")


def declare_discard(w: CodeWriter, s: StreamDecl, *, fifo: bool = False) -> None:
    """An output that no layer reads: a stream_sink (no FIFO), or with ``fifo`` (the C-sim
    trace, which records every layer's first output) a FIFO that is never read."""
    if fifo:
        w.line(f'hls::stream<{s.beat_type}> {s.name}("{s.name}"); // {safe_comment(s.comment)}, read by the trace only')
    else:
        w.line(f"hlsforge::stream_sink<{s.beat_type}> {s.name}; // {safe_comment(s.comment)}: no layer reads it, discarded")


def _render_body(w: CodeWriter, model: HlsModel, *, pragmas: bool, trace: bool) -> None:
    for s in model.prologue_streams:
        _declare(w, s, pragma=pragmas)
    for c in model.prologue:
        w.line(render_call(c))
    for k, layer in enumerate(model.layers):
        w.blank()
        w.line(f"// {describe_layer(model, layer)}")
        for s in layer.streams:
            _declare(w, s, pragma=pragmas)
        for s in layer.discards:
            declare_discard(w, s, fifo=trace)
        for call in layer.calls:
            w.line(render_call(call))
        if trace:
            _render_record(w, k, layer)
        for call in layer.post_calls:
            w.line(render_call(call))


def _render_record(w: CodeWriter, k: int, layer: Layer) -> None:
    """Trace: read every beat of the layer's output, record it, and put it back."""
    main = layer.output.name
    beat_t = layer.typedefs[1].name
    size = layer.output.size
    per = f"{beat_t}::size"
    with w.block(f"for (unsigned k = 0; k < {size} / {per}; k++)"):
        w.line(f"const {beat_t} v = {main}.read();")
        with w.block(f"for (unsigned j = 0; j < {per}; j++)"):
            w.line(f"layers[{k}][b * {size} + k * {per} + j] = v[j].to_double();")
        w.line(f"{main}.write(v);")


def render_source(model: HlsModel) -> str:
    names = file_names(model)
    w = CodeWriter(indent="    ")
    w.line(f"// {names['source']}: model {quote(model.source_name)} as HLS C++, io_stream ({GENERATOR}; do not edit)")
    w.raw(f'#include "{names["header"]}"')
    w.raw(f'#include "{names["parameters"]}"')
    w.blank()
    with w.block(f"void {model.top}({port_args(model)})"):
        w.line(f"using namespace {model.namespace};")
        w.blank()
        for p in (*model.inputs, *model.outputs):
            w.raw(f"    #pragma HLS INTERFACE axis port={p.name}")
        w.raw("    #pragma HLS DATAFLOW")
        w.blank()
        _render_body(w, model, pragmas=True, trace=False)
    return w.text()


def _load_inputs(w: CodeWriter, model: HlsModel, ns: str, only: int | None = None) -> None:
    for k, p in enumerate(model.inputs):
        if only is not None and k != only:
            continue
        with w.block(f"for (unsigned q = 0; q < {p.size // p.beat}; q++)"):
            w.line(f"{ns}::{p.beat_type} v;")
            with w.block(f"for (unsigned j = 0; j < {p.beat}; j++)"):
                w.line(f"v[j] = hlsforge::csim_input<{ns}::{p.type_name}>(inputs[{k}][b * {p.size} + q * {p.beat} + j]);")
            w.line(f"{p.name}.write(v);")


def render_bridge(model: HlsModel) -> str:
    names = file_names(model)
    ns = model.namespace
    w = CodeWriter(indent="    ")
    w.line(f"// {names['bridge']}: C-simulation entry points of model {quote(model.source_name)}, io_stream ({GENERATOR})")
    w.raw(f'#include "{names["source"]}"')
    w.raw('#include "hlsforge_kernels/fast.h"')
    w.raw(f'#include "{FUSED_HEADER}"')
    w.raw(f"#ifdef {TRACKING_MACRO}")
    w.raw('#include "hlsforge_dataflow_sim.h"')
    w.raw("#endif")
    w.blank()
    in_args = ", ".join(f"hls::stream<{p.beat_type}> &{p.name}" for p in model.inputs)
    out_decl = [f"hls::stream<{p.beat_type}> {p.name}(\"{p.name}\");" for p in model.outputs]
    with w.block(f"namespace {ns}"):
        with w.block(f"static void trace_one({in_args}, double *const *layers, long long b)"):
            for d in out_decl:
                w.line(d)
            _render_body(w, model, pragmas=False, trace=True)
        w.blank()
        # predict's copy of the top function with fused layer chains (C simulation only: fuse.py)
        render_fast_top(w, model, port_args(model))
        w.blank()
        # predict's loop over the batch, compiled like fast_top for AVX2 and the baseline ISA (the
        # input conversion then uses SSE4.1 rounding instead of the baseline's floor sequence)
        with w.block("static HLSFORGE_FUSED_TOP void predict_batch(const double *const *inputs, double *const *outputs, long long n)"):
            for p in (*model.inputs, *model.outputs):
                w.line(f"hls::stream<{ns}::{p.beat_type}> {p.name}(\"{p.name}\");")
            with w.block("for (long long b = 0; b < n; b++)"):
                _load_inputs(w, model, ns)
                w.line(f"fast_top({', '.join(p.name for p in (*model.inputs, *model.outputs))});")
                for k, p in enumerate(model.outputs):
                    with w.block(f"for (unsigned q = 0; q < {p.size // p.beat}; q++)"):
                        w.line(f"const {ns}::{p.beat_type} v = {p.name}.read();")
                        with w.block(f"for (unsigned j = 0; j < {p.beat}; j++)"):
                            w.line(f"outputs[{k}][b * {p.size} + q * {p.beat} + j] = v[j].to_double();")
    w.blank()
    open_bridge_exports(w)
    w.blank()
    with w.block(f"HLSFORGE_CSIM_EXPORT int {bridge_symbol(model, 'n_layers')}()"):
        w.line(f"return {len(model.layers)};")
    w.blank()
    with w.block(f"HLSFORGE_CSIM_EXPORT int {bridge_symbol(model, 'predict')}(const double *const *inputs, double *const *outputs, long long n)"):
        w.line(f"{ns}::predict_batch(inputs, outputs, n);")
        w.line("return 0;")
    w.blank()
    with w.block(f"HLSFORGE_CSIM_EXPORT int {bridge_symbol(model, 'trace')}(const double *const *inputs, double *const *layers, long long n)"):
        with w.block("for (long long b = 0; b < n; b++)"):
            for p in model.inputs:
                w.line(f"hls::stream<{ns}::{p.beat_type}> {p.name}(\"{p.name}\");")
            _load_inputs(w, model, ns)
            w.line(f"{ns}::trace_one({', '.join(p.name for p in model.inputs)}, layers, b);")
        w.line("return 0;")
    w.blank()
    _render_fifo_entry(w, model)
    w.raw('} // extern "C"')
    return w.text()


def _render_fifo_entry(w: CodeWriter, model: HlsModel) -> None:
    """``fifo(inputs, n, depths)``: each event runs every layer (and clone) as its own
    process on the deterministic schedule of hlsforge_dataflow_sim.h; depths[k] = the largest
    occupancy FIFO k reached (order: ``stream.lower.streams_of``). Returns -1 on a deadlock."""
    from .lower import streams_of

    ns = model.namespace
    fifos = streams_of(model)
    w.raw(f"#ifdef {TRACKING_MACRO}")
    with w.block(f"HLSFORGE_CSIM_EXPORT long long {bridge_symbol(model, 'fifo')}(const double *const *inputs, long long n, long long *depths)"):
        w.line(f"using namespace {ns};")
        w.line("long long cycles = 0;")
        with w.block("for (long long b = 0; b < n; b++)"):
            for p in (*model.inputs, *model.outputs):
                w.line(f"hls::stream<{ns}::{p.beat_type}> {p.name}(\"{p.name}\");")
            for s in fifos:
                w.line(f'hls::stream<{s.beat_type}> {s.name}("{s.name}");')
            for layer in model.layers:
                for s in layer.discards:
                    declare_discard(w, s)
            w.line("hlsforge::sim::dataflow df;")
            for k in range(len(model.inputs)):  # one feeder per input port, one beat per cycle each
                with w.block("df.add(1, [&]()", "});"):
                    _load_inputs(w, model, ns, only=k)
            for c in model.prologue:
                w.line(f"df.add(1, [&]() {{ {render_call(c)} }});")
            for layer in model.layers:
                for c in layer.calls:
                    w.line(f"df.add({layer.ii}, [&]() {{ {render_call(c)} }}); // {layer.ident}")
                for c in layer.post_calls:
                    w.line(f"df.add(1, [&]() {{ {render_call(c)} }});")
            w.line("const long long c = df.run();")
            w.line("if (c < 0) return -1;")
            w.line("if (c > cycles) cycles = c;")
            for k, s in enumerate(fifos):
                w.line(f"if ((long long){s.name}.max_occupancy() > depths[{k}]) depths[{k}] = (long long){s.name}.max_occupancy();")
        w.line("return cycles;")
    w.raw("#endif")
    w.blank()


def render_stream(model: HlsModel, *, bridge: bool = False) -> dict[str, str]:
    """Every firmware file of an io_stream model as ``{relative path: text}``."""
    return render_files(model, bridge=bridge, header=render_header, source=render_source,
                        types=render_types_stream, bridge_source=render_bridge)


__all__ = ["render_stream", "render_header", "render_source", "render_bridge", "port_args", "TRACKING_MACRO"]
