"""Read the LaTeX that ``export`` prints back into SymPy: two forms of the reader core.

It is not a general LaTeX parser: it reads the two forms ``export`` writes, where every construct
has one meaning, with the reader core of :mod:`.reader` and one token table per form. The usual
other spellings of those forms (``_F`` for ``_{F}``, ``\\|x\\|_F``, bare brackets and bars,
``\\times``, ``\\lVertW``; :func:`tokens_at`) are brought to the one spelling the table holds
before either form reads, and a reading error names the token and the character it starts at.

* The literal form (:func:`lpzero_gp.proxy.symtree.literal_latex`) is read first, into the very
  same tree. Its token table is the op table's notations (:class:`~lpzero_gp.primitives.notation.
  Notation`): a notation that opens with text is an atom (``\\log\\left(#1\\right)``), one
  that opens and closes with an argument joins terms or factors by how tightly it binds
  (``#1 + #2``, ``#1 \\cdot #2``, left-associative: a bracketed right operand is a nested op),
  one that closes with text follows an atom (``#1^{2}``) and one that opens with text and closes
  with an argument leads a sum (``-#1``). An op's tensor form (``#1 \\odot #2``) and its opening
  without the axis (``\\operatorname{softmax}\\left(``, as printed before axes were named) read
  as that op; factors side by side are ``mul``, ``a / b`` is ``div``. Text that is not that
  grammar, or whose proxy does not type-check, is read as the canonical form.
* The canonical form, what SymPy's printer and the ``_latex`` methods of
  :mod:`lpzero_gp.primitives.symbolic` write: ``\\frac{1}{L}\\sum_{l=1}^{L} \\left(x\\right)``
  is the block mean and ``\\sum_{l=1}^{L} \\left(x\\right)`` the block sum (the inputs of ``x``
  indexed ``A_{l}``; the older ``\\left(x\\right)_l`` with bare inputs reads too),
  ``\\overline{\\left|x\\right|}`` the l1 norm, ``\\overline{x}`` the mean,
  ``\\left\\lVert x \\right\\rVert_F`` the Frobenius norm, ``\\operatorname{std}\\left(x\\right)``
  (or ``\\sigma\\left(x\\right)``) the standard deviation, ``\\log\\left(x\\right)`` the safe log
  (SymPy's own log prints with braces), ``\\frac{1}{d_{x}}`` the inverse width, an
  ``\\operatorname`` with an axis (``_{\\text{row}}``) the op of that axis only, and
  ``\\odot``, ``\\cdot`` and juxtaposition are multiplication, ``/`` division. Values
  are built from the same vocabulary as the SymPy reader, never by ``sympify``.
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
from lpzero_gp.proxy.reader import ExprReader, quoted, scan_at
from lpzero_gp.proxy.symread import CONSTANTS, MAX_TEXT, SYMPY_ERRORS, functions, number, power
from lpzero_gp.proxy.symtree import to_literal

_TOKEN = re.compile(r"\s*(?:(\\[A-Za-z]+|\\[_|])|\\[,;:! ]|~|(\d+)|([A-Za-z])"
                    r"|([{}()\[\]^_+\-,=|/]))")
#: Tokens after which a product continues by juxtaposition.
_FACTOR_START = {"{", "(", "\\left", "\\frac", "\\sum", "\\overline", "\\log", "\\exp",
                 "\\operatorname", "\\sigma", "\\max", "\\sqrt", "\\infty", "\\tilde",
                 "\\text"}
_GROUP = (["\\left", "("], ["\\right", ")"])

# -- one spelling of every variant: what both readers read -----------------------------------

#: Commands the readers know besides the op table's, for cutting ``\lVertW`` into ``\lVert W``.
_KNOWN = frozenset({
    "\\left", "\\right", "\\lVert", "\\rVert", "\\lvert", "\\rvert", "\\Vert", "\\vert", "\\|",
    "\\frac", "\\sum", "\\overline", "\\bar", "\\log", "\\exp", "\\operatorname", "\\mathrm",
    "\\textrm", "\\text", "\\sigma", "\\max", "\\sqrt", "\\infty", "\\tilde", "\\cdot", "\\odot",
    "\\times", "\\ell", "\\limits", "\\nolimits", "\\displaystyle", "\\textstyle", "\\quad",
    "\\qquad", "\\big", "\\Big", "\\bigg", "\\Bigg", "\\bigl", "\\Bigl", "\\biggl", "\\Biggl",
    "\\bigr", "\\Bigr", "\\biggr", "\\Biggr"})
#: Commands that change only the look: dropped (a sizing command leaves its delimiter bare).
_DROPPED = frozenset({"\\limits", "\\nolimits", "\\displaystyle", "\\textstyle", "\\quad",
                      "\\qquad", "\\big", "\\Big", "\\bigg", "\\Bigg"})
#: Other spellings of one token.
_SAME = {"\\times": "\\cdot", "\\bar": "\\overline", "\\ell": "l", "\\Vert": "\\|",
         "\\vert": "|", "\\mathrm": "\\operatorname",
         **dict.fromkeys(("\\bigl", "\\Bigl", "\\biggl", "\\Biggl"), "\\left"),
         **dict.fromkeys(("\\bigr", "\\Bigr", "\\biggr", "\\Biggr"), "\\right")}
#: Delimiters after ``\left`` and ``\right``, one spelling each.
_LEFT = {"[": "(", "\\|": "\\lVert", "\\lvert": "|", "\\rvert": "|", "\\rVert": "\\lVert"}
_RIGHT = {"]": ")", "\\|": "\\rVert", "\\lvert": "|", "\\rvert": "|", "\\lVert": "\\rVert"}
#: Bare delimiters: (kind, whether it opens; None: by where it stands).
_BARE = {"(": ("(", True), ")": ("(", False), "[": ("(", True), "]": ("(", False),
         "|": ("|", None), "\\lvert": ("|", True), "\\rvert": ("|", False),
         "\\|": ("\\lVert", None), "\\lVert": ("\\lVert", True), "\\rVert": ("\\lVert", False)}
_CLOSE = {"(": ")", "|": "|", "\\lVert": "\\rVert"}
#: How many arguments a command takes: a bare one (``_F``, ``^2``, ``\frac1L``) gets braces.
_ARGS = {"_": 1, "^": 1, "\\frac": 2, "\\sqrt": 1, "\\overline": 1}
#: Commands whose argument is a word in braces (``\text{row}``): an argument with it.
_WORDS = frozenset({"\\text", "\\textrm", "\\mathrm", "\\operatorname"})


@per_version
def _known() -> frozenset[str]:
    """Every command the readers or an op's notation use."""
    found = {c for op in OPS_BY_NAME.values() for n in op.latex.forms
             for c in re.findall(r"\\[A-Za-z]+", n.template)}
    return _KNOWN | found


def _expand(toks: list[str], at: list[int]) -> tuple[list[str], list[int]]:
    """Commands run into letters cut apart (``\\lVertW``), digits after a command that takes
    arguments cut into one-digit arguments (``\\frac12``), spellings made one, looks dropped."""
    known = _known()
    out: list[str] = []
    pos: list[int] = []
    for tok, p in zip(toks, at, strict=True):
        parts = [tok]
        if tok.startswith("\\") and tok not in known:
            head = next((tok[:k] for k in range(len(tok) - 1, 1, -1) if tok[:k] in known), "")
            if head:
                parts = [head, *tok[len(head):]]
        elif tok.isdigit() and len(tok) > 1 and out and out[-1] in _ARGS:
            parts = [tok[0], tok[1:]]
        offset = p
        for part in parts:
            same = _SAME.get(part, part)
            if same not in _DROPPED:
                out.append(same)
                pos.append(offset)
            offset += len(part)
    return out, pos


def _braced(toks: list[str], at: list[int]) -> tuple[list[str], list[int]]:
    """Every argument of ``_``, ``^``, ``\\frac``, ``\\sqrt`` and ``\\overline`` in braces."""
    n = len(toks)
    match: list[int | None] = [None] * n
    stack: list[int] = []
    for i, tok in enumerate(toks):
        if tok == "{":
            stack.append(i)
        elif tok == "}" and stack:
            match[stack.pop()] = i
    opens, closes = [0] * n, [0] * n
    for i, tok in enumerate(toks):
        p = i + 1
        if tok == "\\sqrt" and p < n and toks[p] == "[":  # \sqrt[3]{x}: the degree, then x
            p = next((j + 1 for j in range(p, min(n, p + 8)) if toks[j] == "]"), n)
        for _ in range(_ARGS.get(tok, 0)):
            if p >= n or toks[p] == "}":
                break
            end = p
            if toks[p] == "{":
                if match[p] is None:
                    break
                p = match[p] + 1
                continue
            if toks[p] in _WORDS and p + 1 < n and toks[p + 1] == "{" and match[p + 1]:
                end = match[p + 1]
            opens[p] += 1
            closes[end] += 1
            p = end + 1
    out: list[str] = []
    pos: list[int] = []
    for i, (tok, p) in enumerate(zip(toks, at, strict=True)):
        out += ["{"] * opens[i] + [tok] + ["}"] * closes[i]
        pos += [p] * (opens[i] + 1 + closes[i])
    return out, pos


def _delimiters(toks: list[str], at: list[int], after_hole: bool = False
                ) -> tuple[list[str], list[int]]:
    """Every bracket, bar and norm as ``\\left``/``\\right`` and one delimiter: ``(``, ``|``,
    ``\\lVert``/``\\rVert``. A bare ``|`` or ``\\|`` closes when it follows an operand inside one
    of its kind (in a piece of a notation that follows an argument, also outside one)."""
    out: list[str] = []
    pos: list[int] = []
    stack: list[str] = []

    def emit(tok: str, p: int) -> None:
        out.append(tok)
        pos.append(p)

    def after_operand() -> bool:
        if not out:
            return after_hole
        last = out[-1]
        return last[0].isalnum() or last in ("}", "\\infty") or (
            len(out) > 1 and out[-2] == "\\right")

    i, n = 0, len(toks)
    while i < n:
        tok, p = toks[i], at[i]
        i += 1
        if tok in ("\\left", "\\right") and i < n:
            delim = (_LEFT if tok == "\\left" else _RIGHT).get(toks[i], toks[i])
            emit(tok, p)
            emit(delim, at[i])
            i += 1
            if tok == "\\left":
                stack.append({"\\lVert": "\\lVert", "|": "|"}.get(delim, "("))
            elif stack:
                stack.pop()
        elif tok in _BARE and not (tok in ("[", "]") and (
                (out and out[-1] == "\\sqrt") or (stack and stack[-1] == "["))):
            kind, opens = _BARE[tok]
            if opens is None:
                opens = not (after_operand() and (
                    (stack and stack[-1] == kind) or (not stack and after_hole)))
            if opens:
                emit("\\left", p)
                emit(kind, p)
                stack.append(kind)
            else:
                emit("\\right", p)
                emit(_CLOSE[kind], p)
                if stack:
                    stack.pop()
        elif tok in ("[", "]"):  # the degree of a root: \sqrt[3]{x}
            emit(tok, p)
            if tok == "[":
                stack.append("[")
            elif stack:
                stack.pop()
        elif tok in _WORDS and out[-2:] == ["_", "{"]:
            emit("\\text", p)  # _{\mathrm{row}}: the axis of an op, as _{\text{row}}
        else:
            emit(tok, p)
    return out, pos


def tokens_at(text: str, after_hole: bool = False) -> tuple[list[str], list[int]]:
    """Tokens of a LaTeX text in one spelling, and the character each comes from.

    Spacing is dropped; ``\\times`` is ``\\cdot``, ``\\bar`` is ``\\overline``; ``_F`` is ``_{F}``
    and ``^2`` is ``^{2}``; bare and sized brackets, bars and norms (``(x)``, ``|x|``,
    ``\\|x\\|``, ``\\Vert x\\Vert``, ``\\lVert x\\rVert``) are ``\\left``/``\\right`` pairs
    (``\\left( x \\right)``, ``\\left| x \\right|``, ``\\left\\lVert x \\right\\rVert``); a
    command run into letters (``\\lVertW``) is cut apart. ``after_hole``: the text follows an
    argument (a piece of a notation), so a bar may close there.
    """
    toks, at = scan_at(_TOKEN, text)
    toks, at = _expand(toks, at)
    toks, at = _braced(toks, at)
    return _delimiters(toks, at, after_hole)


def tokens(text: str) -> list[str]:
    """Tokens of a LaTeX text in one spelling (:func:`tokens_at`)."""
    return tokens_at(text)[0]


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
                raise self.error(f"unexpected {quoted(tok)} in a name", back=1)
            letters.append("_" if tok == "\\_" else tok)
        self.take("}")
        return "".join(letters)

    def index(self) -> None:
        """The block index of an input inside a block aggregation: ``_{l}``."""
        self.expect(["_", "{", BLOCK_INDEX, "}"])


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

    atoms: dict[str, list[tuple[tuple[str, ...], _Template]]]  # by first token: (opening, t),
    signs: dict[str, _Template]                                  # longest opening first
    sums: dict[str, str]
    products: dict[str, str]  # ``\cdot`` and ``\odot`` (mul), ``/`` (div)
    suffixes: list[_Template]
    juxtaposed: str | None  # the op of two factors side by side (mul)


_FRACTION = (("\\frac", "{"), ("}", "{"), ("}",))


def _without_axis(opening: tuple[str, ...]) -> tuple[str, ...] | None:
    """An opening without its axis (``\\operatorname{softmax}\\left(`` for
    ``\\operatorname{softmax}_{\\text{row}}\\left(``), as written before axes were named."""
    for i in range(len(opening) - 3):
        if opening[i:i + 3] == ("_", "{", "\\text") and "}" in opening[i + 3:]:
            end = opening.index("}", opening.index("}", i + 3) + 1)
            return opening[:i] + opening[end + 1:]
    return None


@per_version
def literal_table() -> _LiteralTable:
    """The literal LaTeX of every op, sorted by the part of the grammar it belongs to."""
    atoms: dict[str, list[tuple[tuple[str, ...], _Template]]] = {}
    signs: dict[str, _Template] = {}
    joins: dict[int, dict[str, str]] = {ADD: {}, MUL: {}}
    suffixes: list[_Template] = []
    for op in OPS_BY_NAME.values():
        for notation in op.latex.forms:
            pieces = tuple(tuple(tokens_at(p, after_hole=k > 0)[0])
                           for k, p in enumerate(notation.pieces))
            t = _Template(op.name, pieces, notation.binds, op.kind == AGGREGATE)
            opens, closes = bool(pieces[0]), bool(pieces[-1])
            if opens and closes:
                for opening in filter(None, (pieces[0], _without_axis(pieces[0]))):
                    atoms.setdefault(opening[0], []).append((opening, t))
                if pieces == _FRACTION:
                    joins[MUL]["/"] = op.name
            elif opens:
                signs[pieces[0][0]] = t
            elif closes:
                suffixes.append(t)
            elif len(pieces) == 3 and len(pieces[1]) == 1 and t.binds in joins:
                joins[t.binds][pieces[1][0]] = op.name
    for group in atoms.values():
        group.sort(key=lambda entry: -len(entry[0]))
    return _LiteralTable(atoms, signs, joins[ADD], joins[MUL], suffixes,
                         joins[MUL].get("\\cdot"))


def _call(op: str, *args: str) -> str:
    return f"{op}({', '.join(args)})"


def _joining(op: str):
    return lambda a, b: _call(op, a, b)


class _LiteralReader(_Latex):
    """The literal form, into a proxy string: the ops' notations, products written with
    ``\\cdot``, ``\\odot`` or side by side, quotients with ``\\frac`` or ``/``."""

    def __init__(self, toks: list[str]):
        super().__init__(toks)
        self.table = literal_table()
        self.sums = {tok: _joining(op) for tok, op in self.table.sums.items()}
        self.products = {tok: _joining(op) for tok, op in self.table.products.items()}
        if self.table.juxtaposed:
            self.juxtapose = _joining(self.table.juxtaposed)
        self.in_block = False

    def starts_factor(self, tok: str | None) -> bool:
        return tok in INPUTS or tok in self.table.atoms or tok == _GROUP[0][0]

    def first(self) -> str:
        sign = self.table.signs.get(self.peek())
        if sign is None or not self.ahead(sign.pieces[0]):
            return self.term()
        self.expect(sign.pieces[0])
        value = _call(sign.op, self.factor())
        tok = self.peek()
        if tok in self.sums or tok in self.products or self.starts_factor(tok):
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
            if self.in_block and self.peek() == "_":
                self.index()
            return tok
        if self.ahead(_GROUP[0]):
            return self.enclosed(*_GROUP)
        for opening, t in self.table.atoms.get(tok, ()):
            if self.ahead(opening):
                return self.template(t, opening)
        raise ProxyError(f"unexpected {tok!r} in the literal LaTeX")

    def template(self, t: _Template, opening: tuple[str, ...]) -> str:
        """An op written in its notation: the opening, then each argument and what follows it."""
        if t.block and self.in_block:
            raise ProxyError("a block aggregation inside another")
        self.expect(opening)
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
    products = {"\\cdot": operator.mul, "\\odot": operator.mul, "/": operator.truediv}
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
                raise self.error(f"unknown input {name!r} in d_{{...}}", back=1)
            if self.peek() == "_":
                self.index()
            self.take("}")
            return 1 / InvWidth(CONSTANTS[name])
        if tok not in CONSTANTS:
            raise self.error(f"unknown symbol {tok!r}", back=1)
        if tok in INPUTS and self.peek() == "_":  # A_{l}: input A of block l
            self.index()
        return CONSTANTS[tok]

    def parens(self):
        """``\\left( x \\right)``."""
        return self.enclosed(*_GROUP)

    def block_sum(self):
        """``\\sum_{l=1}^{L} x`` (also ``\\sum_{l}``): ``x``, bracketed as the printers write it
        (or the older ``\\left(x\\right)_l``), else the product that follows."""
        self.expect(["_", "{", BLOCK_INDEX])
        if self.peek() == "=":
            self.expect(["=", "1"])
        self.take("}")
        if self.peek() == "^":
            self.expect(["^", "{", "L", "}"])
        if not self.ahead(_GROUP[0]):
            return self.term()
        body = self.parens()
        if self.peek() == "_":
            self.index()
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
        if tok == "\\left":
            return self.delimited()
        handler = getattr(self, "cmd_" + tok[1:], None) if tok.startswith("\\") else None
        if handler is None:
            known = not tok.startswith("\\") or tok in _known()
            raise self.error(f"{'unexpected' if known else 'unknown LaTeX command'} {quoted(tok)}",
                             back=1)
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
        self.take("\\rVert")
        if not self.ahead(["_", "{", "F", "}"]):
            raise self.error("a norm is the Frobenius norm, written with _F")
        self.expect(["_", "{", "F", "}"])
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
        return SafeLog(self.base())  # \log\left(x\right), \log\left|x\right|

    def cmd_exp(self):
        return sp.exp(self.base())

    def axis(self) -> str:
        """The axis of an op: ``_{\\text{row}}`` (or ``_{row}``)."""
        self.take("_")
        if not self.ahead(["{", "\\text"]):
            return self.word()
        self.expect(["{", "\\text"])
        word = self.word()
        self.take("}")
        return word

    def cmd_operatorname(self):
        start = self.pos - 1
        name = self.word()
        fn = operator_names().get(name)
        if fn is None:
            raise self.error(f"unknown operator {name!r}", back=self.pos - start)
        if self.peek() == "_":
            at = self.pos
            axis, wanted = self.axis(), getattr(fn, "latex_axis", "")
            if axis != wanted:
                along = f"along its {wanted}s" if wanted else "along no axis"
                raise self.error(f"{name} works {along}, not along {axis!r}", back=self.pos - at)
        if getattr(fn, "nargs", None) != sp.FiniteSet(2):
            return fn(self.base())
        first = self.enclosed(_GROUP[0], ",")  # two arguments: \left(a, b\right)
        return fn(first, self.enclosed((), _GROUP[1]))

    def cmd_sigma(self):
        return Std(self.base())

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
            raise self.error("unknown \\text{...}", back=1)
        return sp.nan


def read_latex(text: str):
    """The SymPy expression of the LaTeX form of a proxy: the literal form
    (:func:`~lpzero_gp.proxy.symtree.to_literal`) for literal LaTeX, else the canonical one.
    Both read the usual spellings of what they print (:func:`tokens_at`); an error says what
    could not be read and where."""
    if len(text) > MAX_TEXT:
        raise ProxyError(f"proxy text longer than {MAX_TEXT} characters")
    toks, at = tokens_at(text)
    if not toks:
        raise ProxyError("empty LaTeX")
    literal = _read_literal(toks)
    if literal is not None:
        return literal
    if len(text) > MAX_CHARS:
        raise ProxyError(f"proxy text longer than {MAX_CHARS} characters")
    return _Reader(toks, at, text).read()

__all__ = ["read_latex", "tokens", "tokens_at"]
