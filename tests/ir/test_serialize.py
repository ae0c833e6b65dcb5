"""JSON + npz save/load is exact, atomic, and rejects garbage with ModelFormatError."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_zoo import CASES, random_inputs

from hlsforge import reference
from hlsforge.errors import ModelFormatError
from hlsforge.ir import FixedType, Graph, Overflow, QuantizeAttrs, Rounding
from hlsforge.ir.serialize import graph_from_dict, graph_to_dict, load, save


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip_is_exact_for_every_op_case(case, tmp_path):
    g = CASES[case]()
    g.nodes[0].precision["accum"] = FixedType(20, 8, True, Rounding.RND, Overflow.SAT)
    path = save(g, tmp_path / "g.json")
    g2 = load(path).validate()
    assert graph_to_dict(g2)[0] == graph_to_dict(g)[0]
    for name, v in g.values.items():
        if v.data is not None:
            np.testing.assert_array_equal(g2.values[name].data, v.data)
            assert g2.values[name].data.dtype == v.data.dtype
    x = random_inputs(g, 3)
    y1, y2 = reference.run(g, x), reference.run(g2, x)
    np.testing.assert_array_equal(y1, y2)


def test_saving_twice_gives_identical_json(tmp_path):
    g = CASES["conv2d"]()
    a = save(g, tmp_path / "a.json").read_text()
    b = save(g, tmp_path / "b.json").read_text()
    assert a == b


@given(st.lists(st.floats(allow_nan=False, width=32), min_size=1, max_size=20))
@settings(max_examples=30, deadline=None)
def test_float_data_round_trips_bit_exactly(values):
    g = Graph("q")
    g.add_input("x", (len(values),))
    g.add_constant("c", np.array(values, np.float32))
    n = g.add_node(__import__("hlsforge").ir.Op.ADD, ["x", "c"])
    n2 = g.add_node(__import__("hlsforge").ir.Op.QUANTIZE, n.outputs, attrs=QuantizeAttrs(FixedType(7, -1, False)))
    g.outputs = n2.outputs
    doc, arrays = graph_to_dict(g)
    g2 = graph_from_dict(json.loads(json.dumps(doc)), arrays)
    assert g2.values["c"].data.tobytes() == g.values["c"].data.tobytes()
    assert g2.nodes[1].attrs == g.nodes[1].attrs


@pytest.mark.parametrize("content", [b"", b"{", b"\x00\xff garbage", b'{"format": "other"}', b'{"format": "hlsforge-ir", "version": 99}'])
def test_garbage_ir_files_raise_model_format_error(tmp_path, content):
    p = tmp_path / "bad.json"
    p.write_bytes(content)
    with pytest.raises(ModelFormatError):
        load(p)


def test_truncated_ir_file_raises_model_format_error(tmp_path):
    g = CASES["dense"]()
    text = save(g, tmp_path / "g.json").read_text()
    for cut in (10, len(text) // 2, len(text) - 5):
        p = tmp_path / f"cut{cut}.json"
        p.write_text(text[:cut])
        with pytest.raises(ModelFormatError):
            load(p)
