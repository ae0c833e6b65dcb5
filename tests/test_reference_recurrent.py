"""The float reference of GRU/LSTM/SimpleRNN against ONNX Runtime running the same ONNX node."""

import numpy as np
import pytest
from op_zoo import RECURRENT_CASES, random_inputs

from hlsforge import reference
from hlsforge.ir.ops import Op

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

_ONNX_OP = {Op.GRU: "GRU", Op.LSTM: "LSTM", Op.SIMPLE_RNN: "RNN"}


def _ort_node(g, x):
    """The graph's single recurrent node as an ONNX node, run by ONNX Runtime (which has only
    layout=0, so Transposes move the batch around it)."""
    (node,) = g.nodes
    a = node.attrs
    def init(v):  # initial states are per event in ONNX: (dirs, batch, hidden)
        d = np.asarray(g.constant(v), np.float32)
        return np.repeat(d[:, None], x.shape[0], 1) if v.startswith("initial") else d

    inits = [numpy_helper.from_array(init(v), v) for v in node.inputs[1:]]
    names = ["xs", *node.inputs[1:4], "", *node.inputs[4:]]  # sequence_lens left out
    attrs = dict(hidden_size=a.hidden_size, direction=a.direction, activations=list(a.activations))
    if node.op is Op.GRU:
        attrs["linear_before_reset"] = int(a.linear_before_reset)
    outs = ["y", "y_h"] + (["y_c"] if node.op is Op.LSTM else [])
    nodes = [helper.make_node("Transpose", ["x"], ["xs"], perm=[1, 0, 2]),
             helper.make_node(_ONNX_OP[node.op], names, [o + "0" for o in outs], **attrs),
             helper.make_node("Transpose", ["y0"], ["y"], perm=[2, 0, 1, 3])]
    nodes += [helper.make_node("Transpose", [o + "0"], [o], perm=[1, 0, 2]) for o in outs[1:]]
    vi = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
    model = helper.make_model(
        helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, *x.shape[1:]])], vi, inits),
        opset_imports=[helper.make_opsetid("", 14)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, {"x": x})


@pytest.mark.parametrize("case", sorted(RECURRENT_CASES))
def test_recurrent_reference_matches_onnxruntime(case):
    g = RECURRENT_CASES[case]()
    x = random_inputs(g, 3, seed=1, scale=1.0)
    got = reference.run(g, x)
    want = _ort_node(g, x)
    for o, w in zip(g.outputs, want, strict=True):
        np.testing.assert_allclose(got[o], w, rtol=1e-4, atol=1e-5, err_msg=f"{case}: {o}")


def test_fixed_point_consumers_take_recurrent_cells_and_refuse_what_they_do_not_define():
    """Recurrent cells left the float-only table (docs/numerics.md §12): configure types them;
    cell clipping and per-direction activations stay refused, naming the node."""
    from dataclasses import replace

    from hlsforge.errors import UnsupportedOpError
    from hlsforge.float_only import FLOAT_ONLY
    from hlsforge.ir.ops import Op
    from hlsforge.quantize import configure

    assert not {Op.GRU, Op.LSTM, Op.SIMPLE_RNN, Op.LAYERNORM} & set(FLOAT_ONLY)
    q = configure(RECURRENT_CASES["gru"](), "ap_fixed<16,6>")
    assert {"table_f", "table_g"} <= set(q.nodes[0].options)
    g = RECURRENT_CASES["gru"]()
    g.nodes[0].attrs = replace(g.nodes[0].attrs, clip=2.0)
    with pytest.raises(UnsupportedOpError, match="'gru'.*clip"):
        configure(g, "ap_fixed<16,6>")
    g = RECURRENT_CASES["gru_bidirectional_lbr"]()
    g.nodes[0].attrs = replace(g.nodes[0].attrs, activations=("Sigmoid", "Tanh", "Sigmoid", "Relu"))
    with pytest.raises(UnsupportedOpError, match="same activations in both directions"):
        configure(g, "ap_fixed<16,6>")
    g = RECURRENT_CASES["simple_rnn"]()
    g.nodes[0].attrs = replace(g.nodes[0].attrs, activations=("Elu",), alphas=(1.0,), betas=(0.0,))
    with pytest.raises(UnsupportedOpError, match="Elu"):
        configure(g, "ap_fixed<16,6>")


def test_cpu_backend_runs_every_recurrent_case_like_the_reference():
    from hlsforge import cpu_backend

    graphs = [RECURRENT_CASES[c]() for c in sorted(RECURRENT_CASES)]
    models = cpu_backend.compile_models(graphs)
    for g, m in zip(graphs, models, strict=True):
        for batch in (1, 5):
            x = random_inputs(g, batch, seed=batch, scale=1.0)
            want, got = reference.run(g, x), m.predict(x)
            for o in g.outputs:
                np.testing.assert_allclose(got[o], want[o], rtol=1e-4, atol=1e-5, err_msg=f"{g.name}: {o}")


def test_recurrent_graphs_survive_save_and_load(tmp_path):
    from hlsforge.ir import serialize

    g = RECURRENT_CASES["lstm_bidirectional"]()
    serialize.save(g, tmp_path / "m.hlsf")
    back = serialize.load(tmp_path / "m.hlsf")
    assert back.nodes[0].attrs == g.nodes[0].attrs
    x = random_inputs(g, 2, seed=2, scale=1.0)
    for o in g.outputs:
        np.testing.assert_array_equal(reference.run(back, x)[o], reference.run(g, x)[o])
