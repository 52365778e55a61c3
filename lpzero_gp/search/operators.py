"""DEAP's variation and selection operators, drawing from an explicit ``random.Random``.

DEAP's ``varOr``, ``selTournament``, ``gp.mutUniform``, ``gp.mutNodeReplacement``,
``tools.cxUniform`` and ``tools.mutUniformInt`` draw from the global ``random`` module, which any
thread may advance; these copies make exactly the same calls in the same order on the ``rng``
they are given, so a seed gives DEAP's result (``tests/test_operators.py`` checks each one).
:func:`select_nsga2` and :func:`non_dominated` call DEAP's ``tools.selNSGA2`` and
``tools.sortNondominated`` (which draw nothing) on objective vectors computed from the
individuals, which keep their own fitness.
"""

from __future__ import annotations

import copy
import functools
import random
from collections.abc import Callable, Sequence
from functools import wraps
from itertools import repeat
from operator import attrgetter
from typing import Any

from deap import base, creator, gp, tools


def var_or(population: list, toolbox: base.Toolbox, lambda_: int, cxpb: float, mutpb: float,
           *, rng: random.Random) -> list:
    """``algorithms.varOr``: ``lambda_`` children, each by crossover, mutation or reproduction.

    Only the first child of a crossover is kept; a reproduced child is the parent itself (not a
    copy), as in DEAP.
    """
    assert cxpb + mutpb <= 1.0, "crossover and mutation probabilities must sum to at most 1"
    offspring = []
    for _ in range(lambda_):
        op_choice = rng.random()
        if op_choice < cxpb:
            ind1, ind2 = [toolbox.clone(i) for i in rng.sample(population, 2)]
            ind1, ind2 = toolbox.mate(ind1, ind2)
            del ind1.fitness.values
            offspring.append(ind1)
        elif op_choice < cxpb + mutpb:
            ind = toolbox.clone(rng.choice(population))
            (ind,) = toolbox.mutate(ind)
            del ind.fitness.values
            offspring.append(ind)
        else:
            offspring.append(rng.choice(population))
    return offspring


def sel_random(individuals: list, k: int, *, rng: random.Random) -> list:
    """``tools.selRandom``: ``k`` individuals drawn with replacement."""
    return [rng.choice(individuals) for _ in range(k)]


def sel_tournament(individuals: list, k: int, tournsize: int, fit_attr: str = "fitness", *,
                   rng: random.Random) -> list:
    """``tools.selTournament``: the best of ``tournsize`` random aspirants, ``k`` times."""
    chosen = []
    for _ in range(k):
        aspirants = sel_random(individuals, tournsize, rng=rng)
        chosen.append(max(aspirants, key=attrgetter(fit_attr)))
    return chosen


def select_elitist_tournament(individuals: list, k: int, tournsize: int, elite: int, *,
                              rng: random.Random) -> list:
    """The ``elite`` best survive unconditionally; the rest by tournament selection.

    Plain tournament survivor selection can lose the best proxy between generations; keeping a
    couple of elites makes the best fitness per generation monotone.
    """
    best = tools.selBest(individuals, min(elite, k))
    return best + sel_tournament(individuals, k - len(best), tournsize, rng=rng)


class _Scored:
    """An individual with an objective vector as its DEAP fitness, for the NSGA-II sorts."""

    __slots__ = ("fitness", "individual")

    def __init__(self, individual: Any, fitness: base.Fitness):
        self.individual = individual
        self.fitness = fitness


@functools.cache
def _fitness_class(weights: tuple[float, ...]) -> type:
    """A ``base.Fitness`` class with ``weights`` (one per objective; + maximise, - minimise)."""
    return type("Objectives", (base.Fitness,), {"weights": weights})


def _scored(individuals: list, objectives: Callable[[Any], tuple[float, ...]],
            weights: tuple[float, ...]) -> list[_Scored]:
    cls = _fitness_class(tuple(weights))
    return [_Scored(ind, cls(objectives(ind))) for ind in individuals]


def select_nsga2(individuals: list, k: int, objectives: Callable[[Any], tuple[float, ...]],
                 weights: tuple[float, ...]) -> list:
    """``tools.selNSGA2`` on ``objectives(ind)`` with ``weights``: the ``k`` survivors by
    non-dominated rank, then crowding distance. It draws no random number; ties keep the
    order of ``individuals``, so the result is a function of their order and objectives."""
    return [s.individual for s in tools.selNSGA2(_scored(individuals, objectives, weights), k)]


def non_dominated(individuals: list, objectives: Callable[[Any], tuple[float, ...]],
                  weights: tuple[float, ...]) -> list:
    """The individuals no other one dominates (``tools.sortNondominated``'s first front), in
    the order given."""
    if not individuals:
        return []
    fronts = tools.sortNondominated(_scored(individuals, objectives, weights),
                                    len(individuals), first_front_only=True)
    kept = {id(s.individual) for s in fronts[0]}
    return [ind for ind in individuals if id(ind) in kept]


def mut_uniform(individual: gp.PrimitiveTree, expr: Callable, pset: gp.PrimitiveSetTyped, *,
                rng: random.Random) -> tuple:
    """``gp.mutUniform``: replace a random subtree by ``expr(pset=pset, type_=type_)``.

    ``expr`` draws on its own, so it should be bound to the same ``rng``.
    """
    index = rng.randrange(len(individual))
    slice_ = individual.searchSubtree(index)
    type_ = individual[index].ret
    individual[slice_] = expr(pset=pset, type_=type_)
    return (individual,)


def mut_node_replacement(individual: gp.PrimitiveTree, pset: gp.PrimitiveSetTyped, *,
                         rng: random.Random) -> tuple:
    """``gp.mutNodeReplacement``: swap one node (not the root) for one of the same signature."""
    if len(individual) < 2:
        return (individual,)
    index = rng.randrange(1, len(individual))
    node = individual[index]
    if node.arity == 0:
        term = rng.choice(pset.terminals[node.ret])
        if type(term) is gp.MetaEphemeral:
            term = term()
        individual[index] = term
    else:
        prims = [p for p in pset.primitives[node.ret] if p.args == node.args]
        individual[index] = rng.choice(prims)
    return (individual,)


def mut_node_or_subtree(individual: gp.PrimitiveTree, expr: Callable,
                        pset: gp.PrimitiveSetTyped, *, rng: random.Random) -> tuple:
    """One draw decides: :func:`mut_node_replacement` (below 0.5) or :func:`mut_uniform`."""
    if rng.random() < 0.5:
        return mut_node_replacement(individual, pset, rng=rng)
    return mut_uniform(individual, expr, pset, rng=rng)


def cx_uniform(ind1: list, ind2: list, indpb: float, *, rng: random.Random) -> tuple:
    """``tools.cxUniform``: swap each position with probability ``indpb`` (in place)."""
    for i in range(min(len(ind1), len(ind2))):
        if rng.random() < indpb:
            ind1[i], ind2[i] = ind2[i], ind1[i]
    return ind1, ind2


def mut_uniform_int(individual: list, low: int | Sequence[int], up: int | Sequence[int],
                    indpb: float, *, rng: random.Random) -> tuple:
    """``tools.mutUniformInt``: with probability ``indpb`` a position gets an integer drawn
    uniformly from ``[low, up]`` (bounds per position or shared)."""
    size = len(individual)
    bounds = []
    for name, b in (("low", low), ("up", up)):
        if isinstance(b, Sequence) and len(b) < size:
            raise IndexError(f"{name} must be at least the size of individual: {len(b)} < {size}")
        bounds.append(b if isinstance(b, Sequence) else repeat(b, size))
    for i, xl, xu in zip(range(size), *bounds, strict=False):  # bounds may be longer
        if rng.random() < indpb:
            individual[i] = rng.randint(xl, xu)
    return (individual,)


#: Types ``copy.deepcopy`` returns as they are (its atomic types), so a clone may share them.
_ATOMIC = frozenset({type(None), bool, int, float, complex, str, bytes})
_TREE_DEEPCOPY = gp.PrimitiveTree.__deepcopy__
_TREE_INIT = gp.PrimitiveTree.__init__
_FITNESS_DEEPCOPY = base.Fitness.__deepcopy__
_FITNESS_INIT = base.Fitness.__init__


def _made_by_creator(cls: type, parent: type) -> bool:
    """Whether ``cls`` is a ``creator.create`` class made straight from ``parent`` (its
    ``__init__`` sets the instance attributes named in the call, then runs ``parent``'s)."""
    return (isinstance(cls, creator.MetaCreator) and cls.__bases__ == (parent,)
            and getattr(cls.__init__, "__name__", "") == "init_type")


@functools.cache
def _tree_init_attributes(cls: type) -> tuple[str, ...] | None:
    """The attributes a new individual of ``cls`` gets from its ``__init__``, in order, when
    ``cls`` is a creator class of DEAP's own PrimitiveTree whose instance attributes are all
    fitnesses (so ``__init__`` does nothing else); None otherwise."""
    if not _made_by_creator(cls, gp.PrimitiveTree) or gp.PrimitiveTree.__init__ is not _TREE_INIT:
        return None
    made = [(k, v) for k, v in cls.reduce_args[2].items() if isinstance(v, type)]
    if not all(issubclass(v, base.Fitness) for _, v in made):
        return None
    return tuple(k for k, _ in made)


@functools.cache
def _bare_fitness(cls: type) -> bool:
    """Whether ``cls()`` sets nothing on the instance (a creator class of DEAP's own Fitness
    with no instance attributes, called without values), so DEAP's fitness deepcopy (a
    ``cls()`` given the original's ``wvalues``) can skip ``__init__``."""
    return (_made_by_creator(cls, base.Fitness) and base.Fitness.__init__ is _FITNESS_INIT
            and not any(isinstance(v, type) for v in cls.reduce_args[2].values()))


def _copy_fitness(fitness: base.Fitness) -> base.Fitness:
    """``copy.deepcopy(fitness)`` of a fitness that uses DEAP's ``Fitness.__deepcopy__``."""
    cls = type(fitness)
    if not _bare_fitness(cls):
        return fitness.__deepcopy__({})
    new = cls.__new__(cls)
    new.wvalues = fitness.wvalues
    return new


def clone(individual: Any) -> Any:
    """``copy.deepcopy(individual)``, faster for a DEAP tree whose attributes are numbers,
    strings or fitnesses.

    DEAP's tree deepcopy already shares the (immutable) nodes and copies the attribute dict;
    doing that copy here, without ``deepcopy``'s generic dispatch and without building
    fitnesses that are thrown away, gives the same individual: same class, same nodes, a fresh
    fitness of the same values, the same attributes in the same order. Any other individual,
    or an attribute of another type, goes to ``copy.deepcopy``.
    """
    cls = type(individual)
    if getattr(cls, "__deepcopy__", None) is not _TREE_DEEPCOPY:
        return copy.deepcopy(individual)
    attrs = individual.__dict__
    copied = {}
    fitnesses: set[int] = set()
    for name, value in attrs.items():
        kind = type(value)
        if kind in _ATOMIC:
            copied[name] = value
        elif (getattr(kind, "__deepcopy__", None) is _FITNESS_DEEPCOPY
              and id(value) not in fitnesses):
            fitnesses.add(id(value))
            copied[name] = _copy_fitness(value)
        else:  # anything else (or one fitness under two names): deepcopy's own answer
            return copy.deepcopy(individual)
    made = _tree_init_attributes(cls)
    if made is None or not all(k in attrs for k in made):
        new = cls(individual)  # as DEAP's deepcopy: __init__, then the copied attributes
    else:  # what that __init__ would do, less the fitnesses the copies replace at once
        new = cls.__new__(cls)
        list.extend(new, individual)
        new.__dict__.update({k: copied[k] for k in made})
    new.__dict__.update(copied)
    return new


def regenerate_rejected(accept: Callable[[Any], bool], fresh: Callable[[], Any],
                        retry_cap: int, counts: dict[str, int],
                        clone: Callable[[Any], Any]) -> Callable[[Callable], Callable]:
    """A ``toolbox.decorate`` decorator: retry a variation until its first child is accepted.

    Each try works on fresh copies of the operator's parents; every rejected child adds one to
    ``counts["regenerated"]``. After ``retry_cap`` rejections the first child is ``fresh()``
    and the other parents are returned unchanged.
    """
    def decorator(operator: Callable) -> Callable:
        @wraps(operator)
        def varied(*parents: Any, **kwargs: Any) -> tuple:
            for _ in range(retry_cap):
                children = operator(*[clone(p) for p in parents], **kwargs)
                if accept(children[0]):
                    return children
                counts["regenerated"] += 1
            return (fresh(), *parents[1:])
        return varied
    return decorator

__all__ = [
    "clone", "cx_uniform", "mut_node_or_subtree", "mut_node_replacement", "mut_uniform",
    "mut_uniform_int", "non_dominated", "regenerate_rejected", "sel_random", "sel_tournament",
    "select_elitist_tournament", "select_nsga2", "var_or",
]
