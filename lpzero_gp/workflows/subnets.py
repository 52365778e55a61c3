"""The ``lpzero-gp subnets`` workflow: rank and search a space's sub-networks with a proxy.

The sub-networks come from the space's capability (:meth:`~lpzero_gp.spaces.base.Space.
subnets`, a :class:`~lpzero_gp.spaces.base.SubnetSearchSpace`), so any space that offers them
works. :func:`rank_subnets` scores a user-supplied list of configurations;
:func:`search_subnets` runs the (mu + lambda) loop of :mod:`lpzero_gp.search.loop` over the
capability's genomes to maximise a proxy under a parameter budget (over-budget children are
repaired by the capability's one-step shrink until they fit), with plain tournament survivor
selection and its own seeded ``random.Random``. Scores are cached per configuration, so a
configuration is scored once however often the search meets it. :func:`run_subnets` is the
command: it opens the space through the registry, builds the calibration batch as ``run`` and
``eval`` do, searches and writes ``subnets.json`` and ``subnets.csv``. How well a proxy ranks
sub-networks is ``eval`` on the space, the same code as for every space.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from deap import base, creator, tools

from lpzero_gp.errors import LpzeroError, OptionError, SpaceError
from lpzero_gp.score.subnets import SubnetScorer, is_feature
from lpzero_gp.search.config import loop_checks
from lpzero_gp.search.loop import evaluate_invalid, evolve
from lpzero_gp.search.operators import cx_uniform, mut_uniform_int, sel_tournament
from lpzero_gp.spaces import get_space, names
from lpzero_gp.spaces.base import Space, SubnetConfig, SubnetSearchSpace
from lpzero_gp.spaces.progress import bar as progress_bar
from lpzero_gp.spaces.progress import honours_quiet
from lpzero_gp.stats.cache import models_folder
from lpzero_gp.stats.cache import resolve as stats_cache
from lpzero_gp.versions import versions
from lpzero_gp.workflows.options import Report, SubnetOptions
from lpzero_gp.workflows.optionspec import spelled

#: The proxy maximised when neither the command nor the space names one: the parameter count
#: every capability has (the largest sub-network within the budget, the naive baseline).
DEFAULT_PROXY = "params"
#: The cost feature a parameter budget limits (every capability has it).
SIZE = "params"

# DEAP creator classes live at module level so individuals pickle.
if not hasattr(creator, "SubnetFitness"):
    creator.create("SubnetFitness", base.Fitness, weights=(1.0,))
if not hasattr(creator, "SubnetIndividual"):
    creator.create("SubnetIndividual", list, fitness=creator.SubnetFitness)


def rank_subnets(
    subnets: SubnetSearchSpace,
    configs: Sequence[Sequence[int]],
    proxy: str,
    batch: dict[str, torch.Tensor],
) -> list[tuple[SubnetConfig, float]]:
    """``(config, score)`` for every config, best first (invalid scores, NaN, last).

    ``configs`` are configs of ``subnets``; ``proxy`` is a cost feature (``params``), a named
    proxy or any proxy expression; ``batch`` is the calibration batch.
    """
    scorer = SubnetScorer(subnets, batch)
    valid = [subnets.validate(c) for c in configs]
    if valid:
        scorer.check(proxy)
    scored = [(c, scorer.score(c, proxy)) for c in valid]
    return sorted(scored, key=lambda cs: (math.isnan(cs[1]), 0.0 if math.isnan(cs[1]) else -cs[1]))


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of the evolutionary search (defaults sized for a small model on a small CPU)."""

    population: int = 16
    offspring: int = 16
    generations: int = 8
    cxpb: float = 0.5
    mutpb: float = 0.4
    gene_prob: float = 0.2
    tournsize: int = 3
    top_k: int = 10
    seed: int = 42
    #: Fraction of the maximal sub-network's ``params`` (<= 1) or an absolute count (> 1).
    budget_params: float | None = None

    def check(self) -> None:
        """OptionError on impossible settings (the shared loop knobs checked as the proxy
        search checks them)."""
        problems = [msg for ok, msg in loop_checks(self.population, self.offspring, self.cxpb,
                                                   self.mutpb, self.tournsize, spelled)
                    if not ok]
        if self.generations < 0:
            problems.append(f"{spelled('generations')} must be at least 0")
        if not 0 < self.gene_prob <= 1:
            problems.append("the per-gene mutation probability must lie in (0, 1]")
        if self.top_k < 1:
            problems.append(f"{spelled('top_k')} must be at least 1")
        if problems:
            raise OptionError(problems[0])
        if self.budget_params is not None and not self.budget_params > 0:
            raise OptionError(f"{spelled('budget_params')} must be > 0, got "
                              f"{self.budget_params}")


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


def _size(subnets: SubnetSearchSpace, config: SubnetConfig) -> int:
    """The parameter count a budget limits."""
    return int(subnets.features(config)[SIZE])


def budget_limit(subnets: SubnetSearchSpace, budget: float | None) -> int | None:
    """The absolute ``params`` limit of a budget (fraction of the maximal network, or count)."""
    if budget is None:
        return None
    full = _size(subnets, subnets.maximal())
    limit = int(math.floor(budget * full)) if budget <= 1 else int(budget)
    smallest = _size(subnets, subnets.minimal())
    if limit < smallest:
        raise OptionError(
            f"parameter budget {limit} is below the minimal sub-network's {smallest} params "
            f"({smallest / full:.3f} of the maximal {full})"
        )
    return limit


def _repair(subnets: SubnetSearchSpace, ind: list[int], limit: int | None,
            rng: random.Random) -> None:
    """Shrink the individual one step at a time until it fits the budget."""
    if limit is None:
        return
    while _size(subnets, subnets.decode(ind)) > limit:
        if not subnets.shrink(ind, rng):  # pragma: no cover - budget_limit() checked minimal
            raise OptionError("no sub-network fits the parameter budget")


def _entry(subnets: SubnetSearchSpace, config: SubnetConfig, score: float, full: int,
           limit: int | None) -> dict[str, Any]:
    cost = subnets.features(config)
    return {
        "score": score if math.isfinite(score) else None,
        **cost,
        "params_fraction": cost[SIZE] / full,
        "within_budget": limit is None or cost[SIZE] <= limit,
        "config": list(config),
    }


def _toolbox(scorer: SubnetScorer, proxy: str, settings: SearchSettings, limit: int | None,
             rng: random.Random) -> base.Toolbox:
    """Uniform crossover, uniform integer mutation, tournament survivors; ``evaluate`` repairs
    an individual to the budget before scoring it (NaN scores become -inf)."""
    subnets = scorer.subnets
    uppers = [n - 1 for n in subnets.choices]

    def evaluate(ind: list[int]) -> tuple[float]:
        _repair(subnets, ind, limit, rng)
        value = scorer.score(subnets.decode(ind), proxy)
        return (-math.inf if math.isnan(value) else value,)

    tb = base.Toolbox()
    tb.register("index", lambda: [rng.randint(0, u) for u in uppers])
    tb.register("individual", tools.initIterate, creator.SubnetIndividual, tb.index)
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("evaluate", evaluate)
    tb.register("mate", cx_uniform, indpb=0.5, rng=rng)
    tb.register("mutate", mut_uniform_int, low=[0] * len(uppers), up=uppers,
                indpb=settings.gene_prob, rng=rng)
    tb.register("select", sel_tournament, tournsize=settings.tournsize, rng=rng)
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
    settings.check()
    subnets = scorer.subnets
    limit = budget_limit(subnets, settings.budget_params)
    full = _size(subnets, subnets.maximal())
    t0 = time.perf_counter()
    scorer.check(proxy)
    rng = random.Random(settings.seed)
    toolbox = _toolbox(scorer, proxy, settings, limit, rng)
    hof = tools.HallOfFame(settings.top_k)
    bar = progress_bar(total=settings.generations + 1, desc=f"subnets {proxy[:30]}", unit="gen",
                       disable=not progress, leave=False)
    history, record = _history(scorer, proxy, bar)

    pop = toolbox.population(n=settings.population)
    for ind, seed in zip(pop, subnets.seeds(), strict=False):
        ind[:] = subnets.encode(seed)  # seeds; repaired to the budget when evaluated
    evaluate_invalid(toolbox, pop)
    hof.update(pop)
    record(0, pop)
    evolve(pop, toolbox, rng, mu=settings.population, lambda_=settings.offspring,
           cxpb=settings.cxpb, mutpb=settings.mutpb, ngen=settings.generations,
           halloffame=hof, on_generation=record)
    bar.close()
    return _result(scorer, proxy, settings, limit, full, hof, list(history),
                   time.perf_counter() - t0)


def _result(scorer: SubnetScorer, proxy: str, settings: SearchSettings, limit: int | None,
            full: int, hof: tools.HallOfFame, history: list[dict[str, Any]],
            seconds: float) -> SearchResult:
    """The search's result: the hall of fame's finite entries and the named sub-networks."""
    subnets = scorer.subnets
    best = [
        _entry(subnets, subnets.decode(ind), ind.fitness.values[0], full, limit)
        for ind in hof
        if math.isfinite(ind.fitness.values[0])
    ]
    named = {
        name: _entry(subnets, config, scorer.score(config, proxy), full, limit)
        for name, config in subnets.named().items()
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


# ------------------------------------------------------------------------------- the command


def subnet_spaces() -> list[str]:
    """The registered spaces that offer sub-networks (a space that cannot be opened with its
    default options is left out)."""
    found = []
    for name in names():
        try:
            offers = get_space(name).has_subnets
        except (LpzeroError, ImportError, OSError):
            continue
        if offers:
            found.append(name)
    return found


def default_space() -> str:
    """The one registered space that offers sub-networks; SpaceError if none or several."""
    found = subnet_spaces()
    if len(found) == 1:
        return found[0]
    if not found:
        raise SpaceError("no registered space offers sub-networks to search")
    raise SpaceError(f"several spaces offer sub-networks ({', '.join(found)}): give "
                     f"{spelled('space')}")


def open_subnets(opts: SubnetOptions) -> tuple[Space, SubnetSearchSpace]:
    """The space of ``opts`` (opened through the registry) and its sub-networks."""
    name = opts.space or default_space()
    space = get_space(name, **opts.space_options)
    space.model_cache = models_folder(stats_cache())  # $LPZERO_GP_CACHE_DIR / _NO_CACHE
    subnets = space.subnets(opts.seed, opts.device) if space.has_subnets else None
    if subnets is None:
        offer = subnet_spaces()
        raise SpaceError(f"space {name!r} offers no sub-networks to search"
                         + (f"; these do: {', '.join(offer)}" if offer else ""))
    return space, subnets


@honours_quiet
def run_subnets(opts: SubnetOptions) -> Report:
    """Search sub-networks that maximise the proxy; writes subnets.json and subnets.csv.

    Returns the written result as ``data``, the printed summary as ``lines`` and the results
    folder as ``out``. ``threads`` sets torch's CPU thread count for the process (None leaves
    it alone): small models gain nothing from more threads, and a busy CPU makes extra
    threads spin.
    """
    from lpzero_gp.atomic import AtomicFolder, check_outside_cache, exists_error
    from lpzero_gp.workflows.context import calibration_batch

    opts.check()
    if opts.threads is not None:
        torch.set_num_threads(int(opts.threads))
    space, subnets = open_subnets(opts)
    out = Path(opts.out) if opts.out else Path("runs") / f"subnets-{subnets.name}-s{opts.seed}"
    if out.exists() and not opts.force:
        raise exists_error(out, spelled("force", True))
    check_outside_cache(out, stats_cache())  # the cache its models are kept in
    t0 = time.perf_counter()
    batch, info = calibration_batch(opts.context(space.name), space)
    settings = SearchSettings(
        population=opts.population,
        offspring=opts.offspring or opts.population,
        generations=opts.generations,
        top_k=opts.top_k,
        seed=opts.seed,
        budget_params=opts.budget_params,
    )
    proxy = _proxy_text(subnets, opts.proxy or subnets.default_proxy or DEFAULT_PROXY)
    result = search_subnets(SubnetScorer(subnets, batch), proxy, settings,
                            progress=not opts.quiet)
    meta = {**subnets.describe(), "calibration": info,
            "versions": versions("torch", *subnets.packages)}
    data = {**result.as_dict(), "meta": meta, "seconds_total": time.perf_counter() - t0}
    with AtomicFolder(out, force=opts.force, force_name=spelled("force", True)) as rf:
        rf.json("subnets.json", data)
        rf.csv("subnets.csv", _csv_rows(result.best, subnets.table_features))
    return Report(data, subnet_lines(data, out), out=out)


def _proxy_text(subnets: SubnetSearchSpace, proxy: str) -> str:
    """A cost feature or named proxy as given; any other proxy input (an exported form, a JSON
    file, a results folder) read into its proxy string."""
    from lpzero_gp.proxy.named import NAMED
    from lpzero_gp.proxy.parse import format_tree
    from lpzero_gp.proxy.read import read_proxy

    if is_feature(subnets, proxy) or proxy in NAMED:
        return proxy
    return format_tree(read_proxy(proxy))


def _csv_rows(best: list[dict[str, Any]], features: Sequence[str]) -> list[dict[str, Any]]:
    """One row per best sub-network: rank, score, the table's cost features, the fraction of
    the maximal network's params and the config."""
    cols = ("score", *features, "params_fraction")
    return [
        {"rank": i + 1, **{c: b[c] for c in cols},
         "config": " ".join(str(v) for v in b["config"])}
        for i, b in enumerate(best)
    ]


def subnet_lines(data: dict[str, Any], out: Path) -> list[str]:
    """The printed summary of a sub-network search: named and best sub-networks."""
    lim = data["budget"]["limit_params"]
    lines = [f"proxy {data['proxy']}  evaluated {data['evaluated']} sub-networks "
             f"({data['invalid']} invalid) in {data['seconds_total']:.1f}s  budget "
             f"{'none' if lim is None else f'{lim} params'}"]
    for name, e in data["named"].items():
        lines.append(f"  {name:9s} score {_num(e['score'])}  params {e['params']}")
    for i, b in enumerate(data["best"][:5]):
        lines.append(f"  best {i + 1}    score {_num(b['score'])}  params {b['params']} "
                     f"({b['params_fraction']:.3f})")
    lines.append(f"results: {out}/subnets.json, {out}/subnets.csv")
    return lines


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"

__all__ = [
    "SearchSettings", "budget_limit", "default_space", "open_subnets", "rank_subnets",
    "run_subnets", "search_subnets",
]
