"""Vivado HLS (2019.x-2020.1, ``vivado_hls -f build_prj.tcl``)."""

from __future__ import annotations

from ..hls_backend.csim import AP_FIXED_MACRO
from .flows import ToolFlow

FLOW = ToolFlow(
    name="vivado",
    hls_executable="vivado_hls",
    cflags=f"-std=c++0x -D{AP_FIXED_MACRO}",
    solution_options="",
    # io_parallel partitions every activation array completely; Vivado HLS refuses complete
    # partitioning of arrays above 1024 elements unless told otherwise.
    extra_tcl=("config_array_partition -maximum_size 65536",),
    description="Vivado HLS (2019.2 / 2020.1)",
)
