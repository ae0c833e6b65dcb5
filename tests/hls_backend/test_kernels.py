"""The kernel headers on their own: each compiles alone (with both fixed-point libraries),
and the table index matches the Python table spec."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from hlsforge import cpp_toolchain
from hlsforge.hls_backend import find_ap_types, support_headers, templates_dir

KERNELS = sorted(rel for rel in support_headers() if rel.startswith("hlsforge_kernels/"))


def test_kernel_library_contents():
    names = {rel.split("/")[1] for rel in KERNELS}
    assert {
        "common.h",
        "dense.h",
        "conv.h",
        "pool.h",
        "activation.h",
        "softmax.h",
        "merge.h",
        "shape.h",
        "fast.h",
    } <= names


def _compile_units(sources: dict[str, str], fixed_lib: str) -> None:
    incs = [templates_dir()]
    defines: dict[str, str | None] = {}
    if fixed_lib == "ap_types":
        incs.insert(0, find_ap_types())
        defines["HLSFORGE_USE_AP_FIXED"] = None
    sources = {**sources, "main.cpp": "int main() { return 0; }\n"}
    cpp_toolchain.compile_executable(
        sources,
        name="kernels_alone",
        include_dirs=incs,
        defines=defines,
        flags=("-O0", "-std=c++17"),
        extra_flags=("-Wall", "-Wno-unknown-pragmas", "-Werror"),
    )


def test_every_header_compiles_alone():
    """Each header is self-contained (its own includes) and guarded (included twice)."""
    _compile_units(
        {f"k{i}.cpp": f'#include "{rel}"\n#include "{rel}"\n' for i, rel in enumerate(KERNELS)},
        "hlsforge",
    )


def test_all_headers_compile_against_ap_fixed():
    _compile_units({"all.cpp": "".join(f'#include "{rel}"\n' for rel in KERNELS)}, "ap_types")


TABLE_PROGRAM = """\
#include <cstdio>
#include "hlsforge_kernels/common.h"
int main() {
    long long raw;
    while (std::scanf("%lld", &raw) == 1) std::printf("%u\\n", hlsforge::table_index<T_LO, T_SHIFT, T_SIZE>(raw));
    return 0;
}
"""


@pytest.mark.parametrize("lo,shift,size", [(-4096, 3, 1024), (0, 0, 16), (-7, 2, 5), (100, 5, 64)])
def test_table_index_matches_the_table_spec(lo, shift, size):
    from hlsforge.ir import FixedType
    from hlsforge.quantize.tables import TableSpec

    spec = TableSpec(
        "sigmoid", size, FixedType(16, 6), lo, shift, FixedType(16, 6), np.zeros(size, np.int64)
    )
    exe = cpp_toolchain.compile_executable(
        {"t.cpp": TABLE_PROGRAM},
        name="table_index",
        include_dirs=[templates_dir()],
        defines={"T_LO": f"{lo}LL", "T_SHIFT": shift, "T_SIZE": f"{size}u"},
        flags=("-O1", "-std=c++17"),
    )
    raws = np.concatenate(
        [np.arange(-40000, 40000, 37), [-(1 << 40), (1 << 40), lo, lo - 1, lo + (size << shift)]]
    )
    out = subprocess.run(
        [str(exe)], input="\n".join(map(str, raws)), capture_output=True, text=True, check=True
    ).stdout
    np.testing.assert_array_equal(np.array(out.split(), dtype=np.int64), spec.index(raws))
