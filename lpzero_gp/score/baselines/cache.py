"""The baseline-score cache: one JSON file per architecture, checked like statistics files.

A configuration's folder is keyed like the statistics cache's (space, variant, semantics,
seed, budget, device, calibration batch, lpzero-gp version) with the baselines' version and
this file format added. Each file holds one architecture's scores, the key it belongs to
(configuration folder, architecture id and record digest) and a SHA-256 of both; an
unreadable, damaged, edited or swapped file is recomputed with one warning, never used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from lpzero_gp.atomic import atomic_json
from lpzero_gp.errors import LpzeroError, one_line
from lpzero_gp.jsonfile import loads_json
from lpzero_gp.score.baselines.architecture import ArchScores
from lpzero_gp.score.baselines.catalog import BASELINES_VERSION
from lpzero_gp.stats.cache import BASELINES as CACHE_SUBFOLDER
from lpzero_gp.stats.cache import write_key
from lpzero_gp.stats.extract import ExtractConfig, cache_key, entry_name
from lpzero_gp.stats.extract import cache_folder as extract_cache_folder
from lpzero_gp.stats.store import clear_folder, not_a_file

#: Layout of a cached scores file (part of the folder's key: another layout is not read).
SCORES_FORMAT = 2
#: What the baselines add to the statistics' cache key.
_KEY = {"baselines": BASELINES_VERSION, "scores_format": SCORES_FORMAT}


class ScoresFileError(Exception):
    """A cached scores file that exists but cannot be used (damaged, swapped, edited)."""


def key_parts(cfg: ExtractConfig, batch: dict[str, torch.Tensor]) -> dict:
    """What decides a baselines configuration folder: the statistics' key and ours."""
    return cache_key(cfg, batch, **_KEY)


def cache_folder(root: str | Path, cfg: ExtractConfig, batch: dict[str, torch.Tensor]) -> Path:
    """Cache sub-folder for one (config, batch) combination, keyed like extraction's."""
    return extract_cache_folder(Path(root) / CACHE_SUBFOLDER, cfg, batch, **_KEY)


def cache_file(folder: Path, arch_id: str, record_digest: str) -> Path:
    """The file of one architecture's scores in a configuration folder, named by its id and
    what defines it (:meth:`~lpzero_gp.spaces.base.Space.record_digest`), as statistics are:
    a record edited under the same id has another entry."""
    return folder / f"{entry_name(arch_id, record_digest)}.json"


def _digest(key: str, scores: object) -> str:
    text = json.dumps({"key": key, "scores": scores}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_cached(folder: Path, arch_id: str, record_digest: str) -> ArchScores | None:
    """The cached scores of ``arch_id`` as defined by ``record_digest``; None when there are
    none.

    ScoresFileError when the file is unreadable, belongs to another architecture or
    configuration, or fails its digest (flipped bytes, edited values).
    """
    path = cache_file(folder, arch_id, record_digest)
    why = not_a_file(path)
    if why:
        raise ScoresFileError(why)
    if not path.is_file():
        return None
    key = f"{folder.name}/{arch_id}/{record_digest}"
    try:
        data = loads_json(path.read_text(encoding="utf-8"), "")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScoresFileError(f"unreadable ({type(exc).__name__})") from None
    except LpzeroError as exc:  # not JSON, too deep, a repeated key: say which
        raise ScoresFileError(f"unreadable ({one_line(exc)})") from None
    if not isinstance(data, dict) or data.get("format") != SCORES_FORMAT:
        raise ScoresFileError("not a scores file of this lpzero-gp version")
    if data.get("key") != key:
        raise ScoresFileError("it belongs to another architecture or configuration")
    if data.get("digest") != _digest(key, data.get("scores")):
        raise ScoresFileError("its content does not match its digest")
    try:
        got = ArchScores.from_json(data["scores"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ScoresFileError(f"malformed ({type(exc).__name__})") from None
    if got.id != arch_id:
        raise ScoresFileError("it belongs to another architecture")
    return got


def save_cached(folder: Path, cfg: ExtractConfig, batch: dict[str, torch.Tensor],
                result: ArchScores, record_digest: str) -> None:
    """Write one architecture's scores atomically, with their key and digest (and the
    folder's ``key.json`` the first time)."""
    write_key(folder, key_parts(cfg, batch))
    key = f"{folder.name}/{result.id}/{record_digest}"
    scores = result.to_json()
    path = cache_file(folder, result.id, record_digest)
    clear_folder(path, "a scores file")
    atomic_json(path,
                {"format": SCORES_FORMAT, "key": key, "digest": _digest(key, scores),
                 "scores": scores}, sort_keys=True)

__all__ = [
    "SCORES_FORMAT", "ScoresFileError", "cache_file", "cache_folder", "read_cached", "save_cached",
]
