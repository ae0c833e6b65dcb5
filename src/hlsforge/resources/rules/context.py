"""What every cost rule reads (graph, part, clock, cost model) and their shared helpers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...errors import PrecisionError
from ...ir.graph import Graph, Node, Value
from ...ir.types import FixedType, IntType, TensorType
from ...quantize.fixed import as_fixed_type
from ..arith import (
    CostModel,
    bit_length,
    csd_digits,
    odd_part,
    tree_depth,
)
from ..parts import Part
from ..records import LayerEstimate


@dataclass
class RuleContext:
    """What every rule may read: the graph, the part, the clock and the cost model."""

    graph: Graph
    part: Part
    clock_ns: float
    model: CostModel
    io_type: str = "io_parallel"
    notes: list[str] = field(default_factory=list)

    @property
    def period(self) -> float:
        """Usable combinational time per cycle (clock minus the HLS clock uncertainty)."""
        return self.clock_ns * (1.0 - self.model.clock_uncertainty)

    def cycles(self, delay_ns: float) -> int:
        """Register stages HLS inserts for a combinational path of ``delay_ns``."""
        return max(1, math.ceil(delay_ns / self.period - 1e-9)) if delay_ns > 0 else 0

    def combinational(self, delay_ns: float) -> bool:
        """Whether HLS leaves a layer of this delay unregistered, chaining it with its
        neighbours (it fits ``chain_fraction`` of the usable period)."""
        return delay_ns <= self.period * self.model.chain_fraction

    def layer_cycles(self, delay_ns: float) -> int:
        """Latency of a layer whose whole path is ``delay_ns`` of logic: 0 when it is
        combinational (see :meth:`combinational`), else the register stages it needs."""
        return 0 if self.combinational(delay_ns) else self.cycles(delay_ns)

    def timing(self, delay_ns: float, ff_bits: int, *, dsp: bool = False) -> dict[str, float | int]:
        """``latency_cycles``/``comb_ns``/``ff`` of a single-block layer of ``delay_ns`` logic
        (plus a DSP multiply when ``dsp``): registered DSPs take their fixed stages; otherwise a
        layer that fits the chaining budget is combinational, with no registers."""
        if dsp and self.dsp_registered:
            return {"latency_cycles": self.model.dsp_latency_cycles + self.cycles(delay_ns), "comb_ns": 0.0, "ff": ff_bits}
        total = delay_ns + (self.model.t_dsp_ns if dsp else 0.0)
        lat = self.layer_cycles(total)
        return {"latency_cycles": lat, "comb_ns": 0.0 if lat else total, "ff": ff_bits if lat else 0}

    @property
    def dsp_registered(self) -> bool:
        """HLS pipelines DSP multiplies (M and P registers) unless the period is long."""
        return self.period < self.model.dsp_comb_min_period_ns

    def value(self, node: Node, i: int) -> Value:
        return self.graph.values[node.inputs[i]]

    def out(self, node: Node) -> Value:
        return self.graph.values[node.outputs[0]]


Rule = Callable[[RuleContext, Node], LayerEstimate]


def fixed(t: TensorType, node: Node, what: str) -> FixedType:
    if isinstance(t, (FixedType, IntType)):
        return as_fixed_type(t)
    raise PrecisionError(
        f"{node.describe()}: {what} has type {t}; the estimate needs fixed-point types — quantize the "
        "graph with hlsforge.quantize.configure(graph, config) or pass config= to hlsforge.estimate"
    )


def row(node: Node, **kw: object) -> LayerEstimate:
    return LayerEstimate(name=node.name, op=node.op.value, source_name=node.source_name, **kw)  # type: ignore[arg-type]


def mux_luts(inputs: int, width: int) -> int:
    """An ``inputs``:1 multiplexer of ``width`` bits (a LUT6 is a 4:1 mux, F7/F8 combine)."""
    if inputs <= 1:
        return 0
    return width * math.ceil((inputs - 1) / 3)


def sig_width(odd: np.ndarray, signed: bool) -> np.ndarray:
    """Significant bits of each odd coefficient, plus the sign bit."""
    return bit_length(odd) + (1 if signed else 0)



def use_dsp_mask(bx: int, wb: np.ndarray, model: CostModel) -> np.ndarray:
    """Vectorized :func:`arith.use_dsp` over an array of weight widths."""
    wb = np.asarray(wb)
    if model.mult_impl in ("dsp", "fabric"):
        return np.full(wb.shape, model.mult_impl == "dsp")
    return ((bx + wb) > model.fabric_product_bits) & (np.minimum(bx, wb) > model.fabric_operand_bits)


def const_scalar_mult_luts(value: float, t: TensorType | None, width_in: int) -> tuple[int, int]:
    """(LUTs, adder levels) of a multiplication by one constant ``value`` in type ``t``."""
    if t is None or not isinstance(t, (FixedType, IntType)):
        return width_in, 1
    ft = as_fixed_type(t)
    raw = int(round(float(value) * 2.0**ft.frac))
    o = odd_part(np.array([raw]))
    d = int(csd_digits(o)[0])
    span = max(int(o[0]).bit_length() - 1, 0)
    return max(d - 1, 0) * (width_in + span), tree_depth(d)
