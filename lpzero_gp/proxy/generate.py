"""Tree generation and variation that never fail and always keep trees well typed.

DEAP's typed ``generate`` can dead-end when a type has no terminal at the depth limit (here
Layerwise and Score have none). :func:`gen_typed` knows the minimum height each type needs
and only picks primitives that can still be completed within the remaining depth.

Every function draws from the ``rng`` it is given (a search passes its own ``random.Random``);
without one it draws from the global ``random`` module, as DEAP's own operators do.
"""

from __future__ import annotations

import random
from functools import lru_cache
from types import ModuleType

from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.ops import binary_ops, unary_ops
from lpzero_gp.proxy.genotype import genotype_string, random_genotype
from lpzero_gp.proxy.parse import parse_tree


def _source(rng: random.Random | None) -> random.Random | ModuleType:
    """The random source to draw from: ``rng``, or the global ``random`` module."""
    return random if rng is None else rng


@lru_cache(maxsize=32)
def _min_heights(pset: gp.PrimitiveSetTyped) -> dict[type, int]:
    """Smallest tree height that produces each type (0 for types with terminals)."""
    h: dict[type, int] = {t: 0 for t, terms in pset.terminals.items() if terms}
    changed = True
    while changed:
        changed = False
        for ret, prims in pset.primitives.items():
            for p in prims:
                if all(a in h for a in p.args):
                    need = 1 + max(h[a] for a in p.args)
                    if need < h.get(ret, 1 << 30):
                        h[ret] = need
                        changed = True
    return h


def gen_typed(pset: gp.PrimitiveSetTyped, min_: int, max_: int, type_=None,
              terminal_prob: float = 0.3, *, rng: random.Random | None = None) -> list:
    """A random well-typed expression of height between (about) ``min_`` and ``max_``."""
    rng = _source(rng)
    type_ = pset.ret if type_ is None else type_
    heights = _min_heights(pset)
    target = rng.randint(min_, max_)
    expr: list = []
    stack = [(0, type_)]
    while stack:
        depth, t = stack.pop()
        room = max(target - depth, heights[t])
        terms = pset.terminals.get(t, [])
        prims = [p for p in pset.primitives.get(t, [])
                 if all(1 + heights[a] <= room for a in p.args)]
        use_term = terms and (not prims or depth >= target
                              or (depth >= min_ and rng.random() < terminal_prob))
        if use_term:
            expr.append(rng.choice(terms))
            continue
        prim = rng.choice(prims)
        expr.append(prim)
        for a in reversed(prim.args):
            stack.append((depth + 1, a))
    return expr


def gen_lpzero(pset: gp.PrimitiveSetTyped, n_unary: int = 2,
               aggregations: tuple[str, ...] = ("agg_mean",),
               unary: tuple[str, ...] | None = None, *,
               rng: random.Random | None = None) -> gp.PrimitiveTree:
    """A random tree of the paper's shape: two inputs, ``n_unary`` ops per branch, one binary."""
    rng = _source(rng)
    inputs = tuple(pset.arguments)
    ops = tuple(u for u in (unary or unary_ops()) if f"{u}_T" in pset.mapping)
    binary = tuple(b for b in binary_ops() if f"{b}_L" in pset.mapping)
    for _ in range(1000):
        g = random_genotype(rng, inputs, n_unary, ops, binary)
        try:
            return parse_tree(genotype_string(g, rng.choice(aggregations)), pset)
        except ProxyError:
            continue
    raise RuntimeError("could not draw a genotype (the op set has no reduction?)")


def cx_one_point(ind1: gp.PrimitiveTree, ind2: gp.PrimitiveTree, *,
                 rng: random.Random | None = None):
    """Typed one-point crossover (as DEAP's ``cxOnePoint``) with a deterministic type order.

    DEAP picks the crossover type from a ``set`` of classes, whose order follows object ids
    and so differs between processes; sorting the common types by name makes a seeded run
    reproducible everywhere.
    """
    if len(ind1) < 2 or len(ind2) < 2:
        return ind1, ind2
    rng = _source(rng)
    types1: dict[type, list[int]] = {}
    types2: dict[type, list[int]] = {}
    for idx, node in enumerate(ind1[1:], 1):
        types1.setdefault(node.ret, []).append(idx)
    for idx, node in enumerate(ind2[1:], 1):
        types2.setdefault(node.ret, []).append(idx)
    common = sorted(set(types1) & set(types2), key=lambda t: t.__name__)
    if common:
        type_ = rng.choice(common)
        i1, i2 = rng.choice(types1[type_]), rng.choice(types2[type_])
        s1, s2 = ind1.searchSubtree(i1), ind2.searchSubtree(i2)
        ind1[s1], ind2[s2] = ind2[s2], ind1[s1]
    return ind1, ind2

__all__ = ["cx_one_point", "gen_lpzero", "gen_typed"]
