"""Trees to SymPy: the canonical form (for pruning and LaTeX) and the literal form (round-trip).

The canonical form applies each op's SymPy twin, so SymPy's evaluation rules merge equivalent
proxies. The literal form mirrors the tree node for node with one undefined function per op,
so it converts back to exactly the same tree; :func:`literal_latex` writes it as LaTeX with one
notation per op (:data:`LITERAL_LATEX`), which :mod:`.latexread` reads back into the same tree.
"""

from __future__ import annotations

import sympy as sp
from deap import gp

from lpzero_gp.errors import ProxyError
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

#: How tightly a piece of literal LaTeX binds: a block aggregation and a negation are bracketed
#: whenever they are an operand; sums bind looser than products, products than powers.
AGG, NEG, ADD, MUL, POW, ATOM = range(-1, 5)
#: LaTeX of the unary ops, ``{x}`` standing for the argument: their usual notation where it is
#: one op's alone (``\log\left|x\right|`` is abslog, ``\log\left(x\right)`` log), by name
#: otherwise. ``square``, ``neg``, the binary ops and the aggregations are written by
#: :func:`literal_latex` itself.
LITERAL_LATEX: dict[str, str] = {
    "log": r"\log\left({x}\right)",
    "abslog": r"\log\left|{x}\right|",
    "abs": r"\left|{x}\right|",
    "exp": r"e^{{x}}",
    "sqrt": r"\sqrt{{x}}",
    "relu": r"\max\left({x}, 0\right)",
    "reciprocal": r"\frac{1}{{x}}",
    "fro": r"\left\lVert {x} \right\rVert_F",
    "mean": r"\overline{{x}}",
    **{name: r"\operatorname{" + name.replace("_", r"\_") + r"}\left({x}\right)"
       for name in ("std", "l1", "norm_sum", "softmax", "log_softmax", "sigmoid", "minmax",
                    "znorm", "identity", "prune")},
}
#: The block aggregations: ``prefix \sum_{l=1}^{L} \left(x\right)``, inputs indexed ``A_{l}``.
LITERAL_AGGREGATIONS = {"agg_mean": r"\frac{1}{L}", "agg_sum": ""}
_BINARY_LATEX = {"add": (" + ", ADD), "sub": (" - ", ADD), "mul": (r" \cdot ", MUL)}


def _bracket(tex: str) -> str:
    return rf"\left({tex}\right)"


def literal_latex(tree: gp.PrimitiveTree) -> str:
    """LaTeX of a tree node for node: every primitive, in order, each in a notation of its own.

    Brackets make the reading unique: an operand that binds looser than its place needs (a sum in
    a product, the right operand of a left-associative chain) is bracketed, and a negation or a
    block aggregation is bracketed wherever it is an operand (in a quotient too).
    """

    def visit(i, node, kids):
        name = plain_name(node)
        if node.arity == 0:
            return rf"{name}_{{{BLOCK_INDEX}}}", ATOM
        if name in _BINARY_LATEX:
            (a, pa), (b, pb) = kids
            sep, prec = _BINARY_LATEX[name]
            a = _bracket(a) if pa < prec else a
            b = _bracket(b) if pb <= prec else b
            return f"{a}{sep}{b}", prec
        if name == "div":
            a, b = (_bracket(t) if p == AGG else t for t, p in kids)
            return rf"\frac{{{a}}}{{{b}}}", ATOM
        (x, p), = kids
        if name in LITERAL_AGGREGATIONS:
            prefix = LITERAL_AGGREGATIONS[name]
            return rf"{prefix}\sum_{{{BLOCK_INDEX}=1}}^{{L}} {_bracket(x)}", AGG
        if name == "neg":
            return "-" + (_bracket(x) if p < POW else x), NEG
        if name == "square":
            is_input = tree[i + 1].arity == 0
            return (x if is_input else _bracket(x)) + "^{2}", POW
        if name == "reciprocal" and p == AGG:
            x = _bracket(x)
        return LITERAL_LATEX[name].replace("{x}", x), ATOM

    return fold(tree, visit)[0]
