"""Statistics extraction: build each architecture once, one forward/backward, compact, cache.

Model initialisation depends only on (run seed, architecture id), never on evaluation order or
worker count, so serial, process-pool and Dask extraction give identical statistics. By default
the models are spread over one worker process per available core
(:func:`~lpzero_gp.parallel.plan_workers`), once the first model shows that a pool pays.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from lpzero_gp.parallel import (
    WorkerPlan,
    available_cores,
    make_mapper,
    plan_workers,
    pool_pays,
    stream,
)
from lpzero_gp.spaces.base import Record, Space
from lpzero_gp.spaces.progress import bar as progress_bar
from lpzero_gp.stats.cache import write_key
from lpzero_gp.stats.failures import (
    architecture_failure,
    damaged_line,
    failure_line,
    skipped_line,
)
from lpzero_gp.stats.store import (
    DEFAULT_BUDGET,
    STATS_SUFFIX,
    ArchStats,
    StatsFileError,
    compact,
    read_stats,
    save_stats,
)
from lpzero_gp.versions import __version__


@dataclass(frozen=True)
class ExtractConfig:
    """Everything that decides the statistics of an architecture."""

    space: str
    variant: str
    semantics: str = "intended"
    seed: int = 42
    budget: int = DEFAULT_BUDGET
    device: str = "cpu"
    #: The space's constructor options as canonical text ("" for none).
    space_options: str = ""
    #: The space's model-code version (``Space.code_version``; the :class:`Extractor` fills
    #: it in from its space).
    code_version: str = ""


def batch_digest(batch: dict[str, torch.Tensor]) -> str:
    """Content hash of a calibration batch."""
    h = hashlib.sha256()
    for k in sorted(batch):
        h.update(k.encode())
        h.update(batch[k].cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def cache_key(cfg: ExtractConfig, batch: dict[str, torch.Tensor], **extra: object) -> dict:
    """What decides a cache sub-folder's contents: the config (the space's code version
    included), the batch, the lpzero-gp version. Each record's own part is its entry's name
    (:func:`entry_name`)."""
    return {**asdict(cfg), "batch": batch_digest(batch), "v": __version__, **extra}


def cache_folder(root: str | Path, cfg: ExtractConfig, batch: dict[str, torch.Tensor],
                 **extra: object) -> Path:
    """Cache sub-folder for one (config, batch) combination (``extra``: more key parts)."""
    key = json.dumps(cache_key(cfg, batch, **extra), sort_keys=True)
    return Path(root) / hashlib.sha256(key.encode()).hexdigest()[:20]


def entry_name(arch_id: str, record_digest: str) -> str:
    """File stem of one record's entry in a configuration folder: a hash of its id and its
    :meth:`~lpzero_gp.spaces.base.Space.record_digest`, so a record edited under the same id
    has another entry (and the old one still serves the old record)."""
    return hashlib.sha256(f"{arch_id}\0{record_digest}".encode()).hexdigest()[:20]


def extract_one(space: Space, record: Record, batch: dict[str, torch.Tensor],
                cfg: ExtractConfig) -> ArchStats:
    """Build, run and compact one architecture."""
    t0 = time.perf_counter()
    seed = space.model_seed(cfg.seed, record.id)
    model = space.build(record, cfg.variant, seed)
    device = torch.device(cfg.device)
    model.to(device)
    t1 = time.perf_counter()
    dev_batch = {k: v.to(device) for k, v in batch.items()}
    torch.manual_seed(seed)
    raw = space.collect(model, dev_batch, cfg.semantics)
    del model
    stats = compact(raw, budget=cfg.budget, seed=seed)
    stats.seconds = {"build": t1 - t0, "statistics": time.perf_counter() - t1}
    return stats


def _attempt(space: Space, record: Record, batch: dict[str, torch.Tensor],
             cfg: ExtractConfig) -> tuple[str, ArchStats | None, str, float]:
    """(id, statistics or None, error line, seconds).

    An architecture the space refuses or that runs out of memory is this record's failure
    alone (None and one line); any other exception is a bug and stops the command.
    """
    t0 = time.perf_counter()
    try:
        stats = extract_one(space, record, batch, cfg)
    except Exception as exc:
        if not architecture_failure(exc):
            raise
        return record.id, None, failure_line(exc), 0.0
    return record.id, stats, "", time.perf_counter() - t0


def _worker(args) -> tuple[str, ArchStats | None, str, float]:
    """Process-pool / Dask task: extract one architecture (spawn-safe, module level) with the
    worker's share of torch threads."""
    space, record, batch, cfg, threads = args
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    arch_id, stats, error, seconds = _attempt(space, record, batch, cfg)
    return arch_id, _to_wire(stats), error, seconds


def _to_wire(stats: ArchStats | None):
    """``stats`` with NumPy arrays for tensors, so a worker's result is pickled by value: a
    tensor would cross as a shared-memory handle, one file descriptor each, and a model with
    hundreds of statistic tensors exhausts the parent's descriptors."""
    if stats is None:
        return None
    inputs = {k: [(b, t.numpy(), n) for b, t, n in v] for k, v in stats.inputs.items()}
    return replace(stats, inputs=inputs)


def _from_wire(result):
    """A worker's result (:func:`_worker`) with its arrays as tensors again (the same bytes)."""
    arch_id, stats, error, seconds = result
    if stats is not None:
        stats = replace(stats, inputs={k: [(b, torch.from_numpy(a), n) for b, a, n in v]
                                       for k, v in stats.inputs.items()})
    return arch_id, stats, error, seconds


class Extractor:
    """Extracts (or loads from ``cache_dir``) the statistics of many architectures.

    An entry is found by its configuration folder (:func:`cache_folder`: the run's settings,
    the space's code version, the batch) and its name (:func:`entry_name`: the record's id
    and digest). Each cached file carries its content digest and the key (configuration
    folder, architecture id, record digest) it belongs to; a damaged, swapped or edited file,
    or a folder in its place, is recomputed with a warning, never used. ``built`` and
    ``loaded`` count the models built and the entries read from the cache.

    Models are built through ``mapper`` when one is given (Dask, or a pool of the caller's);
    else ``workers`` (None: automatic) and ``threads`` (None: the cores shared among the
    workers) decide (:func:`~lpzero_gp.parallel.plan_workers`). An automatic count builds the
    first model here and starts a pool for the rest only when their expected time saves more
    than the pool costs to start (:func:`~lpzero_gp.parallel.pool_pays`); ``plan`` is how the
    largest batch of models was built.
    """

    def __init__(self, space: Space, cfg: ExtractConfig, batch: dict[str, torch.Tensor],
                 cache_dir: str | Path | None = None, mapper=None, progress: bool = True,
                 workers: int | None = 1, threads: int | None = None):
        self.space = space
        self.cfg = replace(cfg, code_version=space.code_version)
        self.batch = batch
        self.cache = cache_folder(Path(cache_dir), self.cfg, batch) if cache_dir else None
        self.damaged: dict[str, str] = {}
        self.mapper = mapper
        self.progress = progress
        self.failures: dict[str, str] = {}
        self.seconds: dict[str, float] = {}
        self.built = 0
        self.loaded = 0
        self.workers = workers
        self.threads = threads
        #: How the largest batch of models was built (None: none built yet).
        self.plan: WorkerPlan | None = None
        self._pool = None
        self._pool_plan: WorkerPlan | None = None
        self._planned = 0
        self._memory: dict[str, ArchStats] = {}
        #: Record digest of each id in memory (an edited record is not served from memory).
        self._digests: dict[str, str] = {}

    def stats(self, records: list[Record], label: str = "extracting") -> list[ArchStats | None]:
        """Statistics per record, in order (None for a record that failed)."""
        out: dict[str, ArchStats | None] = {}
        todo = []
        digests = {r.id: self.space.record_digest(r) for r in records}
        for r in records:
            if r.id in self._memory and self._digests.get(r.id) == digests[r.id]:
                out[r.id] = self._memory[r.id]
                continue
            cached = self._cached(r.id, digests[r.id])
            if cached is not None:
                out[r.id] = cached
                self.loaded += 1
            else:
                todo.append(r)
        self._warn_damaged([r.id for r in todo if r.id in self.damaged])
        tasks = [(self.space, r, self.batch, self.cfg) for r in todo]
        failed = []
        for rid, st, err, secs in self._map(tasks, label):  # saved as each one arrives
            if st is None:
                self.failures[rid] = err
                failed.append(rid)
            else:
                self.built += 1
                self.seconds[rid] = secs
                if self.cache:
                    write_key(self.cache, cache_key(self.cfg, self.batch))
                    save_stats(st, self._path(rid, digests[rid]), self._key(rid, digests[rid]))
            out[rid] = st
        if failed:
            warnings.warn(skipped_line({rid: self.failures[rid] for rid in failed}),
                          stacklevel=2)
        for rid, st in out.items():
            if st is not None:
                self._memory[rid] = st
                self._digests[rid] = digests[rid]
        return [out[r.id] for r in records]

    def pending(self, records: list[Record]) -> list[Record]:
        """The records :meth:`stats` would build a model for: neither in memory nor with an
        entry in the cache (read-only: an entry is only looked for, and a damaged one is found,
        and rebuilt, when :meth:`stats` reads it)."""
        out = []
        for r in records:
            digest = self.space.record_digest(r)
            if r.id in self._memory and self._digests.get(r.id) == digest:
                continue
            if self.cache is None or not self._path(r.id, digest).is_file():
                out.append(r)
        return out

    def cost_seconds(self, ids: list[str]) -> dict:
        """Median measured seconds per architecture among ``ids`` (in memory, with timings):
        ``build`` (all a weights-only proxy needs) and ``statistics`` (forward, backward and
        compaction on top), with the number ``n`` of architectures they come from."""
        import statistics

        timed = [st.seconds for i in ids if (st := self._memory.get(i)) is not None
                 and {"build", "statistics"} <= st.seconds.keys()]
        if not timed:
            return {"n": 0}
        return {"n": len(timed), "build": statistics.median(t["build"] for t in timed),
                "statistics": statistics.median(t["statistics"] for t in timed)}

    def _key(self, arch_id: str, digest: str) -> str:
        """The key a cached file must carry: its configuration folder, architecture and record
        digest."""
        return f"{self.cache.name}/{arch_id}/{digest}"

    def _path(self, arch_id: str, digest: str) -> Path:
        """The cache file of one record."""
        return self.cache / f"{entry_name(arch_id, digest)}{STATS_SUFFIX}"

    def _cached(self, arch_id: str, digest: str) -> ArchStats | None:
        """The cached statistics of ``arch_id``; a damaged entry is reported and recomputed."""
        if self.cache is None:
            return None
        try:
            return read_stats(self._path(arch_id, digest), self._key(arch_id, digest))
        except StatsFileError as exc:
            self.damaged[arch_id] = str(exc)
            return None

    def _warn_damaged(self, ids: list[str]) -> None:
        """One warning for the damaged cache entries met by one :meth:`stats` call."""
        if ids:
            warnings.warn(damaged_line("statistics cache", self.cache,
                                       {i: self.damaged[i] for i in ids}), stacklevel=3)

    def planned(self, n_models: int) -> WorkerPlan:
        """Worker processes and torch threads for building ``n_models`` models (before the
        first one shows whether an automatic pool pays)."""
        if self.mapper is not None:
            return WorkerPlan(self.workers or 1, self.threads or 1, available_cores(),
                              self.workers is None, dask=getattr(self.mapper, "dask", False))
        return plan_workers(self.workers, self.threads, n_models, device=self.cfg.device)

    def _map(self, tasks, label):
        """Yield (id, stats or None, error, seconds) per task, in order.

        Statistics do not depend on the number of torch threads or processes (tested,
        tests/test_workers_default.py): the models and their row samples are seeded per
        architecture.
        """
        if not tasks:
            return
        plan = self.planned(len(tasks))
        bar = progress_bar(total=len(tasks), desc=label, disable=not self.progress)
        threads = torch.get_num_threads()
        try:
            for result in self._results(tasks, plan):
                bar.update(1)
                yield result
        finally:
            torch.set_num_threads(threads)
            bar.close()

    def _results(self, tasks, plan: WorkerPlan):
        """The tasks' results in order: through the given mapper, a pool, or here."""
        local = WorkerPlan(1, self.threads or plan.cores, plan.cores, plan.auto)
        if self.mapper is not None:
            self._note(plan, len(tasks))
            for result in stream(self.mapper, _worker, [(*t, plan.threads) for t in tasks]):
                yield _from_wire(result)
            return
        done = 0
        if plan.workers > 1 and self._pool is None and plan.auto:
            # an automatic pool must pay: the first model, built here, tells how long one takes
            torch.set_num_threads(local.threads)
            first = _attempt(self.space, *tasks[0][1:])
            done = 1
            yield first
            rest = len(tasks) - 1
            plan = plan_workers(None, self.threads, rest, plan.cores, self.cfg.device)
            if not pool_pays(first[3], rest, plan.workers, local.threads, plan.threads):
                plan = local
        if plan.workers > 1 or (self._pool is not None and len(tasks) - done > 1):
            if self._pool is None:
                self._pool = make_mapper(plan.workers)
                self._pool_plan = plan
            self._note(self._pool_plan, len(tasks))
            rest = [(*t, self._pool_plan.threads) for t in tasks[done:]]
            for result in stream(self._pool, _worker, rest):
                yield _from_wire(result)
            return
        self._note(local, len(tasks))
        torch.set_num_threads(local.threads)
        for task in tasks[done:]:
            yield _attempt(self.space, *task[1:])

    def _note(self, plan: WorkerPlan, n_models: int) -> None:
        """Keep ``plan`` as :attr:`plan` when it builds the most models so far."""
        if n_models >= self._planned:
            self.plan, self._planned = plan, n_models

__all__ = ["ExtractConfig", "Extractor", "batch_digest", "cache_folder", "cache_key", "entry_name",
           "extract_one"]
