"""Stock DEAP on the stock primitive set: generators and operators never fail, trees always score.

``make_pset(stock=True)`` gives every type terminals and a pass-through primitive, so DEAP's own
``genFull``, ``genGrow``, ``genHalfAndHalf`` and its variation operators (also under
``gp.staticLimit``) always produce complete, well-typed trees. The terminals of the per-block and
per-architecture types stand for small proxies (``mean(A)``, ``agg_mean(mean(A))``), so every
branch is a real proxy. Every tree prints as a proxy string that parses into a tree that prints
and scores the same, and scores as a rank correlation or the clean invalid mark.
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
from lpzero_gp.primitives import PRUNED, Layerwise, Score, make_pset
from lpzero_gp.primitives.pset import EMPTY_TERMINALS, INPUTS, STOCK_TERMINALS
from lpzero_gp.proxy.parse import EMPTY_PROXY, format_tree, parse_tree
from lpzero_gp.score.evaluate import Evaluator
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
    """The tree prints (DEAP's own string is the proxy string) as a proxy with no empty part,
    which parses into a tree that prints the same, and scores as a rank correlation or the
    invalid mark."""
    text = format_tree(tree)
    assert str(tree) == text
    assert not any(node.arity == 0 and node.name in EMPTY_TERMINALS for node in tree)
    assert format_tree(parse_tree(text, FULL)) == text
    assert format_tree(parse_tree(text, STOCK)) == text
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


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_stock_generators_give_real_proxies(name: str, stats):
    """At every height 2-6 no tree has an empty part, and the evaluator scores the tree itself
    (its stock terminals included) as its proxy string; only the prune op can still empty a
    whole tree."""
    dataset = Dataset.from_stats(stats)
    evaluator = Evaluator(dataset)
    random.seed(SEED)
    for height in range(2, 7):
        live = 0
        for _ in range(200):
            tree = gp.PrimitiveTree(GENERATORS[name](STOCK, 2, height))
            assert not any(n.arity == 0 and n.name in EMPTY_TERMINALS for n in tree)
            out = evaluator.score(tree)
            again = Evaluator(dataset, memoize=False).score(parse_tree(format_tree(tree), FULL))
            assert (out is None) == (again is None), format_tree(tree)
            if out is not None:
                live += 1
                assert np.allclose(out.numpy(), again.numpy(), equal_nan=True), format_tree(tree)
        assert live >= 150, (height, live)


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
    assert {t.value for ts in FULL.terminals.values() for t in ts} == set(INPUTS)
    added = {t.value for ts in STOCK.terminals.values() for t in ts} - set(INPUTS)
    assert added == set(STOCK_TERMINALS) and len(added) == 90
    assert not set(EMPTY_TERMINALS) & set(STOCK.mapping)


def test_stock_terminals_follow_the_sets_ops_and_inputs():
    pset = make_pset(inputs=("A", "G", "W"), ops=("mean", "fro", "agg_mean"), stock=True)
    names = {t: sorted(n.name for n in pset.terminals[t]) for t in (Layerwise, Score)}
    assert names[Layerwise] == sorted(f"{r}({i})" for r in ("mean", "fro") for i in "AGW")
    assert names[Score] == sorted(f"agg_mean({r}({i}))" for r in ("mean", "fro") for i in "AGW")


def test_a_stock_terminal_is_the_proxy_it_stands_for(stats):
    m = STOCK.mapping
    tree = gp.PrimitiveTree([m["agg_mean_L"], m["add_L"], m["mean(A)"], m["exp_L"], m["fro(H)"]])
    text = "agg_mean(add(mean(A), exp(fro(H))))"
    assert str(tree) == format_tree(tree) == text
    dataset = Dataset.from_stats(stats)
    evaluator = Evaluator(dataset)
    assert np.array_equal(evaluator.score(tree).numpy(), score_stats(text, stats))
    # the terminal shares its proxy's memo entry
    hits = evaluator.hits
    evaluator.score(parse_tree("agg_sum(mean(A))", FULL))
    assert evaluator.hits == hits + 1
    whole = gp.PrimitiveTree([m["agg_sum(mean(A))"]])
    assert np.array_equal(evaluator.score(whole).numpy(), score_stats("agg_sum(mean(A))", stats))
    assert gp.compile(whole, STOCK)(*[dataset.inputs[a] for a in STOCK.arguments]).tolist() == \
        pytest.approx(score_stats("agg_sum(mean(A))", stats).tolist(), nan_ok=True)


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


def test_old_empty_terminals_read_as_pruned_branches(stats):
    """Strings of earlier stock sets (``pruned_L``, ``pruned_S``) still read, the empty terminals
    dropped as evaluation drops them."""
    for pset in (STOCK, FULL):
        tree = parse_tree("agg_mean(add(pruned_L, exp(mean(H))))", pset)
        assert format_tree(tree) == "agg_mean(exp(mean(H)))"
        empty = parse_tree("mul(pruned_S, agg_sum(exp(pruned_L)))", pset)
        assert format_tree(empty) == EMPTY_PROXY
    assert np.array_equal(score_stats(tree, stats), score_stats("agg_mean(exp(mean(H)))", stats))
    with pytest.raises(ValueError, match="pruned"):
        score_stats(empty, stats)
