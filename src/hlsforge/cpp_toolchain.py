"""A small shared g++ runner: compile C++ to an executable or a shared library, cached.

Why one module: the CPU backend, the HLS C simulation and the numerics tests all compile
generated C++, and all of them want the same three things — a clear ``CompileError`` (command,
exit code, compiler output, where the sources are), a content-hash cache so that a second run
of the same code costs nothing, and the location of Xilinx's ``ap_types`` headers that the
``hls4ml`` wheel ships (a test-only dependency; never copied into this repository).

The cache key covers everything that can change the binary: the compiler identity, the full
argument list and the bytes of every source file; the headers a build actually included (the
compiler's ``-MMD`` list) are recorded with their content hashes in a manifest beside the
output and checked on every lookup, so editing any of them rebuilds — into a new directory,
never over a library that may already be loaded — while unrelated headers in the same include
directories do not. A build writes into a private temporary directory and is renamed into
place atomically, so concurrent processes never see a half-written file.

Cache location: ``$HLSFORGE_CACHE`` if set, else ``~/.cache/hlsforge``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Union

from .errors import CompileError, ToolNotFoundError

__all__ = [
    "CompileError",
    "SourceSpec",
    "cache_dir",
    "find_compiler",
    "find_ap_types_include",
    "hlsforge_include",
    "compile_executable",
    "compile_shared_library",
    "compile_cpp",
]

SourceSpec = Union[Mapping[str, str], Sequence[Union[str, Path]]]  # noqa: UP007 (a runtime alias)
"""Sources to compile: either ``{file name: text}`` (written into the build directory; every
``.cpp``/``.cc``/``.cxx`` file is compiled, the rest are only placed beside them so that
``#include "x.h"`` works) or a list of existing source files (compiled where they are)."""

_COMPILED_SUFFIXES = (".cpp", ".cc", ".cxx", ".c++", ".C")
_DEFAULT_FLAGS = ("-O2", "-std=c++17")


def cache_dir() -> Path:
    """Directory for cached builds: ``$HLSFORGE_CACHE`` or ``~/.cache/hlsforge`` (created)."""
    root = os.environ.get("HLSFORGE_CACHE")
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "hlsforge"
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_compiler() -> str:
    """The C++ compiler to use: ``$CXX`` if set, else ``g++`` on PATH.

    Raises ``ToolNotFoundError`` with what to install when neither exists.
    """
    name = os.environ.get("CXX") or "g++"
    found = shutil.which(name)
    if found is None:
        raise ToolNotFoundError(
            f"C++ compiler {name!r} not found on PATH; install g++ (e.g. `apt install g++`) "
            "or set the CXX environment variable to a C++17 compiler"
        )
    return found


@lru_cache(maxsize=8)
def _compiler_identity(compiler: str) -> str:
    """``<path>\\n<first line of --version>``: part of the cache key (a new compiler rebuilds)."""
    try:
        out = subprocess.run(
            [compiler, "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except OSError as e:
        raise ToolNotFoundError(f"cannot run C++ compiler {compiler!r}: {e}") from None
    return compiler + "\n" + (out.splitlines()[0] if out else "")


def find_ap_types_include() -> Path:
    """Directory holding Xilinx ``ap_fixed.h`` / ``ap_int.h``, from the installed hls4ml wheel.

    ``$HLSFORGE_AP_TYPES`` overrides the search (e.g. a Vitis installation's ``include``
    directory). The hls4ml package is located without importing it (importing hls4ml is slow
    and pulls in optional frameworks). Raises ``ToolNotFoundError`` if no headers are found.
    """
    override = os.environ.get("HLSFORGE_AP_TYPES")
    if override:
        path = Path(override).expanduser()
        if (path / "ap_fixed.h").is_file():
            return path
        raise ToolNotFoundError(
            f"HLSFORGE_AP_TYPES={override!r} does not contain ap_fixed.h; point it at the "
            "directory that holds ap_fixed.h and ap_int.h"
        )
    import importlib.util

    spec = importlib.util.find_spec("hls4ml")
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        for rel in ("templates/vivado/ap_types", "templates/vitis/ap_types"):
            path = Path(root) / rel
            if (path / "ap_fixed.h").is_file():
                return path
    raise ToolNotFoundError(
        "Xilinx ap_types headers (ap_fixed.h) not found: install the test extra "
        "(`pip install 'hls4ml==1.3.0'`, which ships them) or set HLSFORGE_AP_TYPES to a "
        "directory containing ap_fixed.h"
    )


def hlsforge_include() -> Path:
    """Directory of hlsforge's own C++ headers (``hlsforge_fixed.h``, ``hlsforge_types.h``)."""
    return Path(__file__).resolve().parent / "hls_backend" / "templates"


# ---------------------------------------------------------------------------------------------
# hashing


_file_digests: dict[tuple[str, int, int], bytes] = {}


def _file_digest(path: Path) -> bytes:
    """sha256 of a file's bytes, memoized on (path, mtime, size) within this process."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    digest = _file_digests.get(key)
    if digest is None:
        digest = hashlib.sha256(path.read_bytes()).digest()
        _file_digests[key] = digest
    return digest


# ---------------------------------------------------------------------------------------------
# compiling


def compile_executable(
    sources: SourceSpec,
    *,
    name: str = "program",
    include_dirs: Sequence[str | Path] = (),
    defines: Mapping[str, str | int | None] | None = None,
    flags: Sequence[str] = _DEFAULT_FLAGS,
    extra_flags: Sequence[str] = (),
    link_flags: Sequence[str] = (),
    cache: bool = True,
    timeout: float | None = 600,
    cache_root: str | Path | None = None,
) -> Path:
    """Compile and link ``sources`` into an executable; return its path (cached by content).

    ``flags`` replaces the defaults ``-O2 -std=c++17``; ``extra_flags`` adds to them.
    ``defines`` maps macro names to values (``None`` = defined without a value).
    ``link_flags`` go after the objects (``-lopenblas``, ``-L...``).
    """
    return compile_cpp(
        sources, kind="executable", name=name, include_dirs=include_dirs, defines=defines,
        flags=flags, extra_flags=extra_flags, link_flags=link_flags, cache=cache, timeout=timeout,
        cache_root=cache_root,
    )


def compile_shared_library(
    sources: SourceSpec,
    *,
    name: str = "library",
    include_dirs: Sequence[str | Path] = (),
    defines: Mapping[str, str | int | None] | None = None,
    flags: Sequence[str] = _DEFAULT_FLAGS,
    extra_flags: Sequence[str] = (),
    link_flags: Sequence[str] = (),
    cache: bool = True,
    timeout: float | None = 600,
    cache_root: str | Path | None = None,
) -> Path:
    """Compile ``sources`` into a shared library (``-shared -fPIC``), for ``ctypes.CDLL``.

    Same arguments as :func:`compile_executable`; the file is named ``lib<name>.so``. A
    cached library is never overwritten in place (the path changes with the content), so a
    library already loaded by ``ctypes`` in this process stays valid.
    """
    return compile_cpp(
        sources, kind="shared", name=name, include_dirs=include_dirs, defines=defines,
        flags=flags, extra_flags=extra_flags, link_flags=link_flags, cache=cache, timeout=timeout,
        cache_root=cache_root,
    )


def compile_cpp(
    sources: SourceSpec,
    *,
    kind: str = "executable",
    name: str = "program",
    include_dirs: Sequence[str | Path] = (),
    defines: Mapping[str, str | int | None] | None = None,
    flags: Sequence[str] = _DEFAULT_FLAGS,
    extra_flags: Sequence[str] = (),
    link_flags: Sequence[str] = (),
    cache: bool = True,
    timeout: float | None = 600,
    cache_root: str | Path | None = None,
) -> Path:
    """The general form of :func:`compile_executable` / :func:`compile_shared_library`.

    ``kind`` is ``"executable"`` or ``"shared"``. Returns the path of the built file inside
    ``cache_dir()/builds/<key>/<headers-hash>/``; with ``cache=False`` it is rebuilt even if
    present.
    Raises ``CompileError`` (command, exit code, compiler output, source directory; the output
    is also saved as ``compile.log`` there) when the compiler fails or times out.
    ``cache_root`` replaces ``cache_dir()`` as the root of the build cache.
    """
    if kind not in ("executable", "shared"):
        raise ValueError(f"kind must be 'executable' or 'shared', got {kind!r}")
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid output name {name!r}")
    compiler = find_compiler()

    text_sources: dict[str, str] | None = None
    path_sources: list[Path] = []
    if isinstance(sources, Mapping):
        text_sources = {str(k): str(v) for k, v in sources.items()}
        for fname in text_sources:
            if "/" in fname or fname.startswith(".") or not fname:
                raise ValueError(f"source file names must be plain file names, got {fname!r}")
        if not any(f.endswith(_COMPILED_SUFFIXES) for f in text_sources):
            raise ValueError("no .cpp/.cc/.cxx file among the sources to compile")
    else:
        path_sources = [Path(s).resolve() for s in sources]
        if not path_sources:
            raise ValueError("no sources to compile")
        for p in path_sources:
            if not p.is_file():
                raise CompileError(f"source file {p} does not exist", source_dir=str(p.parent))

    incs = [Path(d).resolve() for d in include_dirs]
    define_args = []
    for key, value in sorted((defines or {}).items()):
        define_args.append(f"-D{key}" if value is None else f"-D{key}={value}")
    mode_args = ["-shared", "-fPIC"] if kind == "shared" else []
    out_name = f"lib{name}.so" if kind == "shared" else name

    # ---- cache key: everything but the headers; the headers a build actually read are
    # recorded in its manifest and checked on every lookup (so an unrelated header changing in
    # an include directory does not invalidate the build).
    h = hashlib.sha256()
    h.update(b"hlsforge-cpp-2\0" + _compiler_identity(compiler).encode() + b"\0")
    h.update("\0".join([kind, out_name, *flags, *extra_flags, *define_args, *link_flags]).encode())
    h.update(b"\0inc\0" + "\0".join(str(d) for d in incs).encode())
    if text_sources is not None:
        for fname in sorted(text_sources):
            h.update(b"\0src\0" + fname.encode() + b"\0" + text_sources[fname].encode())
    else:
        for p in path_sources:
            h.update(b"\0src\0" + str(p).encode() + b"\0" + _file_digest(p))
    key = h.hexdigest()[:24]

    root = Path(cache_root).expanduser() if cache_root is not None else cache_dir()
    base = root / "builds" / key
    if cache:
        hit = _lookup(base, out_name)
        if hit is not None:
            return hit

    # ---- build in a private directory, then rename into place
    (root / "builds").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key}.tmp.", dir=root / "builds"))
    try:
        if text_sources is not None:
            for fname, text in text_sources.items():
                (work / fname).write_text(text)
            compiled = [str(work / f) for f in sorted(text_sources) if f.endswith(_COMPILED_SUFFIXES)]
        else:
            compiled = [str(p) for p in path_sources]
        dep_args = ["-MMD", "-MF", str(work / "deps.d")] if len(compiled) == 1 else []
        cmd = [
            compiler, *flags, *extra_flags, *mode_args, *define_args,
            *[f"-I{d}" for d in incs],
            *compiled, "-o", str(work / out_name), *dep_args, *link_flags,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
            output, code = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as e:
            output = f"compiler timed out after {timeout} s\n" + _text(e.stdout) + _text(e.stderr)
            code = None
        ok = code == 0 and (work / out_name).is_file()
        deps: list[Path] = []
        if ok:
            deps = _dependencies(work, compiled, cmd, dep_args)
        manifest = {str(d): _file_digest(d).hex() for d in deps if d.is_file()}
        variant = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:12]
        final_dir = base / (variant if ok else "failed")
        (work / "deps.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        shown_cmd = [c.replace(str(work), str(final_dir)) for c in cmd]
        (work / "compile.log").write_text(" ".join(shown_cmd) + "\n\n" + output)
        base.mkdir(parents=True, exist_ok=True)
        _publish(work, final_dir, out_name if ok else None, replace=not cache)
        if not ok:
            # Report the paths where the sources now live, not the temporary ones.
            raise CompileError(
                f"C++ compilation of {out_name!r} failed (log: {final_dir / 'compile.log'})",
                command=shown_cmd,
                returncode=code,
                output=output.replace(str(work), str(final_dir)),
                source_dir=str(final_dir if text_sources is not None else path_sources[0].parent),
            )
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return final_dir / out_name


def _lookup(base: Path, out_name: str) -> Path | None:
    """A cached build under ``base`` whose recorded headers are all unchanged, if any."""
    if not base.is_dir():
        return None
    for variant in sorted(base.iterdir(), key=lambda p: p.name):
        out, manifest_path = variant / out_name, variant / "deps.json"
        if not (out.is_file() and manifest_path.is_file()):
            continue
        try:
            manifest = json.loads(manifest_path.read_text())
            if all(Path(f).is_file() and _file_digest(Path(f)).hex() == d for f, d in manifest.items()):
                return out
        except (OSError, ValueError):
            continue
    return None


def _dependencies(work: Path, compiled: list[str], cmd: list[str], dep_args: list[str]) -> list[Path]:
    """Headers the build read (outside the build directory), from the compiler's -MMD output.

    With several sources in one command the compiler cannot write one dependency file per
    source, so each is scanned separately with ``-MM`` (preprocessing only, after success).
    """
    texts = []
    if dep_args:
        texts.append((work / "deps.d").read_text() if (work / "deps.d").is_file() else "")
    else:
        base_cmd = [c for c in cmd if c not in compiled]
        cut = base_cmd.index("-o")
        base_cmd = base_cmd[:cut]
        for src in compiled:
            proc = subprocess.run([*base_cmd, "-MM", src], capture_output=True, text=True,
                                  timeout=600, check=False)
            texts.append(proc.stdout)
    deps: set[Path] = set()
    for text in texts:
        body = text.replace("\\\n", " ")
        if ":" not in body:
            continue
        for item in body.split(":", 1)[1].split():
            p = Path(item)
            if not p.is_absolute():
                p = (work / p).resolve()
            if work in p.parents or str(p) in compiled:
                continue
            deps.add(p)
    return sorted(deps)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def _publish(work: Path, final_dir: Path, out_name: str | None, *, replace: bool) -> None:
    """Move a finished build directory into place.

    An existing directory that already holds a good build is kept (a concurrent process built
    the same content first) unless ``replace``; a failed or stale one is swapped out. Swapping
    renames, so a library already loaded from the old directory stays valid.
    """
    if final_dir.exists():
        if out_name is not None and (final_dir / out_name).is_file() and not replace:
            return
        graveyard = Path(tempfile.mkdtemp(prefix="old.", dir=final_dir.parent))
        try:
            os.rename(final_dir, graveyard / "d")
        except OSError:
            pass
        shutil.rmtree(graveyard, ignore_errors=True)
    try:
        os.rename(work, final_dir)
    except OSError:
        pass  # a concurrent build published the same content first
