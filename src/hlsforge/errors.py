"""The one error hierarchy of hlsforge.

Every error a user can cause is an ``HlsforgeError``. Messages name the model node or layer,
the framework op and what the user can do about it, so a bad model never ends in a traceback
from deep inside numpy or a half-written project.
"""

from __future__ import annotations


class HlsforgeError(Exception):
    """Root of every error hlsforge raises on purpose.

    The message's control and invisible characters (except newline and tab) are escaped
    (``hlsforge.cpp_names.printable``): messages quote names from model files, and a NUL or an
    escape sequence in a name must not cut or repaint what the user reads."""

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            from .cpp_names import printable

            args = (printable(args[0], keep="\n\t"), *args[1:])
        super().__init__(*args)


class ModelFormatError(HlsforgeError):
    """The model file or object is unreadable, malformed or inconsistent."""


class UnsupportedOpError(HlsforgeError):
    """The model uses an op, attribute value or layout that hlsforge does not support."""


class ShapeError(HlsforgeError):
    """Shapes do not fit together, or a dimension is dynamic where it must be static."""


class GraphError(HlsforgeError):
    """The IR graph breaks one of its invariants (found by ``Graph.validate``)."""


class PrecisionError(HlsforgeError):
    """A precision string or configuration is invalid or cannot be realised."""


class InputError(HlsforgeError):
    """Data given to a model at run time is unusable (wrong shape, NaN, ...)."""


class CompileError(HlsforgeError):
    """A C++ compiler failed. Carries the command, exit code, compiler output and source path."""

    def __init__(
        self,
        message: str,
        *,
        command: list[str] | None = None,
        returncode: int | None = None,
        output: str = "",
        source_dir: str | None = None,
    ) -> None:
        self.command = command
        self.returncode = returncode
        self.output = output
        self.source_dir = source_dir
        parts = [message]
        if source_dir:
            parts.append(f"sources: {source_dir}")
        if command:
            parts.append("command: " + " ".join(command))
        if returncode is not None:
            parts.append(f"exit code: {returncode}")
        if output:
            parts.append("compiler output:\n" + output.rstrip())
        super().__init__("\n".join(parts))


class OutputError(HlsforgeError):
    """An output directory or file cannot be written (permissions, a file in the way, ...)."""


class ToolNotFoundError(HlsforgeError):
    """A required external tool (vendor HLS tool, compiler) is not on PATH."""


class ModelClosedError(HlsforgeError):
    """A compiled model was used after ``close()`` (its native memory is freed)."""
