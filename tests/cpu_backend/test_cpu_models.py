"""Every model of the foundation tests' model zoo (ONNX, loaded through the frontend) runs on
the CPU backend and agrees with the float reference at batch 1 and batch 1000."""

from __future__ import annotations

import pytest
from cpu_helpers import assert_close
from model_zoo import ZOO
from op_zoo import random_inputs

import hlsforge
from hlsforge import cpu_backend, reference


@pytest.fixture(scope="module")
def zoo_models():
    names = list(ZOO)
    graphs = [hlsforge.load(ZOO[n]()) for n in names]
    models = cpu_backend.compile_models(graphs)
    return {n: (g, m) for n, g, m in zip(names, graphs, models, strict=True)}


@pytest.mark.parametrize("name", list(ZOO))
@pytest.mark.parametrize("batch", [1, 1000])
def test_model_matches_reference(zoo_models, name, batch):
    graph, model = zoo_models[name]
    x = random_inputs(graph, batch, seed=batch)
    assert_close(model.predict(x), reference.run(graph, x), f"{name} at batch {batch}")


def test_single_event_without_batch_axis(zoo_models):
    graph, model = zoo_models["cnn2d"]
    x = random_inputs(graph, 1)[0]  # (3, 16, 16): one event in the source (NCHW) layout
    assert_close(model.predict(x), reference.run(graph, x))


def test_activations_are_fused_and_change_nothing(zoo_models):
    """Dense/Conv followed only by an activation run it in their epilogue; results agree with
    the unfused plan (and both with the reference, above)."""
    from hlsforge.cpu_backend import Tuning, compile_models, lower
    from hlsforge.cpu_backend.lower import ConvStep, DenseStep

    graph, fused_model = zoo_models["cnn2d"]
    plan = lower(graph)
    fused = [s.activation.functor for s in plan.steps if isinstance(s, (DenseStep, ConvStep)) and s.activation]
    assert fused == ["Relu", "LeakyRelu", "Relu", "Relu"]
    unfused = compile_models([graph], tuning=Tuning(fuse_activations=False))[0]
    assert not any(getattr(s, "activation", None) for s in unfused.plan.steps)
    x = random_inputs(graph, 50)
    assert_close(fused_model.predict(x), unfused.predict(x))
