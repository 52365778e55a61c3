"""Shared fixtures: one torch thread (small ops; avoids oversubscribing a shared CPU).

Tests never read or fill the user's statistics cache: it is off unless a test gives a
``--cache-dir`` (commands run in subprocesses inherit the setting). Every cache, results folder
and checkpoint a test writes lies under its own ``tmp_path`` (per pytest-xdist worker too), so
``python -m pytest -n auto`` runs the suite on one worker per available core, each worker held
to a core of its own (:func:`_one_core_per_worker`).
"""

from __future__ import annotations

import os

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
