"""The binary weight file of a generated CPU model (format version 1).

Why a file of its own rather than literals in the header: large models compile in seconds
instead of minutes, and retraining changes only this file, not the code. The format is small
enough to describe completely (all integers little-endian)::

    offset  size  field
    0       8     magic  89 48 46 57 0D 0A 1A 0A  ("\\x89HFW\\r\\n\\x1a\\n", PNG-style: detects
                  text-mode and truncating transfers)
    8       4     u32 format version (1)
    12      4     u32 tensor count T
    16      8     u64 table size S in bytes
    24      S     table, one entry per tensor, in the order the model expects:
                    u32 name length L, L bytes of UTF-8 name,
                    u32 rank R, R x u64 dims,
                    u64 data offset (from the start of the file, a multiple of 64),
                    u64 element count,
                    u32 CRC-32 of the tensor's data bytes
    24+S    4     u32 CRC-32 of bytes [0, 24+S) (header and table)
    ...           zero padding, then each tensor's float32 values (C order) at its offset

CRC-32 is zlib's (``zlib.crc32``). The C++ loader (``hlsforge_cpu::load_weight_file``) and
:func:`read_weights` check every field and name the file and tensor in their errors.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..cpp_names import printable
from ..errors import ModelFormatError

MAGIC = b"\x89HFW\r\n\x1a\n"
VERSION = 1
ALIGN = 64


def weights_bytes(tensors: Sequence[tuple[str, np.ndarray]]) -> bytes:
    """Serialize ``(name, array)`` pairs (converted to float32) into the weight file format."""
    # names follow the rule of names.cpp_string (no NUL, no control characters), so that the
    # C++ loader, which compares them with the header's literals, sees the same whole names
    arrays = [(printable(name), np.asarray(a, dtype="<f4").copy(order="C")) for name, a in tensors]  # keeps rank 0
    entry_sizes = [4 + len(n.encode("utf-8")) + 4 + 8 * a.ndim + 8 + 8 + 4 for n, a in arrays]
    table_size = sum(entry_sizes)
    offset = _align(24 + table_size + 4)
    table = bytearray()
    blobs = []
    for name, a in arrays:
        raw = name.encode("utf-8")
        data = a.tobytes()
        table += struct.pack("<I", len(raw)) + raw
        table += struct.pack("<I", a.ndim) + b"".join(struct.pack("<Q", d) for d in a.shape)
        table += struct.pack("<QQI", offset, a.size, zlib.crc32(data))
        blobs.append((offset, data))
        offset = _align(offset + len(data))
    head = MAGIC + struct.pack("<IIQ", VERSION, len(arrays), table_size) + bytes(table)
    out = bytearray(head + struct.pack("<I", zlib.crc32(head)))
    for off, data in blobs:
        out += bytes(off - len(out)) + data
    return bytes(out)


def write_weights(path: str | os.PathLike[str], tensors: Sequence[tuple[str, np.ndarray]]) -> Path:
    """Write a weight file atomically (a reader never sees a half-written file)."""
    return write_atomic(path, weights_bytes(tensors))


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_weights(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read and check a weight file; returns ``{name: float32 array}`` in file order.

    Raises ``ModelFormatError`` naming the file (and tensor) when it is missing, truncated,
    corrupted or of another version — the same checks the C++ loader makes.
    """
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as e:
        raise ModelFormatError(f"weight file {str(path)!r} cannot be read: {e.strerror}") from None
    where = f"weight file {str(path)!r}"
    if buf[:8] != MAGIC:
        raise ModelFormatError(f"{where} is not an hlsforge weight file (bad magic bytes)")
    if len(buf) < 28:
        raise ModelFormatError(f"{where} is truncated (ends inside the header)")
    version, count, table_size = struct.unpack_from("<IIQ", buf, 8)
    if version != VERSION:
        raise ModelFormatError(f"{where} has format version {version}; this hlsforge reads {VERSION}")
    end = 24 + table_size
    if end + 4 > len(buf):
        raise ModelFormatError(f"{where} is truncated (ends inside the tensor table)")
    if zlib.crc32(buf[:end]) != struct.unpack_from("<I", buf, end)[0]:
        raise ModelFormatError(f"{where} has a corrupted header (CRC-32 mismatch)")
    pos = 24
    out: dict[str, np.ndarray] = {}
    try:
        for _ in range(count):
            (n,) = struct.unpack_from("<I", buf, pos)
            name = buf[pos + 4 : pos + 4 + n].decode("utf-8")
            pos += 4 + n
            (rank,) = struct.unpack_from("<I", buf, pos)
            dims = struct.unpack_from(f"<{rank}Q", buf, pos + 4)
            pos += 4 + 8 * rank
            offset, size, crc = struct.unpack_from("<QQI", buf, pos)
            pos += 20
            data = buf[offset : offset + 4 * size]
            if len(data) != 4 * size:
                raise ModelFormatError(
                    f"{where} is truncated: tensor {name!r} needs bytes [{offset}, {offset + 4 * size}) "
                    f"but the file has {len(buf)} bytes"
                )
            if zlib.crc32(data) != crc:
                raise ModelFormatError(f"{where}: tensor {name!r} is corrupted (CRC-32 mismatch)")
            out[name] = np.frombuffer(data, dtype="<f4").astype(np.float32).reshape(dims)
    except (struct.error, UnicodeDecodeError, ValueError) as e:
        raise ModelFormatError(f"{where} has a malformed tensor table: {e}") from None
    return out


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
