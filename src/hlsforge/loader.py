"""``hlsforge.load``: one entry point for every model format, dispatching to a frontend.

Each frontend registers a *claim* (does this path or object look like mine?) and a loader.
A path is matched by suffix; a live object by its type's module. Nothing is imported from an
optional framework unless the model belongs to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelFormatError
from .ir.graph import Graph


@dataclass(frozen=True)
class Frontend:
    name: str
    suffixes: tuple[str, ...]  # file suffixes it reads (lower case, with dot)
    modules: tuple[str, ...]  # top-level modules of live objects it accepts
    load: Callable[..., Graph]


def _onnx_loader(model: Any, **options: Any) -> Graph:
    from .frontends.onnx import load_onnx

    return load_onnx(model, **options)


def _ir_loader(model: Any, **options: Any) -> Graph:
    from .ir.serialize import load as load_ir

    return load_ir(model)


FRONTENDS: list[Frontend] = [
    Frontend("onnx", (".onnx",), ("onnx",), _onnx_loader),
    Frontend("hlsforge-ir", (".json",), (), _ir_loader),
]


def register_frontend(frontend: Frontend, *, first: bool = False) -> None:
    """Add a frontend (later issues: keras, torch, trees)."""
    FRONTENDS.insert(0, frontend) if first else FRONTENDS.append(frontend)


def _is_ir_json(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(200)
    except OSError:
        return False
    return b'"hlsforge-ir"' in head


def load(model: Any, **options: Any) -> Graph:
    """Load a model (a path or a live framework object) into hlsforge's IR.

    The returned graph is legalized and validated: shared passes have run and only final
    ops remain. Options are passed to the frontend (e.g. ``weights=`` for Keras JSON).
    """
    if isinstance(model, Graph):
        return model
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise ModelFormatError(f"model file {str(path)!r} does not exist")
        if path.is_dir():
            raise ModelFormatError(f"model path {str(path)!r} is a directory, expected a model file")
        suffix = path.suffix.lower()
        if suffix == ".json" and _is_ir_json(path):
            return _ir_loader(path)
        for fe in FRONTENDS:
            if suffix in fe.suffixes and fe.name != "hlsforge-ir":
                return fe.load(path, **options)
        known = sorted({s for fe in FRONTENDS for s in fe.suffixes})
        raise ModelFormatError(f"cannot tell the format of {str(path)!r} from its suffix; known: {', '.join(known)}")
    module = type(model).__module__.split(".")[0]
    for fe in FRONTENDS:
        if module in fe.modules:
            return fe.load(model, **options)
    known = sorted({m for fe in FRONTENDS for m in fe.modules})
    raise ModelFormatError(
        f"cannot load a {type(model).__module__}.{type(model).__name__}: pass a model file path or a live "
        f"model from one of: {', '.join(known)}"
    )
