"""Shared fixtures: one torch thread (small ops; avoids oversubscribing a shared CPU).

Tests never read or fill the user's statistics cache: it is off unless a test gives a
``--cache-dir`` (commands run in subprocesses inherit the setting). Every cache, results folder
and checkpoint a test writes lies under its own ``tmp_path`` or the session's temporary folder
(per pytest-xdist worker); runs that several files read are built once per session here
(``flexibert_run``, ``stats_cache``), and the tests that read one are kept on one worker
(``xdist_group``, :func:`pytest_configure`). So ``python -m pytest -n auto`` runs the suite on
one worker per available core, each worker held to a core of its own
(:func:`_one_core_per_worker`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["LPZERO_GP_NO_CACHE"] = "1"
os.environ.pop("LPZERO_GP_CACHE_DIR", None)
import torch


def _one_core_per_worker() -> None:
    """Under ``pytest -n N`` with N workers for N or more cores, hold worker ``gwK`` to core K.

    The workers then never compete for a core, and the automatic worker count of a command a
    test runs (:func:`lpzero_gp.parallel.available_cores`, inherited by its subprocesses) is
    1: no test starts a pool beside another worker's tests unless it asks for one. Tests of
    the automatic pool make the machine show 2 cores themselves (``monkeypatch``)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if not worker.startswith("gw") or count < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if count <= len(cores):
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


_one_core_per_worker()


def pytest_configure(config) -> None:
    """Under pytest-xdist's default distribution (``load``), keep the tests marked
    ``xdist_group`` together on one worker each (``loadgroup``): a module or session fixture
    they share (a run folder, a filled statistics cache) is then built once, not once per
    worker. Unmarked tests are spread as before. A worker reads its command line again, so it
    learns the mode from :func:`pytest_configure_node`."""
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        if worker.get("loadgroup"):
            config.option.loadgroup = True
    elif getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """Tell each xdist worker whether tests are sent by group (:func:`pytest_configure`)."""
    node.workerinput["loadgroup"] = node.config.getvalue("dist") == "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config) -> int | None:
    """``-n auto``: one worker per core this process may use (affinity and cgroup quota), not
    per core the machine has. ``$PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    from lpzero_gp.parallel import available_cores

    return available_cores()


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run every test module with one intra-op thread and restore the setting afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def supernet():
    """The tiny LLaMA elastic-LoRA super-network, built once per session."""
    from lpzero_gp.spaces.llama import LonasSupernet

    return LonasSupernet.build("tiny", seed=0)


@pytest.fixture(scope="session")
def flexibert_cache(tmp_path_factory) -> Path:
    """The statistics cache of the small FlexiBERT run; only its own runs write to it (the
    tests of ``tests/test_reliability.py`` count its entries)."""
    return tmp_path_factory.mktemp("flexibert-cache")


@pytest.fixture(scope="session")
def flexibert_run(tmp_path_factory, flexibert_cache) -> Path:
    """One small uninterrupted FlexiBERT run (``run_check.FLEXIBERT_RUN``), built once per
    session, its checkpoint kept. Tests read it and never write into it."""
    from run_check import FLEXIBERT_RUN, cli

    out = tmp_path_factory.mktemp("flexibert-run") / "run"
    assert cli(*FLEXIBERT_RUN, "--out", out, "--cache-dir", flexibert_cache,
               "--keep-checkpoint") == 0
    return out


@pytest.fixture(scope="session")
def stats_cache(tmp_path_factory) -> Path:
    """A statistics cache shared by the runs of every file that never counts its entries."""
    return tmp_path_factory.mktemp("stats-cache")


@pytest.fixture
def synced(monkeypatch) -> list[Path]:
    """The paths os.fsync is called on, in order (each still fsynced for real)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/fd to name what was fsynced")
    paths: list[Path] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        paths.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return paths
