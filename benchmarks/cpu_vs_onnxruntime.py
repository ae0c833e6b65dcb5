"""CPU backend vs ONNX Runtime: per-event latency at batch 1 and throughput at batch 1000.

Run: ``.venv/bin/python benchmarks/cpu_vs_onnxruntime.py`` (prints a markdown table).

Both tools run the same ONNX models (tests/model_zoo.py, identical weights) in the same
process on the same inputs; ONNX Runtime with one intra-op and one inter-op thread and
sequential execution, hlsforge with its BLAS set to one thread. Columns:

- *py b=1*: microseconds per call of ``predict`` / ``InferenceSession.run`` on one event;
- *C++ b=1*: microseconds per event of ``Session::infer`` in a C++ timing loop (hlsforge only:
  a tiny ``main`` that includes the generated header and links BLAS);
- *b=1000*: events per second with batches of 1000 from Python.

Every number is the median of several repeats; outputs are checked to agree first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import onnxruntime as ort  # noqa: E402
from model_zoo import ZOO  # noqa: E402

import hlsforge  # noqa: E402
from hlsforge import cpp_toolchain  # noqa: E402
from hlsforge.cpu_backend import compile as cpu_compile  # noqa: E402
from hlsforge.cpu_backend import find_blas, generate  # noqa: E402
from hlsforge.cpu_backend.runtime import BASE_FLAGS, host_flags  # noqa: E402

MODELS = {
    "MLP 16-64-32-32-5": "mlp_16_64_32_32_5",
    "MLP 10x100 ReLU": "deep_mlp",
    "Dense 7 -> sigmoid": "dense_sigmoid_7",
    "Conv1D (4x32)": "cnn1d",
    "Conv2D (3x16x16)": "cnn2d",
}

TIMING_MAIN = r"""
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "{ns}.hpp"
{threads_decl}
int main(int argc, char** argv) {{
  {threads_call}
  {ns}::Session session(argv[1]);
  const std::size_t iters = std::strtoul(argv[2], nullptr, 10);
  std::vector<float> x({ns}::Session::kInputSize[0]), y({ns}::Session::kOutputSize[0]);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7919u) % 97u) / 48.0f - 1.0f;
  {ns}::Workspace ws(1);
  for (std::size_t i = 0; i < iters / 10 + 1; ++i) session.infer(x.data(), y.data(), 1, ws);  // warm-up
  double best = 1e30;
  for (int rep = 0; rep < 7; ++rep) {{
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < iters; ++i) {{
      session.infer(x.data(), y.data(), 1, ws);
      asm volatile("" : : "r"(y.data()) : "memory");
    }}
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    best = ns / double(iters) < best ? ns / double(iters) : best;
  }}
  std::printf("%.1f\n", best);
  return 0;
}}
"""


def ort_session(model) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def per_call(fns, seconds: float, repeats: int = 15) -> list[float]:
    """Median seconds per call of each function in ``fns``, timed in alternation (so that a
    change of machine load hits all of them alike) over ``repeats`` loops of about
    ``seconds`` each."""
    for fn in fns:
        fn()
    calls = []
    for fn in fns:
        t0 = time.perf_counter()
        fn()
        calls.append(max(1, int(seconds / max(time.perf_counter() - t0, 1e-7))))
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(calls[k]):
                fn()
            times[k].append((time.perf_counter() - t0) / calls[k])
    return [statistics.median(t) for t in times]


def cpp_latency_ns(graph, iters: int) -> float:
    """Per-event latency (ns) at batch 1 from a C++ loop over the generated header."""
    files = generate(graph)
    ns = next(f[:-4] for f in files if f.endswith(".hpp") and f != "hlsforge_cpu.hpp")
    cfg = find_blas(None)
    threads_decl = threads_call = ""
    if cfg.set_threads_symbol:
        threads_decl = f'extern "C" void {cfg.set_threads_symbol}(int);'
        threads_call = f"{cfg.set_threads_symbol}(1);"
    sources = {k: v for k, v in files.items() if isinstance(v, str)}
    sources["timing_main.cpp"] = TIMING_MAIN.format(ns=ns, threads_decl=threads_decl, threads_call=threads_call)
    exe = cpp_toolchain.compile_executable(
        sources, name=f"time_{ns}", include_dirs=cfg.include_dirs, defines=dict(cfg.defines),
        flags=BASE_FLAGS, extra_flags=host_flags(), link_flags=cfg.link_flags,
    )
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        wpath = Path(tmp) / f"{ns}.weights"
        wpath.write_bytes(files[f"{ns}.weights"])  # type: ignore[arg-type]
        out = subprocess.run([str(exe), str(wpath), str(iters)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    ap.add_argument("--models", nargs="*", default=list(MODELS.values()), choices=list(MODELS.values()),
                    help="model-zoo keys to run (default: all)")
    args = ap.parse_args()
    loop_s = 0.005 if args.quick else 0.03
    rows = []
    for label, key in MODELS.items():
        if key not in args.models:
            continue
        proto = ZOO[key]()
        graph = hlsforge.load(proto)
        model = cpu_compile(graph)
        sess = ort_session(proto)
        in_name = sess.get_inputs()[0].name
        rng = np.random.default_rng(0)
        shape = graph.user_shape(graph.inputs[0])
        x1 = rng.normal(size=(1, *shape)).astype(np.float32)
        xb = rng.normal(size=(1000, *shape)).astype(np.float32)
        ours, theirs = model.predict(xb), sess.run(None, {in_name: xb})[0]
        if not np.allclose(ours, theirs, rtol=1e-4, atol=1e-5):
            print(f"{label}: outputs differ (max {np.abs(ours - theirs).max():.3g})", file=sys.stderr)
            return 1
        feed1 = {in_name: x1}
        feedb = {in_name: xb}
        hf1, ort1 = per_call([lambda m=model, x=x1: m.predict(x), lambda s=sess, f=feed1: s.run(None, f)], loop_s)
        cpp1 = cpp_latency_ns(graph, 200000 if not args.quick else 20000)
        hfb, ortb = per_call([lambda m=model, x=xb: m.predict(x), lambda s=sess, f=feedb: s.run(None, f)], loop_s)
        rows.append((label, hf1 * 1e6, ort1 * 1e6, cpp1 / 1000, 1000 / hfb, 1000 / ortb))
    print("| model | hlsforge py b=1 (us) | ORT py b=1 (us) | speed-up | hlsforge C++ b=1 (us) "
          "| hlsforge b=1000 (ev/s) | ORT b=1000 (ev/s) | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, hf1, ort1, cpp1, hfb, ortb in rows:
        print(f"| {label} | {hf1:.2f} | {ort1:.2f} | {ort1 / hf1:.1f}x | {cpp1:.3f} | {hfb:,.0f} | {ortb:,.0f} "
              f"| {hfb / ortb:.2f}x |")
    print(f"\nonnxruntime {ort.__version__}, hlsforge {hlsforge.__version__}, BLAS: {find_blas(None).name} (1 thread)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
