"""Every form ``export`` prints reads back, and ``eval`` and ``export`` take the same proxy inputs.

What "reads back" means, form by form:

* string and JSON: the very same proxy string;
* the literal srepr, SymPy and LaTeX forms (``export(..., literal=True)``): the very same tree;
* the canonical srepr, SymPy and LaTeX forms: a proxy whose canonical SymPy form is exactly the
  expression the text denotes, and that expression is the exported canonical form (equal as
  SymPy builds it; the SymPy ``str`` can regroup terms, ``-(a - b)*c`` reads as ``(b - a)*c``,
  so random proxies are compared by value at fixed inputs, the shipped named proxies exactly).
  Canonical LaTeX that is also literal LaTeX (the block sum of a Frobenius norm is written alike
  in both) reads as the literal tree, whose canonical form is compared.

Reading never goes through ``eval`` or ``sympify``.
"""

from __future__ import annotations

import cmath
import json
import math
import random

import numpy as np
import pytest
import sympy as sp
from deap import gp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.core.function import AppliedUndef

from lpzero_gp.cli import main
from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import make_pset
from lpzero_gp.primitives import symbolic as S
from lpzero_gp.proxy.export import export, render
from lpzero_gp.proxy.generate import gen_lpzero, gen_typed
from lpzero_gp.proxy.latexread import read_latex
from lpzero_gp.proxy.named import NAMED
from lpzero_gp.proxy.parse import format_tree, parse_tree
from lpzero_gp.proxy.read import read_proxy, read_text
from lpzero_gp.proxy.symread import CONSTANTS, FUNCTIONS, read_sympy
from lpzero_gp.proxy.symtree import from_literal, to_sympy

PSET = make_pset()
NAMES = sorted({v: k for k, v in NAMED.items()}.values())  # one name per distinct proxy
READERS = {"srepr": read_sympy, "sympy": read_sympy, "latex": read_latex}


def _random_trees() -> list[gp.PrimitiveTree]:
    """Free typed trees and LPZero-shaped ones, as the search draws them (fixed seed)."""
    random.seed(20)
    deep = [gp.PrimitiveTree(gen_typed(PSET, 1, 6)) for _ in range(200)]
    shaped = [gen_lpzero(PSET, n_unary=1 + k % 3) for k in range(100)]
    return deep + shaped

# -- values of canonical expressions at fixed inputs (custom functions as fixed maps) ---------

_INF = complex(math.inf, math.inf)
_MAPS = {S.Mean: lambda x: 0.37 * x, S.L1: lambda x: 0.37 * abs(x), S.Fro: lambda x: 1.9 * abs(x),
         S.Std: lambda x: 0.6 * abs(x) + 0.1, S.ZNorm: cmath.tanh,
         S.MinMax: lambda x: 1 / (2 + x * x), S.Softmax: lambda x: 0.2 + 0.1 * cmath.exp(-x * x),
         S.InvWidth: lambda x: 0.1 * x + 0.3, S.BlockMean: lambda x: 0.8 * x,
         S.BlockSum: lambda x: 3 * x, S.SafeLog: lambda x: cmath.log(x) if x.real > 0 else 0j,
         sp.log: cmath.log, sp.exp: cmath.exp, sp.Abs: lambda x: complex(abs(x)),
         sp.re: lambda x: complex(x.real), sp.Max: lambda *a: max(a, key=lambda v: v.real)}
_VALUES = {**{v: complex(0.5 + 0.25 * i) for i, v in enumerate(S.SYMBOLS.values())},
           S.NBLOCKS: 3 + 0j, S.CONST_SOFTMAX: 0.3 + 0j}


def _value(e) -> complex:
    if e in _VALUES:
        return _VALUES[e]
    if e == sp.zoo:
        return _INF
    if not e.args:
        return complex(e)
    args = [_value(a) for a in e.args]
    try:
        if isinstance(e, sp.Add):
            return sum(args)
        if isinstance(e, sp.Mul):
            return math.prod(args)
        if isinstance(e, sp.Pow):
            return args[0] ** args[1]
        return _MAPS[type(e)](*args)
    except (ZeroDivisionError, OverflowError, ValueError):
        return _INF


def _same_value(a, b) -> bool:
    x, y = _value(a), _value(b)
    if not (cmath.isfinite(x) and cmath.isfinite(y)):
        return not (cmath.isfinite(x) or cmath.isfinite(y))
    return abs(x - y) <= 1e-9 * max(1.0, abs(x))


# -- every export form reads back ---------------------------------------------------------------


def _canonical_of(expr):
    """The canonical form of what a reader returned (a literal-form expression is its tree's)."""
    return to_sympy(from_literal(expr, PSET)) if expr.atoms(AppliedUndef) else expr


def _reads_back(proxy: str, exact: bool) -> None:
    d = export(proxy)
    assert d["form"] == "canonical"
    assert format_tree(read_text(d["proxy"])) == d["proxy"]
    assert format_tree(read_text(json.dumps(d, indent=2))) == d["proxy"]
    _reads_back_literally(d["proxy"])
    canon = to_sympy(parse_tree(d["proxy"], PSET))
    if canon is None:  # an empty proxy: SymPy prints None (its LaTeX is empty)
        assert d["sympy"] == "None" and to_sympy(read_text(d["sympy"])) is None
        return
    for fmt, reader in READERS.items():
        expr = _canonical_of(reader(d[fmt]))
        back = to_sympy(read_text(d[fmt]))
        assert back == expr, (fmt, d[fmt])
        assert back == canon if exact else _same_value(expr, canon), (fmt, d[fmt])
        assert back == to_sympy(read_proxy(d[fmt]))


def _reads_back_literally(proxy: str) -> None:
    """Every literal form reads back as the very same tree, through read_text and read_proxy."""
    d = export(proxy, literal=True)
    assert d["form"] == "literal"
    assert (d["srepr"], d["latex"]) == (d["literal_srepr"], d["literal_latex"])
    tree = parse_tree(d["proxy"], PSET)
    for fmt in READERS:
        assert read_text(d[fmt]) == tree, (fmt, d[fmt])
        assert read_proxy(d[fmt]) == tree, (fmt, d[fmt])
        assert render(proxy, fmt, literal=True) == d[fmt]


@pytest.mark.parametrize("name", NAMES)
def test_named_proxies_read_back_from_every_form(name: str):
    _reads_back(NAMED[name], exact=True)
    for literal in (False, True):  # the proxy read back exports to the very same text
        d = export(name, literal=literal)
        for fmt in READERS:
            assert export(read_text(d[fmt]), literal=literal)[fmt] == d[fmt]


def test_random_proxies_read_back_from_every_form():
    skipped = 0
    for tree in _random_trees():
        if not export(tree)["sympy"]:  # SymPy cannot canonicalise it: string, JSON, literal
            skipped += 1
            _reads_back_literally(format_tree(tree))
            continue
        _reads_back(format_tree(tree), exact=False)
    assert skipped <= 3


def test_canonical_latex_reads_back_as_a_proxy_that_ranks_identically():
    """Read back from the canonical LaTeX, a proxy has the canonical form, hence the RPS key and
    sign, of the proxy exported: it ranks every architecture the same way."""
    from lpzero_gp.proxy.rps import RPS

    rps = RPS()
    for tree in [parse_tree(NAMED[n], PSET) for n in NAMES] + _random_trees()[:60]:
        d = export(tree)
        if not d["latex"]:
            continue
        v, w = rps.check(tree), rps.check(read_proxy(d["latex"]))
        assert (v.ok, v.key, v.sign) == (w.ok, w.key, w.sign), d["latex"]


def test_latex_read_back_scores_the_same():
    """On the statistics of real (toy) models: a proxy read back from its literal LaTeX scores
    byte-identically, every shipped named proxy read back from its canonical LaTeX ranks the
    architectures identically (the canonical form is lossy: a safe reciprocal of a square is not
    bit for bit the square of a safe reciprocal)."""
    from scipy.stats import rankdata
    from toy import toy_family

    from lpzero_gp.score.evaluate import Evaluator
    from lpzero_gp.stats.store import Dataset

    evaluator = Evaluator(Dataset.from_stats(toy_family(8)))

    def scores(tree):
        out = evaluator.score(tree)
        return None if out is None else out.numpy()

    named = [parse_tree(NAMED[n], PSET) for n in NAMES]
    for tree in named + [parse_tree(format_tree(t), PSET) for t in _random_trees()[::3]]:
        want, got = scores(tree), scores(read_text(export(tree, literal=True)["latex"]))
        assert (want is None and got is None) or np.array_equal(want, got, equal_nan=True)
    for tree in named:
        want, got = scores(tree), scores(read_text(export(tree)["latex"]))
        assert np.isfinite(want).all() and np.array_equal(rankdata(want), rankdata(got))


def test_a_proxy_sympy_cannot_canonicalise_exports_as_string_json_and_literal_only():
    proxy = "agg_sum(relu(reciprocal(minmax(l1(H)))))"  # Max(0, zoo): SymPy cannot compare
    d = export(proxy)
    assert d["sympy"] == d["srepr"] == d["latex"] == ""
    assert not d["canonical_differs"] and d["dropped"] == []
    assert format_tree(read_text(json.dumps(d))) == proxy
    for fmt in READERS:
        with pytest.raises(ProxyError, match="canonical form"):
            render(proxy, fmt)
        assert format_tree(read_text(render(proxy, fmt, literal=True))) == proxy


def test_reading_never_evaluates_text(monkeypatch):
    import builtins

    def boom(*args, **kwargs):
        raise AssertionError("eval, exec or sympify called")

    d = export("paper_gpt2")
    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    monkeypatch.setattr(sp, "sympify", boom)
    for fmt in READERS:
        read_text(d[fmt])
    for text in ("exp(__import__('os'))", "Symbol('H').__class__", "Pow(2, 10**10)",
                 "2**99999", "\\text{__import__}", "Mean(H, evaluate=False)"):
        with pytest.raises(ProxyError):
            read_text(text)


_VOCAB = (list(CONSTANTS) + list(FUNCTIONS) + list("+-*/^_{}()[],=|'\" ") + [
    "**", "0", "1", "12", "-1", "\\frac", "\\sum", "\\left", "\\right", "\\overline", "\\log",
    "\\operatorname", "\\sigma", "\\max", "\\sqrt", "\\lVert", "\\rVert", "\\infty", "\\tilde",
    "\\text", "\\cdot", "d", "e", "l", "F", "softmax", "NaN", "agg_mean", "mean", "add", "\\_",
    "_{l}", "H_{l}", "{log\\_softmax}", "{std}", "{identity}", "{norm\\_sum}", "Function",
    "Function('mean')", "Function('agg_sum')(", "Symbol('W')", "\\sum_{l=1}^{L} \\left("])
_FORMS = [export(NAMED[n], literal=lit)[f] for n in NAMES for f in READERS for lit in (False, True)]


@settings(max_examples=400, deadline=None, database=None)
@given(st.one_of(
    st.lists(st.sampled_from(_VOCAB), max_size=30).map("".join),
    st.tuples(st.sampled_from(_FORMS), st.integers(0, 400), st.integers(0, 6),
              st.sampled_from(["", *_VOCAB])).map(
        lambda t: t[0][:t[1]] + t[3] + t[0][t[1] + t[2]:])))
def test_any_text_gives_a_tree_or_one_line_proxy_error(text: str):
    try:
        tree = read_text(text)
    except ProxyError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert format_tree(parse_tree(format_tree(tree), PSET)) == format_tree(tree)


# -- eval and export take the same inputs ---------------------------------------------------------

TINY = ["--batch-size", "2", "--seq-len", "16", "--quiet"]
LONG_TERMS = [f"mean({u}({x}))" for u in ("abs", "exp", "square", "sqrt", "relu", "neg")
              for x in ("A", "H", "J")]


def _long_proxy() -> str:
    text = LONG_TERMS[-1]
    for term in reversed(LONG_TERMS[:-1]):
        text = f"add({term}, {text})"
    return f"agg_mean({text})"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    """gpt2-best in every input form: as text, as a best.json and as a results folder."""
    out = tmp_path_factory.mktemp("roundtrip") / "run"
    out.mkdir()
    d = export("gpt2-best")
    # what ``run`` writes: every export form, then the search and held-out results
    (out / "best.json").write_text(json.dumps({**d, "search": {}, "heldout": {}}, indent=2))
    exported = render("gpt2-best", "json")  # what ``export --format json`` prints
    (out.parent / "exported.json").write_text(exported)
    lit = export("gpt2-best", literal=True)
    return {"named": "gpt2-best", "string": d["proxy"], "sympy": d["sympy"], "srepr": d["srepr"],
            "latex": d["latex"], "json": exported, "best.json": str(out / "best.json"),
            "exported.json": str(out.parent / "exported.json"), "folder": str(out),
            "literal sympy": lit["sympy"], "literal srepr": lit["srepr"],
            "literal latex": lit["latex"]}


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    rc = main(argv)
    got = capsys.readouterr()
    return rc, got.out, got.err


@pytest.mark.parametrize("form", ["named", "string", "sympy", "srepr", "latex", "json",
                                  "best.json", "exported.json", "folder", "literal sympy",
                                  "literal srepr", "literal latex"])
def test_export_takes_every_input(capsys, inputs, form: str):
    rc, out, err = _run(capsys, ["export", "--proxy", inputs[form], "--format", "sympy"])
    assert rc == 0, err
    assert out.strip() == inputs["sympy"]


@pytest.mark.xdist_group("stats-cache")  # beside the other readers (conftest)
def test_eval_takes_every_input(capsys, inputs, stats_cache):
    forms = ["named", "string", "sympy", "latex", "best.json", "folder", "literal srepr",
             "literal latex"]
    argv = ["eval", "--space", "gpt2", "--archs", "5", "--json", "--cache-dir", str(stats_cache),
            *TINY]
    for form in forms:
        argv += ["--proxy", inputs[form]]
    rc, out, err = _run(capsys, argv)
    assert rc == 0, err
    rows = json.loads(out)["results"]
    assert [r["proxy"] for r in rows] == [inputs[f] for f in forms] + ["config-formula"]
    rows = rows[:-1]
    assert len({(r["n"], r["rho"], r["tau"]) for r in rows}) == 1 and rows[0]["valid"]


def test_long_proxy_and_division_are_proxies_not_paths(capsys):
    long = _long_proxy()
    assert len(long) > 255
    rc, out, err = _run(capsys, ["export", "--proxy", long, "--format", "string"])
    assert rc == 0, err
    assert out.strip() == long
    # the proxy-string grammar has no '/', but the SymPy form writes div as one
    division = "BlockSum(Fro(W))/BlockMean(Mean(H))"
    rc, out, err = _run(capsys, ["export", "--proxy", division, "--format", "sympy"])
    assert rc == 0, err
    assert read_sympy(out.strip()) == read_sympy(division)


@pytest.mark.parametrize(("proxy", "fragment"), [
    ("", "empty proxy"),
    ("   ", "empty proxy"),
    ("runs/no-such-run", "not a proxy, and no such file or folder"),
    ("no-such-best.json", "not a proxy, and no such file or folder"),
    ("runs/" * 80, "not a proxy, and no such file or folder"),
    ("x" * 5000, "longer than"),
])
@pytest.mark.parametrize("command", ["export", "eval"])
def test_bad_inputs_are_one_line_exit_2(capsys, command: str, proxy: str, fragment: str):
    argv = ["export", "--proxy", proxy] if command == "export" else [
        "eval", "--space", "gpt2", "--archs", "5", "--proxy", proxy, *TINY]
    rc, _, err = _run(capsys, argv)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]


def test_read_proxy_takes_trees_and_refuses_non_strings():
    tree = parse_tree(NAMED["paper_bert"], PSET)
    assert read_proxy(tree) == tree
    with pytest.raises(ProxyError):
        read_proxy(None)
