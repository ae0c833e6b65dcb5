"""PyTorch's own attention modules through torch.onnx (issue 12): ``nn.TransformerEncoderLayer``
(pre- and post-norm, GELU), ``nn.TransformerEncoder``, a small tagger built on it and
``nn.MultiheadAttention`` as self-attention load, and the float reference and the CPU backend
agree with ONNX Runtime at rtol 1e-4 / atol 1e-5 at batch 1 and 5.

``nn.MultiheadAttention`` computes sequence-first and folds the batch into the heads
(``(L, N*H, hd)``); ``frontends/onnx/attention_layout.py`` moves the batch back to axis 0 before
conversion (docs/ir.md "Batch folded into other axes"). Exports here: the TorchScript exporter
(``dynamo=False``) with a dynamic batch, with the batch baked in (1 and 5), opsets 14/17/18; the
dynamo exporter when ``onnxscript`` is installed. Sequence-first inputs (``batch_first=False``)
and ops that would mix events are refused, naming the node.

The layer is exported inside a wrapper module: passed to ``torch.onnx.export`` itself, this
torch fills in ``forward``'s defaults as traced tensors and the export fails in
``scaled_dot_product_attention`` (``is_causal`` must be bool) — a torch limitation, not ours.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from torch import nn  # noqa: E402

from hlsforge import cpu_backend, reference  # noqa: E402
from hlsforge.errors import HlsforgeError, ShapeError, UnsupportedOpError  # noqa: E402
from hlsforge.frontends.onnx import load_onnx  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5
L, E = 10, 64


def _layer(norm_first: bool = True, batch_first: bool = True) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(E, 4, 128, dropout=0.0, batch_first=batch_first, activation="gelu",
                                      norm_first=norm_first)


class _Call(nn.Module):
    """``module(x)`` (or self-attention ``module(x, x, x, ...)[0]``) as a user's model calls it."""

    def __init__(self, module: nn.Module, need_weights: bool | None = None, attention: bool = False) -> None:
        super().__init__()
        self.m, self.need_weights, self.attention = module, need_weights, attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.attention:
            return self.m(x)
        if self.need_weights is None:
            return self.m(x, x, x)[0]
        return self.m(x, x, x, need_weights=self.need_weights)[0]


class _Tagger(nn.Module):
    """Linear embedding -> 2-layer TransformerEncoder -> mean over the sequence -> Linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(16, E)
        self.encoder = nn.TransformerEncoder(_layer(), 2, enable_nested_tensor=False)
        self.head = nn.Linear(E, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x)).mean(dim=1))


class _Masked(nn.Module):
    """A post-norm layer with a constant additive (finite) attention mask."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = _layer(norm_first=False)
        self.register_buffer("mask", torch.randn(L, L))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x, src_mask=self.mask)


def _export(module: nn.Module, example: tuple[int, ...], *, dynamic: bool = True, opset: int = 17) -> onnx.ModelProto:
    torch.manual_seed(0)
    module.eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(*example),), f, input_names=["x"], output_names=["y"],
                          opset_version=opset, dynamic_axes={"x": {0: "N"}, "y": {0: "N"}} if dynamic else None,
                          dynamo=False)
    return onnx.load_from_string(f.getvalue())


def _check(model: onnx.ModelProto, batches: tuple[int, ...], features: int = E, cpu: bool = True) -> None:
    graph = load_onnx(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    compiled = cpu_backend.compile(graph) if cpu else None
    for b in batches:
        x = np.random.default_rng(b).normal(size=(b, L, features)).astype(np.float32)
        want = sess.run(None, {"x": x})[0]
        np.testing.assert_allclose(reference.run(graph, x), want, rtol=RTOL, atol=ATOL)
        if compiled is not None:
            np.testing.assert_allclose(compiled.predict(x), want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_encoder_layer_matches_onnxruntime(norm_first):
    torch.manual_seed(0)
    _check(_export(_Call(_layer(norm_first)), (1, L, E)), (1, 5))


@pytest.mark.parametrize("batch", [1, 5])
def test_transformer_encoder_layer_with_the_batch_baked_in(batch):
    torch.manual_seed(1)
    _check(_export(_Call(_layer(norm_first=False)), (batch, L, E), dynamic=False), (batch,), cpu=False)


def test_transformer_encoder_and_tagger_match_onnxruntime():
    torch.manual_seed(2)
    _check(_export(_Call(nn.TransformerEncoder(_layer(), 2, enable_nested_tensor=False)), (1, L, E)), (1, 5))
    torch.manual_seed(3)
    _check(_export(_Tagger(), (1, L, 16), opset=18), (1, 5), features=16)


@pytest.mark.parametrize("need_weights", [False, None])
def test_multihead_self_attention_matches_onnxruntime(need_weights):
    torch.manual_seed(4)
    mha = nn.MultiheadAttention(E, 4, batch_first=True)
    _check(_export(_Call(mha, need_weights, attention=True), (1, L, E), opset=14), (1, 5))


class _CrossAndSlices(nn.Module):
    """Queries attend to the first 5 tokens (separate k/v projections: kdim/vdim), then a
    class-token style output (``y[:, 0]``) plus a sliced sum."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(E, 4, batch_first=True, kdim=E, vdim=E)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.attn(x, x[:, :5], x[:, :5], need_weights=False)[0]
        return y[:, 0] + y[:, 2:4].sum(1)


def test_cross_attention_and_slices():
    torch.manual_seed(9)
    _check(_export(_CrossAndSlices(), (1, L, E)), (1, 5), cpu=False)


def test_constant_attention_mask():
    torch.manual_seed(5)
    _check(_export(_Masked(), (1, L, E)), (1, 5), cpu=False)


def test_dynamo_export_matches_onnxruntime():
    pytest.importorskip("onnxscript", reason="torch's dynamo ONNX exporter needs onnxscript")
    torch.manual_seed(6)
    layer = _layer().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(layer, (torch.randn(2, L, E),), input_names=["x"], output_names=["y"],
                                    dynamic_shapes=({0: torch.export.Dim("N")},), verbose=False)
    _check(program.model_proto, (1, 5))


def test_sequence_first_layer_is_refused_naming_the_node():
    torch.manual_seed(7)
    model = _export(_Call(_layer(batch_first=False)), (L, 1, E), dynamic=False)  # axis 0 is the sequence
    with pytest.raises(UnsupportedOpError, match=r"node '/m/self_attn/.*batch_first=True"):
        load_onnx(model)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Call(_layer(batch_first=False)).eval(), (torch.randn(L, 2, E),), f, input_names=["x"],
                          dynamic_axes={"x": {1: "N"}}, opset_version=17, dynamo=False)
    with pytest.raises(ShapeError, match=r"'x'.*axis 1.*batch_first=True"):
        load_onnx(f.getvalue())


class _MixesEvents(nn.Module):
    """Softmax over the batch once it is moved to axis 1: no per-event model computes this."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(0, 1).softmax(dim=1).transpose(0, 1)


def test_an_op_that_mixes_events_is_refused_naming_the_node():
    model = _export(_MixesEvents(), (2, L, E))
    with pytest.raises(HlsforgeError, match=r"node '/Transpose'.*moves the batch.*node '/Softmax'.*mix events"):
        load_onnx(model)


def test_hlsforge_load_takes_the_layer_itself():
    """``hlsforge.load(module, input_shape=...)`` exports a module whose ``forward`` has more
    parameters (``src_mask``, ``is_causal`` ...) through a wrapper that passes the inputs only."""
    import hlsforge

    torch.manual_seed(8)
    layer = _layer(norm_first=False).train()
    graph = hlsforge.load(layer, input_shape=(L, E))
    assert layer.training  # the user's mode is restored
    x = np.random.default_rng(8).normal(size=(3, L, E)).astype(np.float32)
    with torch.no_grad():
        want = layer.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(reference.run(graph, x), want, rtol=RTOL, atol=ATOL)
