"""Tests of the proxy-string parser, the printers and the SymPy/LaTeX/literal conversions."""

from __future__ import annotations

import random

import pytest
import sympy as sp
from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import make_pset
from lpzero_gp.proxy.fold import fold
from lpzero_gp.proxy.generate import gen_typed
from lpzero_gp.proxy.named import NAMED
from lpzero_gp.proxy.parse import (
    MAX_CHARS,
    MAX_DEPTH,
    _scan,
    _tokens,
    format_tree,
    parse_tree,
    typed_string,
)
from lpzero_gp.proxy.symtree import from_literal, literal_to_string, to_literal, to_sympy

PSET = make_pset()

HANDWRITTEN = [
    "agg_mean(mean(H))",
    "agg_sum(l1(mul(G, W)))",
    "agg_mean(add(mean(square(neg(H))), log_softmax(fro(A))))",
    "agg_mean(sub(std(softmax(S)), l1(minmax(J))))",
    "agg_sum(div(fro(znorm(W)), mean(abs(G))))",
    "mul(agg_mean(mean(A)), agg_sum(l1(W)))",
    "agg_mean(add(prune(mean(H)), sigmoid(norm_sum(exp(A)))))",
    "agg_mean(reciprocal(sqrt(relu(abslog(identity(l1(log(W))))))))",
]


def _random_trees(n: int, seed: int) -> list[gp.PrimitiveTree]:
    random.seed(seed)
    return [gp.PrimitiveTree(gen_typed(PSET, 1, 8)) for _ in range(n)]


@pytest.mark.parametrize("text", HANDWRITTEN)
def test_handwritten_round_trip(text: str):
    tree = parse_tree(text, PSET)
    assert format_tree(tree) == text
    assert parse_tree(str(tree), PSET) == tree


def test_whitespace_is_ignored():
    a = parse_tree("agg_mean( add ( mean(H) ,l1( W ) ) )", PSET)
    assert format_tree(a) == "agg_mean(add(mean(H), l1(W)))"


def test_random_trees_round_trip():
    for tree in _random_trees(1500, seed=11):
        text = format_tree(tree)
        again = parse_tree(text, PSET)
        assert format_tree(again) == text
        # the typed string keeps the overload choice: the very same tree comes back
        assert parse_tree(typed_string(tree), PSET) == tree
        assert str(tree) == text  # DEAP's own string is the plain one
        assert typed_string(again) == typed_string(parse_tree(typed_string(again), PSET))


def test_typed_names_parse():
    tree = parse_tree("agg_mean_L(mean_T(square_P(W)))", PSET)
    assert format_tree(tree) == "agg_mean(mean(square(W)))"


def test_aliases_of_reference_keys():
    a = parse_tree("agg_mean(add(l1_norm(no_op(W)), frobenius(normalize(G))))", PSET)
    b = parse_tree("agg_mean(add(l1(identity(W)), fro(znorm(G))))", PSET)
    assert a == b


def _balanced(depth: int) -> str:
    """A wide, shallow Layerwise tree: 2**depth leaves, well under the character limit."""
    return "l1(W)" if depth == 0 else f"add({_balanced(depth - 1)},{_balanced(depth - 1)})"


BAD = {
    "unbalanced open": "agg_mean(mean(H)",
    "unbalanced close": "agg_mean(mean(H)))",
    "no close at all": "agg_mean(mean(",
    "stray comma": "agg_mean(mean(H),)",
    "unknown op": "agg_mean(frobnicate(H))",
    "unknown input": "agg_mean(mean(X))",
    "lower-case input": "agg_mean(mean(h))",
    "op without args": "agg_mean(mean(abs))",
    "wrong types: tensor into aggregation": "agg_mean(H)",
    "wrong types: reduction of a score": "agg_mean(mean(agg_mean(mean(H))))",
    "wrong types: arity": "agg_mean(add(mean(H)))",
    "wrong types: add of activations": "agg_mean(mean(add(A, H)))",
    "dunder import": '__import__("os")',
    "statement after proxy": "agg_mean(mean(H)); import os",
    "lambda": "lambda x: x",
    "attribute access": "agg_mean(mean(H)).__class__",
    "attribute on input": "agg_mean(mean(H.T))",
    "call of attribute": "os.system('ls')",
    "string literal": "agg_mean(mean('H'))",
    "number": "agg_mean(add(mean(H), 1))",
    "empty": "",
    "blank": "   \n\t",
    "very long": "agg_mean(" * 2000 + "mean(H)" + ")" * 2000,
    "deeply nested": "agg_mean(mean(" + "neg(" * (MAX_DEPTH + 5) + "H" + ")" * (MAX_DEPTH + 7),
    "too many nodes": "agg_mean(" + _balanced(8) + ")",
    "layerwise root": "mean(H)",
    "tensor root": "square(H)",
    "two proxies": "agg_mean(mean(H)) agg_mean(mean(A))",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_strings_raise_one_line_proxy_error(name: str):
    with pytest.raises(ProxyError) as err:
        parse_tree(BAD[name], PSET)
    msg = str(err.value)
    assert msg and "\n" not in msg
    assert len(msg) < 300


def test_limits_are_what_the_cases_exercise():
    assert len(BAD["very long"]) > MAX_CHARS
    assert len(BAD["too many nodes"]) < MAX_CHARS
    with pytest.raises(ProxyError, match="nodes"):
        parse_tree(BAD["too many nodes"], PSET)
    with pytest.raises(ProxyError, match="deeper"):
        parse_tree(BAD["deeply nested"], PSET)


def test_layerwise_root_message_hints_aggregation():
    with pytest.raises(ProxyError, match="agg_mean"):
        parse_tree("mean(H)", PSET)


def test_proxy_error_is_value_error():
    assert issubclass(ProxyError, ValueError)


@pytest.mark.parametrize("value", [None, 3, b"agg_mean(mean(H))"])
def test_non_strings_rejected(value):
    with pytest.raises(ProxyError):
        parse_tree(value, PSET)


def test_parser_never_calls_eval(monkeypatch):
    import builtins

    def boom(*args, **kwargs):
        raise AssertionError("eval called")

    monkeypatch.setattr(builtins, "eval", boom)
    parse_tree("agg_mean(add(mean(H), l1(W)))", PSET)
    with pytest.raises(ProxyError):
        parse_tree("agg_mean(mean(Q))", PSET)


def test_op_missing_from_restricted_pset():
    pset = make_pset(ops=("mean", "agg_mean"))
    with pytest.raises(ProxyError, match="not in this primitive set"):
        parse_tree("agg_mean(mean(abs(H)))", pset)


PAPER = ("paper_bert", "paper_gpt2", "paper_llama")


@pytest.mark.parametrize("name", PAPER)
def test_paper_proxies_parse_sympy_latex_literal(name: str):
    tree = parse_tree(NAMED[name], PSET)
    expr = to_sympy(tree)
    assert isinstance(expr, sp.Expr)
    assert expr.free_symbols
    latex = sp.latex(expr)
    assert isinstance(latex, str) and latex
    lit = to_literal(tree)
    assert from_literal(lit, PSET) == tree
    assert literal_to_string(lit) == NAMED[name]


def test_paper_bert_canonical_form():
    expr = to_sympy(parse_tree(NAMED["paper_bert"], PSET))
    # the log-softmax of a per-block scalar is 0: only mean(1/H^2) remains
    assert {s.name for s in expr.free_symbols} == {"H"}
    assert "H" in sp.latex(expr)


def test_literal_round_trip_of_random_trees():
    for tree in _random_trees(300, seed=5):
        back = from_literal(to_literal(tree), PSET)
        assert format_tree(back) == format_tree(tree)


def test_literal_rejects_non_literal():
    with pytest.raises(ProxyError):
        literal_to_string(sp.Integer(3))


# -- the fast paths: tokenizer, fold, typed-string memo -----------------------------------------


def _tokens_or_error(read, text: str):
    try:
        return read(text)
    except ProxyError as exc:
        return f"error: {exc}"


def test_one_scan_tokenizer_is_the_token_loop():
    """Any text splits (or fails, with the same message) as the token-by-token loop does."""
    alphabet = "aZq_09(),-!. \t\n\u00a0\x1c\u00e9"
    rng = random.Random(5)
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
             for _ in range(20_000)]
    texts += [*HANDWRITTEN, " agg_mean ( H ) ", "a1b_2(c,d)", "", "  ", "9a", "a(b)c"]
    for text in texts:
        assert _tokens_or_error(_tokens, text) == _tokens_or_error(_scan, text.strip()), text
    assert sum(isinstance(_tokens_or_error(_tokens, t), list) for t in texts) > 3000


def test_tokenizer_fails_fast_on_a_long_name_before_a_bad_character():
    """The one-scan check never re-splits a name, so this fails at once, not exponentially."""
    for text in ("a" * 3000 + "!", "ab " * 1000 + "(-", "f(" + "x1" * 1500 + "#)"):
        with pytest.raises(ProxyError, match="unexpected character"):
            _tokens(text)


def _fold_by_search(tree: gp.PrimitiveTree, visit, begin: int = 0):
    """The fold as first written: the sub-tree's end by searchSubtree, then one stack pass."""
    end = tree.searchSubtree(begin).stop
    stack: list = []
    for i in range(begin, end):
        stack.append((i, []))
        while len(stack[-1][1]) == tree[stack[-1][0]].arity:
            j, kids = stack.pop()
            value = visit(j, tree[j], kids)
            if not stack:
                return value
            stack[-1][1].append(value)
    raise AssertionError("unreachable for a complete tree")


def _logging_visit(log: list):
    """A visitor that records each visit and returns a string naming the node and children."""
    def visit(i, node, kids):
        log.append((i, node, list(kids)))
        return f"{node.name}[{i}]({','.join(kids)})"
    return visit


def test_fold_visits_as_the_searchsubtree_fold():
    """Same visits (index, node, children) in the same order, and the same value, for every
    sub-tree of random trees; an incomplete one is an IndexError, as searchSubtree's."""
    for tree in _random_trees(120, seed=4):
        for begin in range(len(tree)):
            new_log: list = []
            old_log: list = []
            new = fold(tree, _logging_visit(new_log), begin)
            old = _fold_by_search(tree, _logging_visit(old_log), begin)
            assert new == old and new_log == old_log
        broken = gp.PrimitiveTree(list(tree))
        if len(broken) > 1:
            del broken[-1]
            for run in (fold, _fold_by_search):
                with pytest.raises(IndexError):
                    run(broken, lambda i, n, k: None)


def test_typed_string_memo_answers_as_printing_afresh(monkeypatch):
    """The memo (by node identities) gives each tree the string a fresh fold gives, for trees
    that share nodes, for a tree changed in place, and after the memo is cleared when full."""
    import sys

    parse = sys.modules["lpzero_gp.proxy.parse"]

    def afresh(tree):
        return fold(tree, lambda _i, n, a: f"{n.name}({', '.join(a)})" if a else n.format())

    monkeypatch.setattr(parse, "_TYPED_STRINGS", {})
    monkeypatch.setattr(parse, "_TYPED_STRINGS_SIZE", 50)
    trees = _random_trees(200, seed=9)
    for _ in range(2):
        for tree in trees + [gp.PrimitiveTree(list(t)) for t in trees[:20]]:
            assert typed_string(tree) == afresh(tree)
            assert len(parse._TYPED_STRINGS) <= 50
    tree = gp.PrimitiveTree(list(trees[0]))
    first = typed_string(tree)
    i = next(i for i in range(1, len(tree)) if tree[i].arity == 0)
    other = next(t for t in PSET.terminals[tree[i].ret] if t is not tree[i])
    tree[i] = other
    assert typed_string(tree) == afresh(tree) != first
