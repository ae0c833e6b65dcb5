"""Independent numpy references for the quantizer tests (no hlsforge code involved).

- ``qk_*``: the QKeras quantizer formulas (inference path, qnoise_factor = 1), written from
  QKeras' documented semantics: ``tf.round`` rounds half to even, ``m = 2**(bits - sign)``,
  ``m_i = 2**integer``, values clipped to the representable grid, "hard" internal sigmoid
  ``clip(0.5·x + 0.5, 0, 1)``.
- ``fixed_cast``: the ap_fixed conversion of NUMERICS.md §2 (quantize then overflow).
- ``run_steps``: evaluates a quantizer chain (``hlsforge.frontends.quant_steps.Step``) with
  ``fixed_cast`` for its Quantize steps, so a mapping can be checked without any other part
  of hlsforge.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


# ----------------------------------------------------------------------------- QKeras formulas


def qk_bits(x: np.ndarray, bits: int, integer: int = 0, symmetric: int = 0, keep_negative: bool = True, alpha: float | None = None) -> np.ndarray:
    scale = 1.0 if alpha is None else alpha
    unsigned_bits = bits - int(keep_negative)
    if unsigned_bits > 0:
        m, m_i = 2.0**unsigned_bits, 2.0**integer
        p = x * m / m_i
        lo = int(keep_negative) * (-m + symmetric)
        return scale * m_i * np.clip(np.rint(p), lo, m - 1) / m
    xq = np.sign(x)
    xq = xq + (1.0 - np.abs(xq))
    if not keep_negative:
        xq = (xq + 1.0) / 2.0
    return scale * xq


def qk_relu(x: np.ndarray, bits: int, integer: int = 0, negative_slope: float = 0.0) -> np.ndarray:
    non_sign_bits = bits - (negative_slope != 0.0)
    m, m_i = 2.0**non_sign_bits, 2.0**integer
    p = x * m / m_i
    xq = m_i * np.clip(np.rint(p) / m, 0.0, 1.0 - 1.0 / m)
    if negative_slope > 0:
        neg_factor = 1 / (negative_slope * m)
        xq = xq + m_i * negative_slope * np.clip(np.rint(p * negative_slope) * neg_factor, -1.0, 0.0)
    return xq


def _hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(0.5 * x + 0.5, 0.0, 1.0)


def qk_tanh(x: np.ndarray, bits: int, symmetric: bool = False, use_real_tanh: bool = False) -> np.ndarray:
    m = 2.0 ** (bits - 1)
    p = F32(np.tanh(x)).astype(np.float64) if use_real_tanh else 2.0 * _hard_sigmoid(x) - 1.0
    return np.clip(np.rint(p * m) / m, -1.0 + (1.0 * symmetric) / m, 1.0 - 1.0 / m)


def qk_sigmoid(x: np.ndarray, bits: int, symmetric: bool = False, use_real_sigmoid: bool = False) -> np.ndarray:
    m = 2.0**bits
    p = F32(1 / (1 + np.exp(-x))).astype(np.float64) if use_real_sigmoid else _hard_sigmoid(x)
    return np.clip(np.rint(p * m) / m, (1.0 * symmetric) / m, 1.0 - 1.0 / m)


def qk_binary(x: np.ndarray, use_01: bool = False, alpha: float | None = None) -> np.ndarray:
    k = np.sign(x)
    k = k + (1.0 - np.abs(k))
    if use_01:
        k = (k + 1.0) / 2.0
    return (1.0 if alpha is None else alpha) * k


def qk_ternary(x: np.ndarray, alpha: float | None = None, threshold: float | None = None) -> np.ndarray:
    t = 0.33 if threshold is None else threshold
    q = (np.abs(x) >= t) * np.sign(x)
    return (1.0 if alpha is None else alpha) * q


def _po2_exp(x_abs: np.ndarray, min_exp: int, max_exp: int, max_value: float | None, quadratic: bool, rounding: str) -> np.ndarray:
    eps = F32(1e-7)
    xa = x_abs.astype(F32)
    xf = np.where(xa < eps, eps, xa)
    if max_value is not None:
        xf = np.where(xf >= F32(max_value), F32(max_value), xf)
    xin = np.sqrt(xf) if quadratic else xf
    r = (np.log(xin) / F32(np.log(2.0))).astype(F32)
    e = np.floor(r) if rounding == "floor" else np.rint(r)
    clipped = (2.0 if quadratic else 1.0) * np.clip(e.astype(np.float64), min_exp, max_exp)
    return np.where(xa < eps, float(min_exp), clipped)


def qk_po2(x: np.ndarray, bits: int = 8, max_value: float | None = None, quadratic_approximation: bool = False, log2_rounding: str = "rnd") -> np.ndarray:
    need = 1 if (max_value is None or max_value > 1) else 0
    eb = bits - 1 - need
    min_exp, max_exp = -(2**eb), 2**eb - 1
    if quadratic_approximation:
        max_exp = 2 * (max_exp // 2)
    s = np.sign(x)
    s = s + (1.0 - np.abs(s))
    return s * 2.0 ** _po2_exp(np.abs(x), min_exp, max_exp, max_value, quadratic_approximation, log2_rounding)


def qk_relu_po2(x: np.ndarray, bits: int = 8, max_value: float | None = None, negative_slope: float = 0.0, quadratic_approximation: bool = False) -> np.ndarray:
    need = 1 if (max_value is None or max_value > 1) else 0
    min_exp, max_exp = -(2 ** (bits - need)), 2 ** (bits - need) - 1
    if quadratic_approximation:
        max_exp = 2 * (max_exp // 2)
    pos = _po2_exp(np.maximum(x, 0), min_exp, max_exp, max_value, quadratic_approximation, "rnd")
    neg = _po2_exp(np.maximum(-x, 0) * negative_slope, min_exp, max_exp, max_value, quadratic_approximation, "rnd")
    return np.where((x >= 0) | (negative_slope == 0.0), 2.0**pos, -(2.0**neg))


# ----------------------------------------------------------------------------- ap_fixed oracle


def fixed_cast(x: np.ndarray, t) -> np.ndarray:  # noqa: ANN001  (t: hlsforge FixedType)
    """NUMERICS.md §2 for float64 inputs: scale by 2**F, truncate, add one LSB by the rounding
    rule, then apply the overflow mode."""
    x = np.asarray(x, np.float64)
    f = t.width - t.integer
    s = x * 2.0**f
    fl = np.floor(s)
    frac = s - fl
    qb = frac >= 0.5
    rest = np.where(qb, frac > 0.5, frac > 0)
    neg = x < 0
    lsb = np.mod(fl, 2) == 1
    mode = t.rounding.value
    add = {
        "TRN": np.zeros_like(qb),
        "TRN_ZERO": neg & (qb | rest),
        "RND": qb,
        "RND_ZERO": qb & (neg | rest),
        "RND_MIN_INF": qb & rest,
        "RND_INF": qb & (~neg | rest),
        "RND_CONV": qb & (lsb | rest),
    }[mode]
    r = fl + add
    lo = -(2.0 ** (t.width - 1)) if t.signed else 0.0
    hi = 2.0 ** (t.width - 1) - 1 if t.signed else 2.0**t.width - 1
    ov = t.overflow.value
    if ov == "SAT":
        r = np.clip(r, lo, hi)
    elif ov == "SAT_SYM":
        r = np.clip(r, -hi if (t.signed and t.width > 1) else lo, hi)
    elif ov == "SAT_ZERO":
        r = np.where((r < lo) | (r > hi), 0.0, r)
    else:
        span = 2.0**t.width
        r = np.mod(r - lo, span) + lo
    return r * 2.0**-f


def run_steps(x: np.ndarray, steps) -> np.ndarray:  # noqa: ANN001
    """Evaluate a chain of ``Step`` with float64 maths and ``fixed_cast`` for Quantize."""
    y = np.asarray(x, np.float64)
    for st in steps:
        op = st.op.value
        a = st.attrs
        if op == "Quantize":
            y = fixed_cast(y, a.target)
        elif op == "Clip":
            y = np.clip(y, -np.inf if a.min is None else a.min, np.inf if a.max is None else a.max)
        elif op == "Tanh":
            y = F32(np.tanh(y)).astype(np.float64)
        elif op == "Sigmoid":
            y = F32(1 / (1 + np.exp(-y))).astype(np.float64)
        elif op == "HardSigmoid":
            y = np.clip(a.alpha * y + a.beta, 0.0, 1.0)
        elif op == "LeakyReLU":
            y = np.where(y >= 0, y, y * a.alpha)
        elif op == "Mul":
            y = y * st.const
        elif op == "Add":
            y = y + st.const
        else:
            raise AssertionError(f"unexpected step {op}")
    return y
