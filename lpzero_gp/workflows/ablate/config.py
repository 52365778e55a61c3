"""What an ablation runs: the budget, the seeds and the values each experiment varies, read
from the command's options."""

from __future__ import annotations

from dataclasses import dataclass

from lpzero_gp.errors import OptionError
from lpzero_gp.search import SearchConfig
from lpzero_gp.workflows.options import (
    ABLATE_BUDGETS,
    AGG,
    DEFAULT_EVALUATIONS,
    EXPERIMENTS,
    AblateOptions,
    resolve_budget,
)
from lpzero_gp.workflows.optionspec import spelled

#: The three arms of the ``rps`` experiment, in plotting order, with their labels.
ARMS = {"evolution_rps": "evolution with RPS", "evolution_no_rps": "evolution without RPS",
        "random": "random search"}
COUNTING = ("proxies evaluated = proxies whose scores were computed on the search "
            "architectures, invalid ones included; a repeat of a proxy already scored (the same "
            "string or, with RPS, the same canonical form as a valid one) is a free lookup and "
            "not counted")
#: The arms of the ``stats`` experiment: the same evolution (with RPS) on real statistics and
#: on the null control (shared with the ``rps`` experiment's evolution with RPS).
STATS_ARMS = {"real": "evolution_rps", "null": "null_rps"}
#: Generations in a row without a new evaluation after which an evolution stops early.
STALL_LIMIT = 25
#: Draws per budgeted evaluation after which random search stops early (tiny op sets).
DRAW_LIMIT = 50


@dataclass(frozen=True)
class AblationConfig:
    """What to run: the budget, the search seeds and the values each experiment varies."""

    evaluations: int = DEFAULT_EVALUATIONS
    seeds: tuple[int, ...] = (42, 43, 44)
    population: int = 80
    offspring: int = 40
    n_unary: int = 2
    aggregations: tuple[str, ...] = ("agg_mean", "agg_sum")
    populations: tuple[int, ...] = (80, 100, 200)
    n_unaries: tuple[int, ...] = (2, 3, 4, 5)
    experiments: tuple[str, ...] = EXPERIMENTS

    def search_config(self, seed: int, population: int | None = None,
                      n_unary: int | None = None, rps: bool = True) -> SearchConfig:
        """The evolution settings of one run."""
        return SearchConfig(population=population or self.population, offspring=self.offspring,
                            evaluations=self.evaluations, seed=seed,
                            n_unary=n_unary or self.n_unary, aggregations=self.aggregations,
                            rps=rps)

    def largest_population(self) -> int:
        """The largest population any planned run uses."""
        pops = [self.population] if {"rps", "n_unary"} & set(self.experiments) else []
        pops += list(self.populations) if "population" in self.experiments else []
        return max(pops)

    def validate(self) -> None:
        """Raise OptionError with one line for an unusable setting."""
        unknown = [e for e in self.experiments if e not in EXPERIMENTS]
        if not self.experiments or unknown:
            raise OptionError(f"unknown experiment {', '.join(unknown) or '(none)'}; choose "
                             f"from {', '.join(EXPERIMENTS)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise OptionError("give at least one search seed, each once")
        if any(p < 2 for p in self.populations) or not self.populations:
            raise OptionError("every population must be at least 2")
        if any(not 1 <= k <= 10 for k in self.n_unaries) or not self.n_unaries:
            raise OptionError("unary ops per branch must be between 1 and 10")
        too_big = []
        if {"rps", "n_unary"} & set(self.experiments) and self.population >= self.evaluations:
            too_big.append(spelled("population", self.population))
        if "population" in self.experiments and max(self.populations) >= self.evaluations:
            too_big.append(spelled("populations", ",".join(str(p) for p in self.populations)))
        if too_big:
            raise OptionError(f"{spelled('evaluations', self.evaluations)} must exceed the "
                              f"largest population ({self.largest_population()}) since the "
                              "initial population alone is evaluated in full: raise "
                              f"{spelled('evaluations')} or lower {' and '.join(too_big)}")
        for pop in {self.population, *self.populations}:
            for k in {self.n_unary, *self.n_unaries}:
                try:
                    self.search_config(self.seeds[0], pop, k).validate(spelled)
                except ValueError as exc:
                    raise OptionError(str(exc)) from None



def config_from_options(opts: AblateOptions) -> AblationConfig:
    """AblationConfig of the options: the ``budget`` preset with any given population,
    offspring and evaluations replacing its numbers (the rule of ``run``)."""
    (population, offspring, evaluations), _ = budget_of(opts)
    if opts.aggregation not in AGG:
        raise OptionError(f"unknown aggregation {opts.aggregation!r}; choose {', '.join(AGG)}")
    cfg = AblationConfig(
        evaluations=evaluations, seeds=tuple(opts.seed + i for i in range(opts.seeds)),
        population=population, offspring=offspring, n_unary=opts.n_unary,
        aggregations=AGG[opts.aggregation], populations=tuple(opts.populations),
        n_unaries=tuple(opts.n_unary_values), experiments=tuple(opts.experiments))
    cfg.validate()
    return cfg


def budget_of(opts: AblateOptions) -> tuple[tuple[int, int, int], str]:
    """(population, offspring, evaluations) of the options and where they come from."""
    return resolve_budget(ABLATE_BUDGETS, opts.budget, opts.population, opts.offspring,
                          opts.evaluations)

__all__ = [
    "ARMS", "AblationConfig", "COUNTING", "DRAW_LIMIT", "STALL_LIMIT", "STATS_ARMS", "budget_of",
    "config_from_options",
]
