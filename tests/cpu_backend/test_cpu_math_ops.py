"""The elementwise-math and attention ops (issue 12) on the CPU backend agree with the float
reference, and the fixed-point consumers refuse them with their stated reason."""

from __future__ import annotations

import pytest
from cpu_helpers import assert_close
from op_zoo import MATH_CASES, random_inputs

from hlsforge import cpu_backend, reference
from hlsforge.errors import HlsforgeError


@pytest.fixture(scope="module")
def math_models() -> dict[str, tuple]:
    names = list(MATH_CASES)
    graphs = [MATH_CASES[n]() for n in names]
    models = cpu_backend.compile_models(graphs)
    return {n: (g, m) for n, g, m in zip(names, graphs, models, strict=True)}


@pytest.mark.parametrize("case", list(MATH_CASES))
@pytest.mark.parametrize("batch", [1, 37])
def test_math_op_matches_reference(math_models, case, batch):
    graph, model = math_models[case]
    x = random_inputs(graph, batch, seed=batch)
    assert_close(model.predict(x), reference.run(graph, x), f"{case} at batch {batch}")


def test_fixed_point_configuration_refuses_with_reason():
    from hlsforge.quantize import configure

    with pytest.raises(HlsforgeError, match="float engines only"):
        configure(MATH_CASES["gelu"]())
