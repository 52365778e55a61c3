"""Rule-based pruning (RPS): reject or de-duplicate a proxy symbolically, before any tensor work.

Verdicts (docs/specs.md §5.3): REJECT with a reason (empty, input-unavailable, nan/inf, constant,
self-cancel, zero product), or a canonical key with a sign. Two proxies with one key rank
architectures identically (sign +1) or in reverse (sign -1), because the canonical form strips
top-level additive constants and positive factors, which never change a rank correlation.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from deap import gp

from lpzero_gp.primitives.ops import BINARY
from lpzero_gp.primitives.pset import ALL_OVERLOADS
from lpzero_gp.primitives.symbolic import CONST_SOFTMAX, NBLOCKS, SYMBOLS
from lpzero_gp.proxy.parse import plain_name
from lpzero_gp.proxy.symtree import to_sympy

_SHAPE_SYMBOLS = set(SYMBOLS.values()) | {NBLOCKS, CONST_SOFTMAX}


@dataclass(frozen=True)
class Verdict:
    """Outcome of RPS for one proxy."""

    ok: bool
    reason: str = ""
    key: str = ""
    sign: int = 1
    expr: object = None


def canonical_key(expr) -> tuple[str, int, object]:
    """(key, sign, E) with expr = sign * |c| * E + const; E has a positive leading sign."""
    _, rest = expr.as_coeff_Add()
    coeff, core = rest.as_coeff_Mul()
    sign = -1 if coeff < 0 else 1
    if core.could_extract_minus_sign():
        sign, core = -sign, -core
    return sp.srepr(core), sign, core


def _top_binary(tree: gp.PrimitiveTree):
    """(op name, left sub-tree, right sub-tree) of the first binary node, or None."""
    for i, node in enumerate(tree):
        if node.arity == 2 and ALL_OVERLOADS[node.name].op.kind == BINARY:
            left = tree.searchSubtree(i + 1)
            right = tree.searchSubtree(left.stop)
            return (ALL_OVERLOADS[node.name].op.name, gp.PrimitiveTree(tree[left]),
                    gp.PrimitiveTree(tree[right]))
    return None


def _constant_reason(tree: gp.PrimitiveTree) -> str:
    top = _top_binary(tree)
    if top is not None:
        op, left, right = top
        a, b = to_sympy(left), to_sympy(right)
        if op in ("sub", "div") and a is not None and b is not None and a == b:
            return "self-cancel"
        if op == "mul" and (a == 0 or b == 0):
            return "zero product"
    return "constant"


class RPS:
    """Rule set with a per-string cache; ``available`` lists the inputs the space provides."""

    def __init__(self, available: tuple[str, ...] | None = None):
        self.available = set(available) if available is not None else set(SYMBOLS)
        self.cache: dict[str, Verdict] = {}

    def check(self, tree: gp.PrimitiveTree) -> Verdict:
        """The verdict for ``tree`` (memoised by its string)."""
        s = str(tree)
        v = self.cache.get(s)
        if v is None:
            v = self._check(tree)
            if len(self.cache) > 200_000:
                self.cache.clear()
            self.cache[s] = v
        return v

    def _check(self, tree: gp.PrimitiveTree) -> Verdict:
        used = {plain_name(n) for n in tree if n.arity == 0}
        missing = used - self.available
        try:
            expr = to_sympy(tree)
        except (ValueError, TypeError, ArithmeticError, RecursionError):
            # SymPy could not canonicalise it: keep the proxy, keyed by its own string.
            return Verdict(True, "", f"tree:{tree}", 1, None)
        if expr is None:
            return Verdict(False, "empty")
        free = expr.free_symbols
        if missing and free & {SYMBOLS[m] for m in missing}:
            return Verdict(False, "input-unavailable")
        if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            return Verdict(False, "nan/inf")
        if not (free & _SHAPE_SYMBOLS):
            return Verdict(False, _constant_reason(tree))
        key, sign, core = canonical_key(expr)
        return Verdict(True, "", key, sign, core)

__all__ = ["RPS", "Verdict"]
