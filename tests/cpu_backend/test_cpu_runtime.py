"""The Python runtime: caching, compiler errors, calling conventions, threads, BLAS choice."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from cpu_helpers import assert_close
from model_zoo import ZOO
from op_zoo import CASES, random_inputs

import hlsforge
from hlsforge import CompileError, InputError, reference
from hlsforge.cpu_backend import BlasConfig, compile, compile_models, find_blas


@pytest.fixture(scope="module")
def mlp():
    graph = hlsforge.load(ZOO["mlp_16_64_32_32_5"]())
    return graph, compile(graph)


def test_second_compile_is_cached(mlp):
    graph, _ = mlp
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        compile(graph)
        times.append(time.perf_counter() - t0)
    assert min(times) < 0.05, times


def test_compiler_failure_is_a_compile_error(tmp_path):
    graph = CASES["relu"]()
    broken = BlasConfig("broken", defines=(("HLSFORGE_CBLAS_HEADER", "<no_such_cblas_header.h>"),))
    with pytest.raises(CompileError) as err:
        compile(graph, blas=broken, cache_dir=tmp_path)
    text = str(err.value)
    assert "no_such_cblas_header.h" in text  # the compiler's own message
    assert err.value.source_dir and str(tmp_path) in err.value.source_dir
    assert "op_relu.hpp" in " ".join(p.name for p in __import__("pathlib").Path(err.value.source_dir).iterdir())


def test_input_conventions(op_models):
    graph, model = op_models["add"]  # two inputs 'a', 'b'
    xs = random_inputs(graph, 3)
    want = reference.run(graph, xs)
    assert_close(model.predict(xs), want)
    assert_close(model.predict([xs["a"], xs["b"]]), want)
    assert_close(model.predict({k: v.astype(np.float64) for k, v in xs.items()}), want)
    with pytest.raises(InputError, match="missing input"):
        model.predict({"a": xs["a"]})
    with pytest.raises(InputError, match="pass a dict"):
        model.predict(xs["a"])
    with pytest.raises(InputError, match="shape"):
        model.predict({"a": xs["a"], "b": xs["b"][:, :3]})


def test_single_input_layouts(mlp):
    graph, model = mlp
    x = random_inputs(graph, 6)
    want = reference.run(graph, x)
    assert_close(model.predict(np.asfortranarray(x)), want)  # not C-contiguous: copied
    assert_close(model.predict(x.astype(np.float64)), want)
    assert_close(model.predict(x.tolist()), want)
    ro = x.copy()
    ro.setflags(write=False)
    assert_close(model.predict(ro), want)
    assert_close(model.predict(x[0]), want[:1])  # one event without the batch axis
    assert model.predict(x[:0]).shape == (0, 5)
    with pytest.raises(InputError):
        model.predict(np.zeros((2, 15), np.float32))


def test_nan_propagates(mlp):
    _, model = mlp
    x = np.zeros((2, 16), np.float32)
    x[1, 3] = np.nan
    y = model.predict(x)
    assert np.isfinite(y[0]).all() and np.isnan(y[1]).all()


def test_concurrent_predict(mlp):
    graph, model = mlp
    xs = [random_inputs(graph, b, seed=b) for b in (1, 7, 100, 1000)]
    want = [model.predict(x) for x in xs]
    errors = []

    def work(k: int) -> None:
        for _ in range(50):
            i = k % len(xs)
            if not np.array_equal(model.predict(xs[i]), want[i]):
                errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_without_blas():
    """blas='none': built-in loops only (a big Dense and an im2col convolution)."""
    from hlsforge.ir import ConvAttrs, Graph, Op

    rng = np.random.default_rng(3)
    g = Graph("no_blas")
    g.add_input("x", (10, 10, 6))
    g.add_constant("k", (rng.normal(size=(3, 3, 6, 40)) / np.sqrt(54)).astype(np.float32))
    g.add_constant("kb", rng.normal(size=(40,)).astype(np.float32))
    c = g.add_node(Op.CONV2D, ["x", "k", "kb"], attrs=ConvAttrs((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))))
    f = g.add_node(Op.FLATTEN, c.outputs)
    g.add_constant("w", (rng.normal(size=(4000, 70)) / np.sqrt(4000)).astype(np.float32))
    g.add_constant("b", rng.normal(size=(70,)).astype(np.float32))
    d = g.add_node(Op.DENSE, [f.outputs[0], "w", "b"])
    g.outputs = d.outputs
    g.validate()
    ours = compile_models([g], blas="none")[0]
    with_blas = compile(g)
    x = random_inputs(g, 70, scale=1.0)
    want = reference.run(g, x)
    assert_close(ours.predict(x), want)
    assert_close(with_blas.predict(x), want)
    assert ours.blas.name == "none" and with_blas.blas.name == find_blas(None).name


def _edge_graphs() -> list:
    """Graphs whose outputs are inputs, constants, views, duplicates or permuted."""
    from hlsforge.ir import AxisAttrs, Graph, Op, PadAttrs, ReshapeAttrs, TransposeAttrs

    gs = []
    g = Graph("identity")
    g.add_input("x", (3, 4))
    g.outputs = ["x"]
    gs.append(g)
    g = Graph("duplicate_output")
    g.add_input("x", (5,))
    r = g.add_node(Op.RELU, ["x"])
    g.outputs = [r.outputs[0], r.outputs[0]]
    gs.append(g)
    g = Graph("view_of_input")
    g.add_input("x", (2, 3))
    g.outputs = g.add_node(Op.FLATTEN, ["x"]).outputs
    gs.append(g)
    g = Graph("constant_output")
    g.add_input("x", (2,))
    g.add_constant("c", np.arange(6, dtype=np.float32).reshape(2, 3))
    g.outputs = [g.add_node(Op.RELU, ["x"]).outputs[0], "c"]
    gs.append(g)
    g = Graph("permuted_io")
    g.add_input("x", (4, 5, 3), perm=(1, 2, 0))
    g.output_perm["x"] = (2, 0, 1)
    g.outputs = ["x"]
    gs.append(g)
    g = Graph("view_and_source_out")
    g.add_input("x", (2, 3))
    r = g.add_node(Op.RELU, ["x"])
    g.outputs = [g.add_node(Op.FLATTEN, r.outputs).outputs[0], r.outputs[0]]
    gs.append(g)
    g = Graph("ops_on_constants")
    g.add_input("x", (3, 2))
    g.add_constant("c", np.arange(6, dtype=np.float32).reshape(2, 3))
    t = g.add_node(Op.TRANSPOSE, ["c"], attrs=TransposeAttrs((1, 0)))
    p = g.add_node(Op.PAD, ["c"], attrs=PadAttrs(((1, 0), (0, 1))))
    cc = g.add_node(Op.CONCAT, ["x", t.outputs[0]], attrs=AxisAttrs(1))
    rs = g.add_node(Op.RESHAPE, cc.outputs, attrs=ReshapeAttrs((12,)))
    g.outputs = [rs.outputs[0], p.outputs[0]]
    gs.append(g)
    return [g.validate() for g in gs]


def test_edge_case_graphs():
    graphs = _edge_graphs()
    models = compile_models(graphs)
    for g, m in zip(graphs, models, strict=True):
        x = random_inputs(g, 4)
        got = m.predict(x)
        if g.name == "ops_on_constants":  # the reference cannot concatenate a constant
            c = g.constant("c")
            want = {
                g.outputs[0]: np.concatenate([x, np.broadcast_to(c.T, (4, 3, 2))], axis=2).reshape(4, 12),
                g.outputs[1]: np.broadcast_to(np.pad(c, ((1, 0), (0, 1))), (4, 3, 4)),
            }
        else:
            want = reference.run(g, x)
        if isinstance(want, dict):
            assert set(got) == set(want), g.name
            for k in want:
                np.testing.assert_array_equal(got[k], want[k], err_msg=f"{g.name} {k}")
        else:
            np.testing.assert_array_equal(got, want, err_msg=g.name)


@pytest.mark.slow
def test_cpp_project_example_builds(tmp_path):
    """examples/cpp_project: `make run` generates the code, compiles, links and runs."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "examples"
    shutil.copytree(root / "cpp_project", tmp_path / "cpp_project")
    shutil.copy(root / "jet_tagger_mlp.onnx", tmp_path)
    res = subprocess.run(["make", f"PYTHON={sys.executable}", "run"], cwd=tmp_path / "cpp_project",
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "one event:" in res.stdout and "batch of 1000" in res.stdout


def test_same_name_different_models_in_one_process():
    """Two libraries holding different models under the same name (e.g. a model edited and
    recompiled) must not share any state: each library exports only its C interface."""
    from hlsforge.ir import Graph, Op

    def graph(n_out: int, seed: int) -> Graph:
        rng = np.random.default_rng(seed)
        g = Graph("same_name")
        g.add_input("x", (6, 5))
        g.add_constant("w", rng.normal(size=(5, n_out)).astype(np.float32))
        g.add_constant("b", rng.normal(size=(n_out,)).astype(np.float32))
        d = g.add_node(Op.DENSE, ["x", "w", "b"])
        g.outputs = g.add_node(Op.TANH, d.outputs).outputs
        return g.validate()

    a, b = graph(3, 1), graph(40, 2)
    ma, mb = compile(a), compile(b)
    assert ma.library != mb.library
    for _ in range(2):
        for g, m in ((a, ma), (b, mb)):
            x = random_inputs(g, 300)
            assert_close(m.predict(x), reference.run(g, x), g.name)
