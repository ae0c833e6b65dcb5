"""io_stream rules of the recurrent cells (GRU, LSTM, SimpleRNN) and LayerNormalization.

Their own rule module (issue 12); ``stream.lower.RULES`` merges :data:`RULES`. Each rule runs
the io_parallel rule (``hls_backend/recurrent.py``) for the types, constants, tables and config,
then swaps the call for the stream kernel of ``hlsforge_kernels/stream_recurrent.h``, which
calls the same per-step function as the io_parallel kernel: the arithmetic is identical and the
emulator needs no new semantics (docs/numerics.md §12).

Beats: the input sequence (T, C) arrives as T beats of C (a narrower producer: C / beat beats
per step); Y (T, dirs, H) leaves as T·dirs beats of H, Y_h / Y_c (dirs, H) as dirs beats of H.
Outputs that no layer reads are discarded (``stream_sink``; see ``lower.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...ir.ops import Op, rnn_gates
from ..lower import RULES as PARALLEL_RULES
from ..lower import hls_options
from ..records import Call

if TYPE_CHECKING:  # pragma: no cover
    from ..lower import _Parts
    from .lower import _StreamLayer

HEADER = "hlsforge_kernels/stream_recurrent.h"
_KERNELS = {Op.GRU: "hlsforge::gru_stream", Op.LSTM: "hlsforge::lstm_stream", Op.SIMPLE_RNN: "hlsforge::simple_rnn_stream"}


def _steps_in_beats(layer: _StreamLayer, n: int, what: str) -> None:
    from .lower import _unsupported

    b = layer.beat_in(0)
    if n % b.beat:
        raise _unsupported(layer, f"{what} of {n} values arriving in beats of {b.beat}")


def stream_recurrent(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    """GRU / LSTM / SimpleRNN: one beat per time step in, Y beats (and Y_h[, Y_c]) out."""
    from dataclasses import replace

    from .lower import _with_ints

    node = layer.node
    seq, n_in = layer.value(0).shape
    hs = node.attrs.hidden_size
    _steps_in_beats(layer, n_in, "a time step")
    parts = PARALLEL_RULES[node.op](layer)
    (call,) = parts.calls
    (cfg,) = parts.configs
    # the per-beat loop runs one step of one direction: its multipliers, shared over ReuseFactor
    per_step = rnn_gates(node.op) * hs * (n_in + hs)
    rf = hls_options(node).reuse_factor
    cfg = _with_ints(cfg, {"multiplier_limit": -(-per_step // rf)}, [])
    n_out = 1 + len(layer.extra)
    outs = call.args[1 : 1 + n_out]
    weights = call.args[1 + n_out :]
    beats = ["@out", *layer.extra_beat_types]
    new = Call(_KERNELS[node.op], ("@in", *beats, cfg.name), (call.args[0], *outs, *weights))
    layer.extra_beats = [hs] * len(layer.extra)
    return replace(parts, header=HEADER, calls=[new], configs=[cfg]), hs, parts.reuse_factor


def stream_layernorm(layer: _StreamLayer) -> tuple[_Parts, int, int]:
    """LayerNormalization over the last axis: each row (one beat) normalised on its own."""
    from dataclasses import replace

    n = layer.value(0).shape[-1]
    _steps_in_beats(layer, n, "a normalised row")
    parts = PARALLEL_RULES[Op.LAYERNORM](layer)
    (call,) = parts.calls
    new = Call("hlsforge::layernorm_stream", ("@in", "@out", call.template_args[2]), call.args)
    return replace(parts, header=HEADER, calls=[new]), n, parts.reuse_factor


RULES = {Op.GRU: stream_recurrent, Op.LSTM: stream_recurrent, Op.SIMPLE_RNN: stream_recurrent,
         Op.LAYERNORM: stream_layernorm}

__all__ = ["HEADER", "RULES", "stream_layernorm", "stream_recurrent"]
