"""Read the LaTeX that ``export`` prints back into SymPy: two forms of the reader core.

It is not a general LaTeX parser: it reads the two forms ``export`` writes, where every construct
has one meaning, with the reader core of :mod:`.reader` and one token table per form.

* The literal form (:func:`lpzero_gp.proxy.symtree.literal_latex`) is read first, into the very
  same tree. Its token table is the op table's notations (:class:`~lpzero_gp.primitives.notation.
  Notation`): a notation that opens with text is an atom (``\\log\\left(#1\\right)``), one
  that opens and closes with an argument joins terms or factors by how tightly it binds
  (``#1 + #2``, ``#1 \\cdot #2``, left-associative: a bracketed right operand is a nested op),
  one that closes with text follows an atom (``#1^{2}``) and one that opens with text and closes
  with an argument leads a sum (``-#1``). Text that is not exactly that grammar, or whose proxy
  does not type-check, is read as the canonical form.
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

import operator
import re
from dataclasses import dataclass

import sympy as sp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.notation import ADD, MUL
from lpzero_gp.primitives.ops import AGGREGATE, OPS_BY_NAME
from lpzero_gp.primitives.pset import INPUTS
from lpzero_gp.primitives.registry import per_version
from lpzero_gp.primitives.symbolic import (
    BLOCK_INDEX,
    L1,
    NBLOCKS,
    BlockMean,
    BlockSum,
    Fro,
    InvWidth,
    Mean,
    Named,
    SafeLog,
    Std,
)
from lpzero_gp.proxy import default_pset
from lpzero_gp.proxy.parse import MAX_CHARS, parse_tree
from lpzero_gp.proxy.reader import ExprReader, scan
from lpzero_gp.proxy.symread import CONSTANTS, MAX_TEXT, SYMPY_ERRORS, functions, number, power
from lpzero_gp.proxy.symtree import to_literal

_TOKEN = re.compile(r"\s*(?:(\\[A-Za-z]+|\\_)|\\[,;:! ]|(\d+)|([A-Za-z])|([{}()\[\]^_+\-,=|]))")
#: Tokens after which a product continues by juxtaposition.
_FACTOR_START = {"{", "(", "\\left", "\\frac", "\\sum", "\\overline", "\\log", "\\operatorname",
                 "\\sigma", "\\max", "\\sqrt", "\\infty", "\\tilde", "\\text", "\\cdot"}
_SUM_PREFIX = ["_", "{", BLOCK_INDEX, "=", "1", "}", "^", "{", "L", "}"]
_GROUP = (["\\left", "("], ["\\right", ")"])


def tokens(text: str) -> list[str]:
    """Tokens of a LaTeX text (spacing commands dropped)."""
    return scan(_TOKEN, text)


class _Latex(ExprReader):
    """What the two LaTeX forms share: their words and the block index."""

    end_message = "unexpected end of the LaTeX (unbalanced braces?)"
    what = "LaTeX"

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

    def index(self) -> None:
        """The block index of an input inside a block aggregation: ``_{l}`` or ``_l``."""
        self.take("_")
        if self.peek() == "{":
            self.expect(["{", BLOCK_INDEX, "}"])
        else:
            self.take(BLOCK_INDEX)


# -- the literal form: the op table's notations -----------------------------------------------


@dataclass(frozen=True)
class _Template:
    """One op's literal LaTeX as tokens: the pieces around its arguments."""

    op: str
    pieces: tuple[tuple[str, ...], ...]
    binds: int
    block: bool


@dataclass(frozen=True)
class _LiteralTable:
    """The literal form's token table, from the op table."""

    atoms: dict[str, list[_Template]]  # by first token, longest opening first
    signs: dict[str, _Template]
    sums: dict[str, str]
    products: dict[str, str]
    suffixes: list[_Template]


@per_version
def literal_table() -> _LiteralTable:
    """The literal LaTeX of every op, sorted by the part of the grammar it belongs to."""
    atoms: dict[str, list[_Template]] = {}
    signs: dict[str, _Template] = {}
    joins: dict[int, dict[str, str]] = {ADD: {}, MUL: {}}
    suffixes: list[_Template] = []
    for op in OPS_BY_NAME.values():
        pieces = tuple(tuple(tokens(p)) for p in op.latex.pieces)
        t = _Template(op.name, pieces, op.latex.binds, op.kind == AGGREGATE)
        opens, closes = bool(pieces[0]), bool(pieces[-1])
        if opens and closes:
            atoms.setdefault(pieces[0][0], []).append(t)
        elif opens:
            signs[pieces[0][0]] = t
        elif closes:
            suffixes.append(t)
        elif len(pieces) == 3 and len(pieces[1]) == 1 and t.binds in joins:
            joins[t.binds][pieces[1][0]] = op.name
    for group in atoms.values():
        group.sort(key=lambda t: -len(t.pieces[0]))
    return _LiteralTable(atoms, signs, joins[ADD], joins[MUL], suffixes)


def _call(op: str, *args: str) -> str:
    return f"{op}({', '.join(args)})"


def _joining(op: str):
    return lambda a, b: _call(op, a, b)


class _LiteralReader(_Latex):
    """The literal form, into a proxy string."""

    def __init__(self, toks: list[str]):
        super().__init__(toks)
        self.table = literal_table()
        self.sums = {tok: _joining(op) for tok, op in self.table.sums.items()}
        self.products = {tok: _joining(op) for tok, op in self.table.products.items()}
        self.in_block = False

    def first(self) -> str:
        sign = self.table.signs.get(self.peek())
        if sign is None or not self.ahead(sign.pieces[0]):
            return self.term()
        self.expect(sign.pieces[0])
        value = _call(sign.op, self.factor())
        if self.peek() in self.sums or self.peek() in self.products:
            raise ProxyError("a negation that is an operand is bracketed in the literal form")
        return value

    def factor(self) -> str:
        value = self.primary()
        for t in self.table.suffixes:
            if self.ahead(t.pieces[1]):
                self.expect(t.pieces[1])
                return _call(t.op, value)
        return value

    def primary(self) -> str:
        tok = self.peek()
        if tok in INPUTS:
            self.take()
            if self.in_block:
                self.index()
            return tok
        if self.ahead(_GROUP[0]):
            return self.enclosed(*_GROUP)
        for t in self.table.atoms.get(tok, ()):
            if self.ahead(t.pieces[0]):
                return self.template(t)
        raise ProxyError(f"unexpected {tok!r} in the literal LaTeX")

    def template(self, t: _Template) -> str:
        """An op written in its notation: the opening, then each argument and what follows it."""
        if t.block and self.in_block:
            raise ProxyError("a block aggregation inside another")
        self.expect(t.pieces[0])
        args, outer = [], self.in_block
        self.in_block = outer or t.block
        try:
            for piece in t.pieces[1:]:
                args.append(self.expr())
                self.expect(piece)
        finally:
            self.in_block = outer
        return _call(t.op, *args)


def _read_literal(toks: list[str]):
    """The literal-form expression of the tokens, or None when they are not the literal form."""
    reader = _LiteralReader(toks)
    try:
        proxy = reader.read()
        return to_literal(parse_tree(proxy, default_pset()))
    except ProxyError:
        return None


# -- the canonical form: SymPy's printer and the twins' notations ------------------------------


@per_version
def operator_names() -> dict[str, type]:
    """The functions written ``\\operatorname{name}``: the twins without a notation of their
    own (``softmax``, ``std``, a registered op's) and SymPy's real part."""
    named = {f.latex_name: f for f in functions().values()
             if isinstance(f, type) and issubclass(f, Named)}
    return {**named, "re": sp.re}


class _Reader(_Latex):
    """The canonical form, into SymPy."""

    sums = {"+": operator.add, "-": operator.sub}
    products = {"\\cdot": operator.mul}
    juxtapose = operator.mul
    faults = SYMPY_ERRORS
    refusal = "not the LaTeX of a proxy"

    def first(self):
        sign = self.take() if self.peek() in ("+", "-") else "+"
        value = self.term()
        return -value if sign == "-" else value

    def starts_factor(self, tok: str | None) -> bool:
        return tok is not None and (tok in _FACTOR_START or tok[0].isalnum())

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
        return self.enclosed("{", "}")

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
        return self.enclosed(*_GROUP)

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

    def delimited(self):
        """``\\left( x \\right)``, ``\\left| x \\right|`` (its absolute value) or
        ``\\left\\lVert x \\right\\rVert_F`` (its Frobenius norm) after its ``\\left``."""
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
        if self.ahead(["\\left", "|"]):
            inner = self.enclosed(["\\left", "|"], ["\\right", "|"])
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
        fn = operator_names().get(name)
        if fn is None:
            raise ProxyError(f"unknown operator {name!r} in LaTeX")
        if getattr(fn, "nargs", None) != sp.FiniteSet(2):
            return fn(self.base())
        first = self.enclosed(_GROUP[0], ",")  # two arguments: \left(a, b\right)
        return fn(first, self.enclosed((), _GROUP[1]))

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
    return reader.read()

__all__ = ["read_latex", "tokens"]
