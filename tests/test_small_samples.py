"""Honest small samples: too-small splits name the right option; small n carries a warning.

A user benchmark is split 10 / 10 / 80 % (at least 2 each), so 20 records leave 2 search and 2
validation architectures, too few to rank. These checks need no model: the errors come before
any is built, and feature proxies (params, layers) need none.
"""

from __future__ import annotations

import json

import pytest

from lpzero_gp.cli import main
from lpzero_gp.errors import OptionError
from lpzero_gp.spaces import get_space
from lpzero_gp.workflows.report import SMALL_SAMPLE, sample_note
from lpzero_gp.workflows.splits import MIN_ARCHS, pick, select


@pytest.fixture(scope="module")
def gpt2():
    space = get_space("gpt2")
    return space, space.load_records(None)


@pytest.fixture
def user_file(tmp_path, gpt2):
    """The first 20 packaged GPT-2 records as a user benchmark file."""
    path = tmp_path / "twenty.json"
    path.write_text(json.dumps([r.raw for r in gpt2[1][:20]]))
    return path


def test_a_split_with_too_few_architectures_names_the_option_to_change(gpt2):
    space, records = gpt2
    twenty = records[:20]
    with pytest.raises(OptionError, match=r"^--search-archs search: .* leaves 2 architectures"
                                          r".*give --search-archs N"):
        pick(twenty, "search", space, False, 42, "--search-archs")
    with pytest.raises(OptionError, match=r"--heldout N .* or --heldout heldout"):
        pick(twenty, "validation", space, False, 42, "--heldout")
    with pytest.raises(OptionError, match=r"^--search-archs 2: choose between 3 and 20"):
        pick(twenty, "2", space, False, 42, "--search-archs")
    with pytest.raises(OptionError, match=r"^--heldout: unknown split 'train'"):
        pick(twenty, "train", space, False, 42, "--heldout")


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


def test_run_on_twenty_records_names_search_archs(user_file, capsys):
    argv = ["run", "--space", "gpt2", "--benchmark", user_file, "--batch-size", "2",
            "--seq-len", "16", "--quiet", "--out", user_file.parent / "out"]
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --search-archs search:") and "--archs " not in err
    assert "20-record benchmark" in err and len(err.splitlines()) == 1
    assert main([str(a) for a in [*argv, "--search-archs", "8"]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --heldout validation:") and "--heldout heldout" in err


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
