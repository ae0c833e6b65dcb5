"""``hlsforge estimate MODEL|PROJECT``: resources, latency and II without vendor tools.

A model file is loaded, quantized with ``--config``/``--precision``/``--reuse-factor``/
``--strategy`` (hls4ml's default ``ap_fixed<16,6>`` when none is given) and estimated for
``--part`` at ``--clock``; a project directory written by hlsforge prints the estimate
recorded in its ``hlsforge_project.json`` when it was generated.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "estimate", help="LUT/FF/DSP/BRAM, latency and II of the HLS design, without vendor tools"
    )
    p.add_argument("model", help="model file (as for convert) or an hlsforge HLS project directory")
    p.add_argument("--weights", help="weights .h5 for a Keras architecture JSON")
    p.add_argument("--config", help="precision/strategy config (YAML or JSON)")
    p.add_argument("--precision", help="default precision, e.g. 'ap_fixed<16,6>'")
    p.add_argument("--reuse-factor", type=int, help="default ReuseFactor")
    p.add_argument("--strategy", choices=["latency", "resource", "Latency", "Resource"], help="default strategy")
    p.add_argument("--part", help="FPGA part (default xcvu13p-flga2577-2-e; see docs/estimate.md)")
    p.add_argument("--clock", type=float, help="clock period in ns (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _from_project(args: argparse.Namespace, path: Path) -> int:
    from ..projects.settings import METADATA_FILE

    if any(getattr(args, k) is not None for k in ("config", "precision", "reuse_factor", "strategy", "part", "clock")):
        raise InputError(
            f"{str(path)!r} is a generated project: it records the estimate made when it was written; "
            "to estimate other settings, run `hlsforge estimate` on the model file"
        )
    doc = json.loads((path / METADATA_FILE).read_text())
    est = doc.get("estimate")
    if not isinstance(est, dict):
        raise InputError(
            f"{str(path / METADATA_FILE)!r} holds no estimate (the project predates it); run "
            "`hlsforge estimate` on the model file"
        )
    if args.json:
        print(json.dumps(est, indent=2))
    else:
        print((path / "README.md").read_text().split("## Resource estimate", 1)[-1].strip()
              if (path / "README.md").is_file() else json.dumps(est, indent=2))
    return 0


def run(args: argparse.Namespace) -> int:
    from ..cli import _load, _precision_config
    from ..projects.settings import METADATA_FILE
    from ..resources import DEFAULT_PART, estimate

    path = Path(args.model)
    if path.is_dir():
        if not (path / METADATA_FILE).is_file():
            raise InputError(f"{str(path)!r} is a directory but not an hlsforge project (no {METADATA_FILE})")
        return _from_project(args, path)
    graph = _load(args)
    config: Any = _precision_config(args)
    from ..quantize.config import METADATA_KEY

    if METADATA_KEY in graph.metadata and config:
        raise InputError(f"{str(path)!r} is already quantized; --config/--precision apply to float models only")
    est = estimate(
        graph,
        part=args.part or DEFAULT_PART,
        clock_ns=args.clock if args.clock is not None else 5.0,
        config=(config or None) if METADATA_KEY not in graph.metadata else None,
    )
    print(est.to_json() if args.json else str(est))
    return 0
