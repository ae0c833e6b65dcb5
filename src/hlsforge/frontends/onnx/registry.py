"""Versioned converters, TVM style: one function per ONNX op and opset range.

``@converter("Clip", 6)`` registers a function used for models whose default-domain opset is
6 or newer, until the next registered version of the same op (``@converter("Clip", 11)``
takes over from opset 11). A converter receives a :class:`NodeContext` and emits IR nodes;
opset quirks stay inside the function for the opsets it serves.
"""

from __future__ import annotations

from collections.abc import Callable

from .context import NodeContext

Converter = Callable[[NodeContext], None]

CONVERTERS: dict[str, list[tuple[int, Converter]]] = {}


def converter(op_type: str, since: int = 1) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        versions = CONVERTERS.setdefault(op_type, [])
        if any(v == since for v, _ in versions):
            raise ValueError(f"two converters for {op_type} since opset {since}")
        versions.append((since, fn))
        versions.sort(key=lambda vf: vf[0])
        return fn

    return register


def lookup(op_type: str, opset: int) -> Converter | None:
    """The converter for ``op_type`` in a model of default-domain ``opset``."""
    chosen = None
    for since, fn in CONVERTERS.get(op_type, []):
        if since <= opset:
            chosen = fn
    return chosen


def supported_ops() -> list[str]:
    return sorted(CONVERTERS)
