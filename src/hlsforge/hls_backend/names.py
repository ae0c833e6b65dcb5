"""Model names are data, never code: turn them into valid, unique C++ identifiers.

A layer called ``x"); system("rm`` or ``class`` or ``3d-conv`` must become an ordinary
identifier. Identifiers keep only ``[A-Za-z0-9_]``, never start with a digit or an
underscore, never contain ``__`` (reserved in C++), never collide with a keyword or with a
name already handed out in the same scope.
"""

from __future__ import annotations

import re

CPP_KEYWORDS = frozenset(
    """
    alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
    char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
    co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
    extern false float for friend goto if inline int long mutable namespace new noexcept not
    not_eq nullptr operator or or_eq private protected public register reinterpret_cast requires
    return short signed sizeof static static_assert static_cast struct switch template this
    thread_local throw true try typedef typeid typename union unsigned using virtual void
    volatile wchar_t while xor xor_eq main std hls hlsforge ap_fixed ap_ufixed ap_int ap_uint
    """.split()
)

_BAD = re.compile(r"[^A-Za-z0-9_]+")
_UNDERSCORES = re.compile(r"_{2,}")
MAX_LEN = 48


def sanitize(name: str, *, fallback: str = "x") -> str:
    """A valid C++ identifier derived from ``name`` (not yet made unique)."""
    s = _BAD.sub("_", str(name))
    s = _UNDERSCORES.sub("_", s).strip("_")
    if not s:
        s = fallback
    if s[0].isdigit():
        s = f"{fallback}_{s}"
    s = s[:MAX_LEN].rstrip("_")
    if s.lower() in CPP_KEYWORDS:
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
