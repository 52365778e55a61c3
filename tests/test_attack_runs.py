"""Runs, checkpoints and results folders under attack: a benchmark record edited under its id
before ``--resume``, a results folder inside the statistics cache, a checkpoint folder whose
entry was never fsynced, and a symbolic link planted where the checkpoint folder goes.

The runs use the ``hf`` space on six tiny GPT-2 records (batch 2 x 16, 16 evaluations).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_check import refused
from run_check import checkpoint_of, cli, interrupt_at, results

from lpzero_gp.atomic import AtomicFolder, check_outside_cache, make_folder
from lpzero_gp.errors import ResultsError
from lpzero_gp.workflows.runstate import RUN_FILE, _start_checkpoints

#: On one pytest-xdist worker (tests/conftest.py): the module's statistics cache is filled
#: once, and the hf space's imports are paid once, not on each worker a test lands on.
pytestmark = pytest.mark.xdist_group("attack-runs")

#: Six tiny GPT-2 records (n_layer, n_embd, truth).
_SHAPES = [(1, 32, 40.0), (2, 32, 39.7), (1, 64, 37.4), (2, 64, 37.1), (3, 32, 34.8),
           (1, 48, 34.5)]
SMALL = ["--batch-size", "2", "--seq-len", "16", "--population", "8", "--offspring", "8",
         "--evaluations", "16", "--quiet"]


def _record(i: int, layers: int, width: int, truth: float) -> dict:
    return {"id": f"g{i}", "truth": truth,
            "config": {"model_type": "gpt2", "n_layer": layers, "n_embd": width, "n_head": 4,
                       "vocab_size": 50257, "n_positions": 64, "bos_token_id": 1,
                       "eos_token_id": 1}}


@pytest.fixture
def bench(tmp_path) -> Path:
    """A benchmark file of six tiny GPT-2 records for the ``hf`` space."""
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"truth_label": "ppl", "higher_is_better": False,
                                "records": [_record(i, *s) for i, s in enumerate(_SHAPES)]}))
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """The statistics cache of this file's runs."""
    return tmp_path_factory.mktemp("attack-cache")


def _edit_record(bench: Path, rid: str, **config) -> bytes:
    """Change record ``rid``'s config in place (its id and truth kept); the old file bytes."""
    before = bench.read_bytes()
    data = json.loads(before)
    for rec in data["records"]:
        if rec["id"] == rid:
            rec["config"].update(config)
    bench.write_text(json.dumps(data))
    return before


def _stopped(argv: list, out: Path, monkeypatch, capsys) -> None:
    """Run ``argv`` into ``out`` and stop it (Ctrl-C) when generation 1 starts."""
    with monkeypatch.context() as m:
        interrupt_at(m, 1)
        assert cli(*argv, "--out", out) == 130
    capsys.readouterr()
    assert (checkpoint_of(out) / "checkpoint.json").is_file() and not out.exists()


# -- F1: a record edited under its id is refused on --resume ----------------------------------


def test_resume_refuses_a_record_edited_under_its_id(bench, cache, tmp_path, monkeypatch,
                                                     capsys):
    argv = ["run", "--space", "hf", "--benchmark", bench, *SMALL, "--cache-dir", cache]
    whole = tmp_path / "whole"
    assert cli(*argv, "--out", whole) == 0
    out = tmp_path / "stopped"
    _stopped(argv, out, monkeypatch, capsys)
    original = _edit_record(bench, "g2", n_layer=4, n_embd=96)
    line = refused(capsys, ["run", "--resume", out, "--quiet"], "1 architecture(s) changed",
                   "(g2: same id")
    assert "g0" not in line and not out.exists()
    assert (checkpoint_of(out) / "checkpoint.json").is_file()  # kept: the old file resumes it
    bench.write_bytes(original)
    assert cli("run", "--resume", out, "--quiet") == 0
    assert results(out) == results(whole)  # unchanged data: the uninterrupted run's files


def test_resume_refuses_a_checkpoint_without_record_digests(bench, cache, tmp_path,
                                                           monkeypatch, capsys):
    out = tmp_path / "old"
    _stopped(["run", "--space", "hf", "--benchmark", bench, *SMALL, "--cache-dir", cache], out,
             monkeypatch, capsys)
    run_file = checkpoint_of(out) / RUN_FILE
    data = json.loads(run_file.read_text())
    del data["fingerprint"]["records"]
    run_file.write_text(json.dumps(data))
    refused(capsys, ["run", "--resume", out, "--quiet"], "no digest of its architectures")


def test_multispace_resume_refuses_a_record_edited_under_its_id(bench, cache, tmp_path,
                                                                monkeypatch, capsys):
    argv = ["run", "--space", "hf", "--space", "gpt2", "--benchmark", bench,
            "--search-archs", "3", "--heldout", "3", *SMALL, "--cache-dir", cache]
    out = tmp_path / "two"
    _stopped(argv, out, monkeypatch, capsys)
    _edit_record(bench, "g4", n_embd=96)
    refused(capsys, ["run", "--resume", out, "--quiet"], "(hf:g4: same id")


# -- F14: a results folder inside the statistics cache is refused -----------------------------


def test_results_folder_inside_the_statistics_cache_is_refused(bench, tmp_path, capsys,
                                                              monkeypatch):
    cache = tmp_path / "cache"
    evaluate = ["eval", "--space", "hf", "--benchmark", bench, "--batch-size", "2",
                "--seq-len", "16", "--proxy", "paper_gpt2", "--quiet"]
    assert cli(*evaluate, "--cache-dir", cache) == 0
    (config,) = [p for p in cache.iterdir() if (p / "key.json").is_file()]
    kept = {p.name: p.read_bytes() for p in config.iterdir()}
    for out in (config, cache, cache / "results", config / "deeper"):
        refused(capsys, [*evaluate, "--cache-dir", cache, "--out", out, "--force"],
                "the statistics cache folder")
    assert {p.name: p.read_bytes() for p in config.iterdir()} == kept
    assert not (cache / "results").exists()
    # the cache of $LPZERO_GP_CACHE_DIR too, reached through a link
    link = tmp_path / "link"
    link.symlink_to(cache)
    monkeypatch.setenv("LPZERO_GP_CACHE_DIR", str(cache))
    monkeypatch.delenv("LPZERO_GP_NO_CACHE")
    refused(capsys, [*evaluate, "--out", link / "x"], "is inside the statistics cache")
    refused(capsys, ["run", "--space", "hf", "--benchmark", bench, *SMALL, "--out",
                     link / "run"], "is inside the statistics cache")
    assert not (cache / "x").exists() and not (cache / "run").exists()
    assert not (cache / ".run.checkpoint").exists()


def test_results_folder_beside_the_cache_is_written(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    check_outside_cache(tmp_path / "cache2", cache)  # a name that only starts the same
    check_outside_cache(cache / "x", None)  # no cache: nothing to protect
    with pytest.raises(ResultsError, match="is the statistics cache folder"):
        AtomicFolder(cache, force=True, cache=cache)


# -- F16: a new checkpoint folder is fsynced in its parent ------------------------------------


def test_new_checkpoint_folder_is_fsynced_in_its_parent(tmp_path, synced):
    ckpt = tmp_path / "runs" / ".out.checkpoint"
    _start_checkpoints(ckpt, {"format": 1})
    assert (ckpt / RUN_FILE).is_file()
    assert tmp_path / "runs" in synced and tmp_path in synced  # both new entries are on disk


def test_make_folder_fsyncs_the_parent_of_each_folder_it_makes(tmp_path, synced):
    make_folder(tmp_path / "a" / "b")
    assert synced == [tmp_path / "a", tmp_path]
    synced.clear()
    make_folder(tmp_path / "a" / "b")  # nothing made, nothing synced
    assert synced == []


# -- F11: a symbolic link planted at the checkpoint folder ------------------------------------


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_symlinked_checkpoint_folder_is_named_and_its_target_kept(bench, tmp_path, capsys,
                                                                   force):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    out = tmp_path / "R6"
    checkpoint_of(out).symlink_to(victim)
    refused(capsys, ["run", "--space", "hf", "--benchmark", bench, *SMALL, "--out", out,
                     *force], f"checkpoint folder {checkpoint_of(out)} is a symbolic link",
            "remove the link")
    assert (victim / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]
    assert checkpoint_of(out).is_symlink() and not out.exists()


def test_file_at_the_checkpoint_folder_is_named(tmp_path):
    from lpzero_gp.errors import CheckpointError

    ckpt = tmp_path / ".out.checkpoint"
    ckpt.write_text("not a folder")
    with pytest.raises(CheckpointError, match="exists and is not a folder"):
        _start_checkpoints(ckpt, {"format": 1})
    assert ckpt.read_text() == "not a folder"
