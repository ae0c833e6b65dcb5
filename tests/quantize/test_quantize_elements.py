"""Per-channel / per-element quantizers: the emulator, the reference and the C simulation
(hlsforge's header; Xilinx ap_fixed.h under slow) agree with each element's own scalar
quantizer, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from per_element_cases import MODES, quantize_graph, random_elements, scalar_expected

from hlsforge import reference
from hlsforge.errors import PrecisionError
from hlsforge.quantize import emulate
from hlsforge.quantize.fixed import quantize

FLAGS = ("-O0", "-std=c++17")


def _grid_inputs(graph, n, seed):
    """Inputs on the (wide) graph input's grid, spread well beyond the element ranges."""
    rng = np.random.default_rng(seed)
    t = graph.values["x"].type
    shape = (n, *graph.values["x"].shape)
    raw = rng.integers(-(1 << 13), 1 << 13, shape)
    return raw * float(2.0 ** -t.frac)


@pytest.mark.parametrize("rounding,overflow", MODES)
@pytest.mark.parametrize("shape,eshape", [((6,), (6,)), ((2, 3, 4), (4,)), ((2, 3, 4), (2, 1, 4)), ((3, 4), (3, 4))])
def test_emulator_equals_scalar_quantizers(shape, eshape, rounding, overflow):
    rng = np.random.default_rng(len(shape) * 7 + len(rounding))
    et = random_elements(eshape, rng, rounding, overflow)
    g = quantize_graph(shape, et)
    x = _grid_inputs(g, 2000, 1)
    got = emulate.run(g, x)
    np.testing.assert_array_equal(got, scalar_expected(x, et))
    np.testing.assert_array_equal(reference.run(g, x), scalar_expected(x, et).astype(np.float32))
    # the output raws are in the container type: its grid holds every value exactly
    assert g.values[g.outputs[0]].type == et.union()
    c = et.union()
    np.testing.assert_array_equal(quantize(got, c) * 2.0 ** -c.frac, got)


def test_overflows_of_the_quantizer_are_counted_on_its_node():
    rng = np.random.default_rng(3)
    et = random_elements((5,), rng, "RND", "SAT", prune=False)
    g = quantize_graph((5,), et)
    x = _grid_inputs(g, 500, 2)
    tr = emulate.run(g, x, trace=True)
    assert sum(tr.overflows.values()) > 0


def test_a_container_that_does_not_hold_the_elements_is_refused():
    rng = np.random.default_rng(4)
    et = random_elements((4,), rng, prune=False)
    g = quantize_graph((4,), et)
    from hlsforge.ir.types import FixedType

    g.values[g.outputs[0]].type = FixedType(2, 1)
    with pytest.raises(PrecisionError, match="'q'"):
        emulate.run(g, _grid_inputs(g, 4, 0))


def test_result_override_of_a_per_element_quantizer_is_refused():
    from hlsforge.quantize.config import configure

    rng = np.random.default_rng(5)
    g = quantize_graph((4,), random_elements((4,), rng), configured=False)
    with pytest.raises(PrecisionError, match="explicit quantizer"):
        configure(g, {"model": {"input": "ap_fixed<20,7>"}, "layers": {"q": {"result": "ap_fixed<16,6>"}}})


def _csim_cases():
    rng = np.random.default_rng(11)
    cases = []
    for k, (q, o) in enumerate(MODES[:3]):
        cases.append((f"pc_dense_{k}", quantize_graph((8,), random_elements((8,), rng, q, o), dense=True, seed=k)))
    cases.append(("pe_conv", quantize_graph((4, 4, 3), random_elements((4, 4, 3), rng, "RND", "SAT"), conv=True, seed=7)))
    cases.append(("pc_conv", quantize_graph((4, 4, 3), random_elements((3,), rng, "TRN", "WRAP"), conv=True, seed=8)))
    return cases


def _check_csim(fixed_lib):
    from hlsforge.hls_backend import compile_many

    cases = _csim_cases()
    models = compile_many([g for _, g in cases], names=[n for n, _ in cases], flags=FLAGS, fixed_lib=fixed_lib)
    for (name, g), m in zip(cases, models, strict=True):
        x = _grid_inputs(g, 300, len(name))
        want = emulate.run(g, x, trace=True).outputs
        got = m.trace(x)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name}: {key}")


def test_csim_equals_emulator():
    _check_csim("hlsforge")


@pytest.mark.slow
def test_csim_with_xilinx_ap_fixed_equals_emulator():
    from hlsforge.errors import ToolNotFoundError
    from hlsforge.hls_backend import find_ap_types

    try:
        find_ap_types()
    except ToolNotFoundError:  # pragma: no cover
        pytest.skip("Xilinx ap_types headers not available (install hls4ml)")
    _check_csim("ap_types")
    _check_stream("ap_types")


def test_generated_code_names_each_element_type(tmp_path):
    from hlsforge import hls_backend

    rng = np.random.default_rng(12)
    g = quantize_graph((8,), random_elements((8,), rng, "RND", "SAT"), dense=True)
    hls_backend.write(g, tmp_path / "fw")
    text = "\n".join(p.read_text() for p in (tmp_path / "fw").rglob("*") if p.suffix in (".h", ".cpp"))
    assert "hlsforge::cast_elements" in text and "elem_t" in text


def _check_stream(fixed_lib):
    from hlsforge.hls_backend import compile_many

    rng = np.random.default_rng(13)
    cases = [
        ("s_pc_conv", quantize_graph((4, 4, 3), random_elements((3,), rng, "RND", "SAT"), conv=True, seed=3,
                                     io_type="io_stream")),
        ("s_pc_dense", quantize_graph((8,), random_elements((8,), rng, "RND_CONV", "WRAP"), dense=True, seed=4,
                                      io_type="io_stream")),
        ("s_pe_conv", quantize_graph((4, 4, 3), random_elements((4, 4, 3), rng, "RND", "SAT_SYM"), conv=True, seed=5,
                                     io_type="io_stream")),
        ("s_pe_rows", quantize_graph((4, 4, 3), random_elements((4, 1, 3), rng, "TRN_ZERO", "SAT"), conv=True, seed=6,
                                     io_type="io_stream")),
    ]
    models = compile_many([g for _, g in cases], names=[n for n, _ in cases], flags=FLAGS, fixed_lib=fixed_lib)
    for (name, g), m in zip(cases, models, strict=True):
        assert m.model.io_type == "io_stream"
        x = _grid_inputs(g, 200, 3)
        want = emulate.run(g, x, trace=True).outputs
        got = m.trace(x)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name}: {key}")


def test_io_stream_per_channel_and_per_element_equal_emulator():
    _check_stream("hlsforge")


def test_as_trained_configuration_needs_no_config():
    """configure(graph) with no configuration: the input takes the quantizer's container, the
    Dense a lossless accumulator and result; the output is the exact Dense of the
    element-wise scalar oracle."""
    from hlsforge.quantize.config import configure

    rng = np.random.default_rng(6)
    et = random_elements((5,), rng, "RND_CONV", "SAT", prune=True)
    float_graph = quantize_graph((5,), et, dense=True, configured=False)
    g = configure(float_graph)
    c = et.union()
    assert g.values["x"].type == c and g.values["q"].type == c
    x = rng.integers(-(1 << 10), 1 << 10, (3000, 5)) * 2.0 ** -c.frac
    q = scalar_expected(x, et)
    k = float_graph.values["k"].data.astype(np.float64)
    b = float_graph.values["b"].data.astype(np.float64)
    np.testing.assert_array_equal(emulate.run(g, x), q @ k + b)


def test_estimate_counts_each_elements_own_cast():
    """The Quantize row costs each element's cast into its own type: all elements of one type
    cost what the scalar quantizer costs; pruning a channel removes its share."""
    import hlsforge
    from hlsforge.ir import ElementTypes, Graph, Op, QuantizeAttrs
    from hlsforge.quantize.config import configure

    def row(attrs):
        g = Graph("est")
        g.add_input("x", (4, 4, 3))
        g.outputs = g.add_node(Op.QUANTIZE, ["x"], attrs=attrs, name="q").outputs
        q = configure(g, {"model": {"input": "ap_fixed<20,7,AP_TRN,AP_SAT>"}})
        return next(r for r in hlsforge.estimate(q).layers if r.name == "q")

    same = ElementTypes.from_arrays([8, 8, 8], [3, 3, 3], True, "RND", "SAT")
    scalar = row(QuantizeAttrs(same.type_at(0)))
    assert row(QuantizeAttrs.per_element(same)).lut == scalar.lut > 0
    pruned = ElementTypes.from_arrays([8, 0, 8], [3, 3, 3], True, "RND", "SAT")
    assert row(QuantizeAttrs.per_element(pruned)).lut == scalar.lut * 2 // 3
