"""Save and load a ``Graph`` as JSON (structure) plus ``.npz`` (every array), exactly.

The JSON is the IR itself, readable and diffable: typed records are written as
``{"record": ClassName, ...fields}``, types as their precision strings, and arrays as
``{"array": key}`` references into the ``.npz`` beside it. Round trips are exact (floats are
written with ``repr`` precision by ``json``; arrays keep their dtype).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import zipfile
import zlib
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HlsforgeError, ModelFormatError
from .graph import Graph, Node, Value
from .ops import Op
from .records import RECORDS
from .types import FixedType, FloatType, IntType, parse_type

FORMAT = "hlsforge-ir"
FORMAT_VERSION = 1


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, key: str, arr: np.ndarray) -> dict[str, str]:
        k = key
        i = 1
        while k in self.arrays:
            k = f"{key}#{i}"
            i += 1
        self.arrays[k] = np.asarray(arr)
        return {"array": k}

    def encode(self, obj: Any, key: str) -> Any:
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            if not np.isfinite(obj):
                return {"float": repr(obj)}
            return obj
        if isinstance(obj, (np.integer,)):
            return int(obj)
        if isinstance(obj, np.floating):
            return self.encode(float(obj), key)
        if isinstance(obj, (FloatType, FixedType, IntType)):
            return {"type": str(obj)}
        if isinstance(obj, Enum):
            return obj.value
        if isinstance(obj, np.ndarray):
            return self.array(key, obj)
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            name = type(obj).__name__
            if RECORDS.get(name) is not type(obj):
                raise HlsforgeError(f"cannot save {name}: it is not registered with @ir_record")
            out: dict[str, Any] = {"record": name}
            for f in dataclasses.fields(obj):
                out[f.name] = self.encode(getattr(obj, f.name), f"{key}.{f.name}")
            return out
        if isinstance(obj, (list, tuple)):
            return {"tuple" if isinstance(obj, tuple) else "list": [self.encode(o, f"{key}[{i}]") for i, o in enumerate(obj)]}
        if isinstance(obj, dict):
            if not all(isinstance(k, str) for k in obj):
                raise HlsforgeError(f"cannot save a dict with non-string keys at {key}")
            return {"dict": {k: self.encode(v, f"{key}.{k}") for k, v in obj.items()}}
        raise HlsforgeError(f"cannot save object of type {type(obj).__name__} at {key}")


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def decode(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, dict):
            if "array" in obj:
                return self.arrays[obj["array"]]
            if "float" in obj:
                return float(obj["float"])
            if "type" in obj:
                return parse_type(obj["type"])
            if "tuple" in obj:
                return tuple(self.decode(o) for o in obj["tuple"])
            if "list" in obj:
                return [self.decode(o) for o in obj["list"]]
            if "dict" in obj:
                return {k: self.decode(v) for k, v in obj["dict"].items()}
            if "record" in obj:
                cls = RECORDS.get(obj["record"])
                if cls is None:
                    raise ModelFormatError(f"unknown record type {obj['record']!r}")
                kwargs = {k: self.decode(v) for k, v in obj.items() if k != "record"}
                return _coerce_record(cls, kwargs)
        raise ModelFormatError(f"unreadable IR entry {obj!r}")


def _coerce_record(cls: type, kwargs: dict[str, Any]) -> Any:
    """Rebuild a record, turning enum strings back into enum members."""
    hints = {f.name: f for f in dataclasses.fields(cls)}
    for k, v in kwargs.items():
        f = hints.get(k)
        if f is not None and isinstance(v, str) and isinstance(f.default, Enum):
            kwargs[k] = type(f.default)(v)
    return cls(**kwargs)


def graph_to_dict(graph: Graph) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    enc = _Encoder()
    values = []
    for v in graph.values.values():
        values.append(
            {
                "name": v.name,
                "shape": list(v.shape),
                "type": str(v.type),
                **({"data": enc.array(v.name, v.data)} if v.data is not None else {}),
            }
        )
    nodes = []
    for n in graph.nodes:
        nodes.append(
            {
                "name": n.name,
                "op": n.op.value,
                "inputs": n.inputs,
                "outputs": n.outputs,
                "attrs": enc.encode(n.attrs, f"{n.name}.attrs"),
                "source_name": n.source_name,
                "source_op": n.source_op,
                "precision": {k: str(t) for k, t in n.precision.items()},
                "options": enc.encode(n.options, f"{n.name}.options"),
            }
        )
    doc = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "name": graph.name,
        "source_format": graph.source_format,
        "inputs": graph.inputs,
        "outputs": graph.outputs,
        "input_perm": {k: list(p) for k, p in graph.input_perm.items()},
        "output_perm": {k: list(p) for k, p in graph.output_perm.items()},
        "metadata": enc.encode(graph.metadata, "metadata"),
        "values": values,
        "nodes": nodes,
    }
    return doc, enc.arrays


def graph_from_dict(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> Graph:
    if doc.get("format") != FORMAT:
        raise ModelFormatError(f"not an hlsforge IR file (format {doc.get('format')!r})")
    if doc.get("version") != FORMAT_VERSION:
        raise ModelFormatError(f"IR format version {doc.get('version')} is not supported (expected {FORMAT_VERSION})")
    dec = _Decoder(arrays)
    g = Graph(
        name=doc["name"],
        inputs=list(doc["inputs"]),
        outputs=list(doc["outputs"]),
        input_perm={k: tuple(p) for k, p in doc.get("input_perm", {}).items()},
        output_perm={k: tuple(p) for k, p in doc.get("output_perm", {}).items()},
        source_format=doc.get("source_format", ""),
        metadata=dec.decode(doc.get("metadata", {"dict": {}})),
    )
    for v in doc["values"]:
        t = parse_type(v["type"])
        data = dec.decode(v["data"]) if "data" in v else None
        g.values[v["name"]] = Value(v["name"], tuple(v["shape"]), t if t is not None else FloatType(), data)  # type: ignore[arg-type]
    for n in doc["nodes"]:
        precision = {k: parse_type(t) for k, t in n.get("precision", {}).items()}
        g.nodes.append(
            Node(
                name=n["name"],
                op=Op(n["op"]),
                inputs=list(n["inputs"]),
                outputs=list(n["outputs"]),
                attrs=dec.decode(n["attrs"]),
                source_name=n.get("source_name", ""),
                source_op=n.get("source_op", ""),
                precision={k: t for k, t in precision.items() if t is not None},
                options=dec.decode(n.get("options", {"dict": {}})),
            )
        )
    return g


def _paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix == ".json":
        return p, p.with_suffix(".npz")
    return p.with_name(p.name + ".json"), p.with_name(p.name + ".npz")


def save(graph: Graph, path: str | os.PathLike[str]) -> Path:
    """Write ``path`` (``.json``) and the ``.npz`` beside it. Both appear whole or not at all."""
    json_path, npz_path = _paths(path)
    doc, arrays = graph_to_dict(graph)
    text = json.dumps(doc, indent=1, sort_keys=False) + "\n"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=json_path.parent) as tmp:
        tmp_npz = Path(tmp) / "w.npz"
        np.savez(tmp_npz, **arrays)  # type: ignore[arg-type]
        tmp_json = Path(tmp) / "g.json"
        tmp_json.write_text(text)
        os.replace(tmp_npz, npz_path)
        os.replace(tmp_json, json_path)
    return json_path


def _read_npz(npz_path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz``, each checked before it is read: a numeric dtype, a shape
    within the IR's limits, and a stored size that matches (no decompression bomb)."""
    from .limits import check_shape

    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(npz_path) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            if dtype.hasobject or dtype.kind not in "biufc":
                raise ModelFormatError(f"array {name!r} in {npz_path} holds {dtype} data; IR arrays are numeric")
            try:
                check_shape(shape, f"array {name!r} in {npz_path}")
            except HlsforgeError as e:
                raise ModelFormatError(str(e)) from None
            if info.file_size > int(np.prod(shape, dtype=np.int64)) * dtype.itemsize + 65536:
                raise ModelFormatError(f"array {name!r} in {npz_path} is larger than its header says")
            with zf.open(info) as f:
                arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
    return arrays


def load(path: str | os.PathLike[str]) -> Graph:
    """Read a graph written by :func:`save`."""
    json_path, npz_path = _paths(path)
    try:
        doc = json.loads(Path(json_path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ModelFormatError(f"cannot read IR file {json_path}: {e}") from None
    try:
        arrays = _read_npz(Path(npz_path))
    except FileNotFoundError:
        arrays = {}
    except (OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zlib.error, zipfile.BadZipFile) as e:
        raise ModelFormatError(f"cannot read IR weights {npz_path}: {type(e).__name__}: {e}") from None
    try:
        return graph_from_dict(doc, arrays)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise ModelFormatError(f"malformed IR file {json_path}: {e!r}") from None
