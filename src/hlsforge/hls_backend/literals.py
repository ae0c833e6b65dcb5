"""Exact C++ literals for quantized constants.

A constant of a fixed-point type is ``raw * 2**-frac``: a dyadic rational, so it has a finite
decimal expansion. Written out in full, the compiler turns it into exactly that double (it is
representable whenever ``|raw| < 2**53``), and ``ap_fixed``'s constructor from an exactly
representable double is exact: the value in the C++ is the quantized value, never a decimal
that a constructor re-rounds. Wider raws are written as the sum of two exactly representable
parts, converted into the type separately (the sum is then exact and in range).
"""

from __future__ import annotations

import numpy as np

from ..ir.types import FixedType, IntType

_DOUBLE_EXACT = 1 << 53
_SPLIT = 26


def exact_decimal(raw: int, frac: int) -> str:
    """The full decimal expansion of ``raw * 2**-frac`` (``0.1875``, ``-3``, ``40.0``)."""
    raw = int(raw)
    if frac <= 0:
        value = raw << -frac
        if -(1 << 31) < value < (1 << 31):
            return str(value)
        return f"{value}.0"
    sign = "-" if raw < 0 else ""
    digits = str(abs(raw) * 5**frac).rjust(frac + 1, "0")
    int_part, frac_part = digits[:-frac], digits[-frac:].rstrip("0")
    if not frac_part:
        return f"{sign}{int(int_part)}" if abs(int(int_part)) < (1 << 31) else f"{sign}{int_part}.0"
    return f"{sign}{int_part}.{frac_part}"


def fixed_literal(raw: int, t: FixedType | IntType, type_name: str) -> str:
    """A C++ expression of type-convertible form holding exactly ``raw`` in type ``t``."""
    raw = int(raw)
    frac = t.frac
    if -_DOUBLE_EXACT < raw < _DOUBLE_EXACT:
        return exact_decimal(raw, frac)
    lo = raw & ((1 << _SPLIT) - 1)
    hi = raw - lo
    return f"{type_name}({type_name}({exact_decimal(hi, frac)}) + {type_name}({exact_decimal(lo, frac)}))"


def literal_list(raws: np.ndarray, t: FixedType | IntType, type_name: str) -> tuple[str, ...]:
    """Literals for a flat array of raw integers (C order)."""
    flat = np.asarray(raws).reshape(-1)
    return tuple(fixed_literal(int(r), t, type_name) for r in flat)


def raw_literal(raw: int, signed: bool) -> str:
    """A raw code as a C++ integer literal of type ``long long`` / ``unsigned long long``."""
    raw = int(raw)
    if not signed:
        return f"{raw}ULL"
    if raw == -(1 << 63):
        return "(-9223372036854775807LL - 1)"
    return f"{raw}LL" if not -(1 << 31) < raw < (1 << 31) else str(raw)


def raw_literal_list(raws: np.ndarray, t: FixedType | IntType) -> tuple[tuple[str, ...], str]:
    """Raw-code literals of a flat array and the C++ integer type that holds them."""
    flat = np.asarray(raws).reshape(-1)
    signed = bool(t.signed)
    return tuple(raw_literal(int(r), signed) for r in flat), (
        "long long" if signed else "unsigned long long"
    )
