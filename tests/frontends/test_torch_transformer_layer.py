"""PyTorch's own ``nn.TransformerEncoderLayer`` (batch_first) through torch.onnx.

Not supported yet, and the test pins how it fails, so that it fails *clearly*:

- this torch's TorchScript exporter cannot export the layer at all (its fast attention path
  hands ``scaled_dot_product_attention`` a traced tensor for ``is_causal``);
- with the attention-weights path (``need_weights=True``, the same arithmetic), the export
  works, but ``nn.MultiheadAttention`` runs sequence-first inside: it transposes the batch
  behind the sequence and folds it into the heads (``(seq, batch * heads, head_dim)``), a
  layout "the batch is axis 0" cannot hold. hlsforge refuses it naming the node, never a
  wrong answer. Batch-first attention blocks (tests/frontends/test_onnx_attention.py,
  tests/sequence_zoo.py) load and match ONNX Runtime.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from hlsforge.errors import UnsupportedOpError  # noqa: E402
from hlsforge.frontends.onnx import load_onnx  # noqa: E402


def _export(layer: torch.nn.Module) -> onnx.ModelProto:
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(layer, (torch.randn(1, 10, 32),), f, input_names=["x"], output_names=["y"],
                          opset_version=17, dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, dynamo=False)
    return onnx.load_from_string(f.getvalue())


class _WeightsPathLayer(torch.nn.TransformerEncoderLayer):
    """The layer with its attention computed through the attention-weights path."""

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):  # noqa: ANN001, ANN202
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=True)[0]
        return self.dropout1(x)


def test_transformer_encoder_layer_is_refused_by_name():
    torch.manual_seed(0)
    layer = _WeightsPathLayer(32, 4, 64, dropout=0.0, batch_first=True, activation="gelu").eval()
    model = _export(layer)
    ort = pytest.importorskip("onnxruntime")
    x = np.random.default_rng(0).normal(size=(2, 10, 32)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(layer(torch.from_numpy(x)).detach().numpy(), want, rtol=1e-4, atol=1e-5)
    with pytest.raises(UnsupportedOpError, match=r"self_attn.*moves the batch axis"):
        load_onnx(model)
