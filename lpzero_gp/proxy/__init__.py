"""Proxy representation: string <-> typed DEAP tree <-> SymPy, genotypes, named proxies.

``from lpzero_gp.proxy import parse, to_string, to_sympy``; ``graph`` is ``deap.gp.graph`` with
plain op names as labels, ``typed_string`` the lossless typed string of a tree. Scoring a proxy
on statistics lives one layer up, in :mod:`lpzero_gp.score`.
"""

from __future__ import annotations

from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.pset import INPUTS, make_pset
from lpzero_gp.primitives.registry import per_version
from lpzero_gp.proxy.genotype import Genotype, genotype_string, genotype_tree
from lpzero_gp.proxy.named import NAMED, resolve, unknown_word
from lpzero_gp.proxy.parse import format_tree, graph, parse_tree, typed_string

#: Names served by :mod:`lpzero_gp.proxy.symtree`, imported on first use: SymPy loads only
#: when a SymPy form is asked for (a pool worker that scores proxies never needs it).
_SYMTREE = ("from_literal", "to_literal", "to_sympy")


def __getattr__(name: str):
    if name in _SYMTREE:
        from lpzero_gp.proxy import symtree

        return getattr(symtree, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@per_version
def default_pset() -> gp.PrimitiveSetTyped:
    """The full primitive set over all six inputs (built once per version of the op table)."""
    return make_pset(INPUTS)


def parse(text: str, pset: gp.PrimitiveSetTyped | None = None) -> gp.PrimitiveTree:
    """Tree of a proxy string or a named proxy."""
    pset = pset or default_pset()
    try:
        return parse_tree(resolve(text), pset)
    except ProxyError as exc:
        raise unknown_word(exc, pset.arguments) from None


def to_string(tree: gp.PrimitiveTree) -> str:
    """Readable proxy string of a tree (plain op names; ``str(tree)`` for a tree of
    ``make_pset``)."""
    return format_tree(tree)


__all__ = [
    "NAMED", "Genotype", "ProxyError", "default_pset", "format_tree", "from_literal",
    "genotype_string", "genotype_tree", "graph", "parse", "parse_tree", "resolve", "to_literal",
    "to_string", "to_sympy", "typed_string",
]
