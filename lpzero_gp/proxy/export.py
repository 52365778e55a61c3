"""Export a proxy as SymPy (str and srepr), LaTeX and JSON; every form reads back.

Two forms of the SymPy, srepr and LaTeX output: the canonical one (the default), where SymPy's
evaluation rules merge equivalent proxies and leave out the parts that do not change the proxy's
values (an ``identity``, a ``neg`` under a ``square``, a term that is identically 0), and the
literal one (``literal=True``), which keeps the proxy exactly as written, every primitive in
order. :func:`lpzero_gp.proxy.read.read_proxy` reads each printed form: the string, JSON and
literal forms give back the very same proxy, the canonical SymPy, srepr and LaTeX forms a proxy
with the same canonical form (the same ranking). The export of a canonical form says what it
leaves out (``dropped``) and whether it differs from the proxy as written
(``canonical_differs``).
"""

from __future__ import annotations

import json

import sympy as sp
from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.jsonfile import loads_json
from lpzero_gp.primitives.symbolic import SYMBOLS, latex
from lpzero_gp.proxy import parse
from lpzero_gp.proxy.parse import format_tree, plain_name
from lpzero_gp.proxy.read import read_proxy
from lpzero_gp.proxy.symtree import literal_latex, to_literal, to_sympy

FORMATS = ("string", "sympy", "srepr", "latex", "json")
#: The formats with a canonical and a literal form.
SYMBOLIC_FORMATS = ("sympy", "srepr", "latex")
#: What SymPy raises on a tree it cannot put in canonical form (comparisons with infinities).
_SYMPY_FAULTS = (TypeError, ValueError, ArithmeticError, RecursionError)
#: Trees up to this many nodes get the ``dropped`` list (one canonical form per tried removal).
MAX_DROPPED_NODES = 120
#: A dropped operand longer than this is shortened in the list.
_MAX_PART = 60
#: Marks a proxy SymPy cannot canonicalise (``None`` is the canonical form of an empty proxy).
_FAILED = object()
_UNSET = object()


def export(proxy: str | gp.PrimitiveTree, literal: bool = False) -> dict:
    """Every export format of a proxy (any input :func:`read_proxy` takes).

    ``sympy``, ``srepr`` and ``latex`` hold the canonical form, or the literal one when
    ``literal`` (``form`` says which); the canonical forms are empty strings when SymPy cannot
    canonicalise the proxy. ``literal_srepr`` and ``literal_latex`` always hold the literal form.
    ``dropped`` lists the parts of the proxy its canonical form leaves out (``identity(...)``, an
    operand that vanishes) and ``canonical_differs`` is true when there are any, or when the
    canonical form is constant or empty.
    """
    tree = read_proxy(proxy)
    lit = to_literal(tree)
    lit_forms = {"sympy": str(lit), "srepr": sp.srepr(lit), "latex": literal_latex(tree)}
    try:
        canon = to_sympy(tree)
        forms = {"sympy": str(canon), "srepr": sp.srepr(canon),
                 "latex": latex(canon) if canon is not None else ""}
    except _SYMPY_FAULTS:
        canon, forms = _FAILED, {"sympy": "", "srepr": "", "latex": ""}
    dropped = [] if canon is _FAILED else dropped_parts(tree, canon)
    differs = canon is not _FAILED and (bool(dropped) or not _has_inputs(canon))
    return {"proxy": format_tree(tree), "form": "literal" if literal else "canonical",
            **(lit_forms if literal else forms), "literal_srepr": lit_forms["srepr"],
            "literal_latex": lit_forms["latex"], "canonical_differs": differs,
            "dropped": dropped}


def _has_inputs(expr) -> bool:
    return expr is not None and bool(expr.free_symbols & set(SYMBOLS.values()))


def _canonical(nodes: list):
    try:
        return to_sympy(gp.PrimitiveTree(nodes))
    except _SYMPY_FAULTS:
        return _FAILED


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_PART else text[:_MAX_PART - 3] + "..."


def dropped_parts(tree: gp.PrimitiveTree, canon=_UNSET) -> list[str]:
    """The parts of ``tree`` its canonical form leaves out, in prefix order.

    A unary op is left out when the tree without it (its argument in its place) has the same
    canonical form, as is a pair of unary ops (``neg(neg(...))``); a binary op's operand is left
    out when the other operand alone in its place gives the same canonical form. Removals are
    made one after another, so together they leave the canonical form as it is. A unary op is
    listed as ``op(...)``, an operand as its proxy string. Empty when the tree is larger than
    :data:`MAX_DROPPED_NODES` or its canonical form is empty, constant or out of SymPy's reach.
    """
    nodes = list(tree)
    canon = _canonical(nodes) if canon is _UNSET else canon
    if len(nodes) > MAX_DROPPED_NODES or canon is _FAILED or not _has_inputs(canon):
        return []
    out: list[str] = []
    i = 0
    while i < len(nodes):
        removal = _removal(nodes, i, canon)
        if removal is None:
            i += 1
        else:
            nodes, label = removal
            out.append(label)
    return out


def _removal(nodes: list, i: int, canon) -> tuple[list, str] | None:
    """(nodes, label) of the first removal at node ``i`` that keeps ``canon``, or None."""
    node = nodes[i]
    if node.arity == 0:
        return None
    tree = gp.PrimitiveTree(nodes)
    end = tree.searchSubtree(i).stop
    kids = [tree.searchSubtree(i + 1)]
    if node.arity == 2:
        kids.append(tree.searchSubtree(kids[0].stop))
    options = []
    if node.arity == 1:
        options.append((kids[0], f"{plain_name(node)}(...)"))
        inner = nodes[i + 1]
        if inner.arity == 1:
            options.append((tree.searchSubtree(i + 2),
                            f"{plain_name(node)}({plain_name(inner)}(...))"))
    else:
        for keep, drop in ((kids[0], kids[1]), (kids[1], kids[0])):
            options.append((keep, _shorten(format_tree(gp.PrimitiveTree(nodes[drop])))))
    for keep, label in options:
        if nodes[keep.start].ret != node.ret:
            continue
        cand = nodes[:i] + nodes[keep] + nodes[end:]
        if _canonical(cand) == canon:
            return cand, label
    return None


def render(proxy: str | gp.PrimitiveTree, fmt: str, literal: bool = False) -> str:
    """One export format as text (the literal form of the SymPy ones when ``literal``)."""
    if fmt not in FORMATS:
        raise ProxyError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return text_of(export(proxy, literal), fmt)


def text_of(d: dict, fmt: str) -> str:
    """One format of an :func:`export` dict as text."""
    if fmt == "json":
        return json.dumps(d, indent=2)
    if fmt in SYMBOLIC_FORMATS and not d["sympy"]:
        raise ProxyError("SymPy cannot put this proxy in canonical form; use the literal "
                         "form (literal=True, --literal) or the string or json format")
    return d["proxy" if fmt == "string" else fmt]


def note(d: dict, fmt: str) -> str | None:
    """The one-line note for a canonical SymPy, srepr or LaTeX form that differs from the proxy
    as written (None otherwise)."""
    if fmt not in SYMBOLIC_FORMATS or d["form"] != "canonical" or not d["canonical_differs"]:
        return None
    what = (f"leaves out {', '.join(d['dropped'])} (no effect on the proxy's values)"
            if d["dropped"] else "is constant or empty")
    return f"note: the canonical form {what}; --literal prints the proxy as written"


def import_json(text: str) -> gp.PrimitiveTree:
    """The tree of an exported JSON document (parsed by our own parser, never evaluated)."""
    try:
        proxy = loads_json(text, "", error=ProxyError)["proxy"]
    except (ProxyError, KeyError, TypeError) as exc:
        raise ProxyError(f"not an exported proxy JSON document ({exc})") from None
    return parse(proxy)

__all__ = ["dropped_parts", "export", "import_json", "note", "render", "text_of"]
