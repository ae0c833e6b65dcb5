"""Train the bundled example model and write it as ONNX: ``examples/jet_tagger_mlp.onnx``.

A jet-tagging-style MLP (16 inputs, 64-32-32 ReLU, 5-way softmax), the shape of the classic
hls4ml tutorial model, trained with plain numpy on synthetic data so that the script needs
nothing beyond hlsforge's core dependencies. The five "jet classes" are Gaussian blobs in a
16-dimensional feature space with class-dependent means and widths; the point is a realistic
weight distribution, not physics.

Run ``python examples/make_jet_tagger.py`` to regenerate; the result is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

N_FEATURES, N_CLASSES = 16, 5
HIDDEN = (64, 32, 32)
OUT = Path(__file__).with_name("jet_tagger_mlp.onnx")


def synthetic_jets(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    means = rng.normal(0.0, 1.0, size=(N_CLASSES, N_FEATURES))
    widths = rng.uniform(0.6, 1.4, size=(N_CLASSES, N_FEATURES))
    labels = rng.integers(0, N_CLASSES, size=n)
    x = means[labels] + widths[labels] * rng.normal(size=(n, N_FEATURES))
    return x.astype(np.float32), labels


def train(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, epochs: int = 30) -> list[tuple[np.ndarray, np.ndarray]]:
    """Mini-batch SGD with momentum on cross-entropy; returns [(W, b)] per layer."""
    sizes = (N_FEATURES, *HIDDEN, N_CLASSES)
    params = [
        (rng.normal(0, np.sqrt(2.0 / a), size=(a, b)).astype(np.float32), np.zeros(b, np.float32))
        for a, b in zip(sizes[:-1], sizes[1:], strict=False)
    ]
    velocity = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
    onehot = np.eye(N_CLASSES, dtype=np.float32)[y]
    lr, momentum, batch = 0.02, 0.9, 256
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            acts = [x[idx]]
            for i, (w, b) in enumerate(params):
                z = acts[-1] @ w + b
                acts.append(np.maximum(z, 0) if i < len(params) - 1 else z)
            logits = acts[-1]
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            grad = (p - onehot[idx]) / len(idx)
            for i in reversed(range(len(params))):
                w, b = params[i]
                gw, gb = acts[i].T @ grad, grad.sum(0)
                if i > 0:
                    grad = (grad @ w.T) * (acts[i] > 0)
                vw, vb = velocity[i]
                vw[:] = momentum * vw - lr * gw
                vb[:] = momentum * vb - lr * gb
                w += vw
                b += vb
    return params


def accuracy(params: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray, y: np.ndarray) -> float:
    a = x
    for i, (w, b) in enumerate(params):
        a = a @ w + b
        if i < len(params) - 1:
            a = np.maximum(a, 0)
    return float((a.argmax(1) == y).mean())


def to_onnx(params: list[tuple[np.ndarray, np.ndarray]]) -> onnx.ModelProto:
    """Gemm + Relu layers and a final Softmax, as torch.onnx / keras2onnx export an MLP."""
    nodes, inits = [], []
    prev = "input"
    for i, (w, b) in enumerate(params):
        name = f"fc{i + 1}"
        inits += [numpy_helper.from_array(w, f"{name}.weight"), numpy_helper.from_array(b, f"{name}.bias")]
        nodes.append(helper.make_node("Gemm", [prev, f"{name}.weight", f"{name}.bias"], [f"{name}_out"], name=name))
        prev = f"{name}_out"
        if i < len(params) - 1:
            nodes.append(helper.make_node("Relu", [prev], [f"relu{i + 1}_out"], name=f"relu{i + 1}"))
            prev = f"relu{i + 1}_out"
    nodes.append(helper.make_node("Softmax", [prev], ["output"], name="softmax", axis=-1))
    graph = helper.make_graph(
        nodes,
        "jet_tagger_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", N_FEATURES])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", N_CLASSES])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="hlsforge-example")
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def main() -> None:
    rng = np.random.default_rng(2026)
    x, y = synthetic_jets(20000, rng)
    params = train(x[:16000], y[:16000], rng)
    print(f"validation accuracy on synthetic jets: {accuracy(params, x[16000:], y[16000:]):.3f}")
    onnx.save(to_onnx(params), OUT)
    np.save(OUT.with_name("jet_tagger_inputs.npy"), x[16000:16200])
    print(f"wrote {OUT} and 200 example inputs")


if __name__ == "__main__":
    main()
