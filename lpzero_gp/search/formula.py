"""The config-formula baseline: the proxy search's GP over an architecture's named config features.

A formula such as ``mul(layers, square(log(hidden)))`` combines the scalar features a space's
``features(record, variant)`` returns (``params``, ``layers``, ...) with the binary ops
``add sub mul div`` and the unary ops ``log abslog abs square exp sqrt reciprocal neg sigmoid``,
evaluated by the project's safe torch kernels (:mod:`lpzero_gp.primitives.kernels`) on 1-d
float64 tensors, one entry per architecture. It answers how well the config alone ranks
architectures, the bar every searched proxy is judged against.

The search is the proxy search's (mu + lambda) loop (:func:`lpzero_gp.search.loop.evolve`) with
its explicit-RNG operators and settings (crossover 0.5, mutation 0.5, tournament 3, elite 2);
every draw comes from one ``random.Random(seed)``, so a seed gives the same formula. Fitness is
Spearman rho (:func:`lpzero_gp.score.fitness.rank`), memoised by formula text. Features that are
constant across the architectures are dropped (they carry nothing). A constant truth, or no
varying feature, is a :class:`~lpzero_gp.errors.SpaceError`: there is nothing to rank.

Text never reaches ``eval``: :func:`parse_formula` tokenises and parses by recursive descent
(the proxy parser's tokenizer and reader) and checks every name; evaluation is a fold over the
DEAP tree.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from deap import base, creator, gp, tools

from lpzero_gp.errors import OptionError, ProxyError, SpaceError
from lpzero_gp.primitives.ops import OPS_BY_NAME
from lpzero_gp.proxy.fold import fold
from lpzero_gp.proxy.generate import cx_one_point, gen_typed
from lpzero_gp.proxy.parse import _ast, _tokens  # the proxy parser's reader, name-agnostic
from lpzero_gp.score.fitness import INVALID_FITNESS, rank
from lpzero_gp.search.checkpoint import HOF_SIZE
from lpzero_gp.search.config import SearchConfig
from lpzero_gp.search.loop import evaluate_invalid, evolve
from lpzero_gp.search.operators import (
    clone,
    mut_node_or_subtree,
    regenerate_rejected,
    select_elitist_tournament,
)

__all__ = ["BINARY_OPS", "Formula", "UNARY_OPS", "formula_scores", "parse_formula",
           "search_formula"]

#: Binary operations of a formula (the op table's kernels, :mod:`lpzero_gp.primitives.ops`).
BINARY_OPS: tuple[str, ...] = ("add", "sub", "mul", "div")
#: Unary operations of a formula (the op table's element-wise kernels).
UNARY_OPS: tuple[str, ...] = ("log", "abslog", "abs", "square", "exp", "sqrt", "reciprocal",
                              "neg", "sigmoid")
_KERNELS = {op: OPS_BY_NAME[op].kernel for op in (*BINARY_OPS, *UNARY_OPS)}
_ARITY = {**dict.fromkeys(BINARY_OPS, 2), **dict.fromkeys(UNARY_OPS, 1)}

MAX_CHARS = 2000
MAX_NODES = 200
#: Rho differences below this are ties, settled in favour of the shorter formula.
TIE = 1e-12
#: Height range of the initial population's trees, and of a mutation's new subtree.
INIT_HEIGHT = (1, 4)
MUT_HEIGHT = (0, 2)
#: Tries of a variation before a too-tall child is replaced by a fresh tree.
RETRY_CAP = 100

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Formula:
    """A searched config formula, its Spearman rho on the search data and the names it may use."""

    text: str
    rho: float
    features: tuple[str, ...]


def _check_names(names: Sequence[str]) -> tuple[str, ...]:
    """The feature names as a tuple; SpaceError unless each can be a formula terminal."""
    out = tuple(names)
    for name in out:
        if not isinstance(name, str) or not _NAME.match(name):
            raise SpaceError(f"feature name {name!r} cannot be used in a formula (a name is a "
                             "letter followed by letters, digits or '_')")
        if name in _KERNELS:
            raise SpaceError(f"feature name {name!r} is also a formula operation")
    if len(set(out)) != len(out):
        raise SpaceError(f"feature names repeat: {', '.join(out)}")
    return out


@lru_cache(maxsize=32)
def _pset(names: tuple[str, ...]) -> gp.PrimitiveSet:
    """The untyped DEAP primitive set of the formula ops and these feature names as terminals."""
    pset = gp.PrimitiveSet("formula", 0)
    for op in (*BINARY_OPS, *UNARY_OPS):
        pset.addPrimitive(_KERNELS[op], _ARITY[op], name=op)
    for name in names:
        pset.addTerminal(name, name=name)
    return pset


def parse_formula(text: str, names: Sequence[str]) -> gp.PrimitiveTree:
    """Parse a formula over feature ``names`` into a DEAP tree, never evaluating the text.

    Raises ProxyError with one line for empty or overlong text, bad characters, unbalanced
    parentheses, an unknown name (naming the known ones), a wrong number of arguments, or more
    than :data:`MAX_NODES` nodes.
    """
    names = _check_names(names)
    if not isinstance(text, str) or not text.strip():
        raise ProxyError("empty formula")
    if len(text) > MAX_CHARS:
        raise ProxyError(f"formula longer than {MAX_CHARS} characters")
    ast = _ast(_tokens(text))
    pset = _pset(names)
    known = set(names)
    nodes: list = []

    def build(node: tuple) -> None:
        """Append the prefix nodes of one AST node."""
        name, kids = node
        if len(nodes) >= MAX_NODES:
            raise ProxyError(f"formula has more than {MAX_NODES} nodes")
        if name in known:
            if kids:
                raise ProxyError(f"{name!r} is a feature, not an operation")
            nodes.append(pset.mapping[name])
            return
        if name not in _KERNELS:
            raise ProxyError(f"unknown name {name!r}; features are {', '.join(names) or 'none'}"
                             f"; operations are {', '.join(_KERNELS)}")
        if len(kids) != _ARITY[name]:
            raise ProxyError(f"{name} takes {_ARITY[name]} argument"
                             f"{'' if _ARITY[name] == 1 else 's'}, got {len(kids)}")
        nodes.append(pset.mapping[name])
        for kid in kids:
            build(kid)

    build(ast)
    return gp.PrimitiveTree(nodes)


def _columns(features: list[dict[str, float]], names: Sequence[str]) -> dict[str, torch.Tensor]:
    """One float64 tensor per feature name, an entry per architecture; SpaceError if missing."""
    out = {}
    for name in names:
        try:
            values = [float(f[name]) for f in features]
        except KeyError:
            raise SpaceError(f"feature {name!r} is missing from some architectures") from None
        except (TypeError, ValueError):
            raise SpaceError(f"feature {name!r} has a value that is not a number") from None
        out[name] = torch.tensor(values, dtype=torch.float64)
    return out


def _common_names(features: list[dict[str, float]]) -> tuple[str, ...]:
    """Feature names every architecture has, in the first one's order."""
    if not features:
        return ()
    return tuple(n for n in features[0] if all(n in f for f in features[1:]))


def _evaluate(tree: gp.PrimitiveTree, columns: dict[str, torch.Tensor]) -> np.ndarray:
    """Scores of a formula tree: a fold of the safe kernels over the feature columns."""
    def visit(_i: int, node, kids: list) -> torch.Tensor:
        """A terminal's column, or the node's kernel applied to its folded arguments."""
        return columns[node.name] if node.arity == 0 else _KERNELS[node.name](*kids)

    return fold(tree, visit).numpy().copy()


def formula_scores(text: str, features: list[dict[str, float]]) -> np.ndarray:
    """One score per architecture of formula ``text`` over its feature dicts (float64)."""
    names = _common_names(features)
    return _evaluate(parse_formula(text, names), _columns(features, names))


def _check_options(n: int, population: int, offspring: int, generations: int,
                   max_height: int) -> None:
    """OptionError with one line for a search setting that cannot work."""
    checks = [
        (population >= 2, "formula search: population must be at least 2"),
        (offspring >= 1, "formula search: offspring must be at least 1"),
        (generations >= 0, "formula search: generations must be at least 0"),
        (max_height >= 1, "formula search: max_height must be at least 1"),
        (n >= 2, f"formula search: {n} architecture(s), at least 2 are needed to rank"),
    ]
    for ok, msg in checks:
        if not ok:
            raise OptionError(msg)


def _toolbox(pset: gp.PrimitiveSet, rng: random.Random, max_height: int,
             fitness: dict[str, float], columns: dict[str, torch.Tensor], truth: np.ndarray,
             living: set[str]) -> base.Toolbox:
    """The proxy search's operators on formula trees, all drawing from ``rng``.

    As in the proxy search, a child taller than ``max_height`` or equal to a living formula
    (its text in ``living``, which the caller resets each generation) is drawn again.
    """
    config = SearchConfig()
    tb = base.Toolbox()
    low, high = INIT_HEIGHT[0], min(INIT_HEIGHT[1], max_height)

    def draw() -> creator.ProxyTree:
        """A random formula of the initial population's height range."""
        return creator.ProxyTree(gen_typed(pset, min(low, high), high, rng=rng))

    def accept(tree: gp.PrimitiveTree) -> bool:
        """Within the height limit and not a copy of a living formula; an accepted one lives."""
        key = str(tree)
        if tree.height > max_height or key in living:
            return False
        living.add(key)
        return True

    def fresh() -> creator.ProxyTree:
        """A random formula that no living one equals (if one is found in a few tries)."""
        for _ in range(RETRY_CAP):
            tree = draw()
            if accept(tree):
                return tree
        return draw()

    def evaluate(ind: gp.PrimitiveTree) -> tuple[float]:
        """Spearman rho of the formula's scores (INVALID_FITNESS if invalid), memoised."""
        key = str(ind)
        if key not in fitness:
            scores = _evaluate(ind, columns)
            fitness[key] = rank(scores, truth, with_tau=False).fitness
        return (fitness[key],)

    tb.register("clone", clone)
    tb.register("individual", fresh)
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("expr_mut", gen_typed, min_=MUT_HEIGHT[0], max_=MUT_HEIGHT[1], rng=rng)
    tb.register("mate", cx_one_point, rng=rng)
    tb.register("mutate", mut_node_or_subtree, expr=tb.expr_mut, pset=pset, rng=rng)
    regenerate = regenerate_rejected(accept, fresh, RETRY_CAP, {"regenerated": 0}, tb.clone)
    tb.decorate("mate", regenerate)
    tb.decorate("mutate", regenerate)
    tb.register("select", select_elitist_tournament, tournsize=config.tournsize,
                elite=config.elite, rng=rng)
    tb.register("evaluate", evaluate)
    return tb


def search_formula(features: list[dict[str, float]], truth, *, population: int, offspring: int,
                   generations: int, seed: int, names: Sequence[str] | None = None,
                   max_height: int = 6) -> Formula:
    """The best-ranking formula of the config features, by the proxy search's GP.

    ``features[i]`` are architecture i's named features and ``truth[i]`` its ground truth
    (higher is better). ``names`` restricts the features (default: those every architecture
    has); features constant across architectures are dropped. ``generations`` (mu + lambda)
    generations follow the initial population; trees are at most ``max_height`` tall. Among
    the hall of fame's formulas with the best rho (within :data:`TIE`) the shortest wins; if
    no formula is valid, ``rho`` is nan. SpaceError when the truth is constant or no feature
    varies (nothing to rank).
    """
    truth = np.asarray(truth, dtype=np.float64).reshape(-1)
    _check_options(len(features), population, offspring, generations, max_height)
    if truth.size != len(features):
        raise ValueError(f"{len(features)} feature dicts but {truth.size} truths")
    if not np.all(np.isfinite(truth)):
        raise SpaceError("formula search: the truth must be finite")
    if np.all(truth == truth[0]):
        raise SpaceError(f"formula search: the truth is the same ({truth[0]:g}) for all "
                         f"{truth.size} architectures; there is nothing to rank")
    names = _check_names(_common_names(features) if names is None else names)
    columns = _columns(features, names)
    names = tuple(n for n in names if not torch.all(columns[n] == columns[n][0]))
    if not names:
        raise SpaceError("formula search: no feature varies across the architectures")
    columns = {n: columns[n] for n in names}
    pset = _pset(names)
    rng = random.Random(seed)
    fitness: dict[str, float] = {}
    living: set[str] = set()
    tb = _toolbox(pset, rng, max_height, fitness, columns, truth, living)
    config = SearchConfig()
    pop = tb.population(n=population)
    evaluate_invalid(tb, pop)
    hof = tools.HallOfFame(HOF_SIZE)
    hof.update(pop)

    def survivors(_gen: int, pop: list) -> None:
        """The next generation's duplicates are judged against these survivors."""
        living.clear()
        living.update(str(ind) for ind in pop)

    survivors(0, pop)
    evolve(pop, tb, rng, mu=population, lambda_=offspring, cxpb=config.cxpb,
           mutpb=config.mutpb, ngen=generations, halloffame=hof, on_generation=survivors)
    top = hof[0].fitness.values[0]
    best = min((ind for ind in hof if ind.fitness.values[0] >= top - TIE), key=len)
    rho = float("nan") if top <= INVALID_FITNESS else float(best.fitness.values[0])
    return Formula(str(best), rho, names)


def config_rho(scores, features: list[dict[str, float]], seed: int = 0) -> float:
    """How well a formula of the config features ranks like ``scores``: the Spearman rho of
    the best formula a small search (population 40, 20 offspring, 10 generations) finds; nan
    when the scores cannot be ranked or no feature varies."""
    from lpzero_gp.score.fitness import invalid_reason, rankdata, settle

    s = settle(np.asarray(scores, float))
    if invalid_reason(s) or not features:
        return float("nan")
    # the search sees the scores only through their ranks (Spearman fitness), so proxies that
    # rank the architectures alike share one search: the same answer, once
    key = (rankdata(s).tobytes(), repr(features), seed)
    if key not in _CONFIG_RHO:
        try:
            found = search_formula(features, s, population=40, offspring=20, generations=10,
                                   seed=seed)
            rho = found.rho
        except (OptionError, SpaceError):
            rho = float("nan")
        if len(_CONFIG_RHO) >= _CONFIG_RHO_SIZE:
            _CONFIG_RHO.pop(next(iter(_CONFIG_RHO)))
        _CONFIG_RHO[key] = rho
    return _CONFIG_RHO[key]


#: :func:`config_rho` answers by (score ranks, features, seed), oldest dropped first.
_CONFIG_RHO: dict[tuple, float] = {}
_CONFIG_RHO_SIZE = 4096
