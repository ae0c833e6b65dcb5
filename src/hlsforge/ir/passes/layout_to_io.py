"""Pass: turn a Transpose at a graph input or output into the graph's layout record.

A channels-first model's input enters the IR through "to channels-last" Transposes and its
feature-map outputs leave through "back to channels-first" ones. Recording the permutation in
``graph.input_perm`` / ``graph.output_perm`` instead moves the data once, at the boundary
(``Graph.to_internal`` / ``Graph.to_user``), and the user still passes and receives arrays in
the source model's layout.

Rewrite rules (``T_p`` transposes the non-batch axes by ``p``; ``to_internal(x) = T_perm(x)``,
``to_user(y) = T_perm(y)``):

1. A graph input ``x`` read only by Transposes that all use the same ``p`` becomes a
   channels-last input: its shape is permuted, ``input_perm[x] = q∘p`` (``q`` the perm it had,
   if any; identity perms are dropped), and the readers of the Transposes read ``x``.
   Other readers are allowed when each is an Add/Sub/Mul whose other operand is a Transpose by
   the inverse of ``p`` (a residual connection from the input): they get their own
   ``T_inverse(x)``, which ``sink_transposes`` then merges with that operand.
2. A graph output ``o = T_p(y)`` whose ``y`` has no other reader (and is not itself a graph
   input or output) is replaced by ``y`` renamed to ``o``, with ``output_perm[o] = p∘r``
   (``r`` the perm it had, if any).
"""

from __future__ import annotations

from ..graph import Graph, Node
from ..ops import Op, TransposeAttrs
from ._rewrite import compose_perms, consumers, inverse_perm, is_identity, new_value, rename_value

_BINARY = (Op.ADD, Op.SUB, Op.MUL)


def _meets_inverse(graph: Graph, reader: Node, x: str, inverse: tuple[int, ...]) -> bool:
    """``reader`` is a binary op combining ``x`` with a Transpose by ``inverse``."""
    if reader.op not in _BINARY or reader.inputs.count(x) != 1:
        return False
    other = graph.producer(reader.inputs[1 - reader.inputs.index(x)])
    return other is not None and other.op is Op.TRANSPOSE and tuple(other.attrs.perm) == inverse


def _inputs(graph: Graph) -> bool:
    changed = False
    for x in graph.inputs:
        all_readers = consumers(graph, x)
        readers = [r for r in all_readers if r.op is Op.TRANSPOSE]
        if not readers or x in graph.outputs:
            continue
        perms = {tuple(r.attrs.perm) for r in readers}
        if len(perms) != 1:
            continue
        (p,) = perms
        if any(r.outputs[0] in graph.outputs for r in readers):
            continue
        others = [r for r in all_readers if r.op is not Op.TRANSPOSE]
        if not all(_meets_inverse(graph, r, x, inverse_perm(p)) for r in others):
            continue
        old = graph.input_perm.get(x, tuple(range(len(p))))
        new = compose_perms(old, p)
        value = graph.values[x]
        value.shape = tuple(value.shape[i] for i in p)
        if is_identity(new):
            graph.input_perm.pop(x, None)
        else:
            graph.input_perm[x] = new
        for r in readers:
            graph.nodes.remove(r)
            for n in graph.nodes:
                n.inputs = [x if i == r.outputs[0] else i for i in n.inputs]
            del graph.values[r.outputs[0]]
        for r in others:  # give them the user's layout back, to be sunk into their operand
            back = new_value(graph, f"{x}_{r.name}", tuple(value.shape[i] for i in inverse_perm(p)))
            graph.nodes.insert(0, Node(graph.unique_name(f"{r.name}_layout"), Op.TRANSPOSE, [x], [back],
                                       TransposeAttrs(inverse_perm(p)), r.source_name, r.source_op))
            r.inputs = [back if i == x else i for i in r.inputs]
        changed = True
    return changed


def _outputs(graph: Graph) -> bool:
    changed = False
    for o in list(graph.outputs):
        t = graph.producer(o)
        if t is None or t.op is not Op.TRANSPOSE:
            continue
        y = t.inputs[0]
        if y in graph.inputs or y in graph.outputs or graph.values[y].is_constant or len(consumers(graph, y)) != 1:
            continue
        p = tuple(t.attrs.perm)
        old = graph.output_perm.pop(o, tuple(range(len(p))))
        graph.nodes.remove(t)
        del graph.values[o]
        rename_value(graph, y, o)
        new = compose_perms(p, old)
        if not is_identity(new):
            graph.output_perm[o] = new
        changed = True
    return changed


def layout_to_io(graph: Graph) -> bool:
    changed = _inputs(graph)
    return _outputs(graph) or changed
