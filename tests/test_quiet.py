"""``--quiet`` hides every progress bar a command shows, those the spaces show included."""

from __future__ import annotations

import json

import pytest

from lpzero_gp.cli import main
from lpzero_gp.spaces import progress
from lpzero_gp.spaces.hf import records as hf_records


def _hf_file(path) -> str:
    rows = [{"id": f"r{i}", "config": {"model_type": "gpt2", "n_layer": 1 + i % 2, "n_embd": 32,
                                       "n_head": 4, "vocab_size": 8192, "n_positions": 64},
             "truth": float(i)} for i in range(4)]
    path.write_text(json.dumps({"higher_is_better": True, "records": rows}))
    return str(path)


@pytest.mark.parametrize("quiet", [False, True])
def test_the_hf_reading_bar_follows_quiet(tmp_path, monkeypatch, capsys, quiet):
    monkeypatch.setattr(hf_records, "_PROGRESS_AFTER_S", 0.0)
    path = _hf_file(tmp_path / "fam.json")
    argv = ["eval", "--space", "hf", "--benchmark", path, "--proxy", "params",
            "--batch-size", "1", "--seq-len", "8", *(["--quiet"] if quiet else [])]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert ("reading fam.json" in err) is not quiet, err


def test_shown_nests_and_restores(capsys):
    with progress.shown(False):
        with progress.shown(True):  # an inner command cannot show what an outer one hides
            progress.bar(total=1, desc="inner").close()
    progress.bar(total=1, desc="after").close()
    err = capsys.readouterr().err
    assert "inner" not in err and "after" in err
