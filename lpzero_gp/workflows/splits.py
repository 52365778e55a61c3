"""Fixed search / validation / test splits of the packaged benchmarks (drawn once, seed 42).

Search only on ``search``; choose among runs only by ``validation``; report ``test`` once.
The splits are stored as package data; :func:`draw_splits` regenerates them for a check. A
user benchmark is split 10 / 10 / 80 % from its own ids (at least 2 each); :func:`pick` says,
naming the option to change, when a choice leaves too few architectures to rank. A choice
arrives checked by the options (:data:`~lpzero_gp.workflows.optionspec.ARCH_CHOICES` or the
text of a number N); only what depends on the records is checked here.

:func:`choose` picks the search and held-out architectures of a run. A user file too small for
its 10 / 10 / 80 % splits (under 30 records: fewer than :data:`MIN_ARCHS` in the search or
validation split) gets a workable choice in place of the defaults, and says so
(:class:`Choice`): an even split, ``N // 2`` searched and every other one held out. Choices
that cannot work are one error naming every option to change.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from lpzero_gp.errors import OptionError, SpaceError
from lpzero_gp.jsonfile import read_json
from lpzero_gp.spaces.base import Record, Space
from lpzero_gp.workflows.optionspec import (
    ARCH_CHOICES,
    HELDOUT,
    SEARCH_ARCHS,
    SEED,
    spelled,
)

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


def stored(space: Space, packaged: bool) -> bool:
    """Whether the records have stored splits (a packaged benchmark of a space with
    ``split_sizes``); otherwise they are split from their own ids."""
    return packaged and space.split_sizes is not None


def select(records: list[Record], which: str, space: Space, packaged: bool,
           seed: int = SEED.default, option: str = "archs") -> list[Record]:
    """Records of a split (``search|validation|test|all``) or ``heldout`` (not search).

    For a user benchmark file the splits are drawn from its own ids with the same sizes
    scaled to its length. An unknown split is an OptionError naming ``option``, the option
    the choice was given with (its field name or its flag).
    """
    if which == "all":
        return list(records)
    by_id = {r.id: r for r in records}
    if stored(space, packaged):
        splits = stored_splits(space.name)
    else:
        n = len(records)
        a, b = max(2, n // 10), max(2, n // 10)
        splits = draw_splits([r.id for r in records], (a, b, n - a - b), seed)
    if which == "heldout":
        keep = set(splits["validation"]) | set(splits["test"])
        return [r for r in records if r.id in keep]
    if which not in splits:
        raise OptionError(f"{spelled(option)}: unknown split {which!r}; choose "
                          f"{', '.join(CHOICES)} or a number N")
    return [by_id[i] for i in splits[which] if i in by_id]


def _sample(records: list[Record], n: int, seed: int, option: str) -> list[Record]:
    """A seeded sample of ``n`` records, in their order."""
    if n < MIN_ARCHS or n > len(records):
        raise OptionError(f"{spelled(option, str(n))}: choose between {MIN_ARCHS} and "
                          f"{len(records)}")
    idx = np.random.default_rng(seed).permutation(len(records))[:n]
    return [records[i] for i in sorted(idx)]


def _too_few(option: str, which: str, got: int, total: int, packaged: bool) -> OptionError:
    """The one-line error for a split that leaves fewer than MIN_ARCHS architectures."""
    source = "the packaged benchmark" if packaged else \
        f"this {total}-record benchmark (split 10/10/80 %, at least 2 each)"
    hint = f" or {spelled('heldout', 'heldout')} (every architecture not searched)" \
        if spelled(option) == spelled("heldout") else ""
    return OptionError(f"{spelled(option, which)}: {which!r} of {source} leaves {got} "
                       f"architecture{'' if got == 1 else 's'}, fewer than the {MIN_ARCHS} a "
                       f"rank correlation needs; give {spelled(option, 'N')} (a seeded sample "
                       f"of N){hint}")


def pick(records: list[Record], which: str, space: Space, packaged: bool, seed: int,
         option: str = "archs", exclude: Collection[str] = (),
         sample_seed: int | None = None) -> list[Record]:
    """Records of a split name, ``all``, ``heldout`` or a number N, never those in ``exclude``.

    A user file's splits are drawn with ``seed`` (so every choice of one run sees the same
    splits); N is a sample of N records drawn, with ``sample_seed`` (default ``seed``), from
    those not excluded; ``heldout`` is every record not searched (not in ``exclude`` when
    given, else not in the search split). OptionError, naming ``option`` (a field name or a
    flag), when fewer than :data:`MIN_ARCHS` remain.
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

@dataclass
class Choice:
    """The search and held-out architectures of a run, and how they were chosen.

    ``search_archs`` and ``heldout`` are the choices used; ``chosen`` names those picked for a
    small file in place of the defaults, and ``reason`` says why (None when none was).
    """

    search: list[Record]
    heldout: list[Record]
    search_archs: str
    heldout_choice: str
    chosen: tuple[str, ...] = ()
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The choice as ``summary.json`` records it (the same whoever ran it)."""
        return {"search_archs": self.search_archs, "heldout": self.heldout_choice,
                "chosen": list(self.chosen), "reason": self.reason}


def choice_note(data: dict[str, Any] | None) -> str | None:
    """The printed note of a :meth:`Choice.to_json` that chose splits, else None."""
    if not data or not data.get("chosen"):
        return None
    used = {"search_archs": data["search_archs"], "heldout": data["heldout"]}
    text = " and ".join(spelled(name, used[name]) for name in data["chosen"])
    return (f"chose {text}: {data['reason']}; give "
            f"{' and '.join(spelled(name) for name in data['chosen'])} to choose otherwise")


def _even(n: int) -> str:
    """The search size of a small file's even split: half of it, at least MIN_ARCHS."""
    return str(max(MIN_ARCHS, n // 2))


def choose(records: list[Record], search_archs: str, heldout: str, space: Space,
           packaged: bool, seed: int) -> Choice:
    """The search and held-out architectures of a run (held-out ones never searched).

    A file without stored splits whose search or validation split is too small for a rank
    correlation (fewer than :data:`MIN_ARCHS`: under 30 records) gets, for each of the two
    choices left at its default, a workable one: ``N // 2`` architectures searched (a seeded
    sample) and every other one held out; :attr:`Choice.chosen` names them. Choices that cannot
    work (given ones, or a file under ``2 * MIN_ARCHS`` records) are one OptionError naming
    every option to change.
    """
    n, own = len(records), not stored(space, packaged)
    if own and n < 2 * MIN_ARCHS:
        raise OptionError(f"this {n}-record benchmark is too small for a run: searching needs "
                          f"{MIN_ARCHS} architectures and holding out {MIN_ARCHS} more (a rank "
                          "correlation needs 3 each); give a larger benchmark file, or score "
                          "proxies on all of its architectures with eval (3 are enough)")
    chosen: list[str] = []
    reasons: list[str] = []
    if own and search_archs == SEARCH_ARCHS.default:
        size = len(select(records, "search", space, packaged, seed))
        if size < MIN_ARCHS:
            search_archs = _even(n)
            chosen.append("search_archs")
            reasons.append(f"its search split holds {size}")
    problems: list[str] = []
    search: list[Record] = []
    try:
        search = pick(records, search_archs, space, packaged, seed, "search_archs")
    except OptionError as exc:
        problems.append(str(exc))
    searched = {r.id for r in search}
    if own and heldout == HELDOUT.default and search:
        valid = select(records, "validation", space, packaged, seed)
        left = sum(r.id not in searched for r in valid)
        if left < MIN_ARCHS:
            heldout = "heldout"
            chosen.append("heldout")
            reasons.append(f"its validation split {len(valid)}" + (
                f" ({left} not searched)" if len(valid) >= MIN_ARCHS else ""))
    held: list[Record] = []
    if own and heldout == HELDOUT.default and not search:
        pass  # chosen once the search choice works
    elif "heldout" in chosen and n - len(search) < MIN_ARCHS:
        problems.append(f"{spelled('search_archs', search_archs)} leaves {n - len(search)} of "
                        f"the {n} architectures to hold out, fewer than the {MIN_ARCHS} a rank "
                        f"correlation needs; give {spelled('search_archs', str(n - MIN_ARCHS))} "
                        "or fewer")
    else:
        try:
            held = pick(records, heldout, space, packaged, seed, "heldout", exclude=searched,
                        sample_seed=seed + 1)
        except OptionError as exc:
            problems.append(str(exc))
    if problems:
        auto = [spelled(name, value) for name, value in
                (("search_archs", search_archs), ("heldout", heldout)) if name in chosen]
        tail = f" ({', '.join(auto)} chosen for this {n}-record file)" if auto else ""
        raise OptionError("; ".join(problems) + tail)
    reason = (f"the 10/10/80 % splits of this {n}-record file are too small to rank (fewer "
              f"than {MIN_ARCHS} architectures): {' and '.join(reasons)}; so {len(search)} are "
              f"searched and {len(held)} held out") if chosen else None
    return Choice(search, held, search_archs, heldout, tuple(chosen), reason)


__all__ = ["MIN_ARCHS", "SPLIT_NAMES", "Choice", "choice_note", "choose", "draw_splits", "pick",
           "select", "stored", "stored_splits"]
