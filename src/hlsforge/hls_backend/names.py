"""Model names are data, never code: turn them into valid, unique C++ identifiers.

A layer called ``x"); system("rm`` or ``class`` or ``3d-conv`` must become an ordinary
identifier. Identifiers keep only ``[A-Za-z0-9_]``, never start with a digit or an
underscore, never contain ``__`` (reserved in C++), never collide with a keyword or with a
name already handed out in the same scope.
"""

from __future__ import annotations

from ..cpp_names import CPP_KEYWORDS
from ..cpp_names import sanitize as _sanitize

# Besides the language's keywords, names the generated code and its headers already use.
RESERVED = CPP_KEYWORDS | frozenset("main std hls hlsforge ap_fixed ap_ufixed ap_int ap_uint".split())


def sanitize(name: str, *, fallback: str = "x") -> str:
    """A valid C++ identifier derived from ``name`` (not yet made unique), never a reserved word."""
    s = _sanitize(name, fallback=fallback)
    if s.lower() in RESERVED:
        s = f"{s}_v"
    return s


class NameScope:
    """Hands out unique identifiers within one C++ scope (case-sensitive)."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset()) -> None:
        self._taken: set[str] = set(reserved)

    def reserve(self, ident: str) -> None:
        self._taken.add(ident)

    def take(self, name: str, *, fallback: str = "x") -> str:
        """A fresh identifier derived from ``name``."""
        base = sanitize(name, fallback=fallback)
        ident = base
        i = 1
        while ident in self._taken:
            i += 1
            ident = f"{base}_{i}"
        self._taken.add(ident)
        return ident
