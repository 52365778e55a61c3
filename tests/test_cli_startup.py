"""Start-up of the command line: no heavy import before a command runs, every command listed.

Each check runs in a fresh interpreter, since this test session has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Modules that take seconds to import; none may load for ``import lpzero_gp.cli`` or help.
HEAVY = ("torch", "numpy", "scipy", "sympy", "transformers", "deap", "matplotlib")
COMMANDS = ("ablate", "baselines", "cache", "eval", "export", "run", "spaces", "subnets")
MARK = "HEAVY-MODULES:"


def _python(code: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def _heavy_after(code: str) -> tuple[list[str], str]:
    """Heavy modules loaded after running ``code``, and what it printed before."""
    report = (f"import sys, json; print({MARK!r} + json.dumps(sorted(m for m in {HEAVY!r} "
              "if m in sys.modules)))")
    out = _python(f"{code}\n{report}").stdout
    head, _, tail = out.rpartition(MARK)
    return json.loads(tail), head


def test_import_cli_loads_no_heavy_module():
    loaded, _ = _heavy_after("import lpzero_gp.cli, sys")
    assert loaded == []


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["eval", "--help"],
                                  ["ablate", "--help"], ["subnets", "--help"],
                                  ["export", "--help"], ["spaces", "--help"]])
def test_help_loads_no_heavy_module(argv):
    code = f"from lpzero_gp.cli import main\nassert main({argv!r}) == 0"
    loaded, shown = _heavy_after(code)
    assert loaded == []
    assert "Usage: lpzero-gp" in shown


def test_help_lists_every_command():
    proc = subprocess.run([sys.executable, "-m", "lpzero_gp", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed = proc.stdout.split("Commands:", 1)[1].split()
    for name in COMMANDS:
        assert name in listed, proc.stdout


def test_group_holds_exactly_the_commands():
    from lpzero_gp.cli import cli

    assert sorted(cli.commands) == list(COMMANDS)
