"""Calibrated PTQ vs hls4ml's precision choices: argmax agreement and estimated LUT + DSP.

Three models, all run side by side in one process:

- ``jet_mlp``: the bundled jet-tagging MLP (16-64-32-32-5, examples/jet_tagger_mlp.onnx), as an
  equivalent Keras model with the same weights (hls4ml needs a Keras model to infer types);
- ``cnn2d``: a small 2D CNN (Conv2D-MaxPool-Conv2D-Flatten-Dense) trained here on synthetic
  10×10 images (a blob in one of four quadrants);
- ``cnn1d``: a small 1D CNN (Conv1D-Conv1D-AveragePool-Flatten-Dense) trained here on synthetic
  32-step, 3-channel sequences (five waveform classes).

Configurations compared, each emulated bit-exactly by hlsforge on held-out events and costed
by ``hlsforge.estimate`` (Virtex UltraScale+ xcvu13p, 5 ns):

- ``hls4ml default``: ``ap_fixed<16,6>`` everywhere (hls4ml's ``config_from_keras_model``
  default), through hlsforge's hls4ml-config translation;
- ``hls4ml auto``: the types **hls4ml 1.3 itself** infers with ``granularity="name"`` (its
  ``auto`` precisions, resolved by ``convert_from_keras_model``), read back from hls4ml's layers
  and applied as an explicit per-layer configuration;
- ``hlsforge calibrate``: ``hlsforge.quantize.calibrate(graph, x_calib, 0.999)``.

Agreement is the fraction of held-out events whose argmax equals the float model's (a tie for
the maximum counts as a disagreement). Cost is LUT and DSP as percentages of the part, added
(the objective calibrate minimizes); the ratio is to hls4ml's default.
Run: ``python benchmarks/calibration.py`` (about a minute; needs keras, hls4ml).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import hlsforge  # noqa: E402
from hlsforge import reference  # noqa: E402
from hlsforge.frontends.keras import from_keras  # noqa: E402
from hlsforge.quantize import configure, emulate  # noqa: E402
from hlsforge.quantize.calibrate import argmax_agreement, calibrate  # noqa: E402
from hlsforge.resources import get_part  # noqa: E402

PART, CLOCK = "xcvu13p-flga2577-2-e", 5.0


def _jet_mlp() -> tuple[Any, np.ndarray, np.ndarray]:
    import keras

    spec = importlib.util.spec_from_file_location("make_jet_tagger", ROOT / "examples" / "make_jet_tagger.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    x, _ = mod.synthetic_jets(20000, np.random.default_rng(2026))  # the example's own data
    g = hlsforge.load(ROOT / "examples" / "jet_tagger_mlp.onnx")
    dense = [n for n in g.nodes if n.op.value == "Dense"]
    layers: list[Any] = [keras.Input((16,), name="inputs")]
    for i, n in enumerate(dense):
        last = i == len(dense) - 1
        layers.append(keras.layers.Dense(g.values[n.inputs[1]].shape[-1], activation="softmax" if last else "relu",
                                         name=f"fc{i + 1}"))
    m = keras.Sequential(layers, name="jet_mlp")
    for layer, n in zip(m.layers, dense, strict=True):
        layer.set_weights([np.asarray(g.values[n.inputs[1]].data, np.float32), np.asarray(g.values[n.inputs[2]].data, np.float32)])
    return m, x[8000:16000], x[16000:20000]  # calibrate on 8000 events, test on 4000 unseen


def _train(m: Any, x: np.ndarray, y: np.ndarray) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=6, batch_size=64, verbose=0)
    return m


def _cnn2d() -> tuple[Any, np.ndarray, np.ndarray]:
    import keras
    from keras import layers as L

    rng = np.random.default_rng(1)
    n = 12000
    labels = rng.integers(0, 4, n)
    yy, xx = np.mgrid[0:10, 0:10]
    cy = np.where(labels < 2, 2.5, 6.5) + rng.normal(0, 0.8, n)
    cx = np.where(labels % 2 == 0, 2.5, 6.5) + rng.normal(0, 0.8, n)
    img = np.exp(-((yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2) / 4.0)
    img = (img * rng.uniform(1, 4, (n, 1, 1)) + rng.normal(0, 0.3, img.shape))[..., None].astype(np.float32)
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((10, 10, 1), name="img"), L.Conv2D(4, 3, activation="relu", name="conv1"),
                          L.MaxPooling2D(2, name="pool"), L.Conv2D(8, 3, activation="relu", name="conv2"),
                          L.Flatten(name="flat"), L.Dense(4, activation="softmax", name="out")], name="cnn2d")
    _train(m, img[:5000], labels[:5000])
    return m, img[5000:9000], img[9000:12000]


def _cnn1d() -> tuple[Any, np.ndarray, np.ndarray]:
    import keras
    from keras import layers as L

    rng = np.random.default_rng(2)
    n = 12000
    labels = rng.integers(0, 5, n)
    t = np.linspace(0, 1, 32)[None, :, None]
    freq = (1 + labels)[:, None, None] * 2.0
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 3))
    x = (np.sin(2 * np.pi * freq * t + phase) * rng.uniform(0.5, 2, (n, 1, 1)) + rng.normal(0, 0.3, (n, 32, 3)))
    x = x.astype(np.float32)
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((32, 3), name="seq"), L.Conv1D(8, 5, activation="relu", name="conv1"),
                          L.Conv1D(8, 5, strides=2, activation="relu", name="conv2"), L.AveragePooling1D(2, name="avg"),
                          L.Flatten(name="flat"), L.Dense(5, activation="softmax", name="out")], name="cnn1d")
    _train(m, x[:5000], labels[:5000])
    return m, x[5000:9000], x[9000:12000]


def _ap(p: Any) -> str:
    base = "ap_fixed" if p.signed else "ap_ufixed"
    return f"{base}<{p.width},{p.integer},AP_{p.rounding_mode.name},AP_{p.saturation_mode.name}>"


def hls4ml_auto_config(m: Any, tmp: Path) -> dict[str, Any]:
    """The per-layer types hls4ml 1.3 infers from ``auto`` precisions, as an hls4ml config."""
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(m, granularity="name", default_precision="ap_fixed<16,6>")
    hm = hls4ml.converters.convert_from_keras_model(m, hls_config=cfg, backend="Vitis", output_dir=str(tmp / m.name))
    names: dict[str, Any] = {}
    for layer in hm.get_layers():
        prec = {"result": _ap(layer.get_output_variable().type.precision)}
        for k, w in layer.weights.items():
            if k in ("weight", "bias", "scale"):
                prec[k] = _ap(w.type.precision)
        for a in ("accum_t", "table_t", "exp_table_t", "inv_table_t"):
            t = layer.get_attr(a)
            if t is not None:
                prec[a[:-2]] = _ap(t.precision)
        names[layer.name] = {"Precision": prec}
    return {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"}, "LayerName": names}


def measure(g: Any, cfg: Any, x: np.ndarray, ref_arg: np.ndarray) -> dict[str, float]:
    q = configure(g, cfg)
    y = np.asarray(emulate.run(q, x), np.float64)
    e = hlsforge.estimate(q, part=PART, clock_ns=CLOCK)
    avail = get_part(PART).totals()
    return {"agreement": argmax_agreement(y, ref_arg), "lut": e.lut, "dsp": e.dsp,
            "cost": 100 * (e.lut / avail["lut"] + e.dsp / avail["dsp"])}


def main() -> None:
    import tempfile

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="hlsforge_calib_bench_"))
    for name, make in (("jet_mlp", _jet_mlp), ("cnn2d", _cnn2d), ("cnn1d", _cnn1d)):
        m, x_cal, x_test = make()
        g = from_keras(m)
        ref_arg = np.asarray(reference.run(g, x_test), np.float64).argmax(1)
        t0 = time.perf_counter()
        cal = calibrate(g, x_cal, 0.999, part=PART, clock_ns=CLOCK, quiet=True)
        t_cal = time.perf_counter() - t0
        configs = {
            "hls4ml default ap_fixed<16,6>": {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1}},
            "hls4ml auto (hls4ml 1.3's types)": hls4ml_auto_config(m, tmp),
            "hlsforge calibrate (0.999)": cal.config,
        }
        base = None
        for label, cfg in configs.items():
            r = measure(g, cfg, x_test, ref_arg)
            base = base or r
            rows.append((name, label, r, r["cost"] / base["cost"], t_cal if label.startswith("hlsforge") else None))
    print("| model | configuration | argmax agreement (held-out) | LUT | DSP | LUT % + DSP % of part | cost / default |")
    print("|---|---|---|---|---|---|---|")
    for name, label, r, ratio, t in rows:
        extra = f" ({t:.1f} s)" if t is not None else ""
        print(f"| {name} | {label}{extra} | {100 * r['agreement']:.2f} % | {r['lut']} | {r['dsp']} | "
              f"{r['cost']:.2f} | {ratio:.2f} |")
    print(f"\nestimate: hlsforge.estimate on {PART} at {CLOCK} ns; agreement vs the float model on held-out events")


if __name__ == "__main__":
    main()
