"""io_type="io_stream": FIFOs under DATAFLOW, bit-exact with the emulator at every layer, FIFO
depths measured by the C simulation, projects whose own testbench passes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import op_zoo
import pytest
import stream_models
from hls_cases import BITS_ONLY_FLAGS, assert_same_as_emulator, emulator_inputs

from hlsforge import hls_backend, projects
from hlsforge.errors import PrecisionError, UnsupportedOpError
from hlsforge.hls_backend.stream import FIFO_MARGIN, fifo_depths, streams_of
from hlsforge.quantize import emulate
from hlsforge.quantize.config import configure


@pytest.fixture(scope="module")
def cnns() -> dict[str, tuple[object, object]]:
    """Every acceptance CNN, quantized, compiled together into ONE library (one compiler run:
    the six io_stream models also prove that their symbols do not clash)."""
    graphs = {k: configure(build(), cfg) for k, (build, cfg) in stream_models.MODELS.items()}
    models = hls_backend.compile_many(list(graphs.values()), names=list(graphs), flags=BITS_ONLY_FLAGS)
    return {k: (graphs[k], m) for k, m in zip(graphs, models, strict=True)}


@pytest.mark.parametrize("label", list(stream_models.MODELS))
def test_cnn_equals_emulator_at_every_layer(cnns, label: str) -> None:
    graph, model = cnns[label]
    assert model.model.io_type == "io_stream"
    assert_same_as_emulator(model, graph, emulator_inputs(graph, seed=7, batch=24), label)


def test_every_op_streams_exactly() -> None:
    """The op zoo (one small graph per final op) through io_stream: exact at every layer."""
    from hlsforge.hls_backend.stream.lower import UNSUPPORTED

    config = {"model": {"default": "ap_fixed<12,4,AP_RND,AP_SAT>", "io_type": "io_stream"}}
    graphs = {k: configure(build(), config) for k, build in op_zoo.CASES.items()}
    graphs = {k: g for k, g in graphs.items() if not any(n.op in UNSUPPORTED for n in g.nodes)}
    models = hls_backend.compile_many(list(graphs.values()), names=[f"s_{k}" for k in graphs], flags=BITS_ONLY_FLAGS)
    for (k, g), m in zip(graphs.items(), models, strict=True):
        assert_same_as_emulator(m, g, emulator_inputs(g, seed=3, batch=16), k)


def test_stream_and_parallel_give_the_same_bits(cnns) -> None:
    graph, stream = cnns["jet_cnn"]
    build, cfg = stream_models.MODELS["jet_cnn"]
    body = {k: v for k, v in cfg["model"].items() if k != "io_type"}
    pgraph = configure(build(), {**cfg, "model": body})
    parallel = hls_backend.compile(pgraph, name="jet_parallel", flags=BITS_ONLY_FLAGS)
    assert parallel.model.io_type == "io_parallel"
    x = emulator_inputs(graph, seed=11, batch=32)
    np.testing.assert_array_equal(stream.predict(x), parallel.predict(x))
    np.testing.assert_array_equal(stream.predict(x), emulate.run(graph, x))


def test_generated_top_function() -> None:
    graph = configure(stream_models.residual_model(), stream_models.stream_config())
    model = hls_backend.lower(graph)
    files = hls_backend.render(model)
    top = files[f"{model.name}.cpp"]
    assert "#pragma HLS DATAFLOW" in top
    assert "hls::stream<resnet_block_ns::input_beat_t> &in" in top
    assert "hlsforge::stream_clone" in top  # x feeds conv1 and the Add
    types = files[f"{model.name}_types.h"]
    assert "namespace resnet_block_ns" in types and "typedef hlsforge::beat<conv1_result_t, 4> conv1_beat_t;" in types
    assert hls_backend.render(model) == files  # deterministic


def test_fifo_depths_residual_skip_holds_a_row() -> None:
    graph = stream_models.residual_model(size=8)
    report = fifo_depths(graph, stream_models.stream_config())
    by_name = {f.name: f for f in report.fifos}
    # the skip connection must hold the beats the two 3x3 convolutions are still buffering:
    # more than one row of 8 positions; the chain FIFOs need almost nothing
    skip = by_name["in_copy2"]
    assert skip.occupancy > 8 and skip.depth == skip.occupancy + FIFO_MARGIN
    assert by_name["conv1_out"].occupancy <= 2
    assert all(f.depth <= f.beats + FIFO_MARGIN for f in report.fifos)
    assert report.cycles > 64


def test_project_testbench_passes_and_fifo_depths_are_written(tmp_path) -> None:
    graph = stream_models.residual_model()
    out = tmp_path / "prj"
    projects.write_project(graph, stream_models.stream_config(), out, n_test_events=16)
    result = projects.run_csim(out, flags=BITS_ONLY_FLAGS)
    assert result.passed, result.output
    report = json.loads((out / "fifo_depths.json").read_text())
    top = (out / "firmware" / "resnet_block.cpp").read_text()
    pragmas = dict(re.findall(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)", top))
    assert {f["name"]: str(f["depth"]) for f in report["fifos"]} == pragmas
    model = hls_backend.lower(configure(graph, stream_models.stream_config()))
    assert set(pragmas) == {s.name for s in streams_of(model)}


def test_invalid_io_type_and_unstreamable_layers() -> None:
    with pytest.raises(PrecisionError, match="io_type must be one of io_parallel, io_stream"):
        configure(stream_models.residual_model(), {"model": {"io_type": "io_serial"}})
    with pytest.raises(PrecisionError, match="unknown io_type"):
        hls_backend.lower(configure(stream_models.residual_model(), None), io_type="streaming")
    g = op_zoo.unary(op_zoo.Op.SOFTMAX, op_zoo.SoftmaxAttrs(0), (12,))
    g2 = stream_models._Net("soft_after_flatten", (3, 4))
    f = g2.add(op_zoo.Op.FLATTEN, ["x"], "flatten")
    bad = g2.done(g2.add(op_zoo.Op.SOFTMAX, [f], "softmax", op_zoo.SoftmaxAttrs(0)))
    with pytest.raises(UnsupportedOpError, match="softmax over 12 values arriving in beats of 4 in io_stream"):
        hls_backend.lower(configure(bad, {"model": {"io_type": "io_stream"}}))
    assert hls_backend.lower(configure(g, {"model": {"io_type": "io_stream"}})).io_type == "io_stream"


def test_cli_convert_io_stream(tmp_path) -> None:
    out = tmp_path / "cli_prj"
    cmd = [sys.executable, "-m", "hlsforge.cli", "convert", "examples/jet_tagger_mlp.onnx", "--backend", "hls",
           "--io-type", "io_stream", "--precision", "ap_fixed<16,6>", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=str(_repo_root()))
    assert proc.returncode == 0, proc.stderr
    assert (out / "fifo_depths.json").is_file()
    assert "#pragma HLS DATAFLOW" in next((out / "firmware").glob("*.cpp")).read_text()


def _repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_cnns_with_real_ap_types_and_hls_stream() -> None:
    """The same models against Xilinx ap_fixed.h and the hls_stream.h that the hls4ml wheel ships."""
    graphs = {k: configure(build(), cfg) for k, (build, cfg) in stream_models.MODELS.items()}
    models = hls_backend.compile_many(
        list(graphs.values()), names=[f"ap_{k}" for k in graphs], fixed_lib="ap_types", flags=BITS_ONLY_FLAGS
    )
    for (k, g), m in zip(graphs.items(), models, strict=True):
        assert_same_as_emulator(m, g, emulator_inputs(g, seed=5, batch=8), k)


@pytest.mark.slow
@pytest.mark.parametrize("label", ["jet_cnn", "mnist_cnn", "conv1d", "separable", "pad_concat"])
def test_every_cnn_project_passes(tmp_path, label: str) -> None:
    build, cfg = stream_models.MODELS[label]
    out = tmp_path / label
    projects.write_project(build(), cfg, out, n_test_events=8)
    assert projects.run_csim(out, flags=BITS_ONLY_FLAGS).passed
    assert projects.run_csim(out, fixed_lib="ap_types", flags=BITS_ONLY_FLAGS).passed
    assert json.loads((out / "fifo_depths.json").read_text())["fifos"]


RESOURCE_LAYERS = {
    # ReuseFactors beyond n_in (valid: divisors of n_in * n_out per position)
    "conv1": {"Strategy": "Resource", "ReuseFactor": 12},  # 9 taps x 4 filters = 36
    "conv2": {"Strategy": "Resource", "ReuseFactor": 72},  # 36 taps x 8 filters = 288
    "fc1": {"Strategy": "Resource", "ReuseFactor": 32},  # 8 x 16 = 128
}


@pytest.mark.parametrize("io_type", ["io_stream", "io_parallel"])
def test_resource_strategy_beyond_n_in_is_exact(io_type: str) -> None:
    """Resource strategy with ReuseFactor > n_in, weights bound to BRAM, in both io types:
    the generic (hardware-order) loops, not only the C-sim fast path, equal the emulator."""
    config = {"model": {"default": "ap_fixed<12,4>", "accum": "ap_fixed<18,6,AP_RND,AP_SAT>", "io_type": io_type},
              "layers": RESOURCE_LAYERS}
    graph = configure(stream_models.jet_tagger(), config)
    model = hls_backend.lower(graph)
    params = hls_backend.render(model)[f"{model.name}_parameters.h"]
    assert params.count("static const bool weights_in_bram = true;") == 3
    for flags in (BITS_ONLY_FLAGS, (*BITS_ONLY_FLAGS, "-DHLSFORGE_NO_FAST_CSIM")):
        csim = hls_backend.compile(graph, name=f"jet_res_{io_type}_{len(flags)}", flags=flags)
        assert_same_as_emulator(csim, graph, emulator_inputs(graph, seed=2, batch=12), f"{io_type} {flags}")


def test_invalid_reuse_factor_in_io_stream_lists_the_valid_ones() -> None:
    config = {"model": {"io_type": "io_stream"}, "layers": {"conv2": {"Strategy": "Resource", "ReuseFactor": 7}}}
    with pytest.raises(PrecisionError, match=r"valid ReuseFactors: 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 72, 96, 144, 288"):
        hls_backend.lower(configure(stream_models.jet_tagger(), config))


TWO_MAIN = """\
#include <cstdio>
#include "jet/jet.h"
#include "res/res.h"

template <class B, class T, unsigned N>
static void feed(hls::stream<B> &s) {
    double x;
    for (unsigned q = 0; q < N / B::size; q++) {
        B v;
        for (unsigned j = 0; j < B::size; j++) { if (std::scanf("%%lf", &x) != 1) return; v[j] = T(x); }
        s.write(v);
    }
}
template <class B, unsigned N>
static void drain(hls::stream<B> &s) {
    for (unsigned q = 0; q < N / B::size; q++) {
        const B v = s.read();
        for (unsigned j = 0; j < B::size; j++) std::printf("%%.17g ", v[j].to_double());
    }
}

int main() {
    for (int event = 0; event < %(n)d; event++) {
        hls::stream<jet_ns::input_beat_t> a; hls::stream<jet_ns::result_beat_t> ya;
        hls::stream<res_ns::input_beat_t> b; hls::stream<res_ns::result_beat_t> yb;
        feed<jet_ns::input_beat_t, jet_ns::input_t, jet_ns::N_IN>(a);
        feed<res_ns::input_beat_t, res_ns::input_t, res_ns::N_IN>(b);
        jet(a, ya);
        res(b, yb);
        drain<jet_ns::result_beat_t, jet_ns::N_OUT>(ya);
        drain<res_ns::result_beat_t, res_ns::N_OUT>(yb);
        std::printf("\\n");
    }
    return 0;
}
"""


def test_two_io_stream_models_in_one_binary(tmp_path) -> None:
    """Two io_stream firmwares written by hls_backend.write link into one program: every beat
    type, FIFO and kernel configuration lives in its model's namespace."""
    from hlsforge import cpp_toolchain

    n = 6
    build_a, cfg_a = stream_models.MODELS["jet_cnn"]
    build_b, cfg_b = stream_models.MODELS["residual"]
    ga, gb = configure(build_a(), cfg_a), configure(build_b(), cfg_b)
    hls_backend.write(ga, tmp_path / "jet", name="jet")
    hls_backend.write(gb, tmp_path / "res", name="res")
    assert (tmp_path / "jet" / "hlsforge_stream.h").is_file()
    (tmp_path / "main.cpp").write_text(TWO_MAIN % {"n": n})
    exe = cpp_toolchain.compile_executable(
        [tmp_path / "main.cpp", tmp_path / "jet" / "jet.cpp", tmp_path / "res" / "res.cpp"],
        name="two_stream_models", include_dirs=[tmp_path], flags=BITS_ONLY_FLAGS,
        extra_flags=("-Wno-unknown-pragmas",),
    )
    xa = emulator_inputs(ga, seed=1, batch=n)
    xb = emulator_inputs(gb, seed=2, batch=n)
    rows = np.concatenate([ga.to_internal(ga.inputs[0], xa).reshape(n, -1), gb.to_internal(gb.inputs[0], xb).reshape(n, -1)], axis=1)
    stdin = "\n".join(" ".join(repr(float(v)) for v in row) for row in rows)
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True).stdout
    got = np.array([[float(v) for v in line.split()] for line in out.splitlines()])
    ya, yb = emulate.run(ga, xa), emulate.run(gb, xb)
    np.testing.assert_array_equal(got[:, : ya.shape[1]], ya)
    np.testing.assert_array_equal(got[:, ya.shape[1] :], yb.reshape(n, -1))


def test_two_inputs_and_an_output_that_is_also_read() -> None:
    """Several ports: two graph inputs (one read twice), an output that another layer reads."""
    from hlsforge.ir import AlphaAttrs, Graph, Op

    g = Graph("two_ports")
    g.add_input("a", (4, 4, 3))
    g.add_input("b", (4, 4, 3))
    s = g.add_node(Op.ADD, ["a", "b"], source_name="sum").outputs[0]
    m = g.add_node(Op.MUL, [s, "a"], source_name="prod").outputs[0]
    r = g.add_node(Op.LEAKY_RELU, [m], attrs=AlphaAttrs(0.25), source_name="act").outputs[0]
    p = g.add_node(Op.GLOBAL_MAXPOOL, [r], attrs=stream_models.GlobalPoolAttrs(), source_name="gmp").outputs[0]
    g.outputs = [r, p]
    graph = configure(g.validate(), stream_models.stream_config())
    csim = hls_backend.compile(graph, flags=BITS_ONLY_FLAGS)
    x = emulator_inputs(graph, seed=4, batch=10)
    assert_same_as_emulator(csim, graph, x, "two_ports")
    report = fifo_depths(g, stream_models.stream_config())
    assert {f.name for f in report.fifos} >= {"in_a_copy1", "in_a_copy2"}


def test_an_op_without_a_stream_kernel_says_why() -> None:
    from hlsforge.hls_backend.stream.lower import UNSUPPORTED

    for build in op_zoo.CASES.values():
        g = build()
        if any(n.op in UNSUPPORTED for n in g.nodes):
            q = configure(g, {"model": {"default": "ap_fixed<12,4>", "io_type": "io_stream"}})
            with pytest.raises(UnsupportedOpError, match="io_parallel"):
                hls_backend.lower(q)
