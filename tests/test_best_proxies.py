"""The shipped best proxies: well formed, named, and reproduced by their stored commands."""

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
        assert {"seed", "variant", "space", "test", "validation"} <= set(entry)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["flexibert-best", "gpt2-best"])
def test_stored_command_reproduces_the_proxy(name, tmp_path, capsys):
    """Runs the full command (builds 100 / 75 models; minutes on a CPU)."""
    import json

    entry = shipped_best()[name]
    args = shlex.split(entry["command"])[1:] + ["--out", str(tmp_path / "r"), "--json",
                                               "--quiet"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["proxy"] == entry["proxy"]
