"""An op registered from outside the package works everywhere an op of the table does.

``register_op`` takes a name, a torch kernel and optionally a SymPy twin and a LaTeX form; the
op then parses in proxy strings, joins the primitive sets, scores, searches, and exports and reads
back in every form. Registrations are undone after each test (``registered_op``), and a fixture
checks that none leaks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from extra_ops import OPS, unsafe_log
from toy import toy_family

from lpzero_gp.errors import LpzeroError, ProxyError
from lpzero_gp.primitives import (
    ALL_OVERLOADS,
    OPS_BY_NAME,
    Layerwise,
    Score,
    make_pset,
    register_op,
    registered_op,
    unregister_op,
)
from lpzero_gp.primitives.ops import ALIASES
from lpzero_gp.primitives.registry import version
from lpzero_gp.proxy import default_pset
from lpzero_gp.proxy.export import export
from lpzero_gp.proxy.parse import format_tree, parse_tree
from lpzero_gp.proxy.read import read_proxy, read_text
from lpzero_gp.proxy.symread import functions
from lpzero_gp.proxy.symtree import to_sympy
from lpzero_gp.score.scoring import Scorer, score_stats
from lpzero_gp.search import Search, SearchConfig
from lpzero_gp.stats.store import Dataset

BUILTIN = (tuple(OPS_BY_NAME), tuple(ALL_OVERLOADS), dict(ALIASES))


@pytest.fixture(autouse=True)
def no_leak():
    """Every test leaves the op table as the package ships it."""
    yield
    assert (tuple(OPS_BY_NAME), tuple(ALL_OVERLOADS), dict(ALIASES)) == BUILTIN


@pytest.fixture(scope="module")
def stats():
    return toy_family(12)


@pytest.fixture
def softsign():
    with registered_op("softsign", **OPS["softsign"]) as row:
        yield row


def _forms(proxy: str) -> dict[str, str]:
    canon, lit = export(proxy), export(proxy, literal=True)
    return {"string": canon["proxy"], "json": json.dumps(canon), "sympy": canon["sympy"],
            "srepr": canon["srepr"], "latex": canon["latex"], "literal sympy": lit["sympy"],
            "literal srepr": lit["srepr"], "literal latex": lit["latex"]}


def test_a_registered_op_parses_and_joins_the_primitive_sets(softsign):
    tree = parse_tree("agg_mean(mean(softsign(W)))", default_pset())
    assert format_tree(tree) == "agg_mean(mean(softsign(W)))"
    assert {"softsign_T", "softsign_P", "softsign_L", "softsign_S"} <= set(make_pset().mapping)
    assert "softsign_T" in make_pset(stock=True).mapping
    assert "softsign_T" not in make_pset(ops=("mean", "agg_mean")).mapping
    assert softsign.doc == "x / (1 + |x|)"
    with pytest.raises(ProxyError, match="is not defined"):
        parse_tree("agg_mean(softsign(W))", default_pset())  # typed like every element-wise op


def test_a_registered_op_scores_as_its_kernel_computes(stats):
    with registered_op("twice", **OPS["twice"]):
        ds = Dataset.from_stats(stats)
        scorer = Scorer(ds, np.arange(ds.n_archs, dtype=float))
        doubled = scorer.scores("agg_mean(mean(twice(W)))")
        assert np.allclose(doubled, 2 * scorer.scores("agg_mean(mean(W))"))
        assert np.allclose(scorer.scores("agg_mean(twice(mean(W)))"), doubled)


@pytest.mark.parametrize("proxy", [
    "agg_mean(mean(softsign(W)))",
    "agg_sum(add(l1(softsign(G)), softsign(fro(A))))",
    "agg_mean(mul(square(mean(softsign(neg(H)))), std(softsign(J))))",
])
def test_every_export_form_reads_back(softsign, proxy: str):
    tree = parse_tree(proxy, default_pset())
    forms = _forms(proxy)
    assert "Softsign(" in forms["sympy"] and r"\operatorname{softsign}" in forms["latex"]
    for name in ("string", "json", "literal sympy", "literal srepr", "literal latex"):
        assert read_text(forms[name]) == tree, name
    for name in ("sympy", "srepr", "latex"):  # the canonical forms: the same canonical form
        assert to_sympy(read_proxy(forms[name])) == to_sympy(tree), name


def test_a_binary_op_and_a_latex_form_of_its_own_read_back():
    with registered_op("hypot", **OPS["hypot"]):
        proxy = "agg_mean(hypot(mean(H), l1(A)))"
        tree = parse_tree(proxy, default_pset())
        forms = _forms(proxy)
        assert r"\mathrm{hyp}\left(" in forms["literal latex"]
        assert "Hypot(" in forms["sympy"]
        assert r"\operatorname{hypot}\left(" in forms["latex"]
        assert read_text(forms["literal latex"]) == tree
        assert read_text(forms["literal srepr"]) == tree
        for name in ("sympy", "srepr", "latex"):
            assert to_sympy(read_proxy(forms[name])) == to_sympy(tree), name
        assert "hypot_P" in default_pset().mapping


def test_a_sympy_twin_takes_part_in_the_canonical_form(stats):
    with registered_op("twice", **OPS["twice"]):
        tree = parse_tree("agg_mean(mean(twice(W)))", default_pset())
        assert to_sympy(tree) == 2 * to_sympy(parse_tree("agg_mean(mean(W))", default_pset()))
        assert r"\operatorname{two}\left(" in export(tree, literal=True)["latex"]
        assert read_text(export(tree, literal=True)["latex"]) == tree


def test_types_narrow_the_registrations_and_aliases_read():
    with registered_op("softsign", OPS["softsign"]["kernel"], types=(Layerwise, Score),
                       aliases=("soft_sign",)):
        mapping = make_pset().mapping
        assert "softsign_L" in mapping and "softsign_S" in mapping
        assert "softsign_T" not in mapping
        tree = parse_tree("agg_mean(soft_sign(mean(W)))", default_pset())
        assert format_tree(tree) == "agg_mean(softsign(mean(W)))"
        with pytest.raises(ProxyError, match="not defined"):
            parse_tree("agg_mean(mean(softsign(W)))", default_pset())


def test_a_short_seeded_search_uses_the_op_and_repeats(stats, softsign):
    planted = "agg_mean(add(mean(softsign(G)), mean(abs(A))))"
    ds, truth = Dataset.from_stats(stats), score_stats(planted, stats)

    def run() -> tuple[list[str], object]:
        scorer, scored = Scorer(ds, truth), []

        def score(text: str):
            scored.append(text)
            return scorer(text)

        config = SearchConfig(population=20, offspring=20, evaluations=120, seed=3)
        return scored, Search(make_pset(), score, config).run()

    (scored, first), (_, second) = run(), run()
    assert [str(i) for i in first.population] == [str(i) for i in second.population]
    assert list(first.logbook) == list(second.logbook)
    assert any("softsign_" in text for text in scored)  # drawn, scored and ranked
    assert first.hof[0].fitness.values[0] > 0.5


@pytest.mark.parametrize(("args", "kwargs", "fragment"), [
    (("abs", OPS["softsign"]["kernel"]), {}, "taken"),
    (("frobenius", OPS["softsign"]["kernel"]), {}, "alias of fro"),
    (("W", OPS["softsign"]["kernel"]), {}, "lower-case"),
    (("softsign", "not a kernel"), {}, "callable"),
    (("softsign", OPS["softsign"]["kernel"]), {"arity": 3}, "arity"),
    (("softsign", OPS["softsign"]["kernel"]), {"types": (int,)}, "unknown type"),
    (("softsign", OPS["softsign"]["kernel"]), {"aliases": ("noop",)}, "alias of identity"),
    (("softsign", OPS["softsign"]["kernel"]), {"latex": r"\frac{1}{#1}"}, "reciprocal"),
    (("softsign", OPS["softsign"]["kernel"]), {"latex": r"\log\left(\left|#1\right|\right)"},
     "'log'"),
    (("softsign", OPS["softsign"]["kernel"]), {"latex": r"\left(#1\right)^{3}"}, "bracket"),
    (("softsign", OPS["softsign"]["kernel"]), {"latex": r"#1!"}, "must open"),
    (("softsign", OPS["softsign"]["kernel"]), {"latex": r"\s{#1}{#2}"}, "argument"),
    (("one_arg", OPS["softsign"]["kernel"]), {"arity": 2}, "kernel fails (TypeError"),
    (("unsafe_log", unsafe_log), {}, "unsafe_log_T is not finite on -3.0"),
])
def test_a_bad_registration_is_one_clear_error_and_changes_nothing(args, kwargs, fragment):
    before = version()
    with pytest.raises(LpzeroError) as err:
        register_op(*args, **kwargs)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert args[0] not in OPS_BY_NAME or args[0] in BUILTIN[0]
    assert version() in (before, before + 2)  # an unsafe op is added, checked and removed


def test_unregistering_forgets_the_op_everywhere(softsign):
    unregister_op("softsign")
    with pytest.raises(ProxyError, match="unknown operation 'softsign'"):
        parse_tree("agg_mean(mean(softsign(W)))", default_pset())
    assert "Softsign" not in functions()
    with pytest.raises(ProxyError):
        read_text("BlockMean(Mean(Softsign(W)))")
    with pytest.raises(LpzeroError, match="no registered op"):
        unregister_op("softsign")
    with pytest.raises(LpzeroError, match="package's own"):
        unregister_op("abs")
    register_op("softsign", **OPS["softsign"])  # the fixture removes it again


def test_a_readback_of_a_registered_op_needs_it_registered():
    with registered_op("softsign", **OPS["softsign"]):
        forms = _forms("agg_mean(mean(softsign(W)))")
    for name in ("string", "sympy", "latex", "literal latex", "literal srepr"):
        with pytest.raises(ProxyError) as err:
            read_text(forms[name])
        assert "\n" not in str(err.value)
