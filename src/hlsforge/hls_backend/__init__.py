"""The HLS backend: quantized IR → HLS C++ (io_parallel, or io_stream: ``stream/``) and its
bit-accurate C simulation.

Four verbs:

- ``lower(graph)`` → typed records (``HlsModel``): identifiers, types, strategy, reuse factor,
  configs and exact constants, decided once;
- ``render(model)`` → ``{file: text}``, a pure function of the records;
- ``write(graph, out_dir, config=None)`` → the firmware files on disk, with hlsforge's kernel
  library and fixed-point header beside them (a self-contained directory);
- ``compile(graph, config=None)`` → a ``CsimModel`` with ``predict(x)`` (a whole batch in one
  native call) and ``trace(x)`` (every layer's output), equal bit for bit to
  ``quantize.emulate.run``.

Vendor projects (testbench, Tcl, Vitis/Vivado flows) live in ``hlsforge.projects``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..errors import HlsforgeError
from ..ir.graph import Graph
from . import stream  # io_stream: lower_stream, render_stream, fifo_depths (after .lower)
from .csim import AP_FIXED_MACRO, CsimModel, compile, compile_many, find_ap_types, templates_dir
from .emit import file_names, render
from .lower import RULES, HlsOptions, hls_options, lower, valid_reuse_factors
from .records import HlsModel

__all__ = [
    "AP_FIXED_MACRO",
    "CsimModel",
    "HlsModel",
    "HlsOptions",
    "RULES",
    "stream",
    "compile",
    "compile_many",
    "file_names",
    "find_ap_types",
    "hls_options",
    "lower",
    "render",
    "support_headers",
    "write",
    "valid_reuse_factors",
    "templates_dir",
]


def support_headers() -> dict[str, Path]:
    """hlsforge's C++ headers a standalone firmware directory needs: ``{relative path: source}``."""
    root = templates_dir()
    out: dict[str, Path] = {}
    for p in sorted(root.rglob("*.h")):
        out[p.relative_to(root).as_posix()] = p
    return out


def write(
    graph: Graph,
    out_dir: str | Path,
    config: Any = None,
    *,
    name: str | None = None,
    include_support: bool = True,
) -> list[Path]:
    """Write the firmware of ``graph`` (quantized, or quantized here by ``config``) into ``out_dir``.

    With ``include_support`` the kernel library and hlsforge's fixed-point headers are copied
    beside it, so the directory compiles on its own (``-DHLSFORGE_USE_AP_FIXED`` selects Xilinx
    ``ap_fixed.h`` instead). Returns the written paths. Existing files of the same names are
    replaced; nothing else in ``out_dir`` is touched.
    """
    if config is not None:
        from ..quantize.config import configure

        graph = configure(graph, config)
    model = lower(graph, name=name)
    files = render(model)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise HlsforgeError(
            f"cannot create output directory {str(out)!r}: {e.strerror or e}"
        ) from None
    written: list[Path] = []
    try:
        for rel, text in files.items():
            p = out / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
            written.append(p)
        if include_support:
            for rel, src in support_headers().items():
                p = out / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, p)
                written.append(p)
    except OSError as e:
        raise HlsforgeError(
            f"cannot write the firmware into {str(out)!r}: {e.strerror or e}"
        ) from None
    return written
