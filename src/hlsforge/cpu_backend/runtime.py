"""Compile generated CPU code into a shared library and run it from Python through ctypes.

Why ctypes and not an extension module: no Python headers or build backend are needed, and
the library is the very code a C++ user would compile. The library is cached by the hash of
its sources and flags (``hlsforge.cpp_toolchain``), so compiling a model the second time costs
only lowering and a hash; the weights go to a separate content-addressed file, so two models
that differ only in their weights share one library.

The call path is kept lean for batch-1 latency: argtypes are set once, a contiguous float32
input is passed by pointer without a copy, and one-input one-output models use a dedicated
entry point that needs no pointer arrays.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import cpp_toolchain
from ..errors import HlsforgeError, ModelClosedError, ModelFormatError, OutputError
from ..ir.graph import Graph
from .blas import BlasConfig, find_blas, set_blas_threads
from .emit import KERNEL_HEADER, capi_prefix, kernel_header_text, render_capi, render_header
from .lower import DEFAULT_TUNING, ModelPlan, Tuning, lower
from .weights import weights_bytes, write_atomic

BASE_FLAGS = ("-O3", "-std=c++17", "-DNDEBUG")
ISOLATION_FLAGS = cpp_toolchain.ISOLATION_FLAGS
"""Each library exports only its C interface (``HLSFORGE_CAPI``): two libraries holding
different versions of a model with the same name never share symbols (docs/native_runtime.md)."""
ISOLATION_LINK_FLAGS = cpp_toolchain.ISOLATION_LINK_FLAGS
GIL_FREE_BATCH = 64
"""Batches larger than this run with the GIL released (smaller ones are faster with it held)."""

_F32 = np.dtype(np.float32)


@lru_cache(maxsize=1)
def _array_data_offset() -> int | None:
    """Byte offset of the data pointer inside a numpy array object, or None if unknown.

    numpy's ``PyArrayObject_fields`` puts ``char *data`` right after the object header (16
    bytes on CPython). Rather than assume it, probe it: the offset is used only if it holds
    the data pointer of every probe array, and ``id()`` is an address (CPython). Elsewhere
    (PyPy, an unusual build) ``predict`` takes the general path with ``ndarray.ctypes``.
    """
    if platform.python_implementation() != "CPython":
        return None
    probes = [np.empty(k, dtype=np.float32) for k in (1, 3, 257)] + [np.zeros((2, 5), np.float32)[1]]
    for offset in range(8, 41, 8):  # within the object: its fields go on well past 40 bytes
        if all(ctypes.c_void_p.from_address(id(a) + offset).value == a.ctypes.data for a in probes):
            return offset
    return None


@lru_cache(maxsize=1)
def host_flags() -> tuple[str, ...]:
    """``-march=native`` plus a define naming this CPU, so the build cache never hands a
    library built for one CPU to another (e.g. a home directory shared across machines)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "aarch64", "arm64"):
        return ()
    text = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "flags", "Features", "CPU part")):
                    text += line
                if line.strip() == "":
                    break
    except OSError:
        text = platform.processor()
    fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    flag = "-march=native" if platform.machine().lower() in ("x86_64", "amd64") else "-mcpu=native"
    return (flag, f"-DHLSFORGE_HOST_ID=0x{fingerprint}")


class CpuModel:
    """A compiled model. ``predict(x)`` runs any batch in one native call.

    ``x`` follows :func:`hlsforge.reference.run`: an array for a one-input model (one event
    without the batch axis is accepted), else a dict keyed by input name (or a list in input
    order); the result is an array, or a dict keyed by output name for several outputs.
    Arrays are in the source model's layout. As in the reference, NaN and infinity are not
    refused: they propagate as IEEE arithmetic says (docs/numerics.md §9). ``predict`` is
    thread-safe.

    ``close()`` frees the native session. It is safe against concurrent ``predict`` calls:
    calls already running finish first (close waits for them), later ones raise
    ``ModelClosedError``. Calls that release the GIL hold the session through an in-flight
    count taken under a lock; small batches keep the GIL for the whole native call, which
    reads the session from a slot that close() clears first, so they need no lock.
    """

    _session: int | None

    def __init__(self, graph: Graph, plan: ModelPlan, library: Path, weights: Path, lib: ctypes.CDLL,
                 blas: BlasConfig) -> None:
        self.graph = graph
        self.plan = plan
        self.library = library
        self.weights_path = weights
        self.blas = blas
        self._lib = lib
        prefix = capi_prefix(plan)
        create = getattr(lib, f"{prefix}_create")
        create.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
        create.restype = ctypes.c_void_p
        self._destroy = getattr(lib, f"{prefix}_destroy")
        self._destroy.argtypes = [ctypes.c_void_p]
        self._destroy.restype = None
        self._infer = getattr(lib, f"{prefix}_infer")
        self._infer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                ctypes.c_char_p, ctypes.c_size_t]
        self._infer.restype = ctypes.c_int
        # One-input one-output models get a lean entry point (see _array_data_offset): it takes
        # the addresses of the input and output arrays and reads their data pointers itself,
        # which costs far less than ndarray.ctypes or the buffer protocol. Calls through PyDLL
        # keep the GIL (cheaper than releasing it); batches above GIL_FREE_BATCH release it so
        # other Python threads run meanwhile.
        self._fast: Any = None
        self._fast_gil: Any = None
        self._offset = _array_data_offset()
        if len(plan.inputs) == 1 and len(plan.outputs) == 1 and self._offset is not None:
            name = f"{prefix}_infer1_obj"
            self._fast = getattr(lib, name)
            self._fast_gil = getattr(_open_pydll(str(library)), name)
            for fn in (self._fast, self._fast_gil):
                fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t]
                fn.restype = ctypes.c_int
        self._create = create
        self._init_guard()
        self._session = self._new_session(weights)
        self._slot.value = self._session
        self._in_shapes = [tuple(r.user_shape) for r in plan.inputs]
        self._out_shapes = [tuple(r.user_shape) for r in plan.outputs]
        self._in_shape0 = self._in_shapes[0] if self._in_shapes else ()
        self._out_shape0 = self._out_shapes[0] if self._out_shapes else ()
        self._out_shape1 = (1, *self._out_shape0)
        inner = np.empty(self._in_shape0, dtype=_F32).strides if plan.inputs else ()
        self._in_strides = inner  # a C-contiguous event
        self._in_strides_b = (4 * (self.plan.inputs[0].size if plan.inputs else 0), *inner)  # a C-contiguous batch

    def _init_guard(self) -> None:
        """The lock, in-flight count and condition that make close() wait for running calls."""
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._session = None
        self._slot = ctypes.c_void_p(None)  # the session as the lean entry point reads it
        self._slot_addr = ctypes.addressof(self._slot)

    def _acquire(self) -> int:
        """The session handle for one call, counted as in flight; ``ModelClosedError`` if closed."""
        with self._lock:
            session = self._session
            if session is None:
                raise ModelClosedError(
                    f"model {self.plan.model_name!r} is closed: its native session was freed by close(); "
                    "compile it again (cached, cheap) instead of closing it while still in use"
                )
            self._inflight += 1
            return session

    def _release(self) -> None:
        with self._lock:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.notify_all()

    def _new_session(self, weights: Path) -> int:
        err = ctypes.create_string_buffer(4096)
        handle = self._create(os.fsencode(weights), err, len(err))
        if not handle:
            raise ModelFormatError(err.value.decode(errors="replace") or f"cannot load weights {weights}")
        return int(handle)

    def with_weights(self, weights: str | os.PathLike[str]) -> CpuModel:
        """The same compiled model with the weights of another weight file (e.g. after
        retraining: no recompilation). Raises ``ModelFormatError`` naming the file and tensor
        if the file is missing, truncated, corrupted or made for another model."""
        clone = object.__new__(CpuModel)
        clone.__dict__.update(self.__dict__)
        clone._init_guard()  # its own session, lock and in-flight count
        clone.weights_path = Path(weights)
        clone._session = clone._new_session(Path(weights))
        clone._slot.value = clone._session
        return clone

    @property
    def source_dir(self) -> Path:
        """Directory holding the generated sources the library was built from."""
        return self.library.parent

    def predict(self, x: Any) -> Any:
        if self._fast is not None and type(x) is np.ndarray and x.dtype is _F32:
            shape, strides = x.shape, x.strides
            if shape[1:] == self._in_shape0 and strides == self._in_strides_b:
                n = shape[0]
            elif shape == self._in_shape0 and strides == self._in_strides:
                n = 1
            else:
                n = 0  # not a C-contiguous batch: the general path copies it
            if n:
                out = np.empty(self._out_shape1 if n == 1 else (n, *self._out_shape0), dtype=_F32)
                if n <= GIL_FREE_BATCH:
                    # The call holds the GIL from start to end and reads the session from its
                    # slot itself, so close() (which needs the GIL) runs wholly before or after.
                    rc = self._fast_gil(self._slot_addr, id(x), id(out), n, self._offset)
                else:
                    self._acquire()  # counted in flight: close() waits for this call
                    try:
                        rc = self._fast(self._slot_addr, id(x), id(out), n, self._offset)
                    finally:
                        self._release()
                if rc == 2:
                    self._acquire()  # raises ModelClosedError
                if rc:
                    raise HlsforgeError(f"model {self.plan.model_name!r}: native inference failed (out of memory?)")
                return out
        return self._predict_general(x)

    __call__ = predict

    def _predict_general(self, x: Any) -> Any:
        arrays = _prepare(self.graph, x)
        with np.errstate(over="ignore"):  # beyond the float32 range rounds to ±inf (the rule)
            ins = [np.ascontiguousarray(arrays[r.name], dtype=np.float32) for r in self.plan.inputs]
        n = ins[0].shape[0] if ins else 0
        outs = [np.empty((n, *s), dtype=np.float32) for s in self._out_shapes]
        if n:
            in_ptrs = (ctypes.c_void_p * max(1, len(ins)))(*[a.ctypes.data for a in ins])
            out_ptrs = (ctypes.c_void_p * len(outs))(*[a.ctypes.data for a in outs])
            err = ctypes.create_string_buffer(1024)
            session = self._acquire()
            try:
                rc = self._infer(session, in_ptrs, out_ptrs, n, err, len(err))
            finally:
                self._release()
            if rc:
                raise HlsforgeError(f"model {self.plan.model_name!r}: {err.value.decode(errors='replace')}")
        else:
            self._acquire()  # an empty batch on a closed model is still an error
            self._release()
        named = {r.name: a for r, a in zip(self.plan.outputs, outs, strict=True)}
        return next(iter(named.values())) if len(named) == 1 else named  # as reference.run

    def close(self) -> None:
        """Free the native session (also done when the object is garbage-collected).

        Waits for calls already running on other threads; any later ``predict`` raises
        ``ModelClosedError``. Closing twice is harmless."""
        lock = self.__dict__.get("_idle")
        if lock is None:  # __init__ failed before the guard existed
            return
        with lock:
            session, self._session = self._session, None
            self._slot.value = None
            while self._inflight:
                lock.wait()
        if session is not None:
            self._destroy(session)

    def __del__(self) -> None:
        try:
            self.close()
        except (AttributeError, TypeError):  # interpreter shutdown: ctypes may be gone
            pass

    def __repr__(self) -> str:
        return f"<CpuModel {self.plan.model_name!r} ({self.plan.namespace}) from {self.library}>"


def _prepare(graph: Graph, x: Any) -> dict[str, np.ndarray]:
    """The float engines' rule (docs/numerics.md, "Special input values"): NaN/inf propagate."""
    return graph.prepare_inputs(x, engine="float")


# --------------------------------------------------------------------------------- compiling


def _unique_names(graphs: Sequence[Graph], names: Sequence[str | None] | None) -> list[str]:
    """Model names whose C++ namespaces differ (several models share one library)."""
    from .names import namespace_name

    wanted = list(names) if names is not None else [None] * len(graphs)
    out: list[str] = []
    seen: set[str] = set()
    for g, n in zip(graphs, wanted, strict=True):
        base = n or g.name or "model"
        name = base
        i = 1
        while namespace_name(name) in seen:
            name = f"{base}_{i}"
            i += 1
        seen.add(namespace_name(name))
        out.append(name)
    return out


def _weights_file(plan: ModelPlan, graph: Graph, root: Path) -> Path:
    data = weights_bytes([(w.name, w.array(graph)) for w in plan.weights])
    digest = hashlib.sha256(data).hexdigest()
    parent = cpp_toolchain.ensure_cache_dir(root / "cpu_weights", "the weight cache")
    path = parent / f"{digest[:24]}.weights"
    try:
        # The name is the content's hash: a file whose bytes no longer hash to it (truncated,
        # overwritten) is written again. The check is memoized on path, size and mtime.
        intact = path.stat().st_size == len(data) and cpp_toolchain.file_digest(path).hex() == digest
    except OSError:
        intact = False
    if not intact:
        try:
            write_atomic(path, data)
        except OSError as e:
            raise OutputError(f"cannot write the weight file {str(path)!r}: {e.strerror or e}") from None
    return path


def compile_models(
    graphs: Sequence[Graph],
    *,
    names: Sequence[str | None] | None = None,
    blas: str | BlasConfig | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    blas_threads: int | None = 1,
    tuning: Tuning = DEFAULT_TUNING,
) -> list[CpuModel]:
    """Compile several models into ONE shared library (one compiler run) and load each.

    Models whose names would give the same C++ namespace get a numeric suffix.
    See :func:`compile` for the arguments.
    """
    cfg = find_blas(blas)
    root = Path(cache_dir).expanduser() if cache_dir is not None else cpp_toolchain.cache_dir()
    plans = [lower(g, name=n, tuning=tuning) for g, n in zip(graphs, _unique_names(graphs, names), strict=True)]
    sources: dict[str, str] = {KERNEL_HEADER: kernel_header_text()}
    for plan in plans:
        sources[f"{plan.namespace}.hpp"] = render_header(plan)
    sources["hlsforge_capi.cpp"] = render_capi(plans)
    lib_name = plans[0].namespace if len(plans) == 1 else f"models_{len(plans)}"
    library = cpp_toolchain.compile_shared_library(
        sources,
        name=f"hlsforge_{lib_name}",
        include_dirs=cfg.include_dirs,
        defines=dict(cfg.defines),
        flags=BASE_FLAGS,
        extra_flags=(*host_flags(), *ISOLATION_FLAGS),
        link_flags=(*cfg.link_flags, *ISOLATION_LINK_FLAGS),
        cache_root=root,
    )
    if blas_threads is not None:
        set_blas_threads(cfg, blas_threads)
    lib = _open(str(library))
    return [CpuModel(g, plan, library, _weights_file(plan, g, root), lib, cfg) for g, plan in zip(graphs, plans, strict=True)]


def compile(
    graph: Graph,
    *,
    blas: str | BlasConfig | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    name: str | None = None,
    blas_threads: int | None = 1,
    tuning: Tuning = DEFAULT_TUNING,
) -> CpuModel:
    """Generate, compile (cached) and load the CPU implementation of ``graph``.

    ``blas``: ``None``/``"auto"`` (scipy-openblas32 wheel, else system OpenBLAS),
    ``"scipy-openblas32"``, ``"openblas"``, ``"none"`` or a ``BlasConfig``.
    ``cache_dir``: root of the build cache (default ``$HLSFORGE_CACHE`` or
    ``~/.cache/hlsforge``). ``blas_threads``: thread count set on the BLAS library for this
    process (default 1; ``None`` leaves it alone). Raises ``CompileError`` (compiler output and
    the path of the sources) if compilation fails.
    """
    return compile_models([graph], names=[name], blas=blas, cache_dir=cache_dir, blas_threads=blas_threads,
                          tuning=tuning)[0]


@lru_cache(maxsize=64)
def _open(path: str) -> ctypes.CDLL:
    return cpp_toolchain.load_library(path)


@lru_cache(maxsize=64)
def _open_pydll(path: str) -> ctypes.CDLL:
    """The same library through ``ctypes.PyDLL``: its calls keep the GIL."""
    return cpp_toolchain.load_library(path, keep_gil=True)
