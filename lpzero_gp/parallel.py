"""Parallel maps behind ``toolbox.map``: a local spawn-safe process pool or Dask distributed.

Results never depend on the map: extraction seeds come from (seed, architecture id) and fitness
is a pure function of the proxy string, so serial, ``--workers N`` and ``--dask`` agree.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import random
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from lpzero_gp.errors import OptionError, ParallelError

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
        raise ParallelError("--dask needs the optional extra: pip install 'lpzero-gp[dask]'") \
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
            raise ParallelError(f"cannot reach Dask scheduler {address}: {exc}") from None
    atexit.register(client.close)
    _CLIENTS[address] = client
    return client


def _check_workers(workers: int) -> None:
    if not 1 <= workers <= 256:
        raise OptionError(f"--workers {workers}: choose between 1 and 256")


def _pool(workers: int, initializer=None, initargs=()) -> ProcessPoolExecutor:
    ex = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                             initializer=initializer, initargs=initargs)
    atexit.register(ex.shutdown, cancel_futures=True)
    return ex


class _ResilientPool:
    """A process-pool map that survives a dying worker: the pool is rebuilt once, and if it
    breaks again the remaining work runs in this process (results are the same either way).

    An exception a task raises is not a dying worker: it propagates to the caller, with the
    worker's traceback as its ``__cause__`` (shown under ``LPZERO_GP_DEBUG=1``).
    """

    def __init__(self, workers: int, initializer=None, initargs=(), local=None,
                 chunksize: int = 4):
        self.args = (workers, initializer, initargs)
        self.ex = _pool(*self.args)
        self.local = local
        self.chunksize = chunksize
        self.rebuilt = False

    def __call__(self, fn, items):
        return list(self.imap(fn, items))

    def imap(self, fn, items):
        """Yield ``fn(item)`` in order, each as soon as it and those before it are done."""
        items = list(items)
        done = 0
        while True:
            try:
                for result in self.ex.map(fn, items[done:], chunksize=self.chunksize):
                    done += 1
                    yield result
                return
            except BrokenProcessPool:
                warnings.warn("a worker process died; rebuilding the pool", stacklevel=2)
                if self.rebuilt:
                    break
                self.rebuilt = True
                self.ex = _pool(*self.args)
        warnings.warn("the pool broke again; continuing in this process", stacklevel=2)
        local = self.local or fn
        for item in items[done:]:
            yield local(item)


class _DaskMap:
    """A map over a Dask client that leaves Python's global RNG untouched."""

    def __init__(self, client, **kwargs):
        self.client = client
        self.kwargs = kwargs

    def __call__(self, fn, items):
        return list(self.imap(fn, items))

    def imap(self, fn, items):
        """Yield results in order, each as soon as it and those before it are done."""
        state = random.getstate()
        try:
            futures = self.client.map(fn, list(items), pure=False, **self.kwargs)
        finally:
            random.setstate(state)
        for future in futures:
            state = random.getstate()
            try:
                result = future.result()
            finally:
                random.setstate(state)
            yield result


def make_mapper(workers: int = 1, dask: str | None = None):
    """A ``map(fn, items)`` for extraction tasks; its ``imap`` streams results in order."""
    if dask:
        return _DaskMap(dask_client(dask))
    _check_workers(workers)
    if workers > 1:
        return _ResilientPool(workers, chunksize=1)  # heavy tasks: balance them one by one
    return map


def stream(mapper, fn, items):
    """Results of ``mapper`` over ``items`` as they arrive (its ``imap`` if it has one)."""
    return getattr(mapper, "imap", mapper)(fn, items)


def fitness_mapper(scorer, workers: int = 1, dask: str | None = None):
    """(score_fn, map) for fitness evaluation of proxy strings."""
    if dask:
        client = dask_client(dask)
        fut = client.scatter(scorer, broadcast=True)
        return dask_score, _DaskMap(client, scorer=fut)
    _check_workers(workers)
    if workers > 1:
        return pool_score, _ResilientPool(workers, _init_scorer, (scorer,), local=scorer)
    return scorer, map

__all__ = ["fitness_mapper", "make_mapper", "stream"]
