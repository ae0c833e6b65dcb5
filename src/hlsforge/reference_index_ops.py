"""Float reference rules of the index ops (Slice, Gather): a copy of the selected elements.
Kept apart from ``reference.py``, which merges :data:`RULES` into its table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .ir.graph import Node
from .ir.index_maps import INDEX_OPS, apply
from .ir.ops import Op


def _index_op(node: Node, ins: Sequence[np.ndarray]) -> np.ndarray:
    return apply(node, np.asarray(ins[0]))


RULES: dict[Op, object] = {op: _index_op for op in INDEX_OPS}
