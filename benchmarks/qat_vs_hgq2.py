"""hlsforge.qat vs HGQ2 vs plain Keras: step time, accuracy and EBOPs on the jet tagger.

Same architecture (16-64-32-32-5 MLP, ReLU, logits out), same data (the synthetic jets of
``examples/make_jet_tagger.py``, inputs on an ``ap_fixed<12,4>`` grid), same optimizer (Adam,
lr 3e-3), same epochs, batch 512, TensorFlow backend, one process. For each ``beta`` both
tools add ``beta·EBOPs`` to the loss (HGQ2: ``LayerConfigScope(beta0=beta)``; hlsforge:
``ResourceLoss(beta)``); EBOPs are each tool's own count at the end of training (both use
HGQ's Σ b_in·b_w; HGQ2 counts per-element activation bits, hlsforge per-tensor ones).

HGQ2 ships its own ``qkeras`` package, so run this in a separate venv:

    python -m venv /work/venvs/qat && /work/venvs/qat/bin/pip install hgq2 tensorflow-cpu keras onnx matplotlib
    PYTHONPATH=src /work/venvs/qat/bin/python benchmarks/qat_vs_hgq2.py [--epochs 5] [--out benchmarks/results]

Without HGQ2 installed it still measures hlsforge.qat against plain Keras.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from make_jet_tagger import N_CLASSES, N_FEATURES, synthetic_jets  # noqa: E402

from hlsforge import qat  # noqa: E402

HIDDEN = (64, 32, 32)
BATCH = 512
LR = 3e-3


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._t)


def data(seed: int = 7) -> tuple[np.ndarray, ...]:
    x, y = synthetic_jets(80000, np.random.default_rng(seed))
    x = np.clip(np.round(x * 256) / 256, -8, 8 - 1 / 256).astype(np.float32)  # ap_fixed<12,4> grid
    return x[:60000], y[:60000], x[60000:], y[60000:]


def plain() -> keras.Model:
    inp = keras.Input((N_FEATURES,))
    h = inp
    for u in HIDDEN:
        h = keras.layers.Dense(u, activation="relu")(h)
    return keras.Model(inp, keras.layers.Dense(N_CLASSES)(h))


def hlsforge_model(beta: float, x_cal: np.ndarray) -> keras.Model:
    inp = keras.Input((N_FEATURES,))
    h = qat.FixedQuantizer(12, 4, name="input_q")(inp)
    for i, u in enumerate(HIDDEN):
        h = qat.QDense(u, activation="relu", name=f"fc{i + 1}",
                       output_quantizer=dict(bits=10, integer=5, signed=False, trainable=True))(h)
    out = qat.QDense(N_CLASSES, name="logits", output_quantizer=dict(bits=12, integer=6, trainable=True))(h)
    model = keras.Model(inp, out)
    qat.calibrate(model, x_cal)
    qat.ResourceLoss(beta).attach(model)
    return model


def hgq2_model(beta: float) -> keras.Model:
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.layers import QDense

    with QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM"), \
            QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP"), \
            LayerConfigScope(enable_ebops=True, beta0=beta):
        inp = keras.Input((N_FEATURES,))
        h = inp
        for u in HIDDEN:
            h = QDense(u, activation="relu")(h)
        out = QDense(N_CLASSES)(h)
    return keras.Model(inp, out)


def hgq2_ebops(model: keras.Model) -> float:
    from hgq.layers import QLayerBase

    return float(sum(float(keras.ops.convert_to_numpy(la._ebops)) for la in model._flatten_layers()
                     if isinstance(la, QLayerBase) and la.enable_ebops))


def train(model: keras.Model, x, y, xt, yt, epochs: int) -> tuple[float, float]:
    """(accuracy, median step time in ms, excluding the first epoch)."""
    model.compile(keras.optimizers.Adam(LR), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    timer = EpochTimer()
    keras.utils.set_random_seed(0)
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer], shuffle=True)
    steps = -(-len(x) // BATCH)
    step_ms = 1000 * float(np.median(timer.times[1:] if len(timer.times) > 1 else timer.times)) / steps
    pred = np.asarray(model.predict(xt, batch_size=4096, verbose=0)).argmax(1)
    return float(np.mean(pred == yt)), step_ms


def interleaved_step_times(builders: dict[str, object], x, y, rounds: int) -> dict[str, float]:
    """Median-free, load-robust step time: every model trains one warm-up epoch, then
    ``rounds`` rounds of one epoch each, the models taking turns; the fastest round counts."""
    models = {}
    for name, build in builders.items():
        keras.utils.set_random_seed(0)
        m = build()
        m.compile(keras.optimizers.Adam(LR), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        models[name] = m
    best = {name: float("inf") for name in models}
    steps = -(-len(x) // BATCH)
    for _ in range(rounds):
        for name, m in models.items():
            t = time.perf_counter()
            m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
            best[name] = min(best[name], 1000 * (time.perf_counter() - t) / steps)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--betas", type=float, nargs="+", default=[1e-6, 3e-6, 1e-5])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--timing-rounds", type=int, default=3)
    args = ap.parse_args(argv)
    try:
        import hgq  # noqa: F401

        have_hgq = True
    except ImportError:
        have_hgq = False
        print("HGQ2 is not installed here: measuring hlsforge.qat against plain Keras only")
    x, y, xt, yt = data()
    keras.utils.set_random_seed(0)
    acc, t_plain = train(plain(), x, y, xt, yt, args.epochs)
    print(f"plain Keras (float): accuracy {acc:.4f}, {t_plain:.2f} ms/step")
    rows = [("Keras (float)", None, acc, None, t_plain, None)]
    for beta in args.betas:
        keras.utils.set_random_seed(0)
        m = hlsforge_model(beta, x[:4096])
        acc_h, t_h = train(m, x, y, xt, yt, args.epochs)
        rep = qat.verify(m, xt)
        rows.append(("hlsforge.qat", beta, acc_h, float(qat.ebops(m)), t_h, rep.mismatches))
        print(f"hlsforge.qat beta={beta:g}: accuracy {acc_h:.4f}, EBOPs {rows[-1][3]:.0f}, {t_h:.2f} ms/step, "
              f"{rep.mismatches} emulator mismatches on {rep.n} test rows")
        if have_hgq:
            keras.utils.set_random_seed(0)
            g = hgq2_model(beta)
            acc_g, t_g = train(g, x, y, xt, yt, args.epochs)
            rows.append(("HGQ2", beta, acc_g, hgq2_ebops(g), t_g, None))
            print(f"HGQ2         beta={beta:g}: accuracy {acc_g:.4f}, EBOPs {rows[-1][3]:.0f}, {t_g:.2f} ms/step")
    builders = {"Keras (float)": plain, "hlsforge.qat": lambda: hlsforge_model(1e-6, x[:4096])}
    if have_hgq:
        builders["HGQ2"] = lambda: hgq2_model(1e-6)
    timing = interleaved_step_times(builders, x, y, args.timing_rounds)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"Jet tagger 16-64-32-32-5, {args.epochs} epochs, batch {BATCH}, Adam {LR}, TensorFlow backend "
             f"(keras {keras.__version__}), one run.", "",
             "| model | beta | test accuracy | EBOPs | emulator mismatches (20,000 test rows) |",
             "|---|---|---|---|---|"]
    for name, beta, a, e, _t, mm in rows:
        lines.append(f"| {name} | {'' if beta is None else f'{beta:g}'} | {a:.4f} | {'' if e is None else f'{e:,.0f}'} | "
                     f"{'' if mm is None else mm} |")
    qs = [r for r in rows if r[0] == "hlsforge.qat"]
    hs = [r for r in rows if r[0] == "HGQ2"]
    base = timing["Keras (float)"]
    lines += ["", f"Step time (batch {BATCH}, beta 1e-6, fastest of {args.timing_rounds} interleaved epochs after a "
                  "warm-up epoch):", "", "| model | ms/step | × plain Keras |", "|---|---|---|"]
    for name, t in timing.items():
        lines.append(f"| {name} | {t:.2f} | {t / base:.2f}× |")
    if "HGQ2" in timing:
        lines += ["", f"hlsforge.qat / HGQ2 step time: {timing['hlsforge.qat'] / timing['HGQ2']:.2f}."]
    text = "\n".join(lines)
    print(text)
    (out / "qat_vs_hgq2.md").write_text(text + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for name, rs, mk in (("hlsforge.qat", qs, "o-"), ("HGQ2", hs, "s--")):
            if rs:
                rs = sorted(rs, key=lambda r: r[3])
                ax.plot([r[3] for r in rs], [r[2] for r in rs], mk, label=name)
                for r in rs:
                    ax.annotate(f"β={r[1]:g}", (r[3], r[2]), fontsize=7)
        ax.axhline(rows[0][2], color="gray", ls=":", label="float Keras")
        ax.set_xscale("log")
        ax.set_xlabel("EBOPs")
        ax.set_ylabel("test accuracy")
        ax.set_title("jet tagger: accuracy vs EBOPs")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "qat_vs_hgq2.png", dpi=100)
    except ImportError:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
