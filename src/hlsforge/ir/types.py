"""Tensor element types carried by every IR value.

Types are data: a value's type is decided once (float by the frontends, fixed point by
``quantize.configure``) and every backend reads it; no backend invents a type.
The semantics of fixed-point types are those of Xilinx ``ap_fixed`` (see docs/numerics.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from ..errors import PrecisionError


class Rounding(str, Enum):
    """Quantization mode applied when a value loses fractional bits (ap_fixed ``AP_*``)."""

    TRN = "TRN"
    TRN_ZERO = "TRN_ZERO"
    RND = "RND"
    RND_ZERO = "RND_ZERO"
    RND_MIN_INF = "RND_MIN_INF"
    RND_INF = "RND_INF"
    RND_CONV = "RND_CONV"


class Overflow(str, Enum):
    """Overflow mode applied when a quantized value is out of range (ap_fixed ``AP_*``)."""

    WRAP = "WRAP"
    SAT = "SAT"
    SAT_ZERO = "SAT_ZERO"
    SAT_SYM = "SAT_SYM"


MAX_WIDTH = 64
"""Widest fixed-point type the emulator and the C++ header support."""


@dataclass(frozen=True)
class FloatType:
    """IEEE float; the frontends type every tensor ``float32``."""

    bits: int = 32

    def __str__(self) -> str:
        return "float" if self.bits == 32 else "double"

    @property
    def cpp(self) -> str:
        return str(self)


@dataclass(frozen=True)
class FixedType:
    """``fixed<width, integer, signed, rounding, overflow>``.

    ``integer`` counts integer bits *including* the sign bit and may be negative or larger
    than ``width``; a value is ``raw * 2**-frac`` with ``frac = width - integer``.
    """

    width: int
    integer: int
    signed: bool = True
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.WRAP

    def __post_init__(self) -> None:
        if not isinstance(self.width, int) or isinstance(self.width, bool):
            raise PrecisionError(f"fixed-point width must be an integer, got {self.width!r}")
        if not isinstance(self.integer, int) or isinstance(self.integer, bool):
            raise PrecisionError(f"fixed-point integer bits must be an integer, got {self.integer!r}")
        if not 1 <= self.width <= MAX_WIDTH:
            raise PrecisionError(
                f"fixed-point width {self.width} is outside 1..{MAX_WIDTH} in {self}"
            )
        object.__setattr__(self, "rounding", Rounding(self.rounding))
        object.__setattr__(self, "overflow", Overflow(self.overflow))

    @property
    def frac(self) -> int:
        """Number of fractional bits (may be negative)."""
        return self.width - self.integer

    @property
    def raw_min(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def raw_max(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> Fraction:
        """Exact value of one least-significant bit."""
        return Fraction(2) ** -self.frac

    @property
    def min(self) -> Fraction:
        return self.raw_min * self.lsb

    @property
    def max(self) -> Fraction:
        return self.raw_max * self.lsb

    def __str__(self) -> str:
        base = "ap_fixed" if self.signed else "ap_ufixed"
        modes = ""
        if self.rounding != Rounding.TRN or self.overflow != Overflow.WRAP:
            modes = f",AP_{self.rounding.value}"
            if self.overflow != Overflow.WRAP:
                modes += f",AP_{self.overflow.value}"
        return f"{base}<{self.width},{self.integer}{modes}>"


@dataclass(frozen=True)
class IntType:
    """``ap_int<width>`` / ``ap_uint<width>``: a fixed-point type with no fractional bits."""

    width: int
    signed: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.width, int) or not 1 <= self.width <= MAX_WIDTH:
            raise PrecisionError(f"integer width {self.width!r} is outside 1..{MAX_WIDTH}")

    def as_fixed(self) -> FixedType:
        """The fixed type ``ap_int`` converts like: no fractional bits, and (C rules) values
        are truncated toward zero, unlike ``ap_fixed<W,W>`` whose default AP_TRN floors."""
        return FixedType(self.width, self.width, self.signed, Rounding.TRN_ZERO, Overflow.WRAP)

    @property
    def frac(self) -> int:
        return 0

    def __str__(self) -> str:
        return f"{'ap_int' if self.signed else 'ap_uint'}<{self.width}>"


TensorType = FloatType | FixedType | IntType

FLOAT32 = FloatType(32)


def as_fixed(t: TensorType) -> FixedType:
    """View a fixed or integer type as ``FixedType``; float types raise ``PrecisionError``."""
    if isinstance(t, FixedType):
        return t
    if isinstance(t, IntType):
        return t.as_fixed()
    raise PrecisionError(f"expected a fixed-point type, got {t}")


_MODE_PREFIX = re.compile(r"^(AP_)?", re.IGNORECASE)
_FIXED_RE = re.compile(
    r"^\s*(?P<kind>ap_fixed|ap_ufixed|fixed|ufixed)\s*<(?P<args>[^<>]*)>\s*$", re.IGNORECASE
)
_INT_RE = re.compile(r"^\s*(?P<kind>ap_int|ap_uint|int|uint)\s*<(?P<args>[^<>]*)>\s*$", re.IGNORECASE)

_EXPECTED = (
    "expected one of: 'ap_fixed<W,I>', 'ap_fixed<W,I,AP_RND_CONV,AP_SAT>' (any of the rounding "
    "modes TRN, TRN_ZERO, RND, RND_ZERO, RND_MIN_INF, RND_INF, RND_CONV and overflow modes WRAP, "
    "SAT, SAT_ZERO, SAT_SYM; an optional third mode argument N is accepted and must be 0), "
    "'ap_ufixed<W,I>', 'fixed<W,I,RND,SAT>', 'ufixed<...>', 'ap_int<W>', 'ap_uint<W>', "
    "'int<W>', 'float', 'double' or 'auto'"
)


def _parse_int(text: str, what: str, source: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise PrecisionError(f"invalid {what} {text.strip()!r} in {source!r}; {_EXPECTED}") from None


def _parse_mode(text: str, enum: type[Enum], source: str) -> Enum:
    name = _MODE_PREFIX.sub("", text.strip()).upper()
    try:
        return enum(name)
    except ValueError:
        known = ", ".join(m.value for m in enum)  # type: ignore[attr-defined]
        raise PrecisionError(
            f"unknown {enum.__name__.lower()} mode {text.strip()!r} in {source!r}; known: {known}"
        ) from None


def parse_type(text: str | TensorType) -> TensorType | None:
    """Parse a precision string (NUMERICS.md §1). Returns ``None`` for ``'auto'``.

    Already-parsed types pass through, so callers may accept either form.
    """
    if isinstance(text, (FloatType, FixedType, IntType)):
        return text
    if not isinstance(text, str):
        raise PrecisionError(f"a precision must be a string such as 'ap_fixed<16,6>', got {text!r}")
    s = text.strip()
    low = s.lower()
    if low == "auto":
        return None
    if low in ("float", "float32"):
        return FloatType(32)
    if low in ("double", "float64"):
        return FloatType(64)
    m = _FIXED_RE.match(s)
    if m:
        signed = not m.group("kind").lower().removeprefix("ap_").startswith("u")
        args = [a for a in m.group("args").split(",")]
        if not 2 <= len(args) <= 5:
            raise PrecisionError(f"invalid precision {text!r}; {_EXPECTED}")
        width = _parse_int(args[0], "width", text)
        integer = _parse_int(args[1], "integer bits", text)
        rounding = Rounding.TRN
        overflow = Overflow.WRAP
        if len(args) >= 3:
            rounding = _parse_mode(args[2], Rounding, text)  # type: ignore[assignment]
        if len(args) >= 4:
            overflow = _parse_mode(args[3], Overflow, text)  # type: ignore[assignment]
        if len(args) == 5 and _parse_int(args[4], "saturation bits", text) != 0:
            raise PrecisionError(f"saturation bits other than 0 are not supported in {text!r}")
        return _construct(text, lambda: FixedType(width, integer, signed, rounding, overflow))
    m = _INT_RE.match(s)
    if m:
        signed = not m.group("kind").lower().removeprefix("ap_").startswith("u")
        args = m.group("args").split(",")
        if len(args) != 1:
            raise PrecisionError(f"invalid precision {text!r}; {_EXPECTED}")
        width = _parse_int(args[0], "width", text)
        return _construct(text, lambda: IntType(width, signed))
    raise PrecisionError(f"invalid precision {text!r}; {_EXPECTED}")


def _construct(text: str, build: Callable[[], TensorType]) -> TensorType:
    """Build a parsed type, naming the original text if its numbers are out of range."""
    try:
        return build()
    except PrecisionError as e:
        raise PrecisionError(f"invalid precision {text!r}: {e}") from None


def type_to_str(t: TensorType | None) -> str:
    """Inverse of :func:`parse_type` (``None`` prints as ``'auto'``)."""
    return "auto" if t is None else str(t)
