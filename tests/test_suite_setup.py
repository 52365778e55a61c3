"""How the suite runs in parallel: each pytest-xdist worker on a core of its own."""

from __future__ import annotations

import os

import pytest
from conftest import _one_core_per_worker


@pytest.fixture
def affinity(monkeypatch):
    """The machine shows cores 4 and 7; the cores each call would hold the process to."""
    held: list[set[int]] = []
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {7, 4})
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cores: held.append(set(cores)))
    return held


def _as_worker(monkeypatch, worker: str | None, count: int) -> None:
    if worker is None:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    else:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(count))


def test_each_worker_is_held_to_its_own_core(monkeypatch, affinity):
    for worker in ("gw0", "gw1"):
        _as_worker(monkeypatch, worker, 2)
        _one_core_per_worker()
    assert affinity == [{4}, {7}]


@pytest.mark.parametrize(("worker", "count"), [(None, 0), ("gw0", 1), ("gw0", 3)])
def test_no_worker_or_more_workers_than_cores_keep_every_core(monkeypatch, affinity, worker,
                                                              count):
    _as_worker(monkeypatch, worker, count)
    _one_core_per_worker()
    assert affinity == []
