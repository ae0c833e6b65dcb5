"""Calibration of recurrent cells (GRU, LSTM, SimpleRNN) and LayerNormalization: every type
they have is chosen from data (``quantize/_calibrate_recurrent.py``; docs/numerics.md,
"Calibrated post-training quantization").

As in test_calibrate.py, claims are re-measured from the returned configuration alone:
configure it, emulate it, compare with the float reference; internal ranges are recomputed
here from the float cell math written out in this file, not read from calibrate.
"""

from __future__ import annotations

import numpy as np
import pytest
from op_zoo import FIXED_RECURRENT_CASES, conv, random_inputs

import hlsforge
from hlsforge import reference
from hlsforge.errors import UnsupportedOpError
from hlsforge.ir.graph import Graph
from hlsforge.ir.ops import Op
from hlsforge.ir.types import parse_type
from hlsforge.quantize import configure, emulate
from hlsforge.quantize.calibrate import calibrate
from hlsforge.quantize.config import OP_VARIABLES

CASES = ["gru", "gru_bidirectional_lbr", "lstm_reverse", "simple_rnn_relu_bidirectional", "layernorm"]


def _node(g: Graph, ops: tuple[Op, ...]):
    return next(n for n in g.nodes if n.op in ops)


def _first(y: object, n: int) -> np.ndarray:
    """The first output (Y, what calibration targets), events by row."""
    if isinstance(y, dict):
        y = next(iter(y.values()))
    return np.asarray(y, np.float64).reshape(n, -1)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _lstm_forward_ranges(g: Graph, x: np.ndarray) -> tuple[float, float]:
    """max |gate pre-activation| and max |cell state| of a forward/reverse LSTM, from the
    ONNX equations written out here (gate order i o f c)."""
    n = _node(g, (Op.LSTM,))
    w, r, b, h0, c0, p = (np.asarray(g.values[v].data, np.float64)[0] for v in n.inputs[1:])
    hs = w.shape[0] // 4
    steps = range(x.shape[1] - 1, -1, -1) if n.attrs.direction == "reverse" else range(x.shape[1])
    h, c = np.tile(h0, (len(x), 1)), np.tile(c0, (len(x), 1))
    pre_max, c_max = 0.0, float(np.abs(c0).max())
    for t in steps:
        z = x[:, t] @ w.T + b[: 4 * hs] + h @ r.T + b[4 * hs :]
        zi, zo, zf, zc = (z[:, k * hs : (k + 1) * hs] for k in range(4))
        zi, zf = zi + p[:hs] * c, zf + p[2 * hs :] * c
        c = _sigmoid(zf) * c + _sigmoid(zi) * np.tanh(zc)
        zo = zo + p[hs : 2 * hs] * c
        pre_max = max(pre_max, *(float(np.abs(v).max()) for v in (zi, zo, zf, zc)))
        c_max = max(c_max, float(np.abs(c).max()))
        h = _sigmoid(zo) * np.tanh(c)
    return pre_max, c_max


@pytest.mark.parametrize("case", CASES)
def test_every_type_of_the_layer_is_chosen_and_the_target_holds(case: str) -> None:
    g = FIXED_RECURRENT_CASES[case]()
    x = np.asarray(random_inputs(g, 300, seed=3, scale=1.0))
    cal = calibrate(g, x, {"max_error": 0.05}, quiet=True)
    node = _node(g, (Op.GRU, Op.LSTM, Op.SIMPLE_RNN, Op.LAYERNORM))
    entry = cal.config["layers"][node.name]
    wanted = set(OP_VARIABLES[node.op]) - {"weight" if node.op is Op.LAYERNORM else ""}
    if node.attrs.__class__.__name__ == "RecurrentAttrs" and "Relu" in node.attrs.activations:
        wanted.discard("table")  # an exact comparison, no table
    assert wanted <= set(entry), sorted(wanted - set(entry))
    for var in wanted:
        assert parse_type(entry[var]) is not None
    assert not any(node.name in n for n in cal.notes if "stay at the default" in n)
    # re-measured: the target holds on the calibration data
    q = configure(g, cal.config)
    y, want = _first(emulate.run(q, x), len(x)), _first(reference.run(g, x), len(x))
    assert float(np.abs(y - want).max()) <= 0.05
    # no internal cast overflows on the calibration data (integer bits from observed ranges)
    tr = emulate.run(q, x, trace=True)
    for key, count in tr.accum_overflows.items():
        assert count == 0, key
    for key, count in tr.overflows.items():
        assert count == 0, key
    if node.op is Op.LAYERNORM:
        lo, hi = entry["table_range"]
        var = np.asarray(x, np.float64).var(axis=-1)
        assert lo <= var.min() and var.max() <= hi  # the table spans the variances that occur


def test_lstm_internal_types_hold_the_cell_math_ranges_and_tables_shrink_with_a_loose_target() -> None:
    g = FIXED_RECURRENT_CASES["lstm_reverse"]()
    x = np.asarray(random_inputs(g, 300, seed=4, scale=1.0))
    pre_max, c_max = _lstm_forward_ranges(g, x)
    tight = calibrate(g, x, {"max_error": 0.01}, quiet=True)
    loose = calibrate(g, x, {"max_error": 0.2}, quiet=True)
    e = tight.config["layers"]["lstm"]
    acc, cell = parse_type(e["accum"]), parse_type(e["cell"])
    assert float(acc.max) >= pre_max and float(acc.min) <= -pre_max
    assert float(cell.max) >= c_max and float(cell.min) <= -c_max
    assert loose.config["layers"]["lstm"]["table_size"] <= e["table_size"]
    assert loose.cost["lut"] + loose.cost["dsp"] <= tight.cost["lut"] + tight.cost["dsp"]
    assert "table" in tight.report() and "cell" in tight.report()


def test_float_only_ops_are_refused_naming_the_layer_and_default_typed_variables_are_noted() -> None:
    batch_matmul = pytest.importorskip("op_zoo").batch_matmul
    g = batch_matmul()
    with pytest.raises(UnsupportedOpError, match="scores"):
        calibrate(g, random_inputs(g, 20), 0.999, quiet=True)
    # a Dense-like layer whose types calibration sets gets no such note
    c = conv(1)
    cal = calibrate(c, random_inputs(c, 200, seed=1), {"max_error": 0.1}, quiet=True, cost="bits")
    assert not any("stay at the default" in n for n in cal.notes)


def test_default_typed_note_names_the_layer_and_the_variables() -> None:
    from hlsforge.quantize.calibrate import default_typed

    g = FIXED_RECURRENT_CASES["gru"]()
    notes = default_typed(g, {"gru": {"result": "ap_fixed<8,2>", "weight": "ap_fixed<8,2>"}}, "ap_fixed<16,6>")
    assert len(notes) == 1 and notes[0].startswith("gru (GRU): ")
    for var in ("recurrent_weight", "bias", "accum", "table"):
        assert var in notes[0]
    assert "ap_fixed<16,6>" in notes[0]


def test_public_name_and_yaml_round_trip() -> None:
    yaml = pytest.importorskip("yaml")
    g = FIXED_RECURRENT_CASES["layernorm"]()
    x = np.asarray(random_inputs(g, 200, seed=2, scale=1.0))
    cal = hlsforge.quantize.calibrate(g, x, {"max_error": 0.05}, quiet=True)
    assert yaml.safe_load(cal.to_yaml()) == cal.config
    q = configure(g, yaml.safe_load(cal.to_yaml()))
    assert np.array_equal(_first(emulate.run(q, x), len(x)), _first(emulate.run(configure(g, cal.config), x), len(x)))


# ----------------------------------------------------------------------------- a trained GRU model (slow)

SEQ, N_IN, N_CLASSES = 16, 4, 3


def _sequences(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A separable task: the class sets the frequency of a sine in channel 0 and the offset of
    channel 1; noise everywhere."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n)
    t = np.arange(SEQ)
    freq = np.array([0.15, 0.3, 0.45])[y]
    phase = rng.uniform(0, 2 * np.pi, n)
    x = rng.normal(0, 0.6, (n, SEQ, N_IN))
    x[:, :, 0] += np.sin(2 * np.pi * freq[:, None] * t[None] + phase[:, None])
    x[:, :, 1] += 0.5 * (y[:, None] - 1)
    return x.astype(np.float32), y


def _objective(q: Graph) -> float:
    """calibrate's estimate objective, recomputed: LUT, DSP and BRAM as fractions of the part."""
    from hlsforge.resources import DEFAULT_PART, get_part

    e, part = hlsforge.estimate(q), get_part(DEFAULT_PART).totals()
    return e.lut / part["lut"] + e.dsp / part["dsp"] + e.bram_18k / part["bram_18k"]


@pytest.mark.slow
def test_trained_conv_gru_model_meets_the_target_held_out_near_the_default_cost_and_csim_equals_emulator(tmp_path) -> None:
    keras = pytest.importorskip("keras")
    from keras import layers as L

    from hlsforge.hls_backend import compile_many

    keras.utils.set_random_seed(0)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()  # the same trained model every run
    x, y = _sequences(4000, 0)
    inp = keras.Input((SEQ, N_IN))
    # named: Keras numbers unnamed layers per process, so "gru" could be "gru_3" in a full run
    h = L.GRU(8, name="gru")(L.Conv1D(8, 3, activation="relu")(inp))
    m = keras.Model(inp, L.Dense(N_CLASSES)(h))
    m.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    m.fit(x, y, epochs=6, batch_size=64, verbose=0)
    x_held, y_held = _sequences(4000, 1)
    assert m.evaluate(x_held, y_held, verbose=0)[1] > 0.9  # argmax means something
    m.save(tmp_path / "gru.keras")
    g = hlsforge.load(tmp_path / "gru.keras")

    cal = calibrate(g, x[:2000], 0.999, quiet=True)
    assert cal.met
    q = configure(g, cal.config)
    default = configure(g, "ap_fixed<16,6>")
    want = np.asarray(reference.run(g, x_held)).argmax(1)
    assert np.mean(np.asarray(emulate.run(q, x_held)).argmax(1) == want) >= 0.999
    gru = cal.config["layers"]["gru"]
    assert {"weight", "recurrent_weight", "bias", "accum", "table", "table_size", "result"} <= set(gru)
    # the cost: about the default's, which misses the target (in both configurations the
    # unrolled GRU's constant multiplies are one DSP each at any width above 14 bits, and each
    # of its table reads one block RAM copy: the structure, not the widths, sets the cost)
    assert np.mean(np.asarray(emulate.run(default, x_held)).argmax(1) == want) < 0.999
    assert _objective(q) <= 1.05 * _objective(default)

    # the configured graph in C simulation: every layer equals the emulator, bit for bit
    model, = compile_many([q], names=["m_calibrated_gru"], flags=("-O0", "-std=c++17"))
    xs = x_held[:200]
    expected = emulate.run(q, xs, trace=True).outputs
    got = model.trace(xs)
    assert set(got) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)
    np.testing.assert_array_equal(model.predict(xs), emulate.run(q, xs))
