"""SymPy twins of the non-elementary proxy operations, with canonicalising ``eval`` rules.

SymPy's automatic evaluation plus these rules put equivalent proxies into one canonical form
(docs/specs.md §5.3), which is what rule-based pruning keys on. Each class also prints LaTeX, and
:func:`latex` prints a whole canonical expression so that it reads one way only: a block
aggregation inside a sum, product, quotient or power is bracketed as a whole, its operand is in
``\\left( ... \\right)`` with the inputs carrying the block index (``A_{l}``), every other
function-like op has a bracketed argument, an op that works along an axis names it
(``\\operatorname{softmax}_{\\text{row}}``), and a product of two tensors is element-wise,
``G_{l} \\odot W_{l}`` (juxtaposition is left to numbers, which it cannot misread).
docs/notation.md is the legend.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

from .notation import BLOCK, BLOCK_INDEX, ROW, operator

#: The input symbols (real; softmax outputs are positive). ``L`` is the number of blocks.
SYMBOLS: dict[str, sp.Symbol] = {
    "A": sp.Symbol("A", real=True),
    "H": sp.Symbol("H", real=True),
    "S": sp.Symbol("S", positive=True),
    "J": sp.Symbol("J", real=True),
    "G": sp.Symbol("G", real=True),
    "W": sp.Symbol("W", real=True),
}
NBLOCKS = sp.Symbol("L", positive=True, integer=True)
#: Softmax of a constant row: 1 / (row width), unknown symbolically but positive.
CONST_SOFTMAX = sp.Symbol("w", positive=True)


def _split_coeff(u):
    """(c, rest) with u = c * rest and c a number."""
    c, rest = u.as_coeff_Mul()
    return c, rest


def _with_exp(tex: str, exp) -> str:
    """LaTeX of ``tex`` raised to ``exp`` (SymPy passes powers of functions this way)."""
    return tex if exp is None else rf"\left({tex}\right)^{{{exp}}}"


class Named(sp.Function):
    """A function printed by its name, ``\\operatorname{name}\\left(x\\right)``: the LaTeX of
    an op's twin that has no notation of its own. ``latex_name`` is the name, ``latex_axis`` the
    axis it works along (:data:`~.notation.ROW`, :data:`~.notation.BLOCK`; empty: none)."""

    latex_name = ""
    latex_axis = ""

    def _latex(self, printer, exp=None):
        args = ", ".join(printer._print(a) for a in self.args)
        head = operator(self.latex_name, self.latex_axis)
        return _with_exp(rf"{head}\left({args}\right)", exp)


_INPUT_SYMBOLS = frozenset(SYMBOLS.values())


class ProxyLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer (default settings) that knows where it is in the expression.

    Inside a block aggregation the inputs print with the block index (``A_{l}``); the parents of
    the node being printed tell an aggregation whether it needs brackets around itself.
    """

    def __init__(self, settings=None):
        super().__init__(settings)
        self.block_index: str | None = None
        self.parents: list = []

    def _print(self, expr, **kwargs) -> str:
        self.parents.append(expr)
        try:
            return super()._print(expr, **kwargs)
        finally:
            self.parents.pop()

    def _print_Symbol(self, expr, style="plain"):
        tex = super()._print_Symbol(expr, style)
        if self.block_index and expr in _INPUT_SYMBOLS:
            return f"{tex}_{{{self.block_index}}}"
        return tex

    def _print_Mul(self, expr):
        """SymPy's product, but with ``\\odot`` between tensors when two or more are multiplied
        (above or below a fraction bar): ``2 \\overline{H_{l}} G_{l} \\odot W_{l}``, numbers
        first and side by side, then the tensors."""
        from sympy.simplify import fraction

        sign = ""
        if expr.could_extract_minus_sign():
            expr, sign = -expr, "- "
        numer, denom = fraction(expr, exact=True)
        if max(_tensors(numer), _tensors(denom)) < 2:
            return super()._print_Mul(-expr if sign else expr)
        if denom == 1:
            return sign + self._odot(numer)
        return sign + rf"\frac{{{self._odot(numer)}}}{{{self._odot(denom)}}}"

    def _odot(self, expr) -> str:
        """A product: its numbers side by side, then its tensors joined by ``\\odot``."""
        factors = expr.as_ordered_factors() if isinstance(expr, sp.Mul) else [expr]
        numbers = [f for f in factors if not is_tensor(f)]
        ordered = numbers + [f for f in factors if is_tensor(f)]
        parts = []
        for i, f in enumerate(ordered):
            tex = self._print(f)
            if self._needs_mul_brackets(f, first=i == 0, last=i == len(ordered) - 1):
                tex = rf"\left({tex}\right)"
            parts.append(tex)
        scalars, tensors = " ".join(parts[:len(numbers)]), r" \odot ".join(parts[len(numbers):])
        return " ".join(filter(None, (scalars, tensors)))


def latex(expr) -> str:
    """LaTeX of a canonical proxy expression (what ``export`` prints)."""
    return ProxyLatexPrinter().doprint(expr)


def _in_block(printer, operand) -> str:
    """LaTeX of an aggregation's operand, its inputs indexed by the block."""
    if not isinstance(printer, ProxyLatexPrinter):  # plain sp.latex: print the operand with ours
        known = LatexPrinter._default_settings
        printer = ProxyLatexPrinter({k: v for k, v in printer._settings.items() if k in known})
    outer, printer.block_index = printer.block_index, BLOCK_INDEX
    try:
        return printer._print(operand)
    finally:
        printer.block_index = outer


def _aggregate_latex(printer, prefix: str, operand, exp) -> str:
    """``prefix \\sum_{l=1}^{L} \\left(operand\\right)``, bracketed as a whole unless it is the
    whole expression or the argument of a delimited function (``e^{...}``, ``\\log(...)``)."""
    i = BLOCK_INDEX
    tex = rf"{prefix}\sum_{{{i}=1}}^{{L}} \left({_in_block(printer, operand)}\right)"
    if exp is not None:
        return _with_exp(tex, exp)
    parents = getattr(printer, "parents", None)
    if parents is None:  # another printer: only the whole expression goes bare
        bare = printer._print_level <= 1
    else:
        bare = len(parents) < 2 or not isinstance(parents[-2], sp.Add | sp.Mul | sp.Pow)
    return tex if bare else rf"\left({tex}\right)"


class SafeLog(sp.Function):
    """log(x) for x > 0, else 0 (the reference's convention); never auto-cancels with exp."""

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sp.log(x) if x > 0 else sp.S.Zero
        if x.is_nonpositive:
            return sp.S.Zero
        if isinstance(x, sp.exp):
            return x.args[0]
        if isinstance(x, sp.Pow) and x.exp.is_Integer and x.exp.is_even and x.exp > 0:
            return x.exp * SafeLog(sp.Abs(x.base))  # rule L2: log(u**2k) = 2k log|u|
        if isinstance(x, sp.Pow) and x.exp == -1:
            inner = SafeLog(x.base)
            if x.base.is_positive:
                return -inner
        return None

    def _latex(self, printer, exp=None):
        return _with_exp(rf"\log\left({printer._print(self.args[0])}\right)", exp)


class Softmax(Named):
    """Softmax over the feature axis: positive and at most 1; shift-invariant."""

    latex_name = "softmax"
    latex_axis = ROW
    is_positive = True
    is_real = True

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return CONST_SOFTMAX
        c, rest = x.as_coeff_Add()
        if c != 0:
            return Softmax(rest)
        return None


class InvWidth(sp.Function):
    """1 / (feature width) of an input: the mean of a softmax. Architecture-dependent."""

    is_positive = True

    def _latex(self, printer, exp=None):
        return _with_exp(rf"\frac{{1}}{{d_{{{printer._print(self.args[0])}}}}}", exp)


def _width_atom(u):
    syms = sorted(u.free_symbols, key=lambda s: s.name)
    return InvWidth(syms[0]) if syms else sp.S.One


class ZNorm(Named):
    """Z-score over a block; idempotent, odd, invariant to shifts and positive scaling."""

    latex_name = "znorm"
    latex_axis = BLOCK
    is_real = True

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sp.S.Zero
        if isinstance(x, ZNorm):
            return x
        c, rest = x.as_coeff_Add()
        if c != 0:
            return ZNorm(rest)
        c, rest = _split_coeff(x)
        if c.is_negative:
            return -ZNorm(-x)
        if c != 1:
            return ZNorm(rest)
        return None


class MinMax(Named):
    """Min-max scaling over a block: values in [0, 1]; MinMax(-u) = 1 - MinMax(u)."""

    latex_name = "minmax"
    latex_axis = BLOCK
    is_nonnegative = True
    is_real = True

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sp.S.Zero
        if isinstance(x, MinMax):
            return x
        c, rest = x.as_coeff_Add()
        if c != 0:
            return MinMax(rest)
        c, rest = _split_coeff(x)
        if c.is_negative:
            return 1 - MinMax(-x)
        if c != 1:
            return MinMax(rest)
        return None


class Mean(sp.Function):
    """Mean of a block's entries: linear, so sums and numeric factors are pulled out."""

    is_real = True

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x
        if isinstance(x, sp.Add):
            return sp.Add(*[Mean(a) for a in x.args])
        c, rest = _split_coeff(x)
        if c != 1:
            return c * Mean(rest)
        if isinstance(x, sp.Abs):
            return L1(x.args[0])
        if isinstance(x, ZNorm):
            return sp.S.Zero
        if isinstance(x, Softmax):
            return _width_atom(x)
        return None

    def _latex(self, printer, exp=None):
        return _with_exp(rf"\overline{{{printer._print(self.args[0])}}}", exp)


class L1(sp.Function):
    """Mean absolute value of a block's entries."""

    is_nonnegative = True

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return abs(x)
        if isinstance(x, sp.Abs):
            return L1(x.args[0])
        c, rest = _split_coeff(x)
        if c != 1:
            return abs(c) * L1(rest)
        if x.is_nonnegative:
            return Mean(x)
        return None

    def _latex(self, printer, exp=None):
        return _with_exp(rf"\overline{{\left|{printer._print(self.args[0])}\right|}}", exp)


class Fro(sp.Function):
    """Frobenius norm of a block: sign-blind and size-dependent."""

    is_nonnegative = True

    @classmethod
    def eval(cls, x):
        if x == 0:
            return sp.S.Zero
        if isinstance(x, sp.Abs):
            return Fro(x.args[0])
        c, rest = _split_coeff(x)
        if c != 1 and rest != 1:
            return abs(c) * Fro(rest)
        return None

    def _latex(self, printer, exp=None):
        return _with_exp(rf"\left\lVert {printer._print(self.args[0])} \right\rVert_F", exp)


class Std(Named):
    """Standard deviation of a block's entries."""

    latex_name = "std"
    is_nonnegative = True

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return sp.S.Zero
        if isinstance(x, ZNorm):
            return sp.S.One
        c, rest = x.as_coeff_Add()
        if c != 0:
            return Std(rest)
        c, rest = _split_coeff(x)
        if c != 1:
            return abs(c) * Std(rest)
        return None


class BlockMean(sp.Function):
    """Mean over an architecture's blocks: linear."""

    is_real = True

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x
        if isinstance(x, sp.Add):
            return sp.Add(*[BlockMean(a) for a in x.args])
        c, rest = _split_coeff(x)
        if c != 1:
            return c * BlockMean(rest)
        return None

    def _latex(self, printer, exp=None):
        return _aggregate_latex(printer, r"\frac{1}{L}", self.args[0], exp)


class BlockSum(sp.Function):
    """Sum over an architecture's blocks: linear; a constant c sums to c * L."""

    is_real = True

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return x * NBLOCKS
        if isinstance(x, sp.Add):
            return sp.Add(*[BlockSum(a) for a in x.args])
        c, rest = _split_coeff(x)
        if c != 1:
            return c * BlockSum(rest)
        return None

    def _latex(self, printer, exp=None):
        return _aggregate_latex(printer, "", self.args[0], exp)


#: The functions whose value is one number (per block or per architecture) whatever they take.
REDUCTIONS = (Mean, L1, Fro, Std, InvWidth, BlockMean, BlockSum)


def is_tensor(expr) -> bool:
    """Whether a canonical expression is a tensor: it holds an input outside every reduction
    (``G``, ``e^{G}``, ``\\operatorname{softmax}(G)``; not ``\\overline{G}``). A product of two
    tensors is element-wise."""
    if expr in _INPUT_SYMBOLS:
        return True
    return not isinstance(expr, REDUCTIONS) and any(is_tensor(a) for a in expr.args)


def _tensors(expr) -> int:
    """How many factors of a product are tensors."""
    return sum(map(is_tensor, sp.Mul.make_args(expr)))


#: Names of every custom function, for srepr-based keys and for tests.
CUSTOM = (SafeLog, Softmax, InvWidth, ZNorm, MinMax, Mean, L1, Fro, Std, BlockMean, BlockSum)
#: Names the SymPy forms give a meaning of their own (the blocks count, the softmax constant).
TAKEN_NAMES = frozenset({NBLOCKS.name, CONST_SOFTMAX.name, "Named", *(f.__name__ for f in CUSTOM)})


def op_function(name: str, nargs: int = 1) -> type[sp.Function]:
    """The SymPy twin of an op that brings none: a real function ``Name(x)`` (``my_op`` gives
    ``MyOp``) with no rules, printed ``\\operatorname{my\\_op}\\left(x\\right)``."""
    title = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    if not title.isidentifier() or title in SYMBOLS or title in TAKEN_NAMES or hasattr(sp, title):
        raise ValueError(f"op {name!r}: its SymPy name {title!r} is taken; give it a twin")
    return type(title, (Named,), {"latex_name": name, "nargs": nargs, "is_real": True,
                                  "__module__": __name__, "__doc__": f"The op {name}."})

__all__ = [
    "BLOCK_INDEX", "BlockMean", "BlockSum", "CONST_SOFTMAX", "CUSTOM", "Fro", "InvWidth", "L1",
    "Mean", "MinMax", "NBLOCKS", "Named", "REDUCTIONS", "SYMBOLS", "SafeLog", "Softmax", "Std",
    "ZNorm", "is_tensor", "latex", "op_function",
]
