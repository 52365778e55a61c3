"""Typed primitive set of proxy operations (the paper's Table 7) for DEAP.

``from lpzero_gp.primitives import make_pset`` gives a ``deap.gp.PrimitiveSetTyped`` that drops
into a plain DEAP experiment; ``make_pset(stock=True)`` one on which DEAP's own generators and
operators never dead-end. ``register_op`` adds an op without editing the package.
"""

from .notation import Notation
from .ops import OPS, OPS_BY_NAME, TABLE7_BINARY, TABLE7_UNARY, OpSpec
from .pset import ALL_OVERLOADS, INPUTS, STOCK_TERMINALS, check_op_safety, input_type, make_pset
from .registry import register_op, registered_op, unregister_op
from .types import PRUNED, Blocks, Layer, Layerwise, Layout, ParamList, Score, TensorList

__all__ = [
    "ALL_OVERLOADS", "INPUTS", "OPS", "OPS_BY_NAME", "PRUNED", "STOCK_TERMINALS", "TABLE7_BINARY",
    "TABLE7_UNARY",
    "Blocks", "Layer", "Layerwise", "Layout", "Notation", "OpSpec", "ParamList", "Score",
    "TensorList", "check_op_safety", "input_type", "make_pset", "register_op", "registered_op",
    "unregister_op",
]
