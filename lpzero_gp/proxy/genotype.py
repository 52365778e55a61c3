"""LPZero genotypes (two inputs, n unary ops per branch, one binary op) and their trees.

A branch is walked as the reference evaluates it: a reduction turns a tensor into a per-block
scalar; on a scalar, frobenius/l1 act as abs, mean/norm_sum as identity, softmax is 1,
log_softmax, min-max and z-score are 0, std is undefined; a branch still holding a tensor at the
end is reduced by its mean; identity genes vanish and a prune gene removes the branch. A
registered op (:func:`lpzero_gp.primitives.register_op`) is a gene like the table's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.ops import (
    ALIASES,
    OPS_BY_NAME,
    REDUCE,
    TABLE7_BINARY,
    binary_ops,
    unary_ops,
)
from lpzero_gp.proxy.parse import parse_tree


@dataclass(frozen=True)
class Genotype:
    """``(in1, in2), [u1...], [u2...], binary`` as in the paper and its code."""

    in1: str
    in2: str
    u1: tuple[str, ...]
    u2: tuple[str, ...]
    binary: str

    def normalised(self) -> Genotype:
        """Op names resolved through the aliases (the reference code's op keys)."""
        fix = lambda names: tuple(ALIASES.get(n, n) for n in names)  # noqa: E731
        return Genotype(self.in1, self.in2, fix(self.u1), fix(self.u2),
                        ALIASES.get(self.binary, self.binary))


def branch_string(inp: str, chain: tuple[str, ...]) -> str | None:
    """Proxy sub-string of one branch (a per-block scalar), or None when pruned."""
    expr, scalar = inp, False
    unary = unary_ops()
    for name in chain:
        if name not in unary:
            raise ProxyError(f"unknown unary op {name!r} in genotype")
        if name == "prune":
            return None
        if name == "identity":
            continue
        if OPS_BY_NAME[name].kind == REDUCE:
            if scalar:  # on a per-block number a reduction acts as its row says
                rep = OPS_BY_NAME[name].on_scalar
                if rep is None:
                    raise ProxyError(f"{name} of a per-block scalar is undefined (nan)")
                expr = expr if rep == "identity" else f"{rep}({expr})"
                continue
            scalar = True
        expr = f"{name}({expr})"
    return expr if scalar else f"mean({expr})"


def genotype_string(g: Genotype, aggregation: str = "agg_mean") -> str:
    """Proxy string of a genotype."""
    g = g.normalised()
    if g.binary not in binary_ops():
        raise ProxyError(f"unknown binary op {g.binary!r}; choose from {binary_ops()}")
    a, b = branch_string(g.in1, g.u1), branch_string(g.in2, g.u2)
    if a is None and b is None:
        raise ProxyError("both branches are pruned (empty proxy)")
    body = a if b is None else b if a is None else f"{g.binary}({a}, {b})"
    return f"{aggregation}({body})"


def genotype_tree(g: Genotype, pset: gp.PrimitiveSetTyped,
                  aggregation: str = "agg_mean") -> gp.PrimitiveTree:
    """Typed tree of a genotype."""
    return parse_tree(genotype_string(g, aggregation), pset)


def random_genotype(rng: random.Random, inputs: tuple[str, ...], n_unary: int,
                    unary: tuple[str, ...], binary: tuple[str, ...] = TABLE7_BINARY
                    ) -> Genotype:
    """A uniformly drawn genotype (inputs with replacement, as in the paper)."""
    return Genotype(rng.choice(inputs), rng.choice(inputs),
                    tuple(rng.choice(unary) for _ in range(n_unary)),
                    tuple(rng.choice(unary) for _ in range(n_unary)), rng.choice(binary))

__all__ = ["Genotype", "genotype_string", "genotype_tree", "random_genotype"]
