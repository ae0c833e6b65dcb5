"""A small shared g++ runner: compile C++ to an executable or a shared library, cached.

Why one module: the CPU backend, the HLS C simulation and the numerics tests all compile
generated C++, and all of them want the same three things — a clear ``CompileError`` (command,
exit code, compiler output, where the sources are), a content-hash cache so that a second run
of the same code costs nothing, and the location of Xilinx's ``ap_types`` headers that the
``hls4ml`` wheel ships (a test-only dependency; never copied into this repository).

The cache key covers everything that can change the binary: the compiler command, the full
argument list and the bytes of every source file; the headers a build actually included (the
compiler's ``-MMD`` list) are recorded with their content hashes in a manifest beside the
output and checked on every lookup, so editing any of them rebuilds — into a new directory,
never over a library that may already be loaded — while unrelated headers in the same include
directories do not. A build writes into a private temporary directory and is renamed into
place atomically, so concurrent processes never see a half-written file.

The compiler is ``$CXX`` split like a shell command line (``ccache g++``, ``g++ -O0``, a quoted
path with spaces), else ``g++``. It is needed only to compile: a cache hit runs no compiler
and needs none on PATH. Compiler identity without running the compiler: the key holds the
command's words, and each build records the *fingerprint* of the programs the command names
(every word found on PATH, symlinks resolved: path, size, mtime — ``ccache g++`` records both)
plus the first line of ``--version`` (for people). A lookup accepts a build only if the
current fingerprint equals the recorded one (an upgraded or switched compiler rebuilds); when
the command's program cannot be found at all, any verified build of the same command is used.

Every build records its output's size and sha256 (``entry.json``), checked on each lookup
(memoized per process on path, size and mtime): a truncated, emptied or overwritten library
is rebuilt instead of being loaded (which crashed with SIGBUS).

Cache location: ``$HLSFORGE_CACHE`` if set, else ``~/.cache/hlsforge``. A path that is not a
directory raises ``OutputError``.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Union

from .errors import CompileError, OutputError, ToolNotFoundError

__all__ = [
    "CompileError",
    "SourceSpec",
    "cache_dir",
    "find_compiler",
    "compiler_command",
    "find_ap_types_include",
    "hlsforge_include",
    "compile_executable",
    "compile_shared_library",
    "compile_cpp",
    "ISOLATION_FLAGS",
    "ISOLATION_LINK_FLAGS",
    "load_library",
]

SourceSpec = Union[Mapping[str, str], Sequence[Union[str, Path]]]  # noqa: UP007 (a runtime alias)
"""Sources to compile: either ``{file name: text}`` (written into the build directory; every
``.cpp``/``.cc``/``.cxx`` file is compiled, the rest are only placed beside them so that
``#include "x.h"`` works) or a list of existing source files (compiled where they are)."""

_COMPILED_SUFFIXES = (".cpp", ".cc", ".cxx", ".c++", ".C")

ISOLATION_FLAGS: tuple[str, ...] = ("-fvisibility=hidden", "-fvisibility-inlines-hidden")
"""Compile flags for a library loaded into Python: only what is marked
``__attribute__((visibility("default")))`` is exported. Without them, two libraries of
different models that share a name (Keras calls almost every model ``model_1``) share their
C++ symbols once loaded into one process — GCC makes inline variables and function-local
statics process-wide unique symbols — and the second model silently runs the first's code."""
ISOLATION_LINK_FLAGS: tuple[str, ...] = ("-Wl,-Bsymbolic",)
"""Calls inside a library bind to that library's own definitions, never to another's."""
_DEFAULT_FLAGS = ("-O2", "-std=c++17")


def cache_dir() -> Path:
    """Directory for cached builds: ``$HLSFORGE_CACHE`` or ``~/.cache/hlsforge`` (created).

    Raises ``OutputError`` when that path is a file or cannot be created."""
    root = os.environ.get("HLSFORGE_CACHE")
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "hlsforge"
    return ensure_cache_dir(path, "the hlsforge build cache (HLSFORGE_CACHE)")


def ensure_cache_dir(path: Path, what: str) -> Path:
    """Create ``path`` as a directory or raise ``OutputError`` naming it (never removes anything)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        reason = "is not a directory (a file is in the way)" if isinstance(
            e, (FileExistsError, NotADirectoryError)) else f"cannot be created: {e.strerror or e}"
        raise OutputError(
            f"{what} {str(path)!r} {reason}; set HLSFORGE_CACHE to a writable directory"
        ) from None
    if not path.is_dir():
        raise OutputError(f"{what} {str(path)!r} is not a directory; set HLSFORGE_CACHE to a directory")
    return path


def compiler_command() -> list[str]:
    """The words of the C++ compiler command: ``$CXX`` split as a shell would, else ``["g++"]``.

    Nothing is looked up here. Raises ``ToolNotFoundError`` for a ``CXX`` that is not a
    command (unbalanced quotes, or only options)."""
    text = os.environ.get("CXX", "")
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise ToolNotFoundError(
            f"CXX={text!r} is not a valid command line ({e}); set the CXX environment variable to "
            "a C++17 compiler command such as 'g++' or 'ccache g++'"
        ) from None
    if not words:
        return ["g++"]
    if words[0].startswith("-"):
        raise ToolNotFoundError(
            f"CXX={text!r} starts with an option, not a program; set CXX to a compiler command "
            "such as 'g++ -O0'"
        )
    return words


def find_compiler() -> str:
    """Full path of the compiler program (the first word of ``$CXX``, else ``g++``).

    Raises ``ToolNotFoundError`` with what to install when it is not found.
    """
    words = compiler_command()
    found = shutil.which(words[0])
    if found is None:
        source = f"from CXX={os.environ['CXX']!r}" if os.environ.get("CXX") else "(the default; CXX is not set)"
        raise ToolNotFoundError(
            f"C++ compiler {words[0]!r} {source} not found on PATH; install g++ (e.g. "
            "`apt install g++`) or set the CXX environment variable to a C++17 compiler command"
        )
    return found


def _fingerprint(words: Sequence[str]) -> list[list[str | int]] | None:
    """``[word, resolved path, size, mtime_ns]`` of every word of the command found on PATH
    (the compiler, and e.g. the real compiler behind a launcher); ``None`` when the command's
    program itself is not found. Costs a few ``stat`` calls, runs nothing."""
    out: list[list[str | int]] = []
    for i, word in enumerate(words):
        if word.startswith("-"):
            continue
        found = shutil.which(word)
        if found is None:
            if i == 0:
                return None
            continue
        real = Path(found).resolve()
        try:
            st = real.stat()
        except OSError:
            continue
        out.append([word, str(real), st.st_size, st.st_mtime_ns])
    return out


@lru_cache(maxsize=8)
def _compiler_version(words: tuple[str, ...], fingerprint: str) -> str:
    """First line of ``<command> --version``, recorded beside each build (for people; the
    fingerprint argument only keys the memo so that a changed compiler is asked again)."""
    try:
        out = subprocess.run(
            [*words, "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise ToolNotFoundError(f"cannot run C++ compiler {' '.join(words)!r}: {e}") from None
    return out.splitlines()[0] if out else ""


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


def file_digest(path: Path) -> bytes:
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
    command = compiler_command()  # looked up on PATH only if a compile is needed

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
    h.update(b"hlsforge-cpp-3\0" + "\0".join(command).encode() + b"\0\0")
    h.update("\0".join([kind, out_name, *flags, *extra_flags, *define_args, *link_flags]).encode())
    h.update(b"\0inc\0" + "\0".join(str(d) for d in incs).encode())
    if text_sources is not None:
        for fname in sorted(text_sources):
            h.update(b"\0src\0" + fname.encode() + b"\0" + text_sources[fname].encode())
    else:
        for p in path_sources:
            h.update(b"\0src\0" + str(p).encode() + b"\0" + file_digest(p))
    key = h.hexdigest()[:24]

    root = Path(cache_root).expanduser() if cache_root is not None else cache_dir()
    base = root / "builds" / key
    fingerprint = _fingerprint(command)
    if cache:
        hit = _lookup(base, out_name, fingerprint)
        if hit is not None:
            return hit

    # ---- build in a private directory, then rename into place
    find_compiler()  # a clear ToolNotFoundError before anything is written
    assert fingerprint is not None
    version = _compiler_version(tuple(command), json.dumps(fingerprint))
    ensure_cache_dir(root, "the hlsforge build cache")
    ensure_cache_dir(root / "builds", "the build cache directory")
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
            *command, *flags, *extra_flags, *mode_args, *define_args,
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
        manifest = {str(d): file_digest(d).hex() for d in deps if d.is_file()}
        variant = hashlib.sha256(
            json.dumps([manifest, fingerprint], sort_keys=True).encode()).hexdigest()[:12]
        final_dir = base / (variant if ok else "failed")
        (work / "deps.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        if ok:
            _write_entry(work, out_name, command, fingerprint, version)
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


ENTRY_FILE = "entry.json"
"""Beside each build: its output's size and sha256, the compiler command and fingerprint."""


def _write_entry(work: Path, out_name: str, command: Sequence[str],
                 fingerprint: list[list[str | int]] | None, version: str) -> None:
    out = work / out_name
    entry = {
        "format": 1,
        "output": out_name,
        "size": out.stat().st_size,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "command": list(command),
        "compiler": fingerprint,
        "compiler_version": version,
    }
    (work / ENTRY_FILE).write_text(json.dumps(entry, indent=1, sort_keys=True))


def _verified_entry(variant: Path, out_name: str) -> dict | None:
    """The build record of ``variant`` if its output is exactly what was built, else None."""
    out = variant / out_name
    try:
        entry = json.loads((variant / ENTRY_FILE).read_text())
        if not (isinstance(entry, dict) and entry.get("output") == out_name):
            return None
        if out.stat().st_size != entry["size"] or file_digest(out).hex() != entry["sha256"]:
            return None
        return entry
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_library(path: str | Path, *, keep_gil: bool = False) -> ctypes.CDLL:
    """Open a compiled library for ctypes with local symbol binding (``RTLD_LOCAL``: its
    symbols never enter the process's global scope). ``keep_gil`` gives a ``PyDLL`` (calls
    hold the GIL). A file that cannot be loaded is a ``CompileError`` naming it."""
    cls = ctypes.PyDLL if keep_gil else ctypes.CDLL
    try:
        return cls(str(path), mode=os.RTLD_LOCAL)
    except OSError as e:
        raise CompileError(f"cannot load the compiled library {path}: {e}",
                           source_dir=str(Path(path).parent)) from None


def _lookup(base: Path, out_name: str, fingerprint: list[list[str | int]] | None) -> Path | None:
    """A cached build under ``base`` that is intact, made by the current compiler (when that can
    be told: see the module docstring) and whose recorded headers are all unchanged, if any."""
    if not base.is_dir():
        return None
    for variant in sorted(base.iterdir(), key=lambda p: p.name):
        manifest_path = variant / "deps.json"
        entry = _verified_entry(variant, out_name)
        if entry is None or (fingerprint is not None and entry.get("compiler") != fingerprint):
            continue
        try:
            manifest = json.loads(manifest_path.read_text())
            if all(Path(f).is_file() and file_digest(Path(f)).hex() == d for f, d in manifest.items()):
                return variant / out_name
        except (OSError, ValueError, AttributeError):
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

    An existing directory that already holds a good (verified) build is kept (a concurrent
    process built the same content first) unless ``replace``; a failed, damaged or stale one is
    swapped out. Swapping
    renames, so a library already loaded from the old directory stays valid.
    """
    if final_dir.exists():
        if out_name is not None and not replace and _verified_entry(final_dir, out_name) is not None:
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
