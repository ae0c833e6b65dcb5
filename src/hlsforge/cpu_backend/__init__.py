"""The CPU backend: SOFIE-style C++ (a header plus a weight file) that needs only BLAS.

Four verbs:

- :func:`generate` — the files' contents, ``{file name: text or bytes}`` (pure, deterministic);
- :func:`write` — write them into a directory (what ``hlsforge convert --backend cpu`` does);
- :func:`compile` — build and load a model for Python (``model.predict(x)``), cached;
- :func:`compile_models` — several models in one shared library.

See docs/cpu_backend.md for the generated API, the thread-safety contract and the weight
file format.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import OutputError
from ..ir.graph import Graph
from ..owned_tree import write_tree
from .blas import BlasConfig, find_blas, set_blas_threads
from .emit import KERNEL_HEADER, kernel_header_text, render_header
from .lower import DEFAULT_TUNING, RULES, ModelPlan, Tuning, lower
from .runtime import CpuModel, compile, compile_models
from .weights import read_weights, weights_bytes

__all__ = [
    "generate", "write", "compile", "compile_models", "CpuModel", "lower", "ModelPlan", "Tuning",
    "BlasConfig", "find_blas", "set_blas_threads", "read_weights", "RULES", "KERNEL_HEADER",
]


def generate(graph: Graph, name: str | None = None, *, embed_weights: bool = False,
             tuning: Tuning = DEFAULT_TUNING) -> dict[str, str | bytes]:
    """The generated files for ``graph``: ``<ns>.hpp``, ``hlsforge_cpu.hpp`` and, unless
    ``embed_weights``, ``<ns>.weights`` (``<ns>`` is the sanitized model name, also the C++
    namespace). Same graph and arguments give byte-identical files."""
    plan = lower(graph, name=name, tuning=tuning)
    arrays = [w.array(graph) for w in plan.weights]
    files: dict[str, str | bytes] = {
        f"{plan.namespace}.hpp": render_header(plan, embedded_weights=arrays if embed_weights else None),
        KERNEL_HEADER: kernel_header_text(),
    }
    if not embed_weights:
        files[f"{plan.namespace}.weights"] = weights_bytes([(w.name, a) for w, a in zip(plan.weights, arrays, strict=True)])
    return files


#: The record of the files ``write`` put into a directory (see ``hlsforge.owned_tree``).
MANIFEST_FILE = "hlsforge_cpu.json"


def write(graph: Graph, out_dir: str | os.PathLike[str], name: str | None = None, *,
          embed_weights: bool = False) -> list[Path]:
    """Write the generated files into ``out_dir`` (created); returns their paths.

    ``out_dir`` must be new, empty, or a directory this function wrote before: there only the
    files it recorded in ``hlsforge_cpu.json`` are replaced and whatever else the user put there
    is kept; a recorded file the user changed, or a foreign non-empty directory, is refused
    with an ``OutputError``. The new files are built beside ``out_dir`` and swapped in whole,
    so a failure never leaves a half-written header or weight file (``hlsforge.owned_tree``).
    """
    files = generate(graph, name, embed_weights=embed_weights)
    paths = write_tree(
        Path(out_dir), files, MANIFEST_FILE, {"hlsforge_cpu": 1},
        what="CPU backend output directory", error=OutputError,
    )
    return paths[: len(files)]
