"""Hostile and absurd models: size limits at load (hlsforge.ir.limits), malformed Keras
JSON/HDF5, and mutation fuzzing (garbage, truncation, byte flips) of the Keras file loaders.

Every case must end in an ``HlsforgeError`` naming the node, layer or file — never a numpy
error, a ``RecursionError`` or a process that allocates gigabytes. The Keras files are written
here with ``h5py`` in Keras 2's layout, so no Keras import is needed.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from keras_files import MLP_JSON, MLP_WEIGHTS, dense, model_json, write_h5, write_mlp
from onnx import TensorProto, helper, numpy_helper

import hlsforge
from hlsforge import reference
from hlsforge.errors import HlsforgeError, ModelFormatError, ShapeError
from hlsforge.ir import limits
from hlsforge.ir.graph import Graph

# ----------------------------------------------------------------------------- ONNX


def _onnx(tmp_path: Path, nodes, inputs, inits=()) -> Path:
    g = helper.make_graph(nodes, "hostile", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=list(inits))
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def _x(*shape: int):
    return helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))


def test_conv_pads_of_2_pow_31_are_a_shape_error_naming_the_node(tmp_path):
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "W")
    path = _onnx(tmp_path, [helper.make_node("Conv", ["x", "W"], ["y"], name="evil_conv", pads=[2**31 - 1] * 4)],
                 [_x(1, 1, 8, 8)], [w])
    with pytest.raises(ShapeError, match=r"evil_conv.*limit of 268,435,456 per tensor"):
        hlsforge.load(path)


def test_an_input_of_2_pow_20_squared_is_refused(tmp_path):
    path = _onnx(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [_x(1, 2**20, 2**20)])
    with pytest.raises(ShapeError, match="model input 'x'.*1,099,511,627,776 elements"):
        hlsforge.load(path)


def test_a_weight_with_a_negative_dimension_is_a_model_format_error(tmp_path):
    t = helper.make_tensor("W", TensorProto.FLOAT, [4], np.ones(4, np.float32))
    t.dims[:] = [-4, -1]
    path = _onnx(tmp_path, [helper.make_node("MatMul", ["x", "W"], ["y"])], [_x(1, 4)], [t])
    with pytest.raises(ModelFormatError, match="'W'"):
        hlsforge.load(path)


@pytest.mark.parametrize("op", ["ConstantOfShape", "Expand", "Tile"])
def test_constant_subgraphs_that_would_allocate_terabytes_are_refused_first(tmp_path, op):
    c = numpy_helper.from_array(np.ones((1, 1), np.float32), "c")
    if op == "ConstantOfShape":
        shape = numpy_helper.from_array(np.array([2**20, 2**20], np.int64), "s")
        node = helper.make_node(op, ["s"], ["big"], name="bomb", value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))
    elif op == "Expand":
        shape = numpy_helper.from_array(np.array([2**20, 2**20], np.int64), "s")
        node = helper.make_node(op, ["c", "s"], ["big"], name="bomb")
    else:
        shape = numpy_helper.from_array(np.array([2**16, 2**16], np.int64), "s")
        node = helper.make_node(op, ["c", "s"], ["big"], name="bomb")
    path = _onnx(tmp_path, [node, helper.make_node("Add", ["x", "big"], ["y"])], [_x(1, 1)], [c, shape])
    with pytest.raises(ModelFormatError, match=rf"bomb.*{op}.*limit"):
        hlsforge.load(path)


def test_ir_limits_per_tensor_and_per_event(monkeypatch):
    g = Graph("g")
    with pytest.raises(ShapeError, match="negative dimension"):
        g.add_input("x", (4, -1))
    with pytest.raises(ShapeError, match="model input 'y'"):
        g.add_input("y", (limits.MAX_TENSOR_ELEMENTS + 1,))
    g.add_input("x", (1000,))
    from hlsforge.ir import Op

    g.add_node(Op.RELU, ["x"], name="r1")
    g.add_node(Op.RELU, ["r1"], name="r2")
    g.outputs = ["r2"]
    g.validate()
    monkeypatch.setattr(limits, "MAX_EVENT_ELEMENTS", 2500)
    with pytest.raises(ShapeError, match=r"3,000 values per event .*limit of 2,500"):
        g.validate()


# ----------------------------------------------------------------------------- Keras files

RNG = np.random.default_rng(3)


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory) -> dict[str, Path]:
    return write_mlp(tmp_path_factory.mktemp("keras_files"))


def test_the_fixture_models_load(keras_files):
    a = hlsforge.load(keras_files["h5"])
    b = hlsforge.load(keras_files["json"], weights=keras_files["weights"])
    x = RNG.normal(size=(4, 16)).astype("f4")
    np.testing.assert_array_equal(reference.run(a, x), reference.run(b, x))


def test_units_1e8_against_small_weights_names_the_layer(tmp_path):
    text = model_json(dense("d1", 10**8), dense("d2", 5))
    path = write_h5(tmp_path / "m.h5", MLP_WEIGHTS, text)
    with pytest.raises(ModelFormatError, match=r"layer 'd1'.*units=100000000"):
        hlsforge.load(path)


def test_a_declared_giant_weight_is_refused_before_it_is_read(tmp_path):
    text = model_json(dense("d1", 10**8))
    path = write_h5(tmp_path / "m.h5", {"d1": [("d1/kernel:0", (16, 10**8)), ("d1/bias:0", (10**8,))]}, text)
    with pytest.raises(ModelFormatError, match=r"'d1/kernel:0' of layer 'd1'.*limit"):
        hlsforge.load(path)


def test_string_typed_weights_are_a_model_format_error(tmp_path):
    weights = dict(MLP_WEIGHTS, d1=[("d1/kernel:0", np.array([[b"w"] * 8] * 16)), MLP_WEIGHTS["d1"][1]])
    path = write_h5(tmp_path / "m.h5", weights, MLP_JSON)
    with pytest.raises(ModelFormatError, match=r"'d1/kernel:0' of layer 'd1' holds \|S1 data \(text\)"):
        hlsforge.load(path)


@pytest.mark.parametrize("nested", ["list", "object"])
def test_deeply_nested_json_is_a_model_format_error(tmp_path, keras_files, nested):
    deep = "[" * 100_000 + "]" * 100_000 if nested == "list" else '{"a":' * 50_000 + "1" + "}" * 50_000
    path = tmp_path / "deep.json"
    path.write_text('{"class_name": "Sequential", "config": ' + deep + "}")
    with pytest.raises(ModelFormatError, match="nests deeper"):
        hlsforge.load(path, weights=keras_files["weights"])
    h5 = write_h5(tmp_path / "deep.h5", MLP_WEIGHTS, path.read_text())
    with pytest.raises(ModelFormatError, match="nests deeper"):
        hlsforge.load(h5)
    ir = tmp_path / "ir.json"
    ir.write_text('{"format": "hlsforge-ir", "x": ' + deep + "}")
    with pytest.raises(ModelFormatError):
        hlsforge.load(ir)


def test_a_json_without_weights_finds_its_sibling_weights_file(keras_files, tmp_path):
    g = hlsforge.load(keras_files["json"])  # mlp_weights.h5 lies beside mlp.json
    assert g.metadata.get("weights_file") == str(keras_files["weights"])
    lonely = tmp_path / "lonely.json"
    lonely.write_text(MLP_JSON)
    with pytest.raises(ModelFormatError, match="without weights"):
        hlsforge.load(lonely)


# ----------------------------------------------------------------------------- mutation fuzzing

DEFAULT_MUTANTS, SLOW_MUTANTS = 60, 2000


def _mutants(data: bytes, n: int, seed: int):
    rng = random.Random(seed)
    for i in range(n):
        kind = ("garbage", "truncate", "flip")[i % 3]
        if kind == "garbage":
            yield kind, rng.randbytes(rng.randrange(0, 3000))
        elif kind == "truncate":
            yield kind, data[: rng.randrange(len(data))]
        else:
            b = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            yield kind, bytes(b)


def _loads_or_refuses(path: Path, **options: Any) -> str:
    """The loader's contract under mutation: a usable graph or an HlsforgeError."""
    try:
        graph = hlsforge.load(path, **options)
    except HlsforgeError:
        return "refused"
    graph.validate()
    feeds = {n: np.zeros((1, *graph.user_shape(n)), np.float32) for n in graph.inputs}
    with np.errstate(all="ignore"):
        try:
            reference.run(graph, feeds if len(feeds) > 1 else next(iter(feeds.values())))
        except HlsforgeError:
            pass  # e.g. a flipped weight made an input type unusable: refused at run time
    return "loaded"


def _fuzz(keras_files, tmp_path: Path, target: str, n: int, seed: int) -> None:
    original = keras_files[target].read_bytes()
    outcomes = set()
    for i, (_kind, data) in enumerate(_mutants(original, n, seed)):
        path = tmp_path / f"mutant{keras_files[target].suffix}"
        path.write_bytes(data)
        if target == "h5":
            outcomes.add(_loads_or_refuses(path))
        elif target == "json":
            outcomes.add(_loads_or_refuses(path, weights=keras_files["weights"]))
        else:
            outcomes.add(_loads_or_refuses(keras_files["json"], weights=path))
        assert i < n
    assert "refused" in outcomes


@pytest.mark.parametrize("target", ["h5", "json", "weights"])
def test_mutated_keras_files_load_or_raise_hlsforge_errors(keras_files, tmp_path, target):
    _fuzz(keras_files, tmp_path, target, DEFAULT_MUTANTS, seed=11)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["h5", "json", "weights"])
def test_many_mutated_keras_files(keras_files, tmp_path, target):
    _fuzz(keras_files, tmp_path, target, SLOW_MUTANTS, seed=12)


def _fuzz_ir(tmp_path: Path, n: int, seed: int) -> None:
    import op_zoo

    from hlsforge.ir import serialize

    src = tmp_path / "src.json"
    serialize.save(op_zoo.CASES["dense"](), src)
    json_bytes, npz_bytes = src.read_bytes(), src.with_suffix(".npz").read_bytes()
    outcomes = set()
    for i, (_kind, data) in enumerate(_mutants(json_bytes + npz_bytes, n, seed)):
        target = tmp_path / f"m{i % 2}.json"
        if i % 2:  # mutate the JSON, keep the arrays
            target.write_bytes(data[: len(json_bytes)] if len(data) >= len(json_bytes) else data)
            target.with_suffix(".npz").write_bytes(npz_bytes)
        else:  # keep the JSON, mutate the arrays
            target.write_bytes(json_bytes)
            target.with_suffix(".npz").write_bytes(data[len(json_bytes):] if len(data) > len(json_bytes) else data)
        outcomes.add(_loads_or_refuses(target))
    assert "refused" in outcomes


def test_mutated_ir_files_load_or_raise_hlsforge_errors(tmp_path):
    _fuzz_ir(tmp_path, DEFAULT_MUTANTS, seed=21)


@pytest.mark.slow
def test_many_mutated_ir_files(tmp_path):
    _fuzz_ir(tmp_path, SLOW_MUTANTS, seed=22)
