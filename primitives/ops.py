"""The op table: Table 7 of the paper (20 unary, 4 binary) plus z-score and block aggregation.

Each :class:`OpSpec` holds the op's name, its paper id, its kind (which decides the types it is
registered for), the python callable that evaluates it, and its SymPy twin at tensor level and
at per-block-scalar level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from . import blockops
from .symbolic import (
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
)

#: Kinds of op, deciding where an op is registered in the typed primitive set.
ELEMENTWISE, ROWWISE, BLOCKWISE, REDUCE, PRUNE, BINARY, AGGREGATE = (
    "elementwise", "rowwise", "blockwise", "reduce", "prune", "binary", "aggregate")


@dataclass(frozen=True)
class OpSpec:
    """One primitive: evaluation, symbolic twins and documentation."""

    name: str
    paper_id: str
    kind: str
    fn: Callable
    sym: Callable | None
    sym_scalar: Callable | None
    doc: str


def _relu(e):
    return sp.Max(e, 0)


def _sqrt(e):
    return sp.sqrt(sp.Max(e, 0))


def _sigmoid(e):
    return 1 / (1 + sp.exp(-e))


def _const(c):
    return lambda e: sp.Integer(c)


_E = blockops.elementwise

OPS: tuple[OpSpec, ...] = (
    OpSpec("log", "f01", ELEMENTWISE, _E("log"), SafeLog, SafeLog, "log x for x > 0, else 0"),
    OpSpec("abslog", "f02", ELEMENTWISE, _E("abslog"), lambda e: SafeLog(sp.Abs(e)),
           lambda e: SafeLog(sp.Abs(e)), "log|x| (the reference's 'abs(log)'), 0 at x = 0"),
    OpSpec("abs", "f03", ELEMENTWISE, _E("abs"), sp.Abs, sp.Abs, "|x|"),
    OpSpec("square", "f04", ELEMENTWISE, _E("square"), lambda e: e**2, lambda e: e**2, "x^2"),
    OpSpec("exp", "f05", ELEMENTWISE, _E("exp"), sp.exp, sp.exp, "e^x, saturating"),
    OpSpec("sqrt", "f06", ELEMENTWISE, _E("sqrt"), _sqrt, _sqrt, "sqrt(max(x, 0))"),
    OpSpec("relu", "f07", ELEMENTWISE, _E("relu"), _relu, _relu, "max(x, 0)"),
    OpSpec("reciprocal", "f08", ELEMENTWISE, _E("reciprocal"), lambda e: 1 / e,
           lambda e: 1 / e, "1 / (x + eps sign x)"),
    OpSpec("neg", "f09", ELEMENTWISE, _E("neg"), lambda e: -e, lambda e: -e, "-x"),
    OpSpec("fro", "f10", REDUCE, blockops.reduce_fro, Fro, sp.Abs,
           "Frobenius norm of each block"),
    OpSpec("norm_sum", "f11", REDUCE, blockops.reduce_mean, Mean, lambda e: e,
           "normalised sum (sum / numel) of each block: the mean"),
    OpSpec("l1", "f12", REDUCE, blockops.reduce_l1, L1, sp.Abs,
           "mean absolute value of each block"),
    OpSpec("softmax", "f13", ROWWISE, blockops.softmax, Softmax, _const(1),
           "softmax over the feature axis (of a scalar: 1)"),
    OpSpec("sigmoid", "f14", ELEMENTWISE, _E("sigmoid"), _sigmoid, _sigmoid, "1 / (1 + e^-x)"),
    OpSpec("log_softmax", "f15", ROWWISE, blockops.log_softmax, lambda e: SafeLog(Softmax(e)),
           _const(0), "log-softmax over the feature axis (of a scalar: 0)"),
    OpSpec("minmax", "f16", BLOCKWISE, blockops.minmax, MinMax, _const(0),
           "min-max scaling over each block (of a scalar: 0)"),
    OpSpec("mean", "f17", REDUCE, blockops.reduce_mean, Mean, lambda e: e,
           "mean of each block"),
    OpSpec("std", "f18", REDUCE, blockops.reduce_std, Std, None,
           "unbiased standard deviation of each block"),
    OpSpec("identity", "f19", ELEMENTWISE, _E("identity"), lambda e: e, lambda e: e, "x"),
    OpSpec("prune", "f20", PRUNE, blockops.prune, None, None,
           "removes its branch: the enclosing binary op returns the other operand"),
    OpSpec("znorm", "", BLOCKWISE, blockops.znorm, ZNorm, _const(0),
           "z-score over each block (not in Table 7; used by the paper's GPT-2 proxy)"),
    OpSpec("add", "g01", BINARY, blockops.binary("add"), lambda a, b: a + b, None, "a + b"),
    OpSpec("sub", "g02", BINARY, blockops.binary("sub"), lambda a, b: a - b, None, "a - b"),
    OpSpec("mul", "g03", BINARY, blockops.binary("mul"), lambda a, b: a * b, None, "a * b"),
    OpSpec("div", "g04", BINARY, blockops.binary("div"), lambda a, b: a / b, None,
           "a / (b + eps sign b)"),
    OpSpec("agg_mean", "", AGGREGATE, blockops.agg_mean, BlockMean, None,
           "mean over the blocks of an architecture"),
    OpSpec("agg_sum", "", AGGREGATE, blockops.agg_sum, BlockSum, None,
           "sum over the blocks of an architecture"),
)

OPS_BY_NAME: dict[str, OpSpec] = {op.name: op for op in OPS}

#: The 20 unary and 4 binary operations of the paper's Table 7.
TABLE7_UNARY = tuple(op.name for op in OPS if op.paper_id.startswith("f"))
TABLE7_BINARY = tuple(op.name for op in OPS if op.paper_id.startswith("g"))
#: Unary ops that act on a tensor (everything but the binary ops and aggregations).
UNARY = tuple(op.name for op in OPS if op.kind not in (BINARY, AGGREGATE))
