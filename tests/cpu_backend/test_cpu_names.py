"""Names are data, never code; generation is deterministic."""

from __future__ import annotations

import re

import numpy as np
import pytest
from cpu_helpers import assert_close
from model_zoo import ZOO
from op_zoo import random_inputs

import hlsforge
from hlsforge import cpu_backend, reference
from hlsforge.cpu_backend.names import Namer, comment_text, cpp_string, namespace_name, sanitize
from hlsforge.ir import Graph, Op

EVIL = 'x"); system("touch /tmp/hlsforge_pwned"); //'


def evil_graph() -> Graph:
    g = Graph(EVIL + "\nmodel */ \\")
    rng = np.random.default_rng(0)
    a = EVIL
    b = EVIL + "!"  # sanitizes to the same identifier as `a`
    g.add_input(a, (4,))
    g.add_input(b, (4,))
    g.add_constant("class", rng.normal(size=(4, 3)).astype(np.float32))
    g.add_constant("int\\", rng.normal(size=(3,)).astype(np.float32))
    s = g.add_node(Op.ADD, [a, b], ["__reserved ??/ */"], source_name="add\n#include <evil>", source_op='"Add"')
    d = g.add_node(Op.DENSE, [s.outputs[0], "class", "int\\"], ["_Upper δ"], source_name="123 dense \\")
    r = g.add_node(Op.RELU, [d.outputs[0]], ["namespace"], source_name="")
    g.outputs = [r.outputs[0], d.outputs[0]]
    return g.validate()


def test_injection_is_inert(tmp_path):
    g = evil_graph()
    files = cpu_backend.generate(g)
    header = next(v for k, v in files.items() if k.endswith(".hpp") and k != "hlsforge_cpu.hpp")
    assert 'system("' not in header
    assert not any(line.lstrip().startswith("#include <evil>") for line in header.splitlines())
    for line in header.splitlines():
        if "//" in line:
            assert not line.rstrip().endswith("\\"), line  # no line splicing out of a comment
    assert "??/" not in header
    models = cpu_backend.compile_models([g])
    x = random_inputs(g, 5)
    assert_close(models[0].predict(x), reference.run(g, x))
    assert not (tmp_path / "hlsforge_pwned").exists()


def test_identifiers():
    assert sanitize('x"); system("') == "x_system"
    assert sanitize("123abc") == "v_123abc"
    assert sanitize("a__b") == "a_b"
    assert sanitize("δδ") == "v"
    assert namespace_name("class") == "class_model"
    assert namespace_name("std") == "std_model"
    assert namespace_name("9lives") == "model_9lives"
    n = Namer()
    assert [n.ident("t", "a-b"), n.ident("t", "a_b"), n.ident("t", "a b")] == ["t_a_b", "t_a_b_1", "t_a_b_2"]
    ident = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
    for name in [EVIL, "", "_", "__init__", "ÄÖÜ", "a" * 300]:
        out = sanitize(name)
        assert ident.match(out) and "__" not in out and len(out) <= 48, out


def test_literals_and_comments():
    assert cpp_string('a"b\\c?') == '"a\\042b\\134c\\077"'
    # control characters are escaped visibly first (cpp_names.printable): a NUL would end the C string
    assert cpp_string("a\nb\0c") == '"a\\134x0ab\\134x00c"'
    assert cpp_string("δ") == '"\\316\\264"'
    assert comment_text("a\\") == "'a\\x5c'"
    assert "\n" not in comment_text("a\nb")


def test_generation_is_deterministic():
    a = cpu_backend.generate(hlsforge.load(ZOO["cnn2d"]()))
    b = cpu_backend.generate(hlsforge.load(ZOO["cnn2d"]()))
    assert a == b
    ea = cpu_backend.generate(hlsforge.load(ZOO["dense_sigmoid_7"]()), embed_weights=True)
    eb = cpu_backend.generate(hlsforge.load(ZOO["dense_sigmoid_7"]()), embed_weights=True)
    assert ea == eb


def test_write_returns_the_files(tmp_path):
    g = hlsforge.load(ZOO["mlp_16_64_32_32_5"]())
    paths = cpu_backend.write(g, tmp_path / "out", name="jet tagger")
    assert sorted(p.name for p in paths) == ["hlsforge_cpu.hpp", "jet_tagger.hpp", "jet_tagger.weights"]
    assert "namespace jet_tagger {" in (tmp_path / "out" / "jet_tagger.hpp").read_text()
    from hlsforge.cpu_backend import read_weights

    w = read_weights(tmp_path / "out" / "jet_tagger.weights")
    plan = cpu_backend.lower(g)
    assert list(w) == [r.name for r in plan.weights]
    for r in plan.weights:
        np.testing.assert_array_equal(w[r.name], g.constant(r.name))


@pytest.mark.parametrize("embed", [False, True])
def test_header_layout_comment(embed):
    g = hlsforge.load(ZOO["cnn2d"]())
    header = cpu_backend.generate(g, embed_weights=embed)["cnn2d.hpp"]
    assert "(batch, 3, 16, 16)  (transposed to channels-last inside)" in header
    assert ("Session session;" in header) == embed
    assert ("kEmbeddedWeights" in header) == embed
