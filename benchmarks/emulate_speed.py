"""Events per second of the bit-exact emulator on the jet-tagging MLP (16-64-32-32-5, ReLU,
softmax), on one core.

Usage::

    python benchmarks/emulate_speed.py [--batch 100000] [--repeat 3]

Rows: the emulator at several precisions (the accumulator strategy decides the exact fast
path it can take, see ``quantize/_emulate_dot.py``), next to float inference of the same
model — hlsforge's numpy reference and ONNX Runtime when installed — for scale. The model is
built from ``tests/model_zoo.py`` through ``hlsforge.load`` when the ONNX frontend is
available, else directly as an IR graph with the same shapes.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, set before numpy loads BLAS

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from hlsforge import reference  # noqa: E402
from hlsforge.ir import Graph, Op, SoftmaxAttrs  # noqa: E402
from hlsforge.quantize import configure, emulate  # noqa: E402

CONFIGS = {
    "ap_fixed<16,6>, accum auto": {"model": {"default": "ap_fixed<16,6>", "accum": "auto"}},
    "ap_fixed<8,3>, accum auto": {"model": {"default": "ap_fixed<8,3>", "accum": "auto"}},
    "ap_fixed<8,3>, default accum (<8,3>)": {"model": {"default": "ap_fixed<8,3>"}},
    "ap_fixed<16,6> everywhere (hls4ml default)": None,
    "ap_fixed<8,3>, accum ap_fixed<16,6>": {"model": {"default": "ap_fixed<8,3>", "accum": "ap_fixed<16,6>"}},
}


def _ir_mlp() -> Graph:
    sizes = (16, 64, 32, 32, 5)
    g = Graph("mlp_16_64_32_32_5")
    rng = np.random.default_rng(1)
    g.add_input("input", (16,))
    x = "input"
    for i in range(4):
        k = g.add_constant(f"w{i}", (rng.normal(size=sizes[i : i + 2]) / np.sqrt(sizes[i])).astype(np.float32))
        b = g.add_constant(f"b{i}", (rng.normal(size=sizes[i + 1]) * 0.1).astype(np.float32))
        x = g.add_node(Op.DENSE, [x, k.name, b.name], source_name=f"fc{i + 1}").outputs[0]
        if i < 3:
            x = g.add_node(Op.RELU, [x], source_name=f"relu{i + 1}").outputs[0]
    g.outputs = g.add_node(Op.SOFTMAX, [x], attrs=SoftmaxAttrs(0), source_name="softmax").outputs
    return g.validate()


def build_model() -> tuple[Graph, object | None, str]:
    """The MLP as an IR graph, the ONNX model (if built) and where it came from."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    try:
        from model_zoo import mlp_16_64_32_32_5

        import hlsforge

        onnx_model = mlp_16_64_32_32_5()
        return hlsforge.load(onnx_model), onnx_model, "tests/model_zoo.py via hlsforge.load"
    except Exception as e:  # noqa: BLE001 - the ONNX frontend may not exist yet; fall back
        return _ir_mlp(), None, f"IR graph built directly ({type(e).__name__}: ONNX path unavailable)"


def best_of(fn, repeat: int) -> tuple[float, float]:
    """Best CPU time of this process and best wall time over ``repeat`` runs. With one BLAS
    thread the CPU time is the one-core cost, robust to other load on the machine."""
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    graph, onnx_model, origin = build_model()
    x = np.random.default_rng(0).normal(size=(args.batch, 16)).astype(np.float32)
    rows = []
    for label, cfg in CONFIGS.items():
        q = configure(graph, cfg)
        emulate.run(q, x[:256])  # warm-up
        cpu, wall = best_of(lambda q=q: emulate.run(q, x), args.repeat)
        accum = q.nodes[0].precision["accum"]
        rows.append((f"hlsforge emulate, {label}", str(accum), args.batch / cpu, args.batch / wall))
    cpu, wall = best_of(lambda: reference.run(graph, x), args.repeat)
    rows.append(("hlsforge float reference (numpy)", "float32", args.batch / cpu, args.batch / wall))
    if onnx_model is not None:
        try:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = opts.inter_op_num_threads = 1
            sess = ort.InferenceSession(onnx_model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
            name = sess.get_inputs()[0].name
            cpu, wall = best_of(lambda: sess.run(None, {name: x}), args.repeat)
            rows.append(("ONNX Runtime (float, 1 thread)", "float32", args.batch / cpu, args.batch / wall))
        except ImportError:
            pass
    print(f"model: 16-64-32-32-5 MLP ({origin}); batch {args.batch}; best of {args.repeat}; "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    w = max(len(r[0]) for r in rows)
    print(f"{'implementation':<{w}}  {'first accum':<16} {'events/s (CPU)':>15} {'events/s (wall)':>16}")
    for name, acc, rate_cpu, rate_wall in rows:
        print(f"{name:<{w}}  {acc:<16} {rate_cpu:>15,.0f} {rate_wall:>16,.0f}")


if __name__ == "__main__":
    main()
