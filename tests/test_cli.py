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


def test_convert_cpu_writes_header_weights_and_kernels(tmp_path, capsys):
    out = tmp_path / "cpu"
    assert main(["convert", str(EXAMPLE), "--backend", "cpu", "-o", str(out), "--name", "jet"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"jet.hpp", "jet.weights", "hlsforge_cpu.hpp"} <= names


def test_convert_hls_then_csim_passes_and_a_corrupted_expectation_fails(tmp_path, capsys):
    config = tmp_path / "cfg.yml"
    config.write_text("model:\n  default: ap_fixed<12,5>\n  accum: auto\nlayers:\n  fc2:\n    ReuseFactor: 4\n    Strategy: Resource\n")
    out = tmp_path / "prj"
    args = ["convert", str(EXAMPLE), "--backend", "hls", "--config", str(config), "--precision", "ap_fixed<14,6>",
            "--part", "xcvu9p-flga2104-2-e", "--clock", "4", "-o", str(out)]
    assert main(args) == 0
    assert "xcvu9p-flga2104-2-e" in (out / "project.tcl").read_text()
    types = (out / "firmware" / "jet_tagger_mlp_types.h").read_text()
    assert "typedef ap_fixed<14,6> fc1_result_t;" in types  # --precision wins over the file's default
    assert "ap_fixed<12,5>" not in types
    params = (out / "firmware" / "jet_tagger_mlp_parameters.h").read_text()
    assert "reuse_factor = 4" in params  # the file's per-layer setting survives
    assert main(["csim", str(out)]) == 0
    assert "PASSED" in capsys.readouterr().out
    expected = out / "tb_data" / "tb_output_predictions.dat"
    rows = expected.read_text().splitlines()
    rows[0] = " ".join("12345" for _ in rows[0].split())
    expected.write_text("\n".join(rows) + "\n")
    assert main(["csim", str(out)]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_invalid_reuse_factor_lists_the_valid_ones(tmp_path, capsys):
    # for one layer by name: refused, listing the valid ones, nothing written
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"model": {"default": "ap_fixed<16,6>"}, "layers": {"fc1": {"ReuseFactor": 7}}}))
    args = ["convert", str(EXAMPLE), "--backend", "hls", "--config", str(cfg), "-o", str(tmp_path / "p")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "ReuseFactor 7 is not valid" in err and "valid ReuseFactors" in err
    assert not (tmp_path / "p").exists()
    # for the whole model: each layer takes its closest valid one, with a one-line warning each (as hls4ml)
    args = ["convert", str(EXAMPLE), "--backend", "hls", "--reuse-factor", "7", "-o", str(tmp_path / "q")]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "warning: " in captured.err and "using the closest valid one" in captured.err
    assert "reuse factor:" in captured.out


@pytest.mark.parametrize("backend", ["cpu", "hls"])
def test_unwritable_output_is_a_clear_error_and_writes_nothing(tmp_path, capsys, backend):
    blocker = tmp_path / "a_file"
    blocker.write_text("in the way")
    assert main(["convert", str(EXAMPLE), "--backend", backend, "-o", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "a_file" in err and "Traceback" not in err
    assert blocker.read_text() == "in the way"


@pytest.mark.parametrize("command", ["check", "calibrate", "scan", "report"])
def test_data_and_inputs_name_the_same_events_file(command: str) -> None:
    """Users move between commands: ``--data`` and ``--inputs`` are one option everywhere."""
    from hlsforge.cli import build_parser

    parser = build_parser()
    extra = {"calibrate": ["-o", "out.yml"], "report": ["-o", "r.html"],
             "scan": ["--precision", "ap_fixed<16,6>"]}.get(command, [])
    a = parser.parse_args([command, "m.onnx", "--data", "x.npy", *extra])
    b = parser.parse_args([command, "m.onnx", "--inputs", "x.npy", *extra])
    dest = "inputs" if command == "check" else "data"
    assert getattr(a, dest) == getattr(b, dest) == "x.npy"
