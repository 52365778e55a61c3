"""The one reader of user-supplied JSON: bounded nesting, one typed error naming the file.

Python's ``json`` recurses once per nesting level, so ``[[[[...]]]]`` 100,000 deep raises
RecursionError, and an integer of thousands of digits raises ValueError. :func:`read_json`
(a file) and :func:`loads_json` (text) refuse nesting deeper than :data:`MAX_DEPTH` before
parsing, refuse a key repeated in one object (Python's ``json`` keeps the last silently, so a
file could say one thing to a reader's eye and another to the program), naming its path
(``records[3].higher_is_better``), and turn every decoding failure into one error of the
caller's ``LpzeroError`` class, so a bad file is one line and exit code 2, never an internal
error::

    data = read_json(path, "checkpoint", error=CheckpointError)

:func:`finite` reads a JSON number as a float without overflowing on huge integers.
:func:`csv_rows` is the one reader of user-supplied CSV text, with the same rule for its
header: a column named twice is refused (``csv.DictReader`` keeps the last one silently).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from importlib.resources.abc import Traversable
from itertools import accumulate
from pathlib import Path
from typing import Any

from lpzero_gp.errors import LpzeroError, SpaceError, one_line

#: Deepest nesting of arrays and objects accepted; real benchmark, results and checkpoint
#: files stay below ten, and Python's parser recurses once per level.
MAX_DEPTH = 100

#: A complete JSON string (escapes included); brackets inside strings do not nest.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text, brackets inside strings not counted."""
    if text.count("[") + text.count("{") == 0:
        return 0
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    steps = accumulate(1 if c in "[{" else -1 for c in brackets)
    return max(steps, default=0)


class _Repeated(dict):
    """An object of the parsed text that repeats ``key`` (kept with its last value)."""

    key: str


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict; a :class:`_Repeated` one when a key appears twice."""
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    repeated = _Repeated(out)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            repeated.key = key
            break
        seen.add(key)
    return repeated


def _step(key: str | int) -> str:
    """One step of a path: ``[3]``, ``.name`` or ``["odd key"]`` (escaped, one line)."""
    if isinstance(key, int):
        return f"[{key}]"
    return f".{key}" if key.isidentifier() else f"[{json.dumps(key)}]"


def _repeated_path(value: Any) -> str | None:
    """The path of the first repeated key in parsed ``value`` (document order), else None."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Repeated):
            return (path + _step(node.key)).lstrip(".")
        if isinstance(node, dict):
            children = [(v, path + _step(k)) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(v, path + _step(i)) for i, v in enumerate(node)]
        else:
            continue
        stack.extend(reversed(children))
    return None


def loads_json(text: str, what: str, error: type[LpzeroError] = SpaceError,
               max_depth: int = MAX_DEPTH) -> Any:
    """The value of JSON ``text``; ``error`` naming ``what`` (when given) if it is not usable
    (invalid, nested too deeply, or repeating a key in one object)."""
    where = f"{what}: " if what else ""
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise error(f"{where}JSON nested deeper than {max_depth} levels")
    found: list[bool] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = _pairs(items)
        if type(out) is _Repeated:
            found.append(True)
        return out

    try:
        value = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise error(f"{where}not valid JSON ({exc.msg} at line {exc.lineno}, "
                    f"column {exc.colno})") from None
    except RecursionError:
        raise error(f"{where}JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise error(f"{where}not valid JSON ({one_line(exc, limit=120)})") from None
    if found:
        raise error(f"{where}duplicate key {_repeated_path(value)} (each key may appear once "
                    "in an object)")
    return value


def read_json(path: str | os.PathLike[str] | Traversable, what: str,
              error: type[LpzeroError] = SpaceError, max_depth: int = MAX_DEPTH) -> Any:
    """The value of the JSON file ``path`` (a path or a package resource).

    A missing file, a folder, an unreadable or non-UTF-8 file, invalid JSON and nesting deeper
    than ``max_depth`` are each one ``error`` naming ``what`` and the file.
    """
    file = Path(path) if isinstance(path, str | os.PathLike) else path
    shown = f"{what} {path}"
    if isinstance(file, Path) and file.is_dir():
        raise error(f"{shown} is a folder, not a file")
    if not file.is_file():
        raise error(f"{what} not found: {path}")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{shown} is not UTF-8 text (bad byte at offset {exc.start})") from None
    except OSError as exc:
        raise error(f"cannot read {shown}: {exc.strerror or exc}") from None
    return loads_json(text, shown, error, max_depth)


def csv_rows(text: str, what: str, error: type[LpzeroError] = SpaceError
             ) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows (column -> cell) of CSV ``text``; ``error`` naming ``what`` when
    it is not readable CSV or its header names a column twice (the rows would keep only the
    last one's cells, so a table could say one thing to a reader's eye and another to the
    program)."""
    where = f"{what}: " if what else ""
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = list(reader.fieldnames or [])
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise error(f"{where}repeated column {json.dumps(name)} (each column may "
                            "appear once in the header)")
            seen.add(name)
        return header, list(reader)
    except csv.Error as exc:
        raise error(f"{where}not a readable CSV table ({one_line(exc)})") from None


def finite(value: Any) -> float | None:
    """A JSON number as a finite float; None for a boolean, a non-number, an infinity, NaN or
    an integer too large for a float (``math.isfinite`` would raise OverflowError on it)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        out = float(value)
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


__all__ = ["MAX_DEPTH", "csv_rows", "finite", "loads_json", "nesting_depth", "read_json"]
