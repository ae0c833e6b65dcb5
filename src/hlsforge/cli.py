"""The ``hlsforge`` command line: ``inspect``, ``convert``, ``csim``, ``build``.

Every subcommand is a thin shell over the Python API; an ``HlsforgeError`` becomes a one-line
``error: ...`` message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import HlsforgeError


def _load(args: argparse.Namespace) -> Any:
    from .loader import load

    options: dict[str, Any] = {}
    if getattr(args, "weights", None):
        options["weights"] = args.weights
    return load(args.model, **options)


# ----------------------------------------------------------------------------- inspect


def _check_against_onnxruntime(graph: Any, model_path: Path, n_events: int) -> dict[str, Any]:
    """Run the float reference and ONNX Runtime on the same random inputs and compare."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise HlsforgeError("--check needs onnxruntime: pip install 'hlsforge[check]'") from None
    from . import reference

    rng = np.random.default_rng(0)
    feeds = {name: rng.normal(size=(n_events, *graph.user_shape(name))).astype(np.float32) for name in graph.inputs}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    ort_feeds = {i.name: feeds[i.name] for i in sess.get_inputs()}
    ort_out = sess.run(None, ort_feeds)
    ours = reference.run(graph, feeds if len(feeds) > 1 else next(iter(feeds.values())))
    ours_list = [ours] if not isinstance(ours, dict) else [ours[o.name] for o in sess.get_outputs()]
    worst = 0.0
    ok = True
    for a, b in zip(ours_list, ort_out, strict=False):
        diff = np.abs(np.asarray(a, np.float64) - b)
        worst = max(worst, float(diff.max()))
        ok = ok and bool(np.allclose(a, b, rtol=1e-5, atol=1e-6))
    return {"events": n_events, "max_abs_diff": worst, "agrees": ok, "rtol": 1e-5, "atol": 1e-6}


def cmd_inspect(args: argparse.Namespace) -> int:
    from .ir.summary import summary_rows

    graph = _load(args)
    check = None
    if args.check:
        if Path(args.model).suffix.lower() != ".onnx":
            raise HlsforgeError("--check compares against ONNX Runtime and needs an .onnx model")
        check = _check_against_onnxruntime(graph, Path(args.model), args.events)
    if args.json:
        doc = {
            "name": graph.name,
            "inputs": {n: list(graph.user_shape(n)) for n in graph.inputs},
            "outputs": {n: list(graph.user_shape(n)) for n in graph.outputs},
            "nodes": summary_rows(graph),
        }
        doc["total_parameters"] = sum(r["parameters"] for r in doc["nodes"])
        doc["total_macs"] = sum(r["macs"] for r in doc["nodes"])
        if check is not None:
            doc["onnxruntime_check"] = check
        print(json.dumps(doc, indent=2))
    else:
        print(graph)
        if check is not None:
            verdict = "agrees" if check["agrees"] else "DIFFERS"
            print(
                f"float reference vs ONNX Runtime on {check['events']} random events: {verdict} "
                f"(max |diff| {check['max_abs_diff']:.3g}, tolerance rtol {check['rtol']}, atol {check['atol']})"
            )
    return 0 if check is None or check["agrees"] else 1


# ----------------------------------------------------------------------------- convert


def _precision_config(args: argparse.Namespace) -> dict[str, Any] | str | None:
    """Merge ``--config`` with the shortcut flags (flags win) into a config for configure()."""
    from .quantize.config import load_config

    config: dict[str, Any] = load_config(args.config) if args.config else {}
    model = dict(config.get("model", {}))
    if args.precision:
        model["default"] = args.precision
    if args.reuse_factor is not None:
        model["ReuseFactor"] = args.reuse_factor
    if args.strategy:
        model["Strategy"] = args.strategy
    if model:
        config["model"] = model
    return config


def cmd_convert(args: argparse.Namespace) -> int:
    graph = _load(args)
    out = Path(args.output)
    name = args.name or None
    if args.backend == "cpu":
        from . import cpu_backend

        files = cpu_backend.write(graph, out, name=name, embed_weights=args.embed_weights)
    else:
        from . import projects

        config = _precision_config(args)
        project = {"part": args.part, "clock_period": args.clock, "clock_uncertainty": args.clock_uncertainty}
        files = projects.write_project(graph, config, out, tool=args.tool, name=name, **{k: v for k, v in project.items() if v is not None})
    print(f"wrote {len(files)} files to {out}")
    return 0


def _check_inputs(args: argparse.Namespace, graph: Any) -> Any:
    """Events for ``check``: a .npy file, or standard-normal random events."""
    if args.inputs:
        try:
            return np.load(args.inputs, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise HlsforgeError(f"cannot read inputs {args.inputs!r}: {e}") from None
    rng = np.random.default_rng(0)
    feeds = {n: rng.normal(size=(args.events, *graph.user_shape(n))).astype(np.float32) for n in graph.inputs}
    return feeds if len(feeds) > 1 else next(iter(feeds.values()))


def cmd_check(args: argparse.Namespace) -> int:
    from .crosscheck import compare

    graph = _load(args)
    report = compare(graph, _check_inputs(args, graph), _precision_config(args), cpu=args.cpu, csim=args.csim)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


def cmd_csim(args: argparse.Namespace) -> int:
    from . import projects

    start = time.perf_counter()
    result = projects.run_csim(Path(args.project))
    print(result.summary() if hasattr(result, "summary") else result)
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0 if result.passed else 1


def cmd_build(args: argparse.Namespace) -> int:
    from . import projects

    projects.build(Path(args.project), steps=args.steps)
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hlsforge", description="Trained models to HLS C++ and CPU C++ from one IR.")
    sub = p.add_subparsers(dest="command", required=True)

    i = sub.add_parser("inspect", help="print the IR of a model: per-node shapes, parameters, MACs")
    i.add_argument("model", help="model file (.onnx, .keras, .h5, .json + --weights, hlsforge IR .json)")
    i.add_argument("--weights", help="weights .h5 for a Keras architecture JSON")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.add_argument("--check", action="store_true", help="compare the float reference with ONNX Runtime")
    i.add_argument("--events", type=int, default=1000, help="random events for --check (default 1000)")
    i.set_defaults(func=cmd_inspect)

    c = sub.add_parser("convert", help="write CPU C++ or an HLS project")
    c.add_argument("model")
    c.add_argument("--weights", help="weights .h5 for a Keras architecture JSON")
    c.add_argument("--backend", choices=["cpu", "hls"], required=True)
    c.add_argument("-o", "--output", required=True, help="output directory")
    c.add_argument("--name", help="name of the generated model (default: from the model)")
    c.add_argument("--embed-weights", action="store_true", help="cpu: weights inside the header")
    c.add_argument("--config", help="hls: precision/strategy config (YAML or JSON)")
    c.add_argument("--precision", help="hls: default precision, e.g. 'ap_fixed<16,6>'")
    c.add_argument("--reuse-factor", type=int, help="hls: default ReuseFactor")
    c.add_argument("--strategy", choices=["latency", "resource", "Latency", "Resource"], help="hls: default strategy")
    c.add_argument("--part", help="hls: FPGA part (default xcvu13p-flga2577-2-e)")
    c.add_argument("--clock", type=float, help="hls: clock period in ns (default 5)")
    c.add_argument("--clock-uncertainty", help="hls: clock uncertainty (default 12.5%%)")
    c.add_argument("--tool", choices=["vitis", "vivado"], default="vitis", help="hls: vendor tool")
    c.set_defaults(func=cmd_convert)

    k = sub.add_parser("check", help="float vs fixed point, layer by layer, with the cause of each difference",
                       epilog="exit codes: 0 agrees (no overflow to fix, backends match; saturation by the model's own "
                              "quantizers is its trained behaviour); 1 differs: an overflow to fix or a backend "
                              "mismatch (the verdict line says which); 2 error (bad model, inputs or config)")
    k.add_argument("model")
    k.add_argument("--weights", help="weights .h5 for a Keras architecture JSON")
    k.add_argument("--inputs", help=".npy file of events in the model's input layout (default: random)")
    k.add_argument("--events", type=int, default=1000, help="random events when no --inputs (default 1000)")
    k.add_argument("--config", help="precision config (YAML or JSON)")
    k.add_argument("--precision", help="default precision, e.g. 'ap_fixed<16,6>'")
    k.add_argument("--cpu", action="store_true", help="also compare the CPU backend with the float reference")
    k.add_argument("--csim", action="store_true", help="also compare the HLS C simulation with the emulator")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_check, reuse_factor=None, strategy=None)

    s = sub.add_parser("csim", help="compile and run an HLS project's testbench with g++")
    s.add_argument("project")
    s.set_defaults(func=cmd_csim)

    b = sub.add_parser("build", help="run the vendor HLS tool on a project (needs it on PATH)")
    b.add_argument("project")
    b.add_argument("--steps", nargs="+", default=["csim", "synth"], help="csim synth cosim export vsynth")
    b.set_defaults(func=cmd_build)

    from .cli_commands import register_all

    register_all(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HlsforgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file the user named could not be read or written
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130



if __name__ == "__main__":
    sys.exit(main())
