"""Per-channel / per-element fixed-point types of one quantizer (HGQ2, ``hlsforge.qat``).

A ``Quantize`` node normally converts every element of its input into one ``FixedType``.
HGQ2 and ``hlsforge.qat`` train one type per channel or per element, so ``QuantizeAttrs``
may carry an :class:`ElementTypes`: element ``e`` is converted to
``FixedType(width[e], integer[e], signed[e], rounding, overflow)`` (a width of 0 means the
element is pruned: its result is exactly 0), and the node's ``target`` -- the type of its
output value -- is a *container*: a type that holds every element type exactly (normally
:meth:`ElementTypes.union`). Downstream ops therefore keep a single scalar type per value;
only the Quantize node itself knows the per-element grids. See docs/ir.md "Per-element
quantizers" and docs/numerics.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import PrecisionError, ShapeError
from .records import ir_record
from .types import MAX_WIDTH, FixedType, IntType, Overflow, Rounding, TensorType, as_fixed


@ir_record
@dataclass(frozen=True)
class ElementTypes:
    """Per-channel / per-element fixed-point types of one quantizer (HGQ2, hlsforge.qat).

    ``shape`` broadcasts (numpy rules, right-aligned) to the value's non-batch shape:
    ``(C,)`` is per channel (last axis), the full shape is per element, size-1 axes are
    allowed. ``width``/``integer``/``signed`` are flattened in C order, one entry per element
    of ``shape``; ``integer`` counts integer bits including the sign, as ``FixedType.integer``
    (it may be negative or larger than the width). Width 0 means pruned (always exactly 0).
    """

    shape: tuple[int, ...]
    width: tuple[int, ...]
    integer: tuple[int, ...]
    signed: tuple[bool, ...]
    rounding: Rounding
    overflow: Overflow

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        try:
            set_(self, "rounding", Rounding(self.rounding))
            set_(self, "overflow", Overflow(self.overflow))
        except ValueError as e:
            raise PrecisionError(f"per-element types: {e}") from None
        shape = tuple(self.shape)
        if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in shape):
            raise ShapeError(f"per-element types: shape {shape} must be positive integers")
        set_(self, "shape", tuple(int(d) for d in shape))
        n = math.prod(self.shape)
        for name in ("width", "integer", "signed"):
            seq = tuple(getattr(self, name))
            if len(seq) != n:
                raise ShapeError(f"per-element types: {len(seq)} {name} entries for shape {self.shape} ({n} elements)")
            if name == "signed":
                if not all(isinstance(s, (bool, np.bool_)) for s in seq):
                    raise PrecisionError("per-element types: 'signed' entries must be booleans")
                set_(self, name, tuple(bool(s) for s in seq))
            else:
                if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in seq):
                    raise PrecisionError(f"per-element types: {name} entries must be integers")
                set_(self, name, tuple(int(v) for v in seq))
        bad = [w for w in self.width if not 0 <= w <= MAX_WIDTH]
        if bad:
            raise PrecisionError(f"per-element types: width {bad[0]} is outside 0..{MAX_WIDTH}")

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_arrays(
        cls,
        width: Any,
        integer: Any,
        signed: Any = True,
        rounding: Rounding | str = Rounding.TRN,
        overflow: Overflow | str = Overflow.WRAP,
        shape: Sequence[int] | None = None,
    ) -> ElementTypes:
        """Build from arrays (broadcast together; ``shape`` defaults to their common shape
        without leading size-1 axes, so HGQ2-style ``(1, *shape)`` arrays fit the value).

        Widths and integer bits must be whole numbers (floats such as ``3.0`` are accepted)."""
        w, i, s = (np.asarray(a) for a in (width, integer, signed))
        try:
            common = np.broadcast_shapes(w.shape, i.shape, s.shape, *(() if shape is None else (tuple(shape),)))
        except ValueError:
            raise ShapeError(f"per-element types: width {w.shape}, integer {i.shape} and signed {s.shape} "
                             f"do not broadcast to {shape if shape is not None else 'one shape'}") from None
        if shape is not None and tuple(common) != tuple(shape):
            raise ShapeError(f"per-element types: arrays of shapes {w.shape}, {i.shape} do not fit shape {tuple(shape)}")
        common = full = tuple(common) or (1,)
        if shape is None:  # leading size-1 axes (e.g. a batch axis of 1) never change broadcasting: drop them
            while len(common) > 1 and common[0] == 1:
                common = common[1:]
        out = []
        for name, a in (("width", w), ("integer", i)):
            if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
                raise PrecisionError(f"per-element types: {name} must be whole numbers")
            out.append(tuple(int(v) for v in np.broadcast_to(a, full).ravel()))
        sig = tuple(bool(v) for v in np.broadcast_to(s.astype(bool), full).ravel())
        return cls(common, out[0], out[1], sig, Rounding(rounding), Overflow(overflow))

    # ------------------------------------------------------------------ queries

    @property
    def size(self) -> int:
        return len(self.width)

    @property
    def granularity(self) -> str:
        """``"channel"`` when only the last axis varies (shape ``(..., 1, C)``), else ``"element"``."""
        return "channel" if all(d == 1 for d in self.shape[:-1]) else "element"

    @cached_property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(width, integer, signed)`` as int64/int64/bool arrays of ``shape`` (read-only)."""
        out = (np.array(self.width, np.int64).reshape(self.shape), np.array(self.integer, np.int64).reshape(self.shape),
               np.array(self.signed, bool).reshape(self.shape))
        for a in out:
            a.flags.writeable = False
        return out

    def type_at(self, index: int | Sequence[int]) -> FixedType | None:
        """The type of one element (a flat index or an index into ``shape``); ``None`` if pruned."""
        flat = index if isinstance(index, (int, np.integer)) else int(np.ravel_multi_index(tuple(index), self.shape))
        w = self.width[flat]
        if w == 0:
            return None
        return FixedType(w, self.integer[flat], self.signed[flat], self.rounding, self.overflow)

    def groups(self) -> list[tuple[FixedType | None, np.ndarray]]:
        """Distinct element types (``None`` = pruned) with the flat indices (into ``shape``) of
        their elements, in a deterministic order (pruned first, then by width, integer, sign)."""
        keys: dict[tuple[int, int, bool], list[int]] = {}
        for e, key in enumerate(zip(self.width, self.integer, self.signed, strict=True)):
            k = (0, 0, False) if key[0] == 0 else key
            keys.setdefault(k, []).append(e)
        out: list[tuple[FixedType | None, np.ndarray]] = []
        for k in sorted(keys):
            t = None if k[0] == 0 else FixedType(k[0], k[1], k[2], self.rounding, self.overflow)
            out.append((t, np.array(keys[k], np.int64)))
        return out

    def union(self) -> FixedType:
        """The narrowest type that holds every element type exactly (the *container*).

        Fractional bits: the most of any element; integer bits: enough for every element's
        range (an unsigned element in a signed container needs one more). Its modes are the
        elements' (the element-to-container conversion is lossless, so they never act).
        Raises ``PrecisionError`` if it needs more than ``MAX_WIDTH`` bits."""
        live = [(w, i, s) for w, i, s in zip(self.width, self.integer, self.signed, strict=True) if w > 0]
        if not live:
            return FixedType(1, 1, False, self.rounding, self.overflow)
        signed = any(s for _, _, s in live)
        frac = max(w - i for w, i, _ in live)
        integer = max(i + (1 if signed and not s else 0) for _, i, s in live)
        width = integer + frac
        if width > MAX_WIDTH:
            raise PrecisionError(f"per-element types {self}: the container type that holds them all needs "
                                 f"{width} bits, more than {MAX_WIDTH}")
        return FixedType(width, integer, signed, self.rounding, self.overflow)

    def check_shape(self, value_shape: Sequence[int]) -> None:
        """``ShapeError`` unless ``shape`` broadcasts to ``value_shape`` (non-batch)."""
        value_shape = tuple(value_shape)
        ok = len(self.shape) <= len(value_shape) and all(
            d in (1, v) for d, v in zip(reversed(self.shape), reversed(value_shape), strict=False))
        if not ok:
            raise ShapeError(f"per-element types of shape {self.shape} do not broadcast to the value's shape {value_shape}")

    def check_container(self, target: TensorType) -> None:
        """``PrecisionError`` unless ``target`` holds every element type exactly."""
        if not isinstance(target, (FixedType, IntType)):
            raise PrecisionError(f"a per-element Quantize needs a fixed-point container type, got {target}")
        c = as_fixed(target)
        for t, _ in self.groups():
            if t is not None and not holds(c, t):
                raise PrecisionError(f"container type {target} does not hold the element type {t} exactly "
                                     f"(use ElementTypes.union(): {self.union()})")

    def broadcast(self, value_shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(width, integer, signed)`` broadcast to ``value_shape`` (read-only views)."""
        self.check_shape(value_shape)
        return tuple(np.broadcast_to(a, tuple(value_shape)) for a in self.arrays)  # type: ignore[return-value]

    def period(self, value_shape: Sequence[int]) -> tuple[int, np.ndarray]:
        """``(period, element index per position of one period)``: over ``value_shape`` (C
        order) the pattern of element types repeats every ``period`` values (per channel:
        every ``C``), which is what the generated C++ loops over."""
        value_shape = tuple(value_shape)
        self.check_shape(value_shape)
        shape = list(self.shape)
        while len(shape) > 1 and shape[0] == 1:
            shape.pop(0)
        tail = value_shape[len(value_shape) - len(shape):]
        full = np.arange(self.size).reshape(tuple(shape))
        return math.prod(tail), np.broadcast_to(full, tail).reshape(-1)

    def __str__(self) -> str:
        live = [(w, i, s) for w, i, s in zip(self.width, self.integer, self.signed, strict=True) if w > 0]
        pruned = self.size - len(live)
        if not live:
            return f"per-{self.granularity} {self.shape}: all {self.size} pruned"
        signs = {s for _, _, s in live}
        base = "ap_fixed" if signs == {True} else "ap_ufixed" if signs == {False} else "ap_(u)fixed"

        def rng(vals: Iterable[int]) -> str:
            vals = list(vals)
            lo, hi = min(vals), max(vals)
            return str(lo) if lo == hi else f"{lo}..{hi}"

        modes = ""
        if self.rounding != Rounding.TRN or self.overflow != Overflow.WRAP:
            modes = f",AP_{self.rounding.value}" + (f",AP_{self.overflow.value}" if self.overflow != Overflow.WRAP else "")
        text = f"per-{self.granularity} {base}<{rng(w for w, _, _ in live)},{rng(i for _, i, _ in live)}{modes}>"
        return text + (f" ({pruned} of {self.size} pruned)" if pruned else "")


def holds(container: FixedType, t: FixedType) -> bool:
    """Whether every value of ``t`` is exactly representable in ``container``."""
    if t.frac > container.frac:
        return False
    if t.signed and not container.signed:
        return False
    need = t.integer + (1 if container.signed and not t.signed else 0)
    return need <= container.integer
