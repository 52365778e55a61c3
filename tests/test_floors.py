"""The dependency floors in setup.cfg hold: the fast suite passes with every floor installed.

Slow (6 to 8 minutes on 2 cores: it builds a venv from the package index, and the floor torch
is a CUDA build of several GB on PyPI), so kept out of the default run:
``python -m pytest -m slow tests/test_floors.py``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from run_check import SCRIPTS, load_script


def test_every_direct_dependency_has_a_floor_to_pin():
    pins = load_script("check_floors").floors()
    names = {p.split("==")[0].split("[")[0] for p in pins}
    assert {"torch", "transformers", "tokenizers", "scipy", "pytest", "dask"} <= names
    assert all(p.count("==") == 1 for p in pins)


@pytest.mark.slow
def test_fast_suite_passes_at_the_floors():
    proc = subprocess.run([sys.executable, str(SCRIPTS / "check_floors.py")],
                          capture_output=True, text=True, timeout=3600)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, tail
    assert "floor check passed" in proc.stdout, tail
