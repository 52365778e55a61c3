"""Scoring many architectures: cached ones loaded, the others scored through a map (one
process-pool or Dask task per architecture) and cached as each one arrives."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from lpzero_gp.parallel import stream
from lpzero_gp.score.baselines.architecture import ArchScores, reason, score_architecture
from lpzero_gp.score.baselines.cache import (
    ScoresFileError,
    cache_folder,
    read_cached,
    save_cached,
)
from lpzero_gp.spaces.base import Record, Space
from lpzero_gp.stats.extract import ExtractConfig
from lpzero_gp.stats.failures import architecture_failure, damaged_line


def _task(args) -> ArchScores:
    """Process-pool task (module level, spawn-safe): score one architecture.

    An architecture the space refuses or that runs out of memory fails only its own row; any
    other exception is a bug and stops the command.
    """
    space, record, arrays, cfg, keys, threads = args
    batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
    if threads:
        torch.set_num_threads(threads)
    try:
        return score_architecture(space, record, cfg.variant, batch,
                                  cfg.semantics, cfg.seed, keys, cfg.device)
    except Exception as exc:
        if not architecture_failure(exc):
            raise
        msg = reason(exc)
        return ArchScores(record.id, dict.fromkeys(keys, float("nan")), {},
                          dict.fromkeys(keys, msg))


def _hit(folder: Path | None, arch_id: str, digest: str, keys: list[str],
         damaged: dict[str, str]) -> ArchScores | None:
    """Cached scores of one architecture holding every key in ``keys``, else None (a damaged
    entry is noted in ``damaged``)."""
    if folder is None:
        return None
    try:
        got = read_cached(folder, arch_id, digest)
    except ScoresFileError as exc:
        damaged[arch_id] = str(exc)
        return None
    return got if got is not None and all(k in got.scores for k in keys) else None


def score_many(space: Space, records: list[Record], batch: dict[str, torch.Tensor],
               cfg: ExtractConfig, keys: list[str], cache_dir: str | None = None,
               mapper=None, progress: Callable[[ArchScores], None] | None = None,
               threads: int | None = None) -> list[ArchScores]:
    """Scores of every record, in order; cached ones are loaded, new ones cached (a damaged
    cache entry is recomputed, with one warning for all of them)."""
    folder = cache_folder(cache_dir, cfg, batch) if cache_dir else None
    digests = {r.id: space.record_digest(r) for r in records} if folder is not None else {}
    out: dict[str, ArchScores] = {}
    damaged: dict[str, str] = {}
    todo = []
    for r in records:
        hit = _hit(folder, r.id, digests.get(r.id, ""), keys, damaged)
        if hit is not None:
            out[r.id] = hit
            if progress:
                progress(hit)
        else:
            todo.append(r)
    if damaged:
        warnings.warn(damaged_line("baseline score cache", folder, damaged), stacklevel=2)
    # numpy, not tensors: torch pickles every tensor into its own shared-memory file, and a
    # few hundred queued tasks then exhaust the open-file limit and stall the pool
    arrays = {k: v.detach().cpu().numpy() for k, v in batch.items()}
    tasks = [(space, r, arrays, cfg, keys, threads) for r in todo]
    for res in stream(mapper or map, _task, tasks):
        if folder is not None and len(res.errors) < len(keys):
            save_cached(folder, cfg, batch, res, digests[res.id])
        out[res.id] = res
        if progress:
            progress(res)
    return [out[r.id] for r in records]

__all__ = ["score_many"]
