"""The dependency floors in setup.cfg hold: the fast suite passes with every floor installed.

Slow (6 to 8 minutes on 2 cores: it builds a venv from the package index, and the floor torch
is a CUDA build of several GB on PyPI), so kept out of the default run:
``python -m pytest -m slow tests/test_floors.py``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_floors.py"


def load_script():
    spec = importlib.util.spec_from_file_location("check_floors", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_direct_dependency_has_a_floor_to_pin():
    pins = load_script().floors()
    names = {p.split("==")[0].split("[")[0] for p in pins}
    assert {"torch", "transformers", "tokenizers", "scipy", "pytest", "dask"} <= names
    assert all(p.count("==") == 1 for p in pins)


@pytest.mark.slow
def test_fast_suite_passes_at_the_floors():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=3600)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, tail
    assert "floor check passed" in proc.stdout, tail
