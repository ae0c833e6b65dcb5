"""C simulation == emulator on real models (the foundation's ONNX zoo, loaded with
hlsforge.load) and on randomized small graphs, every layer compared exactly."""

from __future__ import annotations

import model_zoo
import numpy as np
import pytest
from hls_cases import BITS_ONLY_FLAGS, QUICK_CONFIGS, assert_same_as_emulator, fixed

import hlsforge
from hlsforge.hls_backend import compile, compile_many, valid_reuse_factors
from hlsforge.ir import (
    AlphaAttrs,
    ConvAttrs,
    Graph,
    HardSigmoidAttrs,
    Op,
    PoolAttrs,
    SoftmaxAttrs,
)
from hlsforge.quantize.config import configure

ZOO_CONFIGS = ("w16_default", "w12_rndconv_wrap")


@pytest.fixture(scope="module")
def zoo_models():
    cases = []
    for name, build in model_zoo.ZOO.items():
        for cname in ZOO_CONFIGS:
            cases.append(
                (f"{name}__{cname}", name, configure(hlsforge.load(build()), QUICK_CONFIGS[cname]))
            )
    models = compile_many(
        [g for _, _, g in cases],
        names=[f"z_{label}" for label, _, _ in cases],
        flags=BITS_ONLY_FLAGS,
    )
    return [(label, name, g, m) for (label, name, g), m in zip(cases, models, strict=True)]


def test_model_zoo_matches_emulator(zoo_models):
    assert len(zoo_models) == len(model_zoo.ZOO) * len(ZOO_CONFIGS)
    for label, name, graph, model in zoo_models:
        x = model_zoo.make_input(model_zoo.ZOO[name](), batch=16, seed=len(label))
        assert_same_as_emulator(model, graph, x, label)


def test_default_flags_build_matches_emulator():
    """The library a user gets (default -O3 flags, raw-integer fast path) on the tutorial MLP."""
    graph = configure(hlsforge.load(model_zoo.mlp_16_64_32_32_5()), "ap_fixed<16,6>")
    model = compile(graph, name="mlp_default_flags")
    x = model_zoo.make_input(model_zoo.mlp_16_64_32_32_5(), batch=500, seed=1)
    assert_same_as_emulator(model, graph, x * 3, "mlp default flags")


# ----------------------------------------------------------------------------- random graphs


def _weights(g: Graph, rng: np.random.Generator, shape: tuple[int, ...], scale: float = 0.6) -> str:
    return g.add_constant(
        g.unique_name("w"), (rng.normal(size=shape) * scale).astype(np.float32)
    ).name


def _unary(rng: np.random.Generator) -> tuple[Op, object]:
    choices = [
        (Op.RELU, None),
        (Op.LEAKY_RELU, AlphaAttrs(float(rng.uniform(0.05, 0.3)))),
        (Op.TANH, None),
        (Op.SIGMOID, None),
        (Op.HARD_SIGMOID, HardSigmoidAttrs(0.2, 0.5)),
        (Op.ELU, AlphaAttrs(1.0)),
        (Op.SOFTPLUS, None),
    ]
    return choices[int(rng.integers(len(choices)))]


def random_graph(seed: int) -> Graph:
    """A small random chain (with an occasional residual Add) over vectors, sequences or images."""
    rng = np.random.default_rng(seed)
    g = Graph(f"rand{seed}")
    kind = int(rng.integers(3))
    shape = [
        (int(rng.integers(3, 12)),),
        (int(rng.integers(5, 9)), int(rng.integers(1, 4))),
        (int(rng.integers(4, 7)), int(rng.integers(4, 7)), int(rng.integers(1, 4))),
    ][kind]
    g.add_input("x", shape)
    cur = "x"
    for _ in range(int(rng.integers(2, 6))):
        x_shape = g.values[cur].shape
        rank = len(x_shape)
        pick = int(rng.integers(4))
        if pick == 0 and rank >= 2:
            nsp = rank - 1
            k = int(rng.integers(1, 4))
            stride = int(rng.integers(1, 3))
            pad = int(rng.integers(0, 2))
            if any(d + 2 * pad < k for d in x_shape[:-1]):
                k, pad = 1, 0
            c_in, c_out = x_shape[-1], int(rng.integers(1, 5))
            attrs = ConvAttrs((k,) * nsp, (stride,) * nsp, (1,) * nsp, ((pad, pad),) * nsp, 1)
            node = g.add_node(
                Op.CONV1D if nsp == 1 else Op.CONV2D,
                [
                    cur,
                    _weights(g, rng, (k,) * nsp + (c_in, c_out)),
                    _weights(g, rng, (c_out,), 0.2),
                ],
                attrs=attrs,
            )
        elif pick == 1 and rank >= 2 and min(x_shape[:-1]) >= 2:
            nsp = rank - 1
            op = [Op.MAXPOOL1D, Op.AVGPOOL1D] if nsp == 1 else [Op.MAXPOOL2D, Op.AVGPOOL2D]
            attrs = PoolAttrs((2,) * nsp, (2,) * nsp, ((0, 0),) * nsp, bool(rng.integers(2)), False)
            node = g.add_node(op[int(rng.integers(2))], [cur], attrs=attrs)
        elif pick == 2:
            n_out = int(rng.integers(2, 9))
            node = g.add_node(
                Op.DENSE,
                [cur, _weights(g, rng, (x_shape[-1], n_out)), _weights(g, rng, (n_out,), 0.2)],
            )
        else:
            op, attrs = _unary(rng)
            node = g.add_node(op, [cur], attrs=attrs)
            if rng.integers(3) == 0:  # residual
                node = g.add_node(Op.ADD, [cur, node.outputs[0]])
        cur = node.outputs[0]
    if len(g.values[cur].shape) > 1:
        cur = g.add_node(Op.FLATTEN, [cur]).outputs[0]
    n = g.values[cur].shape[0]
    cur = g.add_node(
        Op.DENSE, [cur, _weights(g, rng, (n, 4)), _weights(g, rng, (4,), 0.2)]
    ).outputs[0]
    cur = g.add_node(Op.SOFTMAX, [cur], attrs=SoftmaxAttrs(0)).outputs[0]
    g.outputs = [cur]
    return g.validate()


def random_config(graph: Graph, seed: int) -> dict:
    rng = np.random.default_rng(seed + 1000)
    modes_q = ["TRN", "RND", "RND_CONV", "TRN_ZERO", "RND_ZERO", "RND_INF", "RND_MIN_INF"]
    modes_o = ["WRAP", "SAT", "SAT_SYM", "SAT_ZERO"]

    def t() -> str:
        w = int(rng.integers(4, 25))
        i = int(rng.integers(1, min(w, 10)))
        return fixed(w, i, modes_q[int(rng.integers(7))], modes_o[int(rng.integers(4))])

    layers = {}
    for node in graph.nodes:
        body = {"result": t()}
        if node.op in (Op.DENSE, Op.CONV1D, Op.CONV2D):
            k = graph.values[node.inputs[1]].shape
            n_in, n_out = int(np.prod(k[:-1])), k[-1]
            body.update(weight=t(), bias=t(), accum=t())
            if rng.integers(2):
                rfs = valid_reuse_factors(n_in, n_out)
                body.update(Strategy="Resource", ReuseFactor=int(rfs[int(rng.integers(len(rfs)))]))
        layers[node.name] = body
    return {"model": {"default": t(), "input": t()}, "layers": layers}


RANDOM_SEEDS = list(range(24))


@pytest.mark.filterwarnings("ignore:.*overflow.*:UserWarning")
def test_random_graphs_match_emulator():
    graphs = []
    for seed in RANDOM_SEEDS:
        g = random_graph(seed)
        graphs.append(configure(g, random_config(g, seed)))
    models = compile_many(graphs, flags=BITS_ONLY_FLAGS)
    for seed, graph, model in zip(RANDOM_SEEDS, graphs, models, strict=True):
        rng = np.random.default_rng(seed)
        x = (rng.normal(size=(40, *graph.user_shape("x"))) * 2.5).astype(np.float32)
        assert_same_as_emulator(model, graph, x, f"random graph {seed}")
