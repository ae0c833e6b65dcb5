"""The C-sim bridge's fused copy of an io_stream top function (C simulation only).

Why: in the C simulation of a small CNN most of the time went into moving every beat through
a FIFO once per layer (a write, a read, a copy of the beat) rather than into arithmetic. The
bridge's ``predict`` therefore runs ``fast_top``: the top function's layers in the same order
with the same kernels, except that a convolution followed by element-wise layers and
pooling (Conv -> ReLU -> MaxPool), whose intermediate FIFOs have one writer and one reader,
becomes one chain that hands each beat to the next layer by a call
(``templates/hlsforge_kernels/stream_fused.h``). Same kernels, same order of operations per
beat, so the same bits (tests compare ``predict`` with the emulator and with ``trace``, which
runs the top function itself). The firmware's top function is not touched.
"""

from __future__ import annotations

from ..emit import render_call
from ..records import Call, HlsModel, Layer, StreamDecl
from ..writer import CodeWriter

FUSED_HEADER = "hlsforge_kernels/stream_fused.h"
HEADS = ("hlsforge::conv_stream",)
POOLS = {"hlsforge::pool_max_stream": "hlsforge::pool_max_op", "hlsforge::pool_avg_stream": "hlsforge::pool_avg_op"}
MAPS = ("hlsforge::stream_map",)


def _single(layer: Layer) -> Call | None:
    return layer.calls[0] if len(layer.calls) == 1 else None


def chains(model: HlsModel) -> list[list[Layer]]:
    """Consecutive layers fused into one chain: a head (a convolution) and the element-wise /
    pooling layers that read the previous layer's output FIFO as its only reader. A chain of
    one layer is rendered as the top function renders it."""
    out: list[list[Layer]] = []
    layers = list(model.layers)
    i = 0
    while i < len(layers):
        chain = [layers[i]]
        call = _single(layers[i])
        if call is not None and call.kernel in HEADS:
            while True:
                last = chain[-1]
                if not last.local or last.post_calls or not last.streams or i + len(chain) >= len(layers):
                    break
                nxt = layers[i + len(chain)]
                ncall = _single(nxt)
                if ncall is None or (ncall.kernel not in MAPS and ncall.kernel not in POOLS):
                    break
                if not ncall.args or ncall.args[0] != last.streams[0].name:
                    break
                chain.append(nxt)
        out.append(chain)
        i += len(chain)
    return out


def _declare(w: CodeWriter, s: StreamDecl) -> None:
    w.line(f'hls::stream<{s.beat_type}> {s.name}("{s.name}");')


def _render_chain(w: CodeWriter, chain: list[Layer]) -> None:
    head, stages = chain[0], chain[1:]
    last = chain[-1]
    w.line("// fused in C simulation: " + " -> ".join(layer.ident for layer in chain))
    for s in last.streams:
        _declare(w, s)
    pushers: list[str] = []  # declarations, the innermost (last) pool first
    finishes: list[str] = []  # in chain order

    def cont(k: int, var: str) -> str:
        """C++ that takes beat ``var`` through stages k.. and into the last FIFO."""
        if k == len(stages):  # the last layer's own output FIFO (or the top's output port)
            return f"{last.calls[0].args[1]}.write({var});"
        layer = stages[k]
        call = layer.calls[0]
        in_t, out_t, cfg = call.template_args[0], call.template_args[1], call.template_args[2]
        if call.kernel in MAPS:
            extra = "".join(f", {a}" for a in call.args[2:])
            y = f"y{k}"
            return (
                f"const {out_t} {y} = hlsforge::csim::map_beat<{in_t}, {out_t}, {cfg}, {call.template_args[3]}>({var}{extra}); "
                + cont(k + 1, y)
            )
        op = POOLS[call.kernel]
        scale = call.args[2] if len(call.args) > 2 else "(const int *)0"
        body = cont(k + 1, "v")
        pushers.append(
            f"auto {layer.ident}_push = hlsforge::csim::make_pool_pusher<{in_t}, {out_t}, {cfg}, {op}>("
            f"{scale}, [&](const {out_t} &v) {{ {body} }});"
        )
        finishes.append(f"{layer.ident}_push.finish();")
        return f"{layer.ident}_push.push({var});"

    hcall = head.calls[0]
    in_t, out_t, cfg = hcall.template_args
    body = cont(0, "v")
    for p in pushers:
        w.line(p)
    rest = ", ".join(hcall.args[2:])
    w.line(
        f"hlsforge::csim::conv_stream_to<{in_t}, {out_t}, {cfg}>({hcall.args[0]}, "
        f"[&](const {out_t} &v) {{ {body} }}, {rest});"
    )
    for f in reversed(finishes):  # recorded innermost first; finished in chain order
        w.line(f)
    for c in last.post_calls:
        w.line(render_call(c))


def render_fast_top(w: CodeWriter, model: HlsModel, port_args: str) -> None:
    """``static void fast_top(ports)`` in the model's namespace (inside the bridge)."""
    with w.block(f"static HLSFORGE_FUSED_TOP void fast_top({port_args})"):
        for s in model.prologue_streams:
            _declare(w, s)
        for c in model.prologue:
            w.line(render_call(c))
        for chain in chains(model):
            w.blank()
            if len(chain) > 1:
                _render_chain(w, chain)
                continue
            layer = chain[0]
            w.line(f"// {layer.ident}")
            for s in layer.streams:
                _declare(w, s)
            for s in layer.discards:  # outputs nobody reads (recurrent cells): stream_sink
                w.line(f"hlsforge::stream_sink<{s.beat_type}> {s.name};")
            for call in layer.calls:
                w.line(render_call(call))
            for call in layer.post_calls:
                w.line(render_call(call))


__all__ = ["FUSED_HEADER", "chains", "render_fast_top"]
