"""Stock DEAP on the stock primitive set: generators and operators never fail, trees always score.

``make_pset(stock=True)`` gives every type a terminal and a pass-through primitive, so DEAP's own
``genFull``, ``genGrow``, ``genHalfAndHalf`` and its variation operators (also under
``gp.staticLimit``) always produce complete, well-typed trees. Every such tree prints as a proxy
string that parses, and scores as a rank correlation or the clean invalid mark.
"""

from __future__ import annotations

import math
import operator
import random
from functools import partial

import numpy as np
import pytest
from deap import gp
from toy import toy_family

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives import PRUNED, make_pset
from lpzero_gp.primitives.pset import STOCK_TERMINALS
from lpzero_gp.proxy.parse import EMPTY_PROXY, format_tree, parse_tree
from lpzero_gp.score.fitness import INVALID_FITNESS
from lpzero_gp.score.scoring import Scorer, score_stats
from lpzero_gp.stats.store import Dataset

N = 1000
SEED = 7
STOCK = make_pset(stock=True)
FULL = make_pset()
GENERATORS = {"genFull": gp.genFull, "genGrow": gp.genGrow, "genHalfAndHalf": gp.genHalfAndHalf}
LIMIT = gp.staticLimit(key=operator.attrgetter("height"), max_value=8)


@pytest.fixture(scope="module")
def stats():
    return toy_family(6)


@pytest.fixture(scope="module")
def scorer(stats) -> Scorer:
    return Scorer(Dataset.from_stats(stats), np.arange(len(stats), dtype=float), with_tau=False)


def _well_typed(tree: gp.PrimitiveTree, pset: gp.PrimitiveSetTyped) -> None:
    """A complete prefix tree of ``pset``'s own nodes whose every argument fits its slot."""
    assert tree.searchSubtree(0).stop == len(tree)
    assert issubclass(tree[0].ret, pset.ret)
    for i, node in enumerate(tree):
        is_primitive = isinstance(node, gp.Primitive)
        assert pset.mapping[node.name if is_primitive else node.value] is node
        j = i + 1
        for want in node.args if is_primitive else ():
            assert issubclass(tree[j].ret, want), (str(tree), node.name)
            j = tree.searchSubtree(j).stop


def _scores_cleanly(tree: gp.PrimitiveTree, scorer: Scorer) -> None:
    """The tree prints as a parseable proxy (DEAP's own string reads back exactly) and scores
    as a rank correlation or the invalid mark."""
    text = format_tree(tree)
    assert not any(name in text for name in STOCK_TERMINALS)
    assert format_tree(parse_tree(text, FULL)) == text
    assert parse_tree(str(tree), STOCK) == tree
    fitness, _ = scorer(tree)
    assert fitness == INVALID_FITNESS or (math.isfinite(fitness) and -1 <= fitness <= 1), text


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_stock_generators_never_fail(name: str, scorer: Scorer):
    random.seed(SEED)
    generate = GENERATORS[name]
    for k in range(N):
        tree = gp.PrimitiveTree(generate(STOCK, k % 3, 2 + k % 5))
        _well_typed(tree, STOCK)
        _scores_cleanly(tree, scorer)


def _variations() -> dict:
    grow = partial(gp.genGrow, min_=0, max_=2)
    full = partial(gp.genFull, min_=0, max_=2)
    plain = {
        "cxOnePoint": lambda a, b: gp.cxOnePoint(a, b),
        "mutUniform(genGrow)": lambda a, _b: gp.mutUniform(a, grow, STOCK),
        "mutUniform(genFull)": lambda a, _b: gp.mutUniform(a, full, STOCK),
        "mutNodeReplacement": lambda a, _b: gp.mutNodeReplacement(a, STOCK),
        "mutInsert": lambda a, _b: gp.mutInsert(a, STOCK),
        "mutShrink": lambda a, _b: gp.mutShrink(a),
    }
    limited = {f"staticLimit({k})": LIMIT(v) for k, v in plain.items()}
    return {**plain, **limited}


VARIATIONS = _variations()


@pytest.mark.parametrize("name", sorted(VARIATIONS))
def test_stock_variation_never_fails(name: str, scorer: Scorer):
    random.seed(SEED)
    parents = [gp.PrimitiveTree(gp.genHalfAndHalf(STOCK, 1, 5)) for _ in range(50)]
    vary = VARIATIONS[name]
    for _ in range(N):
        a, b = random.sample(parents, 2)
        children = vary(gp.PrimitiveTree(a), gp.PrimitiveTree(b))
        for child in children:
            _well_typed(child, STOCK)
            _scores_cleanly(child, scorer)
            if name.startswith("staticLimit"):
                assert child.height <= max(8, a.height, b.height)


def test_compiled_stock_trees_score_as_their_proxy_strings(stats):
    dataset = Dataset.from_stats(stats)
    random.seed(SEED)
    checked = 0
    for _ in range(300):
        tree = gp.PrimitiveTree(gp.genHalfAndHalf(STOCK, 2, 5))
        compiled = gp.compile(tree, STOCK)(*[dataset.inputs[a] for a in STOCK.arguments])
        try:
            scores = score_stats(format_tree(tree), stats)
        except ProxyError:  # every branch pruned, by the empty terminals or by prune itself
            assert compiled is PRUNED
            continue
        assert np.allclose(compiled.numpy(), scores, equal_nan=True), format_tree(tree)
        checked += 1
    assert checked >= 20


def test_default_set_is_unchanged_by_the_stock_option():
    stock_prims = {t: [p.name for p in ps] for t, ps in STOCK.primitives.items()}
    assert {t: [p.name for p in ps] for t, ps in FULL.primitives.items()} == stock_prims
    added = {t.name for ts in STOCK.terminals.values() for t in ts} - {
        t.name for ts in FULL.terminals.values() for t in ts}
    assert added == set(STOCK_TERMINALS)


def test_a_restricted_stock_set_gets_pass_through_primitives():
    ops = ("mean", "agg_mean")
    random.seed(SEED)
    with pytest.raises(IndexError):  # no primitive returns a tensor: DEAP dead-ends
        for _ in range(50):
            gp.genFull(make_pset(ops=ops), 3, 3)
    pset = make_pset(ops=ops, stock=True)
    assert {"identity_T", "identity_P", "identity_L", "identity_S"} <= set(pset.mapping)
    for _ in range(200):
        tree = gp.PrimitiveTree(gp.genFull(pset, 3, 3))
        _well_typed(tree, pset)
        parse_tree(format_tree(tree), FULL)


def test_empty_terminals_print_away_and_score_like_pruned_branches(stats):
    tree = parse_tree("agg_mean(add(pruned_L, exp(mean(H))))", STOCK)
    assert format_tree(tree) == "agg_mean(exp(mean(H)))"
    assert np.array_equal(score_stats(tree, stats), score_stats("agg_mean(exp(mean(H)))", stats))
    empty = parse_tree("mul(pruned_S, agg_sum(exp(pruned_L)))", STOCK)
    assert format_tree(empty) == EMPTY_PROXY
    # a set without the empty terminals drops them while parsing, as the printer does
    assert format_tree(parse_tree(str(tree), FULL)) == "agg_mean(exp(mean(H)))"
    with pytest.raises(ValueError, match="pruned"):
        score_stats(empty, stats)
