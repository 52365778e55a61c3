"""``ablate`` on a small user file chooses workable splits the way ``run`` does, and says so.

A user benchmark is split 10 / 10 / 80 % (at least 2 each), so an 18-record file leaves 2
architectures to search and 2 to validate: too few to rank. Left at their defaults, the split
options become half of the file searched and every other one held out, said in the printed
note and in ablation.json (``splits``); choices that cannot work are one error naming every
option to change (the flags on the command line, the fields in Python), before any model is
built. The file holds tiny GPT-2 and Llama decoders (the configs of the hf space's tests).
"""

from __future__ import annotations

import json

import pytest
from test_hf_space import TINY, _config, _write

from lpzero_gp.cli import main
from lpzero_gp.errors import OptionError
from lpzero_gp.workflows.ablate import run_ablate
from lpzero_gp.workflows.options import AblateOptions

#: The smallest ablation: one experiment, one seed, a dozen proxies per arm.
SMALLEST = {"experiments": ("rps",), "seeds": 1, "evaluations": 12, "population": 4,
            "offspring": 4}
SMALLEST_ARGS = ["--experiments", "rps", "--seeds", "1", "--evaluations", "12",
                 "--population", "4", "--offspring", "4"]


def _file(tmp_path, n: int):
    """``n`` tiny decoders with a made-up truth (any order will do for the plumbing)."""
    records = [{"id": f"arch{i:02d}", "config": _config(i), "truth": float(i * 7 % n)}
               for i in range(n)]
    return _write(tmp_path / f"bench{n}.json", records)


@pytest.fixture
def eighteen(tmp_path):
    return _file(tmp_path, 18)


def test_a_small_file_gets_the_splits_run_would_choose_said_in_the_note(eighteen, tmp_path,
                                                                         capsys):
    out = tmp_path / "abl"
    argv = ["ablate", "--space", "hf", "--benchmark", str(eighteen), *SMALLEST_ARGS, *TINY,
            "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    saved = json.loads((out / "ablation.json").read_text())
    assert saved["splits"]["chosen"] == ["search_archs", "heldout"]
    assert saved["splits"]["search_archs"] == "9" and saved["splits"]["heldout"] == "heldout"
    assert "18-record file" in saved["splits"]["reason"]
    assert saved["n_search"] == 9 and saved["n_validation"] == 9  # every other one held out
    assert "note: chose --search-archs 9 and --heldout heldout: the 10/10/80 % splits of " \
           "this 18-record file" in printed
    assert printed.rstrip().endswith("give --search-archs and --heldout to choose otherwise")


def test_the_python_function_records_the_same_choice_and_names_the_fields(eighteen, tmp_path):
    opts = AblateOptions(space="hf", benchmark=str(eighteen), batch_size=2, seq_len=16,
                         quiet=True, out=str(tmp_path / "py"), **SMALLEST)
    report = run_ablate(opts)
    assert report.data["splits"]["chosen"] == ["search_archs", "heldout"]
    assert "note: chose search_archs=9 and heldout='heldout'" in "\n".join(report.lines)
    bad = AblateOptions(space="hf", benchmark=str(eighteen), search_archs="2", heldout="20",
                        quiet=True, out=str(tmp_path / "bad"), **SMALLEST)
    with pytest.raises(OptionError, match=r"^search_archs=2: choose between 3 and 18; "
                                          r"heldout=20: choose between 3 and 18$"):
        run_ablate(bad)


def test_choices_that_cannot_work_are_one_line_naming_every_flag(eighteen, tmp_path, capsys):
    base = ["ablate", "--space", "hf", "--benchmark", str(eighteen), *SMALLEST_ARGS,
            "--out", str(tmp_path / "o"), "--quiet"]
    assert main([*base, "--search-archs", "2", "--heldout", "20"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --search-archs 2: choose between 3 and 18; --heldout 20: choose " \
                  "between 3 and 18"
    assert main([*base, "--search-archs", "16"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --search-archs 16 leaves 2 of the 18 architectures to hold "
                          "out") and "\n" not in err
    assert "--heldout heldout chosen for this 18-record file" in err
    assert not (tmp_path / "o").exists()


def test_a_file_too_small_for_any_split_says_so(tmp_path, capsys):
    argv = ["ablate", "--space", "hf", "--benchmark", str(_file(tmp_path, 5)), *SMALLEST_ARGS,
            "--out", str(tmp_path / "o"), "--quiet"]
    assert main(argv) == 2
    assert "5-record benchmark is too small for a run" in capsys.readouterr().err
