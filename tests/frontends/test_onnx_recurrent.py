"""ONNX GRU/LSTM/RNN import (torch.onnx and tf2onnx-shaped exports) against ONNX Runtime."""

import io

import numpy as np
import pytest

from hlsforge import reference
from hlsforge.errors import UnsupportedOpError
from hlsforge.frontends.onnx import load_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _ort(model, feeds):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def _check(model, x):
    g = load_onnx(model)
    got = reference.run(g, x)
    got = got if isinstance(got, dict) else {g.outputs[0]: got}
    want = _ort(model, {"x": x})
    for (name, w), o in zip(zip([o.name for o in model.graph.output], want, strict=True), g.outputs, strict=True):
        np.testing.assert_allclose(got[o], w, rtol=1e-4, atol=1e-5, err_msg=name)
    return g


def _torch_model(cell: str, bidirectional: bool):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.r = getattr(torch.nn, cell)(4, 3, batch_first=True, bidirectional=bidirectional)
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, x):
            y, h = self.r(x)
            h = h[0] if isinstance(h, tuple) else h
            return (y,) if bidirectional else (y, self.fc(h.squeeze(0)))

    f = io.BytesIO()
    torch.onnx.export(M().eval(), torch.randn(2, 6, 4), f, input_names=["x"], dynamic_axes={"x": {0: "b"}},
                      dynamo=False, opset_version=14)
    return onnx.load_from_string(f.getvalue())


@pytest.mark.parametrize("cell", ["GRU", "LSTM", "RNN"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_recurrent_exports_match_onnxruntime(cell, bidirectional):
    model = _torch_model(cell, bidirectional)
    x = np.random.default_rng(0).normal(size=(3, 6, 4)).astype(np.float32)
    g = _check(model, x)
    assert not [n for n in g.nodes if n.op.value == "Transpose"]  # the exporter's layout moves cancelled


def _tf2onnx_like(op: str, direction: str, return_sequences: bool, opset: int = 13):
    """The shape tf2onnx gives a Keras recurrent layer: Transpose(1,0,2) -> RNN (layout 0) ->
    Squeeze / Transpose(0,2,1,3)+Reshape(0,0,-1) -> Transpose(1,0,2), or Squeeze of Y_h."""
    rng = np.random.default_rng(3)
    g = {"GRU": 3, "LSTM": 4, "RNN": 1}[op]
    dirs, h, n_in, seq = (2 if direction == "bidirectional" else 1), 5, 4, 7
    inits = [numpy_helper.from_array((rng.normal(size=s) * 0.5).astype(np.float32), n) for n, s in
             [("W", (dirs, g * h, n_in)), ("R", (dirs, g * h, h)), ("B", (dirs, 2 * g * h))]]
    inits.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), "shape"))
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "ax1"))
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "ax0"))
    attrs = {"hidden_size": h, "direction": direction}
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             helper.make_node(op, ["xt", "W", "R", "B"], outs, **attrs)]
    if return_sequences and dirs == 1:
        nodes += [helper.make_node("Squeeze", ["Y", "ax1"], ["ys"]),
                  helper.make_node("Transpose", ["ys"], ["out"], perm=[1, 0, 2])]
    elif return_sequences:
        nodes += [helper.make_node("Transpose", ["Y"], ["yt"], perm=[0, 2, 1, 3]),
                  helper.make_node("Reshape", ["yt", "shape"], ["yr"]),
                  helper.make_node("Transpose", ["yr"], ["out"], perm=[1, 0, 2])]
    elif dirs == 1:
        nodes += [helper.make_node("Squeeze", ["Y_h", "ax0"], ["out"])]
    else:
        nodes += [helper.make_node("Transpose", ["Y_h"], ["ht"], perm=[1, 0, 2]),
                  helper.make_node("Reshape", ["ht", "shape"], ["hr"]),
                  helper.make_node("Flatten", ["hr"], ["out"], axis=1)]
    graph = helper.make_graph(nodes, "tf2onnx_like", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", seq, n_in])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize("op", ["GRU", "LSTM", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_tf2onnx_shaped_recurrent_layers_match_onnxruntime(op, direction, return_sequences):
    model = _tf2onnx_like(op, direction, return_sequences)
    x = np.random.default_rng(1).normal(size=(2, 7, 4)).astype(np.float32)
    _check(model, x)


def test_sequence_first_model_input_is_refused_by_name():
    model = _tf2onnx_like("GRU", "forward", False)
    del model.graph.node[0]
    model.graph.node[0].input[0] = "x"
    with pytest.raises(UnsupportedOpError, match="layout=0"):
        load_onnx(model)


def _deep_double_b_like():
    """Three inputs like CMS DeepDoubleB: global features (BatchNorm), charged-particle and
    secondary-vertex sequences (BatchNorm, Conv1D stack as MatMul/Conv, GRU), concatenated."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)

    class Branch(nn.Module):
        def __init__(self, feats, hidden):
            super().__init__()
            self.bn = nn.BatchNorm1d(feats)
            self.conv = nn.Conv1d(feats, 8, 1)
            self.proj = nn.Linear(8, 6)  # a MatMul on (batch, seq, 8)
            self.gru = nn.GRU(6, hidden, batch_first=True)

        def forward(self, x):  # x (batch, seq, feats)
            y = torch.relu(self.conv(self.bn(x.transpose(1, 2)))).transpose(1, 2)
            _, h = self.gru(torch.relu(self.proj(y)))
            return h.squeeze(0)

    class DDB(nn.Module):
        def __init__(self):
            super().__init__()
            self.glob_bn = nn.BatchNorm1d(7)
            self.cpf, self.sv = Branch(5, 8), Branch(3, 4)
            self.head = nn.Linear(7 + 8 + 4, 2)

        def forward(self, glob, cpf, sv):
            z = torch.cat([self.glob_bn(glob), self.cpf(cpf), self.sv(sv)], dim=1)
            return torch.softmax(self.head(z), dim=1)

    m = DDB().eval()
    for bn in (m.glob_bn, m.cpf.bn, m.sv.bn):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    f = io.BytesIO()
    args = (torch.randn(2, 7), torch.randn(2, 10, 5), torch.randn(2, 4, 3))
    names = ["glob", "cpf", "sv"]
    torch.onnx.export(m, args, f, input_names=names, dynamic_axes={n: {0: "b"} for n in names}, dynamo=False, opset_version=14)
    return onnx.load_from_string(f.getvalue())


def test_deep_double_b_like_three_input_model_matches_onnxruntime():
    model = _deep_double_b_like()
    rng = np.random.default_rng(4)
    xs = {"glob": rng.normal(size=(3, 7)), "cpf": rng.normal(size=(3, 10, 5)), "sv": rng.normal(size=(3, 4, 3))}
    xs = {k: v.astype(np.float32) for k, v in xs.items()}
    g = load_onnx(model)
    assert {n.op.value for n in g.nodes} >= {"GRU", "Conv1D", "Concat"}
    want = _ort(model, xs)[0]
    np.testing.assert_allclose(reference.run(g, xs), want, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_deep_double_b_like_model_on_the_cpu_backend_matches_onnxruntime():
    model = _deep_double_b_like()
    rng = np.random.default_rng(5)
    xs = {"glob": rng.normal(size=(4, 7)), "cpf": rng.normal(size=(4, 10, 5)), "sv": rng.normal(size=(4, 4, 3))}
    xs = {k: v.astype(np.float32) for k, v in xs.items()}
    g = load_onnx(model)
    want = _ort(model, xs)[0]
    from hlsforge import cpu_backend

    (m,) = cpu_backend.compile_models([g])
    np.testing.assert_allclose(m.predict(xs), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m.predict({k: v[:1] for k, v in xs.items()}), want[:1], rtol=1e-4, atol=1e-5)


def _sequence_first_node_cases():
    from model_zoo import node_test_cases

    out = []
    for c in node_test_cases():
        (node,) = [n for n in c.model.graph.node if n.op_type in ("GRU", "LSTM", "RNN")] or [None]
        if node is not None and not any(a.name == "layout" and a.i == 1 for a in node.attribute):
            out.append(c)
    return {c.name: c for c in out}


_SEQ_FIRST = _sequence_first_node_cases()


@pytest.mark.parametrize("name", sorted(_SEQ_FIRST))
def test_onnx_node_tests_wrapped_as_exporters_do(name):
    """The backend node tests of GRU/LSTM/RNN (sequence-first X) behind the Transposes an
    exporter puts around them: batch-first model input, batch-first outputs."""
    case = _SEQ_FIRST[name]
    (node,) = [n for n in case.model.graph.node if n.op_type in ("GRU", "LSTM", "RNN")]
    g = case.model.graph
    inits = [numpy_helper.from_array(a, vi.name) for vi, a in zip(list(g.input)[1:], case.inputs[1:], strict=True)]
    seq_first_x = g.input[0].name
    nodes = [helper.make_node("Transpose", ["x"], [seq_first_x], perm=[1, 0, 2]), node]
    outs, expected = [], []
    used = [(i, o) for i, o in enumerate(node.output) if o]  # the case stores outputs of used names only
    for (i, o), a in zip(used, case.outputs, strict=True):
        perm = [2, 0, 1, 3] if i == 0 else [1, 0, 2]
        nodes.append(helper.make_node("Transpose", [o], [o + "_bf"], perm=perm))
        outs.append(helper.make_tensor_value_info(o + "_bf", TensorProto.FLOAT, None))
        expected.append(np.transpose(a, perm))
    x = np.ascontiguousarray(np.transpose(case.inputs[0], (1, 0, 2)))
    model = helper.make_model(
        helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, *x.shape[1:]])],
                          outs, inits), opset_imports=list(case.model.opset_import))
    model.ir_version = case.model.ir_version
    try:
        graph = load_onnx(model)
    except UnsupportedOpError as e:
        pytest.skip(str(e)[:300])
    got = reference.run(graph, x)
    got = list(got.values()) if isinstance(got, dict) else [got]
    for y, want in zip(got, expected, strict=True):
        np.testing.assert_allclose(y, want, rtol=1e-3, atol=1e-6)


@pytest.mark.slow
def test_torch_and_tf2onnx_recurrent_exports_on_the_cpu_backend_match_onnxruntime():
    from hlsforge import cpu_backend

    models = [_torch_model(c, bi) for c in ("GRU", "LSTM", "RNN") for bi in (False, True)]
    models += [_tf2onnx_like(op, d, rs) for op in ("GRU", "LSTM") for d in ("reverse", "bidirectional") for rs in (True, False)]
    graphs = [load_onnx(m) for m in models]
    compiled = cpu_backend.compile_models(graphs)
    for model, g, cm in zip(models, graphs, compiled, strict=True):
        for batch in (1, 16):
            x = np.random.default_rng(batch).normal(size=(batch, *g.user_shape(g.inputs[0]))).astype(np.float32)
            got = cm.predict(x)
            got = got if isinstance(got, dict) else {g.outputs[0]: got}
            for o, w in zip(g.outputs, _ort(model, {"x": x}), strict=True):
                np.testing.assert_allclose(got[o], w, rtol=1e-4, atol=1e-5, err_msg=f"{g.name}: {o}")
