"""Tests of rule-based pruning: the worked cases of docs/specs.md §5.4, equivalences, sign pairs,
and the claim that proxies sharing a canonical key rank architectures identically."""

from __future__ import annotations

import random

import numpy as np
import pytest
from toy import toy_family

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import make_pset
from lpzero_gp.primitives.ops import UNARY
from lpzero_gp.primitives.symbolic import SYMBOLS, Mean
from lpzero_gp.proxy.generate import gen_lpzero
from lpzero_gp.proxy.genotype import Genotype, genotype_tree
from lpzero_gp.proxy.parse import format_tree, parse_tree
from lpzero_gp.proxy.rps import RPS
from lpzero_gp.proxy.symtree import to_sympy
from lpzero_gp.score.fitness import INVALID_FITNESS
from lpzero_gp.score.scoring import Scorer
from lpzero_gp.stats.store import Dataset

PSET = make_pset()
H, W = SYMBOLS["H"], SYMBOLS["W"]


def verdict(g: Genotype):
    return RPS().check(genotype_tree(g, PSET))


def single(inp: str, chain: tuple[str, ...]) -> Genotype:
    """A one-branch genotype: the second branch is pruned."""
    return Genotype(inp, inp, chain, ("prune", "identity"), "add")


def inner(v):
    """The per-block expression under the block aggregation."""
    assert v.expr.func.__name__ == "BlockMean"
    return v.expr.args[0]


# ----------------------------------------------------------------------------------------
# the twelve worked cases of docs/specs.md §5.4


def test_case01_code_bert_is_new_and_equals_single_square_branch():
    v = verdict(Genotype("H", "A", ("neg", "square"), ("frobenius", "log_softmax"), "add"))
    assert v.ok
    assert inner(v) == Mean(H**2)
    same = verdict(single("H", ("square", "no_op")))
    assert same.ok and same.key == v.key and same.sign == v.sign


def test_case02_paper_bert_is_new():
    v = verdict(Genotype("H", "A", ("reciprocal", "square"), ("frobenius", "log_softmax"),
                         "add"))
    assert v.ok
    assert inner(v) == Mean(H**-2)


def test_case03_abs_l1_minus_neg_l1_self_cancels():
    v = verdict(Genotype("W", "W", ("abs", "l1"), ("neg", "l1"), "sub"))
    assert not v.ok and v.reason == "self-cancel"


@pytest.mark.parametrize("b", ["add", "sub", "mul", "div"])
def test_case04_std_of_a_scalar_is_rejected(b: str):
    with pytest.raises(ProxyError, match="std"):
        genotype_tree(Genotype("A", "H", ("mean", "std"), ("abs", "identity"), b), PSET)


def test_case05_constant_branch_times_other_is_zero_product():
    v = verdict(Genotype("A", "H", ("frobenius", "normalize"), ("abs", "identity"), "mul"))
    assert not v.ok and v.reason == "zero product"


def test_case05_constant_branch_plus_other_duplicates_the_other():
    v = verdict(Genotype("A", "H", ("frobenius", "normalize"), ("abs", "identity"), "add"))
    alone = verdict(single("H", ("abs", "identity")))
    assert v.ok and alone.ok
    assert v.key == alone.key and v.sign == alone.sign


def test_case06_sqrt_of_negated_softmax_input_is_zero():
    alone = verdict(single("S", ("neg", "sqrt")))
    assert not alone.ok and alone.reason == "constant"
    product = verdict(Genotype("S", "H", ("neg", "sqrt"), ("abs", "identity"), "mul"))
    assert not product.ok and product.reason == "zero product"
    with_other = verdict(Genotype("S", "H", ("neg", "sqrt"), ("abs", "identity"), "add"))
    assert with_other.key == verdict(single("H", ("abs", "identity"))).key


def test_case07_log_of_negated_signed_input_is_valid():
    v = verdict(single("W", ("neg", "log")))
    assert v.ok
    assert W in v.expr.free_symbols
    with_other = verdict(Genotype("W", "H", ("neg", "log"), ("abs", "identity"), "add"))
    assert with_other.ok and with_other.key != verdict(single("H", ("abs", "identity"))).key


def test_case08_mean_of_znorm_is_zero():
    alone = verdict(single("G", ("normalize", "mean")))
    assert not alone.ok and alone.reason == "constant"
    with_other = verdict(Genotype("G", "H", ("normalize", "mean"), ("abs", "identity"), "add"))
    assert with_other.key == verdict(single("H", ("abs", "identity"))).key


@pytest.mark.parametrize("inp,chain", [
    ("A", ("square", "exp")),
    ("H", ("abs", "l1")),
    ("W", ("neg", "log")),
    ("G", ("sigmoid", "fro")),
    ("J", ("softmax", "minmax")),
])
def test_case09_identical_branches_divided_self_cancel(inp: str, chain: tuple[str, ...]):
    v = verdict(Genotype(inp, inp, chain, chain, "div"))
    assert not v.ok and v.reason == "self-cancel"
    v = verdict(Genotype(inp, inp, chain, chain, "sub"))
    assert not v.ok and v.reason == "self-cancel"


def test_case10_abs_after_square_folds_and_self_cancels():
    v = verdict(Genotype("H", "H", ("square", "no_op"), ("abs", "square"), "sub"))
    assert not v.ok and v.reason == "self-cancel"


def test_case11_log_of_square_duplicates_abslog_up_to_factor_two():
    v = verdict(single("A", ("square", "log")))
    ref = verdict(single("A", ("abslog", "identity")))
    assert v.ok and ref.ok
    assert v.key == ref.key and v.sign == ref.sign == 1
    # rule L2: log(A**2) = 2 log|A|; the factor 2 is stripped from the key only
    full = to_sympy(genotype_tree(single("A", ("square", "log")), PSET))
    assert full == 2 * to_sympy(genotype_tree(single("A", ("abslog", "identity")), PSET))


def test_case12_both_branches_pruned_is_rejected():
    with pytest.raises(ProxyError, match="pruned"):
        genotype_tree(Genotype("A", "H", ("prune", "log"), ("abs", "disconnect"), "add"), PSET)
    # the same rule at tree level
    for text in ("agg_mean(prune(mean(H)))",
                 "agg_mean(add(prune(mean(H)), prune(l1(A))))",
                 "prune(agg_mean(mean(H)))"):
        v = RPS().check(parse_tree(text, PSET))
        assert not v.ok and v.reason == "empty"


# ----------------------------------------------------------------------------------------
# other rejection rules


def test_input_unavailable():
    rps = RPS(available=("A", "H", "G", "W"))
    v = rps.check(parse_tree("agg_mean(add(mean(S), mean(H)))", PSET))
    assert not v.ok and v.reason == "input-unavailable"
    # an unavailable input whose branch is symbolically constant does not matter
    v = rps.check(parse_tree("agg_mean(add(log_softmax(fro(S)), mean(H)))", PSET))
    assert v.ok


def test_reciprocal_of_zero_branch_is_nan():
    v = RPS().check(parse_tree("agg_mean(reciprocal(mean(relu(neg(abs(H))))))", PSET))
    assert not v.ok and v.reason == "nan/inf"


def test_verdicts_are_cached_by_string():
    rps = RPS()
    tree = parse_tree("agg_mean(mean(square(H)))", PSET)
    assert rps.check(tree) is rps.check(parse_tree(str(tree), PSET))


# ----------------------------------------------------------------------------------------
# D4 equivalences and sign pairs

EQUIVALENT = [
    ("agg_mean(norm_sum(H))", "agg_mean(mean(H))"),
    ("agg_mean(mean(abs(abs(H))))", "agg_mean(mean(abs(H)))"),
    ("agg_mean(mean(neg(neg(H))))", "agg_mean(mean(H))"),
    ("agg_mean(mean(reciprocal(reciprocal(A))))", "agg_mean(mean(A))"),
    ("agg_mean(mean(log(exp(H))))", "agg_mean(mean(H))"),
    ("agg_mean(mean(sqrt(square(H))))", "agg_mean(mean(abs(H)))"),
    ("agg_mean(l1(H))", "agg_mean(mean(abs(H)))"),
    ("agg_mean(mean(relu(relu(A))))", "agg_mean(mean(relu(A)))"),
    ("agg_mean(mean(relu(abs(H))))", "agg_mean(mean(abs(H)))"),
    ("agg_mean(mean(abs(square(J))))", "agg_mean(mean(square(J)))"),
    ("agg_mean(mean(log(softmax(A))))", "agg_mean(mean(log_softmax(A)))"),
    ("agg_mean(mean(identity(W)))", "agg_mean(mean(W))"),
    ("agg_mean(add(mean(H), l1(A)))", "agg_mean(add(l1(A), mean(H)))"),
    ("agg_mean(mul(fro(G), l1(A)))", "agg_mean(mul(l1(A), fro(G)))"),
    ("agg_mean(add(mean(H), prune(l1(A))))", "agg_mean(mean(H))"),
    ("agg_mean(fro(neg(W)))", "agg_mean(fro(W))"),
    ("agg_sum(l1(mul(G, W)))", "agg_sum(l1(mul(W, G)))"),
]

SIGN_PAIRS = [
    ("agg_mean(sub(mean(H), l1(A)))", "agg_mean(sub(l1(A), mean(H)))"),
    ("agg_mean(sub(fro(G), l1(W)))", "agg_mean(sub(l1(W), fro(G)))"),
    ("agg_mean(neg(mean(H)))", "agg_mean(mean(H))"),
    ("agg_mean(mean(neg(A)))", "agg_mean(mean(A))"),
    ("neg(agg_sum(std(J)))", "agg_sum(std(J))"),
]

DISTINCT = [
    ("agg_sum(mean(H))", "agg_mean(mean(H))"),
    ("agg_mean(mean(H))", "agg_mean(mean(square(H)))"),
    ("agg_mean(mean(exp(H)))", "agg_mean(exp(mean(H)))"),
    ("agg_mean(mean(H))", "agg_mean(mean(A))"),
    ("agg_mean(fro(H))", "agg_mean(l1(H))"),
]


def _key(text: str):
    v = RPS().check(parse_tree(text, PSET))
    assert v.ok, (text, v.reason)
    return v.key, v.sign


@pytest.mark.parametrize("a,b", EQUIVALENT)
def test_equivalent_proxies_share_key_and_sign(a: str, b: str):
    assert _key(a) == _key(b)


@pytest.mark.parametrize("a,b", SIGN_PAIRS)
def test_sign_pairs_share_key_with_opposite_sign(a: str, b: str):
    (ka, sa), (kb, sb) = _key(a), _key(b)
    assert ka == kb and sa == -sb


@pytest.mark.parametrize("a,b", DISTINCT)
def test_distinct_proxies_have_distinct_keys(a: str, b: str):
    assert _key(a)[0] != _key(b)[0]


def test_constant_offsets_and_positive_factors_are_stripped():
    k = _key("agg_mean(mean(H))")
    assert _key("agg_mean(add(mean(H), softmax(l1(A))))") == k  # + 1
    assert _key("agg_mean(add(mean(H), mean(H)))") == k  # 2 * ...
    assert _key("mul(agg_mean(mean(H)), agg_mean(mean(H)))") != k  # a square is not affine


# ----------------------------------------------------------------------------------------
# exactness of de-duplication: one key, one ranking (up to the sign)


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    stats = toy_family(10)
    truth = np.arange(10.0) ** 1.3 + np.sin(np.arange(10.0))
    return Scorer(Dataset.from_stats(stats), truth)


def _signed_rho(scorer: Scorer, text: str) -> tuple[float, str]:
    """Signed rho (nan when invalid) and canonical key."""
    key, sign = _key(text)
    r = scorer.rank(text)
    return r.rho * sign, key


@pytest.mark.parametrize("a,b", EQUIVALENT + SIGN_PAIRS)
def test_key_equal_proxies_score_identical_rho(scorer: Scorer, a: str, b: str):
    ra, ka = _signed_rho(scorer, a)
    rb, kb = _signed_rho(scorer, b)
    assert ka == kb
    assert ra == pytest.approx(rb, abs=1e-12)


def test_key_equal_random_genotypes_score_identical_rho(scorer: Scorer):
    """Random paper-shaped proxies grouped by key. Ops whose canonical value is an exact
    constant (z-score / min-max / softmax families) and the softmax input are left out: on
    the toy family they produce ties that float round-off breaks (see the xfail below)."""
    pset = make_pset(("A", "H", "J", "G", "W"))
    unary = tuple(u for u in UNARY if u not in ("znorm", "minmax", "softmax", "log_softmax"))
    rps = RPS()
    random.seed(7)
    groups: dict[str, list[tuple[str, int]]] = {}
    for _ in range(600):
        tree = gen_lpzero(pset, unary=unary)
        v = rps.check(tree)
        if v.ok:
            groups.setdefault(v.key, []).append((format_tree(tree), v.sign))
    multi = [g for g in groups.values() if len({s for s, _ in g}) > 1]
    assert len(multi) >= 10  # the check below must actually compare something
    for g in multi:
        fits = [(scorer(s)[0], sign, s) for s, sign in g]
        f0, sign0, s0 = fits[0]
        for f, sign, s in fits[1:]:
            if INVALID_FITNESS in (f, f0):
                assert f == f0, (s0, s)
            else:
                assert f * sign == pytest.approx(f0 * sign0, abs=1e-12), (s0, s)


@pytest.mark.parametrize("a,b", [
    # Mean(Softmax(H)) = 1/width, the same for every toy architecture: scores are constant
    # up to round-off, yet ranked
    ("agg_mean(mean(softmax(H)))", "agg_mean(mean(softmax(neg(H))))"),
    # log(mean(J)) is exactly 0 on several architectures; mean(znorm(A)) is 0 only up to
    # round-off and breaks those ties
    ("agg_mean(log(mean(J)))", "agg_mean(add(log(mean(J)), mean(znorm(A))))"),
    # the reciprocal's epsilon matters for tiny gradients: 1/(x+e)^2 vs 1/(x^2+e); a known
    # limit of keying reciprocals without their epsilon (docs/specs.md §5.3 ignores it)
    pytest.param("agg_mean(mean(square(reciprocal(J))))",
                 "agg_mean(mean(reciprocal(square(J))))",
                 marks=pytest.mark.xfail(strict=True, reason="epsilon of the reciprocal")),
])
def test_round_off_does_not_break_key_exactness(scorer: Scorer, a: str, b: str):
    """Key-equal proxies rank alike once float round-off is settled (both may be invalid)."""
    ra, ka = _signed_rho(scorer, a)
    rb, kb = _signed_rho(scorer, b)
    assert ka == kb
    if np.isnan(ra) or np.isnan(rb):
        assert np.isnan(ra) and np.isnan(rb)
    else:
        assert ra == pytest.approx(rb, abs=1e-12)
