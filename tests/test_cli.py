"""The command line: inspect prints the table, --json is valid JSON, errors exit 2 with a message."""

import json
from pathlib import Path

import pytest

from hlsforge.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "jet_tagger_mlp.onnx"


def test_inspect_prints_a_table_with_totals(capsys):
    assert main(["inspect", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    for token in ("fc1", "Dense", "Softmax", "(16)", "(5)", "4,389 parameters", "4,256 MACs"):
        assert token in out, token


def test_inspect_json_is_valid_and_complete(capsys):
    assert main(["inspect", str(EXAMPLE), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inputs"] == {"input": [16]} and doc["outputs"] == {"output": [5]}
    assert [n["op"] for n in doc["nodes"]] == ["Dense", "ReLU"] * 3 + ["Dense", "Softmax"]
    assert doc["total_parameters"] == 16 * 64 + 64 + 64 * 32 + 32 + 32 * 32 + 32 + 32 * 5 + 5
    assert doc["total_macs"] == 16 * 64 + 64 * 32 + 32 * 32 + 32 * 5


def test_inspect_check_agrees_with_onnxruntime(capsys):
    pytest.importorskip("onnxruntime")
    assert main(["inspect", str(EXAMPLE), "--check", "--json", "--events", "200"]) == 0
    check = json.loads(capsys.readouterr().out)["onnxruntime_check"]
    assert check["agrees"] and check["events"] == 200


@pytest.mark.parametrize("content", [None, b"not a model", b""])
def test_bad_model_files_exit_2_with_a_message(tmp_path, capsys, content):
    path = tmp_path / "m.onnx"
    if content is not None:
        path.write_bytes(content)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "m.onnx" in err and "Traceback" not in err
