"""Results folders are durable and their locks cannot be turned against user files.

``AtomicFolder`` fsyncs every file in its temporary folder (those its callers wrote, plots
included), the folder and its parent before and after the rename; ``atomic_write`` fsyncs the
file and its folder. ``FolderLock`` opens its ``.<name>.lock`` without following a link and
refuses a link, a FIFO or a hard-linked file there in one line, leaving its target untouched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from cli_check import refused

from lpzero_gp.atomic import AtomicFolder, atomic_text
from lpzero_gp.errors import ResultsError
from lpzero_gp.lock import FolderLock, lock_file

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc/self/fd to name what was fsynced")


def test_results_folder_fsyncs_every_file_then_the_folder_and_its_parent(tmp_path, synced):
    out = tmp_path / "res"
    with AtomicFolder(out) as rf:
        rf.csv("scores.csv", [{"id": "a", "score": 1.0}])
        rf.json("summary.json", {"n": 1})
        rf.text("summary.md", "# x\n")
        rf.json("timing.json", {"seconds": 1.0})
        rf.path("score_vs_truth.png").write_bytes(b"\x89PNG")  # as matplotlib saves a plot
        (rf.path("sub")).mkdir()
        (rf.path("sub") / "deep.txt").write_text("x")
        partial = rf.tmp
    names = ["scores.csv", "summary.json", "summary.md", "timing.json", "score_vs_truth.png"]
    files = [partial / n for n in names] + [partial / "sub" / "deep.txt"]
    folders = [partial / "sub", partial]
    assert sorted(synced[:len(files)]) == sorted(files)  # every file first, once
    assert synced[len(files):] == [*folders, tmp_path]  # deepest folder first; parent last
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "sub"])


def test_a_file_that_cannot_be_fsynced_is_one_error_and_nothing_is_written(tmp_path,
                                                                          monkeypatch):
    def fail(fd: int) -> None:
        raise OSError(5, "Input/output error")

    out = tmp_path / "res"
    with pytest.raises(ResultsError, match="cannot write results"):
        with AtomicFolder(out) as rf:
            rf.text("summary.md", "x")
            monkeypatch.setattr(os, "fsync", fail)
    assert list(tmp_path.iterdir()) == []


def test_replacing_keeps_the_old_results_when_the_new_cannot_be_fsynced(tmp_path, monkeypatch):
    out = tmp_path / "res"
    with AtomicFolder(out) as rf:
        rf.text("summary.md", "old")
    with pytest.raises(ResultsError):
        with AtomicFolder(out, force=True) as rf:
            rf.text("summary.md", "new")
            monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "EIO")))
    assert (out / "summary.md").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["res"]


def test_atomic_write_fsyncs_the_file_and_its_folder(tmp_path, synced):
    atomic_text(tmp_path / "best.json", "{}")
    assert synced[0].parent == tmp_path and synced[0].name.startswith(".best.json.")
    assert synced[-1] == tmp_path


def _plant(tmp_path: Path, how: str) -> tuple[Path, Path]:
    """A victim file and a planted lock file of ``tmp_path/res`` (``how``: symlink, hardlink,
    fifo, folder)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("DATA\n")
    lock = lock_file(tmp_path / "res")
    {"symlink": lambda: lock.symlink_to(victim), "hardlink": lambda: os.link(victim, lock),
     "fifo": lambda: os.mkfifo(lock), "folder": lock.mkdir}[how]()
    return victim, lock


@pytest.mark.parametrize("how, fragment", [
    ("symlink", "is a symbolic link"), ("hardlink", "has other hard links"),
    ("fifo", "is not a regular file"), ("folder", "is not a regular file")])
def test_planted_lock_file_is_refused_and_its_target_kept(tmp_path, how, fragment):
    victim, lock = _plant(tmp_path, how)
    with pytest.raises(ResultsError, match=fragment) as err:
        with FolderLock(tmp_path / "res"):
            pass
    assert str(lock) in str(err.value) and "\n" not in str(err.value)
    assert victim.read_text() == "DATA\n"
    assert os.path.lexists(lock)  # left for the user to look at


def test_planted_lock_symlink_is_refused_by_eval(tmp_path, capsys):
    """The reproduction: ``eval --out lk/res`` with ``lk/.res.lock`` a link to a user file."""
    victim, _ = _plant(tmp_path, "symlink")
    refused(capsys, ["eval", "--space", "gpt2", "--archs", "3", "--proxy", "params",
                     "--out", tmp_path / "res"], "is a symbolic link", ".res.lock")
    assert victim.read_text() == "DATA\n"
    assert not (tmp_path / "res").exists()


def test_a_symlinked_lock_is_never_opened_even_if_planted_after_the_check(tmp_path,
                                                                          monkeypatch):
    """A link planted between the check and the open is refused by O_NOFOLLOW."""
    import lpzero_gp.lock as lock_module

    victim = tmp_path / "victim.txt"
    victim.write_text("DATA\n")
    lock = lock_file(tmp_path / "res")
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        if Path(path) == lock:  # nothing there yet; a link appears right after the look
            lock.symlink_to(victim)
            raise FileNotFoundError(path)
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(lock_module.os, "lstat", lstat)
    with pytest.raises(ResultsError, match="is a symbolic link"):
        with FolderLock(tmp_path / "res"):
            pass
    assert victim.read_text() == "DATA\n"


def test_lock_file_is_removed_only_when_it_is_still_ours(tmp_path):
    lock = lock_file(tmp_path / "res")
    with FolderLock(tmp_path / "res"):
        assert lock.read_text().strip() == str(os.getpid())
        lock.unlink()
        lock.write_text("someone else's\n")  # another file put there meanwhile
    assert lock.read_text() == "someone else's\n"


def test_a_results_folder_is_held_from_the_check_not_only_while_written(tmp_path):
    """A second command on the same folder is refused before it does any work; the hold ends
    with the folder object, written or not, and leaves no lock file behind."""
    import gc
    import subprocess

    out = tmp_path / "res"
    probe = ("import sys\nfrom lpzero_gp.lock import FolderLock\ntry:\n"
             "    FolderLock(sys.argv[1]).__enter__()\nexcept Exception as e:\n"
             "    print(type(e).__name__)")

    def other_process_says() -> str:
        return subprocess.run([sys.executable, "-c", probe, str(out)], capture_output=True,
                              text=True, check=True, timeout=60).stdout.strip()

    folder = AtomicFolder(out)
    assert other_process_says() == "ResultsError"
    del folder
    gc.collect()
    assert not lock_file(out).exists() and other_process_says() == ""


def test_forcing_over_a_linked_results_folder_leaves_no_link_behind(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    out = tmp_path / "res"
    out.symlink_to(target, target_is_directory=True)
    with AtomicFolder(out, force=True) as rf:
        rf.text("a.txt", "new")
    assert (out / "a.txt").read_text() == "new" and not out.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "res"]
    assert (target / "mine.txt").read_text() == "keep"


def test_force_replaces_only_a_results_folder(tmp_path, capsys):
    """A folder holding other work (data, a cache, a checkpoint folder) is never replaced,
    --force or not; a results folder is."""
    proj = tmp_path / "proj"
    (proj / "data").mkdir(parents=True)
    (proj / "data" / "a.txt").write_text("mine")
    (proj / "notes.txt").write_text("mine")
    with pytest.raises(ResultsError, match=r"holds what no lpzero-gp command writes \(data, "
                                           r"notes.txt\)"):
        AtomicFolder(proj, force=True)
    refused(capsys, ["eval", "--archs", "3", "--proxy", "params", "--out", proj, "--force"],
            "holds what no lpzero-gp command writes")
    assert (proj / "data" / "a.txt").read_text() == "mine"
    ckpt = tmp_path / ".run.checkpoint"
    ckpt.mkdir()
    (ckpt / "run.json").write_text("{}")
    with pytest.raises(ResultsError, match="checkpoint folder, not a results folder"):
        AtomicFolder(ckpt, force=True)
    res = tmp_path / "res"
    res.mkdir()
    (res / "summary.json").write_text("{}")
    with AtomicFolder(res, force=True) as rf:
        rf.text("summary.md", "new")
    assert sorted(p.name for p in res.iterdir()) == ["summary.md"]


def test_new_parents_of_a_results_folder_are_fsynced_in_theirs(tmp_path, synced):
    out = tmp_path / "m1" / "m2" / "res"
    with AtomicFolder(out) as rf:
        rf.text("summary.md", "x")
    assert tmp_path in synced and tmp_path / "m1" in synced and tmp_path / "m1" / "m2" in synced
