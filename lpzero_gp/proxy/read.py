"""The one reader of proxy inputs, shared by ``eval``, ``export``, scoring and the Python API.

A proxy input is a DEAP tree, proxy text in any form ``export`` prints, a JSON file or a
results folder. Text is read in this order:

1. a named proxy (``flexibert-best``) or a proxy string (``agg_sum(fro(W))``);
2. a JSON document (``{"proxy": ...}``, what ``export --format json`` prints);
3. the SymPy ``str`` or ``srepr`` form, or the LaTeX form: read by the project's own reader
   core (:mod:`.reader`, one token table per form) and turned back into a proxy with the same
   canonical form (:mod:`.invert`).

Only text that is none of these is taken as a path, and only if that file or folder exists:
a results folder means its ``best.json``; a file holds a JSON document or proxy text. So a
long proxy is never handed to the operating system as a file name, a proxy with ``/`` in it
is a proxy, and empty text is an error rather than the current folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from deap import gp

from lpzero_gp.errors import ProxyError, one_line
from lpzero_gp.jsonfile import csv_rows, loads_json
from lpzero_gp.primitives.registry import per_version
from lpzero_gp.proxy import default_pset
from lpzero_gp.proxy.named import resolve, unknown_word
from lpzero_gp.proxy.parse import format_tree, op_names, parse_tree

_PATH_LIKE = re.compile(r"[/\\~]|\.[A-Za-z0-9]+$")
_MAX_FILE_BYTES = 1 << 20
_EMPTY = "empty proxy: give a proxy, a named proxy, a JSON file or a results folder"


@per_version
def _sympy_only() -> re.Pattern[str]:
    """Marks of the SymPy and LaTeX forms (operators, braces, the capitalised function names of
    the SymPy forms): text that reads as nothing gets the SymPy reader's error if it holds one,
    else the proxy-string parser's."""
    from lpzero_gp.proxy.symread import functions

    names = sorted(n for n in [*functions(), "Symbol"] if n[0].isupper())
    return re.compile(r"[\\^{}*/+]|\b(" + "|".join(names) + r")\(")


def as_tree(proxy: str | gp.PrimitiveTree, pset: gp.PrimitiveSetTyped | None = None
            ) -> gp.PrimitiveTree:
    """The tree of ``pset`` (default: every op and input) for a tree or proxy text.

    A tree is re-read through its proxy string, so a tree of another primitive set (the stock
    set of ``make_pset(stock=True)``, whose terminals stand for small proxies) becomes a plain
    proxy tree.
    """
    pset = pset or default_pset()
    if isinstance(proxy, gp.PrimitiveTree):
        return parse_tree(format_tree(proxy), pset)
    return read_text(proxy, pset)


def read_text(text: str, pset: gp.PrimitiveSetTyped | None = None) -> gp.PrimitiveTree:
    """The tree of proxy text in any form ``export`` prints (never a path)."""
    if not isinstance(text, str):
        raise ProxyError("a proxy must be a string")
    pset = pset or default_pset()
    text = text.strip()
    if not text:
        raise ProxyError("empty proxy")
    try:
        return parse_tree(resolve(text), pset)
    except ProxyError as exc:
        as_string = unknown_word(exc, pset.arguments)
    if text.startswith("{"):
        try:
            return read_text(_json_proxy(text), pset)
        except ProxyError as exc:
            raise ProxyError(f"not an exported proxy JSON document ({exc})") from None
    try:
        return _from_sympy(text, pset)
    except ProxyError as exc:
        if _sympy_only().search(text):
            raise _mixed_forms(exc) from None
        raise as_string from None


def _mixed_forms(exc: ProxyError) -> ProxyError:
    """The SymPy reader's error, with a hint when the name it does not know is an op of the
    proxy-string form: the text mixes the string form's names with the SymPy form's operators."""
    found = re.search(r"unknown function '(\w+)'", str(exc))
    if not found or found.group(1) not in op_names():
        return exc
    return ProxyError(f"{exc}; {found.group(1)!r} is an op of proxy strings, which have no "
                      "operators (write square(x), not x**2; add(x, y), not x + y), while the "
                      "SymPy form capitalises ops (Mean(W)**2)")


def read_proxy(source: str | gp.PrimitiveTree, pset: gp.PrimitiveSetTyped | None = None
               ) -> gp.PrimitiveTree:
    """The tree of any proxy input: a tree, proxy text, a JSON file or a results folder."""
    if isinstance(source, gp.PrimitiveTree):
        return as_tree(source, pset)
    if not isinstance(source, str):
        raise ProxyError("a proxy must be a string")
    if not source.strip():
        raise ProxyError(_EMPTY)
    try:
        return read_text(source, pset)
    except ProxyError as exc:
        error = exc
    path = Path(os.path.expanduser(source.strip()))
    if os.path.isdir(path):
        path = path / "best.json"
        if not os.path.isfile(path):
            raise ProxyError(f"no best.json in results folder {source}")
    if os.path.isfile(path):
        return _from_file(path, pset)
    if "(" not in source and os.path.exists(path):  # a device, a pipe, a socket by that name
        shown = source if len(source) <= 80 else source[:77] + "..."
        raise ProxyError(f"{shown}: not a proxy, and not a regular file or folder")
    if "(" not in source and _PATH_LIKE.search(source):
        shown = source if len(source) <= 80 else source[:77] + "..."
        if os.path.exists(path):  # a device, a pipe, a socket
            raise ProxyError(f"{shown}: not a proxy, and not a regular file or folder")
        raise ProxyError(f"{shown}: not a proxy, and no such file or folder")
    raise error


def _read_bounded(path: Path, what: str) -> bytes:
    """The bytes of a ``what`` file, at most :data:`_MAX_FILE_BYTES` (one byte past the limit
    is read: a file may grow, or report no size, as in /proc); ProxyError otherwise."""
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ProxyError(f"cannot read {what} {path}: {exc.strerror or one_line(exc)}"
                         ) from None
    if len(raw) > _MAX_FILE_BYTES:
        raise ProxyError(f"{path} is too large to be a {what} (over "
                         f"{_MAX_FILE_BYTES >> 20} MiB)")
    return raw


def _from_file(path: Path, pset: gp.PrimitiveSetTyped) -> gp.PrimitiveTree:
    """The proxy in a file: a JSON document (``best.json``, exported JSON) or proxy text."""
    raw = _read_bounded(path, "proxy file")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ProxyError(f"{path} is not a proxy file (not UTF-8 text)") from None
    if path.suffix == ".json" or text.startswith("{"):
        try:
            proxy = _json_proxy(text)
        except ProxyError as exc:
            raise ProxyError(f"{path} is not a proxy JSON file ({exc})") from None
        return read_text(proxy, pset)
    try:
        return read_text(text, pset)
    except ProxyError as exc:
        raise ProxyError(f"{path} holds no proxy ({exc})") from None


def _json_proxy(text: str) -> str:
    """The ``proxy`` entry of a JSON document (what ``run`` and ``export`` write)."""
    try:
        proxy = loads_json(text, "", error=ProxyError)["proxy"]
    except (KeyError, TypeError, IndexError):
        raise ProxyError("no 'proxy' entry") from None
    if not isinstance(proxy, str):
        raise ProxyError("its 'proxy' entry is not a string")
    return proxy


def _from_sympy(text: str, pset: gp.PrimitiveSetTyped) -> gp.PrimitiveTree:
    """A tree whose canonical form is the SymPy (``str``, ``srepr``) or LaTeX text's."""
    from lpzero_gp.proxy.invert import tree_from_sympy
    from lpzero_gp.proxy.latexread import read_latex
    from lpzero_gp.proxy.symread import read_sympy

    first, second = (read_latex, read_sympy) if re.search(r"[\\^{}]", text) else (
        read_sympy, read_latex)
    try:
        expr = first(text)
    except ProxyError as exc:
        try:
            expr = second(text)
        except ProxyError:
            raise exc from None
    return tree_from_sympy(expr, pset)

def front_proxies(source: str) -> list[str]:
    """The proxies of a front table (``front.csv`` of a ``run --objective pareto``, or any
    CSV file with a ``proxy`` column), in its order; ``[source]`` for any other input, so that
    ``eval --proxy runs/x/front.csv`` scores a whole front. A table whose header names a
    column twice is refused (which ``proxy`` column is meant?)."""
    if not isinstance(source, str) or not source.strip().lower().endswith(".csv"):
        return [source]
    path = Path(os.path.expanduser(source.strip()))
    if not os.path.isfile(path):
        return [source]
    raw = _read_bounded(path, "front table")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProxyError(f"{path}: not a readable CSV table ({one_line(exc)})") from None
    header, rows = csv_rows(text, str(path), error=ProxyError)
    proxies = [(r.get("proxy") or "").strip() for r in rows]
    if not rows or "proxy" not in header:
        raise ProxyError(f"{path}: a front table needs a 'proxy' column and at least one row")
    if not all(proxies):
        raise ProxyError(f"{path}: row {proxies.index('') + 2} has no proxy")
    return list(dict.fromkeys(proxies))


__all__ = ["as_tree", "front_proxies", "read_proxy", "read_text"]
