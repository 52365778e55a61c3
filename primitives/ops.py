"""The op table: Table 7 of the paper (20 unary, 4 binary) plus z-score and block aggregation.

An op is one row, built by :func:`spec`: its name, paper id, kind (which decides the types it is
registered for), its torch kernel (or, for the ops that need per-block statistics, its callable
on block-batched values), its SymPy twin, its literal LaTeX (:class:`~.notation.Notation`), what
it is on a per-block number, the reference code's names for it and a one-line description.
Everything else follows from the row: the typed overloads (:mod:`.pset`), the canonical and
literal SymPy forms, both LaTeX forms and their readers (:mod:`lpzero_gp.proxy`).
:func:`.registry.register_op` adds a row from outside the package.

A row names its kernel and twin by import path (``".kernels:safe_log"``, ``"sympy:Abs"``) or
holds a callable that imports what it needs when called, so the table, and a primitive set
built from it, load neither torch nor SymPy: :func:`resolve` imports them on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from .notation import ADD, AGG, BLOCK, BLOCK_INDEX, LEAF, MUL, NEG, POW, ROW, Notation, named

#: Kinds of op, deciding where an op is registered in the typed primitive set.
ELEMENTWISE, ROWWISE, BLOCKWISE, REDUCE, PRUNE, BINARY, AGGREGATE = (
    "elementwise", "rowwise", "blockwise", "reduce", "prune", "binary", "aggregate")
#: Kinds whose row holds a torch kernel, lifted to block-batched values.
KERNEL_KINDS = (ELEMENTWISE, BINARY)


@dataclass(frozen=True)
class OpSpec:
    """One primitive: evaluation, symbolic twin, LaTeX and documentation.

    ``impl`` is the torch kernel (element-wise and binary ops) or the callable on block-batched
    values (every other kind), ``twin`` the SymPy twin, each a callable or an import path
    (:func:`resolve`); ``kernel``, ``fn`` and ``sym`` are what they resolve to, imported on
    first use. ``on_scalar`` is what the op is on a per-block number where it needs a tensor: a
    constant (row-wise and block-wise ops), or for a reduction the name of the op it acts as
    (``abs``, ``identity``; None: undefined). ``same_as`` names an op that computes the same
    (readers of the canonical form give that one). ``types`` narrows the first-argument types
    it is registered for (empty: every type its kind takes).
    """

    name: str
    paper_id: str
    kind: str
    impl: Callable | str
    twin: Callable | str | None
    doc: str
    latex: Notation
    on_scalar: float | str | None = None
    same_as: str = ""
    aliases: tuple[str, ...] = ()
    types: tuple[type, ...] = ()

    @property
    def arity(self) -> int:
        """Number of arguments."""
        return 2 if self.kind == BINARY else 1

    @cached_property
    def kernel(self) -> Callable | None:
        """The torch kernel of an element-wise or binary op (None for other kinds)."""
        return resolve(self.impl) if self.kind in KERNEL_KINDS else None

    @cached_property
    def fn(self) -> Callable:
        """The callable on block-batched values (an element-wise or binary kernel, lifted)."""
        from . import blockops

        impl = resolve(self.impl)
        if self.kind == BINARY:
            return blockops.binary(self.name, impl)
        return blockops.elementwise(self.name, impl) if self.kind == ELEMENTWISE else impl

    @cached_property
    def sym(self) -> Callable | None:
        """The SymPy twin (None: the prune op, which has none)."""
        return None if self.twin is None else resolve(self.twin)

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


def resolve(ref: Callable | str) -> Callable:
    """The callable a row holds: itself, or the object an import path ``"module:name"`` names
    (a leading dot: a module of this package), imported now."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module, __package__), attr)


def _const(c: float) -> Callable:
    import sympy as sp

    value = sp.Integer(int(c)) if float(c).is_integer() else sp.Float(c)
    return lambda e: value


def spec(name: str, kind: str, impl: Callable | str, sym: Callable | str | None = None, *,
         latex: Notation | str | None = None, doc: str = "", paper_id: str = "",
         on_scalar: float | str | None = None, same_as: str = "", aliases: tuple[str, ...] = (),
         types: tuple[type, ...] = ()) -> OpSpec:
    """One row of the op table.

    ``impl`` is the torch kernel of an element-wise or binary op (it is lifted to every value
    type) and the callable on block-batched values of any other kind; it and ``sym`` may be
    import paths (:func:`resolve`). ``sym`` defaults to a SymPy function of the op's own
    (:func:`~.symbolic.op_function`, made now), ``latex`` to
    ``\\operatorname{name}\\left(#1\\right)``.
    """
    arity = 2 if kind == BINARY else 1
    if sym is None and kind != PRUNE:
        from .symbolic import op_function

        sym = op_function(name, arity)
    if latex is None:
        latex = named(name, arity)
    elif isinstance(latex, str):
        latex = Notation(latex)
    if latex.arity != arity:
        raise ValueError(f"op {name!r}: its LaTeX form takes {latex.arity} argument(s), not "
                         f"{arity}")
    return OpSpec(name, paper_id, kind, impl, sym, doc, latex, on_scalar, same_as,
                  tuple(aliases), tuple(types))


# SymPy twins written here: each imports what it needs when called.


def _relu(e):
    import sympy as sp

    return sp.Max(e, 0)


def _sqrt(e):
    import sympy as sp

    return sp.sqrt(sp.Max(e, 0))


def _sigmoid(e):
    import sympy as sp

    return 1 / (1 + sp.exp(-e))


def _abslog(e):
    import sympy as sp

    from .symbolic import SafeLog

    return SafeLog(sp.Abs(e))


def _log_softmax(e):
    from .symbolic import SafeLog, Softmax

    return SafeLog(Softmax(e))


def _same(e):
    return e


def _infix(sep: str, binds: int, on_tensors: str = "") -> Notation:
    """``#1 sep #2``, left-associative: the right operand binds tighter than the op
    (``on_tensors``: the separator between tensors, where it differs)."""
    return Notation(f"#1{sep}#2", binds, (binds, binds + 1),
                    f"#1{on_tensors}#2" if on_tensors else "")


def _block(prefix: str) -> Notation:
    """A block aggregation: ``prefix \\sum_{l=1}^{L} \\left(#1\\right)``."""
    return Notation(prefix + r"\sum_{" + BLOCK_INDEX + r"=1}^{L} \left(#1\right)", AGG)


_E, _R, _B, _D = ELEMENTWISE, REDUCE, BINARY, BLOCKWISE
_QUOTIENT = (NEG,)  # a block aggregation in a quotient is bracketed

OPS: tuple[OpSpec, ...] = (
    spec("log", _E, ".kernels:safe_log", ".symbolic:SafeLog", latex=r"\log\left(#1\right)",
         paper_id="f01", doc="log x for x > 0, else 0"),
    spec("abslog", _E, ".kernels:abslog", _abslog, latex=r"\log\left|#1\right|", paper_id="f02",
         doc="log|x| (the reference's 'abs(log)'), 0 at x = 0"),
    spec("abs", _E, "torch:abs", "sympy:Abs", latex=r"\left|#1\right|", paper_id="f03",
         doc="|x|"),
    spec("square", _E, ".kernels:square", lambda e: e**2, latex=Notation("#1^{2}", POW, (LEAF,)),
         paper_id="f04", doc="x^2"),
    spec("exp", _E, ".kernels:safe_exp", "sympy:exp", latex="e^{#1}", paper_id="f05",
         doc="e^x, saturating"),
    spec("sqrt", _E, ".kernels:safe_sqrt", _sqrt, latex=r"\sqrt{#1}", paper_id="f06",
         doc="sqrt(max(x, 0))"),
    spec("relu", _E, "torch:relu", _relu, latex=r"\max\left(#1, 0\right)", paper_id="f07",
         doc="max(x, 0)"),
    spec("reciprocal", _E, ".kernels:safe_reciprocal", lambda e: 1 / e, paper_id="f08",
         latex=Notation(r"\frac{1}{#1}", needs=_QUOTIENT), aliases=("invert",),
         doc="1 / (x + eps sign x)"),
    spec("neg", _E, ".kernels:neg", lambda e: -e, latex=Notation("-#1", NEG, (POW,)),
         paper_id="f09", aliases=("revert",), doc="-x"),
    spec("fro", _R, ".blockops:reduce_fro", ".symbolic:Fro",
         latex=r"\left\lVert #1 \right\rVert_F", paper_id="f10", on_scalar="abs",
         aliases=("frobenius", "frobenius_norm"), doc="Frobenius norm of each block"),
    spec("norm_sum", _R, ".blockops:reduce_mean", ".symbolic:Mean", paper_id="f11",
         on_scalar="identity", same_as="mean", aliases=("normalized_sum",),
         doc="normalised sum (sum / numel) of each block: the mean"),
    spec("l1", _R, ".blockops:reduce_l1", ".symbolic:L1", paper_id="f12", on_scalar="abs",
         aliases=("l1_norm",), doc="mean absolute value of each block"),
    spec("softmax", ROWWISE, ".blockops:softmax", ".symbolic:Softmax", paper_id="f13",
         latex=named("softmax", axis=ROW),
         on_scalar=1.0, doc="softmax over the feature axis (of a scalar: 1)"),
    spec("sigmoid", _E, "torch:sigmoid", _sigmoid, paper_id="f14", doc="1 / (1 + e^-x)"),
    spec("log_softmax", ROWWISE, ".blockops:log_softmax", _log_softmax,
         latex=named("log_softmax", axis=ROW),
         paper_id="f15", on_scalar=0.0, aliases=("logsoftmax",),
         doc="log-softmax over the feature axis (of a scalar: 0)"),
    spec("minmax", _D, ".blockops:minmax", ".symbolic:MinMax", paper_id="f16", on_scalar=0.0,
         latex=named("minmax", axis=BLOCK),
         aliases=("min_max_normalize",), doc="min-max scaling over each block (of a scalar: 0)"),
    spec("mean", _R, ".blockops:reduce_mean", ".symbolic:Mean", latex=r"\overline{#1}",
         paper_id="f17", on_scalar="identity", doc="mean of each block"),
    spec("std", _R, ".blockops:reduce_std", ".symbolic:Std", paper_id="f18",
         doc="unbiased standard deviation of each block"),
    spec("identity", _E, ".kernels:identity", _same, paper_id="f19", aliases=("no_op", "noop"),
         doc="x"),
    spec("prune", PRUNE, ".blockops:prune", paper_id="f20", aliases=("disconnect",),
         doc="removes its branch: the enclosing binary op returns the other operand"),
    spec("znorm", _D, ".blockops:znorm", ".symbolic:ZNorm", on_scalar=0.0, aliases=("normalize",),
         latex=named("znorm", axis=BLOCK),
         doc="z-score over each block (not in Table 7; used by the paper's GPT-2 proxy)"),
    spec("add", _B, ".kernels:safe_add", lambda a, b: a + b, latex=_infix(" + ", ADD),
         paper_id="g01", doc="a + b"),
    spec("sub", _B, ".kernels:safe_sub", lambda a, b: a - b, latex=_infix(" - ", ADD),
         paper_id="g02", doc="a - b"),
    spec("mul", _B, ".kernels:safe_mul", lambda a, b: a * b,
         latex=_infix(r" \cdot ", MUL, r" \odot "),
         paper_id="g03", doc="a * b"),
    spec("div", _B, ".kernels:safe_div", lambda a, b: a / b, paper_id="g04",
         latex=Notation(r"\frac{#1}{#2}", needs=_QUOTIENT * 2), doc="a / (b + eps sign b)"),
    spec("agg_mean", AGGREGATE, ".blockops:agg_mean", ".symbolic:BlockMean",
         latex=_block(r"\frac{1}{L}"), aliases=("mean_blocks",),
         doc="mean over the blocks of an architecture"),
    spec("agg_sum", AGGREGATE, ".blockops:agg_sum", ".symbolic:BlockSum", latex=_block(""),
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
    "binary_ops", "resolve", "spec", "unary_ops",
]
