"""Evaluate proxy trees on a block-batched dataset, memoising sub-tree results.

A sub-tree's result depends only on its string, so results are memoised by that key: reduced
values (one number per block or per architecture) are kept without limit (they are small);
tensor-valued results are kept in an LRU bounded by bytes.

A terminal of the stock set (``make_pset(stock=True)``) is the proxy it stands for: its key is
that proxy's typed key and its value is computed (and memoised) as that proxy's would be.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from deap import gp

from lpzero_gp.primitives.pset import (
    ALL_OVERLOADS,
    EMPTY_TERMINALS,
    STOCK_TERMINALS,
    overload_fn,
)
from lpzero_gp.primitives.types import PRUNED, Blocks
from lpzero_gp.proxy.fold import fold
from lpzero_gp.proxy.parse import plain_name
from lpzero_gp.stats.store import Dataset


def subtree_keys(tree: gp.PrimitiveTree) -> tuple[list[str], list[int]]:
    """Readable key and end index of the sub-tree rooted at every node, in one pass."""
    n = len(tree)
    keys: list[str] = [""] * n
    ends: list[int] = [0] * n

    def visit(j: int, node, kids: list[int]) -> int:
        if node.arity == 0:
            name = plain_name(node)
            stock = STOCK_TERMINALS.get(name)
            keys[j] = name if stock is None else stock.spelled(typed=True)
        else:
            keys[j] = f"{node.name}({','.join(keys[k] for k in kids)})"
        ends[j] = ends[kids[-1]] if kids else j + 1
        return j

    fold(tree, visit)
    return keys, ends


def _callable(node):
    return overload_fn(ALL_OVERLOADS[node.name])


def _nbytes(v) -> int:
    return sum(g.numel() * g.element_size() for g in v.groups) if isinstance(v, Blocks) else 0


class Evaluator:
    """Scores trees on one dataset; one instance per dataset (and per worker process)."""

    def __init__(self, dataset: Dataset, tensor_cache_bytes: int = 512 << 20,
                 memoize: bool = True):
        self.dataset = dataset
        self.memoize = memoize
        self.memo: dict[str, object] = {}
        self.tensor_memo: OrderedDict[str, Blocks] = OrderedDict()
        self.tensor_bytes = 0
        self.tensor_cache_bytes = tensor_cache_bytes
        self.calls = 0
        self.hits = 0

    def _remember(self, key: str, value) -> None:
        if not self.memoize:
            return
        if isinstance(value, Blocks):
            size = _nbytes(value)
            if size > self.tensor_cache_bytes // 4:
                return
            self.tensor_memo[key] = value
            self.tensor_bytes += size
            while self.tensor_bytes > self.tensor_cache_bytes:
                _, old = self.tensor_memo.popitem(last=False)
                self.tensor_bytes -= _nbytes(old)
        else:
            if len(self.memo) > 500_000:
                self.memo.clear()
            self.memo[key] = value

    def _lookup(self, key: str):
        if not self.memoize:
            return None
        if key in self.memo:
            return self.memo[key]
        v = self.tensor_memo.get(key)
        if v is not None:
            self.tensor_memo.move_to_end(key)
        return v

    def _terminal(self, name: str):
        """The value of an input, of a stock terminal (computed and memoised as the proxy it
        stands for) or of an earlier stock set's empty terminal."""
        stock = STOCK_TERMINALS.get(name)
        if stock is None:
            return PRUNED if name in EMPTY_TERMINALS else self.dataset.inputs[name]
        value, key = self.dataset.inputs[stock.input], stock.input
        for typed in reversed(stock.chain):
            key = f"{typed}({key})"
            cached = self._lookup(key)
            if cached is None:
                cached = overload_fn(ALL_OVERLOADS[typed])(value)
                self._remember(key, cached)
            value = cached
        return value

    def score(self, tree: gp.PrimitiveTree) -> torch.Tensor | None:
        """Scores (float64, one per architecture), or None when every branch is pruned."""
        keys, ends = subtree_keys(tree)
        self.calls += 1

        def ev(i: int):
            cached = self._lookup(keys[i])
            if cached is not None:
                self.hits += 1
                return cached
            node = tree[i]
            if node.arity == 0:
                return self._terminal(plain_name(node))
            args, j = [], i + 1
            for _ in range(node.arity):
                args.append(ev(j))
                j = ends[j]
            value = _callable(node)(*args)
            self._remember(keys[i], value)
            return value

        out = ev(0)
        return None if out is PRUNED else out

__all__ = ["Evaluator"]
