"""Model names are data, never code: turn them into safe C++ identifiers, literals and comments.

Every name that reaches generated C++ passes through one of three functions here:
``Namer.ident`` (a unique, valid, non-reserved identifier), ``cpp_string`` (a string literal
whose every byte outside a small safe set is an octal escape) and ``comment_text`` (text for a
``//`` comment that cannot end the comment, splice the next line or form a trigraph).
"""

from __future__ import annotations

from ..cpp_names import CPP_KEYWORDS, printable
from ..cpp_names import sanitize as _sanitize

# Names a model namespace must not take: they would shadow what the generated code uses.
RESERVED_NAMESPACES = frozenset({"std", "hlsforge_cpu", "detail", "main"})

_SAFE_LITERAL = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,:;/+=()[]{}<>#@!%&*^|~'$")


def sanitize(name: str, *, fallback: str = "v") -> str:
    """The shared identifier rule (``hlsforge.cpp_names.sanitize``) with this backend's fallback."""
    return _sanitize(name, fallback=fallback)


def namespace_name(name: str) -> str:
    """The per-model C++ namespace for a model called ``name``."""
    ns = sanitize(name, fallback="model")
    if ns in CPP_KEYWORDS or ns in RESERVED_NAMESPACES:
        ns = f"{ns}_model"
    return ns


class Namer:
    """Hands out unique identifiers ``<prefix>_<sanitized name>`` within one scope."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self._taken: set[str] = set(taken or ())

    def ident(self, prefix: str, name: str) -> str:
        base = f"{prefix}_{sanitize(name)}" if prefix else sanitize(name)
        if base in CPP_KEYWORDS:
            base = f"{base}_"
        candidate = base
        i = 1
        while candidate in self._taken:
            candidate = f"{base}_{i}"
            i += 1
        self._taken.add(candidate)
        return candidate


def cpp_string(text: str) -> str:
    """A C++ string literal holding the UTF-8 bytes of ``printable(text)`` exactly.

    Control characters are escaped first (``hlsforge.cpp_names.printable``): a NUL inside a
    literal would end the C string the generated code compares and reports (names in the
    weight file go through the same rule, so they still match).

    Bytes outside a conservative safe set (quotes, backslash, ``?``, control and non-ASCII
    bytes) become three-digit octal escapes, which cannot merge with following characters.
    """
    out = []
    for byte in printable(text).encode("utf-8"):
        out.append(chr(byte) if byte in _SAFE_LITERAL else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def comment_text(text: str, limit: int = 80) -> str:
    """``text`` made safe for a ``//`` comment: quoted, with unsafe characters as ``\\xNN``.

    A trailing backslash would splice the next line into the comment; quoting guarantees the
    comment never ends with one, and ``?`` is escaped so no trigraph can form.
    """
    shown = []
    for ch in text[:limit]:
        code = ord(ch)
        if code < 128 and code in _SAFE_LITERAL:
            shown.append(ch)
        else:
            shown.append(f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}" if code < 65536 else f"\\U{code:08x}")
    suffix = "..." if len(text) > limit else ""
    return "'" + "".join(shown).replace("'", "\\x27") + suffix + "'"
