"""The ONNX backend node tests shipped with the ``onnx`` package, for every supported op.

Each case is loaded as hlsforge sees models (``model_zoo.prepare_node_case``: the first input is
the batched activation, weights become initializers) and the float reference must agree with
the expected outputs stored in the case (at the suite's own tolerance) and with ONNX Runtime
(single-threaded, rtol 1e-5 / atol 1e-6). Cases hlsforge does not support - an op, attribute
or layout it rejects, or a first axis that is not a batch - are skipped with the frontend's
own error message as the reason; any other error fails.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from model_zoo import (
    NodeCase,
    node_cases_from_files,
    node_test_cases,
    prepare_node_case,
    run_onnxruntime,
)

from hlsforge import reference
from hlsforge.errors import ShapeError, UnsupportedOpError
from hlsforge.frontends.onnx import load_onnx

EXPECTED_RTOL, EXPECTED_ATOL = 1e-3, 1e-7  # the tolerance onnx's backend test runner uses
ORT_RTOL, ORT_ATOL = 1e-5, 1e-6
MIN_PASSING = 205  # 216 pass with onnx 1.23 (incl. index, reduce, TopK, ConvTranspose ops); fewer means a regression (or a smaller suite)

CASES: dict[str, NodeCase] = {c.name: c for c in node_test_cases()}


@cache
def outcome(name: str) -> tuple[str, str]:
    """``("pass", "")`` or ``("skip", reason)``; raises on a mismatch or an unexpected error."""
    case = CASES[name]
    prepared = prepare_node_case(case)
    if prepared is None:
        return "skip", "the case has no input"
    model, feeds = prepared
    if case.inputs[0].dtype != np.float32:
        return "skip", f"first input is {case.inputs[0].dtype}, hlsforge models take float inputs"
    try:
        graph = load_onnx(model)
    except (UnsupportedOpError, ShapeError) as e:
        return "skip", f"{type(e).__name__}: {e}"
    x = feeds if len(feeds) > 1 else next(iter(feeds.values()))
    got = reference.run(graph, x)
    got_list = list(got.values()) if isinstance(got, dict) else [got]
    assert len(got_list) == len(case.outputs)
    if _batchwise_recurrent(model):  # ONNX Runtime implements only layout=0: expected outputs only
        ort_list = list(case.outputs)
    else:
        ort = run_onnxruntime(model, x)
        ort_list = list(ort.values()) if isinstance(ort, dict) else [ort]
    for y, expected, y_ort in zip(got_list, case.outputs, ort_list, strict=True):
        np.testing.assert_allclose(y, expected, rtol=EXPECTED_RTOL, atol=EXPECTED_ATOL, err_msg=f"{name}: vs expected")
        np.testing.assert_allclose(y, y_ort, rtol=ORT_RTOL, atol=ORT_ATOL, err_msg=f"{name}: vs onnxruntime")
    return "pass", ""


def _batchwise_recurrent(model) -> bool:
    return any(n.op_type in ("GRU", "LSTM", "RNN") and any(a.name == "layout" and a.i == 1 for a in n.attribute)
               for n in model.graph.node)


@pytest.mark.parametrize("name", sorted(CASES))
def test_node_case(name):
    status, reason = outcome(name)
    if status == "skip":
        pytest.skip(reason[:300])


def test_a_healthy_number_of_node_cases_pass():
    results = [outcome(name)[0] for name in CASES]
    passed = results.count("pass")
    print(f"\nONNX backend node tests: {passed} passed, {results.count('skip')} skipped of {len(results)}")
    assert passed >= MIN_PASSING


def test_node_cases_are_also_read_from_the_on_disk_layout(tmp_path):
    """Wheels that ship ``onnx/backend/test/data/node`` are read from files instead."""
    from onnx import numpy_helper

    for name in ("test_relu", "test_conv_with_strides_padding"):
        case = CASES[name]
        data = tmp_path / name / "test_data_set_0"
        data.mkdir(parents=True)
        (tmp_path / name / "model.onnx").write_bytes(case.model.SerializeToString())
        for kind, arrays in (("input", case.inputs), ("output", case.outputs)):
            for i, a in enumerate(arrays):
                (data / f"{kind}_{i}.pb").write_bytes(numpy_helper.from_array(a).SerializeToString())
    read = {c.name: c for c in node_cases_from_files(tmp_path)}
    assert sorted(read) == ["test_conv_with_strides_padding", "test_relu"]
    for name, case in read.items():
        assert case.model == CASES[name].model
        for a, b in zip(case.inputs + case.outputs, CASES[name].inputs + CASES[name].outputs, strict=True):
            np.testing.assert_array_equal(a, b)
