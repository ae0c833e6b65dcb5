"""``hlsforge scan``: a design-space scan from the command line (CSV, JSON and Pareto plot)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HlsforgeError

OUTPUT_FILES = ("scan.csv", "scan.json", "pareto.png")


def load_array(path: str, what: str) -> np.ndarray:
    """A ``.npy`` file as an array, or an ``HlsforgeError`` naming the file."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise HlsforgeError(f"cannot read {what} {path!r}: {e}") from None


def load_model(model: str, weights: str | None) -> Any:
    from ..loader import load

    return load(model, **({"weights": weights} if weights else {}))


def cmd_scan(args: argparse.Namespace) -> int:
    from ..dse import scan
    from ..dse.plot import require_matplotlib

    require_matplotlib()
    graph = load_model(args.model, args.weights)
    x = load_array(args.data, "--data")
    y = load_array(args.labels, "--labels") if args.labels else None
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise HlsforgeError(f"-o {out}: exists and is not a directory")
    executor = "ray" if args.ray else "local"
    result = scan(
        graph, x, y, precisions=args.precision, reuse_factors=args.reuse, strategies=args.strategy,
        part=args.part, clock_ns=args.clock, executor=executor,
        ray_address=None if args.ray in (None, "local") else args.ray, workers=args.workers, config=args.config,
    )
    out.mkdir(parents=True, exist_ok=True)
    result.to_csv(out / "scan.csv")
    result.to_json(out / "scan.json")
    result.plot(out / "pareto.png")
    print(result)
    print(f"wrote {', '.join(str(out / f) for f in OUTPUT_FILES)} ({result.elapsed_s:.1f} s, {result.executor})")
    if result.errors:
        print(f"{len(result.errors)} of {len(result.rows)} points failed (see the error column)", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "scan", help="quantize, emulate and estimate a grid of precisions x reuse factors x strategies",
        description="Each point is quantized, emulated bit-exactly on --data and estimated; writes "
        "scan.csv, scan.json and pareto.png (quality vs LUT+DSP and vs latency) into -o.",
    )
    p.add_argument("model", help="model file (.onnx, .keras, .h5, .json + --weights, hlsforge IR .json)")
    p.add_argument("--weights", help="weights .h5 for a Keras architecture JSON")
    p.add_argument("--data", "--inputs", dest="data", required=True, help=".npy events in the model's input layout")
    p.add_argument("--labels", help=".npy labels (class indices or one-hot): quality = accuracy")
    p.add_argument("--precision", nargs="+", required=True, metavar="P", help="default types, e.g. 'ap_fixed<8,3>'")
    p.add_argument("--reuse", nargs="+", type=int, default=[1], metavar="R", help="ReuseFactors (default 1)")
    p.add_argument("--strategy", nargs="+", default=["Latency"], metavar="S", help="Latency and/or Resource")
    p.add_argument("--config", help="base precision config (YAML/JSON) each point starts from")
    p.add_argument("--part", default="xcvu13p-flga2577-2-e", help="FPGA part for the estimate")
    p.add_argument("--clock", type=float, default=5.0, help="clock period in ns (default 5)")
    p.add_argument("--ray", metavar="auto|ADDRESS", help="run on a Ray cluster ('auto': the running one; "
                   "'local': start one here)")
    p.add_argument("--workers", type=int, help="local processes (default: one per CPU) or Ray tasks in flight")
    p.add_argument("-o", "--output", default="scan", help="output directory (default ./scan)")
    p.set_defaults(func=cmd_scan)
