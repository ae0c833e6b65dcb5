"""Dense layers with one output column (``hlsforge_cpu::dense_column``: per-event dot products
in whole vectors, then the lanes added) against the float reference: input widths below one
vector, whole vectors, vectors plus a remainder, and one wide enough that the general rule
would have used BLAS; batches around the vector width (a partial last block of events); a
rank-3 input (rows = events x positions); followed by a Sigmoid and by a Tanh."""

from __future__ import annotations

import numpy as np
import pytest
from cpu_helpers import assert_close
from op_zoo import random_inputs

from hlsforge import cpu_backend, reference
from hlsforge.ir import Graph, Op


def _column(n_in: int, *, rank3: bool = False, act: Op | None = None) -> Graph:
    g = Graph(f"column_{n_in}{'_3d' if rank3 else ''}{'_' + act.value.lower() if act else ''}")
    rng = np.random.default_rng(n_in)
    g.add_input("x", (5, n_in) if rank3 else (n_in,))
    g.add_constant("kernel", (rng.normal(size=(n_in, 1)) / np.sqrt(n_in)).astype(np.float32))
    g.add_constant("bias", np.array([0.3], np.float32))
    out = g.add_node(Op.DENSE, ["x", "kernel", "bias"], source_name="dense").outputs
    if act is not None:
        out = g.add_node(act, out, source_name="act").outputs
    g.outputs = list(out)
    return g.validate()


GRAPHS = {
    "n3": lambda: _column(3),
    "n16_sigmoid": lambda: _column(16, act=Op.SIGMOID),
    "n37_tanh": lambda: _column(37, act=Op.TANH),
    "n20_3d": lambda: _column(20, rank3=True),
    "n20000": lambda: _column(20000),
}


@pytest.fixture(scope="module")
def models():
    graphs = [GRAPHS[k]() for k in GRAPHS]
    return dict(zip(GRAPHS, zip(graphs, cpu_backend.compile_models(graphs), strict=True), strict=True))


@pytest.mark.parametrize("case", list(GRAPHS))
def test_one_output_column_matches_the_reference(models, case):
    g, m = models[case]
    for batch in (1, 7, 8, 9, 17, 1000) if case != "n20000" else (1, 9, 40):
        x = random_inputs(g, batch, seed=batch)
        assert_close(m.predict(x), reference.run(g, x), f"{case} at batch {batch}")
