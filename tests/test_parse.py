"""Tests of the proxy-string parser, the printers and the SymPy/LaTeX/literal conversions."""

from __future__ import annotations

import random

import pytest
import sympy as sp
from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import make_pset
from lpzero_gp.proxy.generate import gen_typed
from lpzero_gp.proxy.named import NAMED
from lpzero_gp.proxy.parse import MAX_CHARS, MAX_DEPTH, format_tree, parse_tree, typed_string
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
