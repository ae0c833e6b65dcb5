"""hlsforge.cpp_toolchain: content-hash cache, CompileError details, header discovery."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hlsforge import cpp_toolchain as tc
from hlsforge.errors import CompileError, ToolNotFoundError

HELLO = '#include <cstdio>\n#include "value.h"\nint main() { std::printf("%d\\n", VALUE); }\n'


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HLSFORGE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_executable_is_built_once_and_cached_by_content(cache):
    exe = tc.compile_executable({"main.cpp": HELLO, "value.h": "#define VALUE 42\n"}, name="hello")
    assert exe.is_relative_to(cache)
    assert subprocess.run([str(exe)], capture_output=True, text=True).stdout == "42\n"
    mtime = exe.stat().st_mtime_ns
    again = tc.compile_executable({"main.cpp": HELLO, "value.h": "#define VALUE 42\n"}, name="hello")
    assert again == exe and again.stat().st_mtime_ns == mtime
    changed = tc.compile_executable({"main.cpp": HELLO, "value.h": "#define VALUE 7\n"}, name="hello")
    assert changed != exe
    assert subprocess.run([str(changed)], capture_output=True, text=True).stdout == "7\n"


def test_header_in_an_include_dir_is_part_of_the_key(cache, tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "value.h").write_text("#define VALUE 1\n")
    src = {"main.cpp": HELLO}
    first = tc.compile_executable(src, name="inc", include_dirs=[inc])
    (inc / "value.h").write_text("#define VALUE 2\n")
    second = tc.compile_executable(src, name="inc", include_dirs=[inc])
    assert first != second
    assert subprocess.run([str(second)], capture_output=True, text=True).stdout == "2\n"


def test_sources_given_as_paths(cache, tmp_path):
    (tmp_path / "value.h").write_text("#define VALUE 5\n")
    (tmp_path / "main.cpp").write_text(HELLO)
    exe = tc.compile_executable([tmp_path / "main.cpp"], name="paths")
    assert subprocess.run([str(exe)], capture_output=True, text=True).stdout == "5\n"


def test_shared_library_loads_with_ctypes(cache):
    import ctypes

    lib = tc.compile_shared_library(
        {"lib.cpp": 'extern "C" int twice(int x) { return SCALE * x; }\n'},
        name="twice", defines={"SCALE": 2},
    )
    assert lib.name == "libtwice.so"
    assert ctypes.CDLL(str(lib)).twice(21) == 42


def test_compile_error_carries_command_code_output_and_sources(cache):
    with pytest.raises(CompileError) as e:
        tc.compile_executable({"broken.cpp": "int main() { return missing; }\n"}, name="broken")
    err = e.value
    assert err.returncode not in (0, None)
    assert "missing" in err.output
    assert err.command and "broken.cpp" in " ".join(err.command)
    assert err.source_dir and (Path(err.source_dir) / "broken.cpp").is_file()
    assert (Path(err.source_dir) / "compile.log").is_file()
    assert "exit code" in str(err) and "broken.cpp" in str(err)
    # a failed build is not cached as a success: fixing the code rebuilds
    exe = tc.compile_executable({"broken.cpp": "int main() { return 0; }\n"}, name="broken")
    assert exe.is_file()


def test_missing_compiler_and_headers_are_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("CXX", "no-such-compiler-xyz")
    with pytest.raises(ToolNotFoundError, match="CXX"):
        tc.find_compiler()
    monkeypatch.setenv("HLSFORGE_AP_TYPES", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="ap_fixed.h"):
        tc.find_ap_types_include()


def test_ap_types_come_from_the_installed_hls4ml_wheel(monkeypatch):
    monkeypatch.delenv("HLSFORGE_AP_TYPES", raising=False)
    path = tc.find_ap_types_include()
    assert (path / "ap_fixed.h").is_file() and "hls4ml" in str(path)
    assert (tc.hlsforge_include() / "hlsforge_fixed.h").is_file()
    assert (tc.hlsforge_include() / "hlsforge_types.h").is_file()


def test_unrelated_header_in_an_include_dir_keeps_the_cache(cache, tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "value.h").write_text("#define VALUE 3\n")
    (inc / "other.h").write_text("// not included\n")
    first = tc.compile_executable({"main.cpp": HELLO}, name="keep", include_dirs=[inc])
    (inc / "other.h").write_text("// edited by someone else\n")
    assert tc.compile_executable({"main.cpp": HELLO}, name="keep", include_dirs=[inc]) == first


def test_several_sources_record_all_their_headers(cache, tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "v.h").write_text("#define V 4\n")
    src = {"f.cpp": '#include "v.h"\nint f() { return V; }\n',
           "main.cpp": '#include <cstdio>\nint f();\nint main() { std::printf("%d\\n", f()); }\n'}
    first = tc.compile_executable(src, name="multi", include_dirs=[inc])
    assert subprocess.run([str(first)], capture_output=True, text=True).stdout == "4\n"
    (inc / "v.h").write_text("#define V 9\n")
    second = tc.compile_executable(src, name="multi", include_dirs=[inc])
    assert second != first
    assert subprocess.run([str(second)], capture_output=True, text=True).stdout == "9\n"
