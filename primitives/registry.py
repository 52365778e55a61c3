"""``register_op``: add an op to the op table from outside the package.

A registered op is a row like the table's (:func:`.ops.spec`): it then parses in proxy strings,
joins every primitive set built afterwards (:func:`.pset.make_pset`, the search's and the
scorer's), evaluates, and exports and reads back in every form. Whatever is derived from the
table (the readers' vocabularies, the default primitive set) is cached per :func:`version` of the
table, so it follows a registration. Registrations live in the registering process: worker
processes (``--workers``, Dask) see an op registered when a module they import is imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

from lpzero_gp.errors import LpzeroError

from . import ops as O
from .notation import Notation
from .pset import ALL_OVERLOADS, INPUTS, STOCK_TERMINALS, SUFFIX, overloads

_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: Kinds a registered op may have: an element-wise map and a binary op take torch kernels.
KINDS = {1: O.ELEMENTWISE, 2: O.BINARY}
_version = 0


def version() -> int:
    """How many times the op table has changed (0: the package's table only)."""
    return _version


def per_version(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn()`` computed once per :func:`version` of the op table (for tables derived from it)."""
    cache: dict[int, object] = {}

    @wraps(fn)
    def get():
        if _version not in cache:
            cache.clear()
            cache[_version] = fn()
        return cache[_version]

    return get


def _taken(name: str) -> str | None:
    """What ``name`` already means in a proxy string, or None."""
    if name in O.OPS_BY_NAME:
        return "an op"
    if name in O.ALIASES:
        return f"an alias of {O.ALIASES[name]}"
    if name in INPUTS or name in STOCK_TERMINALS:
        return "an input"
    return None


def _latex_opening(notation: Notation) -> str:
    return "".join(notation.pieces[0].split())


def _check(name: str, kernel: Callable, arity: int, aliases: tuple[str, ...],
           types: tuple[type, ...]) -> None:
    for word in (name, *aliases):
        if not isinstance(word, str) or not _NAME.fullmatch(word):
            raise LpzeroError(f"op name {word!r}: use lower-case letters, digits and _")
        taken = _taken(word)
        if taken:
            raise LpzeroError(f"op name {word!r} is taken: it is {taken}")
    if len(set(aliases)) != len(aliases) or name in aliases:
        raise LpzeroError(f"op {name!r}: its aliases repeat a name")
    if not callable(kernel):
        raise LpzeroError(f"op {name!r}: the kernel must be callable, got {type(kernel).__name__}")
    if arity not in KINDS:
        raise LpzeroError(f"op {name!r}: arity must be 1 or 2, got {arity!r}")
    unknown = [t for t in types if t not in SUFFIX]
    if unknown:
        raise LpzeroError(f"op {name!r}: unknown type(s) {unknown}; the types are "
                          "TensorList, ParamList, Layerwise and Score")


def _check_latex(name: str, notation: Notation) -> None:
    """A registered op's LaTeX is delimited (text before, between and after its arguments, so
    it reads back wherever it stands) and opens unlike any other op's (neither opening starts
    the other) and unlike a bracket."""
    if not all(piece.strip() for piece in notation.pieces):
        raise LpzeroError(f"op {name!r}: its LaTeX form {notation.template!r} must open, "
                          r"separate and close its arguments with text, as \name{#1} does")
    opening = _latex_opening(notation)
    if opening.startswith(r"\left("):
        raise LpzeroError(rf"op {name!r}: its LaTeX form opens as a bracket, \left(, does")
    clash = next((op.name for op in O.OPS_BY_NAME.values() if (other := _latex_opening(op.latex))
                  and (opening.startswith(other) or other.startswith(opening))), None)
    if clash:
        raise LpzeroError(f"op {name!r}: its LaTeX form opens as {clash!r}'s does")


def _unsafe(name: str) -> str | None:
    """The first overload of op ``name`` that is not finite where every op must be, or None."""
    from .pset import check_op_safety

    try:
        check_op_safety(names=(name,))
    except AssertionError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a user's kernel may raise anything
        return f"its kernel fails ({type(exc).__name__}: {exc})"
    return None


def register_op(name: str, kernel: Callable, *, arity: int = 1,
                types: tuple[type, ...] = (), sym: Callable | None = None,
                latex: str | Notation | None = None, doc: str = "",
                aliases: tuple[str, ...] = (), check: bool = True) -> O.OpSpec:
    """Add an op to the op table; returns its row.

    ``kernel`` maps torch tensors to a tensor of the first one's shape (``arity`` 1) or combines
    two (``arity`` 2); its result is saturated at the dtype's largest value. A unary op is
    registered for TensorList, ParamList, Layerwise and Score, a binary one for pairs of
    ParamList, Layerwise or Score (``types`` narrows that). ``sym`` is its SymPy twin (default:
    a function of its own, ``MyOp(x)`` for ``my_op``); ``latex`` its literal LaTeX with ``#1``
    (and ``#2``) for the arguments (default ``\\operatorname{my\\_op}\\left(#1\\right)``).
    With ``check``, the op must be finite on zeros, negatives and huge values, as every op of
    the table is (:func:`.pset.check_op_safety`). A taken name, a kernel that is not callable,
    an unknown arity or type, a LaTeX form another op opens alike or an unsafe kernel is an
    :class:`~lpzero_gp.errors.LpzeroError` and leaves the table as it was.
    """
    global _version
    from .kernels import saturating

    aliases, types = tuple(aliases), tuple(types)
    _check(name, kernel, arity, aliases, types)
    try:
        row = O.spec(name, KINDS[arity], saturating(kernel), sym, latex=latex, doc=doc,
                     aliases=aliases, types=types)
    except ValueError as exc:
        raise LpzeroError(str(exc)) from None
    _check_latex(name, row.latex)
    typed = overloads(row)
    if not typed:
        raise LpzeroError(f"op {name!r}: a {arity}-argument op takes none of the types "
                          f"{', '.join(t.__name__ for t in types)}")
    O.OPS_BY_NAME[name] = row
    O.ALIASES.update(dict.fromkeys(aliases, name))
    ALL_OVERLOADS.update({ov.typed_name: ov for ov in typed})
    _version += 1
    problem = _unsafe(name) if check else None
    if problem:
        unregister_op(name)
        raise LpzeroError(f"op {name!r} is not safe: {problem}")
    return row


def unregister_op(name: str) -> None:
    """Remove a registered op (the table's own ops stay)."""
    global _version
    if name in {op.name for op in O.OPS}:
        raise LpzeroError(f"op {name!r} is one of the package's own ops")
    row = O.OPS_BY_NAME.pop(name, None)
    if row is None:
        raise LpzeroError(f"no registered op {name!r}")
    for alias in row.aliases:
        O.ALIASES.pop(alias, None)
    for typed_name in [k for k, ov in ALL_OVERLOADS.items() if ov.op is row]:
        del ALL_OVERLOADS[typed_name]
    _version += 1


@contextmanager
def registered_op(name: str, kernel: Callable, **kwargs) -> Iterator[O.OpSpec]:
    """``register_op`` for the duration of a ``with`` block (tests, one-off experiments)."""
    row = register_op(name, kernel, **kwargs)
    try:
        yield row
    finally:
        unregister_op(name)

__all__ = ["per_version", "register_op", "registered_op", "unregister_op", "version"]
