"""The DEAP search loop: typed trees, RPS-filtered variation, (mu + lambda) evolution.

Each generation is one call of ``deap.algorithms.eaMuPlusLambda`` with ``ngen=1``, so the
algorithm is DEAP's own while we get a hook between generations for progress, checkpoints and
resumption. Offspring that RPS rejects, or whose canonical key is already in the population,
are regenerated inside ``mate``/``mutate`` (the paper's Algorithm 1, line 13). Fitness goes
through ``toolbox.map``; proxies whose canonical key was scored before reuse that fitness
(with the key's sign) and cost no tensor work.
"""

from __future__ import annotations

import math
import os
import pickle
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from deap import algorithms, base, creator, gp, tools

from lpzero_gp import __version__
from lpzero_gp.fitness import INVALID_FITNESS
from lpzero_gp.generate import cx_one_point, gen_lpzero, gen_typed
from lpzero_gp.parse import parse_tree
from lpzero_gp.rps import RPS, Verdict

if not hasattr(creator, "ProxyFitness"):
    creator.create("ProxyFitness", base.Fitness, weights=(1.0,))
if not hasattr(creator, "ProxyTree"):
    creator.create("ProxyTree", gp.PrimitiveTree, fitness=creator.ProxyFitness)

CHECKPOINT = "checkpoint.pkl"


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


def rng_state() -> dict:
    """RNG states of Python, NumPy and torch."""
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state()}


def set_rng_state(state: dict) -> None:
    """Restore :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def seed_all(seed: int) -> None:
    """Seed Python, NumPy and torch from one seed."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


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
        tb.register("select", tools.selTournament, tournsize=self.config.tournsize)
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
            if self.config.memoize and v.key in self.cache:
                fit, tau = self.cache[v.key]
                self._assign(ind, fit, tau, v.sign)
                self.stats_counts["cache_hits"] += 1
                continue
            pending.setdefault(v.key, []).append((ind, v.sign))
        reps = [group[0] for group in pending.values()]
        results = list(self.mapper(self.score_fn, [str(ind) for ind, _ in reps]))
        for (key, group), (_, rep_sign), (fit, tau) in zip(
                pending.items(), reps, results, strict=True):
            base_fit = fit * rep_sign if fit != INVALID_FITNESS else fit
            base_tau = tau * rep_sign
            self.cache[key] = (base_fit, base_tau)
            for ind, sign in group:
                self._assign(ind, base_fit, base_tau, sign)
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
        seed_all(self.config.seed)
        pop = []
        for _ in range(self.config.population):
            pop.append(self._fresh())
        n = self.evaluate_population(pop)
        hof = tools.HallOfFame(10)
        hof.update(pop)
        log = tools.Logbook()
        log.header = ["gen", "nevals", "best", "median", "invalid"]
        log.record(gen=0, nevals=n, **self._stats().compile(pop))
        return SearchState(0, pop, hof, log, self.cache, rng_state(), self._meta())

    def _meta(self) -> dict:
        return {"version": __version__, "config": asdict(self.config)}

    def step(self, state: SearchState) -> SearchState:
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
        """Prepare this search to continue ``state`` (restores RNGs and the fitness cache)."""
        self.cache = state.cache
        set_rng_state(state.rng)


def save_checkpoint(state: SearchState, directory: Path) -> None:
    """Atomic checkpoint write: temporary file in the same folder, then rename."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (CHECKPOINT + f".tmp{os.getpid()}")
    payload = {
        "generation": state.generation,
        "population": [(str(ind), ind.fitness.values, getattr(ind, "tau", float("nan")))
                       for ind in state.population],
        "hof": [(str(ind), ind.fitness.values, getattr(ind, "tau", float("nan")))
                for ind in state.hof],
        "logbook": list(state.logbook),
        "cache": state.cache,
        "rng": state.rng,
        "meta": state.meta,
    }
    with open(tmp, "wb") as f:
        pickle.dump(payload, f)
    tmp.replace(directory / CHECKPOINT)


def load_checkpoint(directory: Path, pset: gp.PrimitiveSetTyped) -> SearchState:
    """Read a checkpoint written by :func:`save_checkpoint`."""
    with open(directory / CHECKPOINT, "rb") as f:
        d = pickle.load(f)

    def revive(items):
        out = []
        for s, fit, tau in items:
            ind = creator.ProxyTree(parse_tree(s, pset))  # typed names parse as they are
            ind.fitness.values = fit
            ind.tau = tau
            out.append(ind)
        return out

    hof = tools.HallOfFame(10)
    hof_items = revive(d["hof"])
    hof.update(hof_items)
    log = tools.Logbook()
    log.header = ["gen", "nevals", "best", "median", "invalid"]
    for rec in d["logbook"]:
        log.record(**rec)
    return SearchState(d["generation"], revive(d["population"]), hof, log, d["cache"],
                       d["rng"], d["meta"])
