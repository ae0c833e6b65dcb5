"""Generated headers used from C++ the way a user would: one program that includes three
different models (two with weight files, one with embedded weights), several sessions of one
model, concurrent threads, a small caller-owned Workspace (chunked batches), and every way a
weight file can be broken."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cpu_helpers import assert_close
from model_zoo import ZOO
from op_zoo import random_inputs

import hlsforge
from hlsforge import cpp_toolchain, reference
from hlsforge.cpu_backend import find_blas, generate
from hlsforge.cpu_backend.weights import weights_bytes

MAIN = r"""
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mlp_16_64_32_32_5.hpp"
#include "cnn2d.hpp"
#include "dense_sigmoid_7.hpp"

static std::vector<float> read(const std::string& path, std::size_t n) {
  std::vector<float> v(n);
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(v.data()), std::streamsize(n * 4));
  return v;
}
static void write(const std::string& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 4));
}

int main(int argc, char** argv) {
  const std::string mode = argv[1], dir = argv[2];
  if (mode == "load") {  // construct a Session from argv[3] and report what happens
    try {
      mlp_16_64_32_32_5::Session s(argv[3]);
      std::printf("loaded\n");
      return 0;
    } catch (const hlsforge_cpu::WeightFileError& e) {
      std::printf("WeightFileError|%s|%s|%s\n", e.file().c_str(), e.tensor().c_str(), e.what());
      return 3;
    }
  }
  const std::size_t n = std::stoul(argv[3]);
  using Mlp = mlp_16_64_32_32_5::Session;
  using Cnn = cnn2d::Session;
  using Clf = dense_sigmoid_7::Session;
  const Mlp mlp(dir + "/mlp_16_64_32_32_5.weights");
  const Cnn cnn(dir + "/cnn2d.weights");
  const Clf clf;  // weights compiled in
  auto xa = read(dir + "/xa.bin", n * Mlp::kInputSize[0]);
  auto xb = read(dir + "/xb.bin", n * Cnn::kInputSize[0]);
  auto xc = read(dir + "/xc.bin", n * Clf::kInputSize[0]);
  std::vector<float> ya(n * Mlp::kOutputSize[0]), yb(n * Cnn::kOutputSize[0]), yc(n * Clf::kOutputSize[0]);
  mlp.infer(xa.data(), ya.data(), n);
  cnn.infer(xb.data(), yb.data(), n);
  clf.infer(xc.data(), yc.data(), n);
  write(dir + "/ya.bin", ya);
  write(dir + "/yb.bin", yb);
  write(dir + "/yc.bin", yc);

  // a second session of one model with a 3-event workspace: the batch runs in chunks
  const Mlp mlp2(dir + "/mlp_16_64_32_32_5.weights");
  mlp_16_64_32_32_5::Workspace ws(3);
  std::vector<float> ya2(ya.size());
  mlp2.infer(xa.data(), ya2.data(), n, ws);
  write(dir + "/ya2.bin", ya2);

  // one event at a time, serially and from four threads sharing the sessions
  std::vector<float> serial(yb.size()), threaded(yb.size());
  for (std::size_t e = 0; e < n; ++e) {
    const std::vector<float> y = cnn.infer(xb.data() + e * Cnn::kInputSize[0]);
    std::copy(y.begin(), y.end(), serial.begin() + e * Cnn::kOutputSize[0]);
  }
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < 4; ++t)
    pool.emplace_back([&, t] {
      for (std::size_t e = t; e < n; e += 4) {
        cnn.infer(xb.data() + e * Cnn::kInputSize[0], threaded.data() + e * Cnn::kOutputSize[0], 1);
        std::vector<float> tmp(Mlp::kOutputSize[0]);
        mlp.infer(xa.data() + e * Mlp::kInputSize[0], tmp.data(), 1);
      }
    });
  for (auto& th : pool) th.join();
  write(dir + "/serial.bin", serial);
  write(dir + "/threaded.bin", threaded);
  std::printf("ok %s %s %s\n", mlp_16_64_32_32_5::kModelName, cnn2d::kModelName, dense_sigmoid_7::kModelName);
  return 0;
}
"""

N = 37  # not a multiple of the 3-event workspace nor of the 4-row kernel blocks


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    d = tmp_path_factory.mktemp("cpp_models")
    graphs = {k: hlsforge.load(ZOO[k]()) for k in ("mlp_16_64_32_32_5", "cnn2d", "dense_sigmoid_7")}
    sources: dict[str, str] = {}
    for key, g in graphs.items():
        files = generate(g, embed_weights=(key == "dense_sigmoid_7"))
        for fname, content in files.items():
            if isinstance(content, bytes):
                (d / fname).write_bytes(content)
            else:
                sources[fname] = content
    assert "dense_sigmoid_7.weights" not in {p.name for p in d.iterdir()}
    sources["main.cpp"] = MAIN
    cfg = find_blas(None)
    exe = cpp_toolchain.compile_executable(
        sources, name="three_models", include_dirs=cfg.include_dirs, defines=dict(cfg.defines),
        link_flags=(*cfg.link_flags, "-pthread"),
    )
    return exe, d, graphs


def _run(exe: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def test_three_models_in_one_binary(program):
    exe, d, graphs = program
    xs = {}
    for tag, key in (("a", "mlp_16_64_32_32_5"), ("b", "cnn2d"), ("c", "dense_sigmoid_7")):
        xs[tag] = random_inputs(graphs[key], N, seed=ord(tag))
        (d / f"x{tag}.bin").write_bytes(np.ascontiguousarray(xs[tag]).tobytes())
    res = _run(exe, "run", str(d), str(N))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok mlp_16_64_32_32_5 cnn2d dense_sigmoid_7"
    for tag, key in (("a", "mlp_16_64_32_32_5"), ("b", "cnn2d"), ("c", "dense_sigmoid_7")):
        want = reference.run(graphs[key], xs[tag])
        got = np.fromfile(d / f"y{tag}.bin", dtype=np.float32).reshape(want.shape)
        assert_close(got, want, key)
    # chunked through a 3-event workspace, a second session of the same model
    want = reference.run(graphs["mlp_16_64_32_32_5"], xs["a"])
    assert_close(np.fromfile(d / "ya2.bin", dtype=np.float32).reshape(want.shape), want, "chunked")
    # four threads sharing const sessions compute exactly what one thread does
    serial = np.fromfile(d / "serial.bin", dtype=np.float32)
    threaded = np.fromfile(d / "threaded.bin", dtype=np.float32)
    np.testing.assert_array_equal(threaded, serial)
    assert_close(serial.reshape(N, -1), reference.run(graphs["cnn2d"], xs["b"]), "one event at a time")


def _load(program, weights: Path) -> tuple[int, list[str]]:
    exe, _, _ = program
    res = _run(exe, "load", str(weights.parent), str(weights))
    return res.returncode, res.stdout.strip().split("|")


@pytest.fixture()
def good_weights(program, tmp_path) -> bytes:
    _, d, _ = program
    return (d / "mlp_16_64_32_32_5.weights").read_bytes()


def test_good_weight_file_loads(program, good_weights, tmp_path):
    p = tmp_path / "ok.weights"
    p.write_bytes(good_weights)
    assert _load(program, p) == (0, ["loaded"])


def _broken_cases(good: bytes, graph) -> dict[str, tuple[bytes | None, str, str]]:
    """name -> (file bytes or None for missing, expected tensor, expected message part)."""
    data = bytearray(good)
    # flip one byte of the first tensor's data (its offset is in the table)
    (n,) = struct.unpack_from("<I", good, 24)
    pos = 28 + n
    (rank,) = struct.unpack_from("<I", good, pos)
    pos += 4 + 8 * rank
    (offset,) = struct.unpack_from("<Q", good, pos)
    first_name = good[28 : 28 + n].decode()
    data[offset + 5] ^= 0x40
    header = bytearray(good)
    header[30] ^= 0x01  # inside the first tensor's name: the header checksum catches it
    tensors = [(name, arr) for name, arr in _arrays(graph)]
    renamed = weights_bytes([("not_" + tensors[0][0], tensors[0][1])] + tensors[1:])
    reshaped = weights_bytes([(tensors[0][0], tensors[0][1].reshape(-1, 2))] + tensors[1:]) \
        if tensors[0][1].size % 2 == 0 else None
    cases = {
        "missing": (None, "", "cannot be opened"),
        "empty": (b"", "", "not an hlsforge weight file"),
        "not_weights": (b"hello world, this is not a weight file at all", "", "not an hlsforge weight file"),
        "truncated_header": (good[:20], "", "truncated"),
        "truncated_data": (good[: len(good) - 8], tensors[-1][0], "truncated"),
        "corrupted_data": (bytes(data), first_name, "corrupted (CRC-32 mismatch)"),
        "corrupted_header": (bytes(header), "", "corrupted header"),
        "renamed_tensor": (renamed, tensors[0][0], "expects"),
        "other_model": (weights_bytes(tensors[:2]), "", "belongs to another model"),
    }
    if reshaped is not None:
        cases["wrong_shape"] = (reshaped, tensors[0][0], "has shape")
    return cases


def _arrays(graph):
    from hlsforge.cpu_backend import lower

    plan = lower(graph)
    return [(w.name, graph.constant(w.name)) for w in plan.weights]


def test_broken_weight_files_give_clear_errors(program, good_weights, tmp_path):
    _, _, graphs = program
    for case, (content, tensor, message) in _broken_cases(good_weights, graphs["mlp_16_64_32_32_5"]).items():
        p = tmp_path / f"{case}.weights"
        if content is not None:
            p.write_bytes(content)
        code, fields = _load(program, p)
        assert code == 3, (case, fields)
        kind, file, bad_tensor, what = fields[0], fields[1], fields[2], "|".join(fields[3:])
        assert kind == "WeightFileError", case
        assert file == str(p), case
        assert bad_tensor == tensor, (case, bad_tensor)
        assert message in what and str(p) in what, (case, what)
        if tensor:
            assert repr(tensor)[1:-1] in what or tensor in what, (case, what)


def test_broken_weight_files_from_python(good_weights, tmp_path):
    """The same checks reach Python as ModelFormatError (never a crash)."""
    from hlsforge import ModelFormatError
    from hlsforge.cpu_backend import compile

    graph = hlsforge.load(ZOO["mlp_16_64_32_32_5"]())
    model = compile(graph)
    x = random_inputs(graph, 4)
    for case, (content, tensor, message) in _broken_cases(good_weights, graph).items():
        p = tmp_path / f"{case}.weights"
        if content is not None:
            p.write_bytes(content)
        with pytest.raises(ModelFormatError) as err:
            model.with_weights(p)
        assert message in str(err.value) and str(p) in str(err.value), case
        if tensor:
            assert tensor in str(err.value), case
    good = tmp_path / "good.weights"
    good.write_bytes(good_weights)
    assert_close(model.with_weights(good).predict(x), reference.run(graph, x))
    assert_close(model.predict(x), reference.run(graph, x))  # the original is untouched
