"""Every model-zoo model: the float reference of the imported graph agrees with ONNX Runtime
(one thread) on a batch of 7, and the layout passes leave a clean channels-last graph."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from model_zoo import ZOO, make_input, run_onnxruntime

import hlsforge
from hlsforge import reference
from hlsforge.frontends.onnx import load_onnx
from hlsforge.ir import Op

RTOL, ATOL = 1e-5, 1e-6
ORT_NEWEST_OPSET = 21  # the newest opset the pinned onnxruntime runs


def _compare(graph, model, x):
    expected = run_onnxruntime(model, x)
    got = reference.run(graph, x)
    if isinstance(expected, dict):
        assert set(got) == set(expected)
        for k in expected:
            np.testing.assert_allclose(got[k], expected[k], rtol=RTOL, atol=ATOL)
    else:
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_matches_onnxruntime(name):
    model = ZOO[name]()
    x = make_input(model, batch=7, seed=3)
    graph = load_onnx(model)
    _compare(graph, model, x)
    assert graph.source_format == "onnx"
    assert not any(n.op in (Op.MATMUL, Op.IDENTITY, Op.DROPOUT, Op.BATCHNORM) for n in graph.nodes)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_leaves_no_transposes(name):
    graph = load_onnx(ZOO[name]())
    assert [n.name for n in graph.nodes if n.op is Op.TRANSPOSE] == []


def test_channels_first_inputs_and_outputs_keep_the_onnx_layout():
    model = ZOO["residual_fcn"]()
    graph = load_onnx(model)
    assert graph.input_perm == {"x": (1, 2, 0)} and graph.values["x"].shape == (8, 8, 4)
    assert graph.output_perm == {"features": (2, 0, 1)}
    assert graph.user_shape("x") == (4, 8, 8) and graph.user_shape("features") == (4, 8, 8)
    x = make_input(model)
    assert reference.run(graph, x).shape == (7, 4, 8, 8)


def test_nhwc_tf2onnx_model_needs_no_layout_record():
    graph = load_onnx(ZOO["tf2onnx_style_cnn"]())
    assert graph.input_perm == {} and graph.values["input_1"].shape == (12, 12, 3)
    assert [n.op for n in graph.nodes][:3] == [Op.CONV2D, Op.RELU, Op.MAXPOOL2D]


def test_batchnorm_is_folded_into_the_conv():
    graph = load_onnx(ZOO["cnn1d"]())
    assert [n.op for n in graph.nodes] == [Op.CONV1D, Op.RELU, Op.MAXPOOL1D, Op.FLATTEN, Op.DENSE, Op.SOFTMAX]


def test_fixed_batch_is_recorded_and_any_batch_runs():
    model = ZOO["torch_style_cnn"]()
    graph = load_onnx(model)
    assert graph.metadata["batch_size"] == 7
    y = reference.run(graph, make_input(model, batch=7)[:3])
    assert y.shape == (3, 5)


@pytest.mark.parametrize("opset", [7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, ORT_NEWEST_OPSET])
@pytest.mark.parametrize("builder", ["cnn2d", "torch_style_cnn", "tf2onnx_style_cnn"])
def test_every_supported_opset(builder, opset):
    from model_zoo import cnn2d, tf2onnx_style_cnn, torch_style_cnn

    model = {"cnn2d": cnn2d, "torch_style_cnn": torch_style_cnn, "tf2onnx_style_cnn": tf2onnx_style_cnn}[builder](opset=opset)
    _compare(load_onnx(model), model, make_input(model))


def test_newest_opset_the_installed_onnx_knows():
    """Opsets newer than onnxruntime runs: compare with ORT on the same model at its newest."""
    from model_zoo import cnn2d, torch_style_cnn

    newest = onnx.defs.onnx_opset_version()
    for build in (cnn2d, torch_style_cnn):
        model = build(opset=newest)
        x = make_input(model)
        expected = run_onnxruntime(build(opset=ORT_NEWEST_OPSET), x)
        np.testing.assert_allclose(reference.run(load_onnx(model), x), expected, rtol=RTOL, atol=ATOL)


def test_load_entry_point_reads_files_and_bytes(tmp_path):
    model = ZOO["mlp_16_64_32_32_5"]()
    path = tmp_path / "mlp.onnx"
    onnx.save(model, str(path))
    x = make_input(model)
    expected = run_onnxruntime(model, x)
    for graph in (hlsforge.load(path), hlsforge.load(str(path)), load_onnx(model.SerializeToString()), hlsforge.load(model)):
        np.testing.assert_allclose(reference.run(graph, x), expected, rtol=RTOL, atol=ATOL)
    assert hlsforge.load(path).name == "mlp_16_64_32_32_5"


def test_import_does_not_modify_the_model():
    model = ZOO["torch_style_cnn"]()
    before = model.SerializeToString()
    load_onnx(model)
    assert model.SerializeToString() == before


def test_external_weight_data(tmp_path):
    model = ZOO["deep_mlp"]()
    x = make_input(model)
    expected = run_onnxruntime(model, x)
    path = tmp_path / "deep.onnx"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location="deep.weights", size_threshold=0)  # (moves the weights out of ``model``)
    assert (tmp_path / "deep.weights").stat().st_size > 100_000
    np.testing.assert_allclose(reference.run(hlsforge.load(path), x), expected, rtol=RTOL, atol=ATOL)
