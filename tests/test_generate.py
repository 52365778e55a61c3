"""Tests of tree generation and DEAP variation: never fails, always well typed, always evaluable."""

from __future__ import annotations

import random
from functools import partial

import pytest
import torch
from deap import gp
from toy import toy_raw

from lpzero_gp.primitives import Layerwise, ParamList, Score, TensorList, make_pset
from lpzero_gp.proxy.generate import cx_one_point, gen_lpzero, gen_typed
from lpzero_gp.proxy.parse import format_tree, parse_tree, typed_string
from lpzero_gp.score.evaluate import Evaluator
from lpzero_gp.stats.store import Dataset, compact

PSET = make_pset()


@pytest.fixture(scope="module")
def tiny() -> Dataset:
    """Two small architectures with every input (a few hundred numbers each)."""
    stats = [compact(toy_raw(1, 8, 0, d=4, batch=2), budget=16),
             compact(toy_raw(2, 12, 1, d=4, batch=2), budget=16)]
    return Dataset.from_stats(stats)


def _check_scores(out, n_archs: int) -> None:
    if out is None:  # every branch pruned
        return
    assert isinstance(out, torch.Tensor) and out.shape == (n_archs,)
    assert out.dtype == torch.float64
    assert bool((torch.isfinite(out) | torch.isnan(out)).all())
    assert not torch.isinf(out).any()


def _check_tree(tree: gp.PrimitiveTree, pset=PSET, readable: bool = True) -> None:
    assert tree[0].ret is Score
    assert parse_tree(typed_string(tree), pset) == tree
    if readable:
        assert format_tree(parse_tree(format_tree(tree), pset)) == format_tree(tree)


def test_ten_thousand_random_trees(tiny):
    rng = random.Random(2024)
    ev = Evaluator(tiny)  # memoised: every distinct sub-tree is still computed once
    heights = []
    for _ in range(10_000):
        tree = gp.PrimitiveTree(gen_typed(PSET, 1, 8, rng=rng))
        heights.append(tree.height)
        _check_tree(tree, readable=False)  # the readable form is checked in test_parse
        _check_scores(ev.score(tree), tiny.n_archs)
    assert max(heights) <= 8
    assert min(heights) == 2  # agg(reduce(input)) is the smallest proxy
    assert len(set(heights)) >= 5


def test_lpzero_shaped_trees(tiny):
    rng = random.Random(99)
    ev = Evaluator(tiny)
    for _ in range(2_000):
        tree = gen_lpzero(PSET, rng=rng)
        _check_tree(tree, readable=False)
        _check_scores(ev.score(tree), tiny.n_archs)


@pytest.mark.parametrize("n_unary", [1, 3, 5])
def test_lpzero_chain_lengths(tiny, n_unary: int):
    rng = random.Random(n_unary)
    for _ in range(100):
        tree = gen_lpzero(PSET, n_unary=n_unary, aggregations=("agg_mean", "agg_sum"), rng=rng)
        _check_tree(tree)
        assert tree.height <= n_unary + 4


def test_gen_typed_subtree_types():
    rng = random.Random(1)
    for t in (TensorList, ParamList, Layerwise, Score):
        for _ in range(50):
            expr = gen_typed(PSET, 0, 3, type_=t, rng=rng)
            assert issubclass(expr[0].ret, t)
            sub = gp.PrimitiveTree(expr)
            assert len(sub) == sub.searchSubtree(0).stop


def test_gen_typed_below_minimum_height_still_completes():
    rng = random.Random(3)
    for _ in range(200):
        tree = gp.PrimitiveTree(gen_typed(PSET, 0, 0, rng=rng))
        _check_tree(tree)


@pytest.mark.parametrize("inputs,ops", [
    (("A",), None),
    (("G", "W"), None),
    (("H", "W"), ("mean", "agg_sum", "square", "add")),
    (("A", "H", "S", "J", "G", "W"), ("fro", "agg_mean")),
])
def test_gen_typed_on_restricted_sets(inputs, ops):
    pset = make_pset(inputs, ops)
    rng = random.Random(5)
    for _ in range(300):
        _check_tree(gp.PrimitiveTree(gen_typed(pset, 1, 6, rng=rng)), pset)


def test_deap_variation_keeps_trees_parseable(tiny):
    random.seed(11)
    expr_mut = partial(gen_typed, min_=0, max_=2)
    ev = Evaluator(tiny)
    trees = [gp.PrimitiveTree(gen_typed(PSET, 1, 6)) for _ in range(200)]
    out = []
    for i in range(0, len(trees), 2):
        a, b = gp.cxOnePoint(gp.PrimitiveTree(trees[i]), gp.PrimitiveTree(trees[i + 1]))
        out += [a, b]
    for t in trees:
        (m,) = gp.mutUniform(gp.PrimitiveTree(t), expr_mut, PSET)
        out.append(m)
        (m,) = gp.mutNodeReplacement(gp.PrimitiveTree(t), PSET)
        out.append(m)
        (m,) = gp.mutShrink(gp.PrimitiveTree(t))
        out.append(m)
    changed = sum(str(a) != str(b) for a, b in zip(out[:200], trees, strict=True))
    assert changed > 50
    for t in out:
        _check_tree(t)
        _check_scores(ev.score(t), tiny.n_archs)


def test_gen_typed_is_deterministic_under_a_seed():
    random.seed(123)
    a = [str(gp.PrimitiveTree(gen_typed(PSET, 1, 8))) for _ in range(50)]
    random.seed(123)
    b = [str(gp.PrimitiveTree(gen_typed(PSET, 1, 8))) for _ in range(50)]
    assert a == b


def _draws(rng: random.Random | None) -> list[str]:
    """Trees of both generators and their one-point crossovers, all drawn from ``rng``."""
    trees = [gp.PrimitiveTree(gen_typed(PSET, 1, 8, rng=rng)) for _ in range(20)]
    trees += [gen_lpzero(PSET, 3, ("agg_mean", "agg_sum"), rng=rng) for _ in range(20)]
    pairs = [cx_one_point(gp.PrimitiveTree(a), gp.PrimitiveTree(b), rng=rng)
             for a, b in zip(trees[::2], trees[1::2], strict=True)]
    return [str(t) for t in trees] + [str(x) for pair in pairs for x in pair]


@pytest.mark.parametrize("seed", range(4))
def test_explicit_rng_draws_as_the_seeded_global_random(seed):
    """``rng=Random(s)`` gives what the global ``random`` seeded with ``s`` gives (the default),
    with the same draws, and leaves the global state alone."""
    random.seed(seed)
    expected = _draws(None)
    after = random.getstate()
    random.seed(seed + 1000)
    untouched = random.getstate()
    rng = random.Random(seed)
    assert _draws(rng) == expected
    assert rng.getstate() == after
    assert random.getstate() == untouched
