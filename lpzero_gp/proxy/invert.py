"""Typed trees from canonical SymPy expressions: the inverse of :func:`symtree.to_sympy`.

The canonical form forgets how a proxy was written (``log_softmax`` of a per-block number is 0,
``mean(abs(x))`` is ``l1(x)``, sums are spread over the block aggregation), so reading it back
gives *a* proxy with the same canonical form: one that ranks every architecture the same way.
Each SymPy node is matched to candidate sub-trees at the level its place needs (tensor,
per-block, per-architecture); a candidate is kept only if its own canonical form is that node,
so what is returned is checked, not assumed. Which op a function of the twins stands for (``Mean``
is ``mean``, ``Softsign`` a registered ``softsign``) comes from the op table (:func:`heads`);
the algebra (sums, products, powers, constants) is SymPy's own. The literal form (undefined
functions named after the ops, :func:`symtree.to_literal`) is not inverted but read node for
node: the same tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain

import sympy as sp
from deap import gp
from sympy.core.function import AppliedUndef

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import ops as O
from lpzero_gp.primitives.pset import PARAM_INPUTS
from lpzero_gp.primitives.registry import per_version
from lpzero_gp.primitives.symbolic import (
    CONST_SOFTMAX,
    NBLOCKS,
    SYMBOLS,
    InvWidth,
    MinMax,
    SafeLog,
)
from lpzero_gp.primitives.types import Layerwise, ParamList, Score, TensorList
from lpzero_gp.proxy.parse import EMPTY_PROXY, MAX_NODES, parse_tree, resolve_overload
from lpzero_gp.proxy.symtree import from_literal, to_sympy

TENSOR, LAYER, SCORE = "tensor", "layer", "score"
_LEVEL_TYPES = {TENSOR: (TensorList, ParamList), LAYER: (Layerwise,), SCORE: (Score,)}
#: (level of the result, level of the arguments) by kind of op; None: the same as the result's.
_KIND_LEVELS = {O.REDUCE: (LAYER, TENSOR), O.ROWWISE: (TENSOR, TENSOR),
                O.BLOCKWISE: (TENSOR, TENSOR), O.AGGREGATE: (SCORE, LAYER)}
_UNARY_CONST_OPS = ("neg", "reciprocal", "square", "sqrt", "sigmoid", "exp", "abs")
_MAX_INT = 1 << 16
#: What SymPy raises on a candidate it cannot evaluate (ProxyError, a ValueError, included).
_SYMPY_FAULTS = (ValueError, TypeError, ArithmeticError)
_MAX_RECURSION = 120


@per_version
def heads() -> dict[type, list[tuple[str, str | None, str | None]]]:
    """The ops whose twin is one SymPy function of its arguments (``Mean(x)`` is ``mean``), by
    that function: (op, level of the result, level of the arguments), None for any level (the
    same for both). An op that computes as another (``same_as``) is left to that one."""
    out: dict[type, list] = {}
    args = sp.symbols("x y")
    for op in O.OPS_BY_NAME.values():
        if op.sym is None or op.same_as:
            continue
        expr = op.sym(*args[:op.arity])
        if isinstance(expr, sp.Basic) and expr.args == args[:op.arity]:
            levels = _KIND_LEVELS.get(op.kind, (None, None))
            out.setdefault(expr.func, []).append((op.name, *levels))
    return out


class _NoWay(Exception):
    """No sub-tree of the wanted level has this canonical form."""


@dataclass(frozen=True)
class Frag:
    """A sub-tree: DEAP nodes in prefix order and the type it returns."""

    nodes: tuple
    ret: type


class _Builder:
    """Sub-trees of one primitive set for canonical SymPy nodes, memoised per (node, level)."""

    def __init__(self, pset: gp.PrimitiveSetTyped):
        self.pset = pset
        self.memo: dict[tuple, Frag | None] = {}
        self.depth = 0
        args = list(pset.arguments)
        self.first = args[0]
        self.param = next((a for a in args if a in PARAM_INPUTS), None)
        self._table: dict[sp.Rational, Frag] | None = None

    # -- sub-trees ---------------------------------------------------------------------------

    def apply(self, name: str, *kids: Frag) -> Frag:
        """``name`` applied to ``kids`` (the overload their types select)."""
        ov = resolve_overload(name, [k.ret for k in kids])
        prim = self.pset.mapping.get(ov.typed_name)
        if prim is None:
            raise _NoWay
        return Frag((prim, *chain.from_iterable(k.nodes for k in kids)), ov.ret)

    def leaf(self, name: str) -> Frag:
        """The input terminal ``name``."""
        if name not in self.pset.mapping or name not in self.pset.arguments:
            raise _NoWay
        return Frag((self.pset.mapping[name],), ParamList if name in PARAM_INPUTS else TensorList)

    def build(self, expr, level: str) -> Frag:
        """A sub-tree of ``level`` whose canonical form is ``expr``."""
        key = (expr, level)
        if key in self.memo:
            if self.memo[key] is None:
                raise _NoWay
            return self.memo[key]
        self.depth += 1
        try:
            if self.depth > _MAX_RECURSION:
                raise _NoWay
            self.memo[key] = None  # a cycle of candidates fails instead of recursing forever
            for make in self.candidates(expr, level):
                try:  # a candidate fails by type, by primitive set, or by a SymPy fault
                    frag = make()
                    if frag.ret in _LEVEL_TYPES[level] and _sym(frag) == expr:
                        self.memo[key] = frag
                        return frag
                except (_NoWay, *_SYMPY_FAULTS):
                    continue
            raise _NoWay
        finally:
            self.depth -= 1

    # -- candidates, by the kind of SymPy node -------------------------------------------------

    def candidates(self, e, level: str) -> Iterator[Callable[[], Frag]]:
        b, ap = self.build, self.apply
        if isinstance(e, sp.Symbol):
            if e.name in SYMBOLS:
                yield lambda: self.leaf(e.name)
            elif e == NBLOCKS:
                yield lambda: ap("agg_sum", self.const(sp.S.One, LAYER))
            elif e == CONST_SOFTMAX:
                yield lambda: ap("softmax", self.const(sp.S.Zero, TENSOR))
            return
        if e.is_Rational:
            yield lambda: self.const(e, level)
            return
        if e in (sp.E, sp.zoo, sp.oo, -sp.oo, sp.nan):
            yield from self.special(e, level)
            return
        if isinstance(e, sp.Add):
            yield lambda: self.fold("add", e.args, level)
            yield from self.tensor_add(e)
        elif isinstance(e, sp.Mul):
            c, rest = e.as_coeff_Mul()
            if c < 0:
                yield lambda: ap("neg", b(-e, level))
            yield lambda: self.fold("mul", e.args, level)
            if c > 0 and c != 1:
                yield from self.scaled(c, rest, level)
        elif isinstance(e, sp.Pow):
            base, k = e.args
            if k.is_Rational:
                yield lambda: self.power(b(base, level), k)
                y = _one_plus_exp(base)
                if y is not None:  # 1 / (1 + exp(-x)) is sigmoid(x)
                    yield lambda: self.power(ap("sigmoid", b(-y, level)), -k)
        elif type(e) in heads():
            yield from self.applied(e, level)
            c, rest = e.args[0].as_coeff_Mul() if isinstance(e, sp.exp) else (sp.S.One, e)
            if c.is_Rational and c not in (1, -1):  # exp(c y) is exp(y) ** c
                yield lambda: self.power(ap("exp", b(rest, level)), c)
        elif isinstance(e, sp.Max) and len(e.args) == 2 and sp.S.Zero in e.args:
            other = e.args[0] if e.args[1] == 0 else e.args[1]
            yield lambda: ap("relu", b(other, level))
        elif isinstance(e, sp.log) and len(e.args) == 1:
            yield lambda: ap("log", b(e.args[0], level))
        elif isinstance(e, sp.re):  # |exp(y)| is exp(re(y)) and log(exp(x)) is x
            yield lambda: ap("log", ap("abs", ap("exp", b(e.args[0], level))))
        elif isinstance(e, InvWidth) and level == LAYER and isinstance(e.args[0], sp.Symbol):
            yield lambda: ap("mean", ap("softmax", self.leaf(e.args[0].name)))

    def applied(self, e, level: str) -> Iterator[Callable[[], Frag]]:
        """The ops whose twin is ``e``'s function, where their levels fit."""
        for name, ret, arg in heads()[type(e)]:
            if ret in (None, level):
                yield lambda name=name, arg=arg: self.apply(
                    name, *(self.build(a, arg or level) for a in e.args))

    def tensor_add(self, e) -> Iterator[Callable[[], Frag]]:
        """Sums an activation tensor can hold without a binary op."""
        c, rest = e.as_coeff_Add()
        if c == 1 and isinstance(-rest, MinMax):  # minmax(-u) = 1 - minmax(u)
            yield lambda: self.apply("minmax", self.build(-(-rest).args[0], TENSOR))
        y = _one_plus_exp(e)
        if y is not None:  # 1 + exp(-x) = 1 / sigmoid(x)
            yield lambda: self.apply("reciprocal", self.apply("sigmoid",
                                                              self.build(-y, TENSOR)))

    def scaled(self, c, rest, level: str) -> Iterator[Callable[[], Frag]]:
        """``c * rest`` (c > 0) without a binary op: the factor moved into the operand."""
        b, ap = self.build, self.apply
        if isinstance(rest, sp.Abs):
            yield lambda: ap("abs", b(c * rest.args[0], level))
        if isinstance(rest, sp.Max) and sp.S.Zero in rest.args and len(rest.args) == 2:
            other = rest.args[0] if rest.args[1] == 0 else rest.args[1]
            yield lambda: ap("relu", b(c * other, level))
        if isinstance(rest, SafeLog) and c.is_Integer and c % 2 == 0:  # log(u**2k)
            inner = rest.args[0].args[0] if isinstance(rest.args[0], sp.Abs) else rest.args[0]
            yield lambda: ap("log", self.power(b(inner, level), c))
        if isinstance(rest, sp.Pow) and rest.exp.is_Rational:
            root = c ** (1 / rest.exp)
            if root.is_Rational:
                yield lambda: self.power(b(root * rest.base, level), rest.exp)

    def special(self, e, level: str) -> Iterator[Callable[[], Frag]]:
        """e, complex infinity, plus or minus infinity and nan from constants."""
        ap = self.apply
        if e == sp.E:
            yield lambda: ap("exp", self.const(sp.S.One, level))
        elif e == sp.zoo:
            yield lambda: self.infinity(level)
        elif e == sp.oo:
            yield lambda: ap("abs", self.infinity(level))
        elif e == -sp.oo:
            yield lambda: ap("neg", ap("abs", self.infinity(level)))
        else:
            yield lambda: ap("exp", self.infinity(level))
            yield lambda: ap("mul", self.const(sp.S.Zero, level), self.infinity(level))

    def infinity(self, level: str) -> Frag:
        """Complex infinity: the reciprocal of zero."""
        return self.apply("reciprocal", self.const(sp.S.Zero, level))

    # -- powers, products and constants ---------------------------------------------------------

    def fold(self, op: str, args, level: str) -> Frag:
        """``op(a1, op(a2, ...))`` over SymPy arguments."""
        frags = [self.build(a, level) for a in args]
        out = frags[-1]
        for f in reversed(frags[:-1]):
            out = self.apply(op, f, out)
        return out

    def power(self, f: Frag, k) -> Frag:
        """``f ** k`` from square, reciprocal, sqrt (k with a power-of-two denominator) and mul."""
        k = sp.Rational(k)
        if k == 0 or abs(k.p) > _MAX_INT or k.q & (k.q - 1):
            raise _NoWay
        if k < 0:
            return self.apply("reciprocal", self.power(f, -k))
        if k == 1:
            return f
        if k.q != 1:
            return self.apply("sqrt", self.power(f, 2 * k))
        if k.p % 2 == 0:
            return self.apply("square", self.power(f, k / 2))
        return self.apply("mul", f, self.power(f, k - 1))

    def const(self, c, level: str) -> Frag:
        """A sub-tree of ``level`` whose canonical form is the rational number ``c``."""
        if abs(c.p) > _MAX_INT or c.q > _MAX_INT:
            raise _NoWay
        if level == SCORE:
            return self.apply("agg_mean", self.const(c, LAYER))
        if level == TENSOR and self.param is None:
            if c not in self.tensor_table():
                raise _NoWay
            return self.tensor_table()[c]
        if level == LAYER:  # softmax of a per-block number is 1
            one = self.apply("softmax", self.apply("mean", self.leaf(self.first)))
        else:
            p = self.leaf(self.param)
            one = self.apply("exp", self.apply("sub", p, p))
        return self.rational(c, one)

    def rational(self, c, one: Frag) -> Frag:
        """``c`` from ``one`` with add, sub, neg and div."""
        if c < 0:
            return self.apply("neg", self.rational(-c, one))
        if c == 0:
            return self.apply("sub", one, one)
        if c.q != 1:
            return self.apply("div", self.rational(sp.Integer(c.p), one),
                              self.rational(sp.Integer(c.q), one))
        if c == 1:
            return one
        half = self.rational(sp.Integer(c.p // 2), one)
        twice = self.apply("add", half, half)
        return twice if c.p % 2 == 0 else self.apply("add", twice, one)

    def tensor_table(self) -> dict[sp.Rational, Frag]:
        """Rational constants an activation tensor reaches with unary ops alone (no G, W)."""
        if self._table is None:
            x = self.leaf(self.first)
            zero = self.apply("log", self.apply("neg", self.apply("square", x)))  # log(-x^2) = 0
            table: dict[sp.Rational, Frag] = {sp.S.Zero: zero}
            frontier = [zero]
            for _ in range(5):
                nxt = []
                for f in frontier:
                    for op in _UNARY_CONST_OPS:
                        g = self.apply(op, f)
                        v = _sym(g)
                        if v.is_Rational and v not in table and abs(v.p) < _MAX_INT:
                            table[v] = g
                            nxt.append(g)
                frontier = nxt
            self._table = table
        return self._table


def _sym(frag: Frag):
    """Canonical form of a sub-tree."""
    return to_sympy(gp.PrimitiveTree(list(frag.nodes)))


def _one_plus_exp(e):
    """``y`` when ``e`` is ``1 + exp(y)``, else None."""
    if isinstance(e, sp.Add) and len(e.args) == 2 and sp.S.One in e.args:
        other = e.args[0] if e.args[1] == 1 else e.args[1]
        if isinstance(other, sp.exp):
            return other.args[0]
    return None


def tree_from_sympy(expr, pset: gp.PrimitiveSetTyped) -> gp.PrimitiveTree:
    """A tree of ``pset`` whose canonical form is ``expr`` (``None``: the empty proxy), or the
    very tree of a literal-form expression."""
    if expr is None:
        return parse_tree(EMPTY_PROXY, pset)
    if isinstance(expr, sp.Basic) and expr.atoms(AppliedUndef):
        return from_literal(expr, pset)
    try:
        frag = _Builder(pset).build(expr, SCORE)
    except (_NoWay, RecursionError):
        text = str(expr)
        text = text if len(text) <= 60 else text[:57] + "..."
        raise ProxyError(f"{text} is not the canonical form of a proxy of this primitive set; "
                         "use the proxy string or the JSON form") from None
    if len(frag.nodes) > MAX_NODES:
        raise ProxyError(f"the proxy read back has more than {MAX_NODES} nodes")
    return gp.PrimitiveTree(list(frag.nodes))

__all__ = ["tree_from_sympy"]
