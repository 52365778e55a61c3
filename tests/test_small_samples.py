"""Honest small samples: a small file gets workable splits, said; impossible ones are one line.

A user benchmark is split 10 / 10 / 80 % (at least 2 each), so a file under 30 records leaves
fewer than the 3 architectures a rank correlation needs in its search and validation splits.
``run`` then searches half of the file and holds out the rest, and says so in its printed
summary and summary.json; choices that cannot work are one error naming every option to change.
Only the end-to-end run builds models (8 tiny GPT-2 decoders); the errors come before any is
built, and feature proxies (params, layers) need none.
"""

from __future__ import annotations

import json
from contextlib import nullcontext

import pytest

import lpzero_gp as lz
from lpzero_gp.cli import main
from lpzero_gp.errors import OptionError
from lpzero_gp.spaces import get_space
from lpzero_gp.workflows.optionspec import cli_spelling
from lpzero_gp.workflows.report import SMALL_SAMPLE, sample_note
from lpzero_gp.workflows.splits import MIN_ARCHS, choice_note, choose, pick, select

TINY = ["--batch-size", "2", "--seq-len", "16", "--quiet"]


@pytest.fixture(scope="module")
def gpt2():
    space = get_space("gpt2")
    return space, space.load_records(None)


def _user_file(tmp_path, gpt2, n: int):
    """The ``n`` smallest packaged GPT-2 records as a user benchmark file (small models keep a
    run on it short; what is checked is how the file is split, not which models it holds)."""
    space, records = gpt2
    smallest = sorted(records, key=lambda r: space.num_params(r, space.default_variant))[:n]
    path = tmp_path / f"smallest{n}.json"
    path.write_text(json.dumps([r.raw for r in smallest]))
    return path


@pytest.fixture
def user_file(tmp_path, gpt2):
    return _user_file(tmp_path, gpt2, 20)


@pytest.fixture
def eighteen(tmp_path, gpt2):
    return _user_file(tmp_path, gpt2, 18)


@pytest.fixture
def eight(tmp_path, gpt2):
    """A file whose even split (4 and 4) is half of it, not the fewest a run takes (3)."""
    return _user_file(tmp_path, gpt2, 8)


def test_a_split_with_too_few_architectures_names_the_option_to_change(gpt2):
    space, records = gpt2
    twenty = records[:20]
    as_written = {  # (choice, option name given, what the error says), by spelling
        cli_spelling: [  # as the command line shows it
            ("search", "--search-archs",
             r"^--search-archs search: .* leaves 2 architectures.*give --search-archs N"),
            ("validation", "--heldout", r"--heldout N .* or --heldout heldout"),
            ("2", "search_archs", r"^--search-archs 2: choose between 3 and 20"),
            ("train", "heldout", r"^--heldout: unknown split 'train'"),
        ],
        nullcontext: [  # as a Python caller wrote it
            ("search", "search_archs", r"^search_archs='search': .* give search_archs=N "),
            ("validation", "heldout", r"heldout=N .* or heldout='heldout'"),
            ("2", "--search-archs", r"^search_archs=2: choose between 3 and 20"),
        ],
    }
    for spelling, cases in as_written.items():
        with spelling():
            for choice, option, says in cases:
                with pytest.raises(OptionError, match=says):
                    pick(twenty, choice, space, False, 42, option)


def test_held_out_choices_never_hold_a_searched_architecture(gpt2):
    space, records = gpt2
    forty = records[:40]
    searched = pick(forty, "10", space, False, 42, "--search-archs")
    ids = {r.id for r in searched}
    rest = pick(forty, "heldout", space, False, 42, "--heldout", exclude=ids)
    assert len(rest) == 30 and not ids & {r.id for r in rest}  # every one not searched
    sample = pick(forty, "12", space, False, 42, "--heldout", exclude=ids, sample_seed=43)
    assert len(sample) == 12 and not ids & {r.id for r in sample}  # exactly N, none searched
    split = {r.id for r in pick(forty, "search", space, False, 42, "--search-archs")}
    valid = pick(forty, "validation", space, False, 42, "--heldout", exclude=split)
    assert {r.id for r in valid} == {r.id for r in select(forty, "validation", space, False)}
    assert len(valid) == 4  # one draw for both choices: nothing lost to overlap


def test_a_small_file_gets_workable_splits_said_in_the_summary(eight, capsys):
    """8 records: 10/10/80 % leaves 2 to search and 2 to validate; the run searches 4 and
    holds out the other 4, and says so in the printed summary and summary.json."""
    out = eight.parent / "out"
    argv = ["run", "--space", "gpt2", "--benchmark", eight, "--budget", "quick",
            "--evaluations", "10", "--out", out, *TINY]
    assert main([str(a) for a in argv]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["splits"]["chosen"] == ["search_archs", "heldout"]
    assert (summary["splits"]["search_archs"], summary["splits"]["heldout"]) == ("4", "heldout")
    assert "8-record file" in summary["splits"]["reason"]
    assert "so 4 are searched and 4 held out" in summary["splits"]["reason"]
    assert summary["search"]["n"] + len(summary["search"]["missing"]) == 4
    assert summary["heldout"]["split"] == "heldout"
    assert summary["heldout"]["n"] + len(summary["heldout"]["missing"]) == 4
    assert "note: chose --search-archs 4 and --heldout heldout: the 10/10/80 % splits of this " \
           "8-record file" in printed
    assert "give --search-archs and --heldout to choose otherwise" in printed


def test_choices_that_cannot_work_are_one_line_naming_every_option(eighteen, capsys):
    argv = ["run", "--space", "gpt2", "--benchmark", eighteen, "--out", eighteen.parent / "o",
            *TINY]
    assert main([str(a) for a in [*argv, "--search-archs", "2", "--heldout", "20"]]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --search-archs 2: choose between 3 and 18; --heldout 20: choose " \
                  "between 3 and 18"
    assert main([str(a) for a in [*argv, "--search-archs", "16"]]) == 2
    err = capsys.readouterr().err.strip()  # the held-out choice made for it cannot work either
    assert err.startswith("error: --search-archs 16 leaves 2 of the 18 architectures to hold "
                          "out") and "give --search-archs 15 or fewer" in err
    assert "--heldout heldout chosen for this 18-record file" in err
    assert not (eighteen.parent / "o").exists()


def test_the_python_api_names_the_fields(eighteen, tmp_path):
    with pytest.raises(OptionError, match=r"^search_archs=2: choose between 3 and 18; "
                                          r"heldout=20: choose between 3 and 18$"):
        lz.search_proxy(space="gpt2", benchmark=eighteen, search_archs=2, heldout=20,
                        batch_size=2, seq_len=16, quiet=True, out=tmp_path / "o")
    with pytest.raises(OptionError, match=r"^heldout='test': .* give heldout=N .* or "
                                          r"heldout='heldout'"):
        lz.search_proxy(space="gpt2", benchmark=eighteen, search_archs=16, heldout="test",
                        batch_size=2, seq_len=16, quiet=True, out=tmp_path / "o")


def test_a_file_too_small_for_any_split_says_so(gpt2, tmp_path, capsys):
    space, records = gpt2
    with pytest.raises(OptionError, match="5-record benchmark is too small for a run"):
        choose(records[:5], "search", "validation", space, False, 42)
    path = _user_file(tmp_path, gpt2, 5)
    assert main(["run", "--space", "gpt2", "--benchmark", str(path), "--out",
                 str(tmp_path / "o"), *TINY]) == 2
    assert "too small for a run" in capsys.readouterr().err


def test_only_the_defaults_are_replaced_and_only_when_too_small(gpt2):
    space, records = gpt2
    eighteen = records[:18]
    given = choose(eighteen, "8", "validation", space, False, 42)  # search given: kept
    assert len(given.search) == 8 and len(given.heldout) == 10 and given.chosen == ("heldout",)
    assert not {r.id for r in given.search} & {r.id for r in given.heldout}
    sample = choose(eighteen, "search", "5", space, False, 42)  # held-out sample kept
    assert (len(sample.search), len(sample.heldout), sample.chosen) == (9, 5, ("search_archs",))
    forty = choose(records[:40], "search", "validation", space, False, 42)  # big enough
    assert (len(forty.search), len(forty.heldout), forty.chosen) == (4, 4, ())
    assert choice_note(forty.to_json()) is None
    packaged = choose(records, "search", "validation", space, True, 42)  # stored splits
    assert (len(packaged.search), len(packaged.heldout), packaged.chosen) == (50, 25, ())
    again = choose(eighteen, "search", "validation", space, False, 42)  # same seed, same
    assert [r.id for r in again.search] == [r.id for r in choose(
        eighteen, "search", "validation", space, False, 42).search]
    assert again.to_json()["search_archs"] == "9" and MIN_ARCHS == 3
    assert {r.id for r in select(eighteen, "search", space, False)} != {
        r.id for r in again.search}


def test_small_samples_carry_an_interval_and_a_note(user_file, capsys):
    assert SMALL_SAMPLE == 20 and MIN_ARCHS == 3
    assert sample_note(SMALL_SAMPLE) is None
    assert sample_note(SMALL_SAMPLE - 1).startswith(f"small sample (n={SMALL_SAMPLE - 1})")
    argv = ["eval", "--space", "gpt2", "--benchmark", user_file, "--archs", "8", "--proxy",
            "params", "--proxy", "layers", "--quiet"]
    assert main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    assert out.count("rho 95% CI") == 2 and "note: small sample (n=8)" in out
    argv[argv.index("8")] = "all"
    assert main([str(a) for a in [*argv, "--json"]]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert all(r["n"] == 20 and r["ci"] is None and r["note"] is None for r in rows)
