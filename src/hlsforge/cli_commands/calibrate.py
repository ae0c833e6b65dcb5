"""``hlsforge calibrate MODEL --data x.npy -o config.yml``: calibrated post-training quantization.

Chooses per-layer fixed-point types from data (``hlsforge.quantize.calibrate``), writes the
configuration for ``hlsforge convert --config`` and prints what it chose and why.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HlsforgeError

EPILOG = """\
example:
  hlsforge calibrate jet_tagger.onnx --data calib.npy -o config.yml
  hlsforge calibrate model.keras --data x.npy --agreement 0.995 -o config.yml
  hlsforge calibrate model.onnx --data x.npy --max-error 0.05 -o config.yml
  hlsforge convert model.onnx --backend hls -o prj --config config.yml

exit codes: 0 the target was met on the data; 1 it was not (the widest configuration tried is
written); 2 an error (bad model, data or options)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "calibrate", help="choose per-layer fixed-point types from data (post-training quantization)",
        description="Per-layer integer bits from the data's ranges, then the fewest fractional bits that keep "
                    "the quantized model within the target, minimizing the resource estimate.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="model file (.onnx, .keras, .h5, .json + --weights)")
    p.add_argument("--weights", help="weights HDF5 file for a Keras architecture .json, e.g. model_weights.h5")
    p.add_argument("--data", "--inputs", dest="data", required=True, help="calibration inputs as a .npy array (events first), e.g. x.npy")
    p.add_argument("-o", "--output", required=True, help="where to write the configuration, e.g. config.yml (.json for JSON)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--agreement", type=float, default=0.999,
                   help="target: argmax agreement with the float model, in (0, 1] (default 0.999)")
    g.add_argument("--max-error", type=float, help="target instead: largest absolute output error, e.g. 0.05")
    p.add_argument("--margin", type=float, default=0.25, help="headroom over the calibration range (default 0.25)")
    p.add_argument("--part", help="FPGA part for the resource estimate (default: the estimator's)")
    p.add_argument("--clock", type=float, default=5.0, help="clock period in ns for the estimate (default 5)")
    p.add_argument("--cost", choices=("auto", "estimate", "bits"), default="auto",
                   help="what to minimize: the resource estimate (auto, when available) or a bit count")
    p.set_defaults(func=run)


def _data(path: str) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise HlsforgeError(f"cannot read calibration data {path!r} (a .npy array, not pickled): {e}") from None


def run(args: argparse.Namespace) -> int:
    import json

    from ..loader import load
    from ..quantize.calibrate import calibrate

    options = {"weights": args.weights} if args.weights else {}
    graph = load(args.model, **options)
    target: Any = {"max_error": args.max_error} if args.max_error is not None else args.agreement
    result = calibrate(graph, _data(args.data), target, margin=args.margin, part=args.part, clock_ns=args.clock,
                       cost=args.cost)
    out = Path(args.output)
    text = json.dumps(result.config, indent=2) if out.suffix.lower() == ".json" else result.to_yaml()
    out.write_text(text)
    print(result.report())
    print(f"wrote {out}; next: hlsforge convert {args.model} --backend hls -o prj --config {out}")
    return 0 if result.met else 1
