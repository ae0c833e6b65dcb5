"""Every final op has a rule in every consumer of the IR, and a case in the op zoo.

Adding an op to the catalogue without teaching every layer about it fails here, naming the
op and the consumer that lacks it.
"""

import importlib

import pytest
from op_zoo import covered_ops

from hlsforge.ir.ops import CATALOGUE, FINAL_OPS

CONSUMERS = {
    "float reference": "hlsforge.reference",
    "bit-exact emulator": "hlsforge.quantize.emulate",
    "precision configuration": "hlsforge.quantize.config:_CONFIG_RULES",
    "CPU backend": "hlsforge.cpu_backend.lower",
    "HLS backend": "hlsforge.hls_backend.lower",
    "resource estimate": "hlsforge.resources.rules",
}


def _table(path: str) -> dict:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr or "RULES")


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_every_final_op_has_a_rule(consumer):
    table = _table(CONSUMERS[consumer])
    unsupported = getattr(importlib.import_module(CONSUMERS[consumer].partition(":")[0]), "UNSUPPORTED", {})
    missing = [op.value for op in FINAL_OPS if op not in table and op not in unsupported]
    assert not missing, f"{consumer} has no rule for: {', '.join(missing)}"


def test_reference_also_runs_transient_ops():
    """Pass tests compare the reference before and after a rewrite, so it runs import-only ops."""
    from hlsforge.reference import RULES

    assert not [op.value for op in CATALOGUE if op not in RULES]


def test_every_final_op_has_an_op_zoo_case():
    missing = sorted(op.value for op in set(FINAL_OPS) - covered_ops())
    assert not missing, f"tests/op_zoo.py has no case for: {missing}"
