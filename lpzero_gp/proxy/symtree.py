"""Trees to SymPy: the canonical form (for pruning and LaTeX) and the literal form (round-trip).

The canonical form applies each op's SymPy twin, so SymPy's evaluation rules merge equivalent
proxies. The literal form mirrors the tree node for node with one undefined function per op,
so it converts back to exactly the same tree; :func:`literal_latex` writes it as LaTeX in each
op's own notation (its row's), which :mod:`.latexread` reads back into the same tree.
"""

from __future__ import annotations

import sympy as sp
from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.notation import LEAF
from lpzero_gp.primitives.ops import AGGREGATE, BINARY, PRUNE
from lpzero_gp.primitives.pset import ALL_OVERLOADS
from lpzero_gp.primitives.symbolic import BLOCK_INDEX, SYMBOLS
from lpzero_gp.primitives.types import Layerwise, Score
from lpzero_gp.proxy.fold import fold
from lpzero_gp.proxy.parse import parse_tree, plain_name

#: Returned for a pruned branch.
PRUNED_EXPR = None


def to_sympy(tree: gp.PrimitiveTree):
    """Canonical SymPy expression of a tree, or None when everything is pruned."""

    def visit(_i, node, kids):
        if node.arity == 0:
            return SYMBOLS[plain_name(node)]
        ov = ALL_OVERLOADS[node.name]
        op = ov.op
        if op.kind == PRUNE or any(k is None for k in kids) and op.kind != BINARY:
            return None
        if op.kind == BINARY:
            a, b = kids
            if a is None:
                return b
            if b is None:
                return a
            return op.sym(a, b)
        scalar = ov.args[0] in (Layerwise, Score) and op.kind != AGGREGATE
        fn = op.sym_scalar if scalar else op.sym
        if fn is None:
            return sp.nan
        return fn(kids[0])

    return fold(tree, visit)


def to_literal(tree: gp.PrimitiveTree):
    """Node-for-node SymPy mirror of a tree (undefined functions named after the ops)."""

    def visit(_i, node, kids):
        if node.arity == 0:
            return sp.Symbol(plain_name(node))
        return sp.Function(plain_name(node))(*kids)

    return fold(tree, visit)


def literal_to_string(expr) -> str:
    """Proxy string of a literal-form expression (inverse of :func:`to_literal`)."""
    if isinstance(expr, sp.Symbol):
        return expr.name
    if isinstance(expr, sp.Function) or (hasattr(expr, "func") and expr.args):
        name = getattr(expr.func, "__name__", str(expr.func))
        return f"{name}({', '.join(literal_to_string(a) for a in expr.args)})"
    raise ProxyError(f"not a literal proxy expression: {expr}")


def from_literal(expr, pset) -> gp.PrimitiveTree:
    """Tree of a literal-form expression."""
    return parse_tree(literal_to_string(expr), pset)


# -- the literal form as LaTeX --------------------------------------------------------------------


def _bracket(tex: str) -> str:
    return rf"\left({tex}\right)"


def literal_latex(tree: gp.PrimitiveTree) -> str:
    """LaTeX of a tree node for node: every primitive, in order, each in its own notation.

    Each op's notation is its row's (:class:`~lpzero_gp.primitives.notation.Notation`); an
    argument that binds looser than its hole needs is bracketed, which makes the reading unique:
    a sum in a product, the right operand of a left-associative chain, a negation or a block
    aggregation wherever it is an operand (in a quotient too). Inputs carry the block index.
    """

    def visit(_i, node, kids):
        if node.arity == 0:
            return rf"{plain_name(node)}_{{{BLOCK_INDEX}}}", LEAF
        notation = (ov := ALL_OVERLOADS[node.name]).op.latex.for_args(ov.args)  # mul: \odot
        args = [_bracket(tex) if binds < need else tex
                for (tex, binds), need in zip(kids, notation.needs, strict=True)]
        return notation.fill(args), notation.binds

    return fold(tree, visit)[0]

__all__ = ["from_literal", "literal_latex", "literal_to_string", "to_literal", "to_sympy"]
