"""Reading an ONNX model and checking its structure before anything is translated.

Every problem with the file itself (unreadable bytes, a truncated protobuf, a missing graph or
opset, a name that nothing defines, a cycle) is a ``ModelFormatError`` that says what is wrong;
an opset outside the supported range is an ``UnsupportedOpError`` with the way out.
"""

from __future__ import annotations

import heapq
import os
from pathlib import Path
from typing import Any

import onnx
from google.protobuf.message import DecodeError

from ...errors import ModelFormatError, UnsupportedOpError

MIN_OPSET = 7
_READ_ERRORS = (DecodeError, ValueError, RuntimeError, OSError, EOFError, TypeError, UnicodeDecodeError)


def read_model(model: Any) -> tuple[onnx.ModelProto, str]:
    """A ``ModelProto`` from a path, bytes or a ``ModelProto``; plus a name for messages."""
    if isinstance(model, onnx.ModelProto):
        return model, "<ModelProto>"
    if isinstance(model, (bytes, bytearray)):
        return _parse(bytes(model), "<bytes>"), "<bytes>"
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ModelFormatError(f"cannot read ONNX model {str(path)!r}: {e.strerror or e}") from None
        proto = _parse(data, str(path))
        _load_external_data(proto, path)
        return proto, str(path)
    raise ModelFormatError(f"expected an ONNX file path, bytes or onnx.ModelProto, got {type(model).__name__}")


def _parse(data: bytes, source: str) -> onnx.ModelProto:
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except _READ_ERRORS as e:
        raise ModelFormatError(
            f"{source} is not a readable ONNX model (protobuf decoding failed: {e}); "
            "the file may be truncated or not an ONNX file"
        ) from None
    return proto


def _load_external_data(proto: onnx.ModelProto, path: Path) -> None:
    from onnx.external_data_helper import load_external_data_for_model, uses_external_data

    if not any(uses_external_data(t) for t in proto.graph.initializer):
        return
    try:
        load_external_data_for_model(proto, str(path.parent))
    except Exception as e:  # noqa: BLE001 - onnx raises OSError/ValueError/checker errors here
        raise ModelFormatError(f"{path}: cannot load the external weight data ({type(e).__name__}: {e})") from None


CONVERT_TO_OPSET = 13  # where models older than MIN_OPSET are upgraded to


def default_opset(proto: onnx.ModelProto, source: str) -> int:
    """The model's opset of the default ONNX domain, checked against the supported range."""
    versions = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise ModelFormatError(f"{source} declares no opset for the default ONNX domain (not an ONNX model, or truncated)")
    opset = int(versions[0])
    newest = onnx.defs.onnx_opset_version()
    if opset < MIN_OPSET:
        raise UnsupportedOpError(
            f"{source} uses opset {opset}; hlsforge reads opsets {MIN_OPSET} to {newest}. Convert it first: "
            f"onnx.version_converter.convert_version(model, {CONVERT_TO_OPSET})"
        )
    if opset > newest:
        raise UnsupportedOpError(
            f"{source} uses opset {opset}, newer than the installed onnx knows ({newest}); upgrade the onnx package"
        )
    return opset


def upgrade_old_opset(proto: onnx.ModelProto, source: str) -> tuple[onnx.ModelProto, str | None]:
    """Models older than :data:`MIN_OPSET` converted with ``onnx.version_converter``.

    Old exporters (opsets 1-6) are still around; ONNX's own converter rewrites their nodes
    to opset :data:`CONVERT_TO_OPSET` exactly (it is the tool the error message used to
    recommend). Returns the model to import and a note for ``inspect`` (``None`` when the
    model was already new enough). A model the converter cannot handle keeps the
    ``UnsupportedOpError`` that names its opset.
    """
    versions = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not versions or int(versions[0]) >= MIN_OPSET:
        return proto, None
    old = int(versions[0])
    from onnx import helper, version_converter

    # the converter wants every initializer listed as a graph input (IR version < 4 style)
    proto = onnx.ModelProto.FromString(proto.SerializeToString())  # never edit the caller's model
    listed = {vi.name for vi in proto.graph.input}
    missing = [t for t in proto.graph.initializer if t.name not in listed]
    proto.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in missing)
    # its adapters (e.g. Gemm's broadcast) need static dims: convert with symbolic axes set to 1,
    # then give the inputs back their declared shapes (the adapters only rewrite nodes)
    declared = {vi.name: onnx.ValueInfoProto.FromString(vi.SerializeToString()) for vi in proto.graph.input}
    for vi in proto.graph.input:
        for d in vi.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.dim_value = 1
    try:
        converted = version_converter.convert_version(proto, CONVERT_TO_OPSET)
    except Exception as e:  # noqa: BLE001 - the converter raises RuntimeError/ValueError/C++ errors
        raise UnsupportedOpError(
            f"{source} uses opset {old}; hlsforge reads opsets {MIN_OPSET} to {onnx.defs.onnx_opset_version()} and "
            f"onnx.version_converter could not convert it to opset {CONVERT_TO_OPSET} ({type(e).__name__}: {e})"
        ) from None
    for vi in converted.graph.input:
        if vi.name in declared:
            vi.CopyFrom(declared[vi.name])
    del converted.graph.value_info[:]  # inferred with the placeholder batch
    note = f"converted from ONNX opset {old} to opset {CONVERT_TO_OPSET} with onnx.version_converter"
    return converted, note


def domain_opsets(proto: onnx.ModelProto, source: str) -> dict[str, int]:
    """Opset versions the model imports for domains other than the default one.

    Custom domains (e.g. QONNX's ``qonnx.custom_op.general``) are read as declared; a domain
    imported twice with different versions is a malformed model.
    """
    out: dict[str, int] = {}
    for o in proto.opset_import:
        if o.domain in ("", "ai.onnx"):
            continue
        if o.domain in out and out[o.domain] != int(o.version):
            raise ModelFormatError(f"{source} imports domain {o.domain!r} twice, as opsets {out[o.domain]} and {o.version}")
        out[o.domain] = int(o.version)
    return out


def sorted_nodes(graph: onnx.GraphProto, source: str) -> list[onnx.NodeProto]:
    """The nodes in a topological order, after checking that every name is defined once.

    Keeps the file's order where it is already valid (exporters write nodes in order).
    """
    _check_names(graph, source)
    defined: dict[str, str] = {}
    for t in graph.initializer:
        if t.name in defined:
            raise ModelFormatError(f"{source}: initializer {t.name!r} is defined twice")
        defined[t.name] = "initializer"
    for vi in graph.input:
        defined.setdefault(vi.name, "graph input")
    producer: dict[str, int] = {}
    for i, node in enumerate(graph.node):
        for out in node.output:
            if not out:
                continue
            if out in producer or out in defined:
                raise ModelFormatError(f"{source}: tensor {out!r} (output of node {_label(node)}) is defined twice")
            producer[out] = i
    for node in graph.node:
        for name in node.input:
            if name and name not in defined and name not in producer:
                raise ModelFormatError(
                    f"{source}: node {_label(node)} reads {name!r}, which is neither a graph input, an "
                    "initializer nor the output of any node (missing initializer or dangling name)"
                )
    for vi in graph.output:
        if vi.name not in defined and vi.name not in producer:
            raise ModelFormatError(f"{source}: graph output {vi.name!r} is not produced by any node")
    # Kahn's algorithm, taking the lowest-index ready node first
    deps = [{producer[n] for n in node.input if n in producer} for node in graph.node]
    users: dict[int, list[int]] = {i: [] for i in range(len(graph.node))}
    for i, d in enumerate(deps):
        for j in d:
            users[j].append(i)
    waiting = [len(d) for d in deps]
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(graph.node):
        stuck = [_label(graph.node[i]) for i in range(len(graph.node)) if waiting[i] > 0]
        raise ModelFormatError(f"{source}: the graph has a cycle through nodes {', '.join(stuck[:5])}")
    return [graph.node[i] for i in order]


def _check_names(graph: onnx.GraphProto, source: str) -> None:
    """Names must be text: protobuf hands out bytes for strings that are not valid UTF-8."""
    names: list[object] = [graph.name]
    names += [t.name for t in graph.initializer] + [v.name for v in graph.input] + [v.name for v in graph.output]
    for node in graph.node:
        names += [node.name, node.op_type, node.domain, *node.input, *node.output]
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise ModelFormatError(f"{source}: names are not valid UTF-8 text, e.g. {bad[0]!r} (corrupted file?)")


def _label(node: onnx.NodeProto) -> str:
    return f"{node.name or (node.output[0] if node.output else '?')!r} ({node.op_type})"
