"""Read the LaTeX that ``export`` prints back into SymPy, with a reader for exactly that LaTeX.

It is not a general LaTeX parser: it reads what SymPy's printer and the ``_latex`` methods of
:mod:`lpzero_gp.primitives.symbolic` write, where every construct has one meaning:
``\\frac{1}{L}\\sum_{l=1}^{L} \\left(x\\right)_l`` is the block mean, ``\\sum_{l=1}^{L}
\\left(x\\right)_l`` the block sum, ``\\overline{\\left|x\\right|}`` the l1 norm, ``\\overline{x}``
the mean, ``\\left\\lVert x \\right\\rVert_F`` the Frobenius norm, ``\\sigma\\left(x\\right)`` the
standard deviation, ``\\log\\left(x\\right)`` the safe log (SymPy's own log prints with braces),
``\\frac{1}{d_{x}}`` the inverse width, and juxtaposition is multiplication. Values are built
from the same vocabulary as the SymPy reader, never by ``sympify``.
"""

from __future__ import annotations

import re

import sympy as sp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.symbolic import (
    L1,
    NBLOCKS,
    BlockMean,
    BlockSum,
    Fro,
    InvWidth,
    Mean,
    MinMax,
    SafeLog,
    Softmax,
    Std,
    ZNorm,
)
from lpzero_gp.proxy.parse import MAX_CHARS, MAX_DEPTH
from lpzero_gp.proxy.symread import (
    CONSTANTS,
    SYMPY_ERRORS,
    TokenReader,
    number,
    power,
    scan,
)

_TOKEN = re.compile(r"\s*(?:(\\[A-Za-z]+)|\\[,;:! ]|(\d+)|([A-Za-z])|([{}()\[\]^_+\-,=|]))")
_NAMED = {"softmax": Softmax, "znorm": ZNorm, "minmax": MinMax, "re": sp.re}
#: Tokens after which a product continues by juxtaposition.
_FACTOR_START = {"{", "(", "\\left", "\\frac", "\\sum", "\\overline", "\\log", "\\operatorname",
                 "\\sigma", "\\max", "\\sqrt", "\\infty", "\\tilde", "\\text", "\\cdot"}
_SUM_PREFIX = ["_", "{", "l", "=", "1", "}", "^", "{", "L", "}"]


def tokens(text: str) -> list[str]:
    """Tokens of a LaTeX text (spacing commands dropped)."""
    return scan(_TOKEN, text)


class _Reader(TokenReader):
    """Recursive descent over LaTeX tokens."""

    end_message = "unexpected end of the LaTeX (unbalanced braces?)"

    def expect(self, seq: list[str]) -> None:
        for tok in seq:
            self.take(tok)

    def expr(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ProxyError(f"LaTeX nested deeper than {MAX_DEPTH}")
        sign = self.take() if self.peek() in ("+", "-") else "+"
        value = self.term()
        value = -value if sign == "-" else value
        while self.peek() in ("+", "-"):
            op, rhs = self.take(), self.term()
            value = value + rhs if op == "+" else value - rhs
        self.depth -= 1
        return value

    def term(self):
        value = self.factor()
        while True:
            tok = self.peek()
            if tok == "\\cdot":
                self.take()
            elif tok is None or not (tok in _FACTOR_START or tok[0].isalnum()):
                return value
            value = value * self.factor()

    def factor(self):
        base = self.base()
        if self.peek() != "^":
            return base
        self.take()
        return power(base, self.script())

    def script(self):
        """A super- or subscript: a braced expression or one token."""
        if self.peek() == "{":
            return self.group()
        tok = self.take()
        return number(tok) if tok.isdigit() else self.letter(tok)

    def group(self):
        self.take("{")
        value = self.expr()
        self.take("}")
        return value

    def word(self) -> str:
        """Letters in braces: ``{softmax}``."""
        self.take("{")
        letters = []
        while self.peek() != "}":
            letters.append(self.take())
        self.take("}")
        return "".join(letters)

    def letter(self, tok: str):
        if tok == "e":
            return sp.E
        if tok == "d" and self.peek() == "_":  # d_{X}: the feature width of input X
            self.take("_")
            name = self.word()
            if name not in CONSTANTS or not isinstance(CONSTANTS[name], sp.Symbol):
                raise ProxyError(f"unknown input {name!r} in d_{{...}}")
            return 1 / InvWidth(CONSTANTS[name])
        if tok not in CONSTANTS:
            raise ProxyError(f"unknown symbol {tok!r}")
        return CONSTANTS[tok]

    def parens(self):
        """``\\left( x \\right)``."""
        self.expect(["\\left", "("])
        value = self.expr()
        self.expect(["\\right", ")"])
        return value

    def block_sum(self):
        """``\\sum_{l=1}^{L} \\left(x\\right)_l``: the body ``x``."""
        self.expect(_SUM_PREFIX)
        body = self.parens()
        self.expect(["_", "l"])
        return body

    def base(self):
        tok = self.take()
        if tok.isdigit():
            return number(tok)
        if tok.isalpha():
            return self.letter(tok)
        if tok == "{":
            self.pos -= 1
            return self.group()
        if tok == "(":
            value = self.expr()
            self.take(")")
            return value
        if tok == "\\left":
            return self.delimited()
        handler = getattr(self, "cmd_" + tok[1:], None) if tok.startswith("\\") else None
        if handler is None:
            raise ProxyError(f"unexpected {tok!r} in LaTeX")
        return handler()

    def delimited(self):
        delim = self.take("(", "|", "\\lVert")
        value = self.expr()
        self.take("\\right")
        if delim == "(":
            self.take(")")
            return value
        if delim == "|":
            self.take("|")
            return sp.Abs(value)
        self.expect(["\\rVert", "_", "F"])
        return Fro(value)

    # -- commands ------------------------------------------------------------------------------

    def cmd_frac(self):
        num, den = self.group(), self.group()
        if num == 1 and den == NBLOCKS and self.peek() == "\\sum":
            self.take()
            return BlockMean(self.block_sum())
        return num / den

    def cmd_sum(self):
        return BlockSum(self.block_sum())

    def cmd_overline(self):
        start = self.pos
        self.take("{")
        if self.peek() == "\\left" and self.peek(1) == "|":
            self.expect(["\\left", "|"])
            inner = self.expr()
            self.expect(["\\right", "|"])
            if self.peek() == "}":
                self.take()
                return L1(inner)
        self.pos = start
        return Mean(self.group())

    def cmd_log(self):
        if self.peek() == "{":  # SymPy's log of a number: \log{\left(2 \right)}
            return sp.log(self.group())
        return SafeLog(self.parens())

    def cmd_operatorname(self):
        name = self.word()
        if name not in _NAMED:
            raise ProxyError(f"unknown operator {name!r} in LaTeX")
        return _NAMED[name](self.base())

    def cmd_sigma(self):
        return Std(self.parens())

    def cmd_max(self):
        self.expect(["\\left", "("])
        args = [self.expr()]
        while self.peek() == ",":
            self.take()
            args.append(self.expr())
        self.expect(["\\right", ")"])
        return sp.Max(*args)

    def cmd_sqrt(self):
        degree = sp.Integer(2)
        if self.peek() == "[":
            self.take()
            degree = number(self.take())
            self.take("]")
        return power(self.group(), 1 / degree)

    def cmd_infty(self):
        return sp.oo

    def cmd_tilde(self):
        self.expect(["{", "\\infty", "}"])
        return sp.zoo

    def cmd_text(self):
        if self.word() != "NaN":
            raise ProxyError("unknown \\text{...} in LaTeX")
        return sp.nan


def read_latex(text: str):
    """The SymPy expression of the LaTeX form of a proxy."""
    if len(text) > MAX_CHARS:
        raise ProxyError(f"proxy text longer than {MAX_CHARS} characters")
    reader = _Reader(tokens(text))
    if not reader.toks:
        raise ProxyError("empty LaTeX")
    try:
        value = reader.expr()
    except ProxyError:
        raise
    except SYMPY_ERRORS as exc:
        raise ProxyError(f"not the LaTeX of a proxy ({type(exc).__name__})") from None
    if reader.peek() is not None:
        raise ProxyError(f"unexpected {reader.peek()!r} after the end of the LaTeX")
    return value
