"""Export a proxy as SymPy (str and srepr), LaTeX and JSON; every form reads back.

:func:`lpzero_gp.proxy.read.read_proxy` reads each printed form: the string and JSON forms give
back the very same proxy, the SymPy, srepr and LaTeX forms a proxy with the same canonical form.
"""

from __future__ import annotations

import json

import sympy as sp
from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.proxy import parse
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.proxy.read import read_proxy
from lpzero_gp.proxy.symtree import to_literal, to_sympy

FORMATS = ("string", "sympy", "srepr", "latex", "json")
#: What SymPy raises on a tree it cannot put in canonical form (comparisons with infinities).
_SYMPY_FAULTS = (TypeError, ValueError, ArithmeticError, RecursionError)


def export(proxy: str | gp.PrimitiveTree) -> dict[str, str]:
    """Every export format of a proxy (any input :func:`read_proxy` takes).

    The SymPy forms are empty strings when SymPy cannot canonicalise the proxy.
    """
    tree = read_proxy(proxy)
    literal = to_literal(tree)
    try:
        canon = to_sympy(tree)
        forms = {"sympy": str(canon), "srepr": sp.srepr(canon),
                 "latex": sp.latex(canon) if canon is not None else ""}
    except _SYMPY_FAULTS:
        forms = {"sympy": "", "srepr": "", "latex": ""}
    return {"proxy": format_tree(tree), **forms, "literal_srepr": sp.srepr(literal)}


def render(proxy: str | gp.PrimitiveTree, fmt: str) -> str:
    """One export format as text."""
    if fmt not in FORMATS:
        raise ProxyError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    d = export(proxy)
    if fmt == "json":
        return json.dumps(d, indent=2)
    if fmt in ("sympy", "srepr", "latex") and not d["sympy"]:
        raise ProxyError("SymPy cannot put this proxy in canonical form; use --format string "
                         "or json")
    return d["proxy" if fmt == "string" else fmt]


def import_json(text: str) -> gp.PrimitiveTree:
    """The tree of an exported JSON document (parsed by our own parser, never evaluated)."""
    try:
        d = json.loads(text)
        proxy = d["proxy"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ProxyError(f"not an exported proxy JSON document ({exc})") from None
    return parse(proxy)
