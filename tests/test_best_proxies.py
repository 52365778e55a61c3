"""The shipped best proxies: well formed, named, reproduced by their stored commands, and their
recorded scores reproduced on statistics computed afresh (no statistics are shipped: they are
computed from the models, with the recorded seed, and cached)."""

from __future__ import annotations

import shlex

import pytest

from lpzero_gp.cli import main
from lpzero_gp.proxy import parse
from lpzero_gp.proxy.named import NAMED, shipped_best


def test_shipped_best_proxies_are_named_and_parse():
    best = shipped_best()
    assert {"flexibert-best", "gpt2-best"} <= set(best)
    for name, entry in best.items():
        assert NAMED[name] == entry["proxy"]
        parse(entry["proxy"])
        assert entry["command"].startswith("lpzero-gp run ")
        if "per_space" in entry:  # one proxy searched for several spaces
            assert {"seed", "spaces", "combine", "cost"} <= set(entry)
            assert list(entry["per_space"]) == entry["spaces"]
            assert all(f"--space {s}" in entry["command"] for s in entry["spaces"])
            for figures in entry["per_space"].values():
                assert {"variant", "test", "validation", "vs_best_free", "vs_own"} <= \
                    set(figures)
        else:
            assert {"seed", "variant", "space", "test", "validation"} <= set(entry)


def _reproducible() -> list[str]:
    return [n for n, e in shipped_best().items() if e.get("reproducible", True)]


def test_a_proxy_whose_command_does_not_reproduce_says_why():
    for entry in shipped_best().values():
        assert entry.get("reproducible", True) or "provenance" in entry


@pytest.mark.slow
@pytest.mark.parametrize("name", ["flexibert-best", "gpt2-best", "llama-best"])
def test_recorded_validation_scores_reproduce(name, capsys):
    """Scores the proxy on the validation split (builds 50 / 25 models, or 30 sub-networks)."""
    import json

    entry = shipped_best()[name]
    args = ["eval", "--space", entry["space"], "--variant", entry["variant"], "--seed",
            str(entry["init_seed"]), "--archs", "validation", "--proxy", name, "--json",
            "--quiet"]
    assert main(args) == 0
    row = json.loads(capsys.readouterr().out)["results"][0]
    assert round(row["rho"], 3) == entry["validation"]["rho"]
    assert round(row["tau"], 3) == entry["validation"]["tau"]


@pytest.mark.slow
@pytest.mark.parametrize("name", _reproducible())
def test_stored_command_reproduces_the_proxy(name, tmp_path, capsys):
    """Runs the full command (builds 100 / 75 models; minutes on a CPU)."""
    import json

    entry = shipped_best()[name]
    args = shlex.split(entry["command"])[1:] + ["--out", str(tmp_path / "r"), "--json",
                                               "--quiet"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["proxy"] == entry["proxy"]
