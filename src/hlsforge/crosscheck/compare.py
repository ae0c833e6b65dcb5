"""Cross-check a model's implementations on the same inputs, layer by layer, with reasons.

Users of today's tools see C-simulation outputs that differ from their framework and cannot
tell why. ``compare`` runs the float reference and the bit-exact emulator on the same batch,
and optionally the CPU backend and the HLS C simulation, then reports for every layer how far
the fixed-point values are from float, how many values overflowed (and whether they wrapped or
saturated), and the most likely cause of any large difference: overflow, a lookup table's
resolution, or plain rounding within the layer's LSB.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import reference
from ..ir.graph import Graph
from ..ir.ops import Op
from ..ir.types import FixedType, IntType, Overflow, as_fixed
from ..reference import trace_keys

_TABLE_OPS = {Op.SIGMOID, Op.TANH, Op.SOFTMAX, Op.ELU, Op.SELU, Op.SOFTPLUS}


@dataclass
class LayerCheck:
    """One layer's fixed-point result against the float reference."""

    layer: str
    op: str
    result_type: str
    max_abs_diff: float
    mean_abs_diff: float
    lsb: float
    overflows: int
    accum_overflows: int
    cause: str
    quantizer_saturations: int = 0  # clipped by the model's own trained quantizer: its behaviour


@dataclass
class CrossCheckReport:
    events: int
    layers: list[LayerCheck]
    input_overflows: dict[str, int]
    output_max_abs_diff: float
    argmax_agreement: float | None  # classifiers: fraction of events whose argmax matches float
    backends: dict[str, str] = field(default_factory=dict)  # e.g. "csim vs emulate": "exact (5000 values)"
    input_quantizer_saturations: dict[str, int] = field(default_factory=dict)  # inputs typed by the model's quantizer

    @property
    def verdict(self) -> str:
        """One line: does the fixed-point model agree with float, and if not, why."""
        return verdict_of(self)

    @property
    def ok(self) -> bool:
        """No overflow anywhere and every backend check passed."""
        no_overflow = not any(c.overflows or c.accum_overflows for c in self.layers) and not any(self.input_overflows.values())
        return no_overflow and all(not v.startswith("DIFFERS") for v in self.backends.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        d["verdict"] = self.verdict
        return d

    def __str__(self) -> str:
        head = ["layer", "op", "result type", "max|Δ| vs float", "LSB", "overflows", "cause"]
        rows = [
            [c.layer, c.op, c.result_type, f"{c.max_abs_diff:.3g}", f"{c.lsb:.3g}",
             f"{c.overflows}" + (f" (+{c.accum_overflows} accum)" if c.accum_overflows else ""), c.cause]
            for c in self.layers
        ]
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
        lines = [f"cross-check on {self.events} events"]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=False)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in rows]
        over_in = {k: v for k, v in self.input_overflows.items() if v}
        if over_in:
            lines.append(f"inputs outside the input type's range: {over_in}")
        sat = {c.layer: c.quantizer_saturations for c in self.layers if c.quantizer_saturations}
        sat.update({k: v for k, v in self.input_quantizer_saturations.items() if v})
        if sat:
            lines.append(
                "saturated by the model's own quantizers (trained behaviour, also in the framework; not an "
                f"overflow to fix): {sat}"
            )
        lines.append(f"output: max |fixed - float| = {self.output_max_abs_diff:.3g}")
        if self.argmax_agreement is not None:
            lines.append(f"argmax agreement with float: {100 * self.argmax_agreement:.2f}%")
        for name, verdict in self.backends.items():
            lines.append(f"{name}: {verdict}")
        lines.append(f"verdict: {self.verdict}")
        return "\n".join(lines)


def verdict_of(report: CrossCheckReport) -> str:
    """``agrees ...`` or ``differs: <why>``; saturation by a trained quantizer is never a reason."""
    bad_backends = [k for k, v in report.backends.items() if v.startswith("DIFFERS")]
    if bad_backends:
        return f"differs: {', '.join(bad_backends)} do not match (a backend bug: please report it)"
    over = [c for c in report.layers if c.overflows or c.accum_overflows]
    if any(report.input_overflows.values()):
        names = [k for k, v in report.input_overflows.items() if v]
        return f"differs: inputs {names} overflow the input type; give the input more integer bits"
    if over:
        c = over[0]
        return f"differs: layer {c.layer!r} overflows ({c.result_type}); give it more integer bits"
    if report.output_max_abs_diff == 0:
        return "agrees: the fixed-point model equals the float model exactly on these events"
    first = next((c for c in report.layers if c.max_abs_diff > 0 and "propagated" not in c.cause), None)
    why = f"; first difference at {first.layer!r}: {first.cause}" if first is not None else ""
    causes = {c.cause for c in report.layers if c.max_abs_diff > 0 and "propagated" not in c.cause}
    if causes and causes <= {TRAINED_ROUNDING, "rounding (within 1 LSB)"} and TRAINED_ROUNDING in causes:
        agree = (f"argmax agreement {100 * report.argmax_agreement:.2f} %, "
                 if report.argmax_agreement is not None else "")
        return (f"agrees with the model as trained: it differs from the same network in float ({agree}max |Δ| "
                f"{report.output_max_abs_diff:.3g}) only where its trained quantizers round; nothing to fix")
    if report.argmax_agreement is not None and report.argmax_agreement == 1.0:
        return f"agrees on every argmax (max |Δ| {report.output_max_abs_diff:.3g}{why})"
    if report.argmax_agreement is not None:
        return (f"differs: argmax agreement {100 * report.argmax_agreement:.2f} %, max |Δ| "
                f"{report.output_max_abs_diff:.3g}{why}")
    return f"differs by at most {report.output_max_abs_diff:.3g} (no overflow){why}"


def _lsb(t: Any) -> float:
    if isinstance(t, (FixedType, IntType)):
        return float(as_fixed(t).lsb)
    return 0.0


TRAINED_ROUNDING = "the model's trained type rounds here (its own behaviour, as in the framework)"


def _trained_values(graph: Graph) -> set[str]:
    """Values whose type the model itself gives (QKeras/QONNX/HGQ2 quantizers, hlsforge.qat
    layers), not a configuration: rounding there is the trained model, not a precision to fix.
    A graph configured "as trained" (the hlsforge.qat export, ``configure`` without a
    configuration) has only such types, except on tables (sigmoid, softmax...), which take the
    configuration's default; any other configured graph is not known to have them."""
    from ..quantize.config import is_configured

    typed = {name for name, v in graph.values.items()
             if not v.is_constant and isinstance(v.type, (FixedType, IntType))}
    if is_configured(graph):
        if "as_trained" not in graph.metadata:
            return set()
        typed -= {n.outputs[0] for n in graph.nodes if n.op in _TABLE_OPS}
    return typed | {n.outputs[0] for n in graph.nodes if n.op is Op.QUANTIZE}


def _through_input_quantizers(graph: Graph, x: Any, trained: set[str]) -> Any:
    """The events as the model's own input quantizer passes them on: the framework's forward
    quantizes its inputs too, so the float network is compared from there."""
    from ..quantize.fixed import cast

    typed = [name for name in graph.inputs if name in trained]
    if not typed:
        return x
    arrays = graph.prepare_inputs(x, engine="fixed")
    return {name: (cast(a, graph.values[name].type).astype(np.float32) if name in typed else a)
            for name, a in arrays.items()}


def _cause(node: Any, diff: float, lsb: float, overflows: int, accum_overflows: int, result_type: Any, prev_diff: float) -> str:
    """The most likely reason for this layer's difference from float (a hint, not a proof)."""
    if overflows or accum_overflows:
        mode = as_fixed(result_type).overflow if isinstance(result_type, (FixedType, IntType)) else None
        how = "wrapped around" if mode == Overflow.WRAP else "saturated"
        where = "accumulator" if accum_overflows and not overflows else "result"
        return f"overflow: values {how} in the {where} type; add integer bits"
    if diff <= max(lsb, 1e-12) * 1.0001 and prev_diff <= max(lsb, 1e-12):
        return "rounding (within 1 LSB)"
    if node.op in _TABLE_OPS and diff > 2 * max(prev_diff, lsb):
        return "lookup-table resolution: raise table_size / narrow table_range"
    if diff > 2 * max(prev_diff, lsb):
        return "precision: rounding of weights/inputs; add fractional bits"
    return "propagated from earlier layers"


def compare(
    graph: Graph,
    x: Any,
    config: Any = None,
    *,
    cpu: bool = False,
    csim: bool = False,
) -> CrossCheckReport:
    """Compare float reference and emulator per layer (and optionally the CPU backend and
    HLS C simulation) on the batch ``x`` (source model layout).

    ``graph`` may be a float graph (then ``config`` is applied with ``quantize.configure``) or
    an already configured graph (then its float parent is unknown and the reference runs on
    the quantized weights, which isolates activation effects).
    """
    from ..quantize import emulate
    from ..quantize.config import configure, is_configured

    qgraph = graph if is_configured(graph) else configure(graph, config)
    trained = _trained_values(graph)
    x = _through_input_quantizers(graph, x, trained)
    ref_trace = reference.run(graph, x, trace=True)
    emu = emulate.run(qgraph, x, trace=True)
    keys = trace_keys(qgraph)
    layers: list[LayerCheck] = []
    prev = 0.0
    for node in qgraph.nodes:
        key = keys[node.name]
        if key not in ref_trace or key not in emu.outputs:
            continue
        ours = np.asarray(emu.outputs[key], np.float64)
        ref = np.asarray(ref_trace[key], np.float64)
        diff = np.abs(ours - ref) if ours.shape == ref.shape else np.array([np.inf])
        t = qgraph.values[node.outputs[0]].type
        lsb = _lsb(t)
        over = int(emu.overflows.get(key, 0))
        acc_over = int(emu.accum_overflows.get(key, 0))
        sat = 0
        if node.op is Op.QUANTIZE:  # the model's own quantizer clipping: not an overflow to fix
            sat, over = over, 0
        max_diff = float(diff.max()) if diff.size else 0.0
        layers.append(
            LayerCheck(
                layer=key, op=node.op.value, result_type=str(t), max_abs_diff=max_diff,
                mean_abs_diff=float(diff.mean()) if diff.size else 0.0, lsb=lsb, overflows=over,
                accum_overflows=acc_over,
                cause=(TRAINED_ROUNDING if node.outputs[0] in trained and max_diff > 2 * prev and not over
                       else _cause(node, max_diff, lsb, over, acc_over, t, prev)),
                quantizer_saturations=sat,
            )
        )
        prev = max_diff
    y_ref = reference.run(graph, x)
    y_emu = emulate.run(qgraph, x)
    out_ref = y_ref if not isinstance(y_ref, dict) else y_ref[graph.outputs[-1]]
    out_emu = y_emu if not isinstance(y_emu, dict) else y_emu[graph.outputs[-1]]
    out_diff = float(np.max(np.abs(np.asarray(out_emu, np.float64) - out_ref))) if np.size(out_ref) else 0.0
    agreement = None
    if out_ref.ndim == 2 and out_ref.shape[1] > 1:
        agreement = float(np.mean(np.argmax(out_ref, 1) == np.argmax(out_emu, 1)))
    in_over = dict(emu.input_overflows)
    in_sat: dict[str, int] = {}
    for name in list(in_over):  # an input typed by its reader quantizer: clipping is the model's
        readers = [n for n in qgraph.nodes if name in n.inputs]
        if readers and all(n.op is Op.QUANTIZE and n.attrs.target == qgraph.values[name].type for n in readers):
            in_sat[name] = in_over.pop(name)
    report = CrossCheckReport(
        events=int(np.shape(out_ref)[0]), layers=layers, input_overflows=in_over,
        output_max_abs_diff=out_diff, argmax_agreement=agreement, input_quantizer_saturations=in_sat,
    )
    if cpu:
        from .. import cpu_backend

        y_cpu = cpu_backend.compile(graph).predict(x)
        report.backends["cpu vs float reference"] = _close_verdict(y_cpu, y_ref)
    if csim:
        from .. import hls_backend

        y_csim = hls_backend.compile(qgraph).predict(x)
        report.backends["csim vs emulate"] = _exact_verdict(y_csim, y_emu)
    return report


def _as_list(y: Any) -> list[np.ndarray]:
    return [np.asarray(v) for v in (y.values() if isinstance(y, dict) else [y])]


def _exact_verdict(a: Any, b: Any) -> str:
    mismatches = sum(int(np.count_nonzero(p != q)) for p, q in zip(_as_list(a), _as_list(b), strict=False))
    total = sum(p.size for p in _as_list(a))
    return f"exact ({total} values)" if mismatches == 0 else f"DIFFERS in {mismatches} of {total} values"


def _close_verdict(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-5) -> str:
    pairs = list(zip(_as_list(a), _as_list(b), strict=False))
    worst = max(float(np.max(np.abs(p.astype(np.float64) - q))) for p, q in pairs)
    ok = all(np.allclose(p, q, rtol=rtol, atol=atol) for p, q in pairs)
    return f"agrees (max |Δ| {worst:.3g})" if ok else f"DIFFERS (max |Δ| {worst:.3g})"
