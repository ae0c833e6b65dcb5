"""Boosted decision trees: hlsforge vs conifer (HLS C simulation) and vs XGBoost / ONNX Runtime
(CPU, batch 1), same run, same models, same inputs.

Run: ``python benchmarks/bdt_vs_conifer.py [--quick]`` (prints markdown tables).

Models (trained here on seeded data, 16 features):
- *binary*: 100 trees of depth 4 (sklearn GradientBoostingClassifier for the conifer
  comparison — conifer 1.11 cannot read XGBoost 3 — and an XGBoost 3 model of the same shape for
  the CPU comparison);
- *5-class*: 20 rounds x 5 classes = 100 trees of depth 4.

C simulation: compile time from a cold cache (hlsforge: configure + write + g++; conifer:
``model.compile()``), then events/s of the compiled C simulation on the same inputs (hlsforge
``predict`` on a batch; conifer ``decision_function``). Both use ``ap_fixed<18,8>`` everywhere;
conifer's xilinxhls backend compiles against Xilinx ap_fixed.h (from the hls4ml wheel, given
to conifer with ``XILINX_AP_INCLUDE``), hlsforge against its own header. The outputs are
checked to agree before anything is timed (hlsforge's emulator and C-sim bit for bit; conifer
within its own precision, since its threshold rounding differs).

CPU: microseconds per call at batch 1 from Python (hlsforge ``predict``, XGBoost
``inplace_predict``, ONNX Runtime ``run`` on the onnxmltools conversion), and per event in a C++
loop over the generated header (hlsforge only). Medians of alternating repeats.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import hlsforge  # noqa: E402
from hlsforge import cpu_backend, hls_backend, reference  # noqa: E402
from hlsforge.quantize import configure, emulate  # noqa: E402

PRECISION = "ap_fixed<18,8>"
N_FEATURES = 16


def data(n: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    z = x[:, 0] + 0.5 * x[:, 1] * x[:, 2] - x[:, 3] ** 2 + 0.3 * x[:, 4:8].sum(1)
    y = (z > 0).astype(int) if classes == 2 else np.digitize(z, np.quantile(z, [0.2, 0.4, 0.6, 0.8]))
    return x, y


def sklearn_gb(classes: int):
    from sklearn.ensemble import GradientBoostingClassifier

    x, y = data(4000, classes)
    n = 100 if classes == 2 else 20
    return GradientBoostingClassifier(n_estimators=n, max_depth=4, random_state=0).fit(x, y)


def xgb_model(classes: int):
    import xgboost as xgb

    x, y = data(4000, classes)
    params = {"max_depth": 4, "seed": 0, "nthread": 1}
    if classes == 2:
        params["objective"] = "binary:logistic"
        rounds = 100
    else:
        params.update(objective="multi:softprob", num_class=classes)
        rounds = 20
    return xgb.train(params, xgb.DMatrix(x, label=y), rounds)


def hls_config() -> dict:
    return {"model": {"input": PRECISION, "leaf": PRECISION, "accum": PRECISION, "result": PRECISION}}


def time_hlsforge_csim(model, x: np.ndarray) -> tuple[float, float, np.ndarray]:
    g = hlsforge.load(model)
    old = os.environ.get("HLSFORGE_CACHE")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["HLSFORGE_CACHE"] = cache  # a cold cache: the compile is really timed
        t0 = time.perf_counter()
        q = configure(g, hls_config())
        csim = hls_backend.compile(q)
        compile_s = time.perf_counter() - t0
        if old is None:
            os.environ.pop("HLSFORGE_CACHE")
        else:
            os.environ["HLSFORGE_CACHE"] = old
        csim.predict(x[:100])
        t0 = time.perf_counter()
        y = csim.predict(x)
        rate = len(x) / (time.perf_counter() - t0)
    if not np.array_equal(y, emulate.run(q, x)):
        raise SystemExit("hlsforge C-sim differs from its emulator")
    return compile_s, rate, y


def time_conifer(model, x: np.ndarray, backend: str, out_dir: Path) -> tuple[float, float, np.ndarray]:
    import conifer

    cfg = getattr(conifer.backends, backend).auto_config()
    cfg.update({"OutputDir": str(out_dir / backend), "ProjectName": f"bdt_{backend}"})
    for key in ("Precision", "InputPrecision", "ThresholdPrecision", "ScorePrecision"):
        cfg[key] = PRECISION
    cm = conifer.converters.convert_from_sklearn(model, cfg)
    cm.write()
    t0 = time.perf_counter()
    cm.compile()
    compile_s = time.perf_counter() - t0
    cm.decision_function(x[:100])
    t0 = time.perf_counter()
    y = np.asarray(cm.decision_function(x))
    rate = len(x) / (time.perf_counter() - t0)
    return compile_s, rate, y.reshape(len(x), -1)


def cpu_latencies(bst, classes: int, quick: bool) -> dict[str, float]:
    import onnxruntime as ort
    from cpu_vs_onnxruntime import cpp_latency_ns, ort_session, per_call

    g = hlsforge.load(bst, output="proba")
    m = cpu_backend.compile(g)
    x = data(1000, classes, seed=3)[0]
    x1 = x[:1].copy()
    want = bst.inplace_predict(x).reshape(len(x), -1)
    got = m.predict(x)
    if want.shape[1] == 1 and got.shape[1] == 1:
        pass
    np.testing.assert_allclose(got.reshape(want.shape), want, atol=1e-6)
    from onnxmltools.convert import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    onx = convert_xgboost(bst, initial_types=[("x", FloatTensorType([None, N_FEATURES]))], target_opset=15)
    sess = ort_session(onx)
    name = sess.get_inputs()[0].name
    probs = sess.run(None, {name: x})[-1]
    probs = np.asarray(probs)[:, 1:] if classes == 2 else np.asarray(probs)
    np.testing.assert_allclose(probs.reshape(got.shape), got, atol=1e-5)
    _ = ort
    t = per_call([lambda: m.predict(x1), lambda: bst.inplace_predict(x1), lambda: sess.run(None, {name: x1})],
                 0.05 if quick else 0.2, 5 if quick else 15)
    cpp = cpp_latency_ns(g, 20000 if quick else 200000) / 1000
    return {"hlsforge py": t[0] * 1e6, "xgboost py": t[1] * 1e6, "ort py": t[2] * 1e6, "hlsforge C++": cpp}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer events (and skip conifer xilinxhls)")
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--conifer-events", type=int, default=5_000)
    args = p.parse_args()
    from hlsforge.hls_backend import find_ap_types

    os.environ.setdefault("XILINX_AP_INCLUDE", str(find_ap_types()))
    rows = []
    lat = {}
    for classes, label in ((2, "binary, 100 trees d4"), (5, "5-class, 20x5 trees d4")):
        model = sklearn_gb(classes)
        x = data(args.events, classes, seed=1)[0]
        hc, hr, hy = time_hlsforge_csim(model, x)
        ref = reference.run(hlsforge.load(model), x)
        row = {"model": label, "hlsforge compile": hc, "hlsforge ev/s": hr,
               "hlsforge max|Δ| vs float": float(np.abs(hy - ref).max())}
        with tempfile.TemporaryDirectory() as tmp:
            xs = x[: args.conifer_events]
            for backend in (("cpp",) if args.quick else ("cpp", "xilinxhls")):
                try:
                    cc, cr, cy = time_conifer(model, xs, backend, Path(tmp))
                except Exception as e:  # noqa: BLE001 - report the competitor's failure, keep going
                    row[f"conifer {backend}"] = f"failed: {str(e).splitlines()[0][:80]}"
                    continue
                row[f"conifer {backend} compile"] = cc
                row[f"conifer {backend} ev/s"] = cr
                row[f"conifer {backend} max|Δ| vs float"] = float(np.abs(cy.reshape(hy[: len(xs)].shape) - ref[: len(xs)]).max())
        rows.append(row)
        lat[label] = cpu_latencies(xgb_model(classes), classes, args.quick)
        print(row, flush=True)
        print(lat[label], flush=True)

    print("\n### HLS C simulation (ap_fixed<18,8>)\n")
    print("| model | tool | compile (s) | C-sim events/s | max abs diff vs float | compile speed-up | events/s ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | hlsforge | {r['hlsforge compile']:.2f} | {r['hlsforge ev/s']:,.0f} | "
              f"{r['hlsforge max|Δ| vs float']:.3g} | 1 | 1 |")
        for b in ("cpp", "xilinxhls"):
            if f"conifer {b} compile" in r:
                print(f"| {r['model']} | conifer {b} | {r[f'conifer {b} compile']:.2f} | {r[f'conifer {b} ev/s']:,.0f} | "
                      f"{r[f'conifer {b} max|Δ| vs float']:.3g} | "
                      f"{r[f'conifer {b} compile'] / r['hlsforge compile']:.1f}x | "
                      f"{r['hlsforge ev/s'] / r[f'conifer {b} ev/s']:.0f}x |")
            elif f"conifer {b}" in r:
                print(f"| {r['model']} | conifer {b} | {r[f'conifer {b}']} | | | | |")
    print("\n### CPU, batch 1 (XGBoost 3 models, predict_proba output)\n")
    print("| model | hlsforge py (us) | XGBoost inplace_predict (us) | ONNX Runtime (us) | hlsforge C++ (us) |")
    print("|---|---|---|---|---|")
    for label, v in lat.items():
        print(f"| {label} | {v['hlsforge py']:.2f} | {v['xgboost py']:.2f} | {v['ort py']:.2f} | {v['hlsforge C++']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
