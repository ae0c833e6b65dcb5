"""The command line never prints a traceback: every subcommand on every model of the test zoos
(ONNX model_zoo, IR op_zoo, Keras files) and on bad inputs ends with exit code 0, 1 or 2 and,
for 2, a one-line ``error:`` message. Plus the CLI contract items of issue 15: --version,
help with examples and exit codes, -q, fixed-batch and ORT-unrunnable models under
``inspect --check``, what ``convert`` prints, CLI-speaking errors, broken pipes."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import model_zoo
import numpy as np
import onnx
import op_zoo
import pytest
from keras_files import write_mlp
from onnx import helper

from hlsforge import progress
from hlsforge.cli import EXIT_INTERNAL, build_parser, main
from hlsforge.ir import serialize

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "jet_tagger_mlp.onnx"


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """main() in this process; SystemExit (argparse) counts as its code."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def assert_clean(argv: list[str], allowed=(0, 1, 2)) -> tuple[int, str, str]:
    code, out, err = run_cli(argv)
    assert "Traceback" not in out + err, (argv, err)
    assert "internal error" not in err, (argv, err)
    assert code in allowed, (argv, code, err)
    if code == 2:
        assert err.strip(), argv
    return code, out, err


# ----------------------------------------------------------------------------- the zoo


@pytest.fixture(scope="module")
def zoo_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli_zoo")
    files: dict[str, Path] = {}
    for name, build in model_zoo.ZOO.items():
        files[f"onnx:{name}"] = d / f"{name}.onnx"
        onnx.save(build(), files[f"onnx:{name}"])
    for name, build in op_zoo.CASES.items():
        try:
            graph = build()
        except Exception:  # noqa: BLE001 - a zoo case that needs an optional package
            continue
        files[f"ir:{name}"] = d / f"{name}.json"
        serialize.save(graph, files[f"ir:{name}"])
    keras = write_mlp(d)
    files["keras:h5"] = keras["h5"]
    files["keras:json"] = keras["json"]
    return files


ONNX_NAMES = sorted(model_zoo.ZOO)
IR_NAMES = sorted(op_zoo.CASES)


def _every_command(path: Path, out: Path, heavy: bool) -> list[list[str]]:
    m = str(path)
    cmds = [
        ["inspect", m], ["inspect", m, "--json"], ["inspect", m, "--check", "--events", "20"],
        ["convert", m, "--backend", "cpu", "-o", str(out / "cpu")],
        ["check", m, "--events", "20", "--precision", "ap_fixed<16,6>"],
    ]
    if heavy:
        cmds.append(["convert", m, "--backend", "hls", "-o", str(out / "hls"), "--accum", "auto"])
    return cmds


@pytest.mark.parametrize("name", ONNX_NAMES + ["keras:h5", "keras:json"])
def test_every_subcommand_on_every_onnx_and_keras_model(zoo_files, tmp_path, name):
    key = name if name.startswith("keras:") else f"onnx:{name}"
    for argv in _every_command(zoo_files[key], tmp_path, heavy=True):
        assert_clean(argv)


@pytest.mark.parametrize("name", IR_NAMES)
def test_every_subcommand_on_every_op_zoo_graph(zoo_files, tmp_path, name):
    if f"ir:{name}" not in zoo_files:
        pytest.skip("case needs an optional package")
    for argv in _every_command(zoo_files[f"ir:{name}"], tmp_path, heavy=False):
        assert_clean(argv)


@pytest.mark.slow
@pytest.mark.parametrize("name", IR_NAMES)
def test_hls_convert_csim_and_compiled_checks_on_every_op_zoo_graph(zoo_files, tmp_path, name):
    if f"ir:{name}" not in zoo_files:
        pytest.skip("case needs an optional package")
    m = str(zoo_files[f"ir:{name}"])
    code, _, _ = assert_clean(["convert", m, "--backend", "hls", "-o", str(tmp_path / "hls")])
    if code == 0:
        assert_clean(["csim", str(tmp_path / "hls")])
    assert_clean(["check", m, "--events", "10", "--cpu", "--csim"])


def test_onnx_zoo_commands_that_must_succeed(zoo_files, tmp_path):
    """Not just 'no traceback': the plain models inspect, check against ORT and convert."""
    for name in ("mlp_16_64_32_32_5", "torch_style_mlp", "torch_style_cnn", "cnn2d"):
        m = str(zoo_files[f"onnx:{name}"])
        assert assert_clean(["inspect", m, "--check", "--events", "20"])[0] == 0, name
        assert assert_clean(["convert", m, "--backend", "cpu", "-o", str(tmp_path / name)])[0] == 0, name


# ----------------------------------------------------------------------------- bad inputs


def test_bad_inputs_never_print_a_traceback(tmp_path, zoo_files):
    garbage = {}
    for suffix in (".onnx", ".h5", ".json", ".keras", ".npy", ".xyz"):
        garbage[suffix] = tmp_path / f"garbage{suffix}"
        garbage[suffix].write_bytes(b"\x00\x01 not a model \xff" * 7)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    a_dir = tmp_path / "a_dir.onnx"
    a_dir.mkdir()
    not_project = tmp_path / "not_project"
    not_project.mkdir()
    model = str(zoo_files["onnx:mlp_16_64_32_32_5"])
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    bad_yaml = tmp_path / "bad.yml"
    bad_yaml.write_text("model: 5\n")
    cases = [
        ["convert", model, "--backend", "hls", "-o", str(tmp_path / "o"), "--config", str(bad_yaml)],
        [], ["--bogus"], ["inspect"], ["frobnicate"], ["convert", model], ["convert", model, "--backend", "fpga", "-o", "x"],
        ["inspect", model, "--events", "-3"], ["inspect", model, "--events", "many"],
        ["convert", model, "--backend", "hls", "-o", str(tmp_path / "o"), "--clock", "fast"],
        ["convert", model, "--backend", "hls", "-o", str(tmp_path / "o"), "--reuse-factor", "0"],
        ["convert", model, "--backend", "hls", "-o", str(tmp_path / "o"), "--precision", "ap_fixed<banana>"],
        ["convert", model, "--backend", "hls", "-o", str(tmp_path / "o"), "--accum", "ap_fixed<2,9"],
        ["convert", model, "--backend", "hls", "-o", str(tmp_path / "o"), "--part", "xcvu9p\n"],
        ["convert", model, "--backend", "hls", "-o", str(tmp_path / "o"), "--config", str(garbage[".json"])],
        ["convert", model, "--backend", "hls", "-o", str(tmp_path / "o"), "--config", str(tmp_path / "missing.yml")],
        ["convert", model, "--backend", "cpu", "-o", str(garbage[".xyz"])],
        ["inspect", model, "--weights", str(garbage[".h5"])],
        ["check", model, "--inputs", str(pickled)], ["check", model, "--inputs", str(garbage[".npy"])],
        ["check", model, "--inputs", str(tmp_path / "missing.npy")], ["check", model, "--inputs", str(tmp_path)],
        ["csim", str(tmp_path / "missing")], ["csim", str(not_project)], ["csim", str(garbage[".xyz"])],
        ["build", str(tmp_path / "missing")], ["build", str(not_project)],
        ["inspect", str(garbage[".json"]), "--check"],
    ]
    for command in ("inspect", "check"):
        for path in (*garbage.values(), empty, a_dir, tmp_path / "missing.onnx"):
            cases.append([command, str(path)])
    cases.append(["convert", str(garbage[".h5"]), "--backend", "cpu", "-o", str(tmp_path / "c")])
    for argv in cases:
        code, _, err = assert_clean(argv, allowed=(2,))
        assert err.strip(), argv


def test_specific_messages(tmp_path, zoo_files):
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    model = str(zoo_files["onnx:mlp_16_64_32_32_5"])
    _, _, err = run_cli(["check", model, "--inputs", str(pickled)])
    assert err.startswith("error: --inputs") and "never unpickles" in err
    _, _, err = run_cli(["csim", str(tmp_path / "nowhere")])
    assert "does not exist" in err and "nowhere" in err
    _, _, err = run_cli(["inspect", str(zoo_files["ir:relu"]), "--check"])
    assert "needs an .onnx model" in err


def test_unexpected_exceptions_are_an_internal_error_with_exit_3(monkeypatch, zoo_files):
    import hlsforge.loader

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(hlsforge.loader, "load", broken)
    monkeypatch.delenv("HLSFORGE_TRACEBACK", raising=False)
    code, _, err = run_cli(["inspect", str(EXAMPLE)])
    assert code == EXIT_INTERNAL == 3
    assert err.startswith("internal error: ZeroDivisionError: boom") and "Traceback" not in err


# ----------------------------------------------------------------------------- the CLI contract


def test_version_and_help_with_examples_and_exit_codes():
    code, out, _ = run_cli(["--version"])
    assert code == 0 and out.startswith("hlsforge ")
    code, out, _ = run_cli(["--help"])
    assert code == 0 and "exit codes:" in out and "internal error" in out
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
    for name in ("inspect", "convert", "check", "csim", "build"):
        p = sub.choices[name]
        text = p.format_help()
        assert "examples:" in text and f"hlsforge {name}" in text and "exit codes:" in text, name
        for action in p._actions:
            assert action.help, (name, action.dest)


def test_quiet_flag_sets_progress_quiet(monkeypatch):
    monkeypatch.setattr(progress, "QUIET", False)
    run_cli(["-q", "inspect", str(EXAMPLE)])
    assert progress.QUIET is True
    monkeypatch.setattr(progress, "QUIET", False)
    run_cli(["inspect", str(EXAMPLE), "-q"])
    assert progress.QUIET is True
    monkeypatch.setattr(progress, "QUIET", False)
    run_cli(["inspect", str(EXAMPLE)])
    assert progress.QUIET is False


def test_progress_lines_on_a_terminal_only(monkeypatch, tmp_path):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Tty()
    monkeypatch.setattr(progress, "QUIET", False)
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["convert", str(EXAMPLE), "--backend", "hls", "-o", str(tmp_path / "p")]) == 0
    assert "writing the HLS project" in err.getvalue()
    err = Tty()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["-q", "convert", str(EXAMPLE), "--backend", "hls", "-o", str(tmp_path / "p")]) == 0
    assert err.getvalue() == ""


def test_inspect_check_feeds_a_fixed_batch(tmp_path):
    pytest.importorskip("onnxruntime")
    for batch in (1, 7, 3000):
        path = tmp_path / f"b{batch}.onnx"
        onnx.save(model_zoo.torch_style_mlp(batch=batch), path)
        code, out, err = assert_clean(["inspect", str(path), "--check", "--events", "50", "--json"])
        assert code == 0, err
        import json

        check = json.loads(out)["onnxruntime_check"]
        assert check["agrees"] and check["fixed_batch"] == batch
        assert check["events"] == (max(batch, 50) if batch > 50 else -(-50 // batch) * batch)


def test_inspect_check_on_a_model_onnxruntime_cannot_run(tmp_path):
    pytest.importorskip("onnxruntime")
    domain = "qonnx.custom_op.general"
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], name="q", domain=domain, signed=1, narrow=0,
                            rounding_mode="ROUND")
    model = model_zoo.make_model([node], {"x": ("N", 8)},
                                 {"s": np.float32(0.25), "z": np.float32(0), "b": np.float32(6)}, 13, ("y",))
    model.opset_import.append(helper.make_opsetid(domain, 1))
    path = tmp_path / "qonnx.onnx"
    onnx.save(model, path)
    code, out, err = assert_clean(["inspect", str(path), "--check"])
    assert code == 2 and "ONNX Runtime cannot run qonnx.onnx" in err


def test_convert_prints_its_choices_and_the_next_command(tmp_path):
    out = tmp_path / "prj"
    code, text, _ = assert_clean(["convert", str(EXAMPLE), "--backend", "hls", "--precision", "ap_fixed<14,6>",
                                  "--accum", "auto", "--reuse-factor", "4", "--strategy", "resource",
                                  "--part", "xcvu9p-flga2104-2-e", "--clock", "4", "-o", str(out)])
    assert code == 0
    for token in ("backend:", "hls: vitis", "precision:", "ap_fixed<14,6> (--precision)", "accumulators:",
                  "auto (--accum)", "strategy:", "resource (--strategy)", "reuse factor:", "4 (--reuse-factor)",
                  "part:", "xcvu9p-flga2104-2-e", "clock:", "4 ns", "files:", "build_prj.tcl",
                  f"hlsforge csim {out}"):
        assert token in text, token
    code, text, _ = assert_clean(["convert", str(EXAMPLE), "--backend", "cpu", "-o", str(tmp_path / "cpu")])
    assert code == 0 and "backend: cpu" in text and "float32" in text and "next:" in text
    assert "jet_tagger_mlp.hpp" in text


@pytest.mark.parametrize("flag", [["--precision", "ap_fixed<8,3>"], ["--reuse-factor", "2"], ["--accum", "auto"],
                                  ["--part", "xcvu9p-flga2104-2-e"], ["--tool", "vivado"]])
def test_hls_flags_with_the_cpu_backend_are_refused(tmp_path, flag):
    code, _, err = assert_clean(["convert", str(EXAMPLE), "--backend", "cpu", "-o", str(tmp_path / "c"), *flag])
    assert code == 2 and flag[0] in err and "--backend hls" in err
    assert not (tmp_path / "c").exists()


def test_accum_sets_the_accumulators(tmp_path):
    for accum, expect in (("ap_fixed<30,12>", "ap_fixed<30,12>"), ("auto", None)):
        out = tmp_path / accum.replace("<", "_").replace(">", "").replace(",", "_")
        assert assert_clean(["convert", str(EXAMPLE), "--backend", "hls", "--accum", accum, "-o", str(out)])[0] == 0
        params = (out / "firmware" / "jet_tagger_mlp_types.h").read_text()
        if expect:
            assert f"typedef {expect} fc1_accum_t;" in params
        else:
            assert "typedef ap_fixed<16,6> fc1_accum_t;" not in params


def test_keras_json_errors_speak_cli_and_the_sibling_weights_are_found(tmp_path):
    files = write_mlp(tmp_path)
    code, _, err = assert_clean(["inspect", str(files["json"])])
    assert code == 0 and "using weights" in err and "mlp_weights.h5" in err
    files["weights"].rename(tmp_path / "elsewhere.h5")
    code, _, err = assert_clean(["inspect", str(files["json"])])
    assert code == 2 and "--weights FILE" in err and "mlp_weights.h5" in err
    code, _, _ = assert_clean(["inspect", str(files["json"]), "--weights", str(tmp_path / "elsewhere.h5")])
    assert code == 0
    code, _, err = assert_clean(["inspect", str(EXAMPLE), "--weights", str(tmp_path / "elsewhere.h5")])
    assert code == 2 and "--weights is for a Keras architecture JSON" in err


def test_broken_pipe_in_process_is_quiet(monkeypatch):
    class Closed(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    monkeypatch.setattr("hlsforge.cli._silence_stdout", lambda: None)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["inspect", str(EXAMPLE), "--json"]) == 0
    assert err.getvalue() == ""


def test_broken_pipe_through_head_is_quiet(tmp_path):
    """`hlsforge inspect --json | head -c 1`: the reader is gone before the output is written."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    r, w = os.pipe()
    os.close(r)  # nobody reads
    proc = subprocess.run([sys.executable, "-m", "hlsforge.cli", "inspect", str(EXAMPLE), "--json"], stdout=w,
                          stderr=subprocess.PIPE, env=env, timeout=120, text=True)
    os.close(w)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


# ----------------------------------------------------------------------------- examples/cpp_project


def _fake_checkout(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """examples/cpp_project in a checkout whose .venv (the README's quick start) is this Python."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "cpp_project", repo / "examples" / "cpp_project")
    shutil.copy(EXAMPLE, repo / "examples")
    (repo / ".venv" / "bin").mkdir(parents=True)
    python = repo / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # a symlink would lose the venv
    python.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "MAKEFLAGS")}
    env["PYTHONPATH"] = str(ROOT / "src")
    return repo / "examples" / "cpp_project", env


def test_cpp_project_make_finds_the_repository_venv(tmp_path):
    """Right after the README's first quick-start command (`.venv` in the repository root), `make`
    in examples/cpp_project uses .venv/bin/python without PYTHON=... on the command line."""
    cwd, env = _fake_checkout(tmp_path)
    proc = subprocess.run(["make", "-n", "run"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "../../.venv/bin/python -m hlsforge.cpu_backend --write" in proc.stdout


@pytest.mark.slow
def test_cpp_project_make_run_right_after_the_quick_start(tmp_path):
    cwd, env = _fake_checkout(tmp_path)
    for _ in range(2):  # the second run re-generates into generated/ (hlsforge's own files)
        proc = subprocess.run(["make", "-B", "run"], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "one event:" in proc.stdout


def test_cpp_project_outputs_are_ignored_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["examples/cpp_project/generated/jet_tagger.hpp", "examples/cpp_project/jet_tagger",
             "examples/cpp_project/build/CMakeCache.txt"]
    proc = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.split() == paths


def test_pickle_is_never_loaded(tmp_path, monkeypatch):
    """The pickled --inputs file is refused from its header, before numpy could unpickle it."""
    pickled = tmp_path / "p.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: (_ for _ in ()).throw(AssertionError("unpickled")))
    code, _, err = run_cli(["check", str(EXAMPLE), "--inputs", str(pickled)])
    assert code == 2 and "never unpickles" in err
