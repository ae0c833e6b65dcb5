"""hls4ml configurations load and give the types hls4ml itself uses.

The independent source is hls4ml: ``config_from_keras_model(model, granularity="name")``
gives the configuration (edited as users do), ``convert_from_keras_model`` resolves it, and
the types on hls4ml's layers are compared with the types ``configure`` puts on hlsforge's
graph of the same Keras model.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
hls4ml = pytest.importorskip("hls4ml")

from keras import layers as L  # noqa: E402

from hlsforge.frontends.keras import from_keras  # noqa: E402
from hlsforge.ir import FixedType, Op, Overflow, Rounding  # noqa: E402
from hlsforge.quantize import configure  # noqa: E402
from hlsforge.quantize.hls4ml_config import translate  # noqa: E402


def _ours(p: Any) -> FixedType:
    """An hls4ml precision object as an hlsforge type."""
    return FixedType(int(p.width), int(p.integer), bool(p.signed), Rounding[p.rounding_mode.name],
                     Overflow[p.saturation_mode.name])


@pytest.fixture(scope="module")
def model() -> keras.Model:
    m = keras.Sequential([keras.Input((8,), name="inp"), L.Dense(6, activation="relu", name="fc1"),
                          L.BatchNormalization(name="bn"), L.Dense(5, name="fc2"), L.Activation("sigmoid", name="sig"),
                          L.Dense(3, name="fc3"), L.Softmax(name="sm")], name="m")
    rng = np.random.default_rng(1)
    for layer in m.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in ws])
    return m


def _user_config(m: keras.Model) -> dict[str, Any]:
    cfg = hls4ml.utils.config_from_keras_model(m, granularity="name", default_precision="ap_fixed<16,6>")
    names = cfg["LayerName"]
    names["fc1"]["Precision"] = {"weight": "ap_fixed<8,3>", "bias": "ap_fixed<10,4>", "result": "ap_fixed<14,5>",
                                 "accum": "ap_fixed<20,8>"}
    names["fc1_relu"]["Precision"] = {"result": "ap_ufixed<10,4,AP_RND,AP_SAT>"}
    names["fc2"]["Precision"] = "ap_fixed<12,4>"
    names["sig"]["Precision"] = {"result": "ap_fixed<10,2>"}
    for n in ("inp", "bn", "fc3", "sm"):
        names[n]["Precision"] = {}
    names["fc3"]["ReuseFactor"] = 2
    return cfg


def _hls4ml_types(m: keras.Model, cfg: dict[str, Any], tmp: Path) -> dict[str, dict[str, FixedType]]:
    hm = hls4ml.converters.convert_from_keras_model(m, hls_config=cfg, backend="Vitis", output_dir=str(tmp / "prj"))
    out = {}
    for layer in hm.get_layers():
        d = {"result": _ours(layer.get_output_variable().type.precision)}
        for k, w in layer.weights.items():
            d[k] = _ours(w.type.precision)
        for a in ("accum_t", "table_t", "exp_table_t", "inv_table_t"):
            t = layer.get_attr(a)
            if t is not None:
                d[a[:-2]] = _ours(t.precision)
        d["ReuseFactor"] = layer.get_attr("reuse_factor")
        out[layer.name] = d
    return out


def test_config_from_keras_model_gives_hls4mls_types(model: keras.Model, tmp_path: Path) -> None:
    cfg = _user_config(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _hls4ml_types(model, cfg, tmp_path)
    g = from_keras(model)
    q = configure(g, cfg)
    node_of = {"fc1": "fc1_linear", "fc1_relu": "fc1", "bn": "bn", "fc2": "fc2", "sig": "sig", "fc3": "fc3", "sm": "sm"}
    for hname, nname in node_of.items():
        node, w = q.node(nname), want[hname]
        assert q.values[node.outputs[0]].type == w["result"], hname
        if node.op is Op.DENSE:
            assert q.values[node.inputs[1]].type == w["weight"], hname
            assert q.values[node.inputs[2]].type == w["bias"], hname
            assert node.precision["accum"] == w["accum"], hname
            assert node.options["hls"].reuse_factor == w["ReuseFactor"], hname
        if node.op is Op.BATCHNORM:
            assert q.values[node.inputs[1]].type == w["scale"] and q.values[node.inputs[2]].type == w["bias"]
        if node.op is Op.SIGMOID:
            assert node.precision["table"] == w["table"]
        if node.op is Op.SOFTMAX:
            assert node.precision["exp_table"] == w["exp_table"] and node.precision["inv_table"] == w["inv_table"]
            assert node.precision["sum"] == w["accum"]
    assert q.values[q.inputs[0]].type == want["inp"]["result"]


def test_project_yaml_with_hlsconfig_loads_and_reports_unused_keys(model: keras.Model, tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    project = {"KerasJson": "m.json", "OutputDir": "prj", "ProjectName": "myproject", "Part": "xcvu13p-flga2577-2-e",
               "ClockPeriod": 5, "Backend": "Vitis", "IOType": "io_parallel",
               "HLSConfig": {"Model": {"Precision": "ap_fixed<14,4>", "ReuseFactor": 4, "Strategy": "resource",
                                       "BramFactor": 2000},
                             "LayerType": {"Dense": {"Precision": {"weight": "ap_fixed<6,2>"}, "Compression": True}},
                             "LayerName": {"fc3": {"Precision": {"weight": "ap_fixed<9,3>"}, "ReuseFactor": 1}}}}
    path = tmp_path / "keras-config.yml"
    path.write_text(yaml.safe_dump(project))
    g = from_keras(model)
    with pytest.warns(UserWarning) as rec:
        q = configure(g, path)
    msg = " ".join(str(r.message) for r in rec)
    assert "BramFactor" in msg and "Compression" in msg and "Part" in msg
    assert msg.count("keys with no meaning") == 1  # reported once
    assert q.values[q.node("fc2").inputs[1]].type == FixedType(6, 2)  # LayerType
    assert q.values[q.node("fc3").inputs[1]].type == FixedType(9, 3)  # LayerName beats LayerType
    assert q.values[q.node("fc3").inputs[2]].type == FixedType(14, 4)  # Model default
    # the model-wide ReuseFactor 4 becomes fc2's closest valid one (hls4ml's rule); fc3 sets its own
    n_in, n_out = q.values[q.node("fc2").inputs[1]].shape
    valid = [r for r in range(1, n_in * n_out + 1) if (n_in * n_out) % r == 0]
    assert q.node("fc2").options["hls"].reuse_factor == min(valid, key=lambda r: (abs(r - 4), r))
    assert q.node("fc3").options["hls"].reuse_factor == 1
    assert q.node("fc2").options["hls"].strategy == "Resource"


def test_precision_string_and_auto() -> None:
    native = translate({"Model": {"Precision": "ap_fixed<10,4>", "ReuseFactor": 1}, "LayerName": {"a": {"Precision": {
        "result": "auto", "accum_t": "ap_fixed<20,10>"}}}})
    assert native["model"]["default"] == "ap_fixed<10,4>" and native["model"]["table"] == "ap_fixed<18,8>"
    assert native["layers"]["a"] == {"result": "auto", "accum": "ap_fixed<20,10>"}


def test_cli_config_accepts_hls4ml_yaml(model: keras.Model, tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    import subprocess
    import sys

    model.save(tmp_path / "m.keras")
    (tmp_path / "c.yml").write_text(yaml.safe_dump({"Model": {"Precision": "ap_fixed<12,5>", "ReuseFactor": 1}}))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "hlsforge.cli", "convert", str(tmp_path / "m.keras"), "-o", str(tmp_path / "out"), "--backend", "hls",
                        "--config", str(tmp_path / "c.yml")], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    written = "".join(p.read_text(errors="ignore") for p in (tmp_path / "out").rglob("*.h"))
    assert "ap_fixed<12,5>" in written


def test_iotype_becomes_io_type() -> None:
    from hlsforge.quantize.hls4ml_config import translate

    for io in ("io_stream", "io_parallel"):
        cfg = translate({"IOType": io, "HLSConfig": {"Model": {"Precision": "ap_fixed<16,6>"}}})
        assert cfg["model"]["io_type"] == io
