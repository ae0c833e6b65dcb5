"""hlsforge's C simulation vs hls4ml's, on the jet-tagging MLP (16-64-32-32-5, ReLU, softmax),
ap_fixed<16,6> everywhere, io_parallel, Latency — same run, same inputs, one core.

Usage::

    python benchmarks/csim_vs_hls4ml.py [--events 20000] [--repeat 3] [--skip-opt-levels]

What is measured:

- compile time: hlsforge ``hls_backend.compile`` (configure + render + g++, with an empty
  build cache, and again with the cache warm) vs hls4ml 1.3 ``convert_from_pytorch_model`` +
  ``compile()`` (Vitis backend: writes the project and builds its library with g++);
- events/s of ``predict`` on the same float32 inputs (hls4ml's predict calls its library once
  per event; hlsforge's once per batch);
- the number of outputs that differ between the two on a Dense+ReLU-only variant of the same
  network (softmax's lookup tables are implementation-specific, Dense+ReLU are not): with
  identical types both compute the same function, so they should agree (0 differences);
- hlsforge's -O1 / -O2 / -O3 builds: compile time vs events/s (why -O3 is the default).

Both models share the weights: a ``torch.nn.Sequential`` is handed to hls4ml's PyTorch
converter, and its ONNX export to ``hlsforge.load``. If hls4ml (or torch) cannot run here,
the table says exactly why instead of a number.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

PRECISION = "ap_fixed<16,6>"
SIZES = (16, 64, 32, 32, 5)


def torch_model(softmax: bool) -> Any:
    import torch

    torch.manual_seed(0)
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    if softmax:
        layers.append(torch.nn.Softmax(dim=1))
    else:
        layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    model.eval()
    return model


def hlsforge_graph(model: Any, workdir: Path) -> Any:
    """The same network through hlsforge's ONNX frontend (torch's ONNX export)."""
    import torch

    import hlsforge

    path = workdir / "mlp.onnx"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        torch.onnx.export(
            model,
            (torch.zeros(1, SIZES[0]),),
            str(path),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            dynamo=False,
        )
    return hlsforge.load(str(path))


def timed(fn: Any, repeat: int = 1) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def interleaved(fns: dict[str, Any], events: int, repeat: int) -> dict[str, float]:
    """events/s of each predict, best of ``repeat`` rounds; every round runs each tool once, in
    turn, so that a load change on a shared machine hits both tools alike."""
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            best[k] = min(best[k], timed(fn)[0])
    return {k: events / t for k, t in best.items()}


def run_hlsforge(
    graph: Any, x: np.ndarray, repeat: int, flags: tuple[str, ...] | None = None, tag: str = ""
) -> dict[str, Any]:
    from hlsforge.hls_backend import compile
    from hlsforge.hls_backend.csim import DEFAULT_FLAGS

    flags = flags or DEFAULT_FLAGS
    with tempfile.TemporaryDirectory() as cache:
        old = os.environ.get("HLSFORGE_CACHE")
        os.environ["HLSFORGE_CACHE"] = cache
        try:
            t_compile, model = timed(
                lambda: compile(graph, PRECISION, name=f"bench_mlp{tag}", flags=flags)
            )
            t_cached, _ = timed(
                lambda: compile(graph, PRECISION, name=f"bench_mlp{tag}", flags=flags)
            )
            model.predict(x[:100])
            t_pred, y = timed(lambda: model.predict(x), repeat)
            predict = lambda: model.predict(x)  # noqa: E731
        finally:
            if old is None:
                os.environ.pop("HLSFORGE_CACHE", None)
            else:
                os.environ["HLSFORGE_CACHE"] = old
    return {
        "compile": t_compile,
        "cached": t_cached,
        "rate": len(x) / t_pred,
        "y": np.asarray(y, np.float64),
        "predict": predict,
    }


def run_hls4ml(model: Any, x: np.ndarray, workdir: Path, tag: str) -> dict[str, Any]:
    import hls4ml

    def convert_and_compile() -> Any:
        cfg = hls4ml.utils.config_from_pytorch_model(
            model,
            input_shape=(SIZES[0],),
            granularity="model",
            backend="Vitis",
            default_precision=PRECISION,
        )
        cfg["Model"]["Strategy"] = "Latency"
        hm = hls4ml.converters.convert_from_pytorch_model(
            model,
            hls_config=cfg,
            output_dir=str(workdir / f"hls4ml_{tag}"),
            backend="Vitis",
            io_type="io_parallel",
        )
        hm.compile()
        return hm

    with contextlib.redirect_stdout(io.StringIO()):
        t_compile, hm = timed(convert_and_compile)
        hm.predict(x[:10])
        t_pred, y = timed(lambda: hm.predict(x))

    def predict() -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            return hm.predict(x)

    return {
        "compile": t_compile,
        "rate": len(x) / t_pred,
        "y": np.asarray(y, np.float64).reshape(len(x), -1),
        "predict": predict,
    }


def why(e: BaseException) -> str:
    last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    where = f" (at {Path(last.filename).name}:{last.lineno})" if last else ""
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}{where}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=20000)
    p.add_argument("--repeat", type=int, default=3, help="best of N rounds of predict, tools interleaved")
    p.add_argument("--skip-opt-levels", action="store_true", help="skip the -O1/-O2/-O3 comparison")
    p.add_argument("--skip-cnn", action="store_true", help="skip the io_stream CNN comparison")
    p.add_argument("--cnn-events", type=int, default=2000, help="events for the io_stream CNN comparison")
    args = p.parse_args(argv)

    x = np.random.default_rng(0).normal(size=(args.events, SIZES[0])).astype(np.float32) * 2
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            mlp = torch_model(softmax=True)
            relu_only = torch_model(softmax=False)
            g_mlp = hlsforge_graph(mlp, work)
            g_relu = hlsforge_graph(relu_only, work)
        except Exception as e:  # noqa: BLE001 - report any failure as the reason
            print(f"cannot build the benchmark model with torch + hlsforge.load: {why(e)}")
            return 1

        ours = run_hlsforge(g_mlp, x, args.repeat)
        try:
            theirs: dict[str, Any] | None = run_hls4ml(mlp, x, work, "mlp")
            error = ""
        except Exception as e:  # noqa: BLE001
            theirs, error = None, why(e)

        if theirs is not None:  # events/s measured side by side, best of --repeat rounds
            rates = interleaved({"ours": ours["predict"], "theirs": theirs["predict"]}, len(x), args.repeat)
            ours["rate"], theirs["rate"] = rates["ours"], rates["theirs"]

        def ratio(a: float, b: float) -> str:
            return f"{a / b:.1f}x"

        rows.append(
            (
                "hlsforge C-sim (hlsforge header, -O3)",
                f"{ours['compile']:.2f} s (cached: {ours['cached']:.3f} s)",
                f"{ours['rate']:,.0f}",
                "",
            )
        )
        if theirs is not None:
            rows.append(
                (
                    "hls4ml 1.3 C-sim (Vitis backend, ap_fixed.h)",
                    f"{theirs['compile']:.2f} s",
                    f"{theirs['rate']:,.0f}",
                    "",
                )
            )
            rows.append(
                (
                    "hlsforge / hls4ml",
                    f"{ours['compile'] / theirs['compile']:.3f} of the time",
                    f"{ratio(ours['rate'], theirs['rate'])} faster",
                    "",
                )
            )
        else:
            rows.append(
                (
                    "hls4ml 1.3 C-sim (Vitis backend, ap_fixed.h)",
                    "n/a",
                    "n/a",
                    f"hls4ml could not run: {error}",
                )
            )

        # agreement on the Dense+ReLU variant (identical types, no tables)
        ours_relu = run_hlsforge(g_relu, x, 1, tag="_relu")
        try:
            theirs_relu = run_hls4ml(relu_only, x, work, "relu")
            diff = int(np.count_nonzero(ours_relu["y"] != theirs_relu["y"]))
            notes.append(
                f"Dense+ReLU variant, {len(x)} events x {SIZES[-1]} outputs: {diff} outputs differ between hlsforge and hls4ml"
                + (" (they agree exactly)" if diff == 0 else "")
            )
        except Exception as e:  # noqa: BLE001
            notes.append(f"Dense+ReLU agreement not measured: hls4ml could not run: {why(e)}")
        if theirs is not None:
            sm_diff = int(np.count_nonzero(ours["y"] != theirs["y"]))
            notes.append(
                f"with softmax (implementation-specific lookup tables): {sm_diff} of {ours['y'].size} outputs differ; "
                f"argmax differs for {int(np.count_nonzero(ours['y'].argmax(1) != theirs['y'].argmax(1)))} events"
            )

        opt_rows = []
        if not args.skip_opt_levels:
            for level in ("-O1", "-O2", "-O3"):
                r = run_hlsforge(g_mlp, x, args.repeat, flags=(level, "-std=c++17"), tag=level[1:])
                opt_rows.append((level, f"{r['compile']:.2f} s", f"{r['rate']:,.0f}"))

    print(
        f"## C simulation: hlsforge vs hls4ml — MLP {'-'.join(map(str, SIZES))}, {PRECISION}, io_parallel, Latency\n"
    )
    load = " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"{args.events} events (same float32 inputs), one core, {sys.platform}; load average now {load}.\n")
    print("| implementation | compile | events/s | note |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    for n in notes:
        print(f"- {n}")
    if opt_rows:
        print("\n### hlsforge optimization level\n")
        print("| flags | compile | events/s |")
        print("|---|---|---|")
        for r in opt_rows:
            print("| " + " | ".join(r) + " |")
    if not args.skip_cnn:
        print()
        cnn_stream_table(min(args.cnn_events, args.events), args.repeat)
    return 0


# ----------------------------------------------------------------------------- io_stream CNN

CNN_SHAPE = (1, 16, 16)  # torch layout: channels, height, width


def torch_cnn() -> Any:
    """A small jet-image-style CNN: (Conv2D 3x3 + ReLU + MaxPool 2) x 2, Dense head."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(8 * 2 * 2, 5),
    )
    model.eval()
    return model


def cnn_graph(model: Any, workdir: Path) -> Any:
    import torch

    import hlsforge

    path = workdir / "cnn.onnx"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        torch.onnx.export(model, (torch.zeros(1, *CNN_SHAPE),), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
    return hlsforge.load(str(path))


def cnn_stream_table(events: int, repeat: int = 3) -> None:
    """hlsforge io_stream C-sim vs hls4ml io_stream C-sim on the same CNN and inputs."""
    from hlsforge.hls_backend import compile

    x = np.random.default_rng(1).normal(size=(events, *CNN_SHAPE)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
        work = Path(tmp)
        model = torch_cnn()
        graph = cnn_graph(model, work)
        old = os.environ.get("HLSFORGE_CACHE")
        os.environ["HLSFORGE_CACHE"] = cache
        try:
            ours = {}
            predicts = {}
            for io_type in ("io_stream", "io_parallel"):
                config = {"model": {"default": PRECISION, "io_type": io_type}}
                t_c, m = timed(lambda config=config, io_type=io_type: compile(graph, config, name=f"bench_cnn_{io_type}"))
                m.predict(x[:10])
                t_p, y = timed(lambda m=m: m.predict(x), 3)
                ours[io_type] = (t_c, events / t_p, np.asarray(y))
                predicts[io_type] = lambda m=m: m.predict(x)
        finally:
            if old is None:
                os.environ.pop("HLSFORGE_CACHE", None)
            else:
                os.environ["HLSFORGE_CACHE"] = old
        try:
            import hls4ml

            def convert() -> Any:
                cfg = hls4ml.utils.config_from_pytorch_model(model, input_shape=CNN_SHAPE, granularity="model",
                                                             backend="Vitis", default_precision=PRECISION)
                cfg["Model"]["Strategy"] = "Latency"
                hm = hls4ml.converters.convert_from_pytorch_model(model, hls_config=cfg, output_dir=str(work / "hls4ml_cnn"),
                                                                  backend="Vitis", io_type="io_stream")
                hm.compile()
                return hm

            with contextlib.redirect_stdout(io.StringIO()):
                t_c4, hm = timed(convert)
                flat = np.ascontiguousarray(x.reshape(events, -1))
                hm.predict(flat[:10])

            def predict4() -> Any:
                with contextlib.redirect_stdout(io.StringIO()):
                    return hm.predict(flat)

            # events/s side by side: best of `repeat` rounds, each round runs every C-sim once
            rates = interleaved({**predicts, "hls4ml": predict4}, events, repeat)
            for io_type in predicts:
                ours[io_type] = (ours[io_type][0], rates[io_type], ours[io_type][2])
            theirs: tuple[float, float] | None = (t_c4, rates["hls4ml"])
            error = ""
        except Exception as e:  # noqa: BLE001 - report any failure as the reason
            theirs, error = None, why(e)
    rows.append(("hlsforge C-sim, io_stream (hlsforge header, -O3)", f"{ours['io_stream'][0]:.2f} s", f"{ours['io_stream'][1]:,.0f}"))
    rows.append(("hlsforge C-sim, io_parallel (same model)", f"{ours['io_parallel'][0]:.2f} s", f"{ours['io_parallel'][1]:,.0f}"))
    if theirs is not None:
        rows.append(("hls4ml 1.3 C-sim, io_stream (Vitis backend, ap_fixed.h)", f"{theirs[0]:.2f} s", f"{theirs[1]:,.0f}"))
        rows.append(("hlsforge io_stream / hls4ml io_stream", f"{ours['io_stream'][0] / theirs[0]:.3f} of the time",
                     f"{ours['io_stream'][1] / theirs[1]:.1f}x faster"))
    else:
        rows.append(("hls4ml 1.3 C-sim, io_stream", "n/a", f"hls4ml could not run: {error}"))
    same = bool(np.array_equal(ours["io_stream"][2], ours["io_parallel"][2]))
    print(f"## C simulation: io_stream CNN {CNN_SHAPE} -> Conv2D(8,3x3)+ReLU+MaxPool x2 -> Dense(5), {PRECISION}\n")
    print(f"{events} events (same float32 inputs), one core.\n")
    print("| implementation | compile | events/s |")
    print("|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\n- hlsforge io_stream and io_parallel outputs identical: {same}")


if __name__ == "__main__":
    sys.exit(main())
