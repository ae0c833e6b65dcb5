"""Running a written project: the testbench with g++ here (``run_csim``), or the vendor flow
(``build``) when the tool is installed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import cpp_toolchain
from ..errors import ToolNotFoundError
from ..hls_backend.csim import DEFAULT_FLAGS, WARNING_FLAGS, include_dirs
from . import tcl, vitis
from .project import FLOWS
from .settings import ProjectError, read_settings
from .testbench import RESULTS_FILE, SUMMARY_RE


@dataclass(frozen=True)
class CsimResult:
    """Outcome of a project's testbench run."""

    passed: bool
    mismatches: int
    events: int
    values: int
    returncode: int
    output: str
    executable: Path
    results_log: Path

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        return (
            f"C simulation {verdict}: {self.events} events, {self.values} output values, "
            f"{self.mismatches} differ from the emulator (outputs: {self.results_log})"
        )

    def __str__(self) -> str:
        return self.summary()


def run_csim(
    project_dir: str | Path,
    *,
    fixed_lib: str = "hlsforge",
    ap_types_path: str | Path | None = None,
    flags: Sequence[str] = DEFAULT_FLAGS,
    timeout: float = 600,
) -> CsimResult:
    """Compile the project's own testbench + firmware with g++ and run it in the project.

    ``fixed_lib="ap_types"`` compiles against Xilinx ``ap_fixed.h`` instead of hlsforge's
    header. ``passed`` means: the testbench ran, read at least one event, and every output
    equals the emulator's value exactly.
    """
    root = Path(project_dir).absolute()
    settings = read_settings(root)
    firmware = root / "firmware"
    sources = [root / f"{settings.name}_test.cpp", firmware / f"{settings.name}.cpp"]
    incs, defines = include_dirs(fixed_lib, ap_types_path)
    # The project carries its own copy of hlsforge's headers and includes them by relative
    # path (as the vendor tools compile it): only Xilinx's ap_types need an include flag.
    incs = incs[:1] if fixed_lib == "ap_types" else []
    exe = cpp_toolchain.compile_executable(
        sources,
        name=f"{settings.name}_csim",
        include_dirs=incs,
        defines=defines,
        flags=tuple(flags),
        extra_flags=WARNING_FLAGS,
    )
    try:
        proc = subprocess.run(
            [str(exe), str(root / "tb_data")],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProjectError(
            f"the testbench of {str(root)!r} did not finish within {timeout} s"
        ) from None
    output = proc.stdout + proc.stderr
    m = SUMMARY_RE.search(proc.stdout)
    if m is None:
        raise ProjectError(
            f"the testbench of {str(root)!r} stopped without a summary (exit code {proc.returncode}):\n{output.strip()}"
        )
    events, values, mismatches = (int(g) for g in m.groups())
    passed = proc.returncode == 0 and mismatches == 0 and events > 0
    return CsimResult(
        passed, mismatches, events, values, proc.returncode, output, exe, root / RESULTS_FILE
    )


@dataclass(frozen=True)
class BuildResult:
    commands: tuple[tuple[str, ...], ...]
    log: Path


def _check_steps(steps: Sequence[str]) -> tuple[str, ...]:
    unknown = [s for s in steps if s not in (*tcl.STEPS, "reset")]
    if unknown:
        raise ProjectError(
            f"unknown build step(s) {unknown}; use any of: reset, {', '.join(tcl.STEPS)}"
        )
    return tuple(steps)


def build(
    project_dir: str | Path,
    steps: Sequence[str] = ("csim", "synth"),
    *,
    timeout: float | None = None,
) -> BuildResult:
    """Run the vendor flow on a project (``build_prj.tcl``, or the unified Vitis flow).

    Raises ``ToolNotFoundError`` naming the missing tool when it is not on PATH, and
    ``ProjectError`` (with the log path) when the tool fails. The log is ``build.log``.
    """
    root = Path(project_dir).absolute()
    settings = read_settings(root)
    steps = _check_steps(steps)
    flow = FLOWS[settings.tool]
    commands: list[list[str]]
    exe = shutil.which(flow.hls_executable)
    if exe is not None:
        args = " ".join(f"{k}={int(k in steps)}" for k in ("reset", *tcl.STEPS))
        commands = [[exe, "-f", tcl.BUILD_TCL, "-tclargs", args]]
    elif (
        settings.tool == "vitis"
        and shutil.which(vitis.UNIFIED_COMPILER)
        and shutil.which(vitis.UNIFIED_RUNNER)
    ):
        commands = vitis.unified_commands(settings, steps)
    else:
        alt = (
            f" (or {vitis.UNIFIED_COMPILER} and {vitis.UNIFIED_RUNNER} of the unified flow)"
            if settings.tool == "vitis"
            else ""
        )
        raise ToolNotFoundError(
            f"{flow.hls_executable}{alt} is not on PATH: install {flow.description} and source its "
            f"settings64.sh, or run `hlsforge csim {root}` for a C simulation with g++"
        )
    if "vsynth" in steps and exe is not None and shutil.which("vivado") is None:
        raise ToolNotFoundError(
            "vivado is not on PATH: the vsynth step runs Vivado synthesis; source Vivado's settings64.sh"
        )
    log = root / "build.log"
    with open(log, "w") as fh:
        for cmd in commands:
            fh.write("$ " + " ".join(cmd) + "\n")
            fh.flush()
            try:
                proc = subprocess.run(
                    cmd, cwd=root, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired:
                raise ProjectError(
                    f"{cmd[0]} did not finish within {timeout} s; log: {log}"
                ) from None
            if proc.returncode != 0:
                raise ProjectError(
                    f"{Path(cmd[0]).name} failed with exit code {proc.returncode}; log: {log}"
                )
    return BuildResult(tuple(tuple(c) for c in commands), log)


__all__ = ["CsimResult", "BuildResult", "run_csim", "build"]
