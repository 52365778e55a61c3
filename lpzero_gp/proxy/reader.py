"""The one reader core of the exported SymPy and LaTeX forms: tokens, then recursive descent.

A form is a subclass of :class:`ExprReader` that gives its token table: the pattern that cuts its
text into tokens, the tokens that join terms (``+``, ``-``) and factors (``*``, ``\\cdot``, and
whether factors side by side multiply), how a factor and its first term are read, and what each
kind of atom means. The core owns everything else: the position and look-ahead, the nesting
guard, the sum-of-products skeleton, and errors that say where they happened (the character the
offending token starts at, and the text from there). The SymPy ``str``/``srepr`` reader
(:mod:`.symread`) and the canonical and literal LaTeX readers (:mod:`.latexread`) are its three
forms. Nothing is ``eval``-ed: every value is built by a constructor the form names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lpzero_gp.errors import ProxyError
from lpzero_gp.proxy.parse import MAX_DEPTH

#: ``combine(left, right)``: the value of two operands joined by an operator token.
Combine = Callable[[object, object], object]


#: How much of the text an error quotes from where it happened.
_QUOTED = 24


def where(text: str, at: int | None) -> str:
    """`` at character N: 'text from there'`` (1-based; ``at`` None or past the end: at the
    end of the text), for the one-line error of a reader."""
    if at is None or at >= len(text.rstrip()):
        return f" at the end (character {len(text.rstrip()) + 1})"
    rest = "".join(c if c.isprintable() else " " for c in text[at:at + _QUOTED])
    return f" at character {at + 1}: '{rest}{'...' if len(text) > at + _QUOTED else ''}'"


def quoted(tok: str | None) -> str:
    """A token as an error shows it: in quotes, backslashes as written (``'\\odot'``)."""
    return "the end" if tok is None else f"'{tok}'"


def scan_at(pattern: re.Pattern[str], text: str) -> tuple[list[str], list[int]]:
    """Tokens of ``text`` and the character each starts at: the first matched group of each
    match of ``pattern`` (a match that captures nothing, such as spacing, gives no token);
    ProxyError at the first bad character."""
    out: list[str] = []
    at: list[int] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = pattern.match(text, pos)
        if not m:
            start = len(text) - len(text[pos:].lstrip())
            raise ProxyError(f"unexpected character {quoted(text[start])}{where(text, start)}")
        group = next((k for k, g in enumerate(m.groups(), 1) if g is not None), None)
        if group is not None:
            out.append(m.group(group))
            at.append(m.start(group))
        pos = m.end()
    return out, at


def scan(pattern: re.Pattern[str], text: str) -> list[str]:
    """Tokens of ``text`` (:func:`scan_at` without the positions)."""
    return scan_at(pattern, text)[0]


class TokenReader:
    """Position, look-ahead and nesting guard of a recursive-descent reader over tokens."""

    #: What running out of tokens means, in the reader's words.
    end_message = "unexpected end of the expression (unbalanced parentheses?)"
    #: What the form is called in its errors.
    what = "expression"

    def __init__(self, toks: list[str], at: list[int] | None = None, text: str = ""):
        self.toks = toks
        self.at = at  # the character each token starts at in ``text`` (None: not known)
        self.text = text
        self.pos = 0
        self.depth = 0

    def error(self, message: str, back: int = 0) -> ProxyError:
        """``message`` and where: the token ``back`` places before the next one (the one just
        taken: 1), as a character of the text and the text from there."""
        if self.at is None:
            return ProxyError(message)
        i = self.pos - back
        return ProxyError(message + where(self.text, self.at[i] if 0 <= i < len(self.at)
                                          else None))

    def peek(self, ahead: int = 0) -> str | None:
        """The token ``ahead`` places on (None past the end)."""
        i = self.pos + ahead
        return self.toks[i] if i < len(self.toks) else None

    def take(self, *want: str) -> str:
        """The next token, which must be one of ``want`` when they are given."""
        tok = self.peek()
        if tok is None:
            raise self.error(self.end_message)
        if want and tok not in want:
            raise self.error(f"expected {' or '.join(map(quoted, want))}, got {quoted(tok)}")
        self.pos += 1
        return tok

    def expect(self, seq) -> None:
        """Take the tokens ``seq``, in order."""
        for tok in seq:
            self.take(tok)

    def ahead(self, seq) -> bool:
        """Whether the next tokens are ``seq``."""
        return all(self.peek(i) == tok for i, tok in enumerate(seq))

    @contextmanager
    def nested(self) -> Iterator[None]:
        """One level deeper; ProxyError past :data:`MAX_DEPTH` (reading stays shallow)."""
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self.error(f"{self.what} nested deeper than {MAX_DEPTH}")
            yield
        finally:
            self.depth -= 1

    def finish(self, value):
        """``value`` when every token was read; ProxyError at the first one left over."""
        if self.peek() is not None:
            raise self.error(f"unexpected {quoted(self.peek())} after the end of the "
                             f"{self.what}")
        return value


class ExprReader(TokenReader):
    """Sums of products of factors, joined by the operator tokens of the form's table."""

    #: Tokens that join terms, and how.
    sums: dict[str, Combine] = {}
    #: Tokens that join factors, and how.
    products: dict[str, Combine] = {}
    #: How two factors side by side join (None: they do not).
    juxtapose: Combine | None = None
    #: What building a value may raise besides ProxyError (SymPy refusing an argument), and
    #: the one-line error that says so.
    faults: tuple[type[BaseException], ...] = ()
    refusal = "not a proxy expression"

    def read(self):
        """The whole token list as one expression."""
        try:
            value = self.expr()
        except ProxyError:
            raise
        except self.faults as exc:
            raise self.error(f"{self.refusal} ({type(exc).__name__})", back=1) from None
        return self.finish(value)

    def expr(self):
        """A sum of terms."""
        with self.nested():
            value = self.first()
            while self.peek() in self.sums:
                combine = self.sums[self.take()]
                value = combine(value, self.term())
        return value

    def enclosed(self, opening, closing):
        """The expression between the tokens ``opening`` and ``closing``."""
        self.expect(opening)
        value = self.expr()
        self.expect(closing)
        return value

    def first(self):
        """The first term of a sum (a form with a leading sign reads it here)."""
        return self.term()

    def term(self):
        """A product of factors."""
        value = self.factor()
        while True:
            tok = self.peek()
            if tok in self.products:
                combine = self.products[self.take()]
            elif self.juxtapose is not None and self.starts_factor(tok):
                combine = self.juxtapose
            else:
                return value
            value = combine(value, self.factor())

    def starts_factor(self, tok: str | None) -> bool:
        """Whether ``tok`` starts a factor that multiplies the one before it."""
        return False

    def factor(self):
        """One factor: the form's atoms and powers."""
        raise NotImplementedError

__all__ = ["Combine", "ExprReader", "quoted", "scan", "scan_at", "where"]
