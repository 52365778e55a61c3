"""Parallel maps behind ``toolbox.map``: a local spawn-safe process pool or Dask distributed,
and how many worker processes and torch threads the cores available here allow.

Results never depend on the map: extraction seeds come from (seed, architecture id) and fitness
is a pure function of the proxy string, so serial, ``--workers N`` and ``--dask`` agree.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing as mp
import os
import random
import socket
import struct
import threading
import time
import warnings
import weakref
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from lpzero_gp.errors import OptionError, ParallelError, one_line

_SCORER = None
_CLIENTS: dict[str, object] = {}
#: Seconds the handshake with a Dask scheduler may take (connect and first message).
HANDSHAKE_SECONDS = 10.0
#: Largest first message a Dask scheduler sends (its handshake is a few hundred bytes).
HANDSHAKE_BYTES = 1 << 16
#: Port of a Dask scheduler address given without one.
DASK_PORT = 8786
#: Seconds between a worker's checks that the process that started it is still there.
PARENT_POLL_SECONDS = 0.5
#: Where the cgroup file systems are mounted (v2 unified, or v1 controllers below it).
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The cgroup v1 folders that may hold the CPU controller.
CGROUP_V1_CPU = ("cpu", "cpu,cpuacct", "cpuacct,cpu")
#: Seconds a pool of spawned workers takes before its first result, over a model built in this
#: process: starting Python, importing torch and the space, sending the task (measured by
#: scripts/perf_breakdown.py; docs/performance.md). An automatic worker count starts a pool
#: only when the models still to build are expected to save more than this.
POOL_START_SECONDS = 3.0
#: How much each torch thread past the first speeds a model up, as a fraction of one more
#: core: FlexiBERT models run 1.78 times faster on 2 threads than on 1 (docs/performance.md).
THREAD_EFFICIENCY = 0.78


def _quota(text: str) -> float | None:
    """CPUs of a cgroup v2 ``cpu.max`` line (``QUOTA PERIOD``; ``max``: none), or None."""
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _kernel_text(path: Path) -> str:
    """The text of a small kernel file, "" when it cannot be read."""
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""


def _own_cgroups(proc_text: str) -> tuple[str, str]:
    """(v2 path, v1 cpu path) of this process from ``/proc/self/cgroup`` text ("" unknown)."""
    v2 = v1 = ""
    for line in proc_text.splitlines():
        hier, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hier == "0" and not controllers:
            v2 = path
        elif "cpu" in controllers.split(","):
            v1 = path
    return v2, v1


def _up(root: Path, own: str) -> list[Path]:
    """``root/own`` and each folder above it up to ``root`` (a limit may sit on any of them)."""
    parts = [p for p in own.strip().split("/") if p and p not in (".", "..")]
    return [root.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def cgroup_cpus(root: str | Path = CGROUP_ROOT, proc_cgroup: str | None = None
                ) -> float | None:
    """CPUs the cgroup CPU quota grants this process, None when no quota limits it.

    cgroup v2: ``cpu.max`` (``QUOTA PERIOD``, or ``max``); v1: ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us`` (quota -1: none). The process's own cgroup (from ``proc_cgroup``,
    the text of ``/proc/self/cgroup``, read when None) and every cgroup above it are looked
    at, and the smallest quota wins; a file that is missing or unreadable limits nothing.
    """
    root = Path(root)
    if proc_cgroup is None:
        proc_cgroup = _kernel_text(Path("/proc/self/cgroup"))
    v2, v1 = _own_cgroups(proc_cgroup)
    found = [_quota(_kernel_text(d / "cpu.max")) for d in _up(root, v2)]
    for name in CGROUP_V1_CPU:
        for d in _up(root / name, v1):
            quota = _kernel_text(d / "cpu.cfs_quota_us").strip()
            period = _kernel_text(d / "cpu.cfs_period_us").strip()
            found.append(_quota(f"{quota} {period}") if quota and period else None)
    limits = [q for q in found if q is not None]
    return min(limits) if limits else None


def available_cores(affinity: Iterable[int] | None = None, root: str | Path = CGROUP_ROOT,
                    proc_cgroup: str | None = None) -> int:
    """Cores this process may use: those its CPU affinity allows (``os.sched_getaffinity``,
    else ``os.cpu_count()``), fewer when a cgroup quota grants less (:func:`cgroup_cpus`,
    rounded down: a pool never outruns its quota); at least 1. ``affinity``, ``root`` and
    ``proc_cgroup`` replace what this machine says (tests)."""
    if affinity is None:
        try:
            affinity = os.sched_getaffinity(0)
        except (AttributeError, OSError):
            affinity = range(os.cpu_count() or 1)
    cores = len(set(affinity))
    quota = cgroup_cpus(root, proc_cgroup)
    if quota is not None:
        cores = min(cores, math.floor(quota))
    return max(cores, 1)


@dataclass(frozen=True)
class WorkerPlan:
    """How models are built: worker processes (1: this process), torch threads in each, the
    cores available, and whether the worker count was chosen here (``auto``) or given."""

    workers: int
    threads: int
    cores: int
    auto: bool = True
    dask: bool = False

    def __str__(self) -> str:
        threads = f"{self.threads} torch thread{'s' if self.threads > 1 else ''}"
        how = "automatic" if self.auto else "given"
        if self.dask:
            return f"on Dask, {threads} per task"
        if self.workers == 1:
            return f"in this process with {threads} ({self.cores} cores available, {how})"
        return (f"by {self.workers} worker processes x {threads} ({self.cores} cores "
                f"available, {how})")


def plan_workers(workers: int | None = None, threads: int | None = None,
                 tasks: int | None = None, cores: int | None = None,
                 device: str = "cpu") -> WorkerPlan:
    """Worker processes and torch threads for ``tasks`` models to build (None: unknown).

    ``workers`` None (automatic): one per available core (:func:`available_cores`), never
    more than there are models, 1 on a CUDA device (the device does the work). A given count is
    kept, also capped by the models. ``threads`` None: the cores shared among the workers
    (``cores // workers``, at least 1). Whether a pool is worth starting for few, small
    models is decided once one is built (:func:`pool_pays`).
    """
    cores = available_cores() if cores is None else max(int(cores), 1)
    auto = workers is None
    if auto:
        workers = cores if device == "cpu" else 1
    else:
        _check_workers(workers)
    if tasks is not None:
        workers = max(1, min(workers, tasks))
    return WorkerPlan(workers, threads or max(1, cores // workers), cores, auto)


def pool_pays(seconds: float, tasks: int, workers: int, threads_here: int = 1,
              threads_each: int = 1, start: float | None = None) -> bool:
    """Whether ``tasks`` models of about ``seconds`` each (as measured here, on
    ``threads_here`` torch threads) finish sooner on ``workers`` processes of ``threads_each``
    threads, counting the pool's start-up (:data:`POOL_START_SECONDS`). A thread adds
    :data:`THREAD_EFFICIENCY` of a core, a process a whole one."""
    start = POOL_START_SECONDS if start is None else start

    def speed(threads: int) -> float:
        return 1 + THREAD_EFFICIENCY * (threads - 1)

    if workers < 2 or tasks < 2:
        return False
    pooled = start + tasks * seconds * speed(threads_here) / (workers * speed(threads_each))
    return tasks * seconds > pooled


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
        raise ParallelError("Dask (dask=..., --dask) needs the optional extra: pip install "
                            "'lpzero-gp[dask]'") \
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
        except (OSError, TimeoutError, ValueError, TypeError, NotImplementedError) as exc:
            # tls:// without a security setting, ucx:// without its package, ...
            raise ParallelError(f"cannot reach Dask scheduler {address}: "
                                f"{one_line(exc, with_type=True)}") from None
    atexit.register(client.close)
    _CLIENTS[address] = client
    return client


#: The transports a Dask scheduler address may name (distributed's comm backends).
DASK_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a ``tcp://`` or bare ``host[:port]`` address; None for another scheme
    (tls, ucx, ...), which distributed checks itself."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        rest = address
    elif scheme not in DASK_SCHEMES:
        raise ParallelError(f"Dask address {address!r}: {scheme!r} is not a Dask transport; "
                            "give local or a scheduler address such as tcp://HOST:8786")
    elif scheme != "tcp":
        return None
    rest = rest.rstrip("/")
    if rest.startswith("["):  # [::1]:8786
        host, _, port = rest[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
    if not host or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
        raise ParallelError(f"Dask address {address!r}: give local or a scheduler address "
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
        raise ParallelError(f"Dask address {address} does not answer as a Dask scheduler "
                            f"({problem}); "
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
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
        raise OptionError(f"workers={workers!r} (--workers {workers}): choose between 1 and "
                          "256")


def _watch_parent(parent: int) -> None:
    """In a worker: exit as soon as the process that started it is gone (killed, say), so no
    worker outlives its command, computing for nobody and holding its pipes open."""
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def _start_worker(parent: int, initializer, initargs) -> None:
    """Pool initializer: watch the parent, then run the caller's initializer."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="lpzero-gp-watch-parent").start()
    if initializer is not None:
        initializer(*initargs)


def _pool(workers: int, initializer=None, initargs=()) -> ProcessPoolExecutor:
    ex = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                             initializer=_start_worker,
                             initargs=(os.getpid(), initializer, initargs))
    atexit.register(ex.shutdown, cancel_futures=True)
    return ex


def _close(ex: ProcessPoolExecutor) -> None:
    """Stop a pool whose owner is gone, without waiting, and drop its exit hook: a long-lived
    process (a notebook, a script running many commands) keeps no idle workers."""
    atexit.unregister(ex.shutdown)
    ex.shutdown(wait=False, cancel_futures=True)


class _ResilientPool:
    """A process-pool map that survives a dying worker: the pool is rebuilt once, and if it
    breaks again the remaining work runs in this process (results are the same either way).

    An exception a task raises is not a dying worker: it propagates to the caller, with the
    worker's traceback as its ``__cause__`` (shown under ``LPZERO_GP_DEBUG=1``). The workers
    stop when this object is dropped (or at exit).
    """

    def __init__(self, workers: int, initializer=None, initargs=(), local=None,
                 chunksize: int = 4):
        self.args = (workers, initializer, initargs)
        self.ex = self._start()
        self.local = local
        self.chunksize = chunksize
        self.rebuilt = False

    def _start(self) -> ProcessPoolExecutor:
        ex = _pool(*self.args)
        weakref.finalize(self, _close, ex)
        return ex

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
                self.ex = self._start()
        warnings.warn("the pool broke again; continuing in this process", stacklevel=2)
        local = self.local or fn
        for item in items[done:]:
            yield local(item)


class _DaskMap:
    """A map over a Dask client that leaves Python's global RNG untouched."""

    #: Tasks run on Dask workers, not in local processes.
    dask = True

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


def make_mapper(workers: int | None = 1, dask: str | None = None):
    """A ``map(fn, items)`` for extraction tasks; its ``imap`` streams results in order.

    ``workers`` None: one per available core (:func:`plan_workers`).
    """
    if dask:
        return _DaskMap(dask_client(dask))
    workers = plan_workers(workers).workers
    if workers > 1:
        return _ResilientPool(workers, chunksize=1)  # heavy tasks: balance them one by one
    return map


def stream(mapper, fn, items):
    """Results of ``mapper`` over ``items`` as they arrive (its ``imap`` if it has one)."""
    return getattr(mapper, "imap", mapper)(fn, items)


class _FitnessSwitch:
    """A fitness map that evaluates here until that has taken as long as a pool takes to start
    (:data:`POOL_START_SECONDS`), then on a pool of ``workers`` (a ski-rental rule: never
    more than twice the better choice's time, whatever the search's length). ``fn`` is the
    scorer itself, which the pool's workers each hold a copy of; fitness is a pure function of
    the proxy string, so the results are the same either way."""

    def __init__(self, scorer, workers: int):
        self.scorer = scorer
        self.workers = workers
        self.spent = 0.0
        self.pool: _ResilientPool | None = None

    def __call__(self, fn, items):
        items = list(items)
        if self.pool is None and self.spent < POOL_START_SECONDS:
            t0 = time.perf_counter()
            out = [fn(item) for item in items]
            self.spent += time.perf_counter() - t0
            return out
        if self.pool is None:
            self.pool = _ResilientPool(self.workers, _init_scorer, (self.scorer,),
                                       local=self.scorer)
        return self.pool(pool_score, items)


def fitness_mapper(scorer, workers: int | None = 1, dask: str | None = None):
    """(score_fn, map) for fitness evaluation of proxy strings.

    ``workers`` None (automatic): in this process while a search is short, on a pool of one
    worker per core once the evaluations have taken as long as the pool's start-up
    (:class:`_FitnessSwitch`); a given count above 1 starts its pool at once.
    """
    if dask:
        client = dask_client(dask)
        fut = client.scatter(scorer, broadcast=True)
        return dask_score, _DaskMap(client, scorer=fut)
    if workers is None:
        cores = plan_workers().workers
        return scorer, (_FitnessSwitch(scorer, cores) if cores > 1 else map)
    _check_workers(workers)
    if workers > 1:
        return pool_score, _ResilientPool(workers, _init_scorer, (scorer,), local=scorer)
    return scorer, map

__all__ = ["POOL_START_SECONDS", "THREAD_EFFICIENCY", "WorkerPlan", "available_cores",
           "cgroup_cpus", "check_scheduler", "fitness_mapper", "make_mapper", "plan_workers",
           "pool_pays", "stream"]
