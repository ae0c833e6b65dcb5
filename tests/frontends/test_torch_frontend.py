"""PyTorch modules → ONNX (in memory) → IR, against ``module(x)``; inputs stay in PyTorch's
layout (NCHW). The CPU backend is checked on the same models in one compiler run."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("hlsforge.frontends.onnx") is None:  # pragma: no cover
    pytest.skip("the ONNX frontend is not there yet", allow_module_level=True)

from torch import nn  # noqa: E402

import hlsforge  # noqa: E402
from hlsforge import reference  # noqa: E402
from hlsforge.errors import ModelFormatError  # noqa: E402
from hlsforge.frontends.torch import from_torch  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


class Branches(nn.Module):
    """torch.cat, +, * and elementwise activations between two branches."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 5)
        self.b = nn.Linear(6, 5)
        self.out = nn.Linear(10, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.tanh(self.a(x))
        b = nn.functional.elu(self.b(x))
        s = a + b * torch.sigmoid(b)
        return torch.softmax(self.out(torch.cat([s, a * 0.5], dim=1)), dim=1)


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3)
        self.fc_x = nn.Linear(12, 3)
        self.fc_y = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.fc_x(torch.flatten(self.conv(x), 1)) + self.fc_y(y)


def bn_randomized(m: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(0)
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                mod.running_mean.copy_(torch.randn(mod.num_features, generator=g))
                mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(mod.num_features, generator=g))
    return m.eval()


def make_models() -> dict[str, tuple[nn.Module, tuple]]:
    torch.manual_seed(0)
    return {
        "mlp": (nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 8), nn.Sigmoid(), nn.Linear(8, 4)), (10,)),
        "mlp_acts": (
            nn.Sequential(nn.Linear(8, 8), nn.LeakyReLU(0.1), nn.Linear(8, 8), nn.ReLU6(), nn.Linear(8, 8), nn.Hardtanh(),
                          nn.Linear(8, 8), nn.Softplus(), nn.Linear(8, 8), nn.SELU(), nn.Linear(8, 4), nn.Softmax(dim=1)),
            (8,),
        ),
        "conv1d": (
            nn.Sequential(nn.Conv1d(3, 6, 3, padding=1), nn.BatchNorm1d(6), nn.ReLU(), nn.MaxPool1d(2),
                          nn.Conv1d(6, 4, 3), nn.AvgPool1d(2), nn.Flatten(), nn.Linear(4 * 3, 5)),
            (3, 16),
        ),
        "conv2d": (
            nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.LeakyReLU(0.2), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, groups=2, stride=2), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8, 3)),
            (3, 12, 12),
        ),
        "global_pool": (
            nn.Sequential(nn.Conv2d(2, 4, 3), nn.ELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2), nn.Tanh()),
            (2, 7, 7),
        ),
        "branches": (Branches(), (6,)),
    }


@pytest.fixture(scope="module")
def converted() -> dict[str, tuple[nn.Module, hlsforge.Graph, np.ndarray]]:
    out = {}
    rng = np.random.default_rng(0)
    for name, (module, shape) in make_models().items():
        module = bn_randomized(module)
        g = from_torch(module, shape)
        x = rng.normal(size=(5, *shape)).astype(np.float32)
        out[name] = (module, g, x)
    return out


def torch_out(module: nn.Module, *xs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(*[torch.from_numpy(x) for x in xs]).numpy()


@pytest.mark.parametrize("name", list(make_models()))
def test_reference_matches_torch(converted: dict, name: str) -> None:
    module, g, x = converted[name]
    assert g.user_shape(g.inputs[0]) == x.shape[1:]  # PyTorch layout for the user
    np.testing.assert_allclose(reference.run(g, x), torch_out(module, x), **TOL)


def test_two_inputs() -> None:
    m = TwoInputs().eval()
    g = from_torch(m, [(2, 6), (4,)])
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(3, 2, 6)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(reference.run(g, [x, y]), torch_out(m, x, y), **TOL)


def test_hlsforge_load_dispatches_user_module() -> None:
    m = Branches().eval()
    g = hlsforge.load(m, input_shape=(6,))
    x = np.random.default_rng(2).normal(size=(4, 6)).astype(np.float32)
    np.testing.assert_allclose(reference.run(g, x), torch_out(m, x), **TOL)
    assert m.training is False


def test_training_mode_restored() -> None:
    m = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5)).train()
    g = from_torch(m, (3,))
    assert m.training
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(reference.run(g, x), torch_out(m.eval(), x), **TOL)


def test_input_shape_required() -> None:
    with pytest.raises(ModelFormatError, match="input_shape"):
        hlsforge.load(nn.Linear(2, 2))
    with pytest.raises(ModelFormatError, match="input_shape"):
        from_torch(nn.Linear(2, 2), "bad")


@pytest.mark.skipif(importlib.util.find_spec("hlsforge.cpu_backend") is None, reason="CPU backend not there yet")
def test_cpu_backend_matches_torch(converted: dict) -> None:
    from hlsforge import cpu_backend

    names = list(converted)
    models = cpu_backend.compile_models([converted[n][1] for n in names])
    for name, cm in zip(names, models, strict=True):
        module, _, x = converted[name]
        np.testing.assert_allclose(cm.predict(x), torch_out(module, x), rtol=1e-4, atol=1e-5, err_msg=name)
