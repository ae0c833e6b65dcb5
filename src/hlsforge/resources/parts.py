"""The FPGA part database: resource totals and DSP primitive of each supported device.

Why data: the estimator needs two facts per part — how much of each resource there is (for
utilization in percent) and which DSP primitive the multipliers map to (its port widths decide
how many DSPs one multiplication takes). Nothing else about a device enters the cost model.

Figures are the device totals from the vendor product tables (UltraScale+ DS890/DS923,
UltraScale DS890, 7 series DS180, Versal DS950, Alveo data sheets DS962/DS1000 — the Alveo
entries are the whole FPGA, the shell's share is not subtracted). ``bram_18k`` counts 18 Kb
halves (two per 36 Kb block RAM), the unit Vitis HLS reports in.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

__all__ = ["DspFamily", "Part", "DSP48E1", "DSP48E2", "DSP58", "PARTS", "get_part", "DEFAULT_PART"]


@dataclass(frozen=True)
class DspFamily:
    """A DSP primitive: the widths of its signed multiplier ports (A x B)."""

    name: str
    a_width: int
    b_width: int


DSP48E1 = DspFamily("DSP48E1", 25, 18)  # 7 series (UG479): 25 x 18 signed multiplier
DSP48E2 = DspFamily("DSP48E2", 27, 18)  # UltraScale / UltraScale+ (UG579): 27 x 18
DSP58 = DspFamily("DSP58", 27, 24)  # Versal (AM004): 27 x 24 (B port 24 bits)


@dataclass(frozen=True)
class Part:
    """One device: name prefix, family, DSP primitive and resource totals."""

    name: str
    family: str
    dsp_family: DspFamily
    lut: int
    ff: int
    dsp: int
    bram_18k: int
    uram: int = 0

    def totals(self) -> dict[str, int]:
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram_18k": self.bram_18k}


PARTS: dict[str, Part] = {
    p.name: p
    for p in [
        # Virtex UltraScale+ (DS890 / DS923)
        Part("xcvu13p", "Virtex UltraScale+", DSP48E2, 1_728_000, 3_456_000, 12_288, 5_376, 1_280),
        Part("xcvu9p", "Virtex UltraScale+", DSP48E2, 1_182_240, 2_364_480, 6_840, 4_320, 960),
        Part("xcvu7p", "Virtex UltraScale+", DSP48E2, 788_160, 1_576_320, 4_560, 2_880, 640),
        # Alveo cards (the whole FPGA of the card)
        Part("xcu250", "Alveo U250 (Virtex UltraScale+)", DSP48E2, 1_728_000, 3_456_000, 12_288, 5_376, 1_280),
        Part("xcu200", "Alveo U200 (Virtex UltraScale+)", DSP48E2, 1_182_240, 2_364_480, 6_840, 4_320, 960),
        Part("xcu280", "Alveo U280 (Virtex UltraScale+)", DSP48E2, 1_303_680, 2_607_360, 9_024, 4_032, 960),
        Part("xcu55c", "Alveo U55C (Virtex UltraScale+)", DSP48E2, 1_303_680, 2_607_360, 9_024, 4_032, 960),
        Part("xcu50", "Alveo U50 (Virtex UltraScale+)", DSP48E2, 872_000, 1_743_000, 5_952, 2_688, 640),
        # Kintex UltraScale (DS890)
        Part("xcku115", "Kintex UltraScale", DSP48E2, 663_360, 1_326_720, 5_520, 4_320),
        Part("xcku040", "Kintex UltraScale", DSP48E2, 242_400, 484_800, 1_920, 1_200),
        # Zynq UltraScale+ (DS891)
        Part("xczu9eg", "Zynq UltraScale+", DSP48E2, 274_080, 548_160, 2_520, 1_824),
        # Versal AI Core (DS950): DSP58 engines
        Part("xcvc1902", "Versal AI Core", DSP58, 899_840, 1_799_680, 1_968, 1_934, 463),
        # 7 series (DS180)
        Part("xc7vx690t", "Virtex-7", DSP48E1, 433_200, 866_400, 3_600, 2_940),
        Part("xc7k325t", "Kintex-7", DSP48E1, 203_800, 407_600, 840, 890),
        Part("xc7z020", "Zynq-7000", DSP48E1, 53_200, 106_400, 220, 280),
        Part("xc7z007s", "Zynq-7000", DSP48E1, 14_400, 28_800, 66, 100),
    ]
}
"""Device name prefix -> part; a full name (``xcvu13p-flga2577-2-e``) matches by prefix."""

DEFAULT_PART = "xcvu13p-flga2577-2-e"


def get_part(name: str | Part) -> Part:
    """The part of a full device name (package and speed grade are ignored)."""
    if isinstance(name, Part):
        return name
    key = str(name).strip().lower()
    best = max((p for p in PARTS if key.startswith(p)), key=len, default=None)
    if best is None:
        raise InputError(
            f"unknown FPGA part {name!r}; known parts (any package/speed grade): {', '.join(sorted(PARTS))}"
        )
    return PARTS[best]
