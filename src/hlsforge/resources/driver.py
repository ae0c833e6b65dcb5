"""``hlsforge.estimate``: resources, latency and II of a quantized graph, without vendor tools.

Why first principles: hlsforge knows every type, every constant weight and every pragma it
emits, so it can count the primitives (DSPs, constant multipliers, adders, ROMs, registers)
the HLS kernels instantiate instead of predicting from a learned model. The per-op rules are
in ``rules/`` (one module per op family), the primitive costs in ``arith.py``, the device facts in ``parts.py``; the
documented model and its calibration against published syntheses are in docs/estimate.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import PrecisionError, UnsupportedOpError
from ..ir.graph import Graph
from .arith import DEFAULT_MODEL, CostModel, bram_18k_for, width_of
from .parts import DEFAULT_PART, Part, get_part
from .records import RESOURCES, Estimate, LayerEstimate
from .rules import RULES, UNSUPPORTED, RuleContext
from .schedule import io_type_of, top_pragma

__all__ = ["estimate", "project_estimate"]


def _quantized(graph: Graph, config: Any) -> tuple[Graph, list[str]]:
    from ..quantize.config import METADATA_KEY, configure, is_configured

    if config is not None:
        if METADATA_KEY in graph.metadata:
            raise PrecisionError(
                f"model {graph.name!r} is already quantized; pass config= only with a float graph"
            )
        return configure(graph, config), []
    if is_configured(graph):
        return graph, []
    return configure(graph, None), [
        "the graph was not quantized: estimated with the default precision ap_fixed<16,6> "
        "(pass config= to choose)"
    ]


def _stream_fifos(graph: Graph, ctx: RuleContext) -> LayerEstimate | None:
    """io_stream: one FIFO per activation edge, as deep as the tensor has stream elements
    (hls4ml's default depth before FIFO-depth optimization), one element wide."""
    lut = bram = ff = 0
    for node in graph.nodes:
        for name in node.outputs:
            v = graph.values[name]
            chans = v.shape[-1] if v.shape else 1
            depth = max(1, v.size // max(chans, 1))
            width = chans * width_of(v.type)
            if depth <= 1:
                ff += width
                continue
            if depth * width > ctx.model.rom_lut_max_bits:
                bram += bram_18k_for(depth, width)
            else:
                lut += width * max(1, -(-depth // 32))  # SRL32 shift registers
    if not (lut or bram or ff):
        return None
    return LayerEstimate(
        name="stream_fifos", op="FIFO", lut=lut, ff=ff, bram_18k=bram, latency_cycles=0, ii=1,
        notes=["io_stream FIFOs at hls4ml's default depth (one sample's elements)"],
    )


def estimate(
    graph: Graph,
    part: str | Part = DEFAULT_PART,
    clock_ns: float = 5.0,
    config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    model: CostModel = DEFAULT_MODEL,
) -> Estimate:
    """Estimate LUT, FF, DSP, BRAM_18K, latency and II of ``graph`` as the HLS backend emits it.

    ``graph``: a quantized graph (after ``hlsforge.quantize.configure``, or an as-trained
    graph whose values carry fixed-point types); with ``config`` a float graph is quantized
    first. ``part``: a device name (``xcvu13p-flga2577-2-e``; see ``resources.PARTS``);
    ``clock_ns``: the target clock period. ``model``: the cost model's tunable numbers.
    Returns an :class:`Estimate` (one row per layer, totals, utilization in percent).
    """
    if not isinstance(clock_ns, (int, float)) or not clock_ns > 0:
        raise PrecisionError(f"clock_ns must be a positive number of nanoseconds, got {clock_ns!r}")
    dev = get_part(part)
    g, notes = _quantized(graph, config)
    io = io_type_of(g)
    ctx = RuleContext(g, dev, float(clock_ns), model, io)
    rows: list[LayerEstimate] = []
    # io_parallel: (cycle, ns of logic already chained in that cycle) when each value is ready
    ready: dict[str, tuple[int, float]] = {name: (0, 0.0) for name in g.inputs}
    first: dict[str, int] = {name: 0 for name in g.inputs}
    limit = ctx.period * model.chain_fraction
    registered = False
    for node in g.nodes:
        rule = RULES.get(node.op)
        if rule is None:
            why = UNSUPPORTED.get(node.op, "no cost rule")
            raise UnsupportedOpError(f"{node.describe()}: the estimate cannot cost {node.op.value}: {why}")
        row = rule(ctx, node)
        rows.append(row)
        acts = [i for i in node.inputs if not g.values[i].is_constant]
        cycle, used = max((ready.get(i, (0, 0.0)) for i in acts), default=(0, 0.0))
        if io == "io_stream":
            # layers overlap: a layer starts when its producer's first element arrives and
            # finishes no earlier than its own processing time after that
            s0 = max((first.get(i, 0) for i in acts), default=0)
            lat = max(row.latency_cycles, 1 if row.comb_ns else 0)
            fill = min(lat, max(1, lat - row.ii + 1))
            done = max(s0 + lat, cycle + fill)
            for o in node.outputs:
                first[o] = s0 + fill
                ready[o] = (done, 0.0)
        elif row.latency_cycles == 0:
            # combinational: chained into the current cycle while it fits, else the next one
            state = (cycle, used + row.comb_ns) if used + row.comb_ns <= limit else (cycle + 1, row.comb_ns)
            for o in node.outputs:
                ready[o] = state if row.comb_ns else (cycle, used)
        else:
            # a registered layer; the top function registers its output before the next layer
            registered = True
            for o in node.outputs:
                ready[o] = (cycle + row.latency_cycles + model.layer_boundary_cycles, 0.0)
    latency = max((ready.get(o, (0, 0.0))[0] for o in g.outputs), default=0)
    if registered or io == "io_stream":
        latency += model.top_overhead_cycles
    if io == "io_stream":
        fifo = _stream_fifos(g, ctx)
        if fifo is not None:
            rows.append(fifo)
    pragma = top_pragma(g, io)
    ii = max((r.ii for r in rows), default=1)
    totals = {r: sum(int(getattr(row, r)) for row in rows) for r in RESOURCES}
    # the top function registers its ports
    totals["ff"] += sum(_port_bits(g, v) for v in (*g.inputs, *g.outputs))
    avail = dev.totals()
    util = {r: (100.0 * totals[r] / avail[r] if avail[r] else 0.0) for r in RESOURCES}
    notes = notes + [f"top function: {pragma}"]
    return Estimate(
        layers=rows, part=str(part if isinstance(part, str) else dev.name), clock_ns=float(clock_ns),
        lut=totals["lut"], ff=totals["ff"], dsp=totals["dsp"], bram_18k=totals["bram_18k"],
        latency_cycles=int(latency), ii=int(ii), utilization=util, io_type=io,
        dsp_family=dev.dsp_family.name, notes=notes,
    )


def _port_bits(g: Graph, name: str) -> int:
    v = g.values[name]
    return v.size * width_of(v.type)


def project_estimate(graph: Graph, part: str, clock_ns: float) -> tuple[str, dict[str, Any] | None]:
    """The README section and the JSON record of the estimate written into a generated HLS
    project. An estimate that cannot be made (e.g. a part the database lacks) becomes a note
    in the README instead of stopping the project from being written."""
    from ..errors import HlsforgeError

    title = "\n## Resource estimate (hlsforge, no vendor tools)\n\n"
    try:
        est = estimate(graph, part=part, clock_ns=clock_ns)
    except HlsforgeError as e:
        return title + f"Not available: {e}\n", None
    body = est.to_markdown()
    return (
        title + "First-principles estimate of what this firmware synthesizes to (docs/estimate.md in\n"
        "hlsforge); the vendor reports after `synth` are the reference.\n\n" + body + "\n",
        est.to_dict(),
    )
