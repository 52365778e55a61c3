"""Expected failures of one architecture are skipped with one line; anything else stops.

A space refusing an architecture (SpaceError) or an architecture running out of memory is that
architecture's failure alone: ``run``/``eval`` skip it with one warning and ``baselines`` give it
a failed row. A bug, in a plugin space's ``collect`` for one, stops the command with exit code 1,
and ``LPZERO_GP_DEBUG=1`` shows its traceback, from a worker process too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from faulty_space import (
    BUGGY,
    NO_MEMORY,
    NO_TORCH_MEMORY,
    REFUSED,
    BuggyCountSpace,
    BuggySpace,
    RefusingCountSpace,
    RefusingSpace,
)

from lpzero_gp import spaces
from lpzero_gp.cli import main
from lpzero_gp.errors import OptionError, SpaceError
from lpzero_gp.score.baselines import ArchScores, score_many
from lpzero_gp.score.baselines.architecture import _Sheet
from lpzero_gp.score.baselines.tasks import _task
from lpzero_gp.stats.calibration import space_batch
from lpzero_gp.stats.extract import ExtractConfig
from lpzero_gp.stats.failures import architecture_failure

TESTS = Path(__file__).resolve().parent
EVAL = ["eval", "--proxy", "agg_sum(fro(W))", "--proxy", "layers", "--quiet"]


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    monkeypatch.setitem(spaces.REGISTRY, "buggy", BuggySpace)
    monkeypatch.setitem(spaces.REGISTRY, "refusing", RefusingSpace)
    monkeypatch.delenv("LPZERO_GP_DEBUG", raising=False)


def _error_lines(capsys) -> list[str]:
    return [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def test_which_failures_are_an_architectures_own():
    assert architecture_failure(SpaceError("record x: cannot be built"))
    assert architecture_failure(MemoryError())
    assert architecture_failure(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    assert architecture_failure(RuntimeError("DefaultCPUAllocator: can't allocate memory"))
    assert architecture_failure(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"))
    for bug in (KeyError("x"), RuntimeError("shape mismatch"), TypeError("x"),
                OptionError("a user error, not an architecture's")):
        assert not architecture_failure(bug)


# -- run and eval --------------------------------------------------------------------------------


def test_a_bug_in_collect_stops_eval_with_exit_1(capsys):
    assert main([*EVAL, "--space", "buggy"]) == 1
    lines = _error_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: internal error (KeyError")
    assert "KeyError: 'H'" in lines[0] and "LPZERO_GP_DEBUG=1" in lines[0]


def test_a_bug_in_collect_stops_run_with_exit_1(capsys, tmp_path):
    """The buggy architecture is held out: the bug shows after the search (one generation)."""
    out = tmp_path / "run"
    code = main(["run", "--space", "buggy", "--population", "8", "--offspring", "8",
                 "--evaluations", "8", "--search-archs", "6", "--heldout", "heldout",
                 "--out", str(out), "--quiet"])
    assert code == 1 and "internal error (KeyError" in capsys.readouterr().err
    assert not out.exists()


def test_a_bug_in_a_worker_raises_with_its_traceback_under_debug(monkeypatch):
    monkeypatch.setenv("LPZERO_GP_DEBUG", "1")
    with pytest.raises(KeyError) as caught:
        main([*EVAL, "--space", "buggy", "--workers", "2"])
    remote = str(caught.value.__cause__)  # the worker's traceback, as the pool passes it on
    assert "faulty_space.py" in remote and "collect" in remote


def test_the_command_line_prints_the_traceback_under_debug(tmp_path):
    code = ("import sys; from lpzero_gp import spaces; from lpzero_gp.cli import main; "
            "spaces.register('buggy', 'faulty_space:BuggySpace'); "
            "sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "LPZERO_GP_DEBUG": "1",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code, *EVAL, "--space", "buggy"],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "KeyError: 'H'" in proc.stderr
    assert "in collect" in proc.stderr


def test_refused_architectures_are_skipped_with_one_line(capsys):
    assert main([*EVAL, "--space", "refusing", "--json"]) == 0
    out, err = capsys.readouterr()
    warned = [ln for ln in err.splitlines() if "skipped" in ln]
    assert len(warned) == 1 and warned[0].startswith("warning: 3 architectures skipped: ")
    assert "SpaceError: record toy-1-32-64: too wide" in warned[0]
    report = json.loads(out)
    assert sorted(report["missing"]) == sorted([REFUSED, NO_MEMORY, NO_TORCH_MEMORY])
    assert [r["n"] for r in report["results"]] == [9, 9]


# -- baselines -----------------------------------------------------------------------------------


def _score(space, keys, cfg=None, **kw) -> list[ArchScores]:
    records = space.load_records()
    cfg = cfg or ExtractConfig(space.name, "default")
    return score_many(space, records, space_batch(space.calibration, 2, 8), cfg, keys, **kw)


def test_baselines_stop_on_a_bug():
    with pytest.raises(KeyError, match="depth"):
        _score(BuggyCountSpace(), ["params", "layers"])


def test_baselines_give_a_refused_architecture_a_failed_row():
    rows = {r.id: r for r in _score(RefusingCountSpace(), ["params", "layers"])}
    refused = "record toy-1-32-64: too wide for this space"
    assert rows[REFUSED].errors == {"params": refused, "layers": refused}
    assert rows[NO_MEMORY].errors == {"params": "MemoryError", "layers": "MemoryError"}
    assert not any(r.errors for i, r in rows.items() if i not in (REFUSED, NO_MEMORY))


def test_a_failing_architecture_fails_its_row_and_a_bug_propagates():
    space = RefusingSpace()
    record = space.load_records()[0]
    arrays = {k: v.numpy() for k, v in space_batch(space.calibration, 2, 8).items()}
    bogus = ExtractConfig(space.name, "default", semantics="bogus")
    row = _task((space, record, arrays, bogus, ["params"], None))
    assert "unknown semantics" in row.errors["params"]
    sheet = _Sheet()
    sheet.put("params", lambda: float("inf"), 0.0)
    assert "non-finite" in sheet.errors["params"]
    with pytest.raises(ZeroDivisionError):
        sheet.put("layers", lambda: 1 / 0, 0.0)
    assert BUGGY in {r.id for r in space.load_records()}  # the bugs do show
