"""Per-channel / per-element quantizer types (``ElementTypes``): validation, the container
rule, IR save/load round trip and the summary text."""

import json

import numpy as np
import pytest

from hlsforge.errors import PrecisionError, ShapeError
from hlsforge.ir import ElementTypes, FixedType, Graph, Op, Overflow, QuantizeAttrs, Rounding
from hlsforge.ir.element_types import holds
from hlsforge.ir.serialize import graph_from_dict, graph_to_dict, load, save


def _graph(et, shape=(2, 3), target=None):
    g = Graph("pe")
    g.add_input("x", shape)
    n = g.add_node(Op.QUANTIZE, ["x"], attrs=QuantizeAttrs(target or et.union(), et), name="q")
    g.outputs = n.outputs
    return g


def test_from_arrays_broadcasts_and_types_at():
    et = ElementTypes.from_arrays([4, 0, 8], [2, 1, -1], [True, False, False], "RND", "SAT")
    assert et.shape == (3,) and et.granularity == "channel"
    assert et.type_at(0) == FixedType(4, 2, True, Rounding.RND, Overflow.SAT)
    assert et.type_at(1) is None
    assert et.type_at((2,)) == FixedType(8, -1, False, Rounding.RND, Overflow.SAT)
    assert ElementTypes.from_arrays(np.full((1, 1, 4), 3), 1).shape == (4,)  # leading size-1 axes dropped
    full = ElementTypes.from_arrays(np.full((2, 3), 5.0), 2, shape=(2, 3))
    assert full.granularity == "element" and full.width == (5,) * 6 and full.signed == (True,) * 6


def test_union_is_the_narrowest_lossless_container():
    et = ElementTypes.from_arrays([4, 8, 3], [2, -1, 3], [True, False, False], "RND", "SAT")
    c = et.union()
    # frac: max(2, 9, 0) = 9; integer: max(2, -1 + 1, 3 + 1) = 4 (unsigned into signed needs one more)
    assert c == FixedType(13, 4, True, Rounding.RND, Overflow.SAT)
    for t, _ in et.groups():
        assert t is None or holds(c, t)
    narrower = [FixedType(12, 4, True), FixedType(12, 3, True)]
    for n in narrower:
        assert not all(t is None or holds(n, t) for t, _ in et.groups())
    assert ElementTypes.from_arrays([0, 0], [1, 1]).union() == FixedType(1, 1, False)


@pytest.mark.parametrize(
    "kwargs, err",
    [
        (dict(width=[65], integer=[1]), PrecisionError),
        (dict(width=[-1], integer=[1]), PrecisionError),
        (dict(width=[2.5], integer=[1]), PrecisionError),
        (dict(width=[2, 3], integer=[1, 1, 1]), ShapeError),
    ],
)
def test_bad_element_types_are_refused(kwargs, err):
    with pytest.raises(err):
        ElementTypes.from_arrays(**kwargs)


def test_graph_errors_name_the_node():
    with pytest.raises(ShapeError, match="'q'.*do not broadcast"):
        _graph(ElementTypes.from_arrays([4, 4], [1, 1]), shape=(2, 3))
    with pytest.raises(PrecisionError, match="'q'.*more than 64"):
        _graph(ElementTypes.from_arrays([40, 40], [40, -20]), shape=(2,), target=FixedType(64, 40))
    with pytest.raises(PrecisionError, match="'q'.*does not hold"):
        _graph(ElementTypes.from_arrays([4, 8], [1, 1]), shape=(2,), target=FixedType(6, 1))


def test_per_element_quantize_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    et = ElementTypes.from_arrays(rng.integers(0, 9, (2, 3)), rng.integers(-2, 5, (2, 3)),
                                  rng.integers(0, 2, (2, 3)).astype(bool), "RND_CONV", "SAT_SYM")
    g = _graph(et)
    doc, arrays = graph_to_dict(g)
    g2 = graph_from_dict(json.loads(json.dumps(doc)), arrays)
    assert g2.nodes[0].attrs == g.nodes[0].attrs
    assert g2.nodes[0].attrs.elements.rounding is Rounding.RND_CONV
    g3 = load(save(g, tmp_path / "g.json")).validate()
    assert g3.nodes[0].attrs == g.nodes[0].attrs
    assert g3.values[g3.outputs[0]].type == g.values[g.outputs[0]].type


def test_summary_names_the_per_channel_types():
    g = _graph(ElementTypes.from_arrays([2, 8, 5], [1, 4, 2]), shape=(4, 3))
    text = str(g)
    assert "per-channel ap_fixed<2..8,1..4>" in text
