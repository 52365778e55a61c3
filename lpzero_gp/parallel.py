"""Parallel maps behind ``toolbox.map``: a local spawn-safe process pool or Dask distributed.

Results never depend on the map: extraction seeds come from (seed, architecture id) and fitness
is a pure function of the proxy string, so serial, ``--workers N`` and ``--dask`` agree.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from lpzero_gp.spaces.base import SpaceError

_SCORER = None
_CLIENTS: dict[str, object] = {}


def _init_scorer(scorer) -> None:
    """Pool initializer: keep one scorer (and its memo) per worker process."""
    import torch

    global _SCORER
    torch.set_num_threads(1)
    _SCORER = scorer


def pool_score(proxy: str):
    """Score one proxy with the worker's scorer."""
    return _SCORER(proxy)


def dask_score(proxy: str, scorer):
    """Score one proxy with a scorer scattered to the Dask worker."""
    return scorer(proxy)


def dask_client(address: str):
    """A Dask client: ``local`` starts a local cluster of 2 single-threaded worker processes."""
    if address in _CLIENTS:
        return _CLIENTS[address]
    try:
        from dask.distributed import Client
        from distributed.deploy.subprocess import SubprocessCluster
    except ImportError:
        raise SpaceError("--dask needs the optional extra: pip install 'lpzero-gp[dask]'") \
            from None
    if address == "local":
        # Scheduler and workers in subprocesses: an in-process scheduler would draw from the
        # global RNG that the search uses and make results depend on timing.
        state = random.getstate()
        cluster = SubprocessCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
        random.setstate(state)
    else:
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise SpaceError(f"cannot reach Dask scheduler {address}: {exc}") from None
    atexit.register(client.close)
    _CLIENTS[address] = client
    return client


def _pool(workers: int, initializer=None, initargs=()) -> ProcessPoolExecutor:
    if workers < 1 or workers > 256:
        raise SpaceError(f"--workers {workers}: choose between 1 and 256")
    ex = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                             initializer=initializer, initargs=initargs)
    atexit.register(ex.shutdown, cancel_futures=True)
    return ex


class _ResilientPool:
    """A process-pool map that survives a dying worker: the pool is rebuilt once, and if it
    breaks again the remaining work runs in this process (results are the same either way)."""

    def __init__(self, workers: int, initializer=None, initargs=(), local=None):
        self.args = (workers, initializer, initargs)
        self.ex = _pool(*self.args)
        self.local = local
        self.rebuilt = False

    def __call__(self, fn, items):
        items = list(items)
        try:
            return list(self.ex.map(fn, items, chunksize=4))
        except BrokenProcessPool:
            print("warning: a worker process died; rebuilding the pool", file=sys.stderr)
            if not self.rebuilt:
                self.rebuilt = True
                self.ex = _pool(*self.args)
                try:
                    return list(self.ex.map(fn, items, chunksize=4))
                except BrokenProcessPool:
                    pass
            print("warning: the pool broke again; continuing in this process",
                  file=sys.stderr)
            local = self.local or fn
            return [local(x) for x in items]


def make_mapper(workers: int = 1, dask: str | None = None):
    """A ``map(fn, items)`` for extraction tasks."""
    if dask:
        client = dask_client(dask)

        def dmap(fn, items):
            state = random.getstate()
            try:
                return client.gather(client.map(fn, list(items), pure=False))
            finally:
                random.setstate(state)

        return dmap
    if workers > 1:
        return _ResilientPool(workers)
    return map


def fitness_mapper(scorer, workers: int = 1, dask: str | None = None):
    """(score_fn, map) for fitness evaluation of proxy strings."""
    if dask:
        client = dask_client(dask)
        fut = client.scatter(scorer, broadcast=True)

        def dmap(fn, items):
            # The in-process scheduler draws from Python's global RNG, which the search also
            # uses: keep the search's RNG stream untouched so results match a serial run.
            state = random.getstate()
            try:
                return client.gather(client.map(fn, list(items), scorer=fut, pure=False))
            finally:
                random.setstate(state)

        return dask_score, dmap
    if workers > 1:
        return pool_score, _ResilientPool(workers, _init_scorer, (scorer,), local=scorer)
    return scorer, map
