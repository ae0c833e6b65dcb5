"""A tiny indented-text builder for generated C++.

Why: rendering is a pure function from typed records to text; building the text with
``with w.block("for (...)"):`` keeps the structure of the C++ visible in the Python and avoids
splicing at marker comments. Output uses ``\\n`` line ends and two-space indents, and the same
calls always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class CodeWriter:
    """Accumulates lines with the current indentation."""

    def __init__(self, indent: str = "  ") -> None:
        self._lines: list[str] = []
        self._level = 0
        self._indent = indent

    def line(self, text: str = "") -> None:
        """One line at the current indentation (an empty line stays empty)."""
        self._lines.append(self._indent * self._level + text if text else "")

    def lines(self, text: str) -> None:
        """Several lines (a multi-line string), each at the current indentation."""
        for part in text.splitlines():
            self.line(part)

    def raw(self, text: str) -> None:
        """A line with no indentation (preprocessor directives, ``#pragma``-free blocks)."""
        self._lines.append(text)

    def blank(self) -> None:
        """An empty line, never two in a row."""
        if self._lines and self._lines[-1] != "":
            self._lines.append("")

    @contextmanager
    def indented(self) -> Iterator[None]:
        self._level += 1
        try:
            yield
        finally:
            self._level -= 1

    @contextmanager
    def block(self, head: str, tail: str = "}") -> Iterator[None]:
        """``head {`` ... ``}`` (``tail`` may be ``"};"`` for structs)."""
        self.line(f"{head} {{")
        with self.indented():
            yield
        self.line(tail)

    def text(self) -> str:
        """The accumulated text, ending with exactly one newline."""
        body = "\n".join(self._lines).rstrip("\n")
        return body + "\n"
