"""Proxy representation in one place: string <-> tree <-> SymPy, genotypes, evaluation.

Re-exports the pieces so users can ``from lpzero_gp.proxy import parse, to_sympy, score_raw``.
"""

from __future__ import annotations

from deap import gp

from lpzero_gp.genotype import Genotype, genotype_string, genotype_tree
from lpzero_gp.parse import ProxyError, format_tree, parse_tree
from lpzero_gp.primitives.pset import INPUTS, make_pset
from lpzero_gp.scoring import Scorer, resolve, score_raw, score_stats
from lpzero_gp.symtree import from_literal, to_literal, to_sympy

_PSET = None


def default_pset() -> gp.PrimitiveSetTyped:
    """The full primitive set over all six inputs (built once)."""
    global _PSET
    if _PSET is None:
        _PSET = make_pset(INPUTS)
    return _PSET


def parse(text: str, pset: gp.PrimitiveSetTyped | None = None) -> gp.PrimitiveTree:
    """Tree of a proxy string or a named proxy."""
    return parse_tree(resolve(text), pset or default_pset())


def to_string(tree: gp.PrimitiveTree) -> str:
    """Readable proxy string of a tree."""
    return format_tree(tree)


__all__ = [
    "Genotype", "ProxyError", "Scorer", "default_pset", "format_tree", "from_literal",
    "genotype_string", "genotype_tree", "parse", "parse_tree", "resolve", "score_raw",
    "score_stats", "to_literal", "to_string", "to_sympy",
]
