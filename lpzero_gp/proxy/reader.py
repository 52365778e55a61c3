"""The one reader core of the exported SymPy and LaTeX forms: tokens, then recursive descent.

A form is a subclass of :class:`ExprReader` that gives its token table: the pattern that cuts its
text into tokens, the tokens that join terms (``+``, ``-``) and factors (``*``, ``\\cdot``, and
whether factors side by side multiply), how a factor and its first term are read, and what each
kind of atom means. The core owns everything else: the position and look-ahead, the nesting
guard, and the sum-of-products skeleton. The SymPy ``str``/``srepr`` reader (:mod:`.symread`)
and the canonical and literal LaTeX readers (:mod:`.latexread`) are its three forms. Nothing is
``eval``-ed: every value is built by a constructor the form names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lpzero_gp.errors import ProxyError
from lpzero_gp.proxy.parse import MAX_DEPTH

#: ``combine(left, right)``: the value of two operands joined by an operator token.
Combine = Callable[[object, object], object]


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


class TokenReader:
    """Position, look-ahead and nesting guard of a recursive-descent reader over tokens."""

    #: What running out of tokens means, in the reader's words.
    end_message = "unexpected end of the expression (unbalanced parentheses?)"
    #: What the form is called in its errors.
    what = "expression"

    def __init__(self, toks: list[str]):
        self.toks = toks
        self.pos = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> str | None:
        """The token ``ahead`` places on (None past the end)."""
        i = self.pos + ahead
        return self.toks[i] if i < len(self.toks) else None

    def take(self, *want: str) -> str:
        """The next token, which must be one of ``want`` when they are given."""
        tok = self.peek()
        if tok is None:
            raise ProxyError(self.end_message)
        if want and tok not in want:
            raise ProxyError(f"expected {' or '.join(map(repr, want))}, got {tok!r}")
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
                raise ProxyError(f"{self.what} nested deeper than {MAX_DEPTH}")
            yield
        finally:
            self.depth -= 1

    def finish(self, value):
        """``value`` when every token was read; ProxyError at the first one left over."""
        if self.peek() is not None:
            raise ProxyError(f"unexpected {self.peek()!r} after the end of the {self.what}")
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
            raise ProxyError(f"{self.refusal} ({type(exc).__name__})") from None
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

__all__ = ["Combine", "ExprReader", "scan"]
