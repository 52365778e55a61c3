"""How the literal LaTeX form writes one op: a template with holes and how tightly it binds.

A template is LaTeX with ``#1`` (and ``#2``) for the op's arguments, as in a LaTeX macro:
``\\log\\left(#1\\right)``, ``#1 + #2``, ``\\frac{#1}{#2}``. The printer
(:func:`lpzero_gp.proxy.symtree.literal_latex`) fills the holes and brackets an argument that
binds looser than its hole needs; the literal LaTeX reader (:mod:`lpzero_gp.proxy.latexread`)
reads every template back, so one template per op is all either needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: How tightly a piece of literal LaTeX binds, loosest first: a block aggregation, a negation,
#: a sum, a product, a power, a delimited notation (``\\log\\left(x\\right)``), an input.
AGG, NEG, ADD, MUL, POW, ATOM, LEAF = range(-1, 6)
_HOLE = re.compile(r"#([12])")
#: The index of the blocks in the LaTeX of a block aggregation: ``\\sum_{l=1}^{L}``.
BLOCK_INDEX = "l"


@dataclass(frozen=True)
class Notation:
    """One op's literal LaTeX.

    ``binds`` is how tightly the filled template binds; ``needs[k]`` how tightly argument ``k``
    must bind to stand in its hole unbracketed (default: anything, the hole being delimited).
    """

    template: str
    binds: int = ATOM
    needs: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        holes = [int(h) for h in _HOLE.findall(self.template)]
        if not holes or holes != list(range(1, len(holes) + 1)):
            raise ValueError(f"LaTeX form {self.template!r}: write its arguments as #1 (and #2),"
                             " each once, in order")
        if not self.needs:
            object.__setattr__(self, "needs", (AGG,) * len(holes))
        elif len(self.needs) != len(holes):
            raise ValueError(f"LaTeX form {self.template!r}: one need per argument")

    @property
    def arity(self) -> int:
        """Number of arguments."""
        return len(self.needs)

    @property
    def pieces(self) -> tuple[str, ...]:
        """The text around the holes: ``arity + 1`` pieces, the outer ones possibly empty."""
        return tuple(_HOLE.split(self.template)[::2])

    def fill(self, args: list[str]) -> str:
        """The template with its holes filled."""
        pieces = self.pieces
        return pieces[0] + "".join(a + p for a, p in zip(args, pieces[1:], strict=True))


def named(name: str, arity: int = 1) -> Notation:
    """``\\operatorname{name}\\left(#1\\right)`` (``#1, #2`` for two arguments): the notation of
    an op without one of its own."""
    args = ", ".join(f"#{k}" for k in range(1, arity + 1))
    return Notation(r"\operatorname{" + name.replace("_", r"\_") + r"}\left(" + args + r"\right)")

__all__ = ["BLOCK_INDEX", "Notation", "named"]
