"""C simulation: compile the generated HLS C++ with g++ and run whole batches through ctypes.

``compile(graph, config)`` renders the firmware plus a small ``extern "C"`` bridge (see
``emit.render_bridge``), builds a shared library, and returns a ``CsimModel`` whose
``predict(x)`` runs a batch in ONE native call (the loop over events is C++) and whose
``trace(x)`` returns every layer's output, keyed like ``quantize.emulate.run(..., trace=True)``.

The fixed-point library is chosen by one macro: hlsforge's own header (fast to compile and
run; the default) or Xilinx ``ap_fixed.h`` (``fixed_lib="ap_types"``: from ``ap_types_path``,
``$XILINX_HLS/include``, ``$XILINX_VIVADO/include`` or the installed hls4ml wheel). Both must
give identical bits, which the tests check.

Builds are cached by content: the generated sources are written into a directory named by
their hash under the hlsforge cache, and ``cpp_toolchain`` caches the library by the hash of
compiler, flags and every source and header byte, so compiling the same model again costs
only the rendering.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import cpp_toolchain
from ..errors import ToolNotFoundError
from ..ir.graph import Graph
from . import emit
from .lower import lower
from .records import HlsModel

AP_FIXED_MACRO = "HLSFORGE_USE_AP_FIXED"
"""Defined → the generated code compiles against Xilinx ``ap_fixed.h``; else hlsforge's header."""

FIXED_LIBS = ("hlsforge", "ap_types")
DEFAULT_FLAGS: tuple[str, ...] = ("-O3", "-std=c++17")
"""-O3 over -O2: the raw-integer MAC loops (fast.h) vectorize at -O3, which makes the
benchmark MLP ~2.5x faster for ~10% more compile time (benchmarks/csim_vs_hls4ml.py prints
the -O1/-O2/-O3 comparison). Tests that only check bits use -O0 (fastest to compile)."""
WARNING_FLAGS: tuple[str, ...] = ("-Wno-unknown-pragmas",)
"""The HLS pragmas mean nothing to g++; everything else stays visible."""
ISOLATION_FLAGS = cpp_toolchain.ISOLATION_FLAGS
"""Every C-sim library exports only its ``extern "C"`` bridge (``HLSFORGE_CSIM_EXPORT``): two
libraries of different models that share a name otherwise share the top function, the weight
arrays and the kernels' tables in one process (docs/native_runtime.md)."""
ISOLATION_LINK_FLAGS = cpp_toolchain.ISOLATION_LINK_FLAGS

_P_DOUBLE = ctypes.POINTER(ctypes.c_double)


def templates_dir() -> Path:
    """hlsforge's C++ headers: the fixed-point header and ``hlsforge_kernels/``."""
    return Path(__file__).resolve().parent / "templates"


def find_ap_types(ap_types_path: str | Path | None = None) -> Path:
    """The directory holding Xilinx ``ap_fixed.h``.

    Order: the given path; ``$XILINX_HLS/include``; ``$XILINX_VIVADO/include``; the headers
    the hls4ml wheel ships (``cpp_toolchain.find_ap_types_include``).
    """
    if ap_types_path is not None:
        p = Path(ap_types_path).expanduser()
        for cand in (p, p / "include"):
            if (cand / "ap_fixed.h").is_file():
                return cand
        raise ToolNotFoundError(
            f"ap_types_path={str(ap_types_path)!r} holds no ap_fixed.h (nor does its include/)"
        )
    for env in ("XILINX_HLS", "XILINX_VIVADO"):
        root = os.environ.get(env)
        if root and (Path(root) / "include" / "ap_fixed.h").is_file():
            return Path(root) / "include"
    return cpp_toolchain.find_ap_types_include()


def include_dirs(
    fixed_lib: str, ap_types_path: str | Path | None = None
) -> tuple[list[Path], dict[str, str | int | None]]:
    """Include directories and macros for compiling generated code against ``fixed_lib``."""
    if fixed_lib not in FIXED_LIBS:
        raise ValueError(f"fixed_lib must be one of {FIXED_LIBS}, got {fixed_lib!r}")
    if fixed_lib == "ap_types":
        return [find_ap_types(ap_types_path), templates_dir()], {AP_FIXED_MACRO: None}
    return [templates_dir()], {}


# ----------------------------------------------------------------------------- sources on disk


def _source_tree(models: Sequence[HlsModel]) -> tuple[Path, list[Path]]:
    """Write every model's firmware + bridge into a content-addressed directory.

    Returns the directory and the bridge sources to compile. Each model gets its own
    subdirectory (its files include each other by relative path). The directory name is the
    hash of all file names and texts, so the same models always land in the same place.
    """
    files: dict[str, str] = {}
    bridges: list[str] = []
    for i, model in enumerate(models):
        sub = f"m{i}_{model.name}"
        for rel, text in emit.render(model, bridge=True).items():
            files[f"{sub}/{rel}"] = text
        bridges.append(f"{sub}/{emit.file_names(model)['bridge']}")
    if len(models) > 1:
        # One translation unit for all models: the fixed-point headers are parsed once and
        # kernel instantiations shared (what makes the ap_fixed.h builds of many models bearable).
        files["unity.cpp"] = (
            "// generated by hlsforge: every model's C-sim bridge in one translation unit\n"
            + "".join(f'#include "{b}"\n' for b in bridges)
        )
        bridges = ["unity.cpp"]
    h = hashlib.sha256(b"hlsforge-csim-1\0")
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + files[rel].encode() + b"\0")
    parent = cpp_toolchain.ensure_cache_dir(cpp_toolchain.cache_dir() / "csim", "the C-sim source cache")
    root = parent / h.hexdigest()[:24]
    encoded = {rel: text.encode() for rel, text in files.items()}
    if not _tree_intact(root, encoded):
        work = Path(tempfile.mkdtemp(prefix=root.name + ".tmp.", dir=parent))
        try:
            for rel, data in encoded.items():
                p = work / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            (work / ".complete").write_text("")
            # damaged: move it aside (a build may still read it), then drop it — but only if it is
            # still damaged now: a concurrent process may have just renamed its complete tree in
            if root.exists() and not _tree_intact(root, encoded):
                graveyard = Path(tempfile.mkdtemp(prefix=root.name + ".old.", dir=parent))
                try:
                    os.rename(root, graveyard / "d")
                except OSError:
                    pass
                shutil.rmtree(graveyard, ignore_errors=True)
            try:
                os.rename(work, root)
            except OSError:
                pass  # a concurrent process wrote the same content first
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    return root, [root / b for b in bridges]


def _tree_intact(root: Path, files: dict[str, bytes]) -> bool:
    """True when ``root`` is complete and every file holds exactly the expected bytes (a
    damaged cached source would otherwise fail to compile, or compile into something else)."""
    if not (root / ".complete").is_file():
        return False
    try:
        for rel, data in files.items():
            p = root / rel
            if p.stat().st_size != len(data) or p.read_bytes() != data:
                return False
    except OSError:
        return False
    return True


def build_library(
    models: Sequence[HlsModel],
    *,
    fixed_lib: str = "hlsforge",
    ap_types_path: str | Path | None = None,
    flags: Sequence[str] = DEFAULT_FLAGS,
) -> Path:
    """Compile one shared library holding the C-sim entry points of every model (cached)."""
    incs, defines = include_dirs(fixed_lib, ap_types_path)
    _, bridges = _source_tree(models)
    name = "csim_" + "_".join(m.name for m in models)[:60]
    return cpp_toolchain.compile_shared_library(
        bridges,
        name=name,
        include_dirs=incs,
        defines=defines,
        flags=tuple(flags),
        extra_flags=(*WARNING_FLAGS, *ISOLATION_FLAGS),
        link_flags=ISOLATION_LINK_FLAGS,
    )


# ----------------------------------------------------------------------------- the model object


_LOADED: dict[str, ctypes.CDLL] = {}


def _load(path: Path) -> ctypes.CDLL:
    key = str(path)
    lib = _LOADED.get(key)
    if lib is None:
        lib = cpp_toolchain.load_library(path)
        _LOADED[key] = lib
    return lib


def _pointer_array(arrays: Sequence[np.ndarray]) -> Any:
    return (_P_DOUBLE * len(arrays))(*[a.ctypes.data_as(_P_DOUBLE) for a in arrays])


@dataclass
class CsimModel:
    """A compiled C simulation of one quantized graph."""

    graph: Graph
    model: HlsModel
    library: Path
    fixed_lib: str
    _lib: ctypes.CDLL = field(repr=False)

    def __post_init__(self) -> None:
        for what in ("predict", "trace"):
            fn = getattr(self._lib, emit.bridge_symbol(self.model, what))
            fn.argtypes = [ctypes.POINTER(_P_DOUBLE), ctypes.POINTER(_P_DOUBLE), ctypes.c_longlong]
            fn.restype = ctypes.c_int
        self._predict = getattr(self._lib, emit.bridge_symbol(self.model, "predict"))
        self._trace = getattr(self._lib, emit.bridge_symbol(self.model, "trace"))

    def _inputs(self, x: Any) -> tuple[list[np.ndarray], int]:
        # the emulator's rule for special values (docs/numerics.md, "Special input values")
        arrays = self.graph.prepare_inputs(x, engine="fixed")
        ins = [
            np.ascontiguousarray(
                self.graph.to_internal(p.value, arrays[p.value]), dtype=np.float64
            ).reshape(-1, p.size)
            for p in self.model.inputs
        ]
        return ins, ins[0].shape[0]

    def predict(self, x: Any) -> np.ndarray | dict[str, np.ndarray]:
        """Run a batch (source-model layout). One array for one output, else a dict by name.

        Inputs enter through each input type's conversion (rounding and overflow of that type);
        outputs are the exact fixed-point values as float64, in the user's layout.
        """
        ins, n = self._inputs(x)
        outs = [np.empty((n, p.size), dtype=np.float64) for p in self.model.outputs]
        if n:
            self._predict(_pointer_array(ins), _pointer_array(outs), n)
        result = {
            p.value: self.graph.to_user(p.value, o.reshape((n, *p.shape)))
            for p, o in zip(self.model.outputs, outs, strict=True)
        }
        return next(iter(result.values())) if len(result) == 1 else result

    def trace(self, x: Any) -> dict[str, np.ndarray]:
        """Every layer's output for a batch, keyed by source layer name (as the emulator's trace):
        intermediate tensors channels-last, graph outputs in the user's layout."""
        ins, n = self._inputs(x)
        bufs = [np.empty((n, layer.output.size), dtype=np.float64) for layer in self.model.layers]
        if n:
            self._trace(_pointer_array(ins), _pointer_array(bufs), n)
        graph_outputs = set(self.graph.outputs)
        traced: dict[str, np.ndarray] = {}
        for layer, buf in zip(self.model.layers, bufs, strict=True):
            node = self.graph.node(layer.node)
            out = node.outputs[0]
            y = buf.reshape((n, *layer.output.shape))
            traced[layer.trace_key] = self.graph.to_user(out, y) if out in graph_outputs else y
        return traced


def _prepare(graph: Graph, config: Any) -> Graph:
    if config is None:
        return graph
    from ..quantize.config import configure

    return configure(graph, config)


def compile(
    graph: Graph,
    config: Any = None,
    *,
    fixed_lib: str = "hlsforge",
    ap_types_path: str | Path | None = None,
    name: str | None = None,
    flags: Sequence[str] = DEFAULT_FLAGS,
) -> CsimModel:
    """Compile the C simulation of ``graph`` (already quantized, or quantized here by ``config``).

    Raises ``PrecisionError`` for an unquantized graph or an invalid ReuseFactor,
    ``UnsupportedOpError`` for what the backend cannot express, ``CompileError`` (with the
    compiler's message and the source path) if g++ fails.
    """
    return compile_many(
        [graph],
        [config],
        fixed_lib=fixed_lib,
        ap_types_path=ap_types_path,
        names=[name],
        flags=flags,
    )[0]


def compile_many(
    graphs: Sequence[Graph],
    configs: Sequence[Any] | None = None,
    *,
    fixed_lib: str = "hlsforge",
    ap_types_path: str | Path | None = None,
    names: Sequence[str | None] | None = None,
    flags: Sequence[str] = DEFAULT_FLAGS,
) -> list[CsimModel]:
    """Compile several models into ONE shared library (one compiler run): what a test module
    that checks many small graphs wants, since compile time is the cost. Model names must be
    distinct (each model keeps its own namespace and entry points)."""
    configs = list(configs) if configs is not None else [None] * len(graphs)
    names = list(names) if names is not None else [None] * len(graphs)
    if len(configs) != len(graphs) or len(names) != len(graphs):
        raise ValueError("graphs, configs and names must have the same length")
    prepared = [_prepare(g, c) for g, c in zip(graphs, configs, strict=True)]
    models = [lower(g, name=n) for g, n in zip(prepared, names, strict=True)]
    seen: dict[str, int] = {}
    for i, m in enumerate(models):
        if m.name in seen:
            from ..errors import HlsforgeError

            raise HlsforgeError(
                f"models {seen[m.name]} and {i} are both named {m.name!r}; pass distinct names= "
                "so that their C++ symbols do not clash"
            )
        seen[m.name] = i
    path = build_library(models, fixed_lib=fixed_lib, ap_types_path=ap_types_path, flags=flags)
    lib = _load(path)
    return [CsimModel(g, m, path, fixed_lib, lib) for g, m in zip(prepared, models, strict=True)]
