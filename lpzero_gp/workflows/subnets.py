"""Rank and search LoNAS sub-networks with a zero-cost proxy.

:func:`rank_subnets` scores a user-supplied list of sub-network configurations;
:func:`search_subnets` runs the (mu + lambda) loop of :mod:`lpzero_gp.search.loop` over the
space's index vectors to maximise a proxy under a parameter budget (over-budget children are
repaired by shrinking random groups one step until they fit), with plain tournament survivor
selection and its own seeded ``random.Random``. Scores are cached per configuration, so a
configuration is scored once however often the search meets it.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from deap import base, creator, tools

from lpzero_gp.errors import OptionError
from lpzero_gp.score.subnets import SubnetScorer
from lpzero_gp.search.loop import evaluate_invalid, evolve
from lpzero_gp.search.operators import cx_uniform, mut_uniform_int, sel_tournament
from lpzero_gp.spaces.llama.cost import subnet_cost
from lpzero_gp.spaces.llama.space import LonasSpace, Subnet
from lpzero_gp.spaces.llama.supernet import LonasSupernet

# DEAP creator classes live at module level so individuals pickle.
if not hasattr(creator, "SubnetFitness"):
    creator.create("SubnetFitness", base.Fitness, weights=(1.0,))
if not hasattr(creator, "SubnetIndividual"):
    creator.create("SubnetIndividual", list, fitness=creator.SubnetFitness)


def rank_subnets(
    model: LonasSupernet,
    configs: Sequence[Sequence[int]],
    proxy: str,
    batch: dict[str, torch.Tensor],
    modules: str = "all",
    loss: str = "lm",
) -> list[tuple[Subnet, float]]:
    """``(config, score)`` for every config, best first (invalid scores, NaN, last).

    ``configs`` are flat NNCF lists of ``model.space``; ``proxy`` is a feature (``params``),
    a named proxy (``paper_llama``) or any proxy expression; ``batch`` holds ``input_ids``
    (and optionally next-token ``labels``).
    """
    scorer = SubnetScorer(model, batch, modules=modules, loss=loss)
    valid = [model.space.validate(c) for c in configs]
    if valid:
        scorer.check(proxy)
    scored = [(c, scorer.score(c, proxy)) for c in valid]
    return sorted(scored, key=lambda cs: (math.isnan(cs[1]), 0.0 if math.isnan(cs[1]) else -cs[1]))


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of the evolutionary search (defaults sized for the tiny model on a small CPU)."""

    population: int = 16
    offspring: int = 16
    generations: int = 8
    cx_prob: float = 0.5
    mut_prob: float = 0.4
    gene_prob: float = 0.2
    tournament: int = 3
    top_k: int = 10
    seed: int = 42
    #: Fraction of the maximal sub-network's ``params`` (<= 1) or an absolute count (> 1).
    budget_params: float | None = None

    def check(self) -> None:
        """OptionError on impossible settings."""
        if self.population < 2 or self.offspring < 1 or self.generations < 0:
            raise OptionError("need population >= 2, offspring >= 1 and generations >= 0")
        if not (0 <= self.cx_prob <= 1 and 0 <= self.mut_prob <= 1 and 0 < self.gene_prob <= 1):
            raise OptionError("crossover/mutation probabilities must lie in [0, 1]")
        if self.cx_prob + self.mut_prob > 1:
            raise OptionError("crossover + mutation probability must not exceed 1")
        if self.tournament < 1 or self.top_k < 1:
            raise OptionError("tournament size and top-k must be at least 1")
        if self.budget_params is not None and not self.budget_params > 0:
            raise OptionError(f"--budget-params must be > 0, got {self.budget_params}")


@dataclass
class SearchResult:
    """Best sub-networks found, with their scores and costs, and the search's history."""

    proxy: str
    best: list[dict[str, Any]]
    named: dict[str, dict[str, Any]]
    budget: dict[str, Any]
    settings: dict[str, Any]
    evaluated: int
    invalid: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def budget_limit(space: LonasSpace, budget: float | None) -> int | None:
    """The absolute ``params`` limit of a budget (fraction of the maximal network, or count)."""
    if budget is None:
        return None
    full = subnet_cost(space, space.maximal()).params
    limit = int(math.floor(budget * full)) if budget <= 1 else int(budget)
    smallest = subnet_cost(space, space.minimal()).params
    if limit < smallest:
        raise OptionError(
            f"parameter budget {limit} is below the minimal sub-network's {smallest} params "
            f"({smallest / full:.3f} of the maximal {full})"
        )
    return limit


def _repair(space: LonasSpace, ind: list[int], limit: int | None, rng: random.Random) -> None:
    """Shrink random groups one step at a time until the individual fits the budget."""
    if limit is None:
        return
    while subnet_cost(space, space.decode(ind)).params > limit:
        room = [i for i, d in enumerate(space.dims_table) if ind[i] < len(d.values) - 1]
        if not room:  # pragma: no cover - budget_limit() guarantees the minimal network fits
            raise OptionError("no sub-network fits the parameter budget")
        ind[rng.choice(room)] += 1


def _entry(
    space: LonasSpace, config: Subnet, score: float, full: int, limit: int | None
) -> dict[str, Any]:
    cost = subnet_cost(space, config)
    return {
        "score": score if math.isfinite(score) else None,
        **cost.as_dict(),
        "params_fraction": cost.params / full,
        "within_budget": limit is None or cost.params <= limit,
        "config": list(config),
    }


def _toolbox(scorer: SubnetScorer, proxy: str, settings: SearchSettings, limit: int | None,
             rng: random.Random) -> base.Toolbox:
    """Uniform crossover, uniform integer mutation, tournament survivors; ``evaluate`` repairs
    an individual to the budget before scoring it (NaN scores become -inf)."""
    space = scorer.supernet.space
    uppers = [len(d.values) - 1 for d in space.dims_table]

    def evaluate(ind: list[int]) -> tuple[float]:
        _repair(space, ind, limit, rng)
        value = scorer.score(space.decode(ind), proxy)
        return (-math.inf if math.isnan(value) else value,)

    tb = base.Toolbox()
    tb.register("index", lambda: [rng.randint(0, u) for u in uppers])
    tb.register("individual", tools.initIterate, creator.SubnetIndividual, tb.index)
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("evaluate", evaluate)
    tb.register("mate", cx_uniform, indpb=0.5, rng=rng)
    tb.register("mutate", mut_uniform_int, low=[0] * len(uppers), up=uppers,
                indpb=settings.gene_prob, rng=rng)
    tb.register("select", sel_tournament, tournsize=settings.tournament, rng=rng)
    return tb


def _history(scorer: SubnetScorer, proxy: str, bar: Any) -> tuple[tools.Logbook, Callable]:
    """A logbook of best and mean finite score per generation, and the callback that fills it."""
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    finite = lambda xs: [x for x in xs if math.isfinite(x)]  # noqa: E731
    stats.register("best", lambda xs: max(finite(xs)) if finite(xs) else None)
    stats.register("mean", lambda xs: sum(finite(xs)) / len(finite(xs)) if finite(xs) else None)
    log = tools.Logbook()

    def record(gen: int, pop: list[Any]) -> None:
        rec = stats.compile(pop)
        log.record(generation=gen, **rec, evaluated=scorer.scored(proxy))
        if rec["best"] is not None:
            bar.set_postfix(best=f"{rec['best']:.4g}")
        bar.update(1)

    return log, record


def search_subnets(
    scorer: SubnetScorer,
    proxy: str,
    settings: SearchSettings = SearchSettings(),
    progress: bool = True,
) -> SearchResult:
    """Evolve sub-network configurations that maximise ``proxy`` within the budget."""
    from tqdm.auto import tqdm

    settings.check()
    space = scorer.supernet.space
    limit = budget_limit(space, settings.budget_params)
    full = subnet_cost(space, space.maximal()).params
    t0 = time.perf_counter()
    scorer.check(proxy)
    rng = random.Random(settings.seed)
    toolbox = _toolbox(scorer, proxy, settings, limit, rng)
    hof = tools.HallOfFame(settings.top_k)
    bar = tqdm(total=settings.generations + 1, desc=f"subnets {proxy[:30]}", unit="gen",
               disable=not progress, leave=False)
    history, record = _history(scorer, proxy, bar)

    pop = toolbox.population(n=settings.population)
    for ind, name in zip(pop, ("heuristic", "minimal", "maximal"), strict=False):
        ind[:] = space.encode(space.named(name))  # seeds; repaired to the budget when evaluated
    evaluate_invalid(toolbox, pop)
    hof.update(pop)
    record(0, pop)
    evolve(pop, toolbox, rng, mu=settings.population, lambda_=settings.offspring,
           cxpb=settings.cx_prob, mutpb=settings.mut_prob, ngen=settings.generations,
           halloffame=hof, on_generation=record)
    bar.close()
    return _result(scorer, proxy, settings, limit, full, hof, list(history),
                   time.perf_counter() - t0)


def _result(scorer: SubnetScorer, proxy: str, settings: SearchSettings, limit: int | None,
            full: int, hof: tools.HallOfFame, history: list[dict[str, Any]],
            seconds: float) -> SearchResult:
    """The search's result: the hall of fame's finite entries and the named sub-networks."""
    space = scorer.supernet.space
    best = [
        _entry(space, space.decode(ind), ind.fitness.values[0], full, limit)
        for ind in hof
        if math.isfinite(ind.fitness.values[0])
    ]
    named = {
        name: _entry(space, space.named(name), scorer.score(space.named(name), proxy), full, limit)
        for name in ("maximal", "heuristic", "minimal")
    }
    return SearchResult(
        proxy=proxy,
        best=best,
        named=named,
        budget={
            "budget_params": settings.budget_params,
            "limit_params": limit,
            "maximal_params": full,
        },
        settings=asdict(settings),
        evaluated=scorer.scored(proxy),
        invalid=scorer.invalid,
        seconds=seconds,
        history=history,
    )
