"""Locate a BLAS for compiling generated CPU code, and control its threads.

Why a module: the generated code calls the standard CBLAS functions (``cblas_sgemm``,
``cblas_sgemv``), so any BLAS links; what differs between BLAS packages is where the header
and library are and whether the symbols carry a prefix. The default is the
``scipy-openblas32`` wheel (a dependency of hlsforge, so a plain ``pip install`` works), whose
symbols are ``scipy_cblas_*``; the kernel header maps the names when compiled with
``-DHLSFORGE_CBLAS_PREFIX=scipy_``.

Choices (``blas=`` of :func:`hlsforge.cpu_backend.compile`):

- ``None`` / ``"auto"``: scipy-openblas32 if installed, else a system OpenBLAS;
- ``"scipy-openblas32"``: the wheel;
- ``"openblas"``: the system OpenBLAS (``-lopenblas``, ``<cblas.h>`` on the default path);
- ``"none"``: no BLAS at all (``-DHLSFORGE_CPU_NO_BLAS``, built-in loops only);
- a :class:`BlasConfig` for anything else (MKL, BLIS, Accelerate, ...).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ToolNotFoundError


@dataclass(frozen=True)
class BlasConfig:
    """How to compile and link against one BLAS."""

    name: str
    include_dirs: tuple[str, ...] = ()
    defines: tuple[tuple[str, str | None], ...] = ()
    link_flags: tuple[str, ...] = ()
    library: str | None = None  # shared library file, loaded to set the thread count
    set_threads_symbol: str | None = None  # e.g. "openblas_set_num_threads"


NO_BLAS = BlasConfig("none", defines=(("HLSFORGE_CPU_NO_BLAS", None),))


@lru_cache(maxsize=1)
def _scipy_openblas() -> BlasConfig | None:
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None:
        return None
    import scipy_openblas32 as sob  # the module is tiny; importing it loads no library

    lib_dir = sob.get_lib_dir()
    libname = sob.get_library()
    full = Path(lib_dir) / sob.get_library(fullname=True)
    return BlasConfig(
        name="scipy-openblas32",
        include_dirs=(sob.get_include_dir(),),
        defines=(("HLSFORGE_CBLAS_PREFIX", "scipy_"),),
        link_flags=(f"-L{lib_dir}", f"-l{libname}", f"-Wl,-rpath,{lib_dir}"),
        library=str(full),
        set_threads_symbol="scipy_openblas_set_num_threads",
    )


@lru_cache(maxsize=1)
def _system_openblas() -> BlasConfig | None:
    found = ctypes.util.find_library("openblas")
    if found is None:
        return None
    return BlasConfig(
        name="openblas", link_flags=("-lopenblas",), library=found, set_threads_symbol="openblas_set_num_threads"
    )


def find_blas(choice: str | BlasConfig | None = None) -> BlasConfig:
    """Resolve a ``blas=`` argument to a :class:`BlasConfig` (see the module docstring)."""
    if isinstance(choice, BlasConfig):
        return choice
    key = (choice or "auto").lower()
    if key == "none":
        return NO_BLAS
    if key in ("auto", "scipy-openblas32", "scipy_openblas32"):
        cfg = _scipy_openblas()
        if cfg is not None:
            return cfg
        if key != "auto":
            raise ToolNotFoundError("BLAS 'scipy-openblas32' is not installed: pip install scipy-openblas32")
    if key in ("auto", "openblas"):
        cfg = _system_openblas()
        if cfg is not None:
            return cfg
        raise ToolNotFoundError(
            "no BLAS found: pip install scipy-openblas32 (the default), install a system OpenBLAS "
            "(e.g. `apt install libopenblas-dev`), or pass blas='none' for built-in loops"
        )
    raise ToolNotFoundError(
        f"unknown BLAS choice {choice!r}; known: 'auto', 'scipy-openblas32', 'openblas', 'none', "
        "or a hlsforge.cpu_backend.blas.BlasConfig"
    )


def set_blas_threads(cfg: BlasConfig, threads: int) -> bool:
    """Set the BLAS's thread count for this process; returns False if it offers no setter.

    hlsforge defaults to one thread: inference is usually one of many jobs on a machine and
    OpenBLAS's own threads make small products slower, not faster.
    """
    if cfg.library is None or cfg.set_threads_symbol is None:
        return False
    lib = _load(cfg.library)
    fn = getattr(lib, cfg.set_threads_symbol, None)
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int]
    fn.restype = None
    fn(int(threads))
    return True


@lru_cache(maxsize=8)
def _load(path: str) -> ctypes.CDLL:
    # RTLD_LOCAL on purpose: OpenBLAS builds export unprefixed internals (blas_memory_alloc,
    # ...). Made global, they would capture numpy's own OpenBLAS's lazily bound calls and
    # crash it. Generated libraries find this BLAS through their own DT_NEEDED + rpath.
    return ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)


def cflags(cfg: BlasConfig) -> list[str]:
    """Compiler flags a build system needs for generated code with this BLAS."""
    out = [f"-I{d}" for d in cfg.include_dirs]
    out += [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in cfg.defines]
    return out


def libs(cfg: BlasConfig) -> list[str]:
    """Linker flags for this BLAS."""
    return list(cfg.link_flags)


def main(argv: list[str] | None = None) -> int:
    """``python -m hlsforge.cpu_backend``: BLAS flags and code generation for build systems."""
    import argparse
    import shlex

    ap = argparse.ArgumentParser(
        prog="python -m hlsforge.cpu_backend",
        description="Print the compiler/linker flags that code generated by hlsforge's CPU backend "
        "needs for a BLAS, or generate the code of a model (--write MODEL OUT_DIR).",
    )
    ap.add_argument("--cflags", action="store_true", help="print the compiler flags")
    ap.add_argument("--libs", action="store_true", help="print the linker flags")
    ap.add_argument("--blas", default=None, help="auto (default), scipy-openblas32, openblas or none")
    ap.add_argument("--write", nargs=2, metavar=("MODEL", "OUT_DIR"), help="generate the code of MODEL into OUT_DIR")
    ap.add_argument("--name", default=None, help="with --write: model name (C++ namespace and file names)")
    ap.add_argument("--embed-weights", action="store_true", help="with --write: weights compiled into the header")
    args = ap.parse_args(argv)
    if args.write:
        from .. import load
        from ..errors import HlsforgeError
        from . import write

        try:
            for path in write(load(args.write[0]), args.write[1], args.name, embed_weights=args.embed_weights):
                print(path)
        except HlsforgeError as e:
            print(f"error: {e}")
            return 2
        return 0
    cfg = find_blas(args.blas)
    flags: list[str] = []
    if args.cflags or not args.libs:
        flags += cflags(cfg)
    if args.libs or not args.cflags:
        flags += libs(cfg)
    print(" ".join(shlex.quote(f) for f in flags))
    return 0
