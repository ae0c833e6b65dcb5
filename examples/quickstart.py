"""The main job on the bundled example model, end to end.

1. load the ONNX jet tagger into the IR and print it (what ``hlsforge inspect`` shows);
2. check the float reference against ONNX Runtime;
3. compile the CPU backend (C++ + BLAS) and check it against the float reference;
4. quantize to ``ap_fixed<16,6>`` and cross-check float vs fixed point layer by layer;
5. compile the HLS C simulation and check it equals the bit-exact emulator;
6. write a complete Vitis HLS project and run its own testbench with g++.

Run from the repository root: ``python examples/quickstart.py [OUT_DIR]``.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np

import hlsforge
from hlsforge import cpu_backend, hls_backend, projects, reference
from hlsforge.crosscheck import compare
from hlsforge.quantize import configure, emulate

HERE = Path(__file__).resolve().parent
MODEL = HERE / "jet_tagger_mlp.onnx"
EVENTS = HERE / "jet_tagger_inputs.npy"
CONFIG = {"model": {"default": "ap_fixed<16,6>", "accum": "auto"}, "layers": {"softmax": {"result": "ap_ufixed<16,0,AP_RND,AP_SAT>"}}}


def step(title: str) -> None:
    print(f"\n== {title}")


def main(out_dir: Path) -> int:
    x = np.load(EVENTS)
    failures = 0

    step("1. the model in hlsforge's IR")
    graph = hlsforge.load(MODEL)
    print(graph)

    step("2. float reference vs ONNX Runtime")
    try:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(MODEL), opts, providers=["CPUExecutionProvider"])
        ort_y = sess.run(None, {"input": x})[0]
        ref_y = reference.run(graph, x)
        ok = np.allclose(ref_y, ort_y, rtol=1e-5, atol=1e-6)
        failures += not ok
        print(f"{len(x)} events: {'agree' if ok else 'DIFFER'} (max |diff| {np.abs(ref_y - ort_y).max():.2g})")
    except ImportError:
        ref_y = reference.run(graph, x)
        print("onnxruntime is not installed: skipped (pip install 'hlsforge[check]')")

    step("3. CPU backend (C++17 + BLAS) vs float reference")
    start = time.perf_counter()
    cpu = cpu_backend.compile(graph)
    cpu_y = cpu.predict(x)
    ok = np.allclose(cpu_y, ref_y, rtol=1e-5, atol=1e-5)
    failures += not ok
    print(f"compiled in {time.perf_counter() - start:.1f} s; {'agrees' if ok else 'DIFFERS'} (max |diff| {np.abs(cpu_y - ref_y).max():.2g})")

    step("4. fixed point: float vs ap_fixed<16,6>, layer by layer")
    report = compare(graph, x, CONFIG)
    print(report)

    step("5. HLS C simulation vs bit-exact emulator")
    qgraph = configure(graph, CONFIG)
    start = time.perf_counter()
    csim = hls_backend.compile(qgraph)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    csim_y = csim.predict(x)
    run_s = time.perf_counter() - start
    emu_y = emulate.run(qgraph, x)
    exact = np.array_equal(csim_y, emu_y)
    failures += not exact
    print(f"compiled in {compile_s:.1f} s, {len(x)} events in {1e3 * run_s:.1f} ms: "
          f"{'bit-exact' if exact else 'DIFFERS'} ({np.count_nonzero(csim_y != emu_y)} values differ)")

    step(f"6. Vitis HLS project in {out_dir}")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    files = projects.write_project(graph, CONFIG, out_dir, tool="vitis", test_inputs=x)
    print(f"wrote {len(files)} files; running its testbench with g++ ...")
    result = projects.run_csim(out_dir)
    failures += not result.passed
    print(result.summary())
    print(f"\nnext: `cd {out_dir} && vitis_hls -f build_prj.tcl` on a machine with the Xilinx tools")

    print("\nquick start: " + ("all checks passed" if failures == 0 else f"{failures} check(s) FAILED"))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/jet_tagger_hls")))
