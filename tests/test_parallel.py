"""Serial, process-pool and Dask evaluation give the same search result for the same seed."""

from __future__ import annotations

import os

import numpy as np
import pytest
from pool_tasks import pool_task
from toy import toy_family

from lpzero_gp.parallel import fitness_mapper, make_mapper
from lpzero_gp.proxy import default_pset
from lpzero_gp.score.scoring import Scorer, score_stats
from lpzero_gp.search import Search, SearchConfig
from lpzero_gp.stats.store import Dataset


def _scorer() -> Scorer:
    """A scorer on ten toy architectures whose truth a planted proxy gives."""
    stats = toy_family(10)
    truth = score_stats("agg_sum(add(fro(G), l1(A)))", stats)
    return Scorer(Dataset.from_stats(stats), truth, with_tau=False)


def _search(workers: int | None = 1, dask: str | None = None, mapped=None):
    """The best proxy, its fitness and the logbook of a small seeded search; ``mapped`` is a
    ``(score_fn, map)`` pair to search with in place of :func:`fitness_mapper`'s."""
    score_fn, mapper = mapped or fitness_mapper(_scorer(), workers, dask)
    cfg = SearchConfig(population=12, offspring=12, evaluations=48, seed=7)
    state = Search(default_pset(), score_fn, cfg, mapper=mapper).run()
    return str(state.hof[0]), state.hof[0].fitness.values[0], [dict(r) for r in state.logbook]


@pytest.fixture(scope="module")
def serial():
    """The search in this process, which every other way of mapping must reproduce."""
    return _search()


def test_process_pool_matches_serial(serial):
    assert _search(workers=2) == serial


def test_dask_local_cluster_matches_serial(serial):
    pytest.importorskip("dask.distributed")
    assert _search(dask="local") == serial


def test_extraction_seed_is_independent_of_order():
    from lpzero_gp.spaces.base import arch_seed

    ids = [str(i) for i in range(20)]
    forward = {i: arch_seed(42, i) for i in ids}
    backward = {i: arch_seed(42, i) for i in reversed(ids)}
    assert forward == backward
    assert len(set(forward.values())) == len(ids)
    assert np.all([arch_seed(43, i) != forward[i] for i in ids])


def test_pool_survives_a_dying_worker(tmp_path):
    marker = tmp_path / "died"
    tasks = [("die_once", i, str(marker)) for i in range(6)]
    with pytest.warns(UserWarning, match="rebuilding the pool"):
        assert list(make_mapper(workers=2).imap(pool_task, tasks)) == [i * i for i in range(6)]
    assert marker.exists()


def test_pool_falls_back_to_this_process_when_it_breaks_twice():
    tasks = [("die_in_child", i, "") for i in range(6)]
    with pytest.warns(UserWarning) as caught:
        assert make_mapper(workers=2)(pool_task, tasks) == [i * i for i in range(6)]
    said = [str(w.message) for w in caught]
    assert any("rebuilding the pool" in s for s in said)
    assert any("continuing in this process" in s for s in said)


# -- how many workers and threads: the cores available ----------------------------------------


def _cgroup(root, files: dict[str, str]):
    """A fake cgroup file system under ``root``: ``{relative path: content}``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_available_cores_follow_the_affinity(tmp_path):
    from lpzero_gp.parallel import available_cores

    assert available_cores({0, 1, 2, 5}, tmp_path, "") == 4
    assert available_cores(set(), tmp_path, "") == 1  # never none


def test_a_cgroup_v2_quota_caps_the_cores(tmp_path):
    from lpzero_gp.parallel import available_cores, cgroup_cpus

    root = _cgroup(tmp_path, {"cpu.max": "max 100000\n", "job/cpu.max": "250000 100000\n"})
    assert cgroup_cpus(root, "0::/job\n") == 2.5
    assert available_cores(range(8), root, "0::/job\n") == 2  # rounded down
    assert available_cores(range(8), root, "0::/\n") == 8  # "max": no quota
    _cgroup(tmp_path, {"cpu.max": "50000 100000\n"})  # a parent's smaller quota wins
    assert available_cores(range(8), root, "0::/job\n") == 1
    assert available_cores(range(1), root, "0::/job\n") == 1


def test_a_cgroup_v1_quota_caps_the_cores(tmp_path):
    from lpzero_gp.parallel import available_cores, cgroup_cpus

    root = _cgroup(tmp_path, {"cpu,cpuacct/cpu.cfs_quota_us": "300000\n",
                              "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
                              "cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"})
    proc = "4:memory:/x\n3:cpu,cpuacct:/\n0::/\n"
    assert cgroup_cpus(root, proc) == 3.0
    assert available_cores(range(16), root, proc) == 3
    assert available_cores(range(2), root, proc) == 2  # the affinity is smaller


def test_unreadable_or_odd_cgroup_files_limit_nothing(tmp_path):
    from lpzero_gp.parallel import available_cores, cgroup_cpus

    root = _cgroup(tmp_path, {"cpu.max": "garbage\n", "cpu/cpu.cfs_quota_us": "12\n"})
    assert cgroup_cpus(root, "0::/../../etc\n") is None
    assert available_cores(range(4), root, "0::/\n") == 4
    assert cgroup_cpus(tmp_path / "missing", "") is None


def test_this_machine_has_at_least_one_core():
    from lpzero_gp.parallel import available_cores

    assert 1 <= available_cores() <= (os.cpu_count() or 1)


def test_automatic_workers_use_every_core_and_share_the_threads():
    from lpzero_gp.parallel import plan_workers

    auto = plan_workers(cores=8)
    assert (auto.workers, auto.threads, auto.auto) == (8, 1, True)
    assert (plan_workers(tasks=3, cores=8).workers, plan_workers(tasks=3, cores=8).threads) \
        == (3, 2)  # never more workers than models; the cores left become threads
    assert plan_workers(tasks=0, cores=8).workers == 1
    assert plan_workers(cores=8, device="cuda").workers == 1
    given = plan_workers(2, cores=8)
    assert (given.workers, given.threads, given.auto) == (2, 4, False)
    assert plan_workers(1, 3, cores=8).threads == 3  # given threads are kept
    assert plan_workers(16, tasks=5, cores=2).workers == 5
    assert "2 worker processes x 1 torch thread (2 cores" in str(plan_workers(cores=2))
    assert "in this process with 4 torch threads" in str(plan_workers(1, cores=4))


@pytest.mark.parametrize("workers", [0, 257, True, 2.0])
def test_a_bad_worker_count_is_refused(workers):
    from lpzero_gp.errors import OptionError
    from lpzero_gp.parallel import plan_workers

    with pytest.raises(OptionError, match="--workers"):
        plan_workers(workers, cores=2)


def test_a_pool_is_started_only_when_it_pays():
    from lpzero_gp.parallel import pool_pays

    assert pool_pays(1.0, 99, 2, start=4.0)  # 99 models of 1 s: 49.5 s saved
    assert not pool_pays(0.05, 20, 2, start=4.0)  # 20 tiny models: 0.5 s saved
    assert not pool_pays(10.0, 1, 2, start=4.0)
    assert not pool_pays(10.0, 9, 1, start=4.0)
    # measured here on 2 threads, a model takes 1.65 s on one: a pool of 2 saves less
    assert pool_pays(0.5, 20, 2, start=2.0) and not pool_pays(0.5, 20, 2, 2, 1, start=2.0)
    assert pool_pays(0.5, 100, 2, 2, 1, start=2.0)


def test_automatic_fitness_moves_to_a_pool_once_it_has_taken_long(monkeypatch, serial):
    """A short search stays in this process; a long one moves to a pool mid-search, with the
    same result as serial (as test_process_pool_matches_serial)."""
    import lpzero_gp.parallel as parallel

    monkeypatch.setattr(parallel, "available_cores", lambda *a, **k: 2)
    score_fn, mapper = fitness_mapper(_scorer(), None)
    assert _search(mapped=(score_fn, mapper)) == serial
    assert mapper.pool is None  # the toy search takes far less than a pool's start-up
    monkeypatch.setattr(parallel, "POOL_START_SECONDS", 1e-9)
    score_fn, mapper = fitness_mapper(_scorer(), None)
    on_pool: list[bool] = []  # per call of the search: whether the pool was running

    def watched(fn, items):
        on_pool.append(mapper.pool is not None)
        return mapper(fn, items)

    assert _search(mapped=(score_fn, watched)) == serial
    # the first call (nothing spent yet) and the second (which starts it) come before the pool
    assert on_pool[:3] == [False, False, True] and all(on_pool[2:])
    assert mapper.pool is not None
    monkeypatch.setattr(parallel, "available_cores", lambda *a, **k: 1)
    scorer = _scorer()
    assert fitness_mapper(scorer, None) == (scorer, map)


def test_a_pool_streams_its_results_and_a_dropped_pool_stops_its_workers(tmp_path):
    """The first result arrives while the last task still waits for it (no end-of-map batch);
    and a long-lived process that runs many commands keeps no idle workers (one pool)."""
    import gc
    import time

    mapper = make_mapper(workers=2)
    gate = tmp_path / "gate"
    stream = mapper.imap(pool_task, [("wait", i, str(gate)) for i in range(6)])
    first = next(stream)
    assert not gate.exists()  # task 5 is still blocked: the first result did not wait for it
    gate.touch()
    assert [first, *stream] == [i * i for i in range(6)]
    del stream
    assert mapper(pool_task, [("square", i, "") for i in range(4)]) == [0, 1, 4, 9]
    procs = list(mapper.ex._processes.values())
    assert procs and all(p.is_alive() for p in procs)
    del mapper
    gc.collect()
    deadline = time.monotonic() + 30
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(p.is_alive() for p in procs)


_ORPHAN = """
import sys, time
sys.path.insert(0, {tests!r})
from pool_tasks import pool_task
from lpzero_gp.parallel import make_mapper

pool = make_mapper(workers=2)
futures = [pool.ex.submit(pool_task, ("wait", 5, {gate!r})) for _ in range(2)]
while len(pool.ex._processes) < 2:
    time.sleep(0.05)
time.sleep(2)
print(" ".join(str(pid) for pid in pool.ex._processes), flush=True)
time.sleep(120)
"""


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is no zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_workers_exit_when_their_parent_is_killed(tmp_path):
    """A killed command leaves no worker computing for nobody (or holding its pipes)."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = _ORPHAN.format(tests=str(Path(__file__).parent), gate=str(tmp_path / "never"))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(_running(p) for p in pids)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 15
        while any(_running(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(p) for p in pids)
    finally:
        proc.kill()
        proc.communicate()
