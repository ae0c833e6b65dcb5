"""Every op of the IR catalogue runs on the CPU backend and agrees with the float reference."""

from __future__ import annotations

import pytest
from conftest import assert_close
from op_zoo import CASES, covered_ops, random_inputs

from hlsforge import reference
from hlsforge.cpu_backend import RULES
from hlsforge.cpu_backend.emit import RENDER
from hlsforge.cpu_backend.lower import Step
from hlsforge.ir.ops import FINAL_OPS


def test_every_final_op_has_a_rule():
    missing = sorted(op.value for op in FINAL_OPS if op not in RULES)
    assert not missing, f"CPU backend has no lowering rule for {missing}"


def test_every_step_record_has_a_renderer():
    def leaves(cls):
        subs = cls.__subclasses__()
        return [c for s in subs for c in leaves(s)] + subs

    assert {c for c in leaves(Step) if c not in RENDER} == set()


def test_op_zoo_covers_every_final_op():
    assert set(FINAL_OPS) <= covered_ops()


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("batch", [1, 1000])
def test_op_matches_reference(op_models, case, batch):
    graph, model = op_models[case]
    x = random_inputs(graph, batch, seed=batch)
    assert_close(model.predict(x), reference.run(graph, x), f"{case} at batch {batch}")
