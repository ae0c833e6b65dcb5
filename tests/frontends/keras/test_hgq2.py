"""HGQ2 models read as trained: ``emulate.run(configure(load(model)), x)`` equals HGQ2's own
forward pass exactly, for live models and for saved ``.keras`` archives.

Two kinds of tests:

- with HGQ2 installed (``pytest.importorskip("hgq")``; CI does not install it): models are
  built here with per-element bits drawn at random (``hgq2_models``), and compared with
  ``model(x)`` on >= 1e4 grid inputs;
- without any framework (they run in CI): the archives in ``data/`` were written by HGQ2
  (``data/make_hgq2.py``, run in an environment with HGQ2) together with HGQ2's outputs on
  fixed inputs, and hlsforge must reproduce those outputs exactly.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import hlsforge
from hlsforge.errors import UnsupportedOpError
from hlsforge.ir.ops import Op
from hlsforge.quantize import configure, emulate

DATA = Path(__file__).parent / "data"
FIXTURES = ("hgq2_mlp", "hgq2_residual", "hgq2_cnn")


def _run(graph: hlsforge.ir.Graph, x: np.ndarray) -> np.ndarray:
    return np.asarray(emulate.run(configure(graph), x))


def _per_element_quantizers(graph: hlsforge.ir.Graph) -> int:
    return sum(1 for n in graph.nodes if n.op is Op.QUANTIZE and n.attrs.elements is not None)


# ----------------------------------------------------------------------------- framework-free (CI)


@pytest.mark.parametrize("name", FIXTURES)
def test_hgq2_archive_fixture_equals_hgq2_outputs(name: str) -> None:
    io = np.load(DATA / f"{name}_io.npz")
    g = hlsforge.load(DATA / f"{name}.keras")
    assert _per_element_quantizers(g) >= 2  # the fixture's bits differ per element
    got = _run(g, io["x"])
    np.testing.assert_array_equal(got.astype(np.float32), io["y"])
    assert np.array_equal(got.astype(np.float32).astype(np.float64), got)  # nothing finer than float32 hid


def test_hgq2_archive_csim_equals_emulator() -> None:
    """The HLS C simulation (io_parallel and io_stream) of the HGQ2 fixtures, configured as
    trained, equals the emulator at every layer (so equals HGQ2), per-element quantizers included."""
    from hlsforge.hls_backend import compile_many

    cases = [(name, io) for io in ("io_parallel", "io_stream") for name in FIXTURES]
    graphs = [configure(hlsforge.load(DATA / f"{name}.keras"), {"model": {"io_type": io}}) for name, io in cases]
    models = compile_many(graphs, names=[f"{n}_{io}" for n, io in cases], flags=("-O0", "-std=c++17"))
    for (name, _), g, m in zip(cases, graphs, models, strict=True):
        x = np.load(DATA / f"{name}_io.npz")["x"]
        want = emulate.run(g, x, trace=True).outputs
        got = m.trace(x)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name}: {key}")
        np.testing.assert_array_equal(got[g.outputs[0]].astype(np.float32), np.load(DATA / f"{name}_io.npz")["y"])


def test_hgq2_archive_graph_shape() -> None:
    """The MLP archive: every HGQ2 input quantizer is a Quantize node; weights are typed."""
    g = hlsforge.load(DATA / "hgq2_mlp.keras")
    ops = [n.op for n in g.nodes]
    assert ops.count(Op.QUANTIZE) == 1 + ops.count(Op.DENSE)  # the input Quantizer + one iq per QDense
    for n in g.nodes:
        if n.op is Op.DENSE:
            assert all(g.values[c].type.__class__.__name__ == "FixedType" for c in n.inputs[1:])


def _archive(tmp_path: Path, layers: list[dict]) -> Path:
    cfg = {"module": "keras", "class_name": "Sequential",
           "config": {"name": "m", "layers": [{"module": "keras.layers", "class_name": "InputLayer",
                                               "config": {"batch_shape": [None, 4], "name": "x"}}] + layers}}
    import h5py

    p = tmp_path / "m.keras"
    h5 = tmp_path / "w.h5"
    with h5py.File(h5, "w") as f:
        f.create_group("layers")
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("config.json", json.dumps(cfg))
        z.writestr("model.weights.h5", h5.read_bytes())
    return p


@pytest.mark.parametrize("cls, reason", [("QSoftmax", "HGQ2's own table"), ("QUnaryFunctionLUT", "HGQ2's own table"),
                                         ("QEinsum", "einsum"), ("QMultiHeadAttention", "attention")])
def test_unsupported_hgq2_layers_are_refused_by_name(tmp_path: Path, cls: str, reason: str) -> None:
    layer = {"module": "hgq.layers", "class_name": cls, "registered_name": f"hgq>{cls}",
             "config": {"name": "bad", "iq_conf": None}}
    with pytest.raises(UnsupportedOpError, match=rf"'bad' \({cls}\).*HGQ2.*{reason}"):
        hlsforge.load(_archive(tmp_path, [layer]))


def test_minifloat_quantizer_is_refused(tmp_path: Path) -> None:
    q = {"module": "hgq.quantizer.quantizer", "class_name": "Quantizer", "registered_name": "hgq>Quantizer",
         "config": {"name": "inq", "config": {"module": "hgq.quantizer.config", "class_name": "QuantizerConfig",
                                              "config": {"q_type": "float", "place": "datalane"}}}}
    with pytest.raises(UnsupportedOpError, match=r"'inq'.*minifloat"):
        hlsforge.load(_archive(tmp_path, [q]))


# ----------------------------------------------------------------------------- with HGQ2


@pytest.fixture(scope="module")
def hgq():
    return pytest.importorskip("hgq")


def _check(model, tmp_path: Path, n: int, seed: int) -> hlsforge.ir.Graph:
    from frontends.keras.hgq2_models import forward, grid_inputs

    x = grid_inputs(model, n, np.random.default_rng(seed))
    want = forward(model, x)
    live = hlsforge.load(model)
    np.testing.assert_array_equal(_run(live, x).astype(np.float32), want)
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    saved = hlsforge.load(path)
    np.testing.assert_array_equal(_run(saved, x).astype(np.float32), want)
    return live


def test_hgq2_jet_mlp_live_and_saved(hgq, tmp_path: Path) -> None:
    from frontends.keras.hgq2_models import jet_mlp, randomize

    m = randomize(jet_mlp(), np.random.default_rng(11))
    g = _check(m, tmp_path, 10_000, 1)
    assert _per_element_quantizers(g) == 5


def test_hgq2_residual_bn_live_and_saved(hgq, tmp_path: Path) -> None:
    from frontends.keras.hgq2_models import randomize, residual

    g = _check(randomize(residual(), np.random.default_rng(12)), tmp_path, 10_000, 2)
    assert {n.op for n in g.nodes} >= {Op.ADD, Op.BATCHNORM, Op.DENSE}


def test_hgq2_cnn_live_and_saved(hgq, tmp_path: Path) -> None:
    from frontends.keras.hgq2_models import randomize, small_cnn

    g = _check(randomize(small_cnn(), np.random.default_rng(13)), tmp_path, 2_000, 3)
    assert {n.op for n in g.nodes} >= {Op.CONV2D, Op.MAXPOOL2D, Op.AVGPOOL2D}


def test_hgq2_conv_extras_live_and_saved(hgq, tmp_path: Path) -> None:
    from frontends.keras.hgq2_models import conv_extras, randomize

    g = _check(randomize(conv_extras(), np.random.default_rng(22)), tmp_path, 1_000, 10)
    assert {n.op for n in g.nodes} >= {Op.CONV2D, Op.BATCHNORM, Op.GLOBAL_AVGPOOL}


def test_hgq2_conv1d_live_and_saved(hgq, tmp_path: Path) -> None:
    from frontends.keras.hgq2_models import conv1d, randomize

    _check(randomize(conv1d(), np.random.default_rng(14)), tmp_path, 5_000, 4)


def test_hgq2_misc_layers_live_and_saved(hgq, tmp_path: Path) -> None:
    """Output quantizers, enable_iq=False, QSubtract, QMultiply, Reshape, global average
    pooling and trainable WRAP weight quantizers (HGQ2 only rounds those)."""
    from frontends.keras.hgq2_models import misc, randomize

    g = _check(randomize(misc(), np.random.default_rng(17)), tmp_path, 10_000, 7)
    assert {n.op for n in g.nodes} >= {Op.SUB, Op.MUL, Op.GLOBAL_AVGPOOL, Op.RESHAPE}
    assert any(n.source_name == "fc1/oq" for n in g.nodes)
    assert any(n.source_name == "einsum" and n.op is Op.DENSE for n in g.nodes)


def test_hgq2_einsum_that_is_not_a_dense_is_refused(hgq) -> None:
    import keras
    from hgq.layers import QEinsumDense, Quantizer

    inp = keras.Input((3, 4))
    m = keras.Model(inp, QEinsumDense("btc,tco->bo", 2, name="ein")(Quantizer(name="inq")(inp)))
    with pytest.raises(UnsupportedOpError, match=r"'ein'.*einsum 'btc,tco->bo'"):
        hlsforge.load(m)


def test_hgq2_sequential_live_and_saved(hgq, tmp_path: Path) -> None:
    import hgq.layers as hl
    import keras
    from frontends.keras.hgq2_models import randomize
    from hgq.config import QuantizerConfig

    m = keras.Sequential([keras.Input((6,)), hl.Quantizer(QuantizerConfig(place="datalane", overflow_mode="SAT"),
                                                          name="inq"),
                          hl.QDense(4, activation="relu", name="a"), hl.QDense(2, name="b")], name="seq")
    _check(randomize(m, np.random.default_rng(20)), tmp_path, 5_000, 9)


def test_hgq2_frozen_model_wrap_weights(hgq, tmp_path: Path) -> None:
    """With the layers frozen (trainable=False) HGQ2 applies WRAP to weights too (and prunes)."""
    from frontends.keras.hgq2_models import misc, randomize

    m = randomize(misc("frozen"), np.random.default_rng(18))
    for layer in m.layers:
        layer.trainable = False
    _check(m, tmp_path, 5_000, 8)


def test_hgq2_as_trained_has_no_inexact_notes(hgq) -> None:
    from frontends.keras.hgq2_models import randomize, residual

    g = configure(hlsforge.load(randomize(residual(), np.random.default_rng(19))))
    assert g.metadata.get("as_trained", []) == []


@pytest.mark.slow
def test_hgq2_jet_mlp_csim_equals_hgq2(hgq) -> None:
    """The 16-64-32-32-5 jet tagger with per-element bits: C simulation == HGQ2 on 1e4 grid inputs."""
    from frontends.keras.hgq2_models import forward, grid_inputs, jet_mlp, randomize

    from hlsforge.hls_backend import compile_many

    m = randomize(jet_mlp(), np.random.default_rng(15))
    x = grid_inputs(m, 10_000, np.random.default_rng(16))
    g = configure(hlsforge.load(m))
    (model,) = compile_many([g], names=["hgq2_jet"], flags=("-O1", "-std=c++17"))
    np.testing.assert_array_equal(np.asarray(model.predict(x)).astype(np.float32), forward(m, x))


@pytest.mark.parametrize("q_type", ["kif", "kbi"])
@pytest.mark.parametrize("round_mode", ["TRN", "RND", "RND_CONV", "S_RND", "RND_ZERO", "RND_INF", "RND_MIN_INF",
                                        "TRN_ZERO"])
@pytest.mark.parametrize("overflow_mode", ["WRAP", "SAT", "SAT_SYM"])
def test_hgq2_quantizer_modes(hgq, q_type: str, round_mode: str, overflow_mode: str) -> None:
    """Each rounding × overflow mode of a per-element activation quantizer between two
    QDense layers, on inputs that land between grid points and beyond the ranges."""
    import keras
    from frontends.keras.hgq2_models import forward, grid_inputs, randomize
    from hgq.config import QuantizerConfig
    from hgq.layers import QDense, Quantizer

    iq = QuantizerConfig(q_type=q_type, place="datalane", round_mode=round_mode, overflow_mode=overflow_mode)
    inp = keras.Input((6,))
    h = Quantizer(QuantizerConfig(place="datalane", overflow_mode="SAT"), name="inq")(inp)
    h = QDense(5, name="fc1", iq_conf=iq)(h)
    m = keras.Model(inp, QDense(3, name="fc2", iq_conf=iq)(h), name=f"modes_{q_type}")
    randomize(m, np.random.default_rng(5))
    x = grid_inputs(m, 4000, np.random.default_rng(6))
    np.testing.assert_array_equal(_run(hlsforge.load(m), x).astype(np.float32), forward(m, x))


def test_hgq2_trained_briefly(hgq, tmp_path: Path) -> None:
    """A few training steps (HGQ2 moves its bits itself), then exact as trained."""
    import keras
    from frontends.keras.hgq2_models import forward, grid_inputs, jet_mlp

    rng = np.random.default_rng(21)
    m = jet_mlp((16, 16, 8, 5), name="trained")
    x = (rng.normal(size=(512, 16))).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 5, 512), 5)
    m.compile(optimizer=keras.optimizers.Adam(0.02), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    m.fit(x, y, epochs=2, batch_size=64, verbose=0)
    xg = grid_inputs(m, 10_000, rng)
    np.testing.assert_array_equal(_run(hlsforge.load(m), xg).astype(np.float32), forward(m, xg))


def test_hgq2_quantized_weights_equal_hgq2s(hgq) -> None:
    """Kernels, biases (also BatchNorm-folded ones) and BN scales/offsets are HGQ2's own
    quantized values, element by element, each in one common exact type."""
    import keras
    from frontends.keras.hgq2_models import randomize, residual, small_cnn

    for m in (randomize(residual(), np.random.default_rng(41)), randomize(small_cnn(), np.random.default_rng(42))):
        g = hlsforge.load(m)
        seen = 0
        for n in g.nodes:
            if n.op not in (Op.DENSE, Op.CONV2D, Op.BATCHNORM):
                continue
            layer = m.get_layer(n.source_name)
            if n.op is Op.BATCHNORM:
                want = [keras.ops.convert_to_numpy(t) for t in layer.qscaler_and_qoffset]
            else:
                want = [keras.ops.convert_to_numpy(layer.qkernel), keras.ops.convert_to_numpy(layer.qbias)]
            for name, w in zip(n.inputs[1:], want, strict=True):
                v = g.values[name]
                np.testing.assert_array_equal(np.asarray(v.data, np.float64).ravel(), np.asarray(w, np.float64).ravel())
                assert v.type.__class__.__name__ == "FixedType"
                seen += 1
        assert seen >= 6


def test_hgq2_live_activation_table_layer_refused(hgq) -> None:
    import keras
    from hgq.layers import QDense, Quantizer, QUnaryFunctionLUT

    inp = keras.Input((4,))
    h = QDense(3, name="fc")(Quantizer(name="inq")(inp))
    m = keras.Model(inp, QUnaryFunctionLUT("tanh", name="lut")(h))
    with pytest.raises(UnsupportedOpError, match=r"'lut'.*HGQ2"):
        hlsforge.load(m)


def test_hgq2_dense_float_activation_refused(hgq) -> None:
    import keras
    from hgq.layers import QDense, Quantizer

    inp = keras.Input((4,))
    m = keras.Model(inp, QDense(3, activation="tanh", name="fc")(Quantizer(name="inq")(inp)))
    with pytest.raises(UnsupportedOpError, match=r"'fc'.*'tanh'"):
        hlsforge.load(m)


def _mutations(cfg: dict) -> list[tuple[str, dict]]:
    """Damaged copies of an HGQ2 model config: keys removed, values of the wrong type."""
    import copy

    out = []
    layers = cfg["config"]["layers"]
    for li, layer in enumerate(layers):
        for key in list(layer.get("config", {})):
            for value in ("__delete__", None, "x", -3, [1, "a"], {"class_name": "QuantizerConfig", "config": 5}):
                c = copy.deepcopy(cfg)
                lc = c["config"]["layers"][li]["config"]
                if value == "__delete__":
                    del lc[key]
                else:
                    lc[key] = value
                out.append((f"{layer['class_name']}.{key}={value!r}", c))
        for qkey in ("iq_conf", "kq_conf", "bq_conf", "config"):
            q = layer.get("config", {}).get(qkey)
            if isinstance(q, dict) and isinstance(q.get("config"), dict):
                for k, v in (("round_mode", "FOO"), ("overflow_mode", "WRAP_SM"), ("q_type", "float"),
                             ("overflow_mode", 3), ("homogeneous_axis", "x"), ("trainable", "no")):
                    c = copy.deepcopy(cfg)
                    c["config"]["layers"][li]["config"][qkey]["config"][k] = v
                    out.append((f"{layer['class_name']}.{qkey}.{k}={v!r}", c))
    return out


def _check_damaged(tmp_path: Path, n: int | None) -> None:
    """Keys of the layers of an HGQ2 archive removed or given wrong values: the archive loads
    or fails with an ``HlsforgeError`` — never a raw exception."""
    from hlsforge.errors import HlsforgeError

    src = DATA / "hgq2_cnn.keras"
    with zipfile.ZipFile(src) as z:
        cfg = json.loads(z.read("config.json"))
        weights = z.read("model.weights.h5")
    cases = _mutations(cfg)
    assert len(cases) > 200
    if n is not None:
        pick = np.random.default_rng(5).choice(len(cases), n, replace=False)
        cases = [cases[i] for i in sorted(pick)]
    p = tmp_path / "m.keras"
    failures = []
    for name, c in cases:
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("config.json", json.dumps(c))
            z.writestr("model.weights.h5", weights)
        try:
            hlsforge.load(p)
        except HlsforgeError:
            pass
        except Exception as e:  # pragma: no cover - the failure being tested for
            failures.append(f"{name}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures[:20])


def test_damaged_hgq2_configs_load_or_raise_hlsforge_errors(tmp_path: Path) -> None:
    _check_damaged(tmp_path, 40)


@pytest.mark.slow
def test_all_damaged_hgq2_configs_load_or_raise_hlsforge_errors(tmp_path: Path) -> None:
    _check_damaged(tmp_path, None)
