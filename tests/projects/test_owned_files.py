"""Re-writing a project or CPU output: hlsforge never deletes what it did not write, refuses to
overwrite files the user changed, and swaps the tree in atomically (kills, injected failures)."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import op_zoo
import pytest

from hlsforge import cpu_backend, owned_tree
from hlsforge.errors import OutputError
from hlsforge.projects import ProjectError, read_settings, write_project

PRECISION = "ap_fixed<8,3>"


@pytest.fixture(scope="module")
def relu():
    return op_zoo.CASES["relu"]()


def _user_files(prj: Path) -> dict[Path, bytes]:
    notes = prj / "user_notes.txt"
    notes.write_text("my notes\n")
    rpt_dir = prj / "solution1" / "syn" / "report"
    rpt_dir.mkdir(parents=True)
    (rpt_dir / "myproject_csynth.rpt").write_text("== Vitis HLS Report\nLatency: 3\n")
    (prj / "firmware" / "my_extra.h").write_text("// mine\n")
    return {p: p.read_bytes() for p in (notes, rpt_dir / "myproject_csynth.rpt", prj / "firmware" / "my_extra.h")}


def _recorded(prj: Path, manifest: str) -> dict[str, str]:
    return json.loads((prj / manifest).read_text())["files"]


def _assert_complete(prj: Path, manifest: str) -> None:
    for rel, h in _recorded(prj, manifest).items():
        assert owned_tree.digest((prj / rel).read_bytes()) == h, rel


def test_rewrite_keeps_user_and_vendor_files(tmp_path, relu):
    prj = tmp_path / "prj"
    write_project(relu, PRECISION, prj, n_test_events=2)
    mine = _user_files(prj)
    write_project(relu, PRECISION, prj, n_test_events=3)
    for path, content in mine.items():
        assert path.read_bytes() == content, path
    assert read_settings(prj).n_test_events == 3
    _assert_complete(prj, "hlsforge_project.json")
    assert "user_notes.txt" not in _recorded(prj, "hlsforge_project.json")
    assert [p.name for p in tmp_path.iterdir()] == ["prj"]  # no temporary sibling left


def test_files_hlsforge_no_longer_writes_are_dropped_but_user_files_stay(tmp_path, relu):
    prj = tmp_path / "prj"
    write_project(relu, PRECISION, prj, n_test_events=2, name="first")
    (prj / "user_notes.txt").write_text("mine")
    write_project(relu, PRECISION, prj, n_test_events=2, name="second")
    assert not (prj / "first_test.cpp").exists() and (prj / "second_test.cpp").is_file()
    assert (prj / "user_notes.txt").read_text() == "mine"


def test_a_changed_hlsforge_file_makes_the_rewrite_refuse(tmp_path, relu):
    prj = tmp_path / "prj"
    write_project(relu, PRECISION, prj, n_test_events=2)
    tcl = prj / "project.tcl"
    tcl.write_text(tcl.read_text() + "# my tweak\n")
    before = {p: p.read_bytes() for p in prj.rglob("*") if p.is_file()}
    with pytest.raises(ProjectError, match=r"project\.tcl changed since hlsforge wrote it"):
        write_project(relu, PRECISION, prj, n_test_events=3)
    assert {p: p.read_bytes() for p in prj.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["prj"]


def test_a_user_file_where_hlsforge_now_writes_is_refused(tmp_path, relu):
    prj = tmp_path / "prj"
    write_project(relu, PRECISION, prj, n_test_events=2, name="first")
    (prj / "second_test.cpp").write_text("// the user's own file\n")
    with pytest.raises(ProjectError, match="second_test.cpp is not hlsforge's"):
        write_project(relu, PRECISION, prj, n_test_events=2, name="second")
    assert (prj / "second_test.cpp").read_text() == "// the user's own file\n"


def test_foreign_or_unrecorded_directories_are_refused(tmp_path, relu):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "main.cpp").write_text("int main() {}\n")
    with pytest.raises(ProjectError, match="not empty and is not an HLS project"):
        write_project(relu, PRECISION, foreign, n_test_events=2)
    with pytest.raises(OutputError, match="not empty and is not an CPU backend|not empty"):
        cpu_backend.write(relu, foreign)
    assert [p.name for p in foreign.iterdir()] == ["main.cpp"]
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "hlsforge_project.json").write_text('{"hlsforge_project": 1, "name": "x"}')
    with pytest.raises(ProjectError, match="no valid record"):
        write_project(relu, PRECISION, legacy, n_test_events=2)


def test_cpu_write_keeps_user_files_and_refuses_changed_ones(tmp_path, relu):
    out = tmp_path / "gen"
    paths = cpu_backend.write(relu, out, name="m")
    assert sorted(p.name for p in paths) == ["hlsforge_cpu.hpp", "m.hpp", "m.weights"]
    (out / "CMakeLists.txt").write_text("project(x)\n")
    cpu_backend.write(relu, out, name="m", embed_weights=True)
    assert (out / "CMakeLists.txt").read_text() == "project(x)\n"
    assert not (out / "m.weights").exists()  # ours, no longer written
    (out / "m.hpp").write_text("// edited\n")
    with pytest.raises(OutputError, match="m.hpp changed"):
        cpu_backend.write(relu, out, name="m")
    assert (out / "m.hpp").read_text() == "// edited\n"


@pytest.mark.parametrize("part", ["xcvu9p-flga2104-2-e\n", "xcvu9p\r", "xc\x00vu9p", " xcvu9p"])
def test_control_characters_in_settings_are_refused(tmp_path, relu, part):
    with pytest.raises(ProjectError, match="part"):
        write_project(relu, PRECISION, tmp_path / "x", n_test_events=2, part=part)
    with pytest.raises(ProjectError, match="uncertainty"):
        write_project(relu, PRECISION, tmp_path / "x", n_test_events=2, clock_uncertainty="12.5%\n")
    with pytest.raises(ProjectError, match="tool"):
        write_project(relu, PRECISION, tmp_path / "x", n_test_events=2, tool="vitis\n")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("where", ["exchange", "write"])
def test_an_injected_failure_leaves_the_old_project_whole(tmp_path, relu, monkeypatch, where):
    prj = tmp_path / "prj"
    write_project(relu, PRECISION, prj, n_test_events=2)
    mine = _user_files(prj)
    before = {p: p.read_bytes() for p in prj.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if where == "exchange":
        monkeypatch.setattr(owned_tree, "_swap_into_place", boom)
    else:
        monkeypatch.setattr(Path, "write_bytes", boom)
    with pytest.raises(ProjectError, match="No space left"):
        write_project(relu, PRECISION, prj, n_test_events=5)
    assert {p: p.read_bytes() for p in prj.rglob("*") if p.is_file()} == before
    assert all(p.read_bytes() == c for p, c in mine.items())
    assert [p.name for p in tmp_path.iterdir()] == ["prj"]


def test_the_two_rename_fallback_is_recovered_after_a_kill_between_renames(tmp_path, relu, monkeypatch):
    """Where renameat2 cannot exchange, a kill between the two renames leaves the old tree in a
    hidden holder; the next write puts it back before doing anything else."""
    prj = tmp_path / "prj"
    write_project(relu, PRECISION, prj, n_test_events=2)
    mine = _user_files(prj)
    monkeypatch.setattr(owned_tree, "_exchange", lambda a, b: False)
    pid = os.fork()
    if pid == 0:  # child: dies right after moving the old tree away
        real_rename = os.rename

        def rename_then_die(src, dst):
            real_rename(src, dst)
            if Path(src) == prj:
                os._exit(9)

        os.rename = rename_then_die
        try:
            write_project(relu, PRECISION, prj, n_test_events=4)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert not prj.exists()  # the window the fallback has; renameat2 closes it on Linux
    owned_tree.recover(prj, "hlsforge_project.json")
    assert read_settings(prj).n_test_events == 2
    write_project(relu, PRECISION, prj, n_test_events=4)
    assert read_settings(prj).n_test_events == 4
    assert all(p.read_bytes() == c for p, c in mine.items())
    assert [p.name for p in tmp_path.iterdir()] == ["prj"]


def _kill_trials(tmp_path: Path, graph, trials: int, seed: int) -> None:
    prj = tmp_path / "prj"
    write_project(graph, PRECISION, prj, n_test_events=2)
    mine = _user_files(prj)
    files = {rel: (prj / rel).read_bytes() for rel in _recorded(prj, "hlsforge_project.json")}
    settings = read_settings(prj).manifest()
    rng = random.Random(seed)
    deadline = time.monotonic() + 60
    for trial in range(trials):
        if time.monotonic() > deadline:
            break
        pid = os.fork()
        if pid == 0:  # child: re-write the project over and over until killed
            try:
                for i in range(10_000):
                    variant = dict(files, **{"README.md": files["README.md"] + f"{trial} {i}\n".encode()})
                    owned_tree.write_tree(prj, variant, "hlsforge_project.json", settings, error=ProjectError)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.1))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        # Whatever the moment of the kill, a complete project is at the target, user files intact.
        _assert_complete(prj, "hlsforge_project.json")
        assert all(p.read_bytes() == c for p, c in mine.items()), trial
    write_project(graph, PRECISION, prj, n_test_events=2)  # cleans what the kills left
    assert [p.name for p in tmp_path.iterdir()] == ["prj"]
    assert all(p.read_bytes() == c for p, c in mine.items())


def test_killed_writers_never_leave_the_target_without_a_project(tmp_path, relu):
    _kill_trials(tmp_path, relu, trials=15, seed=1)


@pytest.mark.slow
def test_killed_writers_many_trials(tmp_path, relu):
    _kill_trials(tmp_path, relu, trials=60, seed=2)


def test_stale_temporaries_of_a_live_process_are_left_alone(tmp_path, relu):
    prj = tmp_path / "prj"
    write_project(relu, PRECISION, prj, n_test_events=2)
    busy = tmp_path / f".prj.hlsforge-new.{os.getpid()}.abc"
    busy.mkdir()
    other = tmp_path / ".prj.something-else"
    other.mkdir()
    write_project(relu, PRECISION, prj, n_test_events=2)
    assert busy.is_dir() and other.is_dir()
    np.testing.assert_equal(sorted(p.name for p in tmp_path.iterdir()), sorted(["prj", busy.name, other.name]))


def test_a_symlinked_output_directory_is_written_through_the_link(tmp_path, relu):
    real = tmp_path / "real"
    write_project(relu, PRECISION, real, n_test_events=2)
    (real / "user_notes.txt").write_text("mine")
    link = tmp_path / "link"
    link.symlink_to(real)
    write_project(relu, PRECISION, link, n_test_events=3)
    assert link.is_symlink() and read_settings(link).n_test_events == 3
    assert (real / "user_notes.txt").read_text() == "mine"


def test_directories_that_held_only_dropped_hlsforge_files_go(tmp_path):
    out = tmp_path / "out"
    owned_tree.write_tree(out, {"a/b/x.txt": "1", "c/y.txt": "2", "d/z.txt": "3"}, "m.json", {})
    (out / "c" / "mine.txt").write_text("mine")
    (out / "e").mkdir()  # the user's own empty directory
    owned_tree.write_tree(out, {"d/z.txt": "4"}, "m.json", {})
    assert not (out / "a").exists()
    assert (out / "c" / "mine.txt").read_text() == "mine" and not (out / "c" / "y.txt").exists()
    assert (out / "e").is_dir() and (out / "d" / "z.txt").read_text() == "4"
