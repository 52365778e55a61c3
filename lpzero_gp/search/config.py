"""Settings of a proxy search, and the DEAP classes of its individuals."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from deap import base, creator, gp

from lpzero_gp.proxy.parse import typed_string

# DEAP creator classes live at module level so individuals pickle. A search's str(ind) is the
# typed string: its caches, invalid set and checkpoints key on it and read it back exactly
# (the plain string, format_tree, leaves out which overload a node is).
if not hasattr(creator, "ProxyFitness"):
    creator.create("ProxyFitness", base.Fitness, weights=(1.0,))
if not hasattr(creator, "ProxyTree"):
    creator.create("ProxyTree", gp.PrimitiveTree, fitness=creator.ProxyFitness,
                   __str__=typed_string)

#: What a search optimises: ``rho`` (the rank correlation on the search split, one number) or
#: ``pareto`` (NSGA-II survivors on rank correlation, cost class and tree size).
OBJECTIVES = ("rho", "pareto")


def _field(name: str) -> str:
    """An option as a Python caller names it: its field name."""
    return name


def loop_checks(population: int, offspring: int, cxpb: float, mutpb: float,
                tournsize: int, spell: Callable[[str], str] = _field) -> list[tuple[bool, str]]:
    """(ok, problem) of the knobs every (mu + lambda) search of the package shares, named the
    same everywhere: the proxy search here and the sub-network search. ``spell`` names an
    option as the reader wrote it (the command line passes one giving its flags)."""
    return [
        (population >= 2, f"{spell('population')} must be at least 2"),
        (offspring >= 1, f"{spell('offspring')} must be at least 1"),
        (0 <= cxpb <= 1 and 0 <= mutpb <= 1 and cxpb + mutpb <= 1,
         f"{spell('cxpb')} and {spell('mutpb')} must be in [0, 1] and sum to at most 1"),
        (tournsize >= 1, "tournament size must be at least 1"),
    ]


@dataclass
class SearchConfig:
    """Search settings.

    The paper's numbers are the defaults where the paper gives one: population 80, crossover
    and mutation probabilities 0.5, two unary ops per branch, seed 42, and 1,000 offspring
    evaluations (its 1,000 steady-state iterations). The loop is DEAP's (mu + lambda), so 40
    offspring per generation, tournaments of 3, 2 elites and the retry cap of RPS are ours;
    the default aggregation is the reference code's block mean (docs/specs.md §4.6).
    ``objective`` picks the survivor selection: ``rho``, elitist tournaments on the rank
    correlation; ``pareto``, NSGA-II on (rank correlation, cost class, tree size)
    (:func:`~lpzero_gp.search.loop.objectives`).
    """

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
    objective: str = "rho"

    @property
    def generations(self) -> int:
        """Generations needed to spend the evaluation budget."""
        return max(1, math.ceil(self.evaluations / self.offspring))

    def describe(self) -> str:
        """The budget in words, e.g. ``population 80, offspring 40, evaluations 1,000 (25
        generations)``."""
        gens = self.generations
        return (f"population {self.population}, offspring {self.offspring}, evaluations "
                f"{self.evaluations:,} ({gens} generation{'' if gens == 1 else 's'})")

    def validate(self, spell: Callable[[str], str] = _field) -> None:
        """Raise ValueError with one line for an absurd setting, naming the option with
        ``spell`` (default: its field name; the workflows pass the command line's flags)."""
        checks = [
            *loop_checks(self.population, self.offspring, self.cxpb, self.mutpb, self.tournsize,
                         spell),
            (self.evaluations >= 1, f"{spell('evaluations')} must be at least 1"),
            (1 <= self.n_unary <= 10, f"{spell('n_unary')} must be between 1 and 10"),
            (self.shape in ("lpzero", "deep"), f"{spell('shape')} must be 'lpzero' or 'deep'"),
            (3 <= self.max_height <= 30, f"{spell('max_height')} must be between 3 and 30"),
            (0 <= self.elite <= self.population, "elite must be between 0 and population"),
            (bool(self.aggregations) and set(self.aggregations) <= {"agg_mean", "agg_sum"},
             f"{spell('aggregation')} must be mean, sum or both"),
            (self.objective in OBJECTIVES, f"{spell('objective')} must be 'rho' or 'pareto'"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

__all__ = ["OBJECTIVES", "SearchConfig", "loop_checks"]
