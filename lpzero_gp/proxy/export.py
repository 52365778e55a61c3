"""Export a proxy as SymPy (str and srepr), LaTeX and JSON; JSON imports back to the same tree."""

from __future__ import annotations

import json
from pathlib import Path

import sympy as sp

from lpzero_gp.errors import ProxyError
from lpzero_gp.proxy import parse
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.proxy.symtree import to_literal, to_sympy

FORMATS = ("string", "sympy", "srepr", "latex", "json")


def proxy_from_source(source: str) -> str:
    """A proxy string from a string, a named proxy, or a results folder / best.json file."""
    p = Path(source)
    if len(source) < 4096 and (p.is_dir() or (p.suffix == ".json" and p.is_file())):
        f = p / "best.json" if p.is_dir() else p
        if not f.is_file():
            raise ProxyError(f"no best.json in results folder {source}")
        try:
            data = json.loads(f.read_text())
            return str(data["proxy"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ProxyError(f"{f} is not a proxy JSON file ({exc})") from None
    return source


def export(proxy: str) -> dict[str, str]:
    """Every export format of a proxy (a string or a named proxy)."""
    tree = parse(proxy)
    canon = to_sympy(tree)
    literal = to_literal(tree)
    return {
        "proxy": format_tree(tree),
        "sympy": str(canon),
        "srepr": sp.srepr(canon),
        "latex": sp.latex(canon) if canon is not None else "",
        "literal_srepr": sp.srepr(literal),
    }


def render(proxy: str, fmt: str) -> str:
    """One export format as text."""
    if fmt not in FORMATS:
        raise ProxyError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    d = export(proxy)
    if fmt == "json":
        return json.dumps(d, indent=2)
    return d["proxy" if fmt == "string" else fmt]


def import_json(text: str):
    """The tree of an exported JSON document (parsed by our own parser, never evaluated)."""
    try:
        d = json.loads(text)
        proxy = d["proxy"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ProxyError(f"not an exported proxy JSON document ({exc})") from None
    return parse(proxy)
