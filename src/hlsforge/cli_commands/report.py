"""``hlsforge report``: one self-contained HTML page about a model (graph, types vs data,
overflows, errors, estimate, scan)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import HlsforgeError
from .scan import load_array, load_model


def cmd_report(args: argparse.Namespace) -> int:
    from ..htmlreport import write_report
    from ..quantize.config import load_config

    out = Path(args.output)
    if out.is_dir():
        raise HlsforgeError(f"-o {out}: is a directory; give the path of the .html file to write")
    graph = load_model(args.model, args.weights)
    config: dict = load_config(args.config) if args.config else {}
    if args.precision:
        config = {**config, "model": {**dict(config.get("model") or {}), "default": args.precision}}
    x = load_array(args.data, "--data") if args.data else None
    write_report(out, graph, config=config or None, x=x, scan=args.scan, part=args.part, clock_ns=args.clock,
                 source=args.model)
    print(f"wrote {out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "report", help="write a self-contained HTML report: graph, types vs data, overflows, estimate, scan",
    )
    p.add_argument("model", help="model file (.onnx, .keras, .h5, .json + --weights, hlsforge IR .json)")
    p.add_argument("--weights", help="weights .h5 for a Keras architecture JSON")
    p.add_argument("--config", help="precision config (YAML or JSON); default ap_fixed<16,6> everywhere")
    p.add_argument("--precision", help="default precision, e.g. 'ap_fixed<16,6>' (overrides the config's)")
    p.add_argument("--data", "--inputs", dest="data", help=".npy events: value ranges, overflow counts and errors on these")
    p.add_argument("--scan", help="scan.json written by `hlsforge scan`: adds its Pareto plot and table")
    p.add_argument("--part", default="xcvu13p-flga2577-2-e", help="FPGA part for the estimate")
    p.add_argument("--clock", type=float, default=5.0, help="clock period in ns (default 5)")
    p.add_argument("-o", "--output", required=True, help="the .html file to write")
    p.set_defaults(func=cmd_report)
