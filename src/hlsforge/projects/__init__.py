"""Vendor HLS projects for a quantized model: write them, C-simulate them here, build them.

- ``write_project(graph, config, out_dir, tool="vitis"|"vivado", ...)``: firmware, testbench
  with the emulator's expected outputs, ``build_prj.tcl`` (vitis_hls / vivado_hls),
  ``hls_config.cfg`` (unified Vitis flow), ``vivado_synth.tcl``, README;
- ``run_csim(project_dir)``: compile and run the project's testbench with g++ →
  ``CsimResult(passed, mismatches, ...)``;
- ``build(project_dir, steps)``: run the vendor tool if it is installed, else
  ``ToolNotFoundError`` naming it.
"""

from __future__ import annotations

from .project import write_project
from .runner import BuildResult, CsimResult, build, run_csim
from .settings import (
    DEFAULT_CLOCK_PERIOD,
    DEFAULT_CLOCK_UNCERTAINTY,
    DEFAULT_PART,
    ProjectError,
    ProjectSettings,
    read_settings,
)

__all__ = [
    "write_project",
    "run_csim",
    "build",
    "CsimResult",
    "BuildResult",
    "ProjectError",
    "ProjectSettings",
    "read_settings",
    "DEFAULT_PART",
    "DEFAULT_CLOCK_PERIOD",
    "DEFAULT_CLOCK_UNCERTAINTY",
]
