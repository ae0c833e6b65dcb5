"""What differs between the vendor flows, as data (one record per tool).

``vitis.py`` and ``vivado.py`` each define one ``ToolFlow``; the Tcl renderer and the build
runner read only these records, so supporting another tool version is one new record.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ToolFlow:
    name: str  # "vitis" | "vivado"
    hls_executable: str  # runs build_prj.tcl with -f
    cflags: str  # compiler flags for the firmware and the testbench under the vendor tool
    solution_options: str  # extra options of open_solution
    extra_tcl: tuple[str, ...]  # solution settings specific to this tool
    description: str
