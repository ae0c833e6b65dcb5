"""Typed records that the lowering produces and the renderer turns into text.

Lowering decides everything (identifiers, types, strategy, reuse factor, partitioning,
constants as exact literals); rendering (``emit.py``) is a pure function of these records, so
rendering twice gives the same bytes and no rendering code looks at the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TypeDef:
    """``typedef <cpp> <name>;`` (``cpp`` is an ``ap_fixed<...>`` spelling or another typedef)."""

    name: str
    cpp: str
    comment: str = ""


@dataclass(frozen=True)
class ConstArray:
    """A constant array (weights, biases, tables, index maps) with exact literals.

    ``values`` are C++ literals (exact decimals for fixed-point arrays). ``raw_codes``, for
    fixed-point arrays, are the same values as raw integer literals (``value = raw * 2^-F``):
    the C simulation builds the array from them, which compiles much faster than one
    constructor call per element; synthesis uses ``values``.
    """

    name: str
    type_name: str
    values: tuple[str, ...]
    comment: str = ""
    raw_codes: tuple[str, ...] = ()
    raw_type: str = ""  # "long long" or "unsigned long long"


@dataclass(frozen=True)
class ConstScalar:
    """A typed scalar constant (LeakyReLU alpha, Clip bounds, ...)."""

    name: str
    type_name: str
    value: str
    comment: str = ""


@dataclass(frozen=True)
class ConfigStruct:
    """One hls4ml-style ``CONFIG_T`` struct: integer members and member typedefs."""

    name: str
    base: str
    ints: tuple[tuple[str, str, int | str], ...]  # (C++ type, member name, value or C++ constant)
    types: tuple[tuple[str, str], ...]  # (member typedef name, type name)


@dataclass(frozen=True)
class Call:
    """``kernel<template_args>(args);``"""

    kernel: str
    template_args: tuple[str, ...]
    args: tuple[str, ...]


@dataclass(frozen=True)
class Buffer:
    """An activation array: its C++ name, element typedef and flat size."""

    name: str
    type_name: str
    size: int
    shape: tuple[int, ...]


@dataclass(frozen=True)
class StreamDecl:
    """An io_stream FIFO: ``hls::stream<beat_type> name`` carrying ``n_beats`` beats of ``beat``
    values per inference, sized ``depth`` (``depth_source`` says how it was obtained)."""

    name: str
    beat_type: str
    beat: int
    n_beats: int
    depth: int
    depth_source: str = "upper bound (every beat of one inference)"
    comment: str = ""


@dataclass(frozen=True)
class Layer:
    """Everything the renderer needs for one IR node."""

    index: int
    ident: str
    node: str
    source_name: str
    source_op: str
    op: str
    trace_key: str
    header: str  # kernel header, e.g. "hlsforge_kernels/dense.h"
    output: Buffer
    local: bool  # the output is a local array of the top function (else a top-level port)
    calls: tuple[Call, ...]
    typedefs: tuple[TypeDef, ...] = ()
    configs: tuple[ConfigStruct, ...] = ()
    arrays: tuple[ConstArray, ...] = ()
    scalars: tuple[ConstScalar, ...] = ()
    reuse_factor: int = 1
    strategy: str = "latency"
    notes: tuple[str, ...] = ()
    # io_stream only: the FIFOs this layer writes (its output first, then clone copies), the
    # clone calls that feed several readers, and the layer's initiation interval in beats.
    streams: tuple[StreamDecl, ...] = ()
    post_calls: tuple[Call, ...] = ()
    ii: int = 1
    # multi-output ops (recurrent cells: Y_h, Y_c): outputs after the first, and whether each
    # is a local array of the top function (else a top-level port)
    extra_outputs: tuple[Buffer, ...] = ()
    extra_local: tuple[bool, ...] = ()
    # io_stream multi-output ops: outputs that no layer reads. The firmware passes a
    # hlsforge::stream_sink (no FIFO without a reader); the C-sim trace passes a FIFO.
    discards: tuple[StreamDecl, ...] = ()


@dataclass(frozen=True)
class Port:
    """A top-function argument (graph input or output)."""

    value: str  # IR value name
    name: str  # C++ argument name
    type_name: str
    size: int
    shape: tuple[int, ...]  # IR (channels-last) shape, batch excluded
    beat: int = 0  # io_stream: values per beat
    beat_type: str = ""  # io_stream: the packed beat typedef


@dataclass(frozen=True)
class OutputCopy:
    """A graph output that other layers also read: copied from its buffer at the end."""

    port: str
    buffer: str
    size: int


@dataclass(frozen=True)
class HlsModel:
    """The lowered model: what ``emit`` renders into firmware files."""

    name: str  # sanitized model name (file prefix and top function)
    namespace: str
    top: str
    source_name: str
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    input_typedefs: tuple[TypeDef, ...]  # input_t: the graph inputs' types
    output_typedefs: tuple[TypeDef, ...]  # result_t: aliases of the producing layers' types
    layers: tuple[Layer, ...]
    output_copies: tuple[OutputCopy, ...] = ()
    io_type: str = "io_parallel"
    top_pragma: str = "PIPELINE"
    headers: tuple[str, ...] = field(default=())
    # io_stream only: copies of graph inputs read by several layers (clone calls, their FIFOs)
    prologue: tuple[Call, ...] = ()
    prologue_streams: tuple[StreamDecl, ...] = ()
