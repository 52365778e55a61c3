"""The op table: Table 7 of the paper (20 unary, 4 binary) plus z-score and block aggregation.

An op is one row, built by :func:`spec`: its name, paper id, kind (which decides the types it is
registered for), its torch kernel (or, for the ops that need per-block statistics, its callable
on block-batched values), its SymPy twin, its literal LaTeX (:class:`~.notation.Notation`), what
it is on a per-block number, the reference code's names for it and a one-line description.
Everything else follows from the row: the typed overloads (:mod:`.pset`), the canonical and
literal SymPy forms, both LaTeX forms and their readers (:mod:`lpzero_gp.proxy`).
:func:`.registry.register_op` adds a row from outside the package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
import torch

from . import blockops
from . import kernels as K
from .notation import ADD, AGG, LEAF, MUL, NEG, POW, Notation, named
from .symbolic import (
    BLOCK_INDEX,
    L1,
    BlockMean,
    BlockSum,
    Fro,
    Mean,
    MinMax,
    SafeLog,
    Softmax,
    Std,
    ZNorm,
    op_function,
)

#: Kinds of op, deciding where an op is registered in the typed primitive set.
ELEMENTWISE, ROWWISE, BLOCKWISE, REDUCE, PRUNE, BINARY, AGGREGATE = (
    "elementwise", "rowwise", "blockwise", "reduce", "prune", "binary", "aggregate")
#: Kinds whose row holds a torch kernel, lifted to block-batched values.
KERNEL_KINDS = (ELEMENTWISE, BINARY)


@dataclass(frozen=True)
class OpSpec:
    """One primitive: evaluation, symbolic twin, LaTeX and documentation.

    ``on_scalar`` is what the op is on a per-block number where it needs a tensor: a constant
    (row-wise and block-wise ops), or for a reduction the name of the op it acts as (``abs``,
    ``identity``; None: undefined). ``same_as`` names an op that computes the same (readers of
    the canonical form give that one). ``types`` narrows the first-argument types it is
    registered for (empty: every type its kind takes).
    """

    name: str
    paper_id: str
    kind: str
    fn: Callable
    sym: Callable | None
    doc: str
    latex: Notation
    kernel: Callable | None = None
    on_scalar: float | str | None = None
    same_as: str = ""
    aliases: tuple[str, ...] = ()
    types: tuple[type, ...] = ()

    @property
    def arity(self) -> int:
        """Number of arguments."""
        return 2 if self.kind == BINARY else 1

    @property
    def sym_scalar(self) -> Callable | None:
        """The SymPy twin on a per-block number (None: undefined there)."""
        if self.kind == ELEMENTWISE:
            return self.sym
        if isinstance(self.on_scalar, str):
            return OPS_BY_NAME[self.on_scalar].sym
        if self.on_scalar is not None:
            return _const(self.on_scalar)
        return None


def _const(c: float) -> Callable:
    value = sp.Integer(int(c)) if float(c).is_integer() else sp.Float(c)
    return lambda e: value


def spec(name: str, kind: str, impl: Callable, sym: Callable | None = None, *,
         latex: Notation | str | None = None, doc: str = "", paper_id: str = "",
         on_scalar: float | str | None = None, same_as: str = "", aliases: tuple[str, ...] = (),
         types: tuple[type, ...] = ()) -> OpSpec:
    """One row of the op table.

    ``impl`` is the torch kernel of an element-wise or binary op (it is lifted to every value
    type) and the callable on block-batched values of any other kind. ``sym`` defaults to a
    SymPy function of the op's own (:func:`~.symbolic.op_function`), ``latex`` to
    ``\\operatorname{name}\\left(#1\\right)``.
    """
    kernel = impl if kind in KERNEL_KINDS else None
    fn = (blockops.binary(name, impl) if kind == BINARY else
          blockops.elementwise(name, impl) if kind == ELEMENTWISE else impl)
    arity = 2 if kind == BINARY else 1
    if sym is None and kind != PRUNE:
        sym = op_function(name, arity)
    if latex is None:
        latex = named(name, arity)
    elif isinstance(latex, str):
        latex = Notation(latex)
    if latex.arity != arity:
        raise ValueError(f"op {name!r}: its LaTeX form takes {latex.arity} argument(s), not "
                         f"{arity}")
    return OpSpec(name, paper_id, kind, fn, sym, doc, latex, kernel, on_scalar, same_as,
                  tuple(aliases), tuple(types))


def _relu(e):
    return sp.Max(e, 0)


def _sqrt(e):
    return sp.sqrt(sp.Max(e, 0))


def _sigmoid(e):
    return 1 / (1 + sp.exp(-e))


def _abslog(e):
    return SafeLog(sp.Abs(e))


def _same(e):
    return e


def _infix(sep: str, binds: int) -> Notation:
    """``#1 sep #2``, left-associative: the right operand binds tighter than the op."""
    return Notation(f"#1{sep}#2", binds, (binds, binds + 1))


def _block(prefix: str) -> Notation:
    """A block aggregation: ``prefix \\sum_{l=1}^{L} \\left(#1\\right)``."""
    return Notation(prefix + r"\sum_{" + BLOCK_INDEX + r"=1}^{L} \left(#1\right)", AGG)


_E, _R, _B, _D = ELEMENTWISE, REDUCE, BINARY, BLOCKWISE
_QUOTIENT = (NEG,)  # a block aggregation in a quotient is bracketed

OPS: tuple[OpSpec, ...] = (
    spec("log", _E, K.safe_log, SafeLog, latex=r"\log\left(#1\right)", paper_id="f01",
         doc="log x for x > 0, else 0"),
    spec("abslog", _E, K.abslog, _abslog, latex=r"\log\left|#1\right|", paper_id="f02",
         doc="log|x| (the reference's 'abs(log)'), 0 at x = 0"),
    spec("abs", _E, torch.abs, sp.Abs, latex=r"\left|#1\right|", paper_id="f03", doc="|x|"),
    spec("square", _E, K.square, lambda e: e**2, latex=Notation("#1^{2}", POW, (LEAF,)),
         paper_id="f04", doc="x^2"),
    spec("exp", _E, K.safe_exp, sp.exp, latex="e^{#1}", paper_id="f05", doc="e^x, saturating"),
    spec("sqrt", _E, K.safe_sqrt, _sqrt, latex=r"\sqrt{#1}", paper_id="f06",
         doc="sqrt(max(x, 0))"),
    spec("relu", _E, torch.relu, _relu, latex=r"\max\left(#1, 0\right)", paper_id="f07",
         doc="max(x, 0)"),
    spec("reciprocal", _E, K.safe_reciprocal, lambda e: 1 / e, paper_id="f08",
         latex=Notation(r"\frac{1}{#1}", needs=_QUOTIENT), aliases=("invert",),
         doc="1 / (x + eps sign x)"),
    spec("neg", _E, K.neg, lambda e: -e, latex=Notation("-#1", NEG, (POW,)), paper_id="f09",
         aliases=("revert",), doc="-x"),
    spec("fro", _R, blockops.reduce_fro, Fro, latex=r"\left\lVert #1 \right\rVert_F",
         paper_id="f10", on_scalar="abs", aliases=("frobenius", "frobenius_norm"),
         doc="Frobenius norm of each block"),
    spec("norm_sum", _R, blockops.reduce_mean, Mean, paper_id="f11", on_scalar="identity",
         same_as="mean", aliases=("normalized_sum",),
         doc="normalised sum (sum / numel) of each block: the mean"),
    spec("l1", _R, blockops.reduce_l1, L1, paper_id="f12", on_scalar="abs", aliases=("l1_norm",),
         doc="mean absolute value of each block"),
    spec("softmax", ROWWISE, blockops.softmax, Softmax, paper_id="f13", on_scalar=1.0,
         doc="softmax over the feature axis (of a scalar: 1)"),
    spec("sigmoid", _E, torch.sigmoid, _sigmoid, paper_id="f14", doc="1 / (1 + e^-x)"),
    spec("log_softmax", ROWWISE, blockops.log_softmax, lambda e: SafeLog(Softmax(e)),
         paper_id="f15", on_scalar=0.0, aliases=("logsoftmax",),
         doc="log-softmax over the feature axis (of a scalar: 0)"),
    spec("minmax", _D, blockops.minmax, MinMax, paper_id="f16", on_scalar=0.0,
         aliases=("min_max_normalize",), doc="min-max scaling over each block (of a scalar: 0)"),
    spec("mean", _R, blockops.reduce_mean, Mean, latex=r"\overline{#1}", paper_id="f17",
         on_scalar="identity", doc="mean of each block"),
    spec("std", _R, blockops.reduce_std, Std, paper_id="f18",
         doc="unbiased standard deviation of each block"),
    spec("identity", _E, K.identity, _same, paper_id="f19", aliases=("no_op", "noop"), doc="x"),
    spec("prune", PRUNE, blockops.prune, paper_id="f20", aliases=("disconnect",),
         doc="removes its branch: the enclosing binary op returns the other operand"),
    spec("znorm", _D, blockops.znorm, ZNorm, on_scalar=0.0, aliases=("normalize",),
         doc="z-score over each block (not in Table 7; used by the paper's GPT-2 proxy)"),
    spec("add", _B, K.safe_add, lambda a, b: a + b, latex=_infix(" + ", ADD), paper_id="g01",
         doc="a + b"),
    spec("sub", _B, K.safe_sub, lambda a, b: a - b, latex=_infix(" - ", ADD), paper_id="g02",
         doc="a - b"),
    spec("mul", _B, K.safe_mul, lambda a, b: a * b, latex=_infix(r" \cdot ", MUL),
         paper_id="g03", doc="a * b"),
    spec("div", _B, K.safe_div, lambda a, b: a / b, paper_id="g04",
         latex=Notation(r"\frac{#1}{#2}", needs=_QUOTIENT * 2), doc="a / (b + eps sign b)"),
    spec("agg_mean", AGGREGATE, blockops.agg_mean, BlockMean, latex=_block(r"\frac{1}{L}"),
         aliases=("mean_blocks",), doc="mean over the blocks of an architecture"),
    spec("agg_sum", AGGREGATE, blockops.agg_sum, BlockSum, latex=_block(""),
         aliases=("sum_blocks",), doc="sum over the blocks of an architecture"),
)

#: Every op by name: the table's, then those added by :func:`.registry.register_op`.
OPS_BY_NAME: dict[str, OpSpec] = {op.name: op for op in OPS}
#: The reference code's op keys (and a registered op's aliases): alias -> op name.
ALIASES: dict[str, str] = {a: op.name for op in OPS for a in op.aliases}

#: The 20 unary and 4 binary operations of the paper's Table 7.
TABLE7_UNARY = tuple(op.name for op in OPS if op.paper_id.startswith("f"))
TABLE7_BINARY = tuple(op.name for op in OPS if op.paper_id.startswith("g"))
#: Unary ops of the table that act on a tensor (everything but the binary ops and aggregations).
UNARY = tuple(op.name for op in OPS if op.kind not in (BINARY, AGGREGATE))


def unary_ops() -> tuple[str, ...]:
    """:data:`UNARY` and the registered unary ops, in order."""
    return tuple(n for n, op in OPS_BY_NAME.items() if op.kind not in (BINARY, AGGREGATE))


def binary_ops() -> tuple[str, ...]:
    """Table 7's binary ops and the registered binary ops, in order."""
    return TABLE7_BINARY + tuple(n for n, op in OPS_BY_NAME.items()
                                 if op.kind == BINARY and n not in TABLE7_BINARY)

__all__ = [
    "ALIASES", "OPS", "OPS_BY_NAME", "OpSpec", "TABLE7_BINARY", "TABLE7_UNARY", "UNARY",
    "binary_ops", "spec", "unary_ops",
]
