"""Small graphs with per-channel / per-element quantizers, shared by the engine tests."""

from __future__ import annotations

import numpy as np

from hlsforge.ir import ElementTypes, Graph, Op, QuantizeAttrs
from hlsforge.ir.ops import ConvAttrs
from hlsforge.quantize.config import configure

MODES = [("TRN", "WRAP"), ("RND", "SAT"), ("RND_CONV", "SAT_SYM"), ("TRN_ZERO", "SAT_ZERO"), ("RND_INF", "WRAP")]


def random_elements(shape, rng, rounding="RND_CONV", overflow="SAT", prune=True) -> ElementTypes:
    w = rng.integers(1 if not prune else 0, 9, shape)
    return ElementTypes.from_arrays(w, rng.integers(-2, 5, shape), rng.integers(0, 2, shape).astype(bool),
                                    rounding, overflow)


def quantize_graph(value_shape, elements: ElementTypes, *, dense: bool = False, conv: bool = False,
                   seed: int = 0, configured: bool = True,
                   io_type: str = "io_parallel") -> Graph:
    """input -> per-element Quantize [-> Dense | Conv2D], configured as trained with an input
    type wider than the container (so the element conversion really rounds and overflows)."""
    rng = np.random.default_rng(seed)
    g = Graph(f"pe{seed}")
    g.add_input("x", value_shape)
    q = g.add_node(Op.QUANTIZE, ["x"], attrs=QuantizeAttrs.per_element(elements), name="q")
    out = q.outputs
    if dense:
        n_in = value_shape[-1]
        g.add_constant("k", rng.integers(-8, 8, (n_in, 3)) / 8.0)
        g.add_constant("b", rng.integers(-8, 8, 3) / 4.0)
        out = g.add_node(Op.DENSE, [*out, "k", "b"], name="d").outputs
    if conv:
        c = value_shape[-1]
        g.add_constant("ck", rng.integers(-8, 8, (3, 3, c, 2)) / 8.0)
        g.add_constant("cb", rng.integers(-8, 8, 2) / 4.0)
        out = g.add_node(Op.CONV2D, [*out, "ck", "cb"], attrs=ConvAttrs((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))),
                         name="c").outputs
    g.outputs = list(out)
    g.validate()
    if not configured:
        return g
    return configure(g, {"model": {"input": "ap_fixed<20,7,AP_TRN,AP_SAT>", "io_type": io_type}})


def scalar_expected(x: np.ndarray, elements: ElementTypes) -> np.ndarray:
    """The per-element conversion written the slow, obvious way: each element's own scalar
    quantizer (fixed.cast), one position at a time."""
    from hlsforge.quantize.fixed import cast

    shape = x.shape[1:]
    flat = np.broadcast_to(np.arange(elements.size).reshape(elements.shape), shape)
    out = np.zeros_like(x, dtype=np.float64)
    for pos in np.ndindex(*shape):
        t = elements.type_at(int(flat[pos]))
        if t is not None:
            out[(slice(None), *pos)] = cast(x[(slice(None), *pos)], t)
    return out
