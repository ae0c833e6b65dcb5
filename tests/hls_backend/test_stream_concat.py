"""io_stream Concat of N streams (issues 12 and 14): Keras ``Concatenate`` of three and four
branches along the channels, along a flattened axis and along the sequence axis, with inputs
arriving in beats of different widths (Dense, Conv1D, GRU and graph-input branches). The C-sim
equals the emulator exactly at every layer and io_parallel's output; the multi-input
DeepDoubleB-like tagger streams exactly; the project's testbench passes with FIFO depths."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import op_zoo
import pytest
from hls_cases import (
    BITS_ONLY_FLAGS,
    assert_project_passes_with_measured_fifo_depths,
    assert_same_as_emulator,
    model_name,
)

from hlsforge import hls_backend, projects
from hlsforge.errors import UnsupportedOpError
from hlsforge.hls_backend.stream import streams_of
from hlsforge.quantize import configure

keras = pytest.importorskip("keras")
from keras import layers as L  # noqa: E402

from hlsforge.frontends.keras import from_keras  # noqa: E402

SEQ, N_IN = 6, 3


def _model(inputs, y, seed: int):
    m = keras.Model(inputs, y)
    rng = np.random.default_rng(seed)
    m.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in m.get_weights()])
    return from_keras(m)


def three_channels():
    """Concat along the channels of a Conv1D (4), a Dense on the sequence (5) and a GRU
    sequence (3): one position per beat, three widths."""
    x = keras.Input((SEQ, N_IN))
    a = L.Conv1D(4, 3, padding="same", activation="relu")(x)
    b = L.Dense(5)(x)
    c = L.GRU(3, return_sequences=True)(x)
    y = L.Concatenate()([a, b, c])
    y = L.Conv1D(2, 3, activation="relu")(y)
    return _model(x, L.Dense(2)(L.Flatten()(y)), seed=1)


def four_channels_two_inputs():
    """Four branches along the channels, two of them graph inputs (x1 is also read by a Dense:
    a clone), into a GRU."""
    x1, x2 = keras.Input((SEQ, N_IN)), keras.Input((SEQ, 2))
    y = L.Concatenate(axis=-1)([x1, L.Dense(4)(x1), x2, L.Conv1D(2, 1)(x2)])
    return _model([x1, x2], L.Dense(2)(L.GRU(4)(y)), seed=2)


def three_flat():
    """Flattened branches of widths 4 (Conv1D), 5 (Dense) and 3 (GRU state) have no common
    beat: the output is one beat of 16 + 5 + 3 values, into a Dense and Softmax."""
    x = keras.Input((SEQ, N_IN))
    a = L.Flatten()(L.Conv1D(4, 3)(x))
    b = L.Dense(5)(L.Flatten()(x))
    c = L.GRU(3)(x)
    y = L.Concatenate()([a, b, c])
    return _model(x, L.Softmax()(L.Dense(3)(y)), seed=3)


def four_flat_common_beat():
    """Flattened branches of widths 2, 4, 8 and 2 (one branch concatenated twice) whose sizes
    8, 16, 8, 8 all split into beats of 8 (their lcm): the output streams in beats of 8."""
    x = keras.Input((SEQ, N_IN))
    a = L.Flatten()(L.Conv1D(2, 3)(x))
    b = L.Flatten()(L.Conv1D(4, 3, activation="relu")(x))
    c = L.Dense(8)(L.Flatten()(x))
    y = L.Concatenate()([a, b, c, a])
    return _model(x, L.Dense(2)(y), seed=4)


def three_sequences():
    """Three sequences of different lengths joined along the time axis (axis 1 in Keras)."""
    xs = [keras.Input((n, N_IN)) for n in (6, 4, 2)]
    parts = [L.Conv1D(4, 1, activation="relu")(x) for x in xs]
    y = L.Conv1D(3, 3)(L.Concatenate(axis=1)(parts))
    return _model(xs, L.Dense(2)(L.GlobalAveragePooling1D()(y)), seed=5)


def _with_constant(axis: int, shape_x: tuple[int, ...], shape_c: tuple[int, ...], name: str):
    """Concat(x, c, x) of a graph input read twice and a constant (e.g. a learned token),
    then a ReLU: the constant is streamed by a process of its own."""
    from hlsforge.ir import AxisAttrs, Graph, Op

    g = Graph(name)
    g.add_input("x", shape_x)
    g.add_constant("c", np.random.default_rng(6).normal(size=shape_c).astype(np.float32) * 2)
    y = g.add_node(Op.CONCAT, ["x", "c", "x"], attrs=AxisAttrs(axis), source_name="cat").outputs[0]
    g.outputs = [g.add_node(Op.RELU, [y], source_name="relu").outputs[0]]
    return g.validate()


MODELS = {
    "three_channels": three_channels,
    "four_channels_two_inputs": four_channels_two_inputs,
    "three_flat": three_flat,
    "four_flat_common_beat": four_flat_common_beat,
    "three_sequences": three_sequences,
    "constant_channels": lambda: _with_constant(1, (SEQ, N_IN), (SEQ, 2), "cat_const_channels"),
    "constant_sequence": lambda: _with_constant(0, (SEQ, N_IN), (2, N_IN), "cat_const_sequence"),
    "constant_flat": lambda: _with_constant(0, (5,), (3,), "cat_const_flat"),
}

STREAM = {"model": {"default": "ap_fixed<16,6>", "table": "ap_fixed<18,8>", "io_type": "io_stream"}}
# a narrow output type: the Concat's cast into its result type rounds and saturates
NARROW = {"model": {"default": "ap_fixed<10,4,AP_RND,AP_SAT>", "accum": "ap_fixed<14,6,AP_RND_CONV,AP_SAT>",
                    "table": "ap_fixed<10,2,AP_RND>", "io_type": "io_stream"},
          "op_type": {"Concat": {"result": "ap_fixed<8,2,AP_RND,AP_SAT>"}}}


def _inputs(graph, n: int = 24, seed: int = 7):
    return op_zoo.random_inputs(graph, n, seed=seed, scale=1.5)


@pytest.fixture(scope="module")
def graphs():
    return {name: build() for name, build in MODELS.items()}


@pytest.fixture(scope="module")
def built(graphs):
    """Every model, in io_stream with the narrow config and io_parallel, in one library."""
    par = {**NARROW, "model": {**NARROW["model"], "io_type": "io_parallel"}}
    qs = [configure(g, NARROW) for g in graphs.values()] + [configure(g, par) for g in graphs.values()]
    labels = [model_name(f"cs_{k}") for k in graphs] + [model_name(f"cp_{k}") for k in graphs]
    ms = hls_backend.compile_many(qs, names=labels, flags=BITS_ONLY_FLAGS)
    n = len(graphs)
    return {k: (qs[i], ms[i], ms[i + n]) for i, k in enumerate(graphs)}


def _concat_layer(model):
    (layer,) = [layer for layer in model.layers if layer.op == "Concat"]
    return layer


@pytest.mark.parametrize("name", list(MODELS))
def test_concat_streams_exactly_and_equals_io_parallel(built, name):
    g, s, p = built[name]
    assert s.model.io_type == "io_stream" and p.model.io_type == "io_parallel"
    x = _inputs(g)
    assert_same_as_emulator(s, g, x, name)
    got, want = s.predict(x), p.predict(x)
    if isinstance(want, dict):
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=name)
    else:
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_the_output_beat_and_the_kernel(built):
    """Channels: one position per beat; flattened branches without a common beat: one beat;
    with one: their lcm; along the sequence: one position per beat."""
    want = {
        "three_channels": ("concat_channels_stream", 12, [4, 5, 3]),
        "four_channels_two_inputs": ("concat_channels_stream", 11, [3, 4, 2, 2]),
        "three_flat": ("concat_channels_stream", 24, [4, 5, 3]),
        "four_flat_common_beat": ("concat_blocks_stream", 8, [2, 4, 8, 2]),
        "three_sequences": ("concat_blocks_stream", 4, [4, 4, 4]),
    }
    for name, (kernel, beat, widths) in want.items():
        _, s, _ = built[name]
        layer = _concat_layer(s.model)
        (call,) = layer.calls
        assert call.kernel == f"hlsforge::{kernel}", name
        assert layer.streams[0].beat == beat, name
        # one kernel call reads every input FIFO: N inputs, one output, one concat_in each
        assert len(call.args) == len(widths) + 1 and len(call.template_args) == len(widths) + 2, name
        beat_of = {f.name: f.beat for f in streams_of(s.model)} | {p.name: p.beat for p in s.model.inputs}
        assert [beat_of[a] for a in call.args[:-1]] == widths, name
        assert all(t.startswith(f"{layer.ident}_in") for t in call.template_args[2:]), name


def test_every_fifo_has_one_writer_and_one_reader(built):
    """DATAFLOW: in the top function each internal FIFO appears in exactly two calls."""
    for name in MODELS:
        _, s, _ = built[name]
        top = hls_backend.render(s.model)[f"{s.model.name}.cpp"]
        calls = [line for line in top.splitlines() if line.strip().startswith("hlsforge::") and "(" in line]
        for f in streams_of(s.model):
            users = [c for c in calls if re.search(rf"[(,] ?{f.name}[,)]", c[c.index(">(") + 1 :])]
            assert len(users) == 2, (name, f.name, users)


def test_trace_keys_are_the_model_layers(built):
    from hlsforge.reference import trace_keys

    for name in ("three_channels", "four_flat_common_beat"):
        g, s, _ = built[name]
        assert set(s.trace(_inputs(g, 2))) == set(trace_keys(g).values()), name


def test_a_constant_input_is_a_stream_of_its_own(built):
    """The constant's beats come from a stream_constant process into a FIFO of the Concat's
    layer: one writer, one reader, sized like the others, not a trace key."""
    from hlsforge.hls_backend.stream import size_fifos

    g, s, _ = built["constant_sequence"]
    layer = _concat_layer(s.model)
    const, cat = layer.calls
    assert const.kernel == "hlsforge::stream_constant" and cat.kernel == "hlsforge::concat_blocks_stream"
    (fifo,) = [f for f in layer.streams if f.name == const.args[1]]
    assert cat.args[1] == fifo.name and fifo.n_beats == 2
    _, report = size_fifos(g, s.model)
    assert fifo.name in {f.name for f in report.fifos}
    assert len(s.trace(_inputs(g, 2))) == len(g.nodes)


def test_a_concat_of_constants_only_is_refused_by_name():
    from hlsforge.ir import AxisAttrs, Graph, Op

    g = Graph("concat_consts")
    g.add_input("x", (4, 3))
    g.add_constant("c", np.ones((4, 2), dtype=np.float32))
    g.add_constant("d", np.ones((4, 1), dtype=np.float32))
    y = g.add_node(Op.CONCAT, ["c", "d"], attrs=AxisAttrs(1), source_name="cat").outputs[0]
    g.outputs = [g.add_node(Op.CONCAT, ["x", y], attrs=AxisAttrs(1), source_name="cat2").outputs[0]]
    with pytest.raises(UnsupportedOpError, match=r"'cat'.*constants only.*io_parallel"):
        hls_backend.lower(configure(g.validate(), STREAM))


def _deep_double_b_like():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "frontends"))
    from test_onnx_recurrent import _deep_double_b_like as build

    from hlsforge.frontends.onnx import load_onnx

    return load_onnx(build())


def _ddb_inputs(n: int, seed: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = {"glob": rng.normal(size=(n, 7)), "cpf": rng.normal(size=(n, 10, 5)), "sv": rng.normal(size=(n, 4, 3))}
    return {k: v.astype(np.float32) for k, v in xs.items()}


def test_deep_double_b_like_model_streams_exactly():
    """The CMS DeepDoubleB-like torch.onnx export (three inputs: BatchNorm, Conv1D + MatMul +
    GRU branches, a three-way Concat of widths 7, 8 and 4, Dense, Softmax) in io_stream: exact
    at every layer, and the same bits as io_parallel."""
    pytest.importorskip("torch")
    g = _deep_double_b_like()
    par = {"model": {**STREAM["model"], "io_type": "io_parallel"}}
    qs, qp = configure(g, STREAM), configure(g, par)
    s, p = hls_backend.compile_many([qs, qp], names=["ddb_stream", "ddb_parallel"], flags=BITS_ONLY_FLAGS)
    xs = _ddb_inputs(30)
    assert_same_as_emulator(s, qs, xs, "deep_double_b_like")
    np.testing.assert_array_equal(s.predict(xs), p.predict(xs))
    assert _concat_layer(s.model).streams[0].beat == 19


def test_project_testbench_passes_and_fifo_depths_are_written(graphs, tmp_path):
    out = tmp_path / "prj"
    projects.write_project(graphs["four_channels_two_inputs"], STREAM, out, n_test_events=8)
    assert_project_passes_with_measured_fifo_depths(out, "concat_channels_stream<")


@pytest.mark.slow
def test_full_size_deep_double_b_streams_exactly_with_fifo_depths():
    """sequence_zoo.deep_double_b at its real sizes (60 charged particles, Conv1D 32, GRU 50;
    a Concat of 27 + 50 + 50) in io_stream: exact at every layer; FIFO depths measured."""
    pytest.importorskip("torch")
    import sequence_zoo

    from hlsforge.frontends.onnx import load_onnx
    from hlsforge.hls_backend.stream import size_fifos

    g = configure(load_onnx(sequence_zoo.deep_double_b()), STREAM)
    m = hls_backend.compile(g, name="ddb_full_stream", flags=BITS_ONLY_FLAGS)
    rng = np.random.default_rng(5)
    xs = {"glob": rng.normal(size=(8, 27)), "cpf": rng.normal(size=(8, 60, 8)), "sv": rng.normal(size=(8, 5, 2))}
    assert_same_as_emulator(m, g, {k: v.astype(np.float32) for k, v in xs.items()}, "deep_double_b")
    _, report = size_fifos(g, m.model)
    assert {f.name for f in report.fifos} == {s.name for s in streams_of(m.model)}
    assert report.cycles >= 60  # the 60 charged-particle steps, one beat per cycle


@pytest.mark.slow
def test_concats_with_real_ap_types_and_hls_stream(graphs):
    """The Concat models against Xilinx ap_fixed.h and the hls_stream.h the hls4ml wheel ships."""
    qs = {k: configure(g, NARROW) for k, g in graphs.items()}
    models = hls_backend.compile_many(list(qs.values()), names=[model_name(f"ap_cat_{k}") for k in qs],
                                      fixed_lib="ap_types", flags=BITS_ONLY_FLAGS)
    for (k, g), m in zip(qs.items(), models, strict=True):
        assert_same_as_emulator(m, g, _inputs(g, 8, seed=9), k)
