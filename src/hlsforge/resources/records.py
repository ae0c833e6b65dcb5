"""The estimate as typed records: one row per layer plus totals, utilization and a table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["LayerEstimate", "Estimate", "RESOURCES"]

RESOURCES = ("lut", "ff", "dsp", "bram_18k")
"""The resources an estimate counts (the names Vitis HLS reports use, lower-case)."""


@dataclass
class LayerEstimate:
    """Cost of one IR node as the HLS backend implements it.

    ``multiplies``: nonzero-weight (or variable) multiplications one inference performs;
    ``dsp_multiplies``/``fabric_multiplies``/``shifts`` split them by how they are built
    (a power-of-two weight is a shift, not a multiplier). ``ii``: cycles between two inputs
    this layer accepts; ``latency_cycles``: from its input to its output (0: combinational,
    its ``comb_ns`` chains with the neighbouring layers in one clock cycle).
    """

    name: str
    op: str
    lut: int = 0
    ff: int = 0
    dsp: int = 0
    bram_18k: int = 0
    latency_cycles: int = 0
    ii: int = 1
    multiplies: int = 0
    dsp_multiplies: int = 0
    fabric_multiplies: int = 0
    shifts: int = 0
    reuse_factor: int = 1
    strategy: str = "latency"
    source_name: str = ""
    notes: list[str] = field(default_factory=list)
    comb_ns: float = 0.0  # a combinational layer (latency 0): its delay, chained with neighbours

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Estimate:
    """Resources, latency and II of a whole model on one part at one clock."""

    layers: list[LayerEstimate]
    part: str
    clock_ns: float
    lut: int
    ff: int
    dsp: int
    bram_18k: int
    latency_cycles: int
    ii: int
    utilization: dict[str, float]
    io_type: str = "io_parallel"
    dsp_family: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def latency_ns(self) -> float:
        return self.latency_cycles * self.clock_ns

    @property
    def multiplies(self) -> int:
        return sum(layer.multiplies for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "dsp_family": self.dsp_family,
            "clock_ns": self.clock_ns,
            "io_type": self.io_type,
            "lut": self.lut,
            "ff": self.ff,
            "dsp": self.dsp,
            "bram_18k": self.bram_18k,
            "latency_cycles": self.latency_cycles,
            "latency_ns": self.latency_ns,
            "ii": self.ii,
            "multiplies": self.multiplies,
            "utilization": dict(self.utilization),
            "notes": list(self.notes),
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def table(self) -> str:
        """A plain-text table: one row per layer, then the totals and utilization."""
        head = ("layer", "op", "LUT", "FF", "DSP", "BRAM18K", "lat", "II", "mults", "RF")
        rows = [
            (
                layer.name, layer.op, str(layer.lut), str(layer.ff), str(layer.dsp), str(layer.bram_18k),
                str(layer.latency_cycles), str(layer.ii), str(layer.multiplies), str(layer.reuse_factor),
            )
            for layer in self.layers
        ]
        total = (
            "total", "", str(self.lut), str(self.ff), str(self.dsp), str(self.bram_18k),
            str(self.latency_cycles), str(self.ii), str(self.multiplies), "",
        )
        util = (
            "% of part", "", *(f"{self.utilization[r]:.2f}" for r in RESOURCES), "", "", "", "",
        )
        cols = list(zip(head, *rows, total, util, strict=False))
        widths = [max(len(c) for c in col) for col in cols]

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))
            ).rstrip()

        rule = "  ".join("-" * w for w in widths)
        out = [
            f"hlsforge estimate: {self.part} ({self.dsp_family}), clock {self.clock_ns:g} ns, {self.io_type}",
            line(head), rule, *(line(r) for r in rows), rule, line(total), line(util),
            f"latency {self.latency_cycles} cycles = {self.latency_ns:g} ns, II {self.ii} cycles",
        ]
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()

    def to_markdown(self) -> str:
        """A Markdown section: totals, utilization, per-layer table, notes."""
        head = "| layer | op | LUT | FF | DSP | BRAM_18K | latency | II | multiplies | RF |"
        rule = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        rows = [
            f"| {r.name} | {r.op} | {r.lut} | {r.ff} | {r.dsp} | {r.bram_18k} | {r.latency_cycles} | {r.ii} "
            f"| {r.multiplies} | {r.reuse_factor} |"
            for r in self.layers
        ]
        util = ", ".join(f"{r.upper()} {self.utilization[r]:.2f} %" for r in RESOURCES)
        out = [
            f"Part `{self.part}` ({self.dsp_family}), clock {self.clock_ns:g} ns, {self.io_type}: "
            f"**{self.lut} LUT, {self.ff} FF, {self.dsp} DSP, {self.bram_18k} BRAM_18K**; latency "
            f"{self.latency_cycles} cycles ({self.latency_ns:g} ns), II {self.ii}.",
            "",
            f"Utilization: {util}.",
            "",
            head,
            rule,
            *rows,
        ]
        if self.notes:
            out += ["", *(f"- {n}" for n in self.notes)]
        return "\n".join(out)
