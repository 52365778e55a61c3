"""Print the paper's searched proxies (or any proxy strings) as SymPy and LaTeX.

    python examples/export_latex.py
    python examples/export_latex.py "agg_mean(add(mean(square(neg(H))), log_softmax(fro(A))))"

The SymPy form is canonical: equivalent proxies print alike, and terms that are constant per
block (e.g. a softmax of a per-block scalar) are already gone.
"""

from __future__ import annotations

import sys

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import make_pset
from lpzero_gp.primitives.symbolic import latex
from lpzero_gp.proxy.named import NAMED
from lpzero_gp.proxy.parse import parse_tree
from lpzero_gp.proxy.symtree import to_sympy

PAPER = ("paper_bert", "paper_gpt2", "paper_llama")


def show(label: str, text: str, pset) -> None:
    """Print one proxy string with its canonical SymPy expression and LaTeX."""
    expr = to_sympy(parse_tree(text, pset))
    print(f"{label}\n  proxy: {text}")
    if expr is None:
        print("  (every branch is pruned)\n")
        return
    print(f"  sympy: {expr}\n  latex: {latex(expr)}\n")


def main(argv: list[str]) -> int:
    """Show the given proxies (named or strings), or the paper's three by default."""
    pset = make_pset()
    for item in argv or PAPER:
        try:
            show(item, NAMED.get(item, item), pset)
        except ProxyError as err:
            print(f"error: {item!r}: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
