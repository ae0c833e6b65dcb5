"""Sequence and attention models as torch.onnx exports them, at the sizes of real taggers
(benchmarks/cpu_vs_onnxruntime.py and the tests that check those exports).

- ``recurrent_tagger``: a GRU/LSTM/RNN over (seq, features) track sequences, last hidden state
  into a linear head (ATLAS tau ID / CMS DeepJet style);
- ``deep_double_b``: three inputs like CMS DeepDoubleB (global features with BatchNorm; charged
  particles and secondary vertices through BatchNorm, 1x1 Conv1D layers and a GRU each),
  concatenated into a dense head with softmax;
- ``transformer_block``: a pre-norm encoder block (multi-head self-attention as batched MatMuls
  and a softmax, LayerNorm, GELU MLP) written the way ViT/ParT-style taggers write it;
- ``torch_encoder_layer``: the same sizes through PyTorch's own ``nn.TransformerEncoderLayer``.

Needs torch (the ``test`` extra); weights come from fixed seeds, so every call gives the same model.
"""

from __future__ import annotations

import io
import warnings

import onnx


def _export(module, args: tuple, names: list[str]) -> onnx.ModelProto:
    import torch

    module.eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module, args, f, input_names=names, output_names=["y"], opset_version=17,
                          dynamic_axes={**{n: {0: "N"} for n in names}, "y": {0: "N"}}, dynamo=False)
    return onnx.load_from_string(f.getvalue())


def recurrent_tagger(cell: str = "GRU", seq: int = 20, n_in: int = 16, hidden: int = 64, n_out: int = 4,
                     bidirectional: bool = False) -> onnx.ModelProto:
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = getattr(nn, cell)(n_in, hidden, batch_first=True, bidirectional=bidirectional)
            self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_out)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            _, h = self.rnn(x)
            h = h[0] if isinstance(h, tuple) else h
            return self.head(h.transpose(0, 1).flatten(1))

    return _export(Tagger(), (torch.randn(2, seq, n_in),), ["x"])


def deep_double_b(n_glob: int = 27, n_cpf: int = 60, f_cpf: int = 8, n_sv: int = 5, f_sv: int = 2,
                  conv: int = 32, hidden: int = 50) -> onnx.ModelProto:
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Branch(nn.Module):
        def __init__(self, feats: int) -> None:
            super().__init__()
            self.bn = nn.BatchNorm1d(feats)
            self.c1, self.c2 = nn.Conv1d(feats, conv, 1), nn.Conv1d(conv, conv, 1)
            self.proj = nn.Linear(conv, conv)  # a MatMul on (batch, seq, conv)
            self.gru = nn.GRU(conv, hidden, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (batch, seq, feats)
            y = torch.relu(self.c2(torch.relu(self.c1(self.bn(x.transpose(1, 2)))))).transpose(1, 2)
            _, h = self.gru(torch.relu(self.proj(y)))
            return h.squeeze(0)

    class DDB(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.glob_bn = nn.BatchNorm1d(n_glob)
            self.cpf, self.sv = Branch(f_cpf), Branch(f_sv)
            self.fc = nn.Linear(n_glob + 2 * hidden, 100)
            self.out = nn.Linear(100, 2)

        def forward(self, glob: torch.Tensor, cpf: torch.Tensor, sv: torch.Tensor) -> torch.Tensor:
            z = torch.cat([self.glob_bn(glob), self.cpf(cpf), self.sv(sv)], dim=1)
            return torch.softmax(self.out(torch.relu(self.fc(z))), dim=1)

    m = DDB()
    for bn in (m.glob_bn, m.cpf.bn, m.sv.bn):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    args = (torch.randn(2, n_glob), torch.randn(2, n_cpf, f_cpf), torch.randn(2, n_sv, f_sv))
    return _export(m, args, ["glob", "cpf", "sv"])


def transformer_block(seq: int = 30, d: int = 64, heads: int = 4, ff: int = 128) -> onnx.ModelProto:
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
            self.proj = nn.Linear(d, d)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.fc1, self.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n, t, _ = x.shape
            hd = d // heads
            z = self.ln1(x)
            q, k, v = (f(z).reshape(n, t, heads, hd).transpose(1, 2) for f in (self.q, self.k, self.v))
            a = torch.softmax(q @ k.transpose(-1, -2) / hd**0.5, dim=-1)
            x = x + self.proj((a @ v).transpose(1, 2).reshape(n, t, d))
            return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))

    return _export(Block(), (torch.randn(1, seq, d),), ["x"])


def torch_encoder_layer(seq: int = 30, d: int = 64, heads: int = 4, ff: int = 128) -> onnx.ModelProto:
    """PyTorch's own ``nn.TransformerEncoderLayer`` (pre-norm, GELU, batch_first): its
    ``nn.MultiheadAttention`` folds the batch into the heads (docs/ir.md "Batch folded into
    other axes"). Exported inside a wrapper: this torch's TorchScript exporter cannot export
    the layer as the top-level module (a traced ``is_causal``)."""
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True, activation="gelu",
                                                    norm_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(x)

    return _export(Tagger(), (torch.randn(1, seq, d),), ["x"])


SEQUENCE_ZOO = {
    "gru_tagger": lambda: recurrent_tagger("GRU"),
    "lstm_tagger": lambda: recurrent_tagger("LSTM"),
    "rnn_tagger": lambda: recurrent_tagger("RNN"),
    "deep_double_b": deep_double_b,
    "transformer_block": transformer_block,
    "torch_encoder_layer": torch_encoder_layer,
}
