"""Native Keras 3 ``.keras`` archives read with ``zipfile`` and ``h5py`` — no Keras, no backend.

Why: ``pip install 'hlsforge[all]'`` must load every ``.keras`` file without TensorFlow,
PyTorch or JAX, and a QKeras-v3 (or other custom-layer) archive must not depend on that
package's deserializer. A ``.keras`` file is a zip holding ``config.json`` (the same model
config ``model.get_config()`` gives, with ``class_name`` at the top) and ``model.weights.h5``
(Keras 3's weights layout: ``layers/<key>/vars/<i>``, the layer's name in the ``vars`` group's
``name`` attribute), both read here and handed to the same builder as every other Keras source.

Memory is bounded before anything is decompressed: the archive's declared sizes and compression
ratios are checked against :data:`MAX_MEMBER_BYTES`, :data:`MAX_CONFIG_BYTES` and
:data:`MAX_RATIO` (a zip bomb is a ``ModelFormatError``, not a ``MemoryError``), and each member
is read in chunks no further than its declared size.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import ModelFormatError
from ...ir.graph import Graph

MAX_CONFIG_BYTES = 64 * 2**20
"""Largest ``config.json``/``metadata.json`` accepted (uncompressed)."""

MAX_MEMBER_BYTES = 2 * 2**30
"""Largest ``model.weights.h5`` accepted (uncompressed): 2 GiB, far above any FPGA model."""

MAX_RATIO = 200
"""Largest compression ratio accepted for a member above :data:`RATIO_FLOOR` bytes. Keras
stores its members uncompressed (ratio 1); float weights deflate by 1.1–3×."""

RATIO_FLOOR = 1 * 2**20

_CHUNK = 1 << 20


def _check_member(info: zipfile.ZipInfo, limit: int, where: str) -> None:
    size, packed = int(info.file_size), int(info.compress_size)
    if size > limit:
        raise ModelFormatError(
            f"{where}: member {info.filename!r} declares {size} bytes uncompressed, more than the "
            f"{limit} hlsforge reads (hlsforge.frontends.keras.archive limits); is this a zip bomb?"
        )
    if size > RATIO_FLOOR and size > MAX_RATIO * max(packed, 1):
        raise ModelFormatError(
            f"{where}: member {info.filename!r} expands {size / max(packed, 1):.0f}× "
            f"({packed} → {size} bytes), above the {MAX_RATIO}× a model archive has; refusing a "
            "possible zip bomb"
        )


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
    """Read one member, never more than its (already checked) declared size."""
    buf = bytearray()
    try:
        with z.open(info) as f:
            while True:
                chunk = f.read(min(_CHUNK, info.file_size + 1 - len(buf)))
                if not chunk:
                    break
                buf += chunk
                if len(buf) > info.file_size:
                    raise ModelFormatError(f"{where}: member {info.filename!r} is longer than it declares")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        raise ModelFormatError(f"{where}: cannot read {info.filename!r} from the archive: {e}") from None
    except RuntimeError as e:  # encrypted members
        raise ModelFormatError(f"{where}: cannot read {info.filename!r}: {e}") from None
    return bytes(buf)


def read_archive(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """``(config, metadata, weights_h5_bytes)`` of a ``.keras`` file, with bounded memory."""
    where = repr(str(path))
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ModelFormatError(
            f"{where} is not a Keras 3 .keras archive (a zip file): {e}; Keras 2 models are .h5 files"
        ) from None
    with z:
        try:
            infos = {i.filename: i for i in z.infolist()}
        except (zipfile.BadZipFile, ValueError) as e:  # pragma: no cover - ZipFile reads the directory
            raise ModelFormatError(f"{where}: damaged zip directory: {e}") from None
        if "config.json" not in infos:
            raise ModelFormatError(
                f"{where} has no config.json: not a Keras 3 .keras archive (members: {sorted(infos)[:10]})"
            )
        for name in ("config.json", "metadata.json"):
            if name in infos:
                _check_member(infos[name], MAX_CONFIG_BYTES, where)
        weights_info = infos.get("model.weights.h5")
        if weights_info is None:
            extra = " (weights saved as .npz are not supported)" if "model.weights.npz" in infos else ""
            raise ModelFormatError(f"{where} has no model.weights.h5{extra}")
        _check_member(weights_info, MAX_MEMBER_BYTES, where)
        config = _json(_read_member(z, infos["config.json"], where), f"{where}: config.json")
        metadata = (
            _json(_read_member(z, infos["metadata.json"], where), f"{where}: metadata.json")
            if "metadata.json" in infos else {}
        )
        weights = _read_member(z, weights_info, where)
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ModelFormatError(f"{where}: config.json is not a Keras model config (no class_name/config)")
    return config, metadata if isinstance(metadata, dict) else {}, weights


def _json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data.decode("utf8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFormatError(f"{where} is not valid JSON: {e}") from None
    except RecursionError:
        raise ModelFormatError(f"{where} is nested too deeply to be a Keras config") from None


def load_keras_archive(path: str | os.PathLike[str], *, input_shape: Any = None) -> Graph:
    """A ``.keras`` file → IR graph, without importing Keras or any backend."""
    from .legacy import _build, weights_from_h5

    config, metadata, weights = read_archive(path)
    _refuse_unsupported_packages(config, str(path))
    if _uses_hlsforge_qat(config):
        return _load_qat_archive(path, input_shape)
    source, _ = weights_from_h5(io.BytesIO(weights), f"{str(path)!r}: model.weights.h5")
    version = metadata.get("keras_version") or "3"
    return _build(config, source, version, "keras", input_shape)


_UNSUPPORTED_PACKAGES: dict[str, str] = {}
"""Packages whose layers are refused by module (HGQ2 layers are read: ``hgq2.py``)."""


def _layer_objects(config: Any) -> Iterator[dict[str, Any]]:
    """Every serialized object (``{"class_name", "module", "config"}``) in a model config."""
    stack = [config]
    while stack:
        obj = stack.pop()
        if isinstance(obj, dict):
            if isinstance(obj.get("module"), str) and "class_name" in obj:
                yield obj
            stack.extend(v for v in obj.values() if isinstance(v, (dict, list)))
        elif isinstance(obj, list):
            stack.extend(v for v in obj if isinstance(v, (dict, list)))


def _refuse_unsupported_packages(config: Any, where: str) -> None:
    """Layers whose class names collide with supported ones (HGQ2's ``QDense`` is not
    QKeras's) are refused by their module before any converter can misread them; an HGQ2
    layer is read as HGQ2 by its quantizer configs, so one without them is refused too."""
    for obj in _layer_objects(config):
        top = obj["module"].split(".")[0]
        if top == "hgq" and (obj["module"].startswith("hgq.layers") or obj.get("class_name") == "Quantizer"):
            _check_hgq2_layer(obj, where)
        if top in _UNSUPPORTED_PACKAGES:
            from ...errors import UnsupportedOpError

            name = (obj.get("config") or {}).get("name", obj.get("class_name"))
            raise UnsupportedOpError(
                f"{where!r}: layer {name!r} ({obj.get('class_name')} from {obj['module']}): "
                f"{_UNSUPPORTED_PACKAGES[top]}"
            )


def _check_hgq2_layer(obj: dict[str, Any], where: str) -> None:
    from .hgq2 import is_hgq2_config

    raw = obj.get("config")
    cfg: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if not is_hgq2_config(cfg):
        raise ModelFormatError(
            f"{where!r}: layer {cfg.get('name', obj.get('class_name'))!r} ({obj.get('class_name')} from "
            f"{obj['module']}) is an HGQ2 layer without its quantizer configs; refusing to read it as another "
            "framework's layer of the same name"
        )


def _uses_hlsforge_qat(config: Any) -> bool:
    return any(obj["module"].startswith("hlsforge.qat") for obj in _layer_objects(config))


def _load_qat_archive(path: str | os.PathLike[str], input_shape: Any) -> Graph:
    """A model of ``hlsforge.qat`` layers: its archive stores the quantizers' variables by
    position only, so it is loaded by Keras (which ``hlsforge.qat`` needs anyway) and read
    like a live model, where every variable has its name."""
    try:
        import keras

        from ... import qat  # noqa: F401  (registers the layers with Keras' deserializer)
    except ImportError:
        raise ModelFormatError(
            f"{str(path)!r} is built from hlsforge.qat layers; loading it needs Keras: "
            "pip install 'hlsforge[train]'"
        ) from None
    from .live import from_keras

    try:
        model = keras.saving.load_model(path)
    except Exception as e:  # Keras raises many types for a damaged archive
        raise ModelFormatError(f"{str(path)!r}: Keras could not load this hlsforge.qat model: {e}") from None
    return from_keras(model, input_shape=input_shape)


def is_keras_archive(path: Path) -> bool:
    """Cheap check used by the loader: a zip file (``PK`` magic)."""
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"PK"
    except OSError:
        return False
