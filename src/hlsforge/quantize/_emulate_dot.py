"""Dense/Conv accumulation for the emulator: the NUMERICS.md §4 loop, computed fast when that
provably gives the same bits.

The contract, per output ``j``::

    acc = cast_accum(b[j])
    for i in 0 .. K-1:  acc = cast_accum(acc + x[i] * w[i][j])

Three exact ways to compute it, picked per call (A = accum frac bits, P = frac_x + frac_w):

1. ``A >= P`` (products land on the accumulator grid, no step rounds) and the accumulator
   wraps or a bound proves no partial sum overflows: one exact integer matrix product, then
   one cast. Wrap-around is addition modulo ``2**W``, so wrapping once at the end equals
   wrapping at every step. The product uses float64 BLAS when a bound proves every partial
   sum is below ``2**53`` (then any summation order is exact), else int64, else Python ints.
2. ``A < P`` with a *translation-invariant* rounding mode (TRN, RND, RND_MIN_INF: for an
   integer ``k`` on the accumulator grid ``round(k + p) = k + round(p)``), wrapping or
   provably not overflowing: the loop equals ``wrap(cast(b) + Σ_i round(x_i·w_ij))``. With
   ``x = xh·2**s + xl`` (``s = P - A``, ``0 <= xl < 2**s``) each term is ``xh·w +
   round(xl·w)``: one matrix product plus a table gather per input for the low bits.
3. Otherwise the loop itself, vectorized over rows and outputs.

With ``count=True`` (traces) it also returns how many outputs overflowed the accumulator at
least once (bias cast or any step); then path 3 runs whenever overflow is possible.
"""

from __future__ import annotations

import numpy as np

from ..ir.types import FixedType, Overflow, Rounding
from ._emulate_arith import I64_SAFE, Fx, absmax, add, cast, mul, overflow_mask, to_object
from .fixed import convert_raw

_INVARIANT = (Rounding.TRN, Rounding.RND, Rounding.RND_MIN_INF)
_F64_EXACT = 1 << 53
_GATHER_MAX_CODES = 1 << 12


def _colsum(w: np.ndarray) -> int:
    """Largest column sum of ``|w|`` (Python int)."""
    if w.size == 0:
        return 0
    return int(np.abs(to_object(w)).sum(axis=0).max()) if w.dtype == object else int(np.abs(w).sum(axis=0).max())


def exact_affine(x: np.ndarray, w: np.ndarray, shift: int = 0, bias: np.ndarray | None = None) -> np.ndarray:
    """``(x @ w) * 2**shift + bias`` of integer arrays, exactly, by the fastest exact means.

    float64 BLAS when a bound proves every partial sum (in any order) is an integer below
    ``2**53``, so no step rounds; else int64 when below ``2**62``; else Python ints.
    """
    rows, m = x.shape[0], w.shape[1]
    b = np.zeros(m, dtype=np.int64) if bias is None else np.asarray(bias)
    if rows == 0:
        return np.zeros((0, m), dtype=np.int64)
    bound = ((absmax(x) * _colsum(w)) << shift) + absmax(b)
    if bound < _F64_EXACT and x.dtype != object and w.dtype != object and b.dtype != object:
        wf = w.astype(np.float64) * float(1 << shift)
        y = x.astype(np.float64) @ wf
        y += b.astype(np.float64)
        return y.astype(np.int64)
    if bound < I64_SAFE and x.dtype != object and w.dtype != object and b.dtype != object:
        return (np.matmul(x.astype(np.int64), w.astype(np.int64)) << shift) + b
    return ((to_object(x) @ to_object(w)) << shift) + to_object(b)


def exact_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` of integer arrays, exactly."""
    return exact_affine(x, w)


def _round_shift(p: np.ndarray, s: int, rounding: Rounding) -> np.ndarray:
    """``p * 2**-s`` rounded by a translation-invariant mode (``s >= 1``, int64 ``p``)."""
    if rounding is Rounding.TRN:
        return p >> s
    if rounding is Rounding.RND:  # ties toward +inf
        return (p + (1 << (s - 1))) >> s
    return (p + ((1 << (s - 1)) - 1)) >> s  # RND_MIN_INF: ties toward -inf


def _bound_ok(x: np.ndarray, w: np.ndarray, acc0: np.ndarray, acc_t: FixedType, s: int) -> bool:
    """Whether no partial sum can leave the accumulator's range (a conservative bound)."""
    if not acc_t.signed:
        return False
    terms = absmax(x) * _colsum(w)
    if s >= 0:  # products rounded to the grid: at most one extra LSB per term
        bound = absmax(acc0) + (terms >> s) + (w.shape[0] if s else 0) + 1
    else:
        bound = absmax(acc0) + (terms << -s)
    return bound <= acc_t.raw_max


def _group_tables(w: np.ndarray, s: int, rounding: Rounding, group: int) -> tuple[list[list[int]], list[np.ndarray]]:
    """For each group of inputs, the table of ``Σ_{i in group} round(xl_i · w_i · 2**-s)``
    over every combination of low-bit codes (index ``Σ xl_i · codes**position``), in the
    narrowest integer dtype that holds any sum over all groups (fewer bytes to gather)."""
    codes = 1 << s
    c = np.arange(codes, dtype=np.int64)
    nz = [i for i in range(w.shape[0]) if w[i].any()]  # zero weights are skipped
    members_list: list[list[int]] = []
    tables: list[np.ndarray] = []
    for g0 in range(0, len(nz), group):
        members = nz[g0 : g0 + group]
        grid = np.stack(np.meshgrid(*([c] * len(members)), indexing="ij"), -1).reshape(-1, len(members))
        tab = np.zeros((grid.shape[0], w.shape[1]), dtype=np.int64)
        for j, i in enumerate(members):
            tab += _round_shift(grid[:, j : j + 1] * w[i], s, rounding)
        members_list.append(members)
        tables.append(tab)
    total = sum(absmax(t) for t in tables)
    dtype = np.int16 if total < (1 << 15) else np.int32 if total < (1 << 31) else np.int64
    return members_list, [t.astype(dtype) for t in tables]


def _low_bits_sum(xl: np.ndarray, w: np.ndarray, s: int, rounding: Rounding, cache: dict | None = None) -> np.ndarray:
    """``Σ_i round(xl_i · w_ij · 2**-s)`` for ``0 <= xl < 2**s`` (int64).

    Each rounded term depends only on ``xl_i`` (``2**s`` codes), so inputs are grouped so
    that a group's code combinations fit a small table, and the sum becomes one gather per
    group. Rows are processed in cache-sized blocks; ``cache`` keeps the tables between
    calls with the same weights (batch chunks).
    """
    rows, k = xl.shape
    m = w.shape[1]
    out = np.empty((rows, m), dtype=np.int64)
    codes = 1 << s
    group = 0
    while codes ** (group + 1) <= _GATHER_MAX_CODES and group < k:
        group += 1
    block = 2048
    if group == 0 or codes > 4 * rows:  # too many codes for tables: plain products
        for r0 in range(0, rows, block):
            acc = np.zeros((min(rows, r0 + block) - r0, m), dtype=np.int64)
            for i in range(k):
                if w[i].any():
                    acc += _round_shift(xl[r0 : r0 + block, i, None] * w[i], s, rounding)
            out[r0 : r0 + block] = acc
        return out
    key = ("low_bits", s, rounding, group)
    if cache is not None and key in cache:
        members_list, tables = cache[key]
    else:
        members_list, tables = _group_tables(w, s, rounding, group)
        if cache is not None:
            cache[key] = (members_list, tables)
    cols = np.ascontiguousarray(xl.T)  # one contiguous row of codes per input
    indices = []
    for members in members_list:
        idx = cols[members[0]].copy()
        for i in members[1:]:
            idx *= codes
            idx += cols[i]
        indices.append(idx)
    dtype = tables[0].dtype if tables else np.int64
    acc = np.empty((block, m), dtype=dtype)
    tmp = np.empty((block, m), dtype=dtype)
    for r0 in range(0, rows, block):
        b = min(rows, r0 + block) - r0
        a, t = acc[:b], tmp[:b]
        a[...] = 0
        for tab, idx in zip(tables, indices, strict=True):
            np.take(tab, idx[r0 : r0 + b], axis=0, out=t)
            a += t
        out[r0 : r0 + b] = a
    return out


def accumulate(
    x: Fx, w: np.ndarray, w_frac: int, b: np.ndarray, b_frac: int, acc_t: FixedType, *, count: bool = False,
    cache: dict | None = None,
) -> tuple[np.ndarray, int]:
    """The accumulator after the loop, raw in ``acc_t``: ``x`` is ``(rows, K)``, ``w`` is
    ``(K, M)``, ``b`` is ``(M,)``. Returns ``(acc (rows, M), outputs that overflowed)``.
    ``cache``: a dict owned by the caller, reused for calls with the same ``w`` and types."""
    rows = x.raw.shape[0]
    a_frac, p_frac = acc_t.frac, x.frac + w_frac
    s = p_frac - a_frac
    acc0 = convert_raw(b, b_frac, acc_t)
    bias_over = overflow_mask(Fx(np.asarray(b), b_frac), acc_t) if count else None
    wraps = acc_t.overflow is Overflow.WRAP
    fits = _bound_ok(x.raw, w, acc0, acc_t, s)
    exact_ok = s <= 0 and (wraps or fits)
    invariant_ok = s > 0 and acc_t.rounding in _INVARIANT and (wraps or fits) and x.raw.dtype != object
    if (exact_ok or invariant_ok) and (not count or fits):
        if exact_ok:
            total = exact_affine(x.raw, w, -s, acc0)
        elif x.raw.dtype != object and w.dtype != object and ((absmax(w) + 1) << s) * (w.shape[0] + 1) < I64_SAFE:
            xh, xl = x.raw >> s, x.raw & ((1 << s) - 1)
            total = exact_affine(xh, w, 0, acc0)
            low = _low_bits_sum(xl, w, s, acc_t.rounding, cache)  # |low| <= K * (|w| + 1)
            total = total + low if total.dtype != object else total + to_object(low)
        else:
            return _loop(x, w, w_frac, acc0, acc_t, count, bias_over)
        # with the bound proven, the sum is already in range and on the grid: no cast needed
        acc = total if fits and total.dtype != object else cast(Fx(total, a_frac), acc_t)
        n_over = 0
        if bias_over is not None:
            n_over = int(np.count_nonzero(np.broadcast_to(bias_over, (rows, w.shape[1]))))
        return acc, n_over
    return _loop(x, w, w_frac, acc0, acc_t, count, bias_over)


def _loop(
    x: Fx, w: np.ndarray, w_frac: int, acc0: np.ndarray, acc_t: FixedType, count: bool, bias_over: np.ndarray | None
) -> tuple[np.ndarray, int]:
    """The contract's loop, literally: ``acc = cast(acc + x_i·w_ij)`` for each ``i`` in order."""
    rows, m = x.raw.shape[0], w.shape[1]
    acc = np.broadcast_to(acc0, (rows, m)).copy()
    over = np.broadcast_to(bias_over, (rows, m)).copy() if count and bias_over is not None else None
    for i in range(w.shape[0]):
        wi = w[i]
        if not np.any(wi):
            continue  # zero weights are skipped (cast of an in-range value is the identity)
        total = add(Fx(acc, acc_t.frac), mul(Fx(x.raw[:, i : i + 1], x.frac), Fx(wi[None, :], w_frac)))
        acc = cast(total, acc_t)
        if over is not None:
            over |= overflow_mask(total, acc_t)
    return acc, (int(np.count_nonzero(over)) if over is not None else 0)
