"""Lookup tables for non-linear functions (NUMERICS.md §4, docs/numerics.md "Tables").

Why tables are built here, once: the emulator and both C++ flavours must read the *same*
entries, so they agree by construction. ``quantize.configure`` builds a :class:`TableSpec` per
table and stores it on the node (``node.options["table"]``, Softmax: ``"exp_table"`` and
``"inv_table"``); every implementation only indexes it:

    index = clamp((raw(x) - lo_raw) >> shift, 0, size - 1)      # raw(x) in index_type

and entry ``i`` is ``cast_entry(clamp(f(c_i), entry_min, entry_max))`` computed in float64,
where ``c_i`` is the centre of the input codes that map to entry ``i``:
``c_i = (lo_raw + i·2**shift + (2**shift - 1)/2) · 2**-index_frac``. The clamp keeps every
entry representable (a wrapped-around entry would be useless); it changes nothing for
saturating entry types.
(For ``shift = 0`` that is the code itself; NUMERICS.md writes the same centre as
``lo + (i + ½)·step`` for a continuous input, which is half an input LSB higher.)

The covered interval is ``[lo, lo + size·step)`` with ``step = 2**shift`` input LSBs: the step
is a power of two times the input LSB so the hardware index is a subtraction and a shift. A
requested ``[lo, hi)`` is therefore widened at the top to the next multiple of ``step`` (the
default intervals of ``exp``, ``elu`` and ``selu``, which end where their input ends, are
widened at the bottom instead).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..errors import PrecisionError
from ..ir.records import ir_record
from ..ir.types import FixedType, TensorType
from .fixed import as_fixed_type, quantize, to_float

__all__ = [
    "TableSpec",
    "FUNCTIONS",
    "DEFAULT_TABLE_SIZE",
    "build_table",
    "default_raw_range",
]

DEFAULT_TABLE_SIZE = 1024
"""Entries of a table whose size is not configured (fewer if the input has fewer codes)."""

MAX_TABLE_SIZE = 1 << 20
"""Largest table accepted (a million entries is already far beyond any FPGA budget)."""

_LN2 = math.log(2.0)


def _sigmoid(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _tanh(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return np.tanh(x)


def _exp(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return np.exp(x)


def _reciprocal(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 1.0 / x


def _softplus(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _elu_negative(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    (alpha,) = p
    return alpha * np.expm1(x)


def _selu_negative(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    alpha, gamma = p
    return gamma * alpha * np.expm1(x)


def _rsqrt(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    (eps,) = p  # LayerNormalization: 1/sqrt(variance + epsilon); a variance is never negative
    with np.errstate(divide="ignore"):
        return 1.0 / np.sqrt(np.maximum(x, 0.0) + eps)


def _hard_sigmoid(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    alpha, beta = p  # recurrent cells (ONNX HardSigmoid activation): clip(alpha x + beta, 0, 1)
    return np.clip(alpha * x + beta, 0.0, 1.0)


def _softsign(x: np.ndarray, p: Sequence[float]) -> np.ndarray:
    return x / (1.0 + np.abs(x))


FUNCTIONS: dict[str, Callable[[np.ndarray, Sequence[float]], np.ndarray]] = {
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "exp": _exp,
    "reciprocal": _reciprocal,
    "softplus": _softplus,
    "elu": _elu_negative,  # the x < 0 branch: alpha * (exp(x) - 1)
    "selu": _selu_negative,  # the x < 0 branch: gamma * alpha * (exp(x) - 1)
    "rsqrt": _rsqrt,  # LayerNormalization (issue 12): 1/sqrt(max(x, 0) + epsilon)
    "hard_sigmoid": _hard_sigmoid,  # recurrent cells (issue 12)
    "softsign": _softsign,  # recurrent cells (issue 12)
}
"""The tabulated functions, evaluated in float64. ``params`` of the spec are passed along."""


@ir_record
@dataclass(frozen=True, eq=False)
class TableSpec:
    """One lookup table: how to index it and its exact entries.

    ``entries`` are raw integers (int64) in ``entry_type``; ``index_type`` is the type of the
    value that indexes the table (its raw is what ``lo_raw`` and ``shift`` refer to).
    """

    function: str
    size: int
    index_type: FixedType
    lo_raw: int
    shift: int
    entry_type: FixedType
    entries: np.ndarray = field(repr=False)
    params: tuple[float, ...] = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TableSpec):
            return NotImplemented
        return (
            (self.function, self.size, self.index_type, self.lo_raw, self.shift, self.entry_type, tuple(self.params))
            == (other.function, other.size, other.index_type, other.lo_raw, other.shift, other.entry_type, tuple(other.params))
            and np.array_equal(self.entries, other.entries)
        )

    __hash__ = object.__hash__

    @property
    def index_frac(self) -> int:
        return self.index_type.frac

    @property
    def step(self) -> Fraction:
        """Width of the input interval one entry covers (exact)."""
        return Fraction(2) ** (self.shift - self.index_frac)

    @property
    def lo(self) -> Fraction:
        return self.lo_raw * Fraction(2) ** -self.index_frac

    @property
    def hi(self) -> Fraction:
        """End (exclusive) of the covered interval; inputs beyond use the last entry."""
        return self.lo + self.size * self.step

    def centres(self) -> np.ndarray:
        """The float64 inputs at which the entries were evaluated."""
        return _centres(self.lo_raw, self.size, self.shift, self.index_frac)

    def index(self, raw: np.ndarray) -> np.ndarray:
        """Table index of raw inputs (raws of ``index_type``): the hardware's subtract, shift, clamp."""
        a = np.asarray(raw)
        if a.dtype == object or self.index_type.width >= 62:
            d = (a.astype(object) - self.lo_raw) >> self.shift
            d = np.where(d < 0, 0, np.where(d > self.size - 1, self.size - 1, d))
            return d.astype(np.int64)
        d = (a.astype(np.int64) - np.int64(self.lo_raw)) >> self.shift
        return np.clip(d, 0, self.size - 1)

    def lookup(self, raw: np.ndarray) -> np.ndarray:
        """Raw entries (in ``entry_type``) for raw inputs."""
        return self.entries[self.index(raw)]

    def values(self) -> np.ndarray:
        """Entries as float64 values (exact: entry types are at most 53 bits wide)."""
        return to_float(self.entries, self.entry_type)

    def describe(self) -> str:
        return (
            f"{self.function} table: {self.size} entries of {self.entry_type}, input {self.index_type} "
            f"over [{float(self.lo):g}, {float(self.hi):g}) in steps of {float(self.step):g}"
        )


def _centres(lo_raw: int, size: int, shift: int, frac: int) -> np.ndarray:
    step = 1 << shift
    codes = lo_raw + np.arange(size, dtype=np.float64) * step + (step - 1) / 2.0
    return np.ldexp(codes, -frac)


def _floor_raw(v: float, frac: int) -> int:
    return math.floor(Fraction(v) * Fraction(2) ** frac)


def _ceil_raw(v: float, frac: int) -> int:
    return math.ceil(Fraction(v) * Fraction(2) ** frac)


def _saturation_interval(function: str, entry: FixedType, params: Sequence[float]) -> tuple[float | None, float | None]:
    """Where the function changes by more than half an entry LSB; outside, the edge entries
    are within an entry LSB of the true value, so the default table need not cover it.
    ``None`` means unbounded on that side (the input type's range decides)."""
    half_lsb_log = (entry.frac + 1) * _LN2  # -ln(lsb / 2)
    if function == "sigmoid":
        return -half_lsb_log, half_lsb_log
    if function == "tanh":
        length = (entry.frac + 2) * _LN2 / 2
        return -length, length
    if function == "exp":
        return -half_lsb_log, None
    if function == "softplus":
        return -half_lsb_log, None
    if function == "hard_sigmoid" and params[0] != 0:
        a, b = params
        ends = sorted(((0.0 - b) / a, (1.0 - b) / a))  # constant 0 or 1 outside
        return ends[0], ends[1]
    if function in ("elu", "selu"):
        scale = abs(params[0]) if function == "elu" else abs(params[0] * params[1])
        if scale > 0:
            return -(half_lsb_log + math.log(scale)), None
        return None, None
    return None, None


_TOP_ANCHORED = ("exp", "elu", "selu")
"""Tables whose input has a hard upper end (Softmax's ``x - max <= 0``, the ``x < 0`` branch
of ELU/SELU): their default interval ends exactly there, and widening to a power-of-two step
extends it downwards."""


def default_raw_range(function: str, index_type: FixedType, entry_type: FixedType, params: Sequence[float] = ()) -> tuple[int, int]:
    """Default ``[lo_raw, hi_raw)`` of a table, derived from the input type's range.

    The input type's range, narrowed to where the function is not yet saturated (to within
    half an entry LSB), which keeps entries where they matter. ``elu``/``selu`` tables cover
    only ``x < 0`` (the other branch is not tabulated); ``exp`` (Softmax) only ``x <= 0``.
    """
    lo, hi = index_type.raw_min, index_type.raw_max + 1
    if function in ("elu", "selu"):
        hi = min(hi, 0)
    if function == "exp":
        hi = min(hi, 1)
    s_lo, s_hi = _saturation_interval(function, entry_type, params)
    f = index_type.frac
    new_lo = max(lo, _floor_raw(s_lo, f)) if s_lo is not None else lo
    new_hi = min(hi, _ceil_raw(s_hi, f) + 1) if s_hi is not None else hi
    if new_lo < new_hi:
        return new_lo, new_hi
    return (lo, hi) if lo < hi else (index_type.raw_min, index_type.raw_max + 1)


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


def build_table(
    function: str,
    index_type: TensorType,
    entry_type: TensorType,
    *,
    size: int | None = None,
    interval: tuple[float, float] | None = None,
    raw_interval: tuple[int, int] | None = None,
    params: Sequence[float] = (),
    where: str = "",
) -> TableSpec:
    """Build the table of ``function`` for inputs of ``index_type``.

    ``size``: entries (a power of two, at most ``2**width`` of the input, else the index
    would be wider than the input); default ``min(1024, codes in the interval)``.
    ``interval``: ``(lo, hi)`` in value units (``lo`` floored, ``hi`` ceiled to the input
    grid); ``raw_interval``: the same in raw units; default :func:`default_raw_range`.
    Raises ``PrecisionError`` naming ``where`` for impossible requests and for a function
    undefined (NaN) somewhere in the interval.
    """
    if function not in FUNCTIONS:
        raise PrecisionError(f"{where}: unknown table function {function!r}; known: {', '.join(FUNCTIONS)}")
    it, et = as_fixed_type(index_type), as_fixed_type(entry_type)  # type: ignore[arg-type]
    if et.width > 53:
        raise PrecisionError(
            f"{where}: table type {et} is {et.width} bits wide; table entries are stored exactly as "
            "float64 values, so at most 53 bits are supported"
        )
    anchor_top = False
    if interval is not None:
        lo, hi = interval
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise PrecisionError(f"{where}: table_range must be two finite numbers lo < hi, got {interval}")
        lo_raw, hi_raw = _floor_raw(lo, it.frac), _ceil_raw(hi, it.frac)
        lo_raw, hi_raw = max(lo_raw, it.raw_min), min(max(hi_raw, lo_raw + 1), it.raw_max + 1)
        if lo_raw >= hi_raw:
            raise PrecisionError(
                f"{where}: table_range {interval} lies outside the range [{float(it.min)}, {float(it.max)}] "
                f"of the table's input type {it}"
            )
    elif raw_interval is not None:
        lo_raw, hi_raw = raw_interval
    else:
        lo_raw, hi_raw = default_raw_range(function, it, et, params)
        anchor_top = function in _TOP_ANCHORED
    codes = hi_raw - lo_raw
    if size is None:
        n = min(DEFAULT_TABLE_SIZE, 1 << max(codes - 1, 0).bit_length())
    else:
        n = int(size)
        if not _is_power_of_two(n) or n > MAX_TABLE_SIZE:
            raise PrecisionError(
                f"{where}: table_size must be a power of two between 1 and {MAX_TABLE_SIZE}, got {size!r}"
            )
        if n.bit_length() - 1 > it.width:
            raise PrecisionError(
                f"{where}: a table of {n} entries needs a {n.bit_length() - 1}-bit index, wider than its "
                f"{it.width}-bit input {it}; use table_size <= {1 << it.width}"
            )
    shift = max(0, (-(-codes // n) - 1).bit_length())  # smallest k with n * 2**k >= codes
    if anchor_top:
        lo_raw = hi_raw - (n << shift)
    x = _centres(lo_raw, n, shift, it.frac)
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.asarray(FUNCTIONS[function](x, tuple(params)), dtype=np.float64)
    if np.isnan(y).any():
        i = int(np.argmax(np.isnan(y)))
        raise PrecisionError(
            f"{where}: the {function} table is undefined at x = {x[i]:g}; choose a table_range that avoids it"
        )
    # Entries are clamped into the entry type's range before conversion: a table constant
    # that wrapped around would be useless, and clamping keeps every entry representable.
    y = np.clip(y, float(et.min), float(et.max))
    entries = quantize(y, et)
    return TableSpec(
        function=function,
        size=n,
        index_type=it,
        lo_raw=int(lo_raw),
        shift=int(shift),
        entry_type=et,
        entries=np.asarray(entries, dtype=np.int64),
        params=tuple(float(p) for p in params),
    )
