"""Fixed search / validation / test splits of the packaged benchmarks (drawn once, seed 42).

Search only on ``search``; choose among runs only by ``validation``; report ``test`` once.
The splits are stored as package data; :func:`draw_splits` regenerates them for a check. A
user benchmark is split 10 / 10 / 80 % from its own ids (at least 2 each); :func:`pick` says,
naming the option to change, when a choice leaves too few architectures to rank. A choice
arrives checked by the options (:data:`~lpzero_gp.workflows.optionspec.ARCH_CHOICES` or the
text of a number N); only what depends on the records is checked here.
"""

from __future__ import annotations

from collections.abc import Collection
from importlib import resources

import numpy as np

from lpzero_gp.errors import OptionError, SpaceError
from lpzero_gp.jsonfile import read_json
from lpzero_gp.spaces.base import Record, Space
from lpzero_gp.workflows.optionspec import ARCH_CHOICES, SEED

SPLIT_NAMES = ("search", "validation", "test")
SPLIT_SEED = 42
#: Fewest architectures a rank correlation is computed on.
MIN_ARCHS = 3
#: What an architecture choice may name besides a number N.
CHOICES = ARCH_CHOICES


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
    data = read_json(path, "packaged splits")
    if space not in data:
        raise SpaceError(f"no stored splits for space {space!r}")
    return data[space]


def select(records: list[Record], which: str, space: Space, packaged: bool,
           seed: int = SEED.default, option: str = "--archs") -> list[Record]:
    """Records of a split (``search|validation|test|all``) or ``heldout`` (not search).

    For a user benchmark file the splits are drawn from its own ids with the same sizes
    scaled to its length. An unknown split is an OptionError naming ``option``, the option
    the choice was given with.
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
        raise OptionError(f"{option}: unknown split {which!r}; choose {', '.join(CHOICES)} or "
                          "a number N")
    return [by_id[i] for i in splits[which] if i in by_id]


def _sample(records: list[Record], n: int, seed: int, option: str) -> list[Record]:
    """A seeded sample of ``n`` records, in their order."""
    if n < MIN_ARCHS or n > len(records):
        raise OptionError(f"{option} {n}: choose between {MIN_ARCHS} and {len(records)}")
    idx = np.random.default_rng(seed).permutation(len(records))[:n]
    return [records[i] for i in sorted(idx)]


def _too_few(option: str, which: str, got: int, total: int, packaged: bool) -> OptionError:
    """The one-line error for a split that leaves fewer than MIN_ARCHS architectures."""
    source = "the packaged benchmark" if packaged else \
        f"this {total}-record benchmark (split 10/10/80 %, at least 2 each)"
    hint = " or --heldout heldout (every architecture not searched)" \
        if option == "--heldout" else ""
    return OptionError(f"{option} {which}: {which!r} of {source} leaves {got} architecture"
                       f"{'' if got == 1 else 's'}, fewer than the {MIN_ARCHS} a rank "
                       f"correlation needs; give {option} N (a seeded sample of N){hint}")


def pick(records: list[Record], which: str, space: Space, packaged: bool, seed: int,
         option: str = "--archs", exclude: Collection[str] = (),
         sample_seed: int | None = None) -> list[Record]:
    """Records of a split name, ``all``, ``heldout`` or a number N, never those in ``exclude``.

    A user file's splits are drawn with ``seed`` (so every choice of one run sees the same
    splits); N is a sample of N records drawn, with ``sample_seed`` (default ``seed``), from
    those not excluded; ``heldout`` is every record not searched (not in ``exclude`` when
    given, else not in the search split). OptionError, naming ``option``, when fewer than
    :data:`MIN_ARCHS` remain.
    """
    pool = [r for r in records if r.id not in exclude]
    if which.isdigit():
        return _sample(pool, int(which), seed if sample_seed is None else sample_seed, option)
    if which == "heldout" and exclude:
        chosen = pool
    else:
        keep = {r.id for r in select(records, which, space, packaged, seed, option)}
        chosen = [r for r in pool if r.id in keep]
    if len(chosen) < MIN_ARCHS:
        raise _too_few(option, which, len(chosen), len(records), packaged)
    return chosen

__all__ = ["MIN_ARCHS", "SPLIT_NAMES", "draw_splits", "pick", "select", "stored_splits"]
