"""Per-node summary rows (shapes, parameters, multiply-accumulates) for ``str(graph)`` and
``hlsforge inspect``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .ops import Op

if TYPE_CHECKING:
    from .graph import Graph, Node


def node_macs(graph: Graph, node: Node) -> int:
    """Multiply-accumulates per event (batch 1) of one node."""
    vals = graph.values
    if node.op in (Op.DENSE, Op.MATMUL):
        x = vals[node.inputs[0]].shape
        k = vals[node.inputs[1]].shape
        return math.prod(x[:-1]) * k[0] * k[1]
    if node.op in (Op.CONV_TRANSPOSE1D, Op.CONV_TRANSPOSE2D, Op.CONV_TRANSPOSE3D):  # every input tap once
        x = vals[node.inputs[0]].shape
        k = vals[node.inputs[1]].shape  # (c_in, *kernel, c_out/groups)
        return math.prod(x) * math.prod(k[1:])
    if node.op is Op.BATCH_MATMUL:
        a, b = vals[node.inputs[0]].shape, vals[node.inputs[1]].shape
        return math.prod(a) * b[-1]
    if node.op in (Op.CONV1D, Op.CONV2D, Op.CONV3D):
        out = vals[node.outputs[0]].shape
        k = vals[node.inputs[1]].shape  # (*kernel, c_in/groups, c_out)
        return math.prod(out) * math.prod(k[:-1])
    if node.op in (Op.BATCHNORM, Op.MUL):
        return vals[node.outputs[0]].size
    return 0


def summary_rows(graph: Graph) -> list[dict[str, Any]]:
    rows = []
    for node in graph.nodes:
        acts = [i for i in node.inputs if not graph.values[i].is_constant]
        rows.append(
            {
                "name": node.name,
                "source_name": node.source_name,
                "op": node.op.value,
                "source_op": node.source_op,
                "input_shapes": [list(graph.values[i].shape) for i in acts],
                "output_shapes": [list(graph.values[o].shape) for o in node.outputs],
                "parameters": graph.parameter_count(node),
                "macs": node_macs(graph, node),
                "precision": {k: str(v) for k, v in node.precision.items()},
                "output_types": [str(graph.values[o].type) for o in node.outputs],
                **_quantizer(node),
            }
        )
    return rows


def _quantizer(node: Node) -> dict[str, str]:
    """``{"quantizer": "per-channel ap_fixed<2..8,1..4>"}`` for a per-element Quantize."""
    elements = getattr(node.attrs, "elements", None) if node.op == Op.QUANTIZE else None
    return {"quantizer": str(elements)} if elements is not None else {}


def _fmt_shapes(shapes: list[list[int]]) -> str:
    return ", ".join("(" + ",".join(str(d) for d in s) + ")" for s in shapes) or "-"


def summary_text(graph: Graph) -> str:
    """A fixed-width table, one line per node, with totals."""
    rows = summary_rows(graph)
    header = ["#", "name", "op", "input", "output", "params", "MACs"]
    table = [
        [str(i), r["name"], r["op"] + (f" [{r['quantizer']}]" if "quantizer" in r else ""), _fmt_shapes(r["input_shapes"]), _fmt_shapes(r["output_shapes"]),
         f"{r['parameters']:,}", f"{r['macs']:,}"]
        for i, r in enumerate(rows)
    ]
    widths = [max(len(h), *(len(t[c]) for t in table)) if table else len(h) for c, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 5 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False)))

    ins = ", ".join(f"{n}{tuple(graph.user_shape(n))}" for n in graph.inputs)
    outs = ", ".join(f"{n}{tuple(graph.user_shape(n))}" for n in graph.outputs)
    out = [f"Graph {graph.name!r}  inputs: {ins}  outputs: {outs}"]
    if graph.input_perm:
        out.append(f"  input layout permutations (user -> channels-last): {graph.input_perm}")
    out.append(line(header))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(t) for t in table)
    total_p = sum(r["parameters"] for r in rows)
    total_m = sum(r["macs"] for r in rows)
    out.append(f"total: {len(rows)} nodes, {total_p:,} parameters, {total_m:,} MACs per event")
    return "\n".join(out)
