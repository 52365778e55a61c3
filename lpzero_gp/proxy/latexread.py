"""Read the LaTeX that ``export`` prints back into SymPy, with readers for exactly that LaTeX.

It is not a general LaTeX parser: it reads the two forms ``export`` writes, where every construct
has one meaning.

* The literal form (:func:`lpzero_gp.proxy.symtree.literal_latex`) is read first, into the very
  same tree: each op has a notation of its own, ``\\cdot`` is ``mul``, ``+`` and ``-`` are
  ``add`` and ``sub`` (left-associative; a bracketed right operand is a nested op), a leading
  ``-`` is ``neg`` and ``^{2}`` is ``square``. Text that is not exactly that grammar, or whose
  proxy does not type-check, is read as the canonical form.
* The canonical form, what SymPy's printer and the ``_latex`` methods of
  :mod:`lpzero_gp.primitives.symbolic` write: ``\\frac{1}{L}\\sum_{l=1}^{L} \\left(x\\right)``
  is the block mean and ``\\sum_{l=1}^{L} \\left(x\\right)`` the block sum (the inputs of ``x``
  indexed ``A_{l}``; the older ``\\left(x\\right)_l`` with bare inputs reads too),
  ``\\overline{\\left|x\\right|}`` the l1 norm, ``\\overline{x}`` the mean,
  ``\\left\\lVert x \\right\\rVert_F`` the Frobenius norm, ``\\operatorname{std}\\left(x\\right)``
  (or ``\\sigma\\left(x\\right)``) the standard deviation, ``\\log\\left(x\\right)`` the safe log
  (SymPy's own log prints with braces), ``\\frac{1}{d_{x}}`` the inverse width, and juxtaposition
  is multiplication. Values are built from the same vocabulary as the SymPy reader, never by
  ``sympify``.
"""

from __future__ import annotations

import re

import sympy as sp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.pset import INPUTS
from lpzero_gp.primitives.symbolic import (
    BLOCK_INDEX,
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
from lpzero_gp.proxy import default_pset
from lpzero_gp.proxy.parse import MAX_CHARS, MAX_DEPTH, parse_tree
from lpzero_gp.proxy.symread import (
    CONSTANTS,
    MAX_TEXT,
    SYMPY_ERRORS,
    TokenReader,
    number,
    power,
    scan,
)
from lpzero_gp.proxy.symtree import LITERAL_LATEX, to_literal

_TOKEN = re.compile(r"\s*(?:(\\[A-Za-z]+|\\_)|\\[,;:! ]|(\d+)|([A-Za-z])|([{}()\[\]^_+\-,=|]))")
_NAMED = {"softmax": Softmax, "znorm": ZNorm, "minmax": MinMax, "std": Std, "re": sp.re}
#: Ops the literal form writes as ``\\operatorname{name}\\left(x\\right)``.
_LITERAL_NAMED = frozenset(op for op, tex in LITERAL_LATEX.items() if "operatorname" in tex)
#: Tokens after which a product continues by juxtaposition.
_FACTOR_START = {"{", "(", "\\left", "\\frac", "\\sum", "\\overline", "\\log", "\\operatorname",
                 "\\sigma", "\\max", "\\sqrt", "\\infty", "\\tilde", "\\text", "\\cdot"}
_SUM_PREFIX = ["_", "{", BLOCK_INDEX, "=", "1", "}", "^", "{", "L", "}"]
_BLOCK_MEAN_PREFIX = ["{", "L", "}", "\\sum"]


def tokens(text: str) -> list[str]:
    """Tokens of a LaTeX text (spacing commands dropped)."""
    return scan(_TOKEN, text)


class _LatexTokens(TokenReader):
    """Token sequences and words shared by the two LaTeX readers."""

    end_message = "unexpected end of the LaTeX (unbalanced braces?)"

    def expect(self, seq: list[str]) -> None:
        for tok in seq:
            self.take(tok)

    def ahead(self, seq: list[str]) -> bool:
        """Whether the next tokens are ``seq``."""
        return all(self.peek(i) == tok for i, tok in enumerate(seq))

    def word(self) -> str:
        """Letters in braces: ``{softmax}``, ``{log\\_softmax}``."""
        self.take("{")
        letters = []
        while self.peek() != "}":
            tok = self.take()
            if not (tok == "\\_" or tok.isalnum()):
                raise ProxyError(f"unexpected {tok!r} in an operator name")
            letters.append("_" if tok == "\\_" else tok)
        self.take("}")
        return "".join(letters)

    def delimited(self):
        """``\\left( x \\right)``, ``\\left| x \\right|`` or ``\\left\\lVert x \\right\\rVert_F``
        after its ``\\left``: the bracketed value, or the reader's :meth:`absolute` or
        :meth:`frobenius` of it."""
        delim = self.take("(", "|", "\\lVert")
        value = self.expr()
        self.take("\\right")
        if delim == "(":
            self.take(")")
            return value
        if delim == "|":
            self.take("|")
            return self.absolute(value)
        self.expect(["\\rVert", "_", "F"])
        return self.frobenius(value)

    def index(self) -> None:
        """The block index of an input inside a block aggregation: ``_{l}`` or ``_l``."""
        self.take("_")
        if self.peek() == "{":
            self.expect(["{", BLOCK_INDEX, "}"])
        else:
            self.take(BLOCK_INDEX)


class _LiteralReader(_LatexTokens):
    """Recursive descent over the literal form's tokens, into a proxy string."""

    def __init__(self, toks: list[str]):
        super().__init__(toks)
        self.in_block = False

    @staticmethod
    def absolute(value: str) -> str:
        return f"abs({value})"

    @staticmethod
    def frobenius(value: str) -> str:
        return f"fro({value})"

    def expr(self) -> str:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ProxyError(f"LaTeX nested deeper than {MAX_DEPTH}")
        if self.peek() == "-":
            self.take()
            value = f"neg({self.factor()})"
            if self.peek() in ("+", "-", "\\cdot"):
                raise ProxyError("a negation that is an operand is bracketed in the literal form")
        else:
            value = self.term()
            while self.peek() in ("+", "-"):
                op = "add" if self.take() == "+" else "sub"
                value = f"{op}({value}, {self.term()})"
        self.depth -= 1
        return value

    def term(self) -> str:
        value = self.factor()
        while self.peek() == "\\cdot":
            self.take()
            value = f"mul({value}, {self.factor()})"
        return value

    def factor(self) -> str:
        value = self.primary()
        if self.peek() == "^":
            self.expect(["^", "{", "2", "}"])
            return f"square({value})"
        return value

    def braced(self) -> str:
        self.take("{")
        value = self.expr()
        self.take("}")
        return value

    def parens(self) -> str:
        self.expect(["\\left", "("])
        value = self.expr()
        self.expect(["\\right", ")"])
        return value

    def primary(self) -> str:
        tok = self.take()
        if tok in INPUTS:
            if self.in_block:
                self.index()
            return tok
        if tok == "e":
            self.take("^")
            return f"exp({self.braced()})"
        if tok == "\\left":
            return self.delimited()
        if tok == "\\frac":
            if self.ahead(["{", "1", "}"]):
                self.expect(["{", "1", "}"])
                if self.ahead(_BLOCK_MEAN_PREFIX):
                    self.expect(_BLOCK_MEAN_PREFIX)
                    return self.aggregation("agg_mean")
                return f"reciprocal({self.braced()})"
            numerator = self.braced()
            return f"div({numerator}, {self.braced()})"
        if tok == "\\sum":
            return self.aggregation("agg_sum")
        if tok == "\\sqrt":
            return f"sqrt({self.braced()})"
        if tok == "\\overline":
            return f"mean({self.braced()})"
        if tok == "\\log":
            self.take("\\left")
            delim = self.take("(", "|")
            value = self.expr()
            self.expect(["\\right", ")" if delim == "(" else "|"])
            return f"{'log' if delim == '(' else 'abslog'}({value})"
        if tok == "\\max":
            self.expect(["\\left", "("])
            value = self.expr()
            self.expect([",", "0", "\\right", ")"])
            return f"relu({value})"
        if tok == "\\operatorname":
            name = self.word()
            if name not in _LITERAL_NAMED:
                raise ProxyError(f"unknown operator {name!r} in the literal LaTeX")
            return f"{name}({self.parens()})"
        raise ProxyError(f"unexpected {tok!r} in the literal LaTeX")

    def aggregation(self, name: str) -> str:
        if self.in_block:
            raise ProxyError("a block aggregation inside another")
        self.expect(_SUM_PREFIX)
        self.in_block = True
        try:
            body = self.parens()
        finally:
            self.in_block = False
        return f"{name}({body})"


def _read_literal(toks: list[str]):
    """The literal-form expression of the tokens, or None when they are not the literal form."""
    reader = _LiteralReader(toks)
    try:
        proxy = reader.expr()
        if reader.peek() is not None:
            return None
        return to_literal(parse_tree(proxy, default_pset()))
    except ProxyError:
        return None


class _Reader(_LatexTokens):
    """Recursive descent over the canonical form's LaTeX tokens, into SymPy."""

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

    def letter(self, tok: str):
        if tok == "e":
            return sp.E
        if tok == "d" and self.peek() == "_":  # d_{X} or d_{X_{l}}: the feature width of X
            self.expect(["_", "{"])
            name = self.take()
            if name not in INPUTS:
                raise ProxyError(f"unknown input {name!r} in d_{{...}}")
            if self.peek() == "_":
                self.index()
            self.take("}")
            return 1 / InvWidth(CONSTANTS[name])
        if tok not in CONSTANTS:
            raise ProxyError(f"unknown symbol {tok!r}")
        if tok in INPUTS and self.peek() == "_":  # A_{l}: input A of block l
            self.index()
        return CONSTANTS[tok]

    def parens(self):
        """``\\left( x \\right)``."""
        self.expect(["\\left", "("])
        value = self.expr()
        self.expect(["\\right", ")"])
        return value

    def block_sum(self):
        """``\\sum_{l=1}^{L} \\left(x\\right)`` (or the older ``... \\left(x\\right)_l``): ``x``."""
        self.expect(_SUM_PREFIX)
        body = self.parens()
        if self.peek() == "_":
            self.expect(["_", BLOCK_INDEX])
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

    @staticmethod
    def absolute(value):
        return sp.Abs(value)

    @staticmethod
    def frobenius(value):
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
    """The SymPy expression of the LaTeX form of a proxy: the literal form
    (:func:`~lpzero_gp.proxy.symtree.to_literal`) for literal LaTeX, else the canonical one."""
    if len(text) > MAX_TEXT:
        raise ProxyError(f"proxy text longer than {MAX_TEXT} characters")
    reader = _Reader(tokens(text))
    if not reader.toks:
        raise ProxyError("empty LaTeX")
    literal = _read_literal(reader.toks)
    if literal is not None:
        return literal
    if len(text) > MAX_CHARS:
        raise ProxyError(f"proxy text longer than {MAX_CHARS} characters")
    try:
        value = reader.expr()
    except ProxyError:
        raise
    except SYMPY_ERRORS as exc:
        raise ProxyError(f"not the LaTeX of a proxy ({type(exc).__name__})") from None
    if reader.peek() is not None:
        raise ProxyError(f"unexpected {reader.peek()!r} after the end of the LaTeX")
    return value
