"""How the suite runs in parallel: each pytest-xdist worker on a core of its own, and the tests
that share a session run kept on one worker (``xdist_group``)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from conftest import _one_core_per_worker, pytest_configure, pytest_configure_node


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


def _config(dist: str, workerinput: dict | None = None) -> SimpleNamespace:
    config = SimpleNamespace(option=SimpleNamespace(dist=dist, loadgroup=False))
    config.getvalue = lambda name: getattr(config.option, name)
    if workerinput is not None:
        config.workerinput = workerinput
    return config


def test_the_default_distribution_keeps_groups_together():
    controller = _config("load")
    pytest_configure(controller)
    assert controller.option.dist == "loadgroup"
    node = SimpleNamespace(config=controller, workerinput={})
    pytest_configure_node(node)
    worker = _config("no", node.workerinput)  # a worker reads the command line again
    pytest_configure(worker)
    assert worker.option.loadgroup and worker.option.dist == "no"


@pytest.mark.parametrize("dist", ["no", "loadfile", "each"])
def test_another_distribution_is_left_as_asked(dist):
    controller = _config(dist)
    pytest_configure(controller)
    node = SimpleNamespace(config=controller, workerinput={})
    pytest_configure_node(node)
    worker = _config("no", node.workerinput)
    pytest_configure(worker)
    assert controller.option.dist == dist and not worker.option.loadgroup


def test_the_readers_of_a_shared_run_are_grouped():
    """Every test that takes a session run or cache of tests/conftest.py is in that run's
    group, so the run is built once (a missing mark costs a second build, no failure)."""
    import ast
    from pathlib import Path

    groups = {"flexibert_run": "flexibert-run", "flexibert_cache": "flexibert-run",
              "stats_cache": "stats-cache"}
    missing = []
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        module = {_group(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            marked = module | {_group(d) for d in node.decorator_list}
            for arg in node.args.args:
                if arg.arg in groups and groups[arg.arg] not in marked:
                    missing.append(f"{path.name}::{node.name} ({arg.arg})")
    assert not missing, missing


def _group(node) -> str | None:
    """The group name of an ``xdist_group("name")`` mark expression, else None."""
    import ast

    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "xdist_group":
        arg = node.args[0] if node.args else None
        return arg.value if isinstance(arg, ast.Constant) else None
    return None
