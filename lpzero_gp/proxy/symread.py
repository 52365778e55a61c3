"""Read the SymPy forms that ``export`` prints (``str`` and ``srepr``) back into SymPy, safely.

User text never reaches ``sympify`` or ``eval``: a tokeniser and a recursive-descent reader
build the expression from a fixed vocabulary (the input symbols, the blocks count ``L``, the
softmax constant ``w``, the custom functions of :mod:`lpzero_gp.primitives.symbolic` and the
few SymPy classes the canonical form uses, and ``Function('op')`` of the literal form). Both
forms share one grammar: ``srepr`` is calls and literals only (``Pow(Symbol('H', real=True),
Integer(-2))``), ``str`` adds Python's operators (``H**(-2)``).
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.core.function import UndefinedFunction

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.ops import OPS_BY_NAME
from lpzero_gp.primitives.symbolic import CONST_SOFTMAX, CUSTOM, NBLOCKS, SYMBOLS
from lpzero_gp.proxy.parse import MAX_CHARS, MAX_DEPTH

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


#: Functions of the canonical form, by the name SymPy prints.
FUNCTIONS: dict[str, object] = {
    **{f.__name__: f for f in CUSTOM},
    "exp": sp.exp, "log": sp.log, "Abs": sp.Abs, "Max": sp.Max,
    "sqrt": lambda x: power(x, sp.S.Half), "re": sp.re,
    "Add": sp.Add, "Mul": sp.Mul, "Pow": power,
    "Integer": lambda n: sp.Integer(_int(n)),
    "Rational": lambda p, q: sp.Rational(_int(p), _int(q)),
}


def scan(pattern: re.Pattern[str], text: str) -> list[str]:
    """Tokens of ``text``: the first matched group of each match of ``pattern`` (a match that
    captures nothing, such as spacing, gives no token); ProxyError at the first bad character."""
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = pattern.match(text, pos)
        if not m:
            bad = text[pos:].lstrip()[:20]
            raise ProxyError(f"unexpected character(s) {bad!r} at position {pos}")
        tok = next((g for g in m.groups() if g is not None), None)
        if tok is not None:
            out.append(tok)
        pos = m.end()
    return out


def tokens(text: str) -> list[str]:
    """Tokens of a SymPy ``str``/``srepr`` text."""
    return scan(_TOKEN, text)


class TokenReader:
    """Position, look-ahead and nesting guard of a recursive-descent reader over tokens."""

    #: What running out of tokens means, in the reader's words.
    end_message = "unexpected end of the expression (unbalanced parentheses?)"

    def __init__(self, toks: list[str]):
        self.toks = toks
        self.pos = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> str | None:
        i = self.pos + ahead
        return self.toks[i] if i < len(self.toks) else None

    def take(self, *want: str) -> str:
        tok = self.peek()
        if tok is None:
            raise ProxyError(self.end_message)
        if want and tok not in want:
            raise ProxyError(f"expected {' or '.join(map(repr, want))}, got {tok!r}")
        self.pos += 1
        return tok


class _Reader(TokenReader):
    """Recursive descent over the tokens; every value is built by a whitelisted constructor."""

    def expr(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ProxyError(f"expression nested deeper than {MAX_DEPTH}")
        value = self.term()
        while self.peek() in ("+", "-"):
            op, rhs = self.take(), _basic(self.term())
            value = _basic(value) + rhs if op == "+" else _basic(value) - rhs
        self.depth -= 1
        return value

    def term(self):
        value = self.unary()
        while self.peek() in ("*", "/"):
            op, rhs = self.take(), _basic(self.unary())
            value = _basic(value) * rhs if op == "*" else _basic(value) / rhs
        return value

    def unary(self):
        if self.peek() == "-":
            self.take()
            return -_basic(self.unary())
        base = self.atom()
        if self.peek() == "**":
            self.take()
            return power(_basic(base), _basic(self.unary()))
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
            raise ProxyError(f"unexpected {tok!r}")
        if self.peek() != "(":
            if tok in ("True", "False"):
                return tok == "True"
            if tok not in CONSTANTS:
                raise ProxyError(f"unknown name {tok!r}")
            return CONSTANTS[tok]
        self.take("(")
        args, kwargs = self.arguments()
        value = self.call(tok, args, kwargs)
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
            if self.pos + 1 < len(self.toks) and self.toks[self.pos + 1] == "=":
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
        if name not in FUNCTIONS:
            raise ProxyError(f"unknown function {name!r}")
        if kwargs or any(isinstance(a, str | bool) for a in args):
            raise ProxyError(f"unexpected arguments of {name}")
        return FUNCTIONS[name](*args)


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
    toks = tokens(text)
    if literal and any(t[0] in _LITERAL_REFUSED for t in toks):
        raise ProxyError("the literal form holds only Function(...)(...) and Symbol(...)")
    reader = _Reader(toks)
    try:
        value = reader.expr()
    except ProxyError:
        raise
    except SYMPY_ERRORS as exc:
        raise ProxyError(f"not a SymPy proxy expression ({type(exc).__name__})") from None
    if reader.peek() is not None:
        raise ProxyError(f"unexpected {reader.peek()!r} after the end of the expression")
    return _basic(value)
