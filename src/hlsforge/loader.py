"""``hlsforge.load``: one entry point for every model format, dispatching to a frontend.

Each frontend registers a *claim* (does this path or object look like mine?) and a loader.
A path is matched by suffix; a live object by its type's module. Nothing is imported from an
optional framework unless the model belongs to it.
"""

from __future__ import annotations

import os
import sys
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
    accepts: Callable[[Any], bool] | None = None  # live objects whose class lives elsewhere (subclasses)
    sniff: Callable[[Path], bool] | None = None  # for shared suffixes (.json): is this file mine?


def _onnx_loader(model: Any, **options: Any) -> Graph:
    from .frontends.onnx import load_onnx

    return load_onnx(model, **options)


def _ir_loader(model: Any, **options: Any) -> Graph:
    from .ir.serialize import load as load_ir

    # an IR file is untrusted input like any model: check every invariant and size limit
    return load_ir(model).validate(final=False)


def _keras_loader(model: Any, **options: Any) -> Graph:
    from .frontends.keras import load_keras

    return load_keras(model, **options)


def _torch_loader(model: Any, **options: Any) -> Graph:
    from .frontends.torch import from_torch

    return from_torch(model, options.pop("input_shape", None), **options)


def _is_keras_file(path: Path) -> bool:
    """Keras JSON (``model.to_json()``) names its model class near the start; HDF5 and
    ``.keras`` files are Keras's whenever they reach this frontend."""
    if path.suffix.lower() != ".json":
        return True
    try:
        with open(path, "rb") as f:
            return b'"class_name"' in f.read(4096)
    except OSError:
        return False


def _instance_of(module: str, attr_path: str) -> Callable[[Any], bool]:
    """Is the object an instance of ``module.attr_path``? Only if that module is already
    imported (a live object of the framework implies it), so nothing is imported here."""

    def check(obj: Any) -> bool:
        cls: Any = sys.modules.get(module)
        for part in attr_path.split("."):
            cls = getattr(cls, part, None)
        return isinstance(cls, type) and isinstance(obj, cls)

    return check


FRONTENDS: list[Frontend] = [
    Frontend("onnx", (".onnx",), ("onnx",), _onnx_loader),
    Frontend("hlsforge-ir", (".json",), (), _ir_loader),
    Frontend("keras", (".keras", ".h5", ".hdf5", ".json"), ("keras", "tf_keras"), _keras_loader, _instance_of("keras", "Model"),
             _is_keras_file),
    Frontend("torch", (), ("torch",), _torch_loader, _instance_of("torch", "nn.Module")),
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


_PICKLED_SKLEARN = ("hlsforge does not unpickle files (unpickling runs the file's code): load the estimator "
                    "in Python yourself and pass it, e.g. hlsforge.load(joblib.load(path)), or save an XGBoost "
                    "(.json/.ubj) or LightGBM (.txt) model file")
_PICKLE_HINTS = {
    ".pkl": _PICKLED_SKLEARN, ".pickle": _PICKLED_SKLEARN, ".joblib": _PICKLED_SKLEARN,
    ".pt": "PyTorch files are pickles: load the module in Python and pass it, "
           "hlsforge.load(module, input_shape=...), or export it with torch.onnx.export and load the .onnx file",
}
_PICKLE_HINTS[".pth"] = _PICKLE_HINTS[".pt"]


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
            if suffix in fe.suffixes and fe.name != "hlsforge-ir" and (fe.sniff is None or fe.sniff(path)):
                return fe.load(path, **options)
        readers = [fe.name for fe in FRONTENDS if suffix in fe.suffixes]
        if readers:
            raise ModelFormatError(
                f"{str(path)!r} is not a model that the {', '.join(readers)} frontend(s) recognise (a Keras "
                "architecture JSON comes from model.to_json(); an hlsforge IR JSON from hlsforge.ir.serialize)"
            )
        known = sorted({s for fe in FRONTENDS for s in fe.suffixes})
        hint = _PICKLE_HINTS.get(suffix, "")
        raise ModelFormatError(f"cannot tell the format of {str(path)!r} from its suffix; known: {', '.join(known)}"
                               + (f". {hint}" if hint else ""))
    module = type(model).__module__.split(".")[0]
    for fe in FRONTENDS:
        if module in fe.modules or (fe.accepts is not None and fe.accepts(model)):
            return fe.load(model, **options)
    known = sorted({m for fe in FRONTENDS for m in fe.modules})
    raise ModelFormatError(
        f"cannot load a {type(model).__module__}.{type(model).__name__}: pass a model file path or a live "
        f"model from one of: {', '.join(known)}"
    )


def _register_tree_frontends() -> None:
    """Tree models (issue 11): ONNX-ML before the ONNX frontend, the others after the networks."""
    from .frontends.trees import frontends

    first, last = frontends()
    for fe in reversed(first):
        register_frontend(fe, first=True)
    for fe in last:
        register_frontend(fe)


_register_tree_frontends()
