"""Fixed-point quantization: exact ``ap_fixed`` arithmetic in numpy (NUMERICS.md).

This package re-exports its public API; each module has one job (``fixed``: exact conversion
of values into fixed-point types and the result types of arithmetic).
"""

from __future__ import annotations

from . import emulate
from .calibrate import Calibration, calibrate
from .config import (
    HlsOptions,
    PrecisionConfig,
    SoftmaxOptions,
    configure,
    load_config,
    raw_constant,
)
from .emulate import Trace
from .fixed import (
    ResultType,
    as_fixed_type,
    cast,
    compare_raw,
    convert_fixed,
    convert_raw,
    fixed_add_type,
    fixed_mul_type,
    fixed_neg_type,
    fixed_sub_type,
    quantize,
    quantize_exact,
    to_float,
)
from .tables import TableSpec, build_table

__all__ = [
    # config / tables / emulate (precision configuration, lookup tables, bit-exact emulator)
    "configure",
    "calibrate",
    "Calibration",
    "PrecisionConfig",
    "load_config",
    "raw_constant",
    "HlsOptions",
    "SoftmaxOptions",
    "TableSpec",
    "build_table",
    "emulate",
    "Trace",
    "ResultType",
    "as_fixed_type",
    "cast",
    "compare_raw",
    "convert_fixed",
    "convert_raw",
    "fixed_add_type",
    "fixed_mul_type",
    "fixed_neg_type",
    "fixed_sub_type",
    "quantize",
    "quantize_exact",
    "to_float",
]
