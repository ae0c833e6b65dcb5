"""Saved Keras models read with ``json`` and ``h5py`` only — TensorFlow and Keras are never
imported, so a Keras 2 (or QKeras) model from years ago loads without its framework.

Two layouts are understood:

- architecture JSON (``model.to_json()``: ``class_name``/``config``/``keras_version``) plus a
  weights HDF5 file (``model.save_weights("w.h5")``: one group per layer, its
  ``weight_names`` attribute listing dataset paths such as ``dense/kernel:0``);
- a full-model HDF5 file (``model.save("m.h5")``): the same JSON in the ``model_config``
  attribute and the weights under the ``model_weights`` group.

Keras 3 writes the same legacy HDF5 layout (weight names without ``:0``), so those files load
here too. Keras 3's own weights format (``model.save_weights("m.weights.h5")``: groups
``layers/<class>/vars/<i>`` whose ``vars`` carry the layer name) is read as well; its
variables are unnamed, so they are named by each layer class's creation order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ModelFormatError, ShapeError
from ...ir.graph import Graph
from ...ir.limits import check_shape
from .builder import Builder, keras_major_of
from .layers import CONVERTERS

WeightTable = dict[str, list[tuple[str, np.ndarray]]]


class H5Weights:
    """Weights of one layer from a legacy HDF5 table; nested models filter by layer name."""

    def __init__(self, table: WeightTable, layer: str | None = None, path: tuple[str, ...] = ()) -> None:
        self._table = table
        self._layer = layer
        self._path = path

    def child(self, name: str) -> H5Weights:
        if self._layer is None:
            return H5Weights(self._table, name)
        return H5Weights(self._table, self._layer, self._path + (name,))

    def arrays(self) -> dict[str, np.ndarray]:
        if self._layer is None:
            return {}
        out: dict[str, np.ndarray] = {}
        want = self._path[-1] if self._path else None
        # Bidirectional's halves are stored under the wrapped layer's name with a prefix
        # (``bidirectional/forward_gru/gru_cell/kernel``), not under "forward_layer"
        prefix = {"forward_layer": "forward_", "backward_layer": "backward_"}.get(want or "")
        for wname, data in self._table.get(self._layer, []):
            parts = wname.split("/")
            if want is not None and not any(d == want or (prefix and d.startswith(prefix)) for d in parts[:-1]):
                continue
            out.setdefault(parts[-1].split(":")[0], data)
        return out


class Keras3Weights:
    """Weights from a Keras 3 ``.weights.h5`` tree: positional variables keyed "0", "1", ..."""

    def __init__(self, tree: dict[str, Any]) -> None:
        self._tree = tree

    def child(self, name: str) -> Keras3Weights:
        layers = self._tree.get("layers", {})
        if name not in layers:
            raise ModelFormatError(f"the Keras 3 weights file has no layer {name!r} (it has {sorted(layers)})")
        return Keras3Weights(layers[name])

    def arrays(self) -> dict[str, np.ndarray]:
        return {str(i): a for i, a in enumerate(self._tree.get("vars", []))}


#: Nesting of JSON a model file may have; Keras models nest a few levels per nested model.
MAX_JSON_DEPTH = 200
#: Nesting of Keras 3 weight groups (``layers/<name>/layers/...``).
MAX_GROUP_DEPTH = 64


def read_dataset(ds: Any, where: str) -> np.ndarray:
    """One weight array, checked *before* reading: numeric, and within the IR's size limit
    (a dataset can declare 2**40 elements that compress to nothing)."""
    h5py = _h5py()
    if not isinstance(ds, h5py.Dataset):
        raise ModelFormatError(f"{where} is not an HDF5 dataset (it is a {type(ds).__name__})")
    kind = ds.dtype.kind
    if kind not in "fiub":
        raise ModelFormatError(
            f"{where} holds {ds.dtype} data ({'text' if kind in 'SUO' else 'not numbers'}); Keras weights are numeric arrays"
        )
    try:
        check_shape(ds.shape or (), where)
        return np.asarray(ds[()])
    except ShapeError as e:
        raise ModelFormatError(str(e)) from None
    except (OSError, ValueError, TypeError, RuntimeError) as e:
        raise ModelFormatError(f"{where} cannot be read: {e}") from None


def _read_keras3_tree(group: Any, depth: int = 0) -> dict[str, Any]:
    """``{"vars": [arrays], "layers": {layer name: subtree}}`` from a Keras 3 weights group."""
    if depth > MAX_GROUP_DEPTH:
        raise ModelFormatError(f"the weight groups nest deeper than {MAX_GROUP_DEPTH} levels at {group.name!r}")
    tree: dict[str, Any] = {"vars": [], "layers": {}}
    if "vars" in group:
        v = group["vars"]
        keys = [k for k in v if str(k).isdigit()]  # numbered variables; other entries are not weights
        tree["vars"] = [read_dataset(v[k], f"weight {v[k].name!r}") for k in sorted(keys, key=int)]
    if "layers" in group:
        for key in group["layers"]:
            sub = group["layers"][key]
            name = _decode(sub["vars"].attrs.get("name", key)) if "vars" in sub else key
            tree["layers"][name] = _read_keras3_tree(sub, depth + 1)
    h5py = _h5py()
    for key in group:  # a layer's own sublayers (MultiHeadAttention's query_dense, ...)
        if key not in ("vars", "layers") and key not in tree["layers"] and isinstance(group[key], h5py.Group):
            tree["layers"][str(key)] = _read_keras3_tree(group[key], depth + 1)
    return tree


def _decode(v: Any) -> str:
    return v.decode("utf8") if isinstance(v, bytes) else str(v)


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise ModelFormatError("reading Keras HDF5 files needs h5py: pip install h5py") from None
    return h5py


def read_weight_table(path: str | os.PathLike[str]) -> tuple[WeightTable, dict[str, Any]]:
    """All weight arrays of a legacy Keras HDF5 file, by layer, plus the root attributes."""
    try:
        return _read_weight_table(path)
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError) as e:
        raise ModelFormatError(f"{str(path)!r} is not a readable Keras HDF5 file: {type(e).__name__}: {e}") from None


def _read_weight_table(path: str | os.PathLike[str]) -> tuple[WeightTable, dict[str, Any]]:
    h5py = _h5py()
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ModelFormatError(f"cannot open {str(path)!r} as HDF5: {e}") from None
    with f:
        attrs = {k: f.attrs[k] for k in f.attrs}
        root = f["model_weights"] if "model_weights" in f else f
        layer_names = root.attrs.get("layer_names")
        names = [_decode(n) for n in layer_names] if layer_names is not None else [k for k in root if isinstance(root[k], h5py.Group)]
        table: WeightTable = {}
        for lname in names:
            if lname not in root:
                continue
            g = root[lname]
            wnames = g.attrs.get("weight_names")
            entries = []
            if wnames is not None:
                for wn in (_decode(w) for w in wnames):
                    if wn not in g:
                        raise ModelFormatError(f"{str(path)!r}: layer {lname!r} lists weight {wn!r} but has no such dataset")
                    entries.append((wn, read_dataset(g[wn], f"{str(path)!r}: weight {wn!r} of layer {lname!r}")))
            table[lname] = entries
        if not table and "model_config" not in attrs:
            raise ModelFormatError(
                f"{str(path)!r} holds no Keras weights (no 'model_weights' group or per-layer groups "
                "with 'weight_names'); is it a Keras weights file?"
            )
    return table, attrs


def json_depth_ok(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the brackets of ``text`` nest at most ``limit`` deep (strings skipped) — checked
    before ``json.loads``, which would recurse until ``RecursionError``."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _parse_model_json(text: str, where: str) -> dict[str, Any]:
    if not json_depth_ok(text):
        raise ModelFormatError(f"{where} nests deeper than {MAX_JSON_DEPTH} levels; no Keras model does")
    try:
        spec = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ModelFormatError(f"{where} is not valid JSON: {e}") from None
    if not isinstance(spec, dict) or "class_name" not in spec or "config" not in spec:
        raise ModelFormatError(
            f"{where} is not a Keras model architecture (expected the output of model.to_json(): an object "
            "with 'class_name' and 'config')"
        )
    return spec


def _weights_source(path: str | os.PathLike[str]) -> tuple[H5Weights | Keras3Weights, Any]:
    """The weight source of an HDF5 file in either layout, and the Keras version it records."""
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            keras3 = "layers" in f and "layer_names" not in f.attrs and "model_weights" not in f
            tree = _read_keras3_tree(f) if keras3 else None
    except OSError as e:
        raise ModelFormatError(f"cannot open {str(path)!r} as HDF5: {e}") from None
    except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as e:
        raise ModelFormatError(f"{str(path)!r} is not a readable Keras weights file: {type(e).__name__}: {e}") from None
    if tree is not None:
        return Keras3Weights(tree), "3"
    table, attrs = read_weight_table(path)
    return H5Weights(table), attrs.get("keras_version")


def weights_from_h5(fileobj: Any, where: str) -> tuple[H5Weights | Keras3Weights, Any]:
    """Weights from an in-memory HDF5 file (a ``.keras`` archive's ``model.weights.h5``)."""
    h5py = _h5py()
    try:
        with h5py.File(fileobj, "r") as f:
            if "layers" in f and "layer_names" not in f.attrs and "model_weights" not in f:
                return Keras3Weights(_read_keras3_tree(f)), "3"
    except OSError as e:
        raise ModelFormatError(f"{where} is not a readable HDF5 file: {e}") from None
    fileobj.seek(0)
    table, attrs = read_weight_table(fileobj)
    return H5Weights(table), attrs.get("keras_version")


def _build(
    spec: dict[str, Any], weights: H5Weights | Keras3Weights, version: Any, source: str, input_shape: Any
) -> Graph:
    class_name = spec["class_name"]
    if class_name not in ("Sequential", "Functional", "Model"):
        raise ModelFormatError(f"the Keras JSON describes a {class_name!r}, expected a Sequential or functional Model")
    config = spec["config"]
    major = keras_major_of(version or spec.get("keras_version"), config)
    name = config.get("name", "keras_model") if isinstance(config, dict) else "keras_model"
    builder = Builder(name, CONVERTERS, keras_major=major, source_format=source, input_shapes=input_shape)
    try:
        return builder.build_top(class_name, config, weights)
    except RecursionError:
        raise ModelFormatError(f"the Keras model {name!r} nests models too deeply to read") from None


def load_json(
    path: str | os.PathLike[str], weights: str | os.PathLike[str] | None, *, input_shape: Any = None
) -> Graph:
    """Keras architecture JSON + weights HDF5 → IR graph (no Keras/TensorFlow import)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf8")
    except UnicodeDecodeError as e:
        raise ModelFormatError(f"{str(p)!r} is not a Keras architecture JSON (not UTF-8 text: {e})") from None
    spec = _parse_model_json(text, repr(str(p)))
    if weights is None:
        weights = sibling_weights(p)
    if weights is None:
        raise ModelFormatError(
            f"{str(p)!r} is a Keras architecture without weights, and no "
            f"{' or '.join(sibling_weight_names(p))} lies beside it: pass the weights file, e.g. "
            f"hlsforge.load({p.name!r}, weights='model_weights.h5')"
        )
    if not Path(weights).exists():
        raise ModelFormatError(f"weights file {str(weights)!r} does not exist")
    if Path(weights).is_dir():
        raise ModelFormatError(f"weights file {str(weights)!r} is a directory")
    source, version = _weights_source(weights)
    graph = _build(spec, source, spec.get("keras_version") or version, "keras-json", input_shape)
    graph.metadata["weights_file"] = str(weights)
    return graph


def sibling_weight_names(path: Path) -> list[str]:
    """Where ``model.save_weights`` output is looked for beside an architecture JSON."""
    return [f"{path.stem}_weights.h5", f"{path.stem}.weights.h5", f"{path.stem}_weights.hdf5"]


def sibling_weights(path: Path) -> Path | None:
    """The weights file beside ``path`` (``<name>_weights.h5``, ...), if exactly one exists."""
    for name in sibling_weight_names(path):
        candidate = path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def load_h5(path: str | os.PathLike[str], *, input_shape: Any = None) -> Graph:
    """A full-model legacy HDF5 file (``model.save('m.h5')``) → IR graph, without Keras."""
    table, attrs = read_weight_table(path)
    cfg = attrs.get("model_config")
    if cfg is None:
        raise ModelFormatError(
            f"{str(path)!r} holds weights only (no 'model_config'): load it with its architecture JSON, "
            f"e.g. hlsforge.load('model.json', weights={Path(path).name!r})"
        )
    if not isinstance(cfg, (str, bytes)):
        raise ModelFormatError(f"the model_config of {str(path)!r} is not text (it is {type(cfg).__name__})")
    try:
        text = _decode(cfg)
    except UnicodeDecodeError as e:
        raise ModelFormatError(f"the model_config of {str(path)!r} is not UTF-8 text: {e}") from None
    spec = _parse_model_json(text, f"the model_config of {str(path)!r}")
    return _build(spec, H5Weights(table), attrs.get("keras_version"), "keras-h5", input_shape)
