"""torch.onnx exports using the operators issue 12 added last - an EdgeConv block (MatMul
distances, TopK, GatherElements), a Conv3D/MaxPool3D/AvgPool3D model, ConvTranspose 1D/2D
decoders, ReduceProd in both opset forms - against ONNX Runtime (1 thread, rtol 1e-4 /
atol 1e-5) through ``reference.run`` and the CPU backend, at batch 1 and 16."""

from __future__ import annotations

import numpy as np
import pytest

from hlsforge import cpu_backend, reference
from hlsforge.frontends.onnx import load_onnx

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
from model_zoo import run_onnxruntime  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402
from ops3_models import conv3d_onnx, conv_transpose_onnx, decoder_onnx, edgeconv_onnx  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


def _reduce_prod(opset: int):
    """ReduceProd with axes as an attribute (opset 13) or as an input (opset 18), keepdims 0/1."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3, 4, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, None)
    if opset >= 18:
        inits = [helper.make_tensor("ax", TensorProto.INT64, [2], [1, -1]), helper.make_tensor("ax2", TensorProto.INT64, [1], [2])]
        nodes = [helper.make_node("ReduceProd", ["x", "ax"], ["y"]),
                 helper.make_node("ReduceProd", ["x", "ax2"], ["z"], keepdims=0)]
    else:
        inits = []
        nodes = [helper.make_node("ReduceProd", ["x"], ["y"], axes=[1, -1]),
                 helper.make_node("ReduceProd", ["x"], ["z"], axes=[2], keepdims=0)]
    g = helper.make_graph(nodes, "reduce_prod", [x], [y, z], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _tf2onnx_like():
    """The shape tf2onnx gives Keras channels-last Conv3D and Conv2DTranspose layers: a
    Transpose to channels-first before each ONNX op and one back after it (NDHWC / NHWC)."""
    rng = np.random.default_rng(4)

    def w(name, *shape):
        return helper.make_tensor(name, TensorProto.FLOAT, shape, (rng.normal(size=shape) * 0.3).ravel().tolist())

    nodes = [
        helper.make_node("Transpose", ["x"], ["x_cf"], perm=[0, 4, 1, 2, 3]),
        helper.make_node("Conv", ["x_cf", "w3", "b3"], ["c3"], kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1]),
        helper.make_node("Relu", ["c3"], ["r3"]),
        helper.make_node("MaxPool", ["r3"], ["p3"], kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
        helper.make_node("Transpose", ["p3"], ["p3_cl"], perm=[0, 2, 3, 4, 1]),
        helper.make_node("Reshape", ["p3_cl", "to2d"], ["f2"]),  # (N, 3, 3*3, 4): depth folded away
        helper.make_node("Transpose", ["f2"], ["f2_cf"], perm=[0, 3, 1, 2]),
        helper.make_node("ConvTranspose", ["f2_cf", "wt", "bt"], ["ct"], strides=[2, 2], output_padding=[1, 1],
                         pads=[1, 0, 1, 0], kernel_shape=[3, 3]),
        helper.make_node("Transpose", ["ct"], ["y"], perm=[0, 2, 3, 1]),
    ]
    inits = [w("w3", 4, 2, 3, 3, 3), w("b3", 4), w("wt", 4, 3, 3, 3), w("bt", 3),
             helper.make_tensor("to2d", TensorProto.INT64, [4], [-1, 3, 9, 4])]
    g = helper.make_graph(nodes, "tf2onnx_like", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                  ["b", 6, 6, 6, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


MODELS = {
    "edgeconv_mean": lambda: edgeconv_onnx(),
    "edgeconv_max": lambda: edgeconv_onnx(points=12, c_in=5, k=3, aggregate="max", widths=(16,)),
    "conv3d": lambda: conv3d_onnx(),
    "conv_transpose1d": lambda: conv_transpose_onnx(1),
    "conv_transpose2d": lambda: conv_transpose_onnx(2),
    "decoder": lambda: decoder_onnx(latent=16, width=16),  # the benchmark's decoder, smaller
    "reduce_prod_v13": lambda: _reduce_prod(13),
    "reduce_prod_v18": lambda: _reduce_prod(18),
    "tf2onnx_like_conv3d_conv_transpose": _tf2onnx_like,
}


@pytest.fixture(scope="module")
def compiled():
    models = {n: build() for n, build in MODELS.items()}
    graphs = {n: load_onnx(m) for n, m in models.items()}
    libs = cpu_backend.compile_models(list(graphs.values()))
    return {n: (models[n], graphs[n], lib) for n, lib in zip(graphs, libs, strict=True)}


def _inputs(model, batch: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for vi in model.graph.input:
        dims = [batch] + [d.dim_value for d in vi.type.tensor_type.shape.dim[1:]]
        out[vi.name] = rng.normal(size=dims).astype(np.float32)
    return out


def _as_list(y):
    return list(y.values()) if isinstance(y, dict) else [y]


@pytest.mark.parametrize("name", list(MODELS))
def test_matches_onnxruntime(compiled, name):
    model, graph, lib = compiled[name]
    for batch in (1, 16):
        x = _inputs(model, batch, seed=batch)
        feed = x if len(x) > 1 else next(iter(x.values()))
        want = _as_list(run_onnxruntime(model, feed))
        for engine, got in (("reference", reference.run(graph, feed)), ("cpu", lib.predict(feed))):
            for g, w in zip(_as_list(got), want, strict=True):
                np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=f"{name} {engine} batch {batch}")


def test_edgeconv_imports_topk_and_gather_elements(compiled):
    ops = {n.op.value for n in compiled["edgeconv_mean"][1].nodes}
    assert {"TopK", "GatherElements", "BatchMatMul"} <= ops


def test_conv3d_model_uses_the_3d_ops(compiled):
    ops = {n.op.value for n in compiled["conv3d"][1].nodes}
    assert {"Conv3D", "MaxPool3D", "AvgPool3D"} <= ops


def test_particlenet_flattened_batch_indexing_is_refused_clearly():
    """ParticleNet's ``get_graph_feature`` adds ``arange(batch) * points`` to the indices and
    indexes the batch-flattened features: it selects across events, which per-event tensors
    cannot express. The import says so (no crash, no wrong model)."""
    import io

    import onnx
    import torch

    from hlsforge.errors import UnsupportedOpError

    class Flattened(torch.nn.Module):
        def forward(self, pts, fts):
            d = -torch.sum(pts**2, 1, keepdim=True) + 2 * torch.matmul(pts.transpose(2, 1), pts)
            idx = d.topk(k=3, dim=-1)[1]
            b, c, p = fts.size()
            idx = (idx + torch.arange(0, b).view(-1, 1, 1) * p).view(-1)
            return fts.transpose(2, 1).reshape(-1, c)[idx, :].view(b, p, 3, c).mean(2)

    f = io.BytesIO()
    torch.onnx.export(Flattened(), (torch.randn(2, 2, 8), torch.randn(2, 4, 8)), f, input_names=["p", "f"],
                      dynamic_axes={"p": {0: "b"}, "f": {0: "b"}}, dynamo=False, opset_version=17)
    with pytest.raises(UnsupportedOpError, match="batch"):
        load_onnx(onnx.load_from_string(f.getvalue()))


def test_tf2onnx_channels_last_transposes_cancel(compiled):
    """tf2onnx's NDHWC/NHWC Transposes around Conv/ConvTranspose meet the IR's own and vanish."""
    ops = [n.op.value for n in compiled["tf2onnx_like_conv3d_conv_transpose"][1].nodes]
    assert "Transpose" not in ops and {"Conv3D", "MaxPool3D", "ConvTranspose2D"} <= set(ops)
