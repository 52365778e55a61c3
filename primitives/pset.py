"""``make_pset``: the typed DEAP primitive set of proxy operations.

Overloads are registered under typed names (``square_T``, ``square_P``, ``square_L``,
``square_S``) because DEAP needs unique names; proxy strings use the plain op name and the
parser picks the overload from the argument types. Shape mismatches are impossible by
construction: binary ops only combine blocks-aligned values (Layerwise, Score) or the aligned
parameter lists G and W.

Every primitive prints under its plain op name (``str(tree)`` reads ``agg_mean(mean(A))``), and
``gp.compile`` still works: the set's context maps each plain name to a dispatcher that picks the
overload from the argument values (:class:`PlainOp`). The typed names stay DEAP's keys
(``pset.mapping``); :func:`lpzero_gp.proxy.parse.typed_string` writes them.

``make_pset(stock=True)`` is the same set closed for DEAP's own generators and operators: a
pass-through primitive for every type and real terminals for the per-block and per-architecture
types, each standing for a small proxy (``mean(A)``, ``agg_mean(mean(A))``; docs/design.md §4.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from deap import gp

from . import ops as O
from .types import PRUNED, Blocks, Layer, Layerwise, ParamList, Score, TensorList

#: Input names in argument order; A, H, S, J are activations-like, G and W parameters.
INPUTS: tuple[str, ...] = ("A", "H", "S", "J", "G", "W")
PARAM_INPUTS = frozenset({"G", "W"})

#: Names earlier stock sets gave Table 7's empty value (what ``prune`` returns) as a terminal of
#: the per-block and per-architecture types. No set has them now; the parser still reads them in
#: old proxy strings and drops them as evaluation would (a binary op keeps its other operand).
EMPTY_TERMINALS: dict[str, type] = {"pruned_L": Layerwise, "pruned_S": Score}

SUFFIX = {TensorList: "T", ParamList: "P", Layerwise: "L", Score: "S"}
TYPE_NAMES = {TensorList: "TensorList", ParamList: "ParamList", Layerwise: "Layerwise",
              Score: "Score"}


@dataclass(frozen=True)
class Overload:
    """One typed registration of an op."""

    op: O.OpSpec
    args: tuple[type, ...]
    ret: type

    @property
    def typed_name(self) -> str:
        """Unique name in the DEAP primitive set."""
        return f"{self.op.name}_{SUFFIX[self.args[0]]}"


def input_type(name: str) -> type:
    """The type of an input terminal."""
    return ParamList if name in PARAM_INPUTS else TensorList


#: The first-argument types each kind of op is registered for.
KIND_TYPES: dict[str, tuple[type, ...]] = {
    O.ELEMENTWISE: (TensorList, ParamList, Layerwise, Score),
    O.PRUNE: (TensorList, ParamList, Layerwise, Score),
    O.ROWWISE: (TensorList, ParamList, Layerwise),
    O.BLOCKWISE: (TensorList, ParamList, Layerwise),
    O.REDUCE: (TensorList,),
    O.BINARY: (ParamList, Layerwise, Score),
    O.AGGREGATE: (Layerwise,),
}
_RETURNS = {O.REDUCE: Layerwise, O.AGGREGATE: Score}


def overloads(op: O.OpSpec) -> list[Overload]:
    """Every typed registration of ``op``: one per first-argument type its kind takes (the
    types its row names, if any); a reduction returns a Layerwise, an aggregation a Score, any
    other op the type it takes."""
    if op.kind not in KIND_TYPES:
        raise ValueError(f"unknown op kind {op.kind!r}")
    types = [t for t in KIND_TYPES[op.kind] if not op.types or t in op.types]
    return [Overload(op, (t,) * op.arity, _RETURNS.get(op.kind, t)) for t in types]


def overload_fn(ov: Overload):
    """Python callable of one overload: on per-block scalars, the row-wise and block-wise ops
    are the constants their rows give (the reference's: softmax of a scalar is 1, others 0)."""
    from . import blockops

    if ov.args[0] in (TensorList, ParamList) or ov.op.kind not in (O.ROWWISE, O.BLOCKWISE):
        return ov.op.fn
    return blockops.scalar_constant(ov.op.name, float(ov.op.on_scalar))


class LazyOverload:
    """The callable of one overload in a primitive set: resolved (torch imported, the kernel
    lifted) on its first call, so building a set imports neither torch nor SymPy."""

    def __init__(self, ov: Overload) -> None:
        self.overload = ov
        self.__name__ = ov.typed_name
        self._fn = None

    def __call__(self, *args):
        if self._fn is None:
            self._fn = overload_fn(self.overload)
        return self._fn(*args)

    def __repr__(self) -> str:
        return f"<lazy {self.__name__}>"


#: Every overload by typed name, in op order: the table's, then the registered ops'.
ALL_OVERLOADS: dict[str, Overload] = {
    ov.typed_name: ov for op in O.OPS for ov in overloads(op)
}


@dataclass(frozen=True)
class StockTerminal:
    """A terminal of the stock set standing for a small proxy: the overloads ``chain`` (typed
    names, outermost first) applied to input ``input``. It prints, parses and scores as that
    proxy, so a branch closed by it is a real one."""

    chain: tuple[str, ...]
    input: str

    @property
    def ret(self) -> type:
        """The type of the proxy it stands for (Layerwise or Score)."""
        return ALL_OVERLOADS[self.chain[0]].ret

    def spelled(self, typed: bool = False) -> str:
        """The proxy it stands for, with plain op names (``agg_mean(mean(A))``) or typed ones
        (``agg_mean_L(mean_T(A))``, the evaluator's memo key)."""
        text = self.input
        for name in reversed(self.chain):
            text = f"{name if typed else ALL_OVERLOADS[name].op.name}({text})"
        return text


def _stock_terminals() -> dict[str, StockTerminal]:
    """Every reduction of every input (Layerwise), then every aggregation of those (Score)."""
    reductions = [n for n, ov in ALL_OVERLOADS.items() if ov.op.kind == O.REDUCE]
    aggregations = [n for n, ov in ALL_OVERLOADS.items() if ov.op.kind == O.AGGREGATE]
    terms = [StockTerminal((r,), i) for i in INPUTS for r in reductions]
    terms += [StockTerminal((a, r), i) for a in aggregations for i in INPUTS for r in reductions]
    return {t.spelled(): t for t in terms}


#: Terminals of the stock set (``make_pset(stock=True)``) by name, the proxy each stands for.
#: A set gets those whose ops and input it has.
STOCK_TERMINALS: dict[str, StockTerminal] = _stock_terminals()


class PlainOp:
    """``gp.compile``'s callable for a plain op name (what ``str(tree)`` writes): the set's
    overload of that op for the type of its argument values."""

    def __init__(self, name: str, by_type: dict[type, LazyOverload]) -> None:
        self.__name__ = name
        self.by_type = by_type

    def __call__(self, *args):
        value = next((a for a in args if a is not PRUNED), PRUNED)
        if isinstance(value, Blocks):
            fn = self.by_type.get(TensorList) or self.by_type[ParamList]
        elif isinstance(value, Layer):
            fn = self.by_type[Layerwise]
        elif value is PRUNED:  # every overload passes the empty value on
            fn = next(iter(self.by_type.values()))
        else:
            fn = self.by_type[Score]
        return fn(*args)

    def __repr__(self) -> str:
        return f"<plain {self.__name__}>"


def make_pset(
    inputs: tuple[str, ...] = INPUTS,
    ops: tuple[str, ...] | None = None,
    name: str = "proxy",
    stock: bool = False,
) -> gp.PrimitiveSetTyped:
    """A typed primitive set over ``inputs`` whose trees return a Score.

    ``ops`` restricts the op names (default: all, i.e. Table 7 plus ``znorm`` and both
    aggregations). Compiled trees (``deap.gp.compile``) take one :class:`Blocks` per input,
    in ``inputs`` order, and return a score tensor with one value per architecture.

    Primitives print under their plain op names (``str(tree)``); ``gp.compile`` reads those
    through :class:`PlainOp`.

    ``stock=True`` makes the set safe for DEAP's own generators and operators (``genFull``,
    ``genGrow``, ``mutInsert``, ...): every type gets a pass-through primitive (``identity``)
    and terminals (the inputs; for Layerwise and Score the :data:`STOCK_TERMINALS` its ops and
    inputs allow, e.g. ``mean(A)`` and ``agg_mean(mean(A))``), so any branch can be closed at
    any depth by a real proxy. The default set is unchanged by it (same primitives, same order).
    """
    unknown = [i for i in inputs if i not in INPUTS]
    if unknown or not inputs:
        raise ValueError(f"unknown input(s) {unknown}; choose from {', '.join(INPUTS)}")
    wanted = set(O.OPS_BY_NAME) if ops is None else set(ops)
    bad = wanted - set(O.OPS_BY_NAME)
    if bad:
        raise ValueError(f"unknown op(s) {sorted(bad)}; choose from {', '.join(O.OPS_BY_NAME)}")
    kinds = {o.kind for o in O.OPS_BY_NAME.values() if o.name in wanted}
    if O.AGGREGATE not in kinds:
        raise ValueError("the primitive set needs an aggregation (agg_mean or agg_sum)")
    if O.REDUCE not in kinds:
        raise ValueError("the primitive set needs a reduction (mean, l1, fro, std, norm_sum)")
    pset = gp.PrimitiveSetTyped(name, [input_type(i) for i in inputs], Score)
    pset.renameArguments(**{f"ARG{k}": n for k, n in enumerate(inputs)})
    for typed_name, ov in ALL_OVERLOADS.items():
        if ov.op.name not in wanted:
            continue
        if ov.args[0] is ParamList and not PARAM_INPUTS & set(inputs):
            continue
        pset.addPrimitive(LazyOverload(ov), list(ov.args), ov.ret, name=typed_name)
    if stock:
        _add_stock(pset)
    _plain_names(pset)
    return pset


def _add_stock(pset: gp.PrimitiveSetTyped) -> None:
    """A pass-through primitive for every type of ``pset`` and the stock terminals its ops and
    inputs allow (see ``make_pset``)."""
    for typed_name, ov in ALL_OVERLOADS.items():
        if (ov.op.name == "identity" and typed_name not in pset.mapping
                and ov.ret in pset.primitives):
            pset.addPrimitive(LazyOverload(ov), list(ov.args), ov.ret, name=typed_name)
    for name, term in STOCK_TERMINALS.items():
        if term.input in pset.arguments and all(n in pset.mapping for n in term.chain):
            pset.addTerminal(term, term.ret, name=name)


def _plain_names(pset: gp.PrimitiveSetTyped) -> None:
    """Print every overload under its op's plain name, and let ``gp.compile`` read it."""
    by_op: dict[str, dict[type, LazyOverload]] = {}
    for typed_name, ov in ALL_OVERLOADS.items():
        prim = pset.mapping.get(typed_name)
        if isinstance(prim, gp.Primitive):
            prim.seq = f"{ov.op.name}({', '.join(f'{{{k}}}' for k in range(prim.arity))})"
            by_op.setdefault(ov.op.name, {})[ov.args[0]] = pset.context[typed_name]
    for name, by_type in by_op.items():
        pset.context[name] = PlainOp(name, by_type)


def check_op_safety(names: tuple[str, ...] | None = None) -> None:
    """Check every op (or the ops ``names``) the way gplearn does: finite on zeros, negatives
    and huge values."""
    import torch

    from .types import Blocks, Layer, Layout

    lay = Layout((torch.tensor([0, 1]),), (torch.tensor([12.0, 12.0], dtype=torch.float64),),
                 torch.tensor([0, 0]), 1)
    for fill in (0.0, -3.0, 1e30, -1e30):
        x = Blocks((torch.full((2, 3, 4), fill),), lay)
        x = Blocks((x.groups[0] + torch.linspace(0, 1e-3, 4),), lay) if fill else x
        layer = Layer(torch.tensor([fill, fill], dtype=torch.float64), lay.block_arch, 1)
        for ov in ALL_OVERLOADS.values():
            if ov.op.kind == O.PRUNE or names is not None and ov.op.name not in names:
                continue
            arg = {TensorList: x, ParamList: x, Layerwise: layer,
                   Score: torch.tensor([fill], dtype=torch.float64)}[ov.args[0]]
            out = overload_fn(ov)(*([arg] * len(ov.args)))
            vals = out.groups if isinstance(out, Blocks) else (
                [out.values] if isinstance(out, Layer) else [out])
            for v in vals:
                if not torch.isfinite(v).all():
                    raise AssertionError(f"{ov.typed_name} is not finite on {fill}")

__all__ = [
    "ALL_OVERLOADS", "EMPTY_TERMINALS", "INPUTS", "LazyOverload", "Overload", "PARAM_INPUTS",
    "PlainOp", "STOCK_TERMINALS", "SUFFIX", "StockTerminal", "TYPE_NAMES", "check_op_safety",
    "input_type", "make_pset", "overload_fn", "overloads",
]
