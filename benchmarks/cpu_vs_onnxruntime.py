"""CPU backend vs ONNX Runtime: per-event time at batch 1 and 16, throughput at batch 1000, peak memory.

Run: ``.venv/bin/python benchmarks/cpu_vs_onnxruntime.py`` (prints a markdown table).

Both tools run the same ONNX models (tests/model_zoo.py, identical weights) on the same
inputs; ONNX Runtime with one intra-op and one inter-op thread and sequential execution,
hlsforge with its BLAS set to one thread. Rows are per (model, batch). Columns:

- *py*: microseconds per event of ``predict`` / ``InferenceSession.run`` (calls of the two
  tools alternate, so a change of machine load hits both alike; best of several repeats);
- *C++*: microseconds per event of ``Session::infer`` in a C++ timing loop (hlsforge only:
  a tiny ``main`` that includes the generated header and links BLAS; best of 5 repeats);
- *b=1000*: events per second with batches of 1000 from Python (small models only);
- *peak RSS*: peak resident memory (``VmHWM`` of ``/proc/self/status``) of that C++ program (generated
  code, weights, one workspace, the in/out buffers of that batch), and of a Python process that
  runs only ONNX Runtime on the same batch (the same measure; ``above import`` subtracts that
  process's peak after ``import numpy, onnxruntime``, i.e. the interpreter and libraries).

Outputs are checked to agree first. The machine may be shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import onnxruntime as ort  # noqa: E402
from model_zoo import ZOO, deep_cnn2d  # noqa: E402
from sequence_zoo import SEQUENCE_ZOO  # noqa: E402

import hlsforge  # noqa: E402
from hlsforge import cpp_toolchain  # noqa: E402
from hlsforge.cpu_backend import compile as cpu_compile  # noqa: E402
from hlsforge.cpu_backend import find_blas, generate  # noqa: E402
from hlsforge.cpu_backend.runtime import BASE_FLAGS, host_flags  # noqa: E402
from hlsforge.ir.summary import node_macs  # noqa: E402

MODELS = {
    "MLP 16-64-32-32-5": "mlp_16_64_32_32_5",
    "MLP 10x100 ReLU": "deep_mlp",
    "Dense 7 -> sigmoid": "dense_sigmoid_7",
    "Conv1D (4x32)": "cnn1d",
    "Conv2D (3x16x16)": "cnn2d",
    "Conv2D 14 layers (64x100x100)": "deep_cnn2d",
}
FACTORIES = {**ZOO, "deep_cnn2d": deep_cnn2d}  # the deep model is too slow for the zoo's tests
# Sequence and attention models (issue 12), torch.onnx exports at tagger sizes (tests/sequence_zoo.py).
MODELS.update({
    "GRU 64 (20x16 sequence)": "gru_tagger",
    "LSTM 64 (20x16 sequence)": "lstm_tagger",
    "SimpleRNN 64 (20x16 sequence)": "rnn_tagger",
    "DeepDoubleB-like (3 inputs, Conv1D+GRU)": "deep_double_b",
    "Transformer block (30x64, 4 heads)": "transformer_block",
    "nn.TransformerEncoderLayer (30x64, 4 heads)": "torch_encoder_layer",
})
FACTORIES.update(SEQUENCE_ZOO)
BATCHES = (1, 16)
BIG_MACS = 10**8  # models above this many MACs per event skip the batch-1000 columns

# issue 12's missing operators (ops3): an EdgeConv block (MatMul distances, TopK, GatherElements)
# and a Conv3D model, both torch.onnx exports (tests/ops3_models.py)
from ops3_models import conv3d_onnx, edgeconv_single_input_onnx  # noqa: E402

MODELS.update({"EdgeConv (18x50 points, k=16, 3x64)": "edgeconv", "Conv3D (1x24x24x24)": "conv3d"})
FACTORIES.update({"edgeconv": edgeconv_single_input_onnx, "conv3d": lambda: conv3d_onnx(size=24, c=8)})
# a ConvTranspose decoder (tests/ops3_models.py): 32x4x4 latent -> 1x32x32 image in three stride-2 upsamplings
from ops3_models import decoder_onnx  # noqa: E402

MODELS.update({"ConvTranspose decoder (32x4x4 -> 1x32x32)": "decoder"})
FACTORIES.update({"decoder": decoder_onnx})

TIMING_MAIN = r"""
#include <sys/resource.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "{ns}.hpp"
{threads_decl}
// argv: weights, batch, seconds per repeat. Prints ns per event (best of 5) and peak RSS (KiB).
int main(int argc, char** argv) {{
  {threads_call}
  {ns}::Session session(argv[1]);
  const std::size_t n = std::strtoul(argv[2], nullptr, 10);
  const double seconds = std::atof(argv[3]);
  using S = {ns}::Session;
  std::vector<std::vector<float>> xs, ys;  // every input and output (multi-input models too)
  std::vector<const float*> in;
  std::vector<float*> out;
  for (std::size_t k = 0; k < S::kNumInputs; ++k) {{
    xs.emplace_back(n * S::kInputSize[k]);
    for (std::size_t i = 0; i < xs[k].size(); ++i) xs[k][i] = float((i * 7919u) % 97u) / 48.0f - 1.0f;
    in.push_back(xs[k].data());
  }}
  for (std::size_t k = 0; k < S::kNumOutputs; ++k) {{
    ys.emplace_back(n * S::kOutputSize[k]);
    out.push_back(ys[k].data());
  }}
  float* y0 = out[0];
  {ns}::Workspace ws(n);
  auto t0 = std::chrono::steady_clock::now();
  session.infer_ptrs(in.data(), out.data(), n, ws);  // warm-up, and sizes the loop
  const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::size_t iters = once >= seconds ? 1 : std::size_t(seconds / (once > 1e-9 ? once : 1e-9)) + 1;
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {{
    t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < iters; ++i) {{
      session.infer_ptrs(in.data(), out.data(), n, ws);
      asm volatile("" : : "r"(y0) : "memory");
    }}
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    const double per_event = ns / double(iters) / double(n);
    best = per_event < best ? per_event : best;
  }}
  // VmHWM: this process's peak RSS (ru_maxrss would keep the forking Python parent's peak)
  long hwm = -1;
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {{
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmHWM: %ld", &hwm) == 1) break;
    std::fclose(f);
  }}
  if (hwm < 0) {{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    hwm = long(ru.ru_maxrss);
  }}
  std::printf("%.1f %ld\n", best, hwm);
  return 0;
}}
"""

ORT_MEMORY = r"""
import resource, sys
import numpy as np, onnxruntime as ort


def peak_kib():  # VmHWM, as the C++ program reads it (ru_maxrss keeps the forking parent's peak)
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


base = peak_kib()
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
opts.inter_op_num_threads = 1
opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
sess = ort.InferenceSession(sys.argv[1], opts, providers=["CPUExecutionProvider"])
feeds = {}
for inp, dims in zip(sess.get_inputs(), sys.argv[3:]):  # one "d1,d2,..." per input
    shape = [int(sys.argv[2])] + [int(d) for d in dims.split(",") if d]
    x = (np.arange(np.prod(shape), dtype=np.int64) * 7919 % 97 / 48.0 - 1.0).astype(np.float32).reshape(shape)
    feeds[inp.name] = x
for _ in range(3):
    sess.run(None, feeds)
print(base, peak_kib())
"""


def ort_session(model) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def per_call(fns, seconds: float, repeats: int = 15) -> list[float]:
    """Best seconds per call of each function in ``fns``, timed in alternation (so that a
    change of machine load hits all of them alike) over ``repeats`` loops of about
    ``seconds`` each (fewer repeats for calls slower than 50 ms: at least 3)."""
    for fn in fns:
        fn()
    calls = []
    slowest = 0.0
    for fn in fns:
        t0 = time.perf_counter()
        fn()
        once = time.perf_counter() - t0
        slowest = max(slowest, once)
        calls.append(max(1, int(seconds / max(once, 1e-7))))
    if slowest > 0.05:
        repeats = max(3, min(repeats, int(10.0 / (slowest * len(fns))) + 1))
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(calls[k]):
                fn()
            times[k].append((time.perf_counter() - t0) / calls[k])
    return [min(t) for t in times]


def cpp_program(graph) -> tuple[Path, bytes]:
    """The timing program over the generated header, and the model's weight file."""
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
    return exe, files[f"{ns}.weights"]  # type: ignore[return-value]


def cpp_run(exe: Path, weights: Path, batch: int, seconds: float) -> tuple[float, float]:
    """(ns per event, peak RSS in MiB) of the C++ program at ``batch``."""
    out = subprocess.run([str(exe), str(weights), str(batch), str(seconds)], capture_output=True, text=True,
                         check=True)
    ns, rss = out.stdout.split()
    return float(ns), int(rss) / 1024


def ort_memory(model_path: Path, batch: int, shapes) -> tuple[float, float]:
    """(peak RSS, peak RSS above the imports) in MiB of a Python process running only ORT."""
    dims = [",".join(map(str, shape)) for shape in shapes]
    out = subprocess.run([sys.executable, "-c", ORT_MEMORY, str(model_path), str(batch), *dims],
                         capture_output=True, text=True, check=True)
    base, peak = (int(v) for v in out.stdout.split())
    return peak / 1024, (peak - base) / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    ap.add_argument("--models", nargs="*", default=list(MODELS.values()), choices=list(MODELS.values()),
                    help="model keys to run (default: all)")
    args = ap.parse_args()
    loop_s = 0.005 if args.quick else 0.03
    cpp_s = 0.02 if args.quick else 0.2
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, key in MODELS.items():
            if key not in args.models:
                continue
            proto = FACTORIES[key]()
            model_path = Path(tmp) / f"{key}.onnx"
            model_path.write_bytes(proto.SerializeToString())
            graph = hlsforge.load(proto)
            model = cpu_compile(graph)
            sess = ort_session(proto)
            in_names = [i.name for i in sess.get_inputs()]
            rng = np.random.default_rng(0)
            shapes = [graph.user_shape(name) for name in graph.inputs]
            big = sum(node_macs(graph, n) for n in graph.nodes) > BIG_MACS

            def batch_of(size: int, rng=rng, shapes=shapes, in_names=in_names, ours=tuple(graph.inputs)) -> tuple:
                """(our input: an array, or a dict for several inputs; ORT's feed)."""
                xs = [rng.normal(size=(size, *shape)).astype(np.float32) for shape in shapes]
                feed = dict(zip(in_names, xs, strict=True))
                return (xs[0] if len(xs) == 1 else dict(zip(ours, xs, strict=True))), feed

            xcheck, fcheck = batch_of(2 if big else 1000)
            ours, theirs = model.predict(xcheck), sess.run(None, fcheck)[0]
            if not np.allclose(ours, theirs, rtol=1e-4, atol=1e-5):
                print(f"{label}: outputs differ (max {np.abs(ours - theirs).max():.3g})", file=sys.stderr)
                return 1
            exe, weights = cpp_program(graph)
            wpath = Path(tmp) / f"{key}.weights"
            wpath.write_bytes(weights)
            for batch in BATCHES:
                x, feed = batch_of(batch)
                hf, ortt = per_call([lambda m=model, x=x: m.predict(x), lambda s=sess, f=feed: s.run(None, f)], loop_s)
                cpp_ns, cpp_rss = cpp_run(exe, wpath, batch, cpp_s)
                ort_rss, ort_above = ort_memory(model_path, batch, shapes)
                thr = None
                if batch == 1 and not big:
                    xb, fb = batch_of(1000)
                    hfb, ortb = per_call([lambda m=model, x=xb: m.predict(x),
                                          lambda s=sess, f=fb: s.run(None, f)], loop_s)
                    thr = (1000 / hfb, 1000 / ortb)
                rows.append((label, batch, hf / batch * 1e6, ortt / batch * 1e6, cpp_ns / 1000, cpp_rss, ort_rss,
                             ort_above, thr))
    print("| model | batch | hlsforge py (µs/event) | ORT py (µs/event) | speed-up | hlsforge C++ (µs/event) "
          "| hlsforge C++ peak RSS (MiB) | ORT py peak RSS (MiB; above import) | hlsforge b=1000 (ev/s) "
          "| ORT b=1000 (ev/s) | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, batch, hf, ortt, cpp, crss, orss, oabove, thr in rows:
        tail = f"{thr[0]:,.0f} | {thr[1]:,.0f} | {thr[0] / thr[1]:.2f}× |" if thr else "— | — | — |"
        print(f"| {label} | {batch} | {hf:.2f} | {ortt:.2f} | {ortt / hf:.2f}× | {cpp:.3f} | {crss:.1f} "
              f"| {orss:.1f} ({oabove:.1f}) | {tail}")
    print(f"\nonnxruntime {ort.__version__}, hlsforge {hlsforge.__version__}, BLAS: {find_blas(None).name} (1 thread); "
          f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
