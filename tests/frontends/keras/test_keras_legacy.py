"""Legacy Keras 2 models: architecture JSON (``model.to_json()``) + HDF5 weights, and
full-model HDF5 files, read without TensorFlow or Keras.

The files are written here by hand following Keras 2.x conventions (``class_name``/``config``
/``inbound_nodes`` JSON; one HDF5 group per layer with a ``weight_names`` attribute such as
``dense/kernel:0``). Expected outputs come from the equivalent Keras 3 model with the same
weights (Keras 2's hard_sigmoid, 0.2·x + 0.5, is given to Keras 3 as a custom activation).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import hlsforge
from hlsforge import reference
from hlsforge.errors import ModelFormatError, UnsupportedOpError
from hlsforge.frontends.keras import load_keras
from hlsforge.ir import Op

keras = pytest.importorskip("keras")
from keras import layers as L  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)
K2 = "2.11.0"
RNG = np.random.default_rng(7)


def w(*shape: int, positive: bool = False) -> np.ndarray:
    if positive:
        return RNG.uniform(0.5, 1.5, shape).astype(np.float32)
    return (RNG.normal(size=shape) * 0.5).astype(np.float32)


def layer(cls: str, name: str, inbound: list | None = None, **cfg: Any) -> dict[str, Any]:
    """A layer entry as Keras 2's ``to_json`` writes it."""
    entry: dict[str, Any] = {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **cfg}}
    if inbound is not None:
        entry["name"] = name
        entry["inbound_nodes"] = inbound
    return entry


def ref(*names: str) -> list:
    """One Keras 2 inbound node calling the given layers' first outputs."""
    return [[[n, 0, 0, {}] for n in names]]


def dense_cfg(units: int, activation: str = "linear") -> dict[str, Any]:
    return dict(
        units=units, activation=activation, use_bias=True,
        kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}},
        bias_initializer={"class_name": "Zeros", "config": {}},
        kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
        kernel_constraint=None, bias_constraint=None,
    )


def model_json(class_name: str, config: dict[str, Any]) -> str:
    return json.dumps({"class_name": class_name, "config": config, "keras_version": K2, "backend": "tensorflow"})


def write_weights(path: Path, weights: dict[str, list[tuple[str, np.ndarray]]], model_config: str | None = None) -> None:
    """Keras 2 ``save_weights`` layout (or ``model.save`` when ``model_config`` is given)."""
    with h5py.File(path, "w") as f:
        if model_config is not None:
            f.attrs["model_config"] = model_config.encode()
            f.attrs["keras_version"] = K2.encode()
            f.attrs["backend"] = b"tensorflow"
            root = f.create_group("model_weights")
        else:
            root = f
        root.attrs["layer_names"] = np.array([n.encode() for n in weights])
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = K2.encode()
        for lname, ws in weights.items():
            g = root.create_group(lname)
            g.attrs["weight_names"] = np.array([wn.encode() for wn, _ in ws], dtype="S")
            for wn, arr in ws:
                g.create_dataset(wn, data=arr)


def keras2_hard_sigmoid(t: Any) -> Any:
    return keras.ops.clip(0.2 * t + 0.5, 0.0, 1.0)


# ----------------------------------------------------------------------------- a Sequential MLP


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("k2_mlp")
    k1, b1 = w(16, 12), w(12)
    gamma, beta, mean, var = w(12, positive=True), w(12), w(12), w(12, positive=True)
    k2, b2 = w(12, 5), w(5)
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 16], "dtype": "float32", "sparse": False, "ragged": False, "name": "dense_input"}},
        layer("Dense", "dense", **dense_cfg(12, "relu")),
        layer("BatchNormalization", "batch_normalization", axis=[1], momentum=0.99, epsilon=0.001, center=True, scale=True),
        layer("Dropout", "dropout", rate=0.25, noise_shape=None, seed=None),
        layer("Activation", "activation", activation="hard_sigmoid"),
        layer("Dense", "dense_1", **dense_cfg(5, "softmax")),
    ]
    text = model_json("Sequential", {"name": "sequential", "layers": layers})
    weights = {
        "dense": [("dense/kernel:0", k1), ("dense/bias:0", b1)],
        "batch_normalization": [
            ("batch_normalization/gamma:0", gamma), ("batch_normalization/beta:0", beta),
            ("batch_normalization/moving_mean:0", mean), ("batch_normalization/moving_variance:0", var),
        ],
        "dropout": [], "activation": [],
        "dense_1": [("dense_1/kernel:0", k2), ("dense_1/bias:0", b2)],
    }
    (d / "model.json").write_text(text)
    write_weights(d / "model_weights.h5", weights)
    write_weights(d / "model.h5", weights, model_config=text)
    k3 = keras.Sequential(
        [
            keras.Input((16,)), L.Dense(12, activation="relu"), L.BatchNormalization(),
            L.Activation(keras2_hard_sigmoid), L.Dense(5, activation="softmax"),
        ]
    )
    for lyr, ws in zip(k3.layers, [[k1, b1], [gamma, beta, mean, var], [], [k2, b2]], strict=True):
        lyr.set_weights(ws)
    x = RNG.normal(size=(8, 16)).astype(np.float32) * 2
    return {"dir": d, "x": x, "want": keras.ops.convert_to_numpy(k3(x))}


def test_json_and_weights(mlp: dict[str, Any]) -> None:
    g = hlsforge.load(mlp["dir"] / "model.json", weights=mlp["dir"] / "model_weights.h5")
    np.testing.assert_allclose(reference.run(g, mlp["x"]), mlp["want"], **TOL)
    hs = next(n for n in g.nodes if n.op == Op.HARD_SIGMOID)
    assert (hs.attrs.alpha, hs.attrs.beta) == (0.2, 0.5)  # Keras 2 hard_sigmoid
    assert g.source_format == "keras-json"


def test_full_model_h5(mlp: dict[str, Any]) -> None:
    g = hlsforge.load(mlp["dir"] / "model.h5")
    np.testing.assert_allclose(reference.run(g, mlp["x"]), mlp["want"], **TOL)


def test_no_tensorflow_or_keras_imported(mlp: dict[str, Any], tmp_path: Path) -> None:
    """Loading legacy files must not import TensorFlow or Keras (run in a fresh interpreter)."""
    np.save(tmp_path / "x.npy", mlp["x"])
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import hlsforge
        from hlsforge import reference
        d = {str(mlp["dir"])!r}
        g1 = hlsforge.load(d + "/model.json", weights=d + "/model_weights.h5")
        g2 = hlsforge.load(d + "/model.h5")
        x = np.load({str(tmp_path / "x.npy")!r})
        np.save({str(tmp_path / "y.npy")!r}, reference.run(g1, x))
        np.save({str(tmp_path / "y2.npy")!r}, reference.run(g2, x))
        print("tensorflow" in sys.modules, "keras" in sys.modules, "h5py" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True"]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), mlp["want"], **TOL)
    np.testing.assert_allclose(np.load(tmp_path / "y2.npy"), mlp["want"], **TOL)


def test_json_without_weights_is_explained(mlp: dict[str, Any], tmp_path: Path) -> None:
    alone = tmp_path / "model.json"  # no model_weights.h5 beside it
    alone.write_text((mlp["dir"] / "model.json").read_text())
    with pytest.raises(ModelFormatError, match="weights="):
        hlsforge.load(alone)
    # beside its model_weights.h5 the JSON finds it
    np.testing.assert_allclose(reference.run(hlsforge.load(mlp["dir"] / "model.json"), mlp["x"]), mlp["want"], **TOL)
    with pytest.raises(ModelFormatError, match="weights only"):
        hlsforge.load(mlp["dir"] / "model_weights.h5")


# ----------------------------------------------------------------------------- old-style Sequential


def test_old_sequential_without_input_layer(tmp_path: Path) -> None:
    """Keras ≤ 2.2 put ``batch_input_shape`` on the first layer and had no InputLayer."""
    k, b = w(6, 3), w(3)
    first = layer("Dense", "dense_1", **dense_cfg(3, "tanh"))
    first["config"]["batch_input_shape"] = [None, 6]
    (tmp_path / "m.json").write_text(json.dumps({"class_name": "Sequential", "config": [first], "keras_version": "2.1.6"}))
    write_weights(tmp_path / "w.h5", {"dense_1": [("dense_1/kernel:0", k), ("dense_1/bias:0", b)]})
    g = hlsforge.load(tmp_path / "m.json", weights=tmp_path / "w.h5")
    x = RNG.normal(size=(5, 6)).astype(np.float32)
    np.testing.assert_allclose(reference.run(g, x), np.tanh(x.astype(np.float64) @ k + b), **TOL)
    assert g.inputs == ["dense_1_input"]


# ----------------------------------------------------------------------------- a functional CNN


def test_functional_channels_first_nested(tmp_path: Path) -> None:
    """Functional Keras 2 model: channels-first convolutions, a branch merged by Add and
    Concatenate, and a nested Sequential (whose call is node 1 in Keras 2's numbering)."""
    kc, bc = w(3, 3, 2, 4), w(4)
    kd, bd = w(64, 8), w(8)
    ka, ba = w(3, 8), w(8)
    ks, bs = w(8, 8), w(8)
    ko, bo = w(16, 3), w(3)
    conv_cfg = dict(filters=4, kernel_size=[3, 3], strides=[1, 1], padding="same", data_format="channels_first",
                    dilation_rate=[1, 1], groups=1, activation="relu", use_bias=True)
    pool_cfg = dict(pool_size=[2, 2], padding="valid", strides=[2, 2], data_format="channels_first")
    sub = {
        "name": "sub",
        "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8], "dtype": "float32", "sparse": False, "ragged": False, "name": "sub_in"}},
            layer("Dense", "dense_s", **dense_cfg(8, "elu")),
        ],
    }
    sub_entry = {"class_name": "Sequential", "config": sub, "name": "sub", "inbound_nodes": [[["add", 0, 0, {}]]]}
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2, 8, 8], "dtype": "float32", "sparse": False, "ragged": False, "name": "image"}, "name": "image", "inbound_nodes": []},
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "dtype": "float32", "sparse": False, "ragged": False, "name": "aux"}, "name": "aux", "inbound_nodes": []},
        layer("Conv2D", "conv", ref("image"), **conv_cfg),
        layer("MaxPooling2D", "pool", ref("conv"), **pool_cfg),
        layer("Flatten", "flat", ref("pool"), data_format="channels_first"),
        layer("Dense", "fc", ref("flat"), **dense_cfg(8, "relu")),
        layer("Dense", "aux_fc", ref("aux"), **dense_cfg(8)),
        layer("Add", "add", ref("fc", "aux_fc")),
        sub_entry,
        layer("Concatenate", "cat", [[["sub", 1, 0, {}], ["add", 0, 0, {}]]], axis=-1),
        layer("Dense", "out", ref("cat"), **dense_cfg(3, "softmax")),
    ]
    cfg = {"name": "model", "layers": layers, "input_layers": [["image", 0, 0], ["aux", 0, 0]], "output_layers": [["out", 0, 0]]}
    (tmp_path / "m.json").write_text(model_json("Functional", cfg))
    write_weights(
        tmp_path / "w.h5",
        {
            "image": [], "aux": [], "conv": [("conv/kernel:0", kc), ("conv/bias:0", bc)], "pool": [], "flat": [],
            "fc": [("fc/kernel:0", kd), ("fc/bias:0", bd)], "aux_fc": [("aux_fc/kernel:0", ka), ("aux_fc/bias:0", ba)],
            "add": [], "sub": [("dense_s/kernel:0", ks), ("dense_s/bias:0", bs)], "cat": [],
            "out": [("out/kernel:0", ko), ("out/bias:0", bo)],
        },
    )
    g = hlsforge.load(tmp_path / "m.json", weights=tmp_path / "w.h5")

    image, aux = keras.Input((2, 8, 8)), keras.Input((3,))
    conv = L.Conv2D(4, 3, padding="same", data_format="channels_first", activation="relu")
    fc, aux_fc, dense_s, out = L.Dense(8, activation="relu"), L.Dense(8), L.Dense(8, activation="elu"), L.Dense(3, activation="softmax")
    h = L.Add()([fc(L.Flatten(data_format="channels_first")(L.MaxPooling2D(2, data_format="channels_first")(conv(image)))), aux_fc(aux)])
    m = keras.Model([image, aux], out(L.Concatenate()([dense_s(h), h])))
    for lyr, ws in [(conv, [kc, bc]), (fc, [kd, bd]), (aux_fc, [ka, ba]), (dense_s, [ks, bs]), (out, [ko, bo])]:
        lyr.set_weights(ws)
    xi = RNG.normal(size=(4, 2, 8, 8)).astype(np.float32)
    xa = RNG.normal(size=(4, 3)).astype(np.float32)
    want = keras.ops.convert_to_numpy(m([xi, xa]))
    np.testing.assert_allclose(reference.run(g, {"image": xi, "aux": xa}), want, **TOL)


def test_keras2_leaky_relu_alpha(tmp_path: Path) -> None:
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "x"}},
        layer("LeakyReLU", "lrelu", alpha=0.25),
    ]
    (tmp_path / "m.json").write_text(model_json("Sequential", {"name": "s", "layers": layers}))
    write_weights(tmp_path / "w.h5", {"lrelu": []})
    g = hlsforge.load(tmp_path / "m.json", weights=tmp_path / "w.h5")
    assert g.nodes[0].op == Op.LEAKY_RELU and g.nodes[0].attrs.alpha == 0.25


def test_unsupported_legacy_layer(tmp_path: Path) -> None:
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "x"}},
        layer("Lambda", "my_lambda", function="...", function_type="lambda"),
    ]
    (tmp_path / "m.json").write_text(model_json("Sequential", {"name": "s", "layers": layers}))
    write_weights(tmp_path / "w.h5", {"my_lambda": []})
    with pytest.raises(UnsupportedOpError, match=r"'my_lambda' of class Lambda.*supported layer classes: .*Conv1D"):
        hlsforge.load(tmp_path / "m.json", weights=tmp_path / "w.h5")


def test_missing_weight_is_explained(tmp_path: Path) -> None:
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "x"}},
        layer("Dense", "d", **dense_cfg(2)),
    ]
    (tmp_path / "m.json").write_text(model_json("Sequential", {"name": "s", "layers": layers}))
    write_weights(tmp_path / "w.h5", {"other": [("other/kernel:0", w(4, 2))]})
    with pytest.raises(ModelFormatError, match=r"'d'.*kernel.*missing"):
        hlsforge.load(tmp_path / "m.json", weights=tmp_path / "w.h5")


def test_not_a_keras_json(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"hello": 1}')
    with pytest.raises(ModelFormatError, match="to_json"):
        hlsforge.load(tmp_path / "m.json", weights=tmp_path / "none.h5")
    with pytest.raises(ModelFormatError, match="to_json"):
        load_keras(tmp_path / "m.json", weights=tmp_path / "none.h5")


def test_cli_inspect_and_convert_accept_keras_files(mlp: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hlsforge.cli import main

    d = mlp["dir"]
    assert main(["inspect", str(d / "model.json"), "--weights", str(d / "model_weights.h5")]) == 0
    assert "dense_1" in capsys.readouterr().out
    assert main(["inspect", str(d / "model.h5"), "--json"]) == 0
    assert '"HardSigmoid"' in capsys.readouterr().out
    assert main(["convert", str(d / "model.h5"), "--backend", "cpu", "-o", str(tmp_path / "cpu")]) == 0
    assert main(["convert", str(d / "model.json"), "--weights", str(d / "model_weights.h5"), "--backend", "hls",
                 "-o", str(tmp_path / "hls")]) == 0
    assert (tmp_path / "hls" / "build_prj.tcl").exists()
    live = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="tanh")])
    live.save(tmp_path / "m.keras")
    assert main(["inspect", str(tmp_path / "m.keras")]) == 0
    assert "Tanh" in capsys.readouterr().out
