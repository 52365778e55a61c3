"""The one post-order fold over a DEAP prefix tree (strings, SymPy, sub-tree keys build on it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deap import gp


def fold(tree: gp.PrimitiveTree, visit: Callable[[int, Any, list], Any], begin: int = 0) -> Any:
    """``visit(index, node, child_values)`` bottom-up over the sub-tree rooted at ``begin``.

    Returns the root's value. Children are visited before their parent and in argument order,
    so a visitor sees each node's arguments already folded. A sub-tree that runs past the end
    of ``tree`` raises IndexError, as ``tree.searchSubtree`` does.
    """
    # One pass that stops where the root's sub-tree ends (no searchSubtree scan first); each
    # open node waits on the stack as (index, node, arity, child values).
    stack: list[tuple[int, Any, int, list]] = []
    for i in range(begin, len(tree)):
        node = tree[i]
        arity = node.arity
        if arity:
            stack.append((i, node, arity, []))
            continue
        value = visit(i, node, [])
        while stack:
            j, parent, want, kids = stack[-1]
            kids.append(value)
            if len(kids) < want:
                break
            stack.pop()
            value = visit(j, parent, kids)
        else:
            return value
    raise IndexError("list index out of range (not a complete prefix tree)")

__all__ = ["fold"]
