"""A space from outside the package runs end to end with no engine edit.

``tests/plugin`` holds a toy space (tiny causal transformers, a twelve-record benchmark with
measured truth) and a ``dist-info`` folder that installs it under the ``lpzero_gp.spaces``
entry-point group. The commands run in a fresh interpreter with that folder on the path.
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


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PLUGIN)}
    return subprocess.run([sys.executable, "-m", "lpzero_gp", *argv], capture_output=True,
                          text=True, timeout=600, env=env, cwd=cwd)


def test_plugin_space_is_listed(tmp_path):
    proc = _cli("spaces", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    toy = json.loads(proc.stdout)["spaces"]["toy"]
    assert toy["records"] == 12 and toy["features"] == ["params", "layers"]


def test_plugin_space_runs_eval_run_and_baselines(tmp_path):
    cache = str(tmp_path / "cache")  # the run reads the statistics the eval computed
    proc = _cli("eval", "--space", "toy", "--proxy", "layers", "--proxy", "agg_sum(fro(W))",
                "--quiet", "--cache-dir", cache, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "layers: n=12" in proc.stdout and "agg_sum(fro(W)): n=12" in proc.stdout

    out = tmp_path / "run"
    proc = _cli("run", "--space", "toy", "--budget", "quick", "--evaluations", "20",
                "--search-archs", "6", "--heldout", "heldout", "--out", str(out), "--quiet",
                "--cache-dir", cache, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["space"] == "toy" and summary["search"]["n"] == 6
    assert summary["heldout"]["n"] >= 3

    out = tmp_path / "base"
    proc = _cli("baselines", "--space", "toy", "--archs", "5", "--proxies", "params,snip",
                "--out", str(out), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(out / "baselines.csv", newline="") as f:
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
