"""Vendor projects: the files, the Tcl (run by tclsh with the vendor commands stubbed), the
unified-flow config, the testbench through run_csim, build() without and with a (fake) tool."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import model_zoo
import numpy as np
import op_zoo
import pytest

import hlsforge
from hlsforge.errors import HlsforgeError, ToolNotFoundError
from hlsforge.projects import ProjectError, build, read_settings, run_csim, write_project

TCL_STUBS = """\
foreach cmd {open_project set_top add_files open_solution set_part create_clock set_clock_uncertainty
             config_array_partition csim_design csynth_design cosim_design export_design
             create_project read_verilog synth_design get_ports report_utilization report_timing_summary} {
    proc $cmd args "puts \\"CALL $cmd \\$args\\""
}
"""


def tclsh(script: str, cwd: Path, argv: str = "") -> subprocess.CompletedProcess:
    driver = TCL_STUBS + f"set ::argv {{{argv}}}\nsource {script}\n"
    return subprocess.run(
        ["tclsh"], input=driver, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def mlp_graph():
    return hlsforge.load(model_zoo.mlp_16_64_32_32_5())


@pytest.fixture(scope="module")
def vitis_project(tmp_path_factory, mlp_graph):
    out = tmp_path_factory.mktemp("prj") / "mlp_vitis"
    files = write_project(
        mlp_graph, "ap_fixed<16,6>", out, tool="vitis", name="mlp", n_test_events=50
    )
    return out, files


def test_project_files(vitis_project):
    out, files = vitis_project
    rel = {p.relative_to(out).as_posix() for p in files}
    for f in (
        "firmware/mlp.cpp",
        "firmware/mlp.h",
        "firmware/mlp_types.h",
        "firmware/mlp_parameters.h",
        "firmware/hlsforge_types.h",
        "firmware/hlsforge_fixed.h",
        "firmware/hlsforge_kernels/dense.h",
        "mlp_test.cpp",
        "tb_data/tb_input_features.dat",
        "tb_data/tb_output_predictions.dat",
        "build_prj.tcl",
        "project.tcl",
        "vivado_synth.tcl",
        "hls_config.cfg",
        "README.md",
        "hlsforge_project.json",
    ):
        assert f in rel, f
        assert (out / f).is_file()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary left
    s = read_settings(out)
    assert (s.part, s.clock_period, s.clock_uncertainty, s.tool) == (
        "xcvu13p-flga2577-2-e",
        5.0,
        "12.5%",
        "vitis",
    )
    assert len((out / "tb_data/tb_input_features.dat").read_text().splitlines()) == 50
    assert "vitis_hls -f build_prj.tcl" in (out / "README.md").read_text()


def test_testbench_passes_with_run_csim(vitis_project):
    out, _ = vitis_project
    result = run_csim(out)
    assert result.passed, result.output
    assert (result.mismatches, result.events, result.values) == (0, 50, 250)
    assert len((out / "tb_data/csim_results.log").read_text().splitlines()) == 50


def test_corrupted_expectation_fails_and_counts(tmp_path, mlp_graph):
    out = tmp_path / "p"
    write_project(mlp_graph, "ap_fixed<16,6>", out, name="mlp", n_test_events=20)
    path = out / "tb_data/tb_output_predictions.dat"
    rows = [line.split() for line in path.read_text().splitlines()]
    for r, c in ((0, 0), (5, 3), (19, 4)):
        rows[r][c] = repr(float(rows[r][c]) + 2.0**-10)
    path.write_text("\n".join(" ".join(r) for r in rows) + "\n")
    result = run_csim(out)
    assert not result.passed and result.mismatches == 3
    assert "3 differ" in result.summary() and "mismatch: event 5, out[3]" in result.output


def test_run_csim_with_xilinx_headers(tmp_path):
    g = op_zoo.CASES["conv1d_stride_pad"]()
    write_project(
        g,
        {"model": {"default": "ap_fixed<10,4,AP_RND_CONV,AP_SAT>"}},
        tmp_path / "p",
        name="c1",
        n_test_events=10,
    )
    result = run_csim(tmp_path / "p", fixed_lib="ap_types", flags=("-O0", "-std=c++17"))
    assert result.passed and result.values == 10 * 16


def test_tcl_flow_runs_under_tclsh(vitis_project):
    out, _ = vitis_project
    r = tclsh("build_prj.tcl", out, "csim=1 synth=0 cosim=1 reset=1")
    assert r.returncode == 0, r.stderr
    calls = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("CALL")]
    assert calls[:3] == ["open_project", "set_top", "add_files"]
    assert "csim_design" in calls and "cosim_design" in calls and "csynth_design" not in calls
    assert "CALL open_solution -reset solution1 -flow_target vivado" in r.stdout
    assert "CALL set_part xcvu13p-flga2577-2-e" in r.stdout
    assert "CALL create_clock -period 5 -name default" in r.stdout
    assert "CALL set_clock_uncertainty 12.5% default" in r.stdout
    assert "-std=c++14 -DHLSFORGE_USE_AP_FIXED" in r.stdout
    bad = tclsh("build_prj.tcl", out, "bogus=1")
    assert bad.returncode == 2 and "unknown argument 'bogus=1'" in bad.stdout


def test_vivado_synth_tcl(vitis_project, tmp_path):
    out, _ = vitis_project
    r = tclsh("vivado_synth.tcl", out)
    assert r.returncode == 1 and "run the C synthesis first" in r.stdout
    rtl = out / "mlp_prj/solution1/syn/verilog"
    rtl.mkdir(parents=True)
    (rtl / "mlp.v").write_text("module mlp(); endmodule\n")
    r = tclsh("vivado_synth.tcl", out)
    assert r.returncode == 0, r.stderr
    assert "CALL synth_design -top mlp -part xcvu13p-flga2577-2-e -mode out_of_context" in r.stdout


def test_every_tcl_file_parses(vitis_project):
    out, _ = vitis_project
    for tcl in ("build_prj.tcl", "project.tcl", "vivado_synth.tcl"):
        text = (out / tcl).read_text()
        r = subprocess.run(
            ["tclsh"], input=f"puts [info complete {{{text}}}]\n", capture_output=True, text=True
        )
        assert r.stdout.strip() == "1", tcl


def test_unified_vitis_config(vitis_project):
    out, _ = vitis_project
    cfg = (out / "hls_config.cfg").read_text().splitlines()
    assert "part=xcvu13p-flga2577-2-e" in cfg and "[hls]" in cfg
    for line in (
        "flow_target=vivado",
        "clock=5ns",
        "clock_uncertainty=12.5%",
        "syn.top=mlp",
        "syn.file=firmware/mlp.cpp",
        "tb.file=mlp_test.cpp",
        "tb.file=tb_data/tb_input_features.dat",
        "package.output.format=ip_catalog",
    ):
        assert line in cfg, line


def test_vivado_project_and_settings(tmp_path):
    g = op_zoo.CASES["dense"]()
    out = tmp_path / "v"
    write_project(
        g,
        "ap_fixed<12,4>",
        out,
        tool="vivado",
        part="xc7z020clg400-1",
        clock_period=10,
        clock_uncertainty="1.5ns",
        n_test_events=5,
    )
    assert not (out / "hls_config.cfg").exists()
    text = (out / "project.tcl").read_text()
    assert (
        "set part {xc7z020clg400-1}" in text
        and "set clock_period {10}" in text
        and "set clock_uncertainty {1.5}" in text
    )
    r = tclsh("build_prj.tcl", out, "csim=0 synth=1")
    assert (
        "CALL config_array_partition -maximum_size 65536" in r.stdout
        and "CALL open_solution solution1" in r.stdout
    )
    assert "-std=c++0x" in r.stdout
    assert run_csim(out).passed


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"tool": "quartus"}, "unknown HLS tool"),
        ({"part": "xcvu9p; exec rm"}, "invalid FPGA part"),
        ({"clock_period": -1}, "clock period"),
        ({"clock_uncertainty": "lots"}, "clock uncertainty"),
    ],
)
def test_invalid_settings(tmp_path, kwargs, match):
    with pytest.raises(ProjectError, match=match):
        write_project(
            op_zoo.CASES["relu"](), "ap_fixed<8,3>", tmp_path / "x", n_test_events=2, **kwargs
        )
    assert not (tmp_path / "x").exists()


def test_unwritable_destination_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ProjectError, match="cannot write"):
        write_project(op_zoo.CASES["relu"](), "ap_fixed<8,3>", blocker / "project", n_test_events=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_existing_directories(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="not empty"):
        write_project(op_zoo.CASES["relu"](), "ap_fixed<8,3>", other, n_test_events=2)
    assert (other / "notes.txt").read_text() == "mine"
    prj = tmp_path / "prj"
    write_project(op_zoo.CASES["relu"](), "ap_fixed<8,3>", prj, n_test_events=2)
    (prj / "stale.txt").write_text("old")
    write_project(
        op_zoo.CASES["relu"](), "ap_fixed<8,3>", prj, n_test_events=3
    )  # replaces hlsforge's files of the old project, keeps the user's
    assert (prj / "stale.txt").read_text() == "old"
    assert json.loads((prj / "hlsforge_project.json").read_text())["n_test_events"] == 3


def test_projects_are_byte_identical(tmp_path, mlp_graph):
    a = write_project(mlp_graph, "ap_fixed<16,6>", tmp_path / "a", n_test_events=7)
    b = write_project(mlp_graph, "ap_fixed<16,6>", tmp_path / "b", n_test_events=7)
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa


def test_build_without_tools(vitis_project, tmp_path, monkeypatch):
    out, _ = vitis_project
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="vitis_hls"):
        build(out)
    with pytest.raises(ProjectError, match="unknown build step"):
        build(out, steps=["csim", "place"])
    with pytest.raises(HlsforgeError, match="not an hlsforge project"):
        build(tmp_path)


def test_build_runs_the_tool_on_path(vitis_project, tmp_path, monkeypatch):
    out, _ = vitis_project
    fake = tmp_path / "bin" / "vitis_hls"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "fake vitis_hls $@"\nexit 0\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(fake.parent) + os.pathsep + os.environ.get("PATH", ""))
    result = build(out, steps=["csim", "synth"])
    assert result.commands[0][1:] == (
        "-f",
        "build_prj.tcl",
        "-tclargs",
        "reset=0 csim=1 synth=1 cosim=0 export=0 vsynth=0",
    )
    assert "fake vitis_hls -f build_prj.tcl" in result.log.read_text()
    fake.write_text("#!/bin/sh\nexit 3\n")
    with pytest.raises(ProjectError, match="exit code 3"):
        build(out)


def test_testbench_inputs_are_one_event_per_line(vitis_project):
    """Inputs in the tb file are the float inputs, one event per line, internal layout."""
    out, _ = vitis_project
    rows = np.loadtxt(out / "tb_data/tb_input_features.dat")
    assert rows.shape == (50, 16)


@pytest.mark.parametrize("case", ["lstm_bidirectional", "layernorm"])
def test_recurrent_and_layernorm_projects_pass_their_testbench(tmp_path, case):
    """A multi-output LSTM (Y, Y_h, Y_c as graph outputs) and a LayerNorm as vendor projects:
    the testbench compares every output exactly with the emulator (docs/numerics.md §12)."""
    g = op_zoo.FIXED_RECURRENT_CASES[case]()
    write_project(g, {"model": {"default": "ap_fixed<14,5,AP_RND,AP_SAT>"}}, tmp_path / "p", name=case,
                  n_test_events=8)
    result = run_csim(tmp_path / "p")
    assert result.passed and result.mismatches == 0, result.output
    assert result.values == 8 * sum(g.values[o].size for o in g.outputs)
