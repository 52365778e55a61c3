"""A space from outside the package runs end to end with no engine edit.

``tests/plugin`` holds a toy space (tiny causal transformers, a twelve-record benchmark with
measured truth) and a ``dist-info`` folder that installs it under the ``lpzero_gp.spaces``
entry-point group. The commands run in one fresh interpreter with that folder on the path.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parent / "plugin"


#: Runs the command lines handed over as JSON on stdin with ``lpzero_gp.cli.main``, one after
#: another in this one interpreter, and prints ``[exit code, stdout, stderr]`` of each as JSON.
RUNNER = """
import io, json, sys
from contextlib import redirect_stderr, redirect_stdout
from lpzero_gp.cli import main
done = []
for argv in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    done.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(done))
"""


def _commands(*argvs: list[str], cwd: Path) -> list[tuple[int, str, str]]:
    """Run the command lines in one fresh interpreter with the plugin folder on its path (one
    start-up for all of them): ``(exit code, stdout, stderr)`` of each."""
    env = {**os.environ, "PYTHONPATH": str(PLUGIN)}
    proc = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(argvs),
                          capture_output=True, text=True, timeout=600, env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return [tuple(r) for r in json.loads(proc.stdout)]


@pytest.fixture(scope="module")
def plugin_commands(tmp_path_factory) -> tuple[Path, list[tuple[int, str, str]]]:
    """``spaces --json``, then eval, run and baselines on the toy space, in one interpreter.

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
