"""A transformer encoder block exported by torch.onnx (issue 12): pre-norm multi-head
self-attention + LayerNorm + GELU MLP loads, and the float reference and the CPU backend agree
with ONNX Runtime (1 thread) at rtol 1e-4 / atol 1e-5.

Here the block is written out the way ViT/ParT-style taggers write it (batch first, heads split
with reshape + transpose, attention as two matrix products and a softmax); torch's own
``nn.TransformerEncoderLayer``/``nn.MultiheadAttention`` are tests/frontends/test_torch_transformer.py.
"""

from __future__ import annotations

import io
import threading

import numpy as np
import onnx
import pytest
from model_zoo import run_onnxruntime

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from hlsforge import cpu_backend, reference  # noqa: E402
from hlsforge.frontends.onnx import load_onnx  # noqa: E402
from hlsforge.ir.ops import Op  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


class EncoderBlock(nn.Module):
    """Pre-norm encoder block: x + MHA(LN(x)), then + MLP(LN(.)) with ``act`` in the MLP."""

    def __init__(self, d: int = 32, heads: int = 4, ff: int = 64, act: nn.Module | None = None) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.proj = nn.Linear(d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d, eps=1e-6)
        self.fc1, self.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.act = act if act is not None else nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        hd = d // self.heads
        z = self.ln1(x)
        q, k, v = (f(z).reshape(n, t, self.heads, hd).transpose(1, 2) for f in (self.q, self.k, self.v))
        a = torch.softmax(q @ k.transpose(-1, -2) / hd**0.5, dim=-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(n, t, d))
        return x + self.fc2(self.act(self.fc1(self.ln2(x))))


def _export(module: nn.Module, seq: int = 10, d: int = 32) -> onnx.ModelProto:
    torch.manual_seed(0)
    module.eval()
    f = io.BytesIO()
    torch.onnx.export(module, (torch.randn(1, seq, d),), f, input_names=["x"], output_names=["y"], opset_version=17,
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, dynamo=False)
    return onnx.load_from_string(f.getvalue())


def _blocks() -> dict[str, nn.Module]:
    torch.manual_seed(1)
    return {
        "gelu": EncoderBlock(),
        "gelu_tanh": EncoderBlock(act=nn.GELU(approximate="tanh")),
    }


@pytest.fixture(scope="module")
def encoders() -> dict[str, tuple]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        models = {name: _export(m) for name, m in _blocks().items()}
    graphs = {name: load_onnx(m) for name, m in models.items()}
    compiled = cpu_backend.compile_models(list(graphs.values()))
    return {name: (models[name], graphs[name], c) for name, c in zip(graphs, compiled, strict=True)}


def test_attention_is_batched_matmuls_and_softmax(encoders):
    _, graph, _ = encoders["gelu"]
    ops = [n.op for n in graph.nodes]
    assert ops.count(Op.BATCH_MATMUL) == 2 and ops.count(Op.LAYERNORM) == 2 and Op.SOFTMAX in ops
    assert Op.ERF in ops  # exact GELU as torch exports it at opset 17


@pytest.mark.parametrize("name", list(_blocks()))
@pytest.mark.parametrize("batch", [1, 16])
def test_encoder_matches_onnxruntime(encoders, name, batch):
    model, graph, compiled = encoders[name]
    x = np.random.default_rng(batch).normal(size=(batch, 10, 32)).astype(np.float32)
    want = run_onnxruntime(model, x)
    np.testing.assert_allclose(reference.run(graph, x), want, rtol=RTOL, atol=ATOL, err_msg=f"{name} reference")
    got = compiled.predict(x)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"{name} CPU backend")


def test_encoder_concurrent_predict(encoders):
    """The compiled session is const and thread-safe: concurrent calls give the serial answers."""
    _, _, compiled = encoders["gelu"]
    xs = [np.random.default_rng(b).normal(size=(b, 10, 32)).astype(np.float32) for b in (1, 5, 33)]
    want = [compiled.predict(x) for x in xs]
    errors: list[int] = []

    def work(k: int) -> None:
        for _ in range(20):
            i = k % len(xs)
            if not np.array_equal(compiled.predict(xs[i]), want[i]):
                errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_matmul_of_activations_with_different_ranks_is_refused():
    from onnx import TensorProto, helper

    from hlsforge.errors import UnsupportedOpError

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3, 4])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 2, 4, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")], "g", [a, b], [y])
    with pytest.raises(UnsupportedOpError, match="'mm'.*same rank"):
        load_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))
