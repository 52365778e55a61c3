"""Shared pieces of the end-to-end tests: a command line run in this process, the files of a
results folder, a search stopped at a generation, and a script of ``scripts/`` loaded as a
module (the scripts are no package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from lpzero_gp.cli import main
from lpzero_gp.search import Search

__all__ = ["FLEXIBERT_EVALUATIONS", "FLEXIBERT_RUN", "SCRIPTS", "VARYING", "checkpoint_of", "cli",
           "interrupt_at", "load_script", "results"]

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
#: The one results file that may differ between identical runs.
VARYING = {"timing.json"}
FLEXIBERT_EVALUATIONS = 32  # 4 generations of 8 offspring
#: The session's small FlexiBERT run (tests/conftest.py ``flexibert_run``): 10 models at 2 x 16.
FLEXIBERT_RUN = ["run", "--search-archs", "6", "--heldout", "4", "--batch-size", "2",
                 "--seq-len", "16", "--population", "8", "--offspring", "8", "--evaluations",
                 str(FLEXIBERT_EVALUATIONS), "--quiet"]


def cli(*argv) -> int:
    """Run ``lpzero-gp ARGV`` in this process (paths and numbers as text); its exit code."""
    return main([str(a) for a in argv])


def results(folder: Path) -> dict[str, bytes]:
    """The files of a results folder by name, less those that may vary between twins."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name not in VARYING}


def checkpoint_of(out: Path) -> Path:
    """The checkpoint folder a run into ``out`` keeps beside it."""
    return out.parent / f".{out.name}.checkpoint"


def interrupt_at(monkeypatch, generation: int) -> None:
    """Make the search raise ``KeyboardInterrupt`` (Ctrl-C) when it starts ``generation``."""
    step = Search.step

    def interrupted(self, state):
        if state.generation == generation:
            raise KeyboardInterrupt
        return step(self, state)

    monkeypatch.setattr(Search, "step", interrupted)


def load_script(name: str) -> ModuleType:
    """``scripts/NAME.py`` imported as a module of that name."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
