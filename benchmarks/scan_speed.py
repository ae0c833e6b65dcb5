"""A 30-point design-space scan of the jet tagger: hlsforge.scan vs the hls4ml way, same run.

Usage::

    python benchmarks/scan_speed.py [--events 10000] [--workers 2] [--hls4ml-points 2] [--ray]

What is measured, on the bundled jet tagger (examples/jet_tagger_mlp.onnx) and 10,000 events
from the generator that trained it (examples/make_jet_tagger.py):

- hlsforge: ``hlsforge.scan`` over 6 precisions × 5 ReuseFactors (30 points): every point
  quantized, emulated bit-exactly, scored against the labels and estimated (LUT/FF/DSP/BRAM,
  latency) — with a local pool of ``--workers`` processes, in one process, and (``--ray``) on
  a local Ray instance of ``--workers`` CPUs. The three tables must be identical.
- hls4ml 1.3: what a user does today to get the accuracy of a configuration without a
  vendor tool — convert (from the same weights, as a PyTorch module), ``compile()`` (g++
  C simulation) and ``predict()`` the same events. It gives no resource numbers at all. Run for
  ``--hls4ml-points`` points (each takes seconds); the per-point time is extrapolated to 30
  points and labelled as such.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "jet_tagger_mlp.onnx"
PRECISIONS = ["ap_fixed<8,3>", "ap_fixed<10,4>", "ap_fixed<12,5>", "ap_fixed<14,6>", "ap_fixed<16,6>", "ap_fixed<18,8>"]
REUSE = [1, 2, 4, 8, 16]


def jet_events(n: int) -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.spec_from_file_location("make_jet_tagger", ROOT / "examples" / "make_jet_tagger.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x, y = mod.synthetic_jets(16000 + n, np.random.default_rng(2026))
    return x[16000:], y[16000:]


def torch_from_onnx(path: Path) -> Any:
    """The same network as a torch.nn.Sequential (Gemm: y = x @ W + b, so Linear.weight = W.T)."""
    import onnx
    import torch
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    layers: list[Any] = []
    for node in model.graph.node:
        if node.op_type == "Gemm":
            w, b = inits[node.input[1]], inits[node.input[2]]
            lin = torch.nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
        elif node.op_type == "Relu":
            layers.append(torch.nn.ReLU())
        elif node.op_type == "Softmax":
            layers.append(torch.nn.Softmax(dim=1))
    return torch.nn.Sequential(*layers).eval()


def hls4ml_point(model: Any, x: np.ndarray, y: np.ndarray, precision: str, rf: int, workdir: Path) -> float:
    import hls4ml

    cfg = hls4ml.utils.config_from_pytorch_model(model, input_shape=(x.shape[1],), granularity="model",
                                                 backend="Vitis", default_precision=precision,
                                                 default_reuse_factor=rf)
    cfg["Model"]["Strategy"] = "Latency"
    with contextlib.redirect_stdout(io.StringIO()):
        hm = hls4ml.converters.convert_from_pytorch_model(model, hls_config=cfg, output_dir=str(workdir),
                                                          backend="Vitis", io_type="io_parallel")
        hm.compile()
        out = np.asarray(hm.predict(np.ascontiguousarray(x)), np.float64).reshape(len(x), -1)
    return float(np.mean(out.argmax(1) == y))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=10000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--hls4ml-points", type=int, default=2)
    p.add_argument("--ray", action="store_true", help="also run on a local Ray instance")
    args = p.parse_args(argv)

    import hlsforge

    x, y = jet_events(args.events)
    graph = hlsforge.load(MODEL)
    n_points = len(PRECISIONS) * len(REUSE)
    rows: list[tuple[str, float, str]] = []

    def run_scan(label: str, **kw: Any) -> Any:
        t0 = time.perf_counter()
        res = hlsforge.scan(graph, x, y, precisions=PRECISIONS, reuse_factors=REUSE, quiet=True, **kw)
        dt = time.perf_counter() - t0
        rows.append((label, dt, f"{n_points} points, measured"))
        return res

    pooled = run_scan(f"hlsforge.scan, local pool of {args.workers}", workers=args.workers)
    serial = run_scan("hlsforge.scan, 1 process", workers=1)
    same = pooled.table() == serial.table()
    if args.ray:
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        t_init = time.perf_counter() - t0
        try:
            on_ray = run_scan(f"hlsforge.scan, Ray ({args.workers} CPUs; ray.init {t_init:.1f} s not included)",
                              executor="ray")
        finally:
            ray.shutdown()
        same = same and on_ray.table() == serial.table()

    hls4ml_note = ""
    try:
        model = torch_from_onnx(MODEL)
        times, accs = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for i, prec in enumerate(PRECISIONS[-args.hls4ml_points:][: args.hls4ml_points]):
                t0 = time.perf_counter()
                accs.append(hls4ml_point(model, x, y, prec, 1, Path(tmp) / f"p{i}"))
                times.append(time.perf_counter() - t0)
        per_point = sum(times) / len(times)
        rows.append(("hls4ml 1.3 convert + compile + predict", per_point * n_points,
                     f"{len(times)} points measured ({per_point:.1f} s each), x{n_points} extrapolated, "
                     "no resource numbers"))
        hls4ml_note = f"hls4ml accuracies of the measured points: {', '.join(f'{a:.4f}' for a in accs)}"
    except Exception as e:  # noqa: BLE001 - say why hls4ml could not run here instead of a number
        rows.append(("hls4ml 1.3", float("nan"), f"could not run: {type(e).__name__}: {e}"))

    print(f"{n_points}-point scan of the jet tagger, {args.events} events, {os.cpu_count()} CPUs visible")
    print(f"{'implementation':58s} {'time (s)':>9s}  note")
    for label, t, note in rows:
        print(f"{label:58s} {t:9.2f}  {note}")
    base = rows[0][1]
    for label, t, _ in rows[1:]:
        if t == t:
            print(f"{label}: {t / base:.1f}x the time of the local pool")
    print(f"tables identical across executors: {same}")
    if hls4ml_note:
        print(hls4ml_note)
    print(pooled)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
