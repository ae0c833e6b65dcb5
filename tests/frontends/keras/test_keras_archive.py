"""``.keras`` archives read without any framework (zipfile + h5py).

- Keras 3 models built here with Keras, saved, then loaded by hlsforge in a *fresh
  interpreter* where importing tensorflow, torch, jax, keras or qkeras fails: the float
  reference must match Keras' own forward pass (computed in this process).
- QKeras-v3 archives in ``data/`` were written by the ``qkeras-v3`` package
  (``data/make_qkeras_v3.py``), together with its own ``predict`` output: hlsforge's reference
  must reproduce it exactly.
- HGQ2 archives (``data/make_hgq2.py``) run as trained by the emulator in that same fresh
  interpreter (``hgq`` blocked too) must reproduce HGQ2's own outputs exactly.
- Zip bombs, truncation and garbage are ``ModelFormatError`` with bounded memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import hlsforge
from hlsforge import reference
from hlsforge.errors import HlsforgeError, ModelFormatError
from hlsforge.frontends.keras import archive

DATA = Path(__file__).parent / "data"
BLOCKED = ("tensorflow", "torch", "jax", "keras", "qkeras", "tf_keras", "hgq")


def _blocking_runner(script: str) -> str:
    """Python source that forbids the frameworks, then runs ``script``."""
    return textwrap.dedent(f"""
        import sys, importlib.abc
        BLOCKED = {BLOCKED!r}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError("blocked in this test: " + name)
                return None
        sys.meta_path.insert(0, Block())
        for m in list(sys.modules):
            if m.split(".")[0] in BLOCKED:
                del sys.modules[m]
    """) + textwrap.dedent(script)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, np.ndarray, np.ndarray]]:
    keras = pytest.importorskip("keras")
    from keras import layers as L

    rng = np.random.default_rng(3)
    tmp = tmp_path_factory.mktemp("keras_archives")

    def fill(m: keras.Model) -> keras.Model:
        for layer in m.layers:
            ws = layer.get_weights()
            if ws:
                layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if "variance" in v.name
                                   else (rng.normal(size=w.shape) * 0.5).astype(np.float32)
                                   for v, w in zip(layer.weights, ws, strict=True)])
        return m

    out = {}
    mlp = fill(keras.Sequential([keras.Input((10,)), L.Dense(8, activation="relu", name="fc1"),
                                 L.BatchNormalization(name="bn"), L.Dense(4, name="fc2"), L.Softmax(name="sm")],
                                name="mlp"))
    inp = keras.Input((12, 12, 2), name="img")
    h = L.Conv2D(3, 3, activation="relu", name="conv")(inp)
    a = L.MaxPooling2D(2, name="pool")(h)
    b = L.AveragePooling2D(2, name="avg")(h)
    h = L.Concatenate(name="cat")([a, b])
    h = L.Flatten(name="flat")(h)
    cnn = fill(keras.Model(inp, L.Dense(3, activation="sigmoid", name="out")(h), name="cnn"))
    for name, m in (("mlp", mlp), ("cnn", cnn)):
        x = rng.normal(size=(32, *m.input_shape[1:])).astype(np.float32)
        p = tmp / f"{name}.keras"
        m.save(p)
        y = np.asarray(m.predict(x, verbose=0))
        out[name] = (p, x, y)
        m.save(tmp / f"{name}.h5")  # the legacy HDF5 format loads framework-free too
        out[f"{name}_h5"] = (tmp / f"{name}.h5", x, y)
    return out


def test_keras_archive_loads_in_a_fresh_interpreter_without_frameworks(
    saved_models: dict[str, tuple[Path, np.ndarray, np.ndarray]], tmp_path: Path
) -> None:
    cases = {}
    for name, (p, x, _) in saved_models.items():
        np.save(tmp_path / f"{name}_x.npy", x)
        cases[name] = str(p)
    for name in ("mlp", "cnn"):
        io = np.load(DATA / f"qkeras_v3_{name}_io.npz")
        np.save(tmp_path / f"qk_{name}_x.npy", io["x"])
        cases[f"qk_{name}"] = str(DATA / f"qkeras_v3_{name}.keras")
    hgq2 = {}
    for name in ("mlp", "cnn"):  # HGQ2 archives, run as trained by the fixed-point emulator
        np.save(tmp_path / f"hgq2_{name}_x.npy", np.load(DATA / f"hgq2_{name}_io.npz")["x"])
        hgq2[f"hgq2_{name}"] = str(DATA / f"hgq2_{name}.keras")
    script = _blocking_runner(f"""
        import json, numpy as np, hlsforge
        from hlsforge import reference
        from hlsforge.quantize import configure, emulate
        cases = json.loads({json.dumps(json.dumps(cases))})
        for name, path in cases.items():
            g = hlsforge.load(path)
            y = np.asarray(reference.run(g, np.load({str(tmp_path)!r} + f"/{{name}}_x.npy")), np.float64)
            np.save({str(tmp_path)!r} + f"/{{name}}_y.npy", y)
        hgq2 = json.loads({json.dumps(json.dumps(hgq2))})
        for name, path in hgq2.items():
            g = configure(hlsforge.load(path))
            y = np.asarray(emulate.run(g, np.load({str(tmp_path)!r} + f"/{{name}}_x.npy")), np.float64)
            np.save({str(tmp_path)!r} + f"/{{name}}_y.npy", y)
        cases.update(hgq2)
        bad = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
        print("LOADED", sorted(cases), "FRAMEWORKS", bad)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "FRAMEWORKS []" in r.stdout
    for name, (_, _, want) in saved_models.items():
        np.testing.assert_allclose(np.load(tmp_path / f"{name}_y.npy"), want, rtol=1e-5, atol=1e-5)
    for name in ("mlp", "cnn"):  # qkeras-v3's own predict output, exactly
        want = np.load(DATA / f"qkeras_v3_{name}_io.npz")["y"]
        np.testing.assert_array_equal(np.load(tmp_path / f"qk_{name}_y.npy").astype(np.float32), want)
    for name in ("mlp", "cnn"):  # HGQ2's own forward pass, exactly (saved by data/make_hgq2.py)
        want = np.load(DATA / f"hgq2_{name}_io.npz")["y"]
        np.testing.assert_array_equal(np.load(tmp_path / f"hgq2_{name}_y.npy").astype(np.float32), want)


def test_qkeras_v3_archive_types() -> None:
    g = hlsforge.load(DATA / "qkeras_v3_mlp.keras")
    quants = [n for n in g.nodes if n.op.value == "Quantize"]
    assert [n.source_name for n in quants] == ["in_q", "relu1", "fc2"]
    assert (quants[0].attrs.target.width, quants[0].attrs.target.integer) == (8, 4)
    io = np.load(DATA / "qkeras_v3_mlp_io.npz")
    np.testing.assert_array_equal(np.asarray(reference.run(g, io["x"]), np.float32), io["y"])


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


def test_zip_bomb_is_refused_before_reading(tmp_path: Path) -> None:
    cfg = json.dumps({"class_name": "Sequential", "config": {"layers": []}}).encode()
    bomb = _zip(tmp_path / "bomb.keras", {"config.json": cfg, "model.weights.h5": bytes(64 * 2**20)}, zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 2**20
    with pytest.raises(ModelFormatError, match="zip bomb"):
        hlsforge.load(bomb)
    cfg_bomb = _zip(tmp_path / "cfg.keras", {"config.json": b" " * (8 * 2**20)}, zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFormatError, match="zip bomb"):
        hlsforge.load(cfg_bomb)


def test_declared_size_over_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p, *_ = (DATA / "qkeras_v3_mlp.keras",)
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(ModelFormatError, match="more than the 1000"):
        hlsforge.load(p)


def test_damaged_archives_are_model_format_errors(tmp_path: Path) -> None:
    good = (DATA / "qkeras_v3_mlp.keras").read_bytes()
    rng = np.random.default_rng(0)
    variants = {
        "garbage": rng.integers(0, 256, 4000).astype(np.uint8).tobytes(),
        "empty": b"",
        **{f"trunc{n}": good[:n] for n in (10, 100, len(good) // 3, len(good) - 30)},
    }
    for i in range(12):
        b = bytearray(good)
        for pos in rng.integers(0, len(b), 8):
            b[pos] ^= 0xFF
        variants[f"flip{i}"] = bytes(b)
    variants["no_config"] = _zip(tmp_path / "nc.keras", {"model.weights.h5": b"x"}).read_bytes()
    variants["bad_json"] = _zip(tmp_path / "bj.keras", {"config.json": b"{", "model.weights.h5": b"x"}).read_bytes()
    variants["bad_h5"] = _zip(tmp_path / "bh.keras", {"config.json": json.dumps(
        {"class_name": "Sequential", "config": {"layers": []}}).encode(), "model.weights.h5": b"not hdf5"}).read_bytes()
    for name, data in variants.items():
        p = tmp_path / f"{name}.keras"
        p.write_bytes(data)
        try:
            hlsforge.load(p)
        except HlsforgeError:
            continue
        except Exception as e:  # pragma: no cover - the failure being tested for
            pytest.fail(f"{name}: {type(e).__name__}: {e}")
        assert name.startswith("flip"), f"{name} loaded"


def test_hgq2_layer_without_quantizers_is_not_misread(tmp_path: Path) -> None:
    """HGQ2's ``QDense`` shares QKeras's class name; an HGQ2 layer config without its
    quantizer configs must not load as a QKeras/float Dense (HGQ2 models: test_hgq2.py)."""
    layer = {"module": "hgq.layers.core.dense", "class_name": "QDense", "registered_name": "hgq>QDense",
             "config": {"name": "d1", "units": 2}, "inbound_nodes": []}
    cfg = {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [layer]}}
    p = _zip(tmp_path / "hgq.keras", {"config.json": json.dumps(cfg).encode(), "model.weights.h5": b"x"})
    with pytest.raises(ModelFormatError, match=r"'d1'.*HGQ2 layer without its quantizer configs"):
        hlsforge.load(p)
