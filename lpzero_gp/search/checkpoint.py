"""The search checkpoint: one JSON file with everything needed to resume bit for bit.

JSON, so no code runs on loading it; floats round-trip exactly. It holds the population and
hall of fame as proxy strings with their fitness, the logbook, the fitness cache, the counters,
and the RNG states of the search's own ``random.Random``, NumPy and torch.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from deap import creator, gp, tools

from lpzero_gp.atomic import atomic_json
from lpzero_gp.errors import CheckpointError, LpzeroError, one_line
from lpzero_gp.jsonfile import read_json
from lpzero_gp.proxy.parse import parse_tree
from lpzero_gp.search.config import SearchConfig
from lpzero_gp.versions import __version__

#: File name of a search checkpoint inside its folder.
CHECKPOINT = "checkpoint.json"
#: Layout version of :data:`CHECKPOINT`; bump when its fields change (3: the logbook's
#: progress columns).
CHECKPOINT_FORMAT = 3
#: Columns of the search logbook (and of a run's log.csv): generation; proxies scored (distinct
#: new canonical keys); best, median of the valid, and number invalid of the population's
#: fitness; the best proxy so far (:func:`~lpzero_gp.search.loop.best_individual`); cache hits
#: (proxies scored before, not scored again) and children regenerated (rejected by RPS or as
#: duplicates) in the generation; distinct proxies in the population.
LOG_HEADER = ["gen", "nevals", "best", "median", "invalid", "best_proxy", "cache_hits",
              "regenerated", "distinct"]
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
    #: Proxy strings found invalid (scored, not by key): re-met, they cost no evaluation.
    invalid: list[str] = field(default_factory=list)


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
    """Inverse of :func:`_encode_rng`; ValueError for a truncated or malformed state."""
    py_version, py_words, py_gauss = data["python"]
    kind, keys, pos, has_gauss, cached = data["numpy"]
    raw = bytearray(base64.b64decode(data["torch"], validate=True))
    if len(py_words) != _PY_WORDS or not all(isinstance(w, int) and 0 <= w < 2**32
                                             for w in py_words):
        raise ValueError("truncated Python RNG state")
    if kind != "MT19937" or len(keys) != _NP_KEYS or not 0 <= int(pos) <= _NP_KEYS:
        raise ValueError("truncated NumPy RNG state")
    if len(raw) != torch.get_rng_state().numel():
        raise ValueError("truncated torch RNG state")
    return {"python": (int(py_version), tuple(int(w) for w in py_words), py_gauss),
            "numpy": (str(kind), np.array(keys, dtype=np.uint32), int(pos), int(has_gauss),
                      float(cached)),
            "torch": torch.frombuffer(raw, dtype=torch.uint8).clone()}


#: Lengths of the Python and NumPy Mersenne-Twister states (words, keys).
_PY_WORDS = 625
_NP_KEYS = 624


def _digest(payload: dict) -> str:
    """SHA-256 of a checkpoint's content (everything but the digest itself)."""
    body = {k: v for k, v in payload.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


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
        "invalid": sorted(state.invalid),
        "rng": _encode_rng(state.rng),
        "meta": state.meta,
    }
    payload["digest"] = _digest(payload)
    path = Path(directory) / CHECKPOINT
    try:
        atomic_json(path, payload)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: "
                              f"{exc.strerror or one_line(exc)}") from None


def _read_checkpoint(directory: Path) -> tuple[Path, dict]:
    """The checkpoint's JSON, after checking that this version can continue it."""
    path = Path(directory) / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"no checkpoint in {directory} (expected {CHECKPOINT})")
    try:
        data = read_json(path, "checkpoint", error=CheckpointError)
    except CheckpointError as exc:
        raise CheckpointError(f"{path} is not a readable lpzero-gp checkpoint ({exc})") from None
    if not isinstance(data, dict) or "format" not in data or "version" not in data:
        raise CheckpointError(f"{path} is not an lpzero-gp checkpoint")
    if data["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {data['format']!r}; this "
                              f"lpzero-gp reads format {CHECKPOINT_FORMAT}")
    if data["version"] != __version__:
        raise CheckpointError(f"checkpoint {path} was written by lpzero-gp {data['version']}; "
                              f"this is {__version__} (resume it with that version or start a "
                              "new run)")
    if data.get("digest") != _digest(data):
        raise CheckpointError(f"checkpoint {path} fails its integrity check (edited or "
                              "damaged); resume from an intact copy or start a new run")
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


def _config(raw: dict) -> SearchConfig:
    """The SearchConfig of a config read back from JSON (lists become tuples again)."""
    return SearchConfig(**{**raw, "aggregations": tuple(raw["aggregations"])})


def _config_dict(raw: dict) -> dict:
    """``asdict(SearchConfig)`` of a config read back from JSON."""
    return asdict(_config(raw))


def _revive(items: list, pset: gp.PrimitiveSetTyped) -> list:
    """Individuals from their stored ``[proxy, fitness, tau]`` (typed names parse as they are)."""
    out = []
    for text, fit, tau in items:
        ind = creator.ProxyTree(parse_tree(text, pset))
        ind.fitness.values = tuple(fit)
        ind.tau = tau
        out.append(ind)
    return out


def _check_consistent(state: SearchState, cfg: SearchConfig) -> None:
    """ValueError unless the state's parts agree with each other and with its config."""
    if not 0 <= state.generation <= cfg.generations:
        raise ValueError(f"generation {state.generation} outside 0..{cfg.generations}")
    if len(state.population) != cfg.population:
        raise ValueError(f"population of {len(state.population)}, config says "
                         f"{cfg.population}")
    if [r["gen"] for r in state.logbook] != list(range(state.generation + 1)):
        raise ValueError("logbook does not match the generation")
    if not 1 <= len(state.hof) <= HOF_SIZE:
        raise ValueError("bad hall of fame")
    fits = [ind.fitness.values for ind in [*state.population, *state.hof]]
    if any(len(f) != 1 or not isinstance(f[0], float) or f[0] != f[0] for f in fits):
        raise ValueError("bad fitness value")


def load_checkpoint(directory: Path, pset: gp.PrimitiveSetTyped,
                    key: str | None = None) -> SearchState:
    """Read a checkpoint written by :func:`save_checkpoint` (CheckpointError if unusable).

    ``key``, when given, must equal the key the search stored (``Search.checkpoint_key``): a
    checkpoint copied from another run is refused.
    """
    path, d = _read_checkpoint(directory)
    if key is not None and isinstance(d.get("meta"), dict) and d["meta"].get("key") != key:
        raise CheckpointError(f"checkpoint {path} belongs to another run (its data or settings "
                              "differ)")
    try:
        hof = tools.HallOfFame(HOF_SIZE)
        hof.items = _revive(d["hof"], pset)  # in stored order: re-inserting would reorder ties
        hof.keys = [ind.fitness for ind in reversed(hof.items)]
        log = tools.Logbook()
        log.header = list(LOG_HEADER)
        for rec in d["logbook"]:
            log.record(**rec)
        meta = dict(d["meta"])
        cfg = _config(meta["config"])
        meta["config"] = asdict(cfg)
        state = SearchState(int(d["generation"]), _revive(d["population"], pset), hof, log,
                            {k: (float(v[0]), float(v[1])) for k, v in d["cache"].items()},
                            _decode_rng(d["rng"]), meta, dict(d["counts"]),
                            [str(x) for x in d["invalid"]])
        _check_consistent(state, cfg)
        return state
    except (KeyError, TypeError, ValueError, LpzeroError, SyntaxError, OverflowError,
            RecursionError) as exc:
        raise CheckpointError(f"checkpoint {path} is damaged "
                              f"({one_line(exc, with_type=True)})") from None

__all__ = [
    "CHECKPOINT", "CHECKPOINT_FORMAT", "HOF_SIZE", "LOG_HEADER", "SearchState", "checkpoint_info",
    "load_checkpoint", "rng_state", "save_checkpoint", "set_rng_state",
]
