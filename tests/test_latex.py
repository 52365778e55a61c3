"""The LaTeX of a proxy reads one way only, and ``export --literal`` keeps the proxy as written.

Unambiguous means: every block aggregation sits between delimiters (it is the whole expression,
or bracketed, or the whole exponent or argument of a function), its operand is bracketed, the
inputs inside it carry its index (``A_{l}``) and none appear outside one, and every
function-like op has a delimited argument. These are checked on the tokens of the canonical and
the literal LaTeX of every named proxy and of random trees as the search draws them.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys

import pytest
import sympy as sp
from deap import gp
from sympy.core.function import AppliedUndef

import lpzero_gp as lz
from lpzero_gp.cli import main
from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import make_pset
from lpzero_gp.primitives import symbolic as S
from lpzero_gp.primitives.ops import OPS
from lpzero_gp.primitives.pset import ALL_OVERLOADS, INPUTS
from lpzero_gp.primitives.types import Layerwise, ParamList, Score, TensorList
from lpzero_gp.proxy.export import dropped_parts, export, note
from lpzero_gp.proxy.generate import gen_lpzero, gen_typed
from lpzero_gp.proxy.latexread import read_latex, tokens
from lpzero_gp.proxy.named import NAMED
from lpzero_gp.proxy.parse import format_tree, parse_tree, plain_name
from lpzero_gp.proxy.read import read_proxy, read_text
from lpzero_gp.proxy.symtree import from_literal, literal_latex, to_sympy

PSET = make_pset()
NAMES = sorted({v: k for k, v in NAMED.items()}.values())  # one name per distinct proxy
H = S.SYMBOLS["H"]
_SUM = ["\\sum", "_", "{", "l", "=", "1", "}", "^", "{", "L", "}"]
_MEAN_PREFIX = ["\\frac", "{", "1", "}", "{", "L", "}"]

GPT2_BEST = (r"\left(\frac{1}{L}\sum_{l=1}^{L} \left(\left\lVert H_{l} \right\rVert_F "
             r"\overline{A_{l}}\right)\right) \left(\sum_{l=1}^{L} \left(\left\lVert J_{l} "
             r"\right\rVert_F\right)\right)")
#: What export printed for gpt2-best before aggregations were bracketed: it still reads.
GPT2_BEST_OLD = (r"\frac{1}{L}\sum_{l=1}^{L} \left(\left\lVert H \right\rVert_F \overline{A}"
                 r"\right)_l \sum_{l=1}^{L} \left(\left\lVert J \right\rVert_F\right)_l")


def _random_trees(n_deep: int = 120, n_shaped: int = 60) -> list[gp.PrimitiveTree]:
    rng = random.Random(7)
    deep = [gp.PrimitiveTree(gen_typed(PSET, 2, 7, rng=rng)) for _ in range(n_deep)]
    return deep + [gen_lpzero(PSET, n_unary=1 + k % 3, rng=rng) for k in range(n_shaped)]


# -- a checker of the reading: scopes on the LaTeX tokens --------------------------------------


def _closing(toks: list[str], i: int) -> int:
    """Index of the token that closes the ``\\left`` at ``i`` (its ``\\right``'s delimiter)."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j] == "\\left":
            depth += 1
        elif toks[j] == "\\right":
            depth -= 1
            if depth == 0:
                return j + 1
    raise AssertionError("unbalanced \\left ... \\right")


def _check_unambiguous(tex: str) -> None:
    toks = tokens(tex)
    assert toks.count("{") == toks.count("}"), tex
    assert toks.count("\\left") == toks.count("\\right"), tex
    indexed = set()  # positions of inputs that are inside an aggregation
    for i, tok in enumerate(toks):
        if tok != "\\sum":
            continue
        start = i - 7 if toks[max(i - 7, 0):i] == _MEAN_PREFIX else i
        assert toks[i:i + 11] == _SUM and toks[i + 11:i + 13] == ["\\left", "("], tex
        end = _closing(toks, i + 11)
        for j in range(i + 13, end):
            if toks[j] in INPUTS:
                assert toks[j + 1:j + 5] == ["_", "{", "l", "}"], (tex, j)
                indexed.add(j)
        whole = start == 0 and end == len(toks) - 1
        before = toks[start - 1] if start else None
        after = toks[end + 1] if end + 1 < len(toks) else None
        delimited = (
            (before == "(" and toks[start - 2] == "\\left" and after == "\\right")
            or (before == "{" and toks[start - 2] in ("^", "\\sqrt") and after == "}")
            or (before == "{" and toks[start - 2] == "|" and after == "}")  # SymPy's |{x}|
            or (before == "," and after == "\\right")  # max(0, x)
            or (before == "(" and after == ",")  # max(x, 0)
            or (before == "|" and toks[start - 2] == "\\left" and after == "\\right"))
        assert whole or delimited, f"aggregation at token {i} is not delimited: {tex}"
    outside = [j for j, t in enumerate(toks) if t in INPUTS and j not in indexed]
    assert not outside, f"inputs outside every aggregation: {tex}"
    for i, tok in enumerate(toks):  # function-like ops have delimited arguments
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok == "\\operatorname":
            close = toks.index("}", i)
            if toks[close + 1:close + 4] == ["_", "{", "\\text"]:  # its axis: _{\text{row}}
                close = toks.index("}", toks.index("}", close + 4) + 1)
            assert toks[close + 1] == "\\left" or toks[close + 1:close + 3] == ["{", "\\left"]
        elif tok in ("\\log", "\\max"):
            assert nxt in ("\\left", "{"), tex
        elif tok in ("\\lVert", "|"):
            assert toks[i - 1] in ("\\left", "\\right"), tex
        elif tok in ("\\sqrt", "\\overline"):
            assert nxt == "{", tex


def test_the_checker_catches_the_old_gpt2_best():
    with pytest.raises(AssertionError, match="not delimited"):
        _check_unambiguous(GPT2_BEST_OLD.replace(r"H \r", r"H_{l} \r").replace(
            "{A}", "{A_{l}}").replace(r"J \r", r"J_{l} \r").replace(")_l", ")"))
    with pytest.raises(AssertionError, match="outside"):
        _check_unambiguous(r"\overline{H}")


def test_gpt2_best_brackets_each_sum_as_a_whole():
    assert export("gpt2-best")["latex"] == GPT2_BEST
    _check_unambiguous(GPT2_BEST)


@pytest.mark.parametrize("name", NAMES)
def test_named_proxies_print_unambiguous_latex(name: str):
    d = export(name)
    _check_unambiguous(d["latex"])
    _check_unambiguous(d["literal_latex"])


def test_random_proxies_print_unambiguous_latex():
    checked = 0
    for tree in _random_trees():
        d = export(tree)
        if d["latex"]:
            _check_unambiguous(d["latex"])
            checked += 1
        _check_unambiguous(d["literal_latex"])
    assert checked > 150


# -- the LaTeX of each SymPy twin and of each primitive ---------------------------------------


@pytest.mark.parametrize(("expr", "tex"), [
    (S.Mean(H), r"\overline{H}"),
    (S.L1(H), r"\overline{\left|H\right|}"),
    (S.Fro(H), r"\left\lVert H \right\rVert_F"),
    (S.Std(H), r"\operatorname{std}\left(H\right)"),
    (S.ZNorm(H), r"\operatorname{znorm}_{\text{block}}\left(H\right)"),
    (S.MinMax(H), r"\operatorname{minmax}_{\text{block}}\left(H\right)"),
    (S.Softmax(H), r"\operatorname{softmax}_{\text{row}}\left(H\right)"),
    (S.SafeLog(H), r"\log\left(H\right)"),
    (S.InvWidth(H), r"\frac{1}{d_{H}}"),
    (S.Mean(H) ** 2, r"\left(\overline{H}\right)^{2}"),
    (S.BlockMean(S.Mean(H)), r"\frac{1}{L}\sum_{l=1}^{L} \left(\overline{H_{l}}\right)"),
    (S.BlockSum(S.InvWidth(H)), r"\sum_{l=1}^{L} \left(\frac{1}{d_{H_{l}}}\right)"),
    (2 * S.BlockSum(S.Fro(H)), r"2 \left(\sum_{l=1}^{L} \left(\left\lVert H_{l} "
                               r"\right\rVert_F\right)\right)"),
    (-S.BlockMean(S.Std(H)), r"- \left(\frac{1}{L}\sum_{l=1}^{L} \left(\operatorname{std}"
                             r"\left(H_{l}\right)\right)\right)"),
    (S.BlockSum(S.Fro(H)) ** 2, r"\left(\sum_{l=1}^{L} \left(\left\lVert H_{l} \right\rVert_F"
                                r"\right)\right)^{2}"),
    (sp.exp(S.BlockSum(S.Fro(H))), r"e^{\sum_{l=1}^{L} \left(\left\lVert H_{l} "
                                   r"\right\rVert_F\right)}"),
])
def test_each_sympy_twin_prints_a_delimited_latex(expr, tex: str):
    assert S.latex(expr) == tex
    back = read_latex(tex)  # a whole proxy written alike in both forms reads as the literal one
    assert (to_sympy(from_literal(back, PSET)) if back.atoms(AppliedUndef) else back) == expr


def test_std_is_not_written_as_sigma_and_the_old_sigma_still_reads():
    for name in NAMES:
        assert "\\sigma" not in export(name)["latex"]
    assert read_latex(r"\sigma\left(H\right)") == S.Std(H)


def test_plain_sympy_latex_reads_back_too():
    """``sp.latex`` (as examples/export_latex.py prints) brackets every inner aggregation."""
    for name in NAMES:
        canon = to_sympy(parse_tree(NAMED[name], PSET))
        tex = sp.latex(canon)
        _check_unambiguous(tex)
        assert to_sympy(read_text(tex)) == canon


def test_the_old_latex_still_reads():
    canon = to_sympy(parse_tree(NAMED["gpt2-best"], PSET))
    assert read_latex(GPT2_BEST_OLD) == canon
    assert to_sympy(read_proxy(GPT2_BEST_OLD)) == canon


def _probes() -> list[str]:
    """Proxies that use every overload of every op, and the orders that need brackets."""
    arg = {TensorList: "H", ParamList: "W", Layerwise: "l1(A)", Score: "agg_sum(fro(G))"}
    close = {TensorList: "agg_mean(mean({}))", ParamList: "agg_mean(mean({}))",
             Layerwise: "agg_mean({})", Score: "{}"}
    out = []
    for ov in ALL_OVERLOADS.values():
        call = f"{ov.op.name}({', '.join(arg[t] for t in ov.args)})"
        out.append(close[ov.ret].format(call))
    a, b, c = "mean(H)", "mean(A)", "mean(J)"
    out += [f"agg_mean({x})" for x in (
        f"sub({a}, sub({b}, {c}))", f"sub(sub({a}, {b}), {c})", f"add({a}, add({b}, {c}))",
        f"mul({a}, mul({b}, {c}))", f"mul(add({a}, {b}), {c})", f"add(mul({a}, {b}), {c})",
        f"add(neg({a}), {b})", f"add({a}, neg({b}))", f"sub({a}, neg({b}))",
        f"neg(neg({a}))", f"neg(add({a}, {b}))", f"neg(square({a}))", f"square(neg({a}))",
        f"mul(neg({a}), {b})", f"div({a}, mul({b}, {c}))", f"div(reciprocal({a}), {b})",
        f"mul({a}, reciprocal({b}))", f"square(square({a}))", f"square(exp({a}))",
        f"exp(square({a}))", f"log(abs({a}))", f"abslog({a})", f"relu(neg({a}))",
        f"sqrt(sub({a}, {b}))")]
    out += ["mul(agg_sum(fro(W)), agg_mean(l1(H)))", "div(agg_sum(fro(W)), agg_mean(l1(H)))",
            "reciprocal(agg_sum(fro(W)))", "neg(agg_sum(fro(W)))",
            "sub(agg_sum(fro(W)), neg(agg_mean(l1(H))))", "identity(prune(agg_sum(fro(W))))"]
    return list(dict.fromkeys(out))


def test_every_primitive_has_a_literal_latex_of_its_own_that_reads_back_exactly():
    seen: dict[str, str] = {}
    ops_seen = set()
    for proxy in _probes():
        tree = parse_tree(proxy, PSET)
        ops_seen |= {plain_name(n) for n in tree if n.arity}
        tex = literal_latex(tree)
        assert tex not in seen, (proxy, seen.get(tex))
        seen[tex] = proxy
        expr = read_latex(tex)
        assert expr.atoms(AppliedUndef), tex  # read as the literal form, not as SymPy math
        assert read_text(tex) == tree, (proxy, tex)
        _check_unambiguous(tex)
    assert {op.name for op in OPS} <= ops_seen


# -- --literal, the note and the JSON fields -----------------------------------------------------


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    rc = main(argv)
    got = capsys.readouterr()
    return rc, got.out, got.err


def test_dropped_parts_name_what_the_canonical_form_leaves_out():
    assert export("gpt2-best")["dropped"] == ["identity(...)"]
    assert export("code_bert")["dropped"] == ["log_softmax(fro(A))", "neg(...)"]
    assert dropped_parts(parse_tree("agg_mean(mean(neg(neg(H))))", PSET)) == ["neg(neg(...))"]
    assert dropped_parts(parse_tree("agg_mean(mul(mean(H), softmax(l1(A))))", PSET)) == [
        "softmax(l1(A))"]
    for name in ("llama-best", "paper_gpt2", "code_gpt2"):
        d = export(name)
        assert d["dropped"] == [] and not d["canonical_differs"]
    d = export("agg_mean(sub(mean(H), mean(H)))")  # constant: nothing left to compare
    assert d["canonical_differs"] and d["dropped"] == [] and d["sympy"] == "0"
    assert "constant or empty" in note(d, "latex")


def test_export_literal_prints_every_primitive_and_no_note(capsys):
    rc, out, err = _run(capsys, ["export", "--proxy", "gpt2-best", "--literal"])
    assert rc == 0 and err == ""
    tex = out.strip()
    assert tex == export("gpt2-best")["literal_latex"]
    for part in (r"\operatorname{identity}", r"\cdot", r"\operatorname{norm\_sum}"):
        assert part in tex
    assert read_text(tex) == parse_tree(NAMED["gpt2-best"], PSET)
    rc, out, err = _run(capsys, ["export", "--proxy", "gpt2-best", "--literal", "--format",
                                 "sympy"])
    assert rc == 0 and out.strip() == NAMED["gpt2-best"] and err == ""


@pytest.mark.parametrize("fmt", ["latex", "sympy", "srepr"])
def test_a_canonical_form_that_drops_something_says_so_on_stderr(capsys, fmt: str):
    rc, out, err = _run(capsys, ["export", "--proxy", "gpt2-best", "--format", fmt])
    assert rc == 0 and out.strip() == export("gpt2-best")[fmt]
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: ")
    assert "identity(...)" in lines[0] and "--literal" in lines[0]
    rc, out, err = _run(capsys, ["export", "--proxy", "llama-best", "--format", fmt])
    assert rc == 0 and err == ""


def test_json_carries_the_form_and_what_the_canonical_form_drops(capsys):
    rc, out, err = _run(capsys, ["export", "--proxy", "flexibert-best", "--format", "json"])
    assert rc == 0 and err == ""  # the JSON says it in fields, stderr stays quiet
    d = json.loads(out)
    assert d["form"] == "canonical" and d["canonical_differs"] is True
    assert d["dropped"] == ["neg(...)"]
    rc, out, err = _run(capsys, ["export", "--proxy", "flexibert-best", "--format", "json",
                                 "--literal"])
    lit = json.loads(out)
    assert lit["form"] == "literal" and lit["latex"] == d["literal_latex"]
    assert read_text(lit["srepr"]) == read_text(lit["latex"]) == read_text(d["proxy"])
    rc, out, err = _run(capsys, ["export", "--proxy", "flexibert-best", "--format", "string"])
    assert err == ""  # the string is the proxy as written


def test_python_api_exports_the_literal_form():
    assert lz.export_proxy("gpt2-best", "latex", literal=True) == export(
        "gpt2-best")["literal_latex"]
    assert lz.export_proxy("gpt2-best", "latex") == GPT2_BEST


def test_export_is_the_same_in_every_process():
    """best.tex is ``export(...)["latex"]``: the same text whatever the hash seed."""
    code = ("import json, random; from deap import gp; from lpzero_gp.proxy.export import export;"
            "from lpzero_gp.proxy.named import NAMED; from lpzero_gp.primitives import make_pset;"
            "from lpzero_gp.proxy.generate import gen_typed; p = make_pset();"
            "r = random.Random(3); t = [gp.PrimitiveTree(gen_typed(p, 2, 6, rng=r))"
            " for _ in range(15)];"
            "print(json.dumps([export(x) for x in list(NAMED.values()) + t]))")
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs.append(proc.stdout)
    assert outs[0] == outs[1]
    assert json.loads(outs[0])[0]["latex"]


def test_a_literal_form_that_is_no_proxy_is_a_one_line_error():
    for text in (r"\overline{\overline{H}}",  # no aggregation: not a score
                 r"\sum_{l=1}^{L} \left(\sum_{l=1}^{L} \left(\overline{H_{l}}\right)\right)",
                 r"\sum_{l=1}^{L} \left(\overline{H}\right) \cdot H_{l}",
                 "Function('mean')(Function('mean')(Symbol('H')))",
                 "Function('nosuchop')(Symbol('H'))",
                 "Function('agg_sum')(Function('fro')(Symbol('W')) + 1)"):
        with pytest.raises(ProxyError) as err:
            read_text(text)
        assert str(err.value) and "\n" not in str(err.value)


def test_format_of_the_literal_sympy_form_is_the_proxy_string():
    for tree in _random_trees(20, 10):
        d = export(tree, literal=True)
        assert d["sympy"] == format_tree(tree)


# -- products of tensors, axes, the legend ----------------------------------------------------

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs", "notation.md")


@pytest.mark.parametrize(("proxy", "canonical", "literal"), [
    ("agg_mean(mean(mul(G, W)))", r"\overline{G_{l} \odot W_{l}}",
     r"\overline{G_{l} \odot W_{l}}"),
    ("agg_mean(mul(fro(H), mean(mul(add(G, W), W))))",
     r"\left\lVert H_{l} \right\rVert_F \overline{W_{l} \odot \left(G_{l} + W_{l}\right)}",
     r"\left\lVert H_{l} \right\rVert_F \cdot \overline{\left(G_{l} + W_{l}\right) \odot W_{l}}"),
    ("agg_mean(mean(reciprocal(mul(G, W))))", r"\overline{\frac{1}{G_{l} \odot W_{l}}}",
     r"\overline{\frac{1}{G_{l} \odot W_{l}}}"),
    ("agg_mean(mean(exp(add(mul(G, W), mul(G, W)))))", r"e^{2 G_{l} \odot W_{l}}",
     r"e^{G_{l} \odot W_{l} + G_{l} \odot W_{l}}"),
    ("agg_mean(mul(mean(H), mean(mul(mul(G, W), G))))",
     r"\overline{H_{l}} \overline{G_{l}^{2} \odot W_{l}}",
     r"\overline{H_{l}} \cdot \overline{G_{l} \odot W_{l} \odot G_{l}}"),
])
def test_a_product_of_tensors_is_odot_and_a_product_of_numbers_stays_ordinary(
        proxy: str, canonical: str, literal: str):
    """Juxtaposed tensors (``G_{l} W_{l}``) read as a matrix product: they are ``\\odot``."""
    d = export(proxy)
    assert canonical in d["latex"] and literal in d["literal_latex"]
    assert read_text(d["literal_latex"]) == parse_tree(proxy, PSET)
    assert to_sympy(read_text(d["latex"])) == to_sympy(parse_tree(proxy, PSET))
    assert "\\odot" not in GPT2_BEST  # numbers (norms, means) multiply side by side


def _odots_expected(expr) -> int:
    """``\\odot`` signs the canonical LaTeX of ``expr`` needs: one fewer than the tensor factors
    above and below the bar of every product with two or more of them."""
    from sympy.simplify import fraction

    count = 0
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Mul):
            for part in fraction(node, exact=True):
                k = sum(map(S.is_tensor, sp.Mul.make_args(part)))
                count += k - 1 if k > 1 else 0
    return count


def test_every_product_of_tensors_is_odot_in_both_forms():
    trees = [parse_tree(NAMED[n], PSET) for n in NAMES] + _random_trees(300, 0)
    checked = 0  # products of tensors in the canonical form (few: reductions pull numbers out)
    for tree in trees:
        d = export(tree)
        params = sum(1 for n in tree if n.name == "mul_P")  # mul of G, W tensors
        assert tokens(d["literal_latex"]).count("\\odot") == params, d["literal_latex"]
        if d["latex"]:
            canon = to_sympy(tree)
            assert tokens(d["latex"]).count("\\odot") == _odots_expected(canon), d["latex"]
            checked += _odots_expected(canon) > 0
    assert checked >= 2


@pytest.mark.parametrize(("op", "axis"), [("softmax", "row"), ("log_softmax", "row"),
                                          ("znorm", "block"), ("minmax", "block")])
def test_ops_that_normalise_part_of_a_tensor_name_their_axis(op: str, axis: str):
    tree = parse_tree(f"agg_mean(fro({op}(exp(H))))", PSET)
    sub = rf"_{{\text{{{axis}}}}}\left("
    d = export(tree)
    name = op.replace("_", r"\_")
    assert rf"\operatorname{{{name}}}{sub}" in d["literal_latex"]
    assert sub in d["latex"]  # log_softmax: \log\left(\operatorname{softmax}_{\text{row}}...
    old = d["literal_latex"].replace(sub, r"\left(")  # as printed before axes were named
    assert read_text(old) == tree
    assert to_sympy(read_text(d["latex"].replace(sub, r"\left("))) == to_sympy(tree)


def test_the_row_axis_is_the_last_axis_the_kernels_normalise():
    import torch

    from lpzero_gp.primitives import kernels

    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(kernels.row_softmax(x).sum(dim=-1), torch.ones(3))
    assert not torch.allclose(kernels.row_softmax(x).sum(dim=0), torch.ones(5))


def test_a_wrong_axis_is_refused_in_one_line():
    text = (r"\frac{1}{L}\sum_{l=1}^{L} \left(\overline{\operatorname{softmax}_{\text{col}}(H_l)}"
            r"\right)")
    with pytest.raises(ProxyError) as err:
        read_text(text)
    msg = str(err.value)
    assert "softmax works along its rows, not along 'col'" in msg and "at character 65" in msg
    assert "\n" not in msg


def test_the_legend_explains_every_symbol_export_writes():
    with open(DOCS, encoding="utf-8") as f:
        legend = f.read()
    seen: set[str] = set()
    for tree in [parse_tree(NAMED[n], PSET) for n in NAMES] + _random_trees(200, 0) + [
            parse_tree(p, PSET) for p in _probes()]:
        d = export(tree)
        for tex in (d["latex"], d["literal_latex"]):
            toks = tokens(tex)
            seen |= {t for t in toks if t.startswith("\\") or t in INPUTS}
            seen |= {rf"\operatorname{{{tex[m:].split('}')[0]}}}"
                     for m in _after_all(tex, r"\operatorname{")}
            seen |= {rf"_{{\text{{{tex[m:].split('}')[0]}}}}}" for m in _after_all(tex, r"\text{")}
    for symbol in ("\\overline", "\\odot", "\\lVert", "\\frac", "\\sum", "L"):
        assert symbol in seen or symbol == "L"
    missing = sorted(s for s in seen if f"`{s}" not in legend and s not in legend)
    assert not missing, f"docs/notation.md does not explain {missing}"
    for name in ("mean", "l1", "fro", "std", "agg_sum", "agg_mean", "mul"):
        assert f"`{name}`" in legend


def _after_all(text: str, prefix: str) -> list[int]:
    out, i = [], text.find(prefix)
    while i >= 0:
        out.append(i + len(prefix))
        i = text.find(prefix, i + 1)
    return out


def test_the_legend_examples_are_what_export_prints():
    with open(DOCS, encoding="utf-8") as f:
        lines = f.read().split("```latex\n", 1)[1].split("```", 1)[0].splitlines()
    pairs = list(zip(lines[::2], lines[1::2], strict=True))
    assert len(pairs) >= 3
    for comment, tex in pairs:
        proxy = comment.removeprefix("% ")
        literal = proxy.startswith("--literal ")
        assert export(proxy.removeprefix("--literal "), literal=literal)["latex"] == tex


# -- the usual hand-written variants read back --------------------------------------------------

#: Rewrites of exported LaTeX into the usual other spellings of it.
VARIANTS = {
    "unbraced scripts": lambda t: re.sub(r"([_^])\{(\w)\}", r"\1\2", t).replace(
        r"\frac{1}{L}", r"\frac1L"),
    "braced _{F}": lambda t: t.replace(r"\rVert_F", r"\rVert_{F}"),
    r"\|x\|": lambda t: t.replace(r"\left\lVert ", r"\|").replace(r" \right\rVert", r"\|"),
    r"\Vert": lambda t: t.replace(r"\left\lVert", r"\Vert").replace(r"\right\rVert", r"\Vert"),
    r"\lVertW": lambda t: re.sub(r"\\(lVert|rVert) ", r"\\\1", t.replace(
        r"\left\lVert", r"\lVert").replace(r"\right\rVert", r"\rVert")),
    "bare parentheses": lambda t: t.replace(r"\left(", "(").replace(r"\right)", ")"),
    "bare bars": lambda t: t.replace(r"\left|", "|").replace(r"\right|", "|"),
    r"\bigl(": lambda t: t.replace(r"\left(", r"\bigl(").replace(r"\right)", r"\bigr)"),
    r"\times": lambda t: t.replace(r"\cdot", r"\times").replace(r"\odot", r"\times"),
    "juxtaposition": lambda t: t.replace(r" \cdot ", " ").replace(r" \odot ", " "),
    r"\odot": lambda t: t.replace(r"\cdot", r"\odot"),
    "no spaces": lambda t: re.sub(r"(\\[A-Za-z]+) +(?=[A-Za-z])", r"\1", t).replace(" ", ""),
    "extra spaces": lambda t: re.sub(r"(?<!\\)([{}()^_,])", r" \1 ", t),
    "no axis": lambda t: re.sub(r"_\{\\text\{(row|block)\}\}", "", t),
    r"\mathrm": lambda t: t.replace(r"\operatorname", r"\mathrm").replace(
        r"\text{", r"\mathrm{"),
}
VARIANTS["all at once"] = lambda t: VARIANTS["no spaces"](VARIANTS[r"\times"](VARIANTS[
    "bare bars"](VARIANTS["bare parentheses"](VARIANTS[r"\|x\|"](VARIANTS[
        "unbraced scripts"](t))))))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_hand_written_variants_read_to_the_same_proxy(variant: str):
    """The literal form's variants read to the very same tree, the canonical form's to a proxy
    with the same canonical form; every named proxy and a quarter of the random trees."""
    rewrite = VARIANTS[variant]
    trees = [parse_tree(NAMED[n], PSET) for n in NAMES] + [  # as read: the overloads a string picks
        parse_tree(format_tree(t), PSET) for t in _random_trees(120, 60)[::4]]
    changed = 0
    for tree in trees:
        d = export(tree)
        lit = rewrite(d["literal_latex"])
        changed += lit != d["literal_latex"]
        assert read_text(lit) == tree, (variant, format_tree(tree), lit)
        if d["latex"]:
            assert to_sympy(read_text(rewrite(d["latex"]))) == to_sympy(tree), (variant, tree)
    assert changed


@pytest.mark.parametrize(("text", "proxy"), [
    (r"\sum_{l=1}^{L} \left(\left\lVert W_{l} \right\rVert_{F}\right)", "agg_sum(fro(W))"),
    (r"\sum_{l=1}^{L} \left(\lVert W_{l} \rVert_F\right)", "agg_sum(fro(W))"),
    (r"\sum_{l=1}^{L} \left(\lVertW_l\rVert_F\right)", "agg_sum(fro(W))"),
    (r"\sum_{l=1}^L (\Vert W_l \Vert_F)", "agg_sum(fro(W))"),
    (r"\sum_{l=1}^{L} \|W_l\|_F", "agg_sum(fro(W))"),
    (r"\sum_{l} \|W_l\|_F", "agg_sum(fro(W))"),
    (r"\frac1L\sum_{l=1}^{L}(\overline{H_l^2})", "agg_mean(mean(square(H)))"),
    (r"\frac{1}{L}\sum_{l=1}^{L}\left(\overline{G_l \times W_l}\right)",
     "agg_mean(mean(mul(G, W)))"),
    (r"\frac{1}{L}\sum_{l=1}^{L}\left(\overline{G_l W_l}\right)", "agg_mean(mean(mul(G, W)))"),
    (r"\frac{1}{L}\sum_{l=1}^{L}\left(\overline{G_l} / \overline{W_l}\right)",
     "agg_mean(div(mean(G), mean(W)))"),
    (r"\frac{1}{L}\sum_{l=1}^{L}\left(\bar{|G_l|}\right)", "agg_mean(mean(abs(G)))"),
    (r"\frac{1}{L}\sum_{l=1}^{L}\left(\overline{\mathrm{softmax}_{\mathrm{row}}(G_l)}\right)",
     "agg_mean(mean(softmax(G)))"),
    (r"\frac{1}{L}\sum_{l=1}^{L}\left(\overline{\exp(G_l)}\right)", "agg_mean(mean(exp(G)))"),
    (r"\frac{1}{L} \sum_{l=1}^{L} \left( \log|\overline{W_l}| \right)",
     "agg_mean(abslog(mean(W)))"),
])
def test_ordinary_hand_written_latex_reads(text: str, proxy: str):
    assert to_sympy(read_text(text)) == to_sympy(parse_tree(proxy, PSET))


@pytest.mark.parametrize(("text", "fragment"), [
    (r"\sum_{l=1}^{L} \left(\foo{W_l}\right)",
     r"unknown LaTeX command '\foo' at character 22: '\foo{W_l}\right)'"),
    (r"\frac{1}{L}\sum_{l=1}^{L} \left(\overline{G_{l} \star W_{l}}\right)",
     r"got '\star' at character 49"),
    (r"\sum_{l=1}^{L} \left(\left\lVert W_{l} \right\rVert_G\right)",
     "a norm is the Frobenius norm, written with _F at character 52"),
    (r"\sum_{l=1}^{L} \left(\overline{Q_l}\right)", "unknown symbol 'Q' at character 32"),
    (r"\sum_{l=1}^{L} \left(\overline{H_l}", "unexpected end of the LaTeX"),
    (r"\sum_{l=1}^{L} \left(\overline{H_l} # 2\right)", "unexpected character '#' at character 37"),
    (r"\frac{1}{L}\sum_{l=1}^{L} \left(\overline{\operatorname{softmx}(H_l)}\right)",
     "unknown operator 'softmx' at character 43"),
])
def test_a_reading_error_names_what_and_where_in_one_line(text: str, fragment: str):
    with pytest.raises(ProxyError) as err:
        read_text(text)
    assert fragment in str(err.value) and "\n" not in str(err.value)
