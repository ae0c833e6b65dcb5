"""The weight file format: written by Python, read back by Python and C++ (the C++ side is
exercised in test_cpu_cpp_programs.py)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from hlsforge import ModelFormatError
from hlsforge.cpu_backend.weights import (
    ALIGN,
    MAGIC,
    VERSION,
    read_weights,
    weights_bytes,
    write_weights,
)


def tensors():
    rng = np.random.default_rng(0)
    return [("kernel", rng.normal(size=(3, 5)).astype(np.float32)), ("bias δ", np.arange(5, dtype=np.float32)),
            ("scalar", np.float32(2.5).reshape(()))]


def test_round_trip(tmp_path):
    p = write_weights(tmp_path / "m.weights", tensors())
    back = read_weights(p)
    assert list(back) == [n for n, _ in tensors()]
    for name, arr in tensors():
        np.testing.assert_array_equal(back[name], arr)
        assert back[name].shape == arr.shape


def test_layout():
    data = weights_bytes(tensors())
    assert data[:8] == MAGIC
    version, count, table = struct.unpack_from("<IIQ", data, 8)
    assert (version, count) == (VERSION, 3)
    assert struct.unpack_from("<I", data, 24 + table)[0] == zlib.crc32(data[: 24 + table])
    (n,) = struct.unpack_from("<I", data, 24)
    assert data[28 : 28 + n] == b"kernel"
    pos = 28 + n
    assert struct.unpack_from("<I", data, pos)[0] == 2
    assert struct.unpack_from("<QQ", data, pos + 4) == (3, 5)
    offset, size, crc = struct.unpack_from("<QQI", data, pos + 20)
    assert offset % ALIGN == 0 and size == 15
    assert data[offset : offset + 60] == tensors()[0][1].astype("<f4").tobytes()
    assert crc == zlib.crc32(data[offset : offset + 60])
    assert weights_bytes(tensors()) == data  # deterministic


@pytest.mark.parametrize("damage", ["magic", "header", "data", "truncate", "version"])
def test_damaged_files(tmp_path, damage):
    data = bytearray(weights_bytes(tensors()))
    if damage == "magic":
        data[1] ^= 1
    elif damage == "header":
        data[30] ^= 1
    elif damage == "data":
        data[-3] ^= 1
    elif damage == "truncate":
        data = data[:-2]
    else:
        data[8] = 2
    p = tmp_path / "bad.weights"
    p.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="bad.weights"):
        read_weights(p)
    with pytest.raises(ModelFormatError, match="cannot be read"):
        read_weights(tmp_path / "missing.weights")
