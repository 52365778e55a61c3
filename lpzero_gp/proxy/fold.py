"""The one post-order fold over a DEAP prefix tree (strings, SymPy, sub-tree keys build on it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deap import gp


def fold(tree: gp.PrimitiveTree, visit: Callable[[int, Any, list], Any], begin: int = 0) -> Any:
    """``visit(index, node, child_values)`` bottom-up over the sub-tree rooted at ``begin``.

    Returns the root's value. Children are visited before their parent and in argument order,
    so a visitor sees each node's arguments already folded.
    """
    end = tree.searchSubtree(begin).stop
    stack: list[tuple[int, list]] = []
    for i in range(begin, end):
        stack.append((i, []))
        while len(stack[-1][1]) == tree[stack[-1][0]].arity:
            j, kids = stack.pop()
            value = visit(j, tree[j], kids)
            if not stack:
                return value
            stack[-1][1].append(value)
    raise ValueError("not a complete prefix tree")

__all__ = ["fold"]
