"""A space from outside the package runs end to end with no engine edit.

``tests/plugin`` holds a toy space (tiny causal transformers, a twelve-record benchmark with
measured truth) and a ``dist-info`` folder that installs it under the ``lpzero_gp.spaces``
entry-point group. The commands run in this process (as the other end-to-end tests run theirs)
with that folder put on the path while they run: entry points are read from the path at each
lookup, so the space is found the way an installed plugin is, and is gone again afterwards.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from lpzero_gp.cli import main

PLUGIN = Path(__file__).resolve().parent / "plugin"


def _commands(*argvs: list[str], cwd: Path) -> list[tuple[int, str, str]]:
    """Run the command lines one after another in ``cwd`` with the plugin folder on the path
    (its module forgotten afterwards unless it was imported before): ``(exit code, stdout,
    stderr)`` of each."""
    done = []
    imported = set(sys.modules)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(PLUGIN))
        mp.chdir(cwd)
        try:
            for argv in argvs:
                out, err = io.StringIO(), io.StringIO()
                with redirect_stdout(out), redirect_stderr(err):
                    code = main(argv)
                done.append((code, out.getvalue(), err.getvalue()))
        finally:
            for name in set(sys.modules) - imported:
                if name.partition(".")[0] == "toyspace":
                    del sys.modules[name]
    return done


@pytest.fixture(scope="module")
def plugin_commands(tmp_path_factory) -> tuple[Path, list[tuple[int, str, str]]]:
    """``spaces --json``, then eval, run and baselines on the toy space.

    The run reads the statistics the eval computed (one cache folder)."""
    cwd = tmp_path_factory.mktemp("plugin")
    cache = str(cwd / "cache")
    argvs = [
        ["spaces", "--json"],
        ["eval", "--space", "toy", "--proxy", "layers", "--proxy", "agg_sum(fro(W))",
         "--quiet", "--cache-dir", cache],
        ["run", "--space", "toy", "--budget", "quick", "--evaluations", "20",
         "--search-archs", "6", "--heldout", "heldout", "--out", str(cwd / "run"), "--quiet",
         "--cache-dir", cache],
        ["baselines", "--space", "toy", "--archs", "5", "--proxies", "params,snip",
         "--out", str(cwd / "base"), "--quiet"],
    ]
    return cwd, _commands(*argvs, cwd=cwd)


def test_plugin_space_is_listed(plugin_commands):
    code, out, err = plugin_commands[1][0]
    assert code == 0, err
    toy = json.loads(out)["spaces"]["toy"]
    assert toy["records"] == 12 and toy["features"] == ["params", "layers"]


def test_plugin_space_runs_eval_run_and_baselines(plugin_commands):
    cwd, (_, evaluated, ran, based) = plugin_commands
    code, out, err = evaluated
    assert code == 0, err
    assert "layers: n=12" in out and "agg_sum(fro(W)): n=12" in out

    code, _, err = ran
    assert code == 0, err
    summary = json.loads((cwd / "run" / "summary.json").read_text())
    assert summary["space"] == "toy" and summary["search"]["n"] == 6
    assert summary["heldout"]["n"] >= 3

    code, _, err = based
    assert code == 0, err
    with open(cwd / "base" / "baselines.csv", newline="") as f:
        rows = {r["key"]: r for r in csv.DictReader(f)}
    assert rows["params"]["n"] == "5" and rows["params"]["rho"] != "nan"
    assert "supplies no baseline hooks" in rows["snip"]["note"]


def test_the_plugin_is_found_only_on_its_path(plugin_commands, monkeypatch):
    """The commands found the space through its entry point; off the path it is unknown (a
    module another file imported may have left the plugin folder on this worker's path)."""
    from lpzero_gp import spaces

    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p) != PLUGIN])
    assert "toy" not in spaces.names()
    with pytest.raises(spaces.SpaceError, match="unknown space 'toy'"):
        spaces.get_space("toy")


def test_register_adds_a_space_in_process(monkeypatch):
    from lpzero_gp import spaces

    sys.path.insert(0, str(PLUGIN))
    try:
        from toyspace import ToySpace
    finally:
        sys.path.remove(str(PLUGIN))
    monkeypatch.setitem(spaces.REGISTRY, "mine", ToySpace)
    assert "mine" in spaces.names()
    assert len(spaces.get_space("mine").load_records(None)) == 12
    with pytest.raises(spaces.SpaceError, match="unknown space"):
        spaces.get_space("nope")
