"""Read the SymPy forms that ``export`` prints (``str`` and ``srepr``) back into SymPy, safely.

User text never reaches ``sympify`` or ``eval``: the reader core (:mod:`.reader`) with this
form's token table builds the expression from a fixed vocabulary (the input symbols, the blocks
count ``L``, the softmax constant ``w``, the functions the ops' SymPy twins are written with, the
few SymPy classes the canonical form uses, and ``Function('op')`` of the literal form). Both
forms share one grammar: ``srepr`` is calls and literals only (``Pow(Symbol('H', real=True),
Integer(-2))``), ``str`` adds Python's operators (``H**(-2)``).
"""

from __future__ import annotations

import operator
import re

import sympy as sp
from sympy.core.function import Application, UndefinedFunction

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.ops import OPS_BY_NAME
from lpzero_gp.primitives.registry import per_version
from lpzero_gp.primitives.symbolic import CONST_SOFTMAX, CUSTOM, NBLOCKS, SYMBOLS
from lpzero_gp.proxy.parse import MAX_CHARS
from lpzero_gp.proxy.reader import Combine, ExprReader, scan, scan_at

#: Names that stand for a value.
CONSTANTS: dict[str, object] = {**SYMBOLS, NBLOCKS.name: NBLOCKS, CONST_SOFTMAX.name: CONST_SOFTMAX,
                                "E": sp.E, "nan": sp.nan, "zoo": sp.zoo, "oo": sp.oo}
#: Exceptions SymPy raises on arguments it cannot take (wrong count, wrong kind).
SYMPY_ERRORS = (TypeError, ValueError, ArithmeticError, AttributeError, RecursionError,
                NotImplementedError)
#: The longest literal-form text the srepr and LaTeX readers take (canonical forms: MAX_CHARS).
#: The literal forms spell a proxy out at greater length than its string (``Function('agg_mean')(``
#: for ``agg_mean(``), so a proxy of ``MAX_NODES`` nodes needs more than ``MAX_CHARS``; they are
#: read in linear time into a proxy string, whose own limits then apply.
MAX_TEXT = 8 * MAX_CHARS
_MAX_DIGITS = 12
_MAX_EXPONENT = 64

#: First characters of the tokens the literal form never holds (operators and numbers).
_LITERAL_REFUSED = frozenset("+-*/0123456789")
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z][A-Za-z0-9_]*)|('[A-Za-z0-9_]*'|\"[A-Za-z0-9_]*\")"
                    r"|(\*\*|[-+*/(),=]))")


def _int(n) -> int:
    """An integer argument of ``Integer``/``Rational`` in the srepr form."""
    if isinstance(n, bool) or not isinstance(n, int | sp.Integer):
        raise ProxyError(f"expected an integer, got {n!r}")
    return int(n)


def _basic(value):
    """``value`` if it is a SymPy object (not a quoted name or a flag), else a ProxyError."""
    if not isinstance(value, sp.Basic):
        raise ProxyError(f"unexpected {value!r} in an expression")
    return value


def number(digits: str) -> sp.Integer:
    """An integer literal (at most 12 digits: reading never builds a huge number)."""
    if len(digits) > _MAX_DIGITS:
        raise ProxyError(f"number {digits[:20]} has more than {_MAX_DIGITS} digits")
    return sp.Integer(int(digits))


def power(base, exp):
    """``base ** exp``, refusing numeric powers that would build huge numbers."""
    if getattr(exp, "is_Number", False) and abs(exp) > _MAX_EXPONENT:
        raise ProxyError(f"exponent {exp} is larger than {_MAX_EXPONENT}")
    if getattr(base, "is_Number", False) and base.is_Rational and max(
            abs(base.p), base.q) >= 1 << 64:
        raise ProxyError("a power of a huge number")
    return sp.Pow(base, exp)


#: SymPy's own classes and functions the canonical form is written with, by printed name.
_SYMPY_FUNCTIONS: dict[str, object] = {
    "exp": sp.exp, "log": sp.log, "Abs": sp.Abs, "Max": sp.Max,
    "sqrt": lambda x: power(x, sp.S.Half), "re": sp.re,
    "Add": sp.Add, "Mul": sp.Mul, "Pow": power,
    "Integer": lambda n: sp.Integer(_int(n)),
    "Rational": lambda p, q: sp.Rational(_int(p), _int(q)),
}
_X, _Y = sp.Symbol("x"), sp.Symbol("y")


def _twin_classes(op) -> list[type]:
    """The SymPy functions an op's twin is written with (``SafeLog`` and ``Abs`` for abslog)."""
    if op.sym is None:
        return []
    expr = op.sym(*(_X, _Y)[:op.arity])
    return [type(e) for e in sp.preorder_traversal(expr) if isinstance(e, Application)]


@per_version
def functions() -> dict[str, object]:
    """Functions of the canonical form by the name SymPy prints: the classes of
    :mod:`~lpzero_gp.primitives.symbolic`, those the ops' twins are written with (a registered
    op's among them) and SymPy's own."""
    classes = list(CUSTOM) + [c for op in OPS_BY_NAME.values() for c in _twin_classes(op)]
    return {**{c.__name__: c for c in classes}, **_SYMPY_FUNCTIONS}


#: The functions of the package's own table (:func:`functions` follows registrations).
FUNCTIONS: dict[str, object] = functions()


def tokens(text: str) -> list[str]:
    """Tokens of a SymPy ``str``/``srepr`` text."""
    return scan(_TOKEN, text)


def _checked(op: Combine) -> Combine:
    """``op`` on two SymPy objects (the right operand checked first, as it is read last)."""

    def combine(a, b):
        b = _basic(b)
        return op(_basic(a), b)

    return combine


class _Reader(ExprReader):
    """The SymPy form: Python's operators over calls of whitelisted constructors."""

    sums = {"+": _checked(operator.add), "-": _checked(operator.sub)}
    products = {"*": _checked(operator.mul), "/": _checked(operator.truediv)}
    faults = SYMPY_ERRORS
    refusal = "not a SymPy proxy expression"

    def factor(self):
        if self.peek() == "-":
            self.take()
            return -_basic(self.factor())
        base = self.atom()
        if self.peek() == "**":
            self.take()
            return power(_basic(base), _basic(self.factor()))
        return base

    def atom(self):
        tok = self.take()
        if tok == "(":
            value = self.expr()
            self.take(")")
            return value
        if tok[0].isdigit():
            return number(tok)
        if tok[0] in "'\"":
            return tok[1:-1]
        if not tok[0].isalpha():
            raise self.error(f"unexpected {tok!r}", back=1)
        if self.peek() != "(":
            if tok in ("True", "False"):
                return tok == "True"
            if tok not in CONSTANTS:
                raise self.error(f"unknown name {tok!r}", back=1)
            return CONSTANTS[tok]
        start = self.pos - 1
        self.take("(")
        args, kwargs = self.arguments()
        try:
            value = self.call(tok, args, kwargs)
        except ProxyError as exc:  # say where the call starts
            raise self.error(str(exc), back=self.pos - start) from None
        while isinstance(value, UndefinedFunction) and self.peek() == "(":  # Function('op')(x)
            self.take("(")
            args, kwargs = self.arguments()
            if kwargs or not args:
                raise ProxyError(f"unexpected arguments of {value}")
            value = value(*[_basic(a) for a in args])
        return value

    def arguments(self) -> tuple[list, dict]:
        args: list = []
        kwargs: dict = {}
        while self.peek() != ")":
            if args or kwargs:
                self.take(",")
            if self.peek(1) == "=":
                key = self.take()
                self.take("=")
                kwargs[key] = self.expr()
            else:
                args.append(self.expr())
        self.take(")")
        return args, kwargs

    @staticmethod
    def call(name: str, args: list, kwargs: dict):
        if name == "Symbol":  # srepr: the name picks our symbol; assumptions are ours
            if len(args) != 1 or args[0] not in CONSTANTS or not all(
                    isinstance(v, bool) for v in kwargs.values()):
                raise ProxyError(f"unknown symbol {args[0] if args else ''!r}")
            return CONSTANTS[args[0]]
        if name == "Function":  # the literal form: an op of the proxy as an undefined function
            if len(args) != 1 or kwargs or args[0] not in OPS_BY_NAME:
                raise ProxyError(f"unknown op {args[0] if args else ''!r} in Function(...)")
            return sp.Function(args[0])
        table = functions()
        if name not in table:
            raise ProxyError(f"unknown function {name!r}")
        if kwargs or any(isinstance(a, str | bool) for a in args):
            raise ProxyError(f"unexpected arguments of {name}")
        return table[name](*args)


def read_sympy(text: str):
    """The SymPy expression of a ``str`` or ``srepr`` form (``None``: the empty proxy).

    The literal form's srepr (``Function('agg_sum')(Function('fro')(Symbol('W')))``) reads into
    the literal expression, whose ops are the undefined functions ``Function(name)``.
    """
    literal = text.lstrip().startswith("Function(")
    limit = MAX_TEXT if literal else MAX_CHARS
    if len(text) > limit:
        raise ProxyError(f"proxy text longer than {limit} characters")
    if text.strip() == "None":
        return None
    toks, at = scan_at(_TOKEN, text)
    if literal and any(t[0] in _LITERAL_REFUSED for t in toks):
        raise ProxyError("the literal form holds only Function(...)(...) and Symbol(...)")
    return _basic(_Reader(toks, at, text).read())

__all__ = [
    "CONSTANTS", "FUNCTIONS", "MAX_TEXT", "SYMPY_ERRORS", "functions", "number", "power",
    "read_sympy",
]
