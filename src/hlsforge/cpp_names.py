"""Model names are data, never code: the one rule that turns a name into a C++ identifier.

Both backends pass every model-derived name through :func:`sanitize`; each adds only its own
reserved words (what its generated code already uses) on top.
"""

from __future__ import annotations

import re

CPP_KEYWORDS = frozenset(
    """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
    char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
    co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
    extern false float for friend goto if inline int long mutable namespace new noexcept not
    not_eq nullptr operator or or_eq private protected public register reinterpret_cast requires
    return short signed sizeof static static_assert static_cast struct switch template this
    thread_local throw true try typedef typeid typename union unsigned using virtual void volatile
    wchar_t while xor xor_eq final override import module""".split()
)

MAX_IDENT = 48
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def sanitize(name: str, *, fallback: str = "x") -> str:
    """A valid C++ identifier derived from ``name`` (not yet unique, keywords not checked).

    Runs of characters outside ``[A-Za-z0-9]`` become one ``_`` (so never ``__``, which C++
    reserves), leading/trailing ``_`` are dropped, a leading digit gets ``fallback_`` in front,
    and the result is at most ``MAX_IDENT`` characters.
    """
    text = _NOT_ALNUM.sub("_", str(name)).strip("_")
    if not text:
        text = fallback
    if text[0].isdigit():
        text = f"{fallback}_{text}"
    return text[:MAX_IDENT].rstrip("_")


_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories escaped by :func:`printable`: control and format characters (NUL, ESC,
bidirectional overrides, zero-width joiners), surrogates, line and paragraph separators."""


def printable(text: str, *, keep: str = "") -> str:
    """``text`` with every invisible or control character (categories in ``_INVISIBLE``, except
    those in ``keep``) written as ``\\xNN`` / ``\\uNNNN`` / ``\\UNNNNNNNN``; identity for ordinary
    names.

    Why: names come from model files. A NUL ends a C string (the C++ side cut names and error
    messages at it), ESC sequences repaint terminals, bidirectional overrides make text read
    differently from what it is. Names that reach generated code as strings, weight files and
    error messages go through this, so every engine sees the same, whole, visible name.
    """
    import unicodedata

    if text.isprintable():
        return text  # fast path: str.isprintable is False for every character of _INVISIBLE
    out = []
    for ch in text:
        if ch in keep or unicodedata.category(ch) not in _INVISIBLE:
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)
