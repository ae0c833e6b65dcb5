"""The ``hlsforge`` command line: ``inspect``, ``convert``, ``check``, ``csim``, ``build``.

Every subcommand is a thin shell over the Python API. The command line never prints a
traceback: an ``HlsforgeError`` (or an unreadable file) becomes a one-line ``error: ...`` and
exit code 2, a bug becomes ``internal error: ...`` and exit code 3 (``HLSFORGE_TRACEBACK=1``
shows the traceback), and a closed output pipe (``hlsforge inspect --json | head``) ends
quietly. Exit codes are listed in ``EXIT_CODES`` and in ``hlsforge --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, progress
from .errors import HlsforgeError

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = """\
exit codes:
  0    success
  1    the command ran and its check failed (inspect --check or check found differences,
       csim found mismatching outputs)
  2    usage or input error: a bad option, an unreadable or unsupported model, an invalid
       setting, a directory that cannot be written (the message says which)
  3    internal error: a bug in hlsforge (please report it; HLSFORGE_TRACEBACK=1 shows the
       traceback)
  130  interrupted (Ctrl-C)"""


def _status(message: str) -> None:
    """A progress line on standard error for a single long step (quiet with -q or in pipes)."""
    if progress.enabled():
        print(f"{message} ...", file=sys.stderr, flush=True)


def _load(args: argparse.Namespace) -> Any:
    """Load ``args.model``; errors about the command line itself name the flag to use."""
    from .loader import _is_ir_json, _is_keras_file, load

    path = Path(args.model)
    options: dict[str, Any] = {}
    weights = getattr(args, "weights", None)
    keras_json = (
        path.suffix.lower() == ".json" and path.is_file() and not _is_ir_json(path) and _is_keras_file(path)
    )
    if weights:
        if not keras_json:
            raise HlsforgeError(
                f"--weights is for a Keras architecture JSON (model.to_json()); {str(path)!r} is not one"
            )
        options["weights"] = weights
    elif keras_json:
        from .frontends.keras.legacy import sibling_weight_names, sibling_weights

        found = sibling_weights(path)
        if found is None:
            raise HlsforgeError(
                f"{str(path)!r} is a Keras architecture JSON without weights: add --weights FILE "
                f"(the HDF5 file from model.save_weights), or put it beside the model as "
                f"{sibling_weight_names(path)[0]}"
            )
        print(f"using weights {found} (found beside the model)", file=sys.stderr)
        options["weights"] = found
    _status(f"loading {path.name}")
    return load(args.model, **options)


# ----------------------------------------------------------------------------- inspect


_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}
#: Most input values ``--check`` feeds ONNX Runtime in one call (a model with a fixed batch
#: of 789444 events gets one call of that batch only while it fits).
_MAX_CHECK_VALUES = 2**26


def _ort_session(model_path: Path) -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise HlsforgeError("--check needs onnxruntime: pip install 'hlsforge[check]'") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise HlsforgeError(
            f"ONNX Runtime cannot run {model_path.name} ({first[:300]}), so --check has nothing to "
            "compare with; models with custom ops (QONNX Quant, ...) cannot be checked this way — "
            "use `hlsforge check MODEL` to compare float and fixed point instead"
        ) from None


def _check_against_onnxruntime(graph: Any, model_path: Path, n_events: int) -> dict[str, Any]:
    """Run the float reference and ONNX Runtime on the same random inputs and compare.

    A model exported with a fixed batch (1, or 789444) is fed exactly that batch: in a loop of
    calls until ``n_events`` are done, or in one call of the fixed batch when it is larger.
    """
    from . import reference

    sess = _ort_session(model_path)
    ort_inputs = sess.get_inputs()
    if len(ort_inputs) != len(graph.inputs):
        raise HlsforgeError(
            f"ONNX Runtime sees {len(ort_inputs)} inputs, hlsforge {len(graph.inputs)}; --check cannot pair them"
        )
    names = {i.name: (i.name if i.name in graph.inputs else graph.inputs[k]) for k, i in enumerate(ort_inputs)}
    dtypes = {}
    for i in ort_inputs:
        if i.type not in _ORT_DTYPES:
            raise HlsforgeError(f"--check feeds random floats, but input {i.name!r} is {i.type}")
        dtypes[i.name] = _ORT_DTYPES[i.type]
    fixed = {int(i.shape[0]) for i in ort_inputs if i.shape and isinstance(i.shape[0], int) and i.shape[0] > 0}
    batch = fixed.pop() if len(fixed) == 1 else None
    per_event = sum(int(np.prod(graph.user_shape(n))) for n in graph.inputs)
    if batch is not None:
        if batch * per_event > _MAX_CHECK_VALUES:
            raise HlsforgeError(
                f"{model_path.name} was exported with a fixed batch of {batch} events, too large for "
                "--check; re-export it with a dynamic batch axis"
            )
        calls = max(1, -(-n_events // batch))
        step = batch
    else:
        step = max(1, min(n_events, _MAX_CHECK_VALUES // max(per_event, 1)))
        calls = -(-n_events // step)
    rng = np.random.default_rng(0)
    total = calls * step
    feeds = {
        i.name: rng.normal(size=(total, *graph.user_shape(names[i.name]))).astype(dtypes[i.name]) for i in ort_inputs
    }
    out_names = [o.name for o in sess.get_outputs()]
    chunks: list[list[np.ndarray]] = []
    for c in progress.track(range(calls), "ONNX Runtime", total=calls):
        part = {k: v[c * step : (c + 1) * step] for k, v in feeds.items()}
        try:
            chunks.append(sess.run(None, part))
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise HlsforgeError(f"ONNX Runtime failed to run {model_path.name}: {str(e).strip()[:300]}") from None
    ort_out = [np.concatenate([chunk[k] for chunk in chunks]) for k in range(len(out_names))]
    ours_in = {names[k]: v.astype(np.float32) for k, v in feeds.items()}
    ours = reference.run(graph, ours_in if len(ours_in) > 1 else next(iter(ours_in.values())))
    ours_list = [ours] if not isinstance(ours, dict) else [
        ours.get(n, ours.get(g)) for n, g in zip(out_names, graph.outputs, strict=False)
    ]
    worst, ok, events = 0.0, True, total
    for a, b in zip(ours_list, ort_out, strict=False):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape:
            raise HlsforgeError(f"output shapes differ: hlsforge {a.shape}, ONNX Runtime {b.shape}")
        diff = np.abs(a - b)
        worst = max(worst, float(np.nanmax(diff)) if diff.size else 0.0)
        ok = ok and bool(np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))
    return {"events": events, "max_abs_diff": worst, "agrees": ok, "rtol": 1e-5, "atol": 1e-6,
            "fixed_batch": batch}


def cmd_inspect(args: argparse.Namespace) -> int:
    from .ir.summary import summary_rows

    if args.check and Path(args.model).suffix.lower() != ".onnx":
        raise HlsforgeError("--check compares against ONNX Runtime and needs an .onnx model")
    graph = _load(args)
    check = None
    if args.check:
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
        if graph.metadata.get("notes"):
            doc["notes"] = list(graph.metadata["notes"])
        print(json.dumps(doc, indent=2))
    else:
        print(graph)
        for note in graph.metadata.get("notes", []):
            print(f"note: {note}")
        if check is not None:
            verdict = "agrees" if check["agrees"] else "DIFFERS"
            print(
                f"float reference vs ONNX Runtime on {check['events']} random events"
                f"{'' if check['fixed_batch'] is None else ' (fixed batch ' + str(check['fixed_batch']) + ')'}: {verdict} "
                f"(max |diff| {check['max_abs_diff']:.3g}, tolerance rtol {check['rtol']}, atol {check['atol']})"
            )
    return 0 if check is None or check["agrees"] else 1


# ----------------------------------------------------------------------------- convert


def _precision_config(args: argparse.Namespace) -> dict[str, Any] | str | None:
    """Merge ``--config`` with the shortcut flags (flags win) into a config for configure()."""
    from .quantize.config import load_config

    config: dict[str, Any] = load_config(args.config) if args.config else {}
    model = config.get("model") or {}
    if not isinstance(model, dict):
        raise HlsforgeError(f"{args.config}: 'model' must map settings to values (e.g. default: ap_fixed<16,6>), got {model!r}")
    model = dict(model)
    if args.precision:
        model["default"] = args.precision
    if getattr(args, "accum", None):
        model["accum"] = args.accum
    if args.reuse_factor is not None:
        model["ReuseFactor"] = args.reuse_factor
    if args.strategy:
        model["Strategy"] = args.strategy
    if getattr(args, "io_type", None):
        model["io_type"] = args.io_type
    if model:
        config["model"] = model
    return config


HLS_ONLY = ("config", "precision", "accum", "reuse_factor", "strategy", "io_type", "part", "clock", "clock_uncertainty", "tool")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _refuse_mixed_flags(args: argparse.Namespace) -> None:
    """Precision and project flags mean nothing to the float32 CPU backend: say so."""
    if args.backend == "cpu":
        given = [_flag(d) for d in HLS_ONLY if getattr(args, d, None) is not None]
        if given:
            raise HlsforgeError(
                f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to --backend hls only: the CPU "
                "backend computes in float32, exactly like the float reference; drop "
                f"{'it' if len(given) == 1 else 'them'}, or use --backend hls for fixed point"
            )
    elif args.embed_weights:
        raise HlsforgeError("--embed-weights applies to --backend cpu only (HLS weights are always headers)")


def _hls_choices(args: argparse.Namespace, config: Any, graph: Any) -> list[tuple[str, str]]:
    """What ``convert --backend hls`` chose, for the summary it prints, read back from the
    configured graph (so an hls4ml configuration or a quantized model is described as it is)."""
    from .quantize.config import configure
    from .resources.schedule import io_type_of

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # configure already warned when the project was written
        q = configure(graph, config)  # as write_project did (a quantized graph takes only HLS options)
    settings = q.metadata.get("precision_config") or {}
    model = settings.get("model", {}) if isinstance(settings, dict) else {}
    given = isinstance(config, dict) and isinstance(config.get("model"), dict) and config["model"] or {}
    overrides = isinstance(config, dict) and any(config.get(k) for k in ("op_type", "layers", "LayerName", "LayerType"))
    note = f"; per-layer settings in {args.config}" if overrides else ""

    def origin(key: str, dest: str) -> str:
        if getattr(args, dest, None) is not None:
            return f" ({_flag(dest)})"
        return f" (from {args.config})" if args.config and key in given else " (default)"

    if "as_trained" in q.metadata:
        precision = "as trained: the model's own quantizer types, exact (lossless) types elsewhere" + note
        accum = "exact (auto) unless configured"
    else:
        precision = f"{model.get('default', 'ap_fixed<16,6>')}{origin('default', 'precision')}{note}"
        accum = f"{model.get('accum', 'the layer precision')}{origin('accum', 'accum')}"
    opts = [n.options["hls"] for n in q.nodes if "hls" in n.options]
    strategies = sorted({o.strategy.lower() for o in opts}) or ["latency"]
    reuse = sorted({o.reuse_factor for o in opts}) or [1]
    return [
        ("precision", precision),
        ("accumulators", accum),
        ("strategy", f"{', '.join(s.lower() for s in strategies)}{origin('Strategy', 'strategy')}"),
        ("reuse factor", f"{', '.join(map(str, reuse))}{origin('ReuseFactor', 'reuse_factor')}"),
        ("io type", f"{io_type_of(q)}{origin('io_type', 'io_type')}"),
    ]


def cmd_convert(args: argparse.Namespace) -> int:
    _refuse_mixed_flags(args)
    graph = _load(args)
    out = Path(args.output)
    name = args.name or None
    if args.backend == "cpu":
        from . import cpu_backend

        _status("generating CPU C++")
        files = cpu_backend.write(graph, out, name=name, embed_weights=args.embed_weights)
        header = next(f for f in files if f.suffix == ".hpp" and f.name != cpu_backend.KERNEL_HEADER)
        rows = [
            ("backend", "cpu: SOFIE-style C++17 + BLAS, float32 (same numbers as the float reference)"),
            ("model", f"{graph.name} -> namespace {header.stem}"),
            ("weights", "embedded in the header" if args.embed_weights else f"{header.stem}.weights (loaded at run time)"),
        ]
        nxt = [
            f'#include "{header.name}" with -I{out} and link BLAS:',
            "  g++ -std=c++17 -O3 $(python -m hlsforge.cpu_backend --cflags) main.cpp $(python -m hlsforge.cpu_backend --libs)",
            "  (examples/cpp_project shows a Makefile and a CMakeLists.txt)",
        ]
    else:
        from . import projects

        config = _precision_config(args)
        project = {"part": args.part, "clock_period": args.clock, "clock_uncertainty": args.clock_uncertainty}
        _status("writing the HLS project (quantizing, lowering, emulating the testbench events)")
        files = projects.write_project(
            graph, config, out, tool=args.tool or "vitis", name=name,
            **{k: v for k, v in project.items() if v is not None},
        )
        st = projects.read_settings(out)
        rows = [
            ("backend", f"hls: {st.tool} project"),
            ("model", f"{graph.name} -> top function {st.name}"),
            *_hls_choices(args, config, graph),
            ("part", st.part + ("" if args.part else " (default)")),
            ("clock", f"{st.clock_text} ns{'' if args.clock is not None else ' (default)'}, uncertainty {st.clock_uncertainty}"),
            ("testbench", f"{st.n_test_events} events, expected outputs from the bit-exact emulator"),
        ]
        nxt = [
            f"hlsforge csim {out}    # C simulation with g++, compared with the emulator",
            f"hlsforge build {out}   # vendor csim + synthesis, with {st.tool}_hls on PATH",
        ]
    root = out.expanduser().absolute()
    shown = [str(f.relative_to(root)) if f.is_relative_to(root) else str(f) for f in files]
    main_files = [f for f in shown if not f.startswith(("firmware/hlsforge_", "firmware/weights/"))]
    rest = len(shown) - len(main_files)
    rows.append(("files", f"{len(files)} in {out}: " + ", ".join(main_files) + (f" and {rest} more" if rest else "")))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key + ':':<{width + 1}} {value}")
    print("next:")
    for line in nxt:
        print(f"  {line}")
    return EXIT_OK


def _read_npy(path: str) -> np.ndarray:
    """A numeric ``.npy`` array; never unpickles (a pickled file could run code)."""
    p = Path(path)
    if not p.exists():
        raise HlsforgeError(f"--inputs file {path!r} does not exist")
    if p.is_dir():
        raise HlsforgeError(f"--inputs {path!r} is a directory; give a .npy file")
    try:
        with open(p, "rb") as f:
            version = np.lib.format.read_magic(f)
            header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(f)
    except (OSError, ValueError) as e:
        raise HlsforgeError(f"--inputs {path!r} is not a .npy file (np.save output): {e}") from None
    dtype = header[2]
    if dtype.hasobject:
        raise HlsforgeError(
            f"--inputs {path!r} holds Python objects (a pickled array); hlsforge never unpickles "
            "files. Save a numeric array instead: np.save(path, np.asarray(x, dtype=np.float32))"
        )
    if dtype.kind not in "fiub":
        raise HlsforgeError(f"--inputs {path!r} holds {dtype} values; events must be numbers")
    try:
        return np.load(p, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise HlsforgeError(f"cannot read --inputs {path!r}: {e}") from None


def _check_inputs(args: argparse.Namespace, graph: Any) -> Any:
    """Events for ``check``: a .npy file, or standard-normal random events."""
    if args.inputs:
        return _read_npy(args.inputs)
    rng = np.random.default_rng(0)
    feeds = {n: rng.normal(size=(args.events, *graph.user_shape(n))).astype(np.float32) for n in graph.inputs}
    return feeds if len(feeds) > 1 else next(iter(feeds.values()))


def cmd_check(args: argparse.Namespace) -> int:
    from .crosscheck import compare

    graph = _load(args)
    x = _check_inputs(args, graph)
    steps = ["float reference", "emulator"] + (["CPU backend (compiling)"] if args.cpu else []) + (
        ["HLS C simulation (compiling)"] if args.csim else [])
    _status("comparing " + ", ".join(steps) + " layer by layer")
    report = compare(graph, x, _precision_config(args), cpu=args.cpu, csim=args.csim)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return EXIT_OK if report.ok else EXIT_FAILED


def _project_dir(path: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise HlsforgeError(
            f"project directory {path!r} does not exist; write one with "
            "`hlsforge convert MODEL --backend hls -o DIR`"
        )
    if not p.is_dir():
        raise HlsforgeError(f"{path!r} is not a directory; give the directory of an HLS project")
    return p


def cmd_csim(args: argparse.Namespace) -> int:
    from . import projects

    root = _project_dir(args.project)
    projects.read_settings(root)  # "not an hlsforge project" before any compiler runs
    start = time.perf_counter()
    _status("compiling the testbench and firmware with g++ and running it")
    result = projects.run_csim(root)
    print(result.summary() if hasattr(result, "summary") else result)
    print(f"({time.perf_counter() - start:.1f} s)")
    return EXIT_OK if result.passed else EXIT_FAILED


def cmd_build(args: argparse.Namespace) -> int:
    from . import projects

    root = _project_dir(args.project)
    _status(f"running the vendor tool: {' '.join(args.steps)} (log: {root / 'build.log'})")
    result = projects.build(root, steps=args.steps)
    print(f"done: {' '.join(args.steps)}; log: {result.log}")
    return EXIT_OK


# ----------------------------------------------------------------------------- parser


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < x < 1e6:
        raise argparse.ArgumentTypeError(f"expected a positive number of ns, got {text!r}")
    return x


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines) + "\n\n" + EXIT_CODES


MODEL_HELP = (
    "model file: .onnx, .keras, .h5 (full Keras model), .json (Keras architecture, with --weights "
    "or <name>_weights.h5 beside it) or an hlsforge IR .json"
)
WEIGHTS_HELP = "weights HDF5 for a Keras architecture JSON (default: <name>_weights.h5 beside it)"


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="hlsforge",
        description="Trained models to HLS C++ and CPU C++ from one IR.",
        epilog=_examples(
            "hlsforge inspect model.onnx --check",
            "hlsforge convert model.onnx --backend hls --precision 'ap_fixed<16,6>' -o prj",
            "hlsforge csim prj",
            "hlsforge <command> --help      # options and examples of one command",
        ),
        formatter_class=fmt,
    )
    p.add_argument("--version", action="version", version=f"hlsforge {__version__}")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress output (also off when standard error is not a terminal)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # -q also after the command (`hlsforge csim prj -q`); SUPPRESS keeps a -q given before it
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress output")

    i = sub.add_parser("inspect", parents=[quiet], help="print the IR of a model: per-node shapes, parameters, MACs",
                       description="Print the IR of a model: per-node shapes, parameters and MACs.",
                       epilog=_examples("hlsforge inspect model.onnx",
                                        "hlsforge inspect model.onnx --json | jq .total_macs",
                                        "hlsforge inspect model.onnx --check --events 200",
                                        "hlsforge inspect arch.json --weights arch_weights.h5"),
                       formatter_class=fmt)
    i.add_argument("model", help=MODEL_HELP)
    i.add_argument("--weights", metavar="FILE", help=WEIGHTS_HELP)
    i.add_argument("--json", action="store_true", help="machine-readable output (JSON on standard output)")
    i.add_argument("--check", action="store_true",
                   help="ONNX models: run the float reference and ONNX Runtime on the same random events and compare")
    i.add_argument("--events", type=_positive_int, default=1000, metavar="N",
                   help="random events for --check (default 1000; a fixed-batch model gets whole batches)")
    i.set_defaults(func=cmd_inspect)

    c = sub.add_parser("convert", parents=[quiet], help="write CPU C++ or an HLS project",
                       description="Write CPU C++ (header + weights) or a complete Vitis/Vivado HLS project. "
                                   "Prints what it chose and the next command to run.",
                       epilog=_examples(
                           "hlsforge convert model.onnx --backend cpu -o gen --name jet_tagger",
                           "hlsforge convert model.onnx --backend hls --precision 'ap_fixed<16,6>' --accum auto \\",
                           "    --reuse-factor 4 --strategy resource --part xcvu9p-flga2104-2-e --clock 4 -o prj",
                           "hlsforge convert model.onnx --backend hls --config precision.yml -o prj"),
                       formatter_class=fmt)
    c.add_argument("model", help=MODEL_HELP)
    c.add_argument("--weights", metavar="FILE", help=WEIGHTS_HELP)
    c.add_argument("--backend", choices=["cpu", "hls"], required=True,
                   help="cpu: float32 C++17 + BLAS; hls: fixed-point HLS project with testbench")
    c.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="output directory: new, empty, or an earlier output (only hlsforge's own files are replaced)")
    c.add_argument("--name", help="name of the generated model: C++ namespace / top function (default: from the model)")
    c.add_argument("--embed-weights", action="store_true", help="cpu: weights inside the header instead of a .weights file")
    c.add_argument("--config", metavar="FILE", help="hls: precision/strategy config, YAML or JSON (docs/numerics.md)")
    c.add_argument("--precision", metavar="TYPE", help="hls: default precision (default ap_fixed<16,6>), e.g. 'ap_fixed<16,6>'")
    c.add_argument("--accum", metavar="auto|TYPE",
                   help="hls: accumulator type of every layer: 'auto' (exact width from the weights) or e.g. 'ap_fixed<24,10>'")
    c.add_argument("--reuse-factor", type=_positive_int, metavar="N", help="hls: default ReuseFactor (default 1)")
    c.add_argument("--strategy", choices=["latency", "resource", "Latency", "Resource"], help="hls: default strategy (default latency)")
    c.add_argument("--io-type", choices=["io_parallel", "io_stream"],
                   help="hls: io_parallel (arrays, default) or io_stream (FIFOs under DATAFLOW, for CNNs)")
    c.add_argument("--part", help="hls: FPGA part (default xcvu13p-flga2577-2-e)")
    c.add_argument("--clock", type=_positive_float, metavar="NS", help="hls: clock period in ns (default 5)")
    c.add_argument("--clock-uncertainty", metavar="U", help="hls: clock uncertainty, '12.5%%' of the period (default) or ns ('0.6')")
    c.add_argument("--tool", choices=["vitis", "vivado"], help="hls: vendor tool (default vitis)")
    c.set_defaults(func=cmd_convert)

    k = sub.add_parser("check", parents=[quiet], help="float vs fixed point, layer by layer, with the cause of each difference",
                       description="Compare the float reference with the bit-exact fixed-point emulator layer by "
                                   "layer (and optionally the CPU backend and the HLS C simulation). Exit code 0: "
                                   "agrees (no overflow to fix, backends match; saturation by the model's own "
                                   "quantizers is its trained behaviour); 1: differs, an overflow to fix or a backend "
                                   "mismatch (the verdict line says which); 2: bad model, inputs or config.",
                       epilog=_examples("hlsforge check model.onnx --precision 'ap_fixed<12,4>' --accum auto",
                                        "hlsforge check model.onnx --config precision.yml --inputs events.npy --json",
                                        "hlsforge check model.onnx --cpu --csim --events 200"),
                       formatter_class=fmt)
    k.add_argument("model", help=MODEL_HELP)
    k.add_argument("--weights", metavar="FILE", help=WEIGHTS_HELP)
    k.add_argument("--inputs", "--data", dest="inputs", metavar="FILE.npy",
                   help=".npy file of events in the model's input layout (default: random); --data is the same")
    k.add_argument("--events", type=_positive_int, default=1000, metavar="N", help="random events when no --inputs (default 1000)")
    k.add_argument("--config", metavar="FILE", help="precision config, YAML or JSON")
    k.add_argument("--precision", metavar="TYPE", help="default precision, e.g. 'ap_fixed<16,6>'")
    k.add_argument("--accum", metavar="auto|TYPE", help="accumulator type of every layer: 'auto' or a type")
    k.add_argument("--cpu", action="store_true", help="also compare the CPU backend with the float reference (compiles C++)")
    k.add_argument("--csim", action="store_true", help="also compare the HLS C simulation with the emulator (compiles C++)")
    k.add_argument("--json", action="store_true", help="machine-readable report (JSON on standard output)")
    k.set_defaults(func=cmd_check, reuse_factor=None, strategy=None)

    s = sub.add_parser("csim", parents=[quiet], help="compile and run an HLS project's testbench with g++",
                       description="Compile an HLS project's testbench and firmware with g++ and run it; every "
                                   "output must equal the emulator's exactly.",
                       epilog=_examples("hlsforge csim prj"), formatter_class=fmt)
    s.add_argument("project", help="directory written by `hlsforge convert --backend hls`")
    s.set_defaults(func=cmd_csim)

    b = sub.add_parser("build", parents=[quiet], help="run the vendor HLS tool on a project (needs it on PATH)",
                       description="Run the vendor flow (vitis_hls / vivado_hls, or the unified Vitis flow) on a "
                                   "project; the log goes to build.log in the project.",
                       epilog=_examples("hlsforge build prj", "hlsforge build prj --steps csim synth cosim export"),
                       formatter_class=fmt)
    b.add_argument("project", help="directory written by `hlsforge convert --backend hls`")
    b.add_argument("--steps", nargs="+", default=["csim", "synth"], metavar="STEP",
                   help="any of: reset csim synth cosim export vsynth (default: csim synth)")
    b.set_defaults(func=cmd_build)

    from .cli_commands import register_all

    register_all(sub)
    return p


def _silence_stdout() -> None:
    """After a broken pipe: send what is still buffered nowhere, so exit is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                      file: Any = None, line: str | None = None) -> None:
    """hlsforge's notes (a ReuseFactor adjusted, a type that is not exact...) as one line each,
    without the source location Python's default format adds."""
    print(f"warning: {message}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    # TensorFlow's C++ start-up chatter (oneDNN, CPU features) buries the command's own output
    # when a Keras file is read through Keras; its warnings and errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    warnings.showwarning = _one_line_warning
    args = build_parser().parse_args(argv)
    progress.QUIET = bool(getattr(args, "quiet", False))
    try:
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `hlsforge inspect --json | head`: the reader has what it wanted
        _silence_stdout()
        return EXIT_OK
    except HlsforgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as e:  # a file the user named could not be read or written
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("error: out of memory (the model or the number of events is too large for this machine)",
              file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001 - the last line of defence: never a traceback
        if os.environ.get("HLSFORGE_TRACEBACK"):
            traceback.print_exc()
        print(
            f"internal error: {type(e).__name__}: {e}\n"
            f"This is a bug in hlsforge {__version__}; please report it with the command line. "
            "Set HLSFORGE_TRACEBACK=1 to see the traceback.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
