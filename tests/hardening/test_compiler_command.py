"""``CXX`` may be a command with arguments (``ccache g++``, ``g++ -O0``), and a cached build
needs no compiler at all (issue 15: both were refused as "not found"). A different compiler
still rebuilds."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hlsforge import cpp_toolchain as tc
from hlsforge import cpu_backend, reference
from hlsforge.errors import ToolNotFoundError
from hlsforge.ir import Graph, Op

MAIN = '#include <cstdio>\nint main() { std::printf("%d\\n", VALUE); return 0; }\n'


def _run(exe: Path) -> str:
    return subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout


def _wrapper(tmp_path: Path, name: str = "my-cxx") -> Path:
    """A compiler launcher (what ccache is): a script that runs g++ with its arguments."""
    gxx = shutil.which("g++")
    assert gxx
    path = tmp_path / "bin" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{gxx}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize("cxx", ["g++ -O0", "env g++", "  g++   -Wall  "])
def test_compiler_command_with_arguments(tmp_path, monkeypatch, cxx):
    monkeypatch.setenv("CXX", cxx)
    exe = tc.compile_executable({"main.cpp": MAIN}, name="cmd", defines={"VALUE": 7}, cache_root=tmp_path)
    assert _run(exe) == "7\n"
    log = (exe.parent / "compile.log").read_text()
    assert log.split()[: len(cxx.split())] == cxx.split()  # the words of CXX, in order


def test_launcher_with_a_path_containing_spaces(tmp_path, monkeypatch):
    wrapper = _wrapper(tmp_path / "dir with space")
    monkeypatch.setenv("CXX", f"'{wrapper}' -O1")
    exe = tc.compile_executable({"main.cpp": MAIN}, name="spaced", defines={"VALUE": 3}, cache_root=tmp_path)
    assert _run(exe) == "3\n"


def test_cached_build_needs_no_compiler(tmp_path, monkeypatch):
    first = tc.compile_executable({"main.cpp": MAIN}, name="nocc", defines={"VALUE": 4}, cache_root=tmp_path)
    empty = tmp_path / "empty_path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("CXX", raising=False)
    again = tc.compile_executable({"main.cpp": MAIN}, name="nocc", defines={"VALUE": 4}, cache_root=tmp_path)
    assert again == first
    with pytest.raises(ToolNotFoundError, match="CXX"):  # a real compile still needs one
        tc.compile_executable({"main.cpp": MAIN}, name="nocc", defines={"VALUE": 5}, cache_root=tmp_path)


def test_cached_cpu_model_needs_no_compiler(monkeypatch):
    rng = np.random.default_rng(0)
    g = Graph("hardening")  # the architecture the other hardening tests compile: usually cached
    g.add_input("x", (16,))
    g.add_constant("k", rng.normal(size=(16, 64)).astype(np.float32))
    g.add_constant("b", rng.normal(size=(64,)).astype(np.float32))
    d = g.add_node(Op.DENSE, ["x", "k", "b"], source_name="fc")
    g.outputs = [g.add_node(Op.RELU, d.outputs, source_name="act").outputs[0]]
    g.validate()
    first = cpu_backend.compile(g)
    monkeypatch.setenv("PATH", "/nonexistent-hlsforge-test")
    monkeypatch.delenv("CXX", raising=False)
    again = cpu_backend.compile(g)
    assert again.library == first.library
    x = rng.normal(size=(5, 16)).astype(np.float32)
    np.testing.assert_allclose(again.predict(x), reference.run(g, x), rtol=1e-5, atol=1e-4)


def test_a_different_compiler_rebuilds(tmp_path, monkeypatch):
    wrapper = _wrapper(tmp_path)
    monkeypatch.setenv("CXX", str(wrapper))
    a = tc.compile_executable({"main.cpp": MAIN}, name="ident", defines={"VALUE": 1}, cache_root=tmp_path)
    assert tc.compile_executable({"main.cpp": MAIN}, name="ident", defines={"VALUE": 1}, cache_root=tmp_path) == a
    # the same command now runs another compiler (an upgrade, a switched alternative)
    wrapper.write_text(wrapper.read_text() + "# upgraded\n")
    os.utime(wrapper, ns=(wrapper.stat().st_atime_ns, wrapper.stat().st_mtime_ns + 10**9))
    b = tc.compile_executable({"main.cpp": MAIN}, name="ident", defines={"VALUE": 1}, cache_root=tmp_path)
    assert b != a and _run(b) == "1\n"
    # another command is another key
    monkeypatch.setenv("CXX", f"{wrapper} -O0")
    c = tc.compile_executable({"main.cpp": MAIN}, name="ident", defines={"VALUE": 1}, cache_root=tmp_path)
    assert c not in (a, b)


@pytest.mark.parametrize("cxx", ["no-such-compiler-xyz", "no-such-launcher g++", "'g++", "-O2"])
def test_bad_compiler_commands_are_clear(tmp_path, monkeypatch, cxx):
    monkeypatch.setenv("CXX", cxx)
    with pytest.raises(ToolNotFoundError, match="CXX"):
        tc.compile_executable({"main.cpp": MAIN}, name="bad", defines={"VALUE": 1}, cache_root=tmp_path)
