"""Published synthesis results (tests/data/synthesis/*.json) rebuilt as hlsforge graphs.

Each record holds a model's architecture, its fixed-point types, its weights (when the source
publishes them, as exact raw integers) and one or more synthesized configurations with the
numbers the vendor tool reported. ``points()`` yields ``(point, graph, part, clock_ns, model)``
ready for ``hlsforge.estimate``.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hlsforge.hls_backend.lower import valid_reuse_factors
from hlsforge.ir import Graph, Op, SoftmaxAttrs
from hlsforge.ir.ops import QuantizeAttrs
from hlsforge.ir.types import parse_type
from hlsforge.quantize.config import configure
from hlsforge.resources import DEFAULT_MODEL, CostModel

DATA = Path(__file__).resolve().parent.parent / "data" / "synthesis"


@dataclass
class Point:
    id: str
    source: str
    reported: dict[str, int]
    reported_layers: dict[str, dict[str, int]]
    notes: list[str]
    meets_timing: bool
    mult_impl: str


def _frac(t: str) -> int:
    m = re.match(r"ap_(u?)fixed<(\d+),\s*(-?\d+)", t)
    if not m:
        raise ValueError(f"not a fixed type: {t}")
    return int(m.group(2)) - int(m.group(3))


def _raw(b64: str, shape: tuple[int, ...], t: str) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(b64), dtype="<i2").astype(np.float64)
    return (raw * 2.0 ** -_frac(t)).reshape(shape)


def _hls4ml_type(t: str) -> str:
    """hls4ml's ``AP_RND_CONV`` is convergent rounding; hlsforge spells it the same."""
    return t.replace(" ", "")


def build(rec: dict[str, Any], point: dict[str, Any]) -> tuple[Graph, dict[str, Any], list[str]]:
    """The record's model as an IR graph plus the precision config of one point."""
    g = Graph(rec["model"].lower())
    layers: dict[str, Any] = {}
    notes: list[str] = []
    first = rec["layers"][0]
    n0 = first["n_in"]
    g.add_input("input", (n0,))
    x = "input"
    for lay in rec["layers"]:
        name = lay["name"]
        if lay["op"] == "Dense":
            n_in, n_out = lay["n_in"], lay["n_out"]
            k = g.add_constant(f"{name}_w", _raw(lay["kernel_raw"], (n_in, n_out), lay["weight"]))
            b = g.add_constant(f"{name}_b", _raw(lay["bias_raw"], (n_out,), lay["bias"]))
            x = g.add_node(Op.DENSE, [x, k.name, b.name], name=name, source_name=name).outputs[0]
            rf = int(point["reuse_factor"])
            valid = valid_reuse_factors(n_in, n_out)
            if rf not in valid:
                # hls4ml (Latency) accepts any RF, with multiplier_limit = ceil(N/RF) - zeros/RF;
                # hlsforge accepts divisors only: take the one with the nearest multiplier limit
                n = n_in * n_out
                zeros = int(np.count_nonzero(_raw(lay["kernel_raw"], (n_in, n_out), lay["weight"]) == 0))
                target = max(1, math.ceil(n / rf) - zeros // rf)
                new = min(valid, key=lambda r: (abs(n // r - target), abs(r - rf)))
                notes.append(f"{name}: ReuseFactor {rf} -> {new} (multiplier limit {n // new} vs hls4ml's {target})")
                rf = new
            layers[name] = {"weight": _hls4ml_type(lay["weight"]), "bias": _hls4ml_type(lay["bias"]),
                            "accum": _hls4ml_type(lay["accum"]), "result": _hls4ml_type(lay["result"]),
                            "ReuseFactor": rf, "Strategy": point["strategy"].capitalize()}
        elif lay["op"] == "ReLU":
            x = g.add_node(Op.RELU, [x], name=name, source_name=name).outputs[0]
            layers[name] = {"result": _hls4ml_type(lay["result"])}
        elif lay["op"] == "BatchNormalization":
            n = g.values[x].shape[-1]
            s = g.add_constant(f"{name}_s", _raw(lay["scale_raw"], (n,), lay["scale"]))
            b = g.add_constant(f"{name}_b", _raw(lay["bias_raw"], (n,), lay["bias"]))
            x = g.add_node(Op.BATCHNORM, [x, s.name, b.name], name=name, source_name=name).outputs[0]
            layers[name] = {"scale": _hls4ml_type(lay["scale"]), "bias": _hls4ml_type(lay["bias"]),
                            "result": _hls4ml_type(lay["result"])}
        elif lay["op"] == "Quantize":  # hls4ml's "linear" activation: a cast to its result type
            target = parse_type(_hls4ml_type(lay["result"]))
            x = g.add_node(Op.QUANTIZE, [x], attrs=QuantizeAttrs(target), name=name, source_name=name).outputs[0]
        elif lay["op"] == "Softmax":
            x = g.add_node(Op.SOFTMAX, [x], attrs=SoftmaxAttrs(0), name=name, source_name=name).outputs[0]
            layers[name] = {"exp_table": _hls4ml_type(lay["exp_table"]), "inv_table": _hls4ml_type(lay["inv_table"]),
                            "sum": "auto", "table_size": int(lay["table_size"]), "result": _hls4ml_type(lay["result"])}
        else:
            raise ValueError(f"unknown layer op {lay['op']}")
    g.outputs = [x]
    cfg = {"model": {"default": "ap_fixed<16,6>", "input": _hls4ml_type(rec["input"])}, "layers": layers}
    return g.validate(), cfg, notes


def points(include_duplicates: bool = False) -> Iterator[tuple[Point, Graph, str, float, CostModel]]:
    for path in sorted(DATA.glob("*.json")):
        rec = json.loads(path.read_text())
        for p in rec["points"]:
            if p.get("duplicate_of") and not include_duplicates:
                continue
            graph, cfg, notes = build(rec, p)
            q = configure(graph, cfg)
            model = replace(DEFAULT_MODEL, mult_impl=p.get("mult_impl", "auto"),
                            clock_uncertainty=p["clock_uncertainty_ns"] / p["clock_ns"])
            src = f"{rec['source']['repository']} @ {rec['source']['commit'][:10]} : {p['source_path']}"
            yield (Point(p["id"], src, p["reported"], p.get("reported_layers", {}), notes,
                         bool(p.get("meets_timing", True)), p.get("mult_impl", "auto")),
                   q, p["part"], float(p["clock_ns"]), model)
