"""PyTorch models for the operators issue 12 added last, exported with torch.onnx as a user
would (dynamic batch): a ParticleNet-style EdgeConv block (k-NN by pairwise distances with
MatMul + TopK, neighbour features by GatherElements, MLP of 1x1 convolutions, mean
aggregation), a Conv3D model, ConvTranspose 1D/2D decoders. Shared by the tests and
``benchmarks/cpu_vs_onnxruntime.py``."""

from __future__ import annotations

import io

import onnx


def _torch():
    import torch

    return torch


def edgeconv_module(points: int = 16, c_in: int = 8, k: int = 4, widths: tuple[int, ...] = (32, 32),
                    aggregate: str = "mean"):
    """ParticleNet's EdgeConv (Qu & Gouskos 2020) written batch-friendly: the neighbours are
    picked per event with ``torch.gather`` (ONNX GatherElements) of ``repeat``-ed tensors
    instead of ParticleNet's flattened ``idx + arange(batch) * points`` (which indexes across
    events, something the IR's per-event tensors cannot express)."""
    torch = _torch()
    nn = torch.nn

    class EdgeConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            c = 2 * c_in
            for w in widths:
                layers += [nn.Conv2d(c, w, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
                c = w
            self.mlp = nn.Sequential(*layers)
            self.shortcut = nn.Sequential(nn.Conv1d(c_in, widths[-1], 1, bias=False), nn.BatchNorm1d(widths[-1]))
            self.act = nn.ReLU()

        def forward(self, pts, fts):  # pts (B, 2, P), fts (B, C, P)
            inner = -2 * torch.matmul(pts.transpose(2, 1), pts)
            xx = torch.sum(pts**2, dim=1, keepdim=True)
            dist = -xx - inner - xx.transpose(2, 1)  # minus the squared distance
            idx = dist.topk(k=k + 1, dim=-1)[1][:, :, 1:]  # (B, P, k), the point itself dropped
            x = fts.transpose(1, 2)  # (B, P, C)
            # sizes as Python ints (the layer's configuration): the export has constant repeats
            nb = torch.gather(x.unsqueeze(1).repeat(1, points, 1, 1), 2, idx.unsqueeze(-1).repeat(1, 1, 1, c_in))
            center = x.unsqueeze(2).repeat(1, 1, k, 1)
            edge = torch.cat([center, nb - center], dim=-1).permute(0, 3, 1, 2)  # (B, 2C, P, k)
            y = self.mlp(edge)
            y = y.mean(dim=-1) if aggregate == "mean" else y.max(dim=-1)[0]
            return self.act(y + self.shortcut(fts))

    torch.manual_seed(0)
    m = EdgeConv()
    for mod in m.modules():  # non-trivial BN statistics
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 1.5)
    return m.eval()


def conv3d_module(c: int = 4):
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv3d(1, c, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2),
        nn.Conv3d(c, 2 * c, (3, 3, 3), stride=(1, 2, 1), padding=(0, 1, 1)), nn.ReLU(),
        nn.AvgPool3d(2, ceil_mode=True, count_include_pad=False), nn.Flatten(), nn.LazyLinear(5),
    )


def conv_transpose_module(nsp: int):
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(2)
    if nsp == 1:
        return nn.Sequential(nn.ConvTranspose1d(3, 6, 4, stride=2, padding=1), nn.ReLU(),
                             nn.ConvTranspose1d(6, 4, 3, stride=3, padding=2, output_padding=1, dilation=2, groups=2))
    return nn.Sequential(nn.ConvTranspose2d(3, 8, (3, 4), stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
                         nn.ReLU(), nn.ConvTranspose2d(8, 4, 2, stride=2, groups=4), nn.Sigmoid())


def decoder_module(latent: int = 32, width: int = 32):
    """An autoencoder decoder as image and calorimeter-shower models write it: three stride-2
    ConvTranspose2d upsamplings (4x4 -> 32x32), ReLU between, a sigmoid image out."""
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(3)
    return nn.Sequential(
        nn.ConvTranspose2d(latent, width, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(width, width // 2, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(width // 2, 1, 4, stride=2, padding=1), nn.Sigmoid(),
    )


def export(module, example: tuple, names: list[str], opset: int = 17) -> onnx.ModelProto:
    """torch.onnx with a dynamic batch on every input, as users export (TorchScript exporter)."""
    torch = _torch()
    with torch.no_grad():
        module(*example)  # initialize lazy layers
    f = io.BytesIO()
    torch.onnx.export(module, example, f, input_names=names, dynamic_axes={n: {0: "batch"} for n in names},
                      dynamo=False, opset_version=opset)
    return onnx.load_from_string(f.getvalue())


def edgeconv_onnx(points: int = 16, c_in: int = 8, k: int = 4, aggregate: str = "mean",
                  widths: tuple[int, ...] = (32, 32)) -> onnx.ModelProto:
    torch = _torch()
    m = edgeconv_module(points, c_in, k, widths, aggregate)
    return export(m, (torch.randn(2, 2, points), torch.randn(2, c_in, points)), ["points", "features"])


def conv3d_onnx(size: int = 12, c: int = 4) -> onnx.ModelProto:
    torch = _torch()
    return export(conv3d_module(c), (torch.randn(2, 1, size, size, size),), ["x"])


def conv_transpose_onnx(nsp: int) -> onnx.ModelProto:
    torch = _torch()
    shape = (2, 3, 7) if nsp == 1 else (2, 3, 5, 4)
    return export(conv_transpose_module(nsp), (torch.randn(*shape),), ["x"])


def decoder_onnx(latent: int = 32, width: int = 32) -> onnx.ModelProto:
    torch = _torch()
    return export(decoder_module(latent, width), (torch.randn(2, latent, 4, 4),), ["z"])


def edgeconv_single_input_onnx(points: int = 50, c_in: int = 16, k: int = 16,
                               widths: tuple[int, ...] = (64, 64, 64)) -> onnx.ModelProto:
    """The EdgeConv block with one input ``(B, 2 + C, P)``: the first two channels are the
    coordinates (ParticleNet's ``points``), the rest the features (benchmark-sized)."""
    torch = _torch()
    block = edgeconv_module(points, c_in, k, widths)

    class OneInput(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = block

        def forward(self, x):
            return self.block(x[:, :2], x[:, 2:])

    return export(OneInput().eval(), (torch.randn(2, 2 + c_in, points),), ["x"])
