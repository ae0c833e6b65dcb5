"""A trained hlsforge.qat export is already typed: ``convert`` and ``configure`` still take the
schedule choices (io_type, ReuseFactor, Strategy) and refuse new precisions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hlsforge
from hlsforge import qat
from hlsforge.cli import main
from hlsforge.errors import PrecisionError
from hlsforge.quantize import configure, emulate


def _model() -> object:
    import keras

    keras.utils.set_random_seed(5)
    return keras.Sequential([keras.Input((6,)), qat.FixedQuantizer(10, 4), qat.QDense(8, activation="relu"),
                             qat.QDense(3)])


def test_schedule_options_apply_to_a_qat_export_and_precisions_are_refused() -> None:
    q = hlsforge.load(_model())
    again = configure(q, {"model": {"io_type": "io_stream", "ReuseFactor": 2, "Strategy": "Resource"}})
    dense = [n for n in again.nodes if n.op.value == "Dense"]
    assert {n.options["hls"].reuse_factor for n in dense} == {2}
    assert {n.options["hls"].strategy for n in dense} == {"Resource"}
    assert again.metadata["precision_config"]["model"]["io_type"] == "io_stream"
    assert {k: str(v.type) for k, v in again.values.items()} == {k: str(v.type) for k, v in q.values.items()}
    x = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    np.testing.assert_array_equal(emulate.run(again, x), emulate.run(q, x))
    with pytest.raises(PrecisionError, match="only ReuseFactor, Strategy and io_type"):
        configure(q, "ap_fixed<8,3>")


def test_cli_converts_a_saved_qat_model_to_an_io_stream_project(tmp_path: Path, capsys) -> None:
    path = tmp_path / "tagger.keras"
    _model().save(path)
    assert main(["convert", str(path), "--backend", "hls", "--io-type", "io_stream", "-o", str(tmp_path / "prj")]) == 0
    out = capsys.readouterr().out
    assert "as trained" in out and "io_stream" in out
    assert main(["csim", str(tmp_path / "prj")]) == 0
