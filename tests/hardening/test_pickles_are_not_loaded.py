"""Pickled models (.pkl, .joblib, .pt) are never unpickled: unpickling runs the file's code."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import hlsforge
from hlsforge.errors import ModelFormatError


class _Tripwire:
    """Unpickling this object creates a file: proof that the pickle's code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (self.path.write_text, ("ran",))


@pytest.mark.parametrize("suffix, says", [(".pkl", "joblib.load"), (".joblib", "joblib.load"),
                                          (".pt", "torch.onnx.export"), (".pth", "torch.onnx.export")])
def test_pickled_files_are_refused_without_running_them(tmp_path: Path, suffix: str, says: str) -> None:
    tripwire = tmp_path / "ran.txt"
    model = tmp_path / f"model{suffix}"
    model.write_bytes(pickle.dumps(_Tripwire(tripwire)))
    with pytest.raises(ModelFormatError, match="unpickle|pickles") as err:
        hlsforge.load(model)
    assert says in str(err.value)
    assert not tripwire.exists()
    pickle.loads(model.read_bytes())  # the tripwire works: unpickling does create the file
    assert tripwire.read_text() == "ran"
