"""The search checkpoint: one JSON file with everything needed to resume bit for bit.

JSON, so no code runs on loading it; floats round-trip exactly. It holds the population and
hall of fame as proxy strings with their fitness, the logbook, the fitness cache, the counters,
and the RNG states of the search's own ``random.Random``, NumPy and torch.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from deap import creator, gp, tools

from lpzero_gp import __version__
from lpzero_gp.atomic import atomic_json
from lpzero_gp.errors import CheckpointError, LpzeroError, one_line
from lpzero_gp.proxy.parse import parse_tree
from lpzero_gp.search.config import SearchConfig

#: File name of a search checkpoint inside its folder.
CHECKPOINT = "checkpoint.json"
#: Layout version of :data:`CHECKPOINT`; bump when its fields change.
CHECKPOINT_FORMAT = 1
#: Columns of the search logbook.
LOG_HEADER = ["gen", "nevals", "best", "median", "invalid"]
#: Size of the search's hall of fame.
HOF_SIZE = 10


@dataclass
class SearchState:
    """Everything a checkpoint holds; enough to resume bit-for-bit."""

    generation: int
    population: list
    hof: tools.HallOfFame
    logbook: tools.Logbook
    cache: dict[str, tuple[float, float]]
    rng: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)


def rng_state(rng: random.Random) -> dict:
    """RNG states of a search: its own ``rng`` (Python), NumPy's and torch's."""
    return {"python": rng.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state()}


def set_rng_state(rng: random.Random, state: dict) -> None:
    """Restore :func:`rng_state` into ``rng`` and NumPy's and torch's global generators."""
    rng.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def _encode_rng(state: dict) -> dict:
    """RNG states as JSON-safe values (torch's byte state as base64)."""
    py_version, py_words, py_gauss = state["python"]
    kind, keys, pos, has_gauss, cached = state["numpy"]
    return {"python": [py_version, list(py_words), py_gauss],
            "numpy": [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)],
            "torch": base64.b64encode(state["torch"].numpy().tobytes()).decode("ascii")}


def _decode_rng(data: dict) -> dict:
    """Inverse of :func:`_encode_rng`."""
    py_version, py_words, py_gauss = data["python"]
    kind, keys, pos, has_gauss, cached = data["numpy"]
    raw = bytearray(base64.b64decode(data["torch"]))
    return {"python": (int(py_version), tuple(int(w) for w in py_words), py_gauss),
            "numpy": (str(kind), np.array(keys, dtype=np.uint32), int(pos), int(has_gauss),
                      float(cached)),
            "torch": torch.frombuffer(raw, dtype=torch.uint8).clone()}


def _individuals(items) -> list:
    return [[str(ind), [float(v) for v in ind.fitness.values],
             float(getattr(ind, "tau", float("nan")))] for ind in items]


def save_checkpoint(state: SearchState, directory: Path) -> None:
    """Write ``state`` to ``directory/checkpoint.json`` atomically (all of it or nothing)."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": __version__,
        "generation": state.generation,
        "population": _individuals(state.population),
        "hof": _individuals(state.hof),
        "logbook": [dict(r) for r in state.logbook],
        "cache": {k: [float(f), float(t)] for k, (f, t) in state.cache.items()},
        "counts": dict(state.counts),
        "rng": _encode_rng(state.rng),
        "meta": state.meta,
    }
    atomic_json(Path(directory) / CHECKPOINT, payload)


def _read_checkpoint(directory: Path) -> tuple[Path, dict]:
    """The checkpoint's JSON, after checking that this version can continue it."""
    path = Path(directory) / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"no checkpoint in {directory} (expected {CHECKPOINT})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable lpzero-gp checkpoint "
                              f"({one_line(exc, with_type=True)})") from None
    if not isinstance(data, dict) or "format" not in data or "version" not in data:
        raise CheckpointError(f"{path} is not an lpzero-gp checkpoint")
    if data["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {data['format']!r}; this "
                              f"lpzero-gp reads format {CHECKPOINT_FORMAT}")
    if data["version"] != __version__:
        raise CheckpointError(f"checkpoint {path} was written by lpzero-gp {data['version']}; "
                              f"this is {__version__} (resume it with that version or start a "
                              "new run)")
    return path, data


def checkpoint_info(directory: Path) -> dict:
    """Generation, version and search config of a checkpoint, without reviving the population."""
    path, data = _read_checkpoint(directory)
    try:
        return {"generation": int(data["generation"]), "version": data["version"],
                "config": _config_dict(data["meta"]["config"])}
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} is damaged "
                              f"({one_line(exc, with_type=True)})") from None


def _config_dict(raw: dict) -> dict:
    """``asdict(SearchConfig)`` of a config read back from JSON (lists become tuples again)."""
    cfg = dict(raw)
    cfg["aggregations"] = tuple(cfg["aggregations"])
    return asdict(SearchConfig(**cfg))


def _revive(items: list, pset: gp.PrimitiveSetTyped) -> list:
    """Individuals from their stored ``[proxy, fitness, tau]`` (typed names parse as they are)."""
    out = []
    for text, fit, tau in items:
        ind = creator.ProxyTree(parse_tree(text, pset))
        ind.fitness.values = tuple(fit)
        ind.tau = tau
        out.append(ind)
    return out


def load_checkpoint(directory: Path, pset: gp.PrimitiveSetTyped) -> SearchState:
    """Read a checkpoint written by :func:`save_checkpoint` (CheckpointError if unusable)."""
    path, d = _read_checkpoint(directory)
    try:
        hof = tools.HallOfFame(HOF_SIZE)
        hof.items = _revive(d["hof"], pset)  # in stored order: re-inserting would reorder ties
        hof.keys = [ind.fitness for ind in reversed(hof.items)]
        log = tools.Logbook()
        log.header = list(LOG_HEADER)
        for rec in d["logbook"]:
            log.record(**rec)
        meta = dict(d["meta"])
        meta["config"] = _config_dict(meta["config"])
        return SearchState(int(d["generation"]), _revive(d["population"], pset), hof, log,
                           {k: (v[0], v[1]) for k, v in d["cache"].items()},
                           _decode_rng(d["rng"]), meta, dict(d["counts"]))
    except (KeyError, TypeError, ValueError, LpzeroError, SyntaxError) as exc:
        raise CheckpointError(f"checkpoint {path} is damaged "
                              f"({one_line(exc, with_type=True)})") from None
