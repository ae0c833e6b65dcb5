"""The model as an SVG picture drawn from the IR (no graphviz: nothing to install).

Why a layered drawing: IR graphs are DAGs in topological order; putting each node one row
below the deepest of its producers gives a readable top-to-bottom picture of chains, skip
connections and branches without a layout engine. Every text is escaped: model names are data.
"""

from __future__ import annotations

from html import escape

from ..ir.graph import Graph

__all__ = ["graph_svg"]

_W, _H, _GAP_X, _GAP_Y, _PAD = 190, 40, 24, 26, 12
_SKIP = 70  # how far a skip connection's curve bulges right of the boxes
_COLORS = {
    "input": "#dbeafe", "output": "#dcfce7", "Dense": "#fde68a", "Conv1D": "#fde68a", "Conv2D": "#fde68a",
    "Softmax": "#fbcfe8", "Sigmoid": "#fbcfe8", "Tanh": "#fbcfe8", "ReLU": "#e9d5ff",
}


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ",".join(str(d) for d in shape) + ")"


def graph_svg(graph: Graph) -> str:
    """An ``<svg>`` element: graph inputs, one box per node (name, op, output shape and
    type), graph outputs, and an arrow for every activation edge."""
    boxes: dict[str, tuple[str, str, str]] = {}  # id -> (title, subtitle, kind)
    level: dict[str, int] = {}
    edges: list[tuple[str, str]] = []
    producer_box: dict[str, str] = {}
    for name in graph.inputs:
        bid = f"in:{name}"
        v = graph.values[name]
        boxes[bid] = (name, f"input {_shape(graph.user_shape(name))} {v.type}", "input")
        level[bid] = 0
        producer_box[name] = bid
    for node in graph.nodes:
        bid = f"node:{node.name}"
        out = graph.values[node.outputs[0]]
        boxes[bid] = (node.source_name or node.name, f"{node.op.value} {_shape(out.shape)} {out.type}", node.op.value)
        srcs = [producer_box[i] for i in node.inputs if i in producer_box and not graph.values[i].is_constant]
        level[bid] = 1 + max((level[s] for s in srcs), default=-1)
        edges += [(s, bid) for s in srcs]
        for o in node.outputs:
            producer_box[o] = bid
    for name in graph.outputs:
        bid = f"out:{name}"
        boxes[bid] = (name, f"output {_shape(graph.user_shape(name))}", "output")
        src = producer_box.get(name)
        level[bid] = (level[src] + 1) if src else 0
        if src:
            edges.append((src, bid))
    rows: dict[int, list[str]] = {}
    for bid in boxes:
        rows.setdefault(level[bid], []).append(bid)
    ncols = max(len(r) for r in rows.values())
    boxes_width = ncols * (_W + _GAP_X) - _GAP_X + 2 * _PAD
    width = boxes_width
    if any(level[b] - level[a] > 1 for a, b in edges):
        width += _SKIP + 14 * 3  # room on the right for the skip connections' curves
    height = len(rows) * (_H + _GAP_Y) - _GAP_Y + 2 * _PAD
    pos: dict[str, tuple[float, float]] = {}
    for lv, ids in rows.items():
        offset = (boxes_width - (len(ids) * (_W + _GAP_X) - _GAP_X)) / 2
        for i, bid in enumerate(ids):
            pos[bid] = (offset + i * (_W + _GAP_X), _PAD + lv * (_H + _GAP_Y))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="model graph" font-family="sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    skips = 0
    for a, b in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        if level[b] - level[a] > 1:  # a skip connection: around the boxes in between, on the right
            off = _SKIP + 14 * (skips % 4)
            skips += 1
            x1, y1, x2, y2 = xa + _W, ya + _H / 2, xb + _W, yb + _H / 2
            d = f"M {x1:.1f} {y1:.1f} C {x1 + off:.1f} {y1:.1f}, {x2 + off:.1f} {y2:.1f}, {x2 + 1:.1f} {y2:.1f}"
        else:
            x1, y1, x2, y2 = xa + _W / 2, ya + _H, xb + _W / 2, yb
            mid = (y1 + y2) / 2
            d = f"M {x1:.1f} {y1:.1f} C {x1:.1f} {mid:.1f}, {x2:.1f} {mid:.1f}, {x2:.1f} {y2 - 1:.1f}"
        parts.append(f'<path d="{d}" fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>')
    for bid, (title, sub, kind) in boxes.items():
        x, y = pos[bid]
        color = _COLORS.get(kind, "#f3f4f6")
        sub_text = sub if len(sub) <= 34 else sub[:33] + "…"
        parts.append(
            f'<g><title>{escape(title)}: {escape(sub)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{_W}" height="{_H}" rx="6" fill="{color}" stroke="#444"/>'
            f'<text x="{x + _W / 2:.1f}" y="{y + 16:.1f}" text-anchor="middle" font-size="12" font-weight="bold">'
            f'{escape(title if len(title) <= 26 else title[:25] + "…")}</text>'
            f'<text x="{x + _W / 2:.1f}" y="{y + 31:.1f}" text-anchor="middle" font-size="10">{escape(sub_text)}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
