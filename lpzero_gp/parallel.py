"""Parallel maps behind ``toolbox.map``: a local spawn-safe process pool or Dask distributed.

Results never depend on the map: extraction seeds come from (seed, architecture id) and fitness
is a pure function of the proxy string, so serial, ``--workers N`` and ``--dask`` agree.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import random
import socket
import struct
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from lpzero_gp.errors import OptionError, ParallelError

_SCORER = None
_CLIENTS: dict[str, object] = {}
#: Seconds the handshake with a Dask scheduler may take (connect and first message).
HANDSHAKE_SECONDS = 10.0
#: Largest first message a Dask scheduler sends (its handshake is a few hundred bytes).
HANDSHAKE_BYTES = 1 << 16
#: Port of a Dask scheduler address given without one.
DASK_PORT = 8786


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
        check_scheduler(address)
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ParallelError(f"cannot reach Dask scheduler {address}: {exc}") from None
    atexit.register(client.close)
    _CLIENTS[address] = client
    return client


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a ``tcp://`` or bare ``host[:port]`` address; None for another scheme
    (tls, ucx, ...), which distributed checks itself."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        rest = address
    elif scheme != "tcp":
        return None
    rest = rest.rstrip("/")
    if rest.startswith("["):  # [::1]:8786
        host, _, port = rest[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
    if not host or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
        raise ParallelError(f"--dask {address!r}: give local or a scheduler address "
                            "such as tcp://HOST:8786")
    return host, int(port) if port else DASK_PORT


def _read(sock: socket.socket, n: int, deadline: float) -> bytes:
    """Exactly ``n`` bytes before ``deadline`` (fewer when the peer closes)."""
    data = b""
    while len(data) < n:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def check_scheduler(address: str, timeout: float = HANDSHAKE_SECONDS) -> None:
    """Check that ``address`` answers as a Dask scheduler before distributed is handed it.

    A scheduler sends its handshake first: an 8-byte length, then that many bytes that begin
    with a frame count and the frames' sizes. It is read within ``timeout`` seconds and at most
    :data:`HANDSHAKE_BYTES`, so a server that answers garbage (or nothing) is one
    ParallelError line rather than a huge allocation or a hang.
    """
    where = _host_port(address)
    if where is None:
        return
    deadline = time.monotonic() + timeout
    problem = None
    try:
        with socket.create_connection(where, timeout=timeout) as sock:
            head = _read(sock, 8, deadline)
            if len(head) < 8:
                problem = "it closed the connection without a handshake"
            else:
                (size,) = struct.unpack("<Q", head)
                if not 16 <= size <= HANDSHAKE_BYTES:
                    problem = (f"its first message claims {size:,} bytes, not a handshake "
                               f"of at most {HANDSHAKE_BYTES:,}")
                else:
                    problem = _frames_problem(_read(sock, size, deadline), size)
    except TimeoutError:
        problem = f"no handshake within {timeout:g} s"
    except OSError as exc:
        raise ParallelError(f"cannot reach Dask scheduler {address}: "
                            f"{exc.strerror or exc}") from None
    if problem:
        raise ParallelError(f"--dask {address} does not answer as a Dask scheduler ({problem}); "
                            "give the address the scheduler prints (tcp://HOST:PORT) or local")


def _frames_problem(body: bytes, size: int) -> str | None:
    """Why ``body`` is not a framed Dask message of ``size`` bytes (None: it is one)."""
    if len(body) < size:
        return "it closed the connection in the middle of its handshake"
    (frames,) = struct.unpack("<Q", body[:8])
    if not 1 <= frames <= 64 or 8 * (frames + 1) > size:
        return f"its handshake declares {frames:,} frames"
    sizes = struct.unpack(f"<{frames}Q", body[8:8 * (frames + 1)])
    if sum(sizes) > size - 8 * (frames + 1):
        return "its handshake's frames are longer than the message"
    return None


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

__all__ = ["check_scheduler", "fitness_mapper", "make_mapper", "stream"]
