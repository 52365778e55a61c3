"""The DEAP search loop: typed trees, RPS-filtered variation, (mu + lambda) evolution.

Each generation is one call of ``deap.algorithms.eaMuPlusLambda`` with ``ngen=1``, so the
algorithm is DEAP's own while we get a hook between generations for progress, checkpoints and
resumption. Offspring that RPS rejects, or whose canonical key is already in the population,
are regenerated inside ``mate``/``mutate`` (the paper's Algorithm 1, line 13). Fitness goes
through ``toolbox.map``; proxies whose canonical key was scored before reuse that fitness
(with the key's sign) and cost no tensor work.
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
import sys
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from deap import algorithms, base, creator, gp, tools

from lpzero_gp import __version__
from lpzero_gp.errors import CheckpointError, SpaceError
from lpzero_gp.proxy.generate import cx_one_point, gen_lpzero, gen_typed
from lpzero_gp.proxy.parse import parse_tree
from lpzero_gp.proxy.rps import RPS, Verdict
from lpzero_gp.score.fitness import INVALID_FITNESS

if not hasattr(creator, "ProxyFitness"):
    creator.create("ProxyFitness", base.Fitness, weights=(1.0,))
if not hasattr(creator, "ProxyTree"):
    creator.create("ProxyTree", gp.PrimitiveTree, fitness=creator.ProxyFitness)

#: File name of a search checkpoint inside its folder (JSON: no code runs on loading it).
CHECKPOINT = "checkpoint.json"
#: Layout version of :data:`CHECKPOINT`; bump when its fields change.
CHECKPOINT_FORMAT = 1
_LOG_HEADER = ["gen", "nevals", "best", "median", "invalid"]


@dataclass
class SearchConfig:
    """Search settings; the defaults are the paper's except the evaluation budget."""

    population: int = 80
    offspring: int = 40
    evaluations: int = 1000
    cxpb: float = 0.5
    mutpb: float = 0.5
    seed: int = 42
    n_unary: int = 2
    shape: str = "lpzero"  # "lpzero" (paper genotype) or "deep" (free typed trees)
    max_height: int = 8
    aggregations: tuple[str, ...] = ("agg_mean",)
    tournsize: int = 3
    elite: int = 2
    rps: bool = True
    memoize: bool = True
    retry_cap: int = 100

    @property
    def generations(self) -> int:
        """Generations needed to spend the evaluation budget."""
        return max(1, math.ceil(self.evaluations / self.offspring))

    def validate(self) -> None:
        """Raise ValueError with one line for an absurd setting."""
        checks = [
            (self.population >= 2, "population must be at least 2"),
            (self.offspring >= 1, "offspring must be at least 1"),
            (self.evaluations >= 1, "evaluations must be at least 1"),
            (0 <= self.cxpb <= 1 and 0 <= self.mutpb <= 1 and self.cxpb + self.mutpb <= 1,
             "crossover and mutation probabilities must be in [0, 1] and sum to at most 1"),
            (1 <= self.n_unary <= 10, "n-unary must be between 1 and 10"),
            (self.shape in ("lpzero", "deep"), "shape must be 'lpzero' or 'deep'"),
            (3 <= self.max_height <= 30, "max-height must be between 3 and 30"),
            (self.tournsize >= 1, "tournament size must be at least 1"),
            (0 <= self.elite <= self.population, "elite must be between 0 and population"),
            (bool(self.aggregations) and set(self.aggregations) <= {"agg_mean", "agg_sum"},
             "aggregation must be mean, sum or both"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)


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


#: The search's own Python RNG. DEAP's operators call the ``random`` module; during a search
#: they are pointed at this instance, so threads that draw from the global RNG meanwhile (a
#: Dask client's event loop, for one) cannot change the search's trajectory.
SEARCH_RNG = random.Random(0)
_RNG_USERS = ("deap.algorithms", "deap.gp", "deap.tools.selection", "lpzero_gp.proxy.generate",
              "lpzero_gp.search.loop")


@contextmanager
def private_rng():
    """Within the block, DEAP and our generators draw from :data:`SEARCH_RNG`."""
    mods = [sys.modules[m] for m in _RNG_USERS if m in sys.modules]
    saved = [m.random for m in mods]
    for m in mods:
        m.random = SEARCH_RNG
    try:
        yield
    finally:
        for m, r in zip(mods, saved, strict=True):
            m.random = r


def rng_state() -> dict:
    """RNG states of the search (Python), NumPy and torch."""
    return {"python": SEARCH_RNG.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state()}


def set_rng_state(state: dict) -> None:
    """Restore :func:`rng_state`."""
    SEARCH_RNG.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def seed_all(seed: int) -> None:
    """Seed the search RNG, Python's, NumPy's and torch's from one seed."""
    SEARCH_RNG.seed(seed)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def select_elitist_tournament(individuals: list, k: int, tournsize: int, elite: int) -> list:
    """The ``elite`` best survive unconditionally; the rest by DEAP's tournament selection.

    Plain tournament survivor selection can lose the best proxy between generations; keeping a
    couple of elites makes the best fitness per generation monotone.
    """
    best = tools.selBest(individuals, min(elite, k))
    return best + tools.selTournament(individuals, k - len(best), tournsize=tournsize)


class Search:
    """One proxy search over a fixed set of architectures.

    ``score_fn(tree_string) -> (fitness, tau)`` is called through ``toolbox.map``; it must be a
    picklable callable when a process pool or Dask is used.
    """

    def __init__(self, pset: gp.PrimitiveSetTyped, score_fn: Callable, config: SearchConfig,
                 available: tuple[str, ...] | None = None, mapper: Callable = map):
        config.validate()
        self.pset = pset
        self.config = config
        self.score_fn = score_fn
        self.rps = RPS(available)
        self.cache: dict[str, tuple[float, float]] = {}
        self.invalid: set[str] = set()
        self.pop_keys: set[str] = set()
        self.stats_counts = {"evaluated": 0, "cache_hits": 0, "regenerated": 0}
        self.mapper = mapper
        self.toolbox = self._toolbox()

    # -- generation and variation ---------------------------------------------------------

    def _new_tree(self) -> gp.PrimitiveTree:
        c = self.config
        if c.shape == "lpzero":
            return gen_lpzero(self.pset, c.n_unary, c.aggregations)
        return gp.PrimitiveTree(gen_typed(self.pset, 2, c.max_height - 1))

    def _verdict(self, tree) -> Verdict:
        if not self.config.rps:
            return Verdict(True, key=str(tree))
        return self.rps.check(tree)

    def _acceptable(self, tree) -> bool:
        """RPS-valid, within the height limit, and not a duplicate of a living proxy."""
        if tree.height > self.config.max_height:
            return False
        v = self._verdict(tree)
        if not v.ok or v.key in self.pop_keys:
            return False
        self.pop_keys.add(v.key)
        return True

    def _fresh(self) -> creator.ProxyTree:
        for _ in range(self.config.retry_cap * 10):
            t = creator.ProxyTree(self._new_tree())
            if self._acceptable(t):
                return t
        return creator.ProxyTree(self._new_tree())

    def _mate(self, a, b):
        for _ in range(self.config.retry_cap):
            x, y = cx_one_point(self.toolbox.clone(a), self.toolbox.clone(b))
            if self._acceptable(x):
                return x, y
            self.stats_counts["regenerated"] += 1
        return self._fresh(), b

    def _mutate(self, ind):
        for _ in range(self.config.retry_cap):
            x = self.toolbox.clone(ind)
            if random.random() < 0.5:
                (x,) = gp.mutNodeReplacement(x, self.pset)
            else:
                (x,) = gp.mutUniform(x, self.toolbox.expr_mut, self.pset)
            if self._acceptable(x):
                return (x,)
            self.stats_counts["regenerated"] += 1
        return (self._fresh(),)

    def _toolbox(self) -> base.Toolbox:
        tb = base.Toolbox()
        tb.register("expr_mut", gen_typed, min_=0, max_=2)
        tb.register("individual", self._fresh)
        tb.register("population", tools.initRepeat, list, tb.individual)
        tb.register("mate", self._mate)
        tb.register("mutate", self._mutate)
        tb.register("select", select_elitist_tournament, tournsize=self.config.tournsize,
                    elite=self.config.elite)
        tb.register("map", self._counting_map)
        tb.register("evaluate", self._unused_evaluate)
        return tb

    @staticmethod
    def _unused_evaluate(ind):  # pragma: no cover - replaced by batch evaluation
        raise RuntimeError("evaluate is batched through Search.evaluate_population")

    # -- evaluation ---------------------------------------------------------------------

    def evaluate_population(self, individuals: list) -> int:
        """Give every individual without fitness one; returns the number of new evaluations."""
        todo = [ind for ind in individuals if not ind.fitness.valid]
        pending: dict[str, list] = {}
        for ind in todo:
            v = self._verdict(ind)
            if not v.ok:
                ind.fitness.values = (INVALID_FITNESS,)
                ind.tau = float("nan")
                continue
            if str(ind) in self.invalid:
                self._assign(ind, INVALID_FITNESS, float("nan"), 1)
                continue
            if self.config.memoize and v.key in self.cache:
                fit, tau = self.cache[v.key]
                self._assign(ind, fit, tau, v.sign)
                self.stats_counts["cache_hits"] += 1
                continue
            pending.setdefault(v.key, []).append((ind, v.sign))
        reps = [group[0] for group in pending.values()]
        results = list(self.mapper(self.score_fn, [str(ind) for ind, _ in reps]))
        retry: list = []
        for (key, group), (rep_ind, rep_sign), (fit, tau) in zip(
                pending.items(), reps, results, strict=True):
            if fit == INVALID_FITNESS:
                # Invalid (nan, overflow) is a property of this tree, not of its key: a
                # key-equal proxy can be valid, so it is scored on its own.
                self._assign(rep_ind, fit, tau, 1)
                self.invalid.add(str(rep_ind))
                retry += [(ind, s) for ind, s in group[1:] if str(ind) != str(rep_ind)]
                for ind, _ in group[1:]:
                    if str(ind) == str(rep_ind):
                        self._assign(ind, fit, tau, 1)
                continue
            base_fit, base_tau = fit * rep_sign, tau * rep_sign
            self.cache[key] = (base_fit, base_tau)
            for ind, sign in group:
                self._assign(ind, base_fit, base_tau, sign)
        if retry:
            extra = list(self.mapper(self.score_fn, [str(ind) for ind, _ in retry]))
            for (ind, _), (fit, tau) in zip(retry, extra, strict=True):
                self._assign(ind, fit, tau, 1)
                if fit == INVALID_FITNESS:
                    self.invalid.add(str(ind))
            self.stats_counts["evaluated"] += len(retry)
        self.stats_counts["evaluated"] += len(reps)
        return len(reps)

    @staticmethod
    def _assign(ind, fit: float, tau: float, sign: int) -> None:
        ind.fitness.values = (fit * sign if fit != INVALID_FITNESS else fit,)
        ind.tau = tau * sign

    # -- the loop -----------------------------------------------------------------------

    def _stats(self) -> tools.Statistics:
        s = tools.Statistics(lambda ind: ind.fitness.values[0])
        valid = lambda xs: [x for x in xs if x > INVALID_FITNESS] or [np.nan]  # noqa: E731
        s.register("best", lambda xs: float(np.max(xs)))
        s.register("median", lambda xs: float(np.median(valid(xs))))
        s.register("invalid", lambda xs: int(sum(x <= INVALID_FITNESS for x in xs)))
        return s

    def start(self) -> SearchState:
        """Seed everything, draw and score the initial population."""
        with private_rng():
            return self._start()

    def _start(self) -> SearchState:
        """Seed everything, draw and score the initial population."""
        seed_all(self.config.seed)
        pop = []
        for _ in range(self.config.population):
            pop.append(self._fresh())
        n = self.evaluate_population(pop)
        hof = tools.HallOfFame(10)
        hof.update(pop)
        log = tools.Logbook()
        log.header = list(_LOG_HEADER)
        log.record(gen=0, nevals=n, **self._stats().compile(pop))
        return SearchState(0, pop, hof, log, self.cache, rng_state(), self._meta(),
                           dict(self.stats_counts))

    def _meta(self) -> dict:
        return {"version": __version__, "config": asdict(self.config)}

    def step(self, state: SearchState) -> SearchState:
        """One generation (see :meth:`_step`) with the search's private RNG."""
        with private_rng():
            return self._step(state)

    def _step(self, state: SearchState) -> SearchState:
        """One generation of DEAP's eaMuPlusLambda."""
        self.pop_keys = {self._verdict(ind).key for ind in state.population}
        before = self.stats_counts["evaluated"]
        pop, _ = algorithms.eaMuPlusLambda(
            state.population, self.toolbox, mu=self.config.population,
            lambda_=self.config.offspring, cxpb=self.config.cxpb, mutpb=self.config.mutpb,
            ngen=1, halloffame=state.hof, verbose=False)
        n = self.stats_counts["evaluated"] - before
        state.generation += 1
        state.population = pop
        state.logbook.record(gen=state.generation, nevals=n, **self._stats().compile(pop))
        state.rng = rng_state()
        state.counts = dict(self.stats_counts)
        return state

    def _counting_map(self, fn, individuals):
        """eaMuPlusLambda evaluates through toolbox.map: route it to the batched evaluation."""
        individuals = list(individuals)
        self.evaluate_population(individuals)
        return [ind.fitness.values for ind in individuals]

    def run(self, state: SearchState | None = None, progress: Callable | None = None,
            checkpoint_dir: Path | None = None) -> SearchState:
        """Run (or resume) to the configured number of generations."""
        state = state or self.start()
        if checkpoint_dir is not None and state.generation == 0:
            save_checkpoint(state, checkpoint_dir)
        while state.generation < self.config.generations:
            state = self.step(state)
            if checkpoint_dir is not None:
                save_checkpoint(state, checkpoint_dir)
            if progress is not None:
                progress(state)
        return state

    def resume(self, state: SearchState) -> None:
        """Prepare this search to continue ``state`` (restores RNGs, fitness cache, counters)."""
        self.cache = state.cache
        self.stats_counts.update(state.counts)
        set_rng_state(state.rng)


# -- checkpoints ------------------------------------------------------------------------------


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
    """Write ``state`` atomically (temporary file in the same folder, fsync, rename).

    The checkpoint is JSON: population and hall of fame as proxy strings with their fitness,
    the logbook, the fitness cache, the counters and the RNG states of Python, NumPy and torch.
    Floats round-trip exactly, so a resumed search continues bit for bit.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
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
    tmp = directory / f"{CHECKPOINT}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(directory / CHECKPOINT)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _read_checkpoint(directory: Path) -> tuple[Path, dict]:
    """The checkpoint's JSON, after checking that this version can continue it."""
    path = Path(directory) / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"no checkpoint in {directory} (expected {CHECKPOINT})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable lpzero-gp checkpoint "
                              f"({_first_line(exc)})") from None
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
        raise CheckpointError(f"checkpoint {path} is damaged ({_first_line(exc)})") from None


def _config_dict(raw: dict) -> dict:
    """``asdict(SearchConfig)`` of a config read back from JSON (lists become tuples again)."""
    cfg = dict(raw)
    cfg["aggregations"] = tuple(cfg["aggregations"])
    return asdict(SearchConfig(**cfg))


def load_checkpoint(directory: Path, pset: gp.PrimitiveSetTyped) -> SearchState:
    """Read a checkpoint written by :func:`save_checkpoint` (CheckpointError if unusable)."""
    path, d = _read_checkpoint(directory)

    def revive(items):
        out = []
        for s, fit, tau in items:
            ind = creator.ProxyTree(parse_tree(s, pset))  # typed names parse as they are
            ind.fitness.values = tuple(fit)
            ind.tau = tau
            out.append(ind)
        return out

    try:
        hof = tools.HallOfFame(10)
        hof.items = revive(d["hof"])  # kept in stored order: re-inserting would reorder ties
        hof.keys = [ind.fitness for ind in reversed(hof.items)]
        log = tools.Logbook()
        log.header = list(_LOG_HEADER)
        for rec in d["logbook"]:
            log.record(**rec)
        meta = dict(d["meta"])
        meta["config"] = _config_dict(meta["config"])
        return SearchState(int(d["generation"]), revive(d["population"]), hof, log,
                           {k: (v[0], v[1]) for k, v in d["cache"].items()},
                           _decode_rng(d["rng"]), meta, dict(d["counts"]))
    except (KeyError, TypeError, ValueError, SpaceError, SyntaxError) as exc:
        raise CheckpointError(f"checkpoint {path} is damaged ({_first_line(exc)})") from None
