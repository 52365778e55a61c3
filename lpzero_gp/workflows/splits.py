"""Fixed search / validation / test splits of the packaged benchmarks (drawn once, seed 42).

Search only on ``search``; choose among runs only by ``validation``; report ``test`` once.
The splits are stored as package data; :func:`draw_splits` regenerates them for a check.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np

from lpzero_gp.errors import OptionError, SpaceError
from lpzero_gp.spaces.base import Record, Space

SPLIT_NAMES = ("search", "validation", "test")
SPLIT_SEED = 42


def draw_splits(ids: list[str], sizes: tuple[int, int, int], seed: int = SPLIT_SEED
                ) -> dict[str, list[str]]:
    """A seeded permutation of ``ids`` cut into search / validation / test."""
    if sum(sizes) > len(ids):
        raise SpaceError(f"splits of {sum(sizes)} need more than the {len(ids)} records")
    perm = np.random.default_rng(seed).permutation(len(ids))
    out, start = {}, 0
    for name, n in zip(SPLIT_NAMES, sizes, strict=True):
        out[name] = [ids[i] for i in perm[start:start + n]]
        start += n
    return out


def stored_splits(space: str) -> dict[str, list[str]]:
    """The packaged splits of a space's packaged benchmark."""
    path = resources.files("lpzero_gp") / "data" / "splits.json"
    data = json.loads(path.read_text())
    if space not in data:
        raise SpaceError(f"no stored splits for space {space!r}")
    return data[space]


def select(records: list[Record], which: str, space: Space, packaged: bool, seed: int = 42
           ) -> list[Record]:
    """Records of a split (``search|validation|test|all``) or ``heldout`` (not search).

    For a user benchmark file the splits are drawn from its own ids with the same sizes
    scaled to its length.
    """
    if which == "all":
        return list(records)
    by_id = {r.id: r for r in records}
    if packaged and space.split_sizes is not None:
        splits = stored_splits(space.name)
    else:
        n = len(records)
        a, b = max(2, n // 10), max(2, n // 10)
        splits = draw_splits([r.id for r in records], (a, b, n - a - b), seed)
    if which == "heldout":
        keep = set(splits["validation"]) | set(splits["test"])
        return [r for r in records if r.id in keep]
    if which not in splits:
        raise OptionError(f"unknown split {which!r}; choose search, validation, test, heldout "
                         "or all")
    return [by_id[i] for i in splits[which] if i in by_id]
