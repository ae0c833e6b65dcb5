"""Damaged compile-cache entries are detected and rebuilt (issue 15: a truncated or garbage
``.so`` crashed the process with SIGBUS; a damaged weight file or source raised forever), and a
cache root that is a file gives a clear error.

Where loading a damaged library could crash, the library is used from a fresh child process, as
it would be in real life (damage left by an earlier run), so that a regression is a failed test,
not a crashed test run."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np
import pytest
from subproc import run_script

from hlsforge import cpp_toolchain, cpu_backend, reference
from hlsforge.errors import HlsforgeError, OutputError
from hlsforge.hls_backend import compile as csim_compile
from hlsforge.ir import Graph, Op
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure

CPU_RUN = """
g = graph(name="hardening")
m = cpu_backend.compile(g)
x = np.random.default_rng(1).normal(size=(20, 16)).astype(np.float32)
np.testing.assert_allclose(m.predict(x), reference.run(g, x), rtol=1e-5, atol=1e-4)
print(m.library)
print(m.weights_path)
"""

CSIM_RUN = """
from hlsforge.hls_backend import compile as csim_compile
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure
g = configure(graph(8, 6, seed={seed}), "ap_fixed<16,6>")
m = csim_compile(g, flags=("-O0", "-std=c++17"))
x = np.random.default_rng(1).normal(size=(20, 8)).astype(np.float32)
np.testing.assert_array_equal(m.predict(x), emulate.run(g, x))
print(m.library)
"""

TWICE = {"twice.cpp": 'extern "C" int twice(int x) { return 2 * x; }\n'}


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif how == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "flipped":  # one byte in the middle: same size, still a valid-looking header
        mid = len(data) // 2
        path.write_bytes(data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:])
    else:
        raise AssertionError(how)


def _graph(seed: int) -> Graph:
    rng = np.random.default_rng(seed)
    g = Graph("hardening")
    g.add_input("x", (16,))
    g.add_constant("k", rng.normal(size=(16, 64)).astype(np.float32))
    g.add_constant("b", rng.normal(size=(64,)).astype(np.float32))
    d = g.add_node(Op.DENSE, ["x", "k", "b"], source_name="fc")
    g.outputs = [g.add_node(Op.RELU, d.outputs, source_name="act").outputs[0]]
    return g.validate()


def test_truncated_library_is_rebuilt_not_loaded(tmp_path):
    """The toolchain level, which every backend uses; truncation is what crashed with SIGBUS."""
    script = f"""
from hlsforge import cpp_toolchain
import ctypes
lib = cpp_toolchain.compile_shared_library({TWICE!r}, name="twice")
assert ctypes.CDLL(str(lib)).twice(21) == 42
print(lib)
"""
    env = {"HLSFORGE_CACHE": str(tmp_path)}
    lib = Path(run_script(script, env=env).split()[0])
    _damage(lib, "truncated")
    assert Path(run_script(script, env=env).split()[0]) == lib  # rebuilt in place
    assert not [p for p in lib.parent.parent.iterdir() if p.name.startswith("old.")]


@pytest.mark.parametrize("how", ["garbage", "empty", "flipped"])
def test_damaged_library_is_rebuilt(tmp_path, how):
    lib = cpp_toolchain.compile_shared_library(TWICE, name="twice", cache_root=tmp_path)
    good = lib.read_bytes()
    _damage(lib, how)
    again = cpp_toolchain.compile_shared_library(TWICE, name="twice", cache_root=tmp_path)
    assert again.read_bytes() == good
    assert ctypes.CDLL(str(again)).twice(21) == 42


@pytest.mark.parametrize("how", ["truncated", "flipped"])
def test_damaged_cpu_weights_are_rewritten(how):
    g = _graph(12)
    x = np.random.default_rng(1).normal(size=(20, 16)).astype(np.float32)
    first = cpu_backend.compile(g)
    _damage(first.weights_path, how)
    again = cpu_backend.compile(g)
    np.testing.assert_allclose(again.predict(x), reference.run(g, x), rtol=1e-5, atol=1e-4)


def test_damaged_csim_library_is_rebuilt(tmp_path):
    env = {"HLSFORGE_CACHE": str(tmp_path)}
    lib = Path(run_script(CSIM_RUN.format(seed=13), env=env).split()[0])
    _damage(lib, "truncated")
    run_script(CSIM_RUN.format(seed=13), env=env)


def test_damaged_csim_sources_are_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("HLSFORGE_CACHE", str(tmp_path))
    g = configure(_graph(14), "ap_fixed<16,6>")
    x = np.random.default_rng(1).normal(size=(20, 16)).astype(np.float32)
    csim_compile(g, flags=("-O0", "-std=c++17"))
    sources = [p for p in (tmp_path / "csim").rglob("*") if p.is_file() and p.suffix in (".h", ".cpp")]
    assert sources
    for p in sources:
        _damage(p, "truncated")
    model = csim_compile(g, flags=("-O0", "-std=c++17"))
    np.testing.assert_array_equal(model.predict(x), emulate.run(g, x))


@pytest.mark.slow
def test_damaged_cpu_library_is_rebuilt(tmp_path):
    env = {"HLSFORGE_CACHE": str(tmp_path)}
    lib = Path(run_script(CPU_RUN, env=env).split()[0])
    _damage(lib, "truncated")  # what crashed with SIGBUS
    run_script(CPU_RUN, env=env)


def test_cache_root_that_is_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("user data\n")
    monkeypatch.setenv("HLSFORGE_CACHE", str(blocker))
    with pytest.raises(OutputError, match="HLSFORGE_CACHE") as err:
        cpp_toolchain.cache_dir()
    assert str(blocker) in str(err.value)
    with pytest.raises(OutputError, match="not a directory"):
        cpp_toolchain.compile_shared_library(TWICE, name="a")
    with pytest.raises(HlsforgeError):
        cpp_toolchain.compile_executable({"m.cpp": "int main() {}\n"}, cache_root=blocker)
    with pytest.raises(OutputError, match="not a directory"):
        cpu_backend.compile(_graph(1))
    assert blocker.read_text() == "user data\n"  # never touched


def test_cache_subdirectory_that_is_a_file(tmp_path):
    (tmp_path / "builds").write_text("in the way\n")
    with pytest.raises(OutputError, match="builds"):
        cpp_toolchain.compile_executable({"m.cpp": "int main() {}\n"}, cache_root=tmp_path)
    assert (tmp_path / "builds").read_text() == "in the way\n"


def test_concurrent_processes_share_one_cache(tmp_path):
    """Two processes compile and run the same new C-sim model at once: each one succeeds,
    and no temporary directory is left behind."""
    import subprocess
    import sys

    from subproc import PRELUDE, SRC

    env = dict(os.environ, HLSFORGE_CACHE=str(tmp_path),
               PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-c", PRELUDE + CSIM_RUN.format(seed=15)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    leftovers = [p for p in tmp_path.rglob("*") if ".tmp" in p.name or p.name.startswith("old.")]
    assert not leftovers, leftovers
