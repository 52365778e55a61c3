"""The runs of an ablation: evolution (with or without RPS) and random search under one
evaluation budget, on scorers of the search and validation architectures shared by every run."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

from lpzero_gp.errors import OptionError
from lpzero_gp.proxy.generate import gen_lpzero
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.score.fitness import INVALID_FITNESS
from lpzero_gp.score.scoring import Scorer
from lpzero_gp.search import Search, SearchConfig
from lpzero_gp.stats.store import Dataset
from lpzero_gp.workflows.ablate.config import DRAW_LIMIT, STALL_LIMIT, STATS_ARMS, AblationConfig
from lpzero_gp.workflows.context import available_inputs, search_pset
from lpzero_gp.workflows.splits import Choice


class AblationData:
    """Scorers of the search and validation architectures, shared by every run; ``null``
    holds the same for the null control (the ``stats`` experiment); ``splits`` says how the
    architectures were chosen (None when given directly)."""

    def __init__(self, search: Dataset, search_truth, validation: Dataset, validation_truth,
                 null: AblationData | None = None, splits: Choice | None = None):
        self.search = Scorer(search, search_truth, with_tau=False)
        self.validation = Scorer(validation, validation_truth, with_tau=False)
        self.available = available_inputs(search)
        self.n_search = search.n_archs
        self.n_validation = validation.n_archs
        self.null = null
        self.splits = splits

    def validation_scores(self, proxy: str | None):
        """Scores of ``proxy`` on the validation architectures (None if none or pruned)."""
        return None if proxy is None else self.validation.scores(proxy)

    def validation_rho(self, proxy: str | None) -> float:
        """Spearman rho of ``proxy`` on the validation architectures (nan if invalid)."""
        if proxy is None:
            return float("nan")
        r = self.validation.rank(proxy, with_tau=False)
        return r.rho if r.valid else float("nan")


@dataclass
class RunResult:
    """One search (or random search) under the evaluation budget."""

    arm: str
    seed: int
    population: int | None
    n_unary: int
    evaluated: int
    invalid: int
    lookups: int
    proxy: str | None
    search_rho: float
    validation_rho: float
    #: (proxies evaluated, best search rho so far) where the best changes, plus the end.
    curve: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        """Everything but the timing (so reruns give identical files)."""
        d = asdict(self)
        del d["seconds"]
        d["curve"] = [[int(x), json_number(y)] for x, y in self.curve]
        return {k: json_number(v) if isinstance(v, float) else v for k, v in d.items()}


def json_number(x: float) -> float | None:
    """A finite float for JSON, None for nan and the invalid-fitness marker."""
    return None if x is None or not math.isfinite(x) or x <= INVALID_FITNESS else float(x)


def _compress(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The step function's change points (first point, every change, last point)."""
    out: list[tuple[int, float]] = []
    for i, (x, y) in enumerate(points):
        if not out or y != out[-1][1] or i == len(points) - 1:
            out.append((x, y))
    return out


class _Recorder:
    """Wraps a scorer to count the invalid proxies among the evaluated ones."""

    def __init__(self, scorer: Callable):
        self.scorer = scorer
        self.calls = 0
        self.invalid = 0

    def __call__(self, proxy: str) -> tuple[float, float]:
        fit, tau = self.scorer(proxy)
        self.calls += 1
        self.invalid += fit <= INVALID_FITNESS
        return fit, tau


def evolution_run(data: AblationData, cfg: SearchConfig, budget: int, arm: str) -> RunResult:
    """Evolve until exactly ``budget`` proxies are evaluated; best-so-far after each generation.

    The last generation breeds only as many offspring as the budget has left (a generation
    never evaluates more proxies than it breeds), so no arm gets more evaluations than another.
    """
    t0 = time.perf_counter()
    cfg = replace(cfg, evaluations=budget)
    rec = _Recorder(data.search)
    s = Search(search_pset(cfg), rec, cfg, available=data.available)
    state = s.start()

    def best() -> float:
        return state.hof[0].fitness.values[0] if len(state.hof) else INVALID_FITNESS

    points = [(rec.calls, best())]
    stalls = 0
    while rec.calls < budget and stalls < STALL_LIMIT:
        before = rec.calls
        s.config.offspring = min(cfg.offspring, budget - before)
        state = s.step(state)
        stalls = stalls + 1 if rec.calls == before else 0
        points.append((rec.calls, best()))
    top = state.hof[0] if len(state.hof) else None
    valid = top is not None and top.fitness.values[0] > INVALID_FITNESS
    proxy = format_tree(top) if valid else None
    return RunResult(arm, cfg.seed, cfg.population, cfg.n_unary, rec.calls, rec.invalid,
                     s.stats_counts["cache_hits"], proxy,
                     top.fitness.values[0] if valid else float("nan"),
                     data.validation_rho(proxy), _compress(points), time.perf_counter() - t0)


def random_run(data: AblationData, seed: int, budget: int, n_unary: int,
               aggregations: tuple[str, ...]) -> RunResult:
    """Random search: draw genotype-shaped trees (no RPS) and score each until the budget."""
    t0 = time.perf_counter()
    rng = random.Random(seed)  # its own RNG: nothing else can change the draws
    pset = search_pset(SearchConfig(aggregations=aggregations))
    seen: set[str] = set()
    evaluated = invalid = lookups = draws = 0
    best, best_tree = INVALID_FITNESS, None
    points: list[tuple[int, float]] = []
    while evaluated < budget and draws < DRAW_LIMIT * budget:
        tree = gen_lpzero(pset, n_unary, aggregations, rng=rng)
        draws += 1
        text = str(tree)
        if text in seen:
            lookups += 1
            continue
        seen.add(text)
        fit, _ = data.search(text)
        evaluated += 1
        invalid += fit <= INVALID_FITNESS
        if fit > best:
            best, best_tree = fit, tree
        points.append((evaluated, best))
    proxy = format_tree(best_tree) if best_tree is not None else None
    return RunResult("random", seed, None, n_unary, evaluated, invalid, lookups, proxy,
                     best if proxy else float("nan"), data.validation_rho(proxy),
                     _compress(points), time.perf_counter() - t0)



RunKey = tuple[str, int | None, int, int]  # (arm, population, n_unary, seed)


def plan(cfg: AblationConfig) -> dict[str, dict[str, list[RunKey]]]:
    """The runs of each experiment, grouped by the value it varies (shared runs appear twice)."""
    out: dict[str, dict[str, list[RunKey]]] = {}
    if "rps" in cfg.experiments:
        out["rps"] = {
            "evolution_rps": [("evolution_rps", cfg.population, cfg.n_unary, s)
                              for s in cfg.seeds],
            "evolution_no_rps": [("evolution_no_rps", cfg.population, cfg.n_unary, s)
                                 for s in cfg.seeds],
            "random": [("random", None, cfg.n_unary, s) for s in cfg.seeds]}
    if "population" in cfg.experiments:
        out["population"] = {str(p): [("evolution_rps", p, cfg.n_unary, s) for s in cfg.seeds]
                             for p in cfg.populations}
    if "n_unary" in cfg.experiments:
        out["n_unary"] = {str(k): [("evolution_rps", cfg.population, k, s) for s in cfg.seeds]
                          for k in cfg.n_unaries}
    if "stats" in cfg.experiments:
        out["stats"] = {arm: [(arm_key, cfg.population, cfg.n_unary, s) for s in cfg.seeds]
                        for arm, arm_key in STATS_ARMS.items()}
    return out


def execute(data: AblationData, cfg: AblationConfig, key: RunKey) -> RunResult:
    """One planned run."""
    arm, pop, n_unary, seed = key
    if arm == "random":
        return random_run(data, seed, cfg.evaluations, n_unary, cfg.aggregations)
    if arm == "null_rps":
        if data.null is None:
            raise OptionError("the stats experiment needs the null control's statistics")
        scfg = cfg.search_config(seed, pop, n_unary, rps=True)
        return evolution_run(data.null, scfg, cfg.evaluations, arm)
    scfg = cfg.search_config(seed, pop, n_unary, rps=arm == "evolution_rps")
    return evolution_run(data, scfg, cfg.evaluations, arm)

__all__ = [
    "AblationData", "RunKey", "RunResult", "evolution_run", "execute", "json_number", "plan",
    "random_run",
]
