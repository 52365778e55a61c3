"""How the literal LaTeX form writes one op: a template with holes and how tightly it binds.

A template is LaTeX with ``#1`` (and ``#2``) for the op's arguments, as in a LaTeX macro:
``\\log\\left(#1\\right)``, ``#1 + #2``, ``\\frac{#1}{#2}``. The printer
(:func:`lpzero_gp.proxy.symtree.literal_latex`) fills the holes and brackets an argument that
binds looser than its hole needs; the literal LaTeX reader (:mod:`lpzero_gp.proxy.latexread`)
reads every template back, so one template per op is all either needs. An op whose operands
may be tensors or numbers can give a second template for tensors (``mul``: ``#1 \\odot #2``, the
element-wise product, where numbers multiply as ``#1 \\cdot #2``).

docs/notation.md is the legend of every symbol these templates and the canonical printer
(:mod:`.symbolic`) write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .types import TensorList

#: How tightly a piece of literal LaTeX binds, loosest first: a block aggregation, a negation,
#: a sum, a product, a power, a delimited notation (``\\log\\left(x\\right)``), an input.
AGG, NEG, ADD, MUL, POW, ATOM, LEAF = range(-1, 6)
_HOLE = re.compile(r"#([12])")
#: The index of the blocks in the LaTeX of a block aggregation: ``\\sum_{l=1}^{L}``.
BLOCK_INDEX = "l"
#: The axes an op that normalises part of a tensor names in its subscript
#: (``\\operatorname{softmax}_{\\text{row}}``): each row along the last axis, or the whole block.
ROW, BLOCK = "row", "block"


@dataclass(frozen=True)
class Notation:
    """One op's literal LaTeX.

    ``binds`` is how tightly the filled template binds; ``needs[k]`` how tightly argument ``k``
    must bind to stand in its hole unbracketed (default: anything, the hole being delimited).
    """

    template: str
    binds: int = ATOM
    needs: tuple[int, ...] = ()
    #: The template on tensor operands where it differs (same holes, binding and needs).
    on_tensors: str = ""

    def __post_init__(self) -> None:
        for template in filter(None, (self.template, self.on_tensors)):
            holes = [int(h) for h in _HOLE.findall(template)]
            if not holes or holes != list(range(1, len(holes) + 1)):
                raise ValueError(f"LaTeX form {template!r}: write its arguments as #1 (and #2),"
                                 " each once, in order")
        holes = _HOLE.findall(self.template)
        if self.on_tensors and len(_HOLE.findall(self.on_tensors)) != len(holes):
            raise ValueError(f"LaTeX form {self.on_tensors!r}: as many arguments as "
                             f"{self.template!r}")
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

    @property
    def forms(self) -> tuple[Notation, ...]:
        """This notation and, when there is one, its form on tensor operands."""
        if not self.on_tensors:
            return (self,)
        return self, Notation(self.on_tensors, self.binds, self.needs)

    def for_args(self, types: tuple[type, ...]) -> Notation:
        """The notation for operands of these types: the tensor form where every operand is a
        tensor (an element-wise product is ``\\odot``, not juxtaposition or ``\\cdot``)."""
        tensors = bool(types) and all(issubclass(t, TensorList) for t in types)
        return self.forms[-1] if tensors else self

    def fill(self, args: list[str]) -> str:
        """The template with its holes filled."""
        pieces = self.pieces
        return pieces[0] + "".join(a + p for a, p in zip(args, pieces[1:], strict=True))


def operator(name: str, axis: str = "") -> str:
    """``\\operatorname{name}``, with ``_{\\text{axis}}`` when the op works along an axis: how
    an op without a symbol of its own is named in both LaTeX forms."""
    tex = r"\operatorname{" + name.replace("_", r"\_") + "}"
    return tex + r"_{\text{" + axis + "}}" if axis else tex


def named(name: str, arity: int = 1, axis: str = "") -> Notation:
    """``\\operatorname{name}\\left(#1\\right)`` (``#1, #2`` for two arguments; the axis as a
    subscript, :func:`operator`): the notation of an op without one of its own."""
    args = ", ".join(f"#{k}" for k in range(1, arity + 1))
    return Notation(operator(name, axis) + r"\left(" + args + r"\right)")

__all__ = ["BLOCK", "BLOCK_INDEX", "Notation", "ROW", "named", "operator"]
