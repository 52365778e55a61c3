"""Tests of the evaluator: scores equal a direct torch computation from the raw tensors,
memoisation changes nothing, and missing data makes a proxy invalid instead of crashing."""

from __future__ import annotations

import math
import pickle
import random

import numpy as np
import pytest
import torch
from deap import gp
from toy import toy_family, toy_raw

from lpzero_gp.primitives import make_pset
from lpzero_gp.proxy.generate import gen_typed
from lpzero_gp.proxy.parse import parse_tree
from lpzero_gp.score.evaluate import Evaluator
from lpzero_gp.score.fitness import INVALID_FITNESS, rank
from lpzero_gp.score.scoring import Scorer, score_raw, score_stats
from lpzero_gp.stats.store import Dataset, compact

PSET = make_pset()
CONFIGS = [(1, 8, 0), (2, 16, 1), (3, 24, 2), (2, 40, 3)]  # (depth, width, seed)
FULL = 10**9  # a budget under which nothing is subsampled


@pytest.fixture(scope="module")
def raws():
    return [toy_raw(d, w, s) for d, w, s in CONFIGS]


@pytest.fixture(scope="module")
def dataset(raws) -> Dataset:
    return Dataset.from_stats([compact(r, budget=FULL) for r in raws])


def _engine(ds: Dataset, text: str) -> np.ndarray:
    return Evaluator(ds).score(parse_tree(text, PSET)).numpy()


def _cat(block: list[torch.Tensor], fn=None) -> torch.Tensor:
    """All entries of one block (after an optional per-tensor map), float64."""
    fn = fn or (lambda t: t)
    return torch.cat([fn(t.double()).reshape(-1) for t in block])


def _direct(raws, letter: str, per_block, agg: str = "mean") -> np.ndarray:
    out = []
    for raw in raws:
        vals = [float(per_block(b)) for b in raw[letter]]
        out.append(sum(vals) / len(vals) if agg == "mean" else sum(vals))
    return np.array(out)


def _minmax(x: torch.Tensor) -> torch.Tensor:
    return (x - x.min()) / (x.max() - x.min() + 1e-9)


def _znorm(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean()) / x.std()


def _safe_log(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, torch.log(x.clamp_min(1e-300)), torch.zeros_like(x))


CASES = {
    "agg_mean(mean(A))": ("A", lambda b: _cat(b).mean()),
    "agg_mean(norm_sum(W))": ("W", lambda b: _cat(b).mean()),
    "agg_mean(l1(G))": ("G", lambda b: _cat(b).abs().mean()),
    "agg_mean(fro(H))": ("H", lambda b: _cat(b).pow(2).sum().sqrt()),
    "agg_mean(fro(W))": ("W", lambda b: _cat(b).pow(2).sum().sqrt()),
    "agg_mean(std(J))": ("J", lambda b: _cat(b).std()),
    "agg_mean(std(W))": ("W", lambda b: _cat(b).std()),
    "agg_mean(mean(minmax(A)))": ("A", lambda b: _minmax(_cat(b)).mean()),
    "agg_mean(mean(minmax(W)))": ("W", lambda b: _minmax(_cat(b)).mean()),
    "agg_mean(l1(znorm(H)))": ("H", lambda b: _znorm(_cat(b)).abs().mean()),
    "agg_mean(mean(square(znorm(G))))": ("G", lambda b: _znorm(_cat(b)).pow(2).mean()),
    "agg_mean(mean(square(softmax(A))))":
        ("A", lambda b: _cat(b, lambda t: torch.softmax(t, -1)).pow(2).mean()),
    "agg_mean(mean(square(softmax(W))))":
        ("W", lambda b: _cat(b, lambda t: torch.softmax(t, -1)).pow(2).mean()),
    "agg_mean(mean(log_softmax(S)))":
        ("S", lambda b: _cat(b, lambda t: torch.log_softmax(t, -1)).mean()),
    "agg_mean(mean(log(H)))": ("H", lambda b: _safe_log(_cat(b)).mean()),
    "agg_mean(mean(sqrt(A)))": ("A", lambda b: _cat(b).clamp_min(0).sqrt().mean()),
    "agg_mean(mean(sigmoid(J)))": ("J", lambda b: torch.sigmoid(_cat(b)).mean()),
    "agg_sum(mean(A))": ("A", lambda b: _cat(b).mean(), "sum"),
    "agg_sum(fro(W))": ("W", lambda b: _cat(b).pow(2).sum().sqrt(), "sum"),
}


@pytest.mark.parametrize("text", sorted(CASES))
def test_scores_equal_direct_computation(raws, dataset, text: str):
    letter, fn, *agg = CASES[text]
    expected = _direct(raws, letter, fn, *(agg or ["mean"]))
    np.testing.assert_allclose(_engine(dataset, text), expected, rtol=2e-5, atol=1e-9)


def test_param_product_equals_direct(raws, dataset):
    def per_block(raw):
        return [float(torch.cat([(g.double() * w.double()).abs().reshape(-1)
                                 for g, w in zip(gb, wb, strict=True)]).mean())
                for gb, wb in zip(raw["G"], raw["W"], strict=True)]

    expected = np.array([sum(per_block(r)) for r in raws])
    np.testing.assert_allclose(_engine(dataset, "agg_sum(l1(mul(G, W)))"), expected, rtol=2e-5)


def test_layerwise_binary_equals_direct(raws, dataset):
    expected = np.array([
        np.mean([float(_cat(w).pow(2).sum().sqrt() / _cat(g).abs().mean())
                 for w, g in zip(r["W"], r["G"], strict=True)]) for r in raws])
    got = _engine(dataset, "agg_mean(div(fro(W), l1(G)))")
    np.testing.assert_allclose(got, expected, rtol=2e-5)


def test_agg_sum_is_blocks_times_agg_mean(dataset):
    depth = np.array([d for d, _, _ in CONFIGS], dtype=float)
    for inner in ("mean(A)", "fro(W)", "std(square(G))", "l1(softmax(H))"):
        s = _engine(dataset, f"agg_sum({inner})")
        m = _engine(dataset, f"agg_mean({inner})")
        np.testing.assert_allclose(s, depth * m, rtol=1e-12)
    assert dataset.blocks_per_arch == [d for d, _, _ in CONFIGS]


def test_compiled_tree_equals_evaluator(dataset):
    for text in ("agg_mean(add(mean(square(neg(H))), log_softmax(fro(A))))",
                 "agg_sum(l1(mul(G, W)))", "agg_mean(std(minmax(J)))"):
        tree = parse_tree(text, PSET)
        fn = gp.compile(tree, PSET)
        direct = fn(*[dataset.inputs[name] for name in PSET.arguments])
        np.testing.assert_allclose(direct.numpy(), _engine(dataset, text), rtol=1e-12)


def test_shared_rows_keep_param_products_exact():
    """G and W of one parameter keep the same rows when subsampled, so G*W stays exact."""
    g = [[torch.randn(64, 32)], [torch.randn(48, 32), torch.randn(32, 16)]]
    raw = {"G": g, "W": [[t * 1.0 for t in b] for b in g]}  # W equal to G, entry by entry
    ds = Dataset.from_stats([compact(raw, budget=128)])  # heavy subsampling
    assert ds.inputs["G"].layout is ds.inputs["W"].layout
    a = _engine(ds, "agg_mean(mean(mul(G, W)))")
    b = _engine(ds, "agg_mean(mean(square(W)))")
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_full_size_scaling_of_fro_under_subsampling():
    """A constant tensor's Frobenius norm is exact even when only a few rows are stored."""
    raw = {"A": [[torch.full((50, 20), 2.0)], [torch.full((7, 3, 20), -1.0)]]}
    ds = Dataset.from_stats([compact(raw, budget=40)])
    got = _engine(ds, "agg_sum(fro(A))")
    assert got[0] == pytest.approx(math.sqrt(1000 * 4.0) + math.sqrt(420 * 1.0))


def test_std_and_znorm_of_offset_data():
    """Data whose mean is far larger than its spread (one-pass variance would cancel)."""
    torch.manual_seed(0)
    t = 100.0 + 0.01 * torch.randn(64, 32)
    ds = Dataset.from_stats([compact({"A": [[t], [t[:10], -t[10:]]]}, budget=FULL)])
    blocks = [t.double().reshape(-1), torch.cat([t[:10], -t[10:]]).double().reshape(-1)]
    std = np.mean([float(b.std()) for b in blocks])
    l1z = np.mean([float(_znorm(b).abs().mean()) for b in blocks])
    np.testing.assert_allclose(_engine(ds, "agg_mean(std(A))"), [std], rtol=1e-4)
    np.testing.assert_allclose(_engine(ds, "agg_mean(l1(znorm(A)))"), [l1z], rtol=1e-3)


def _random_trees(n: int, seed: int) -> list[gp.PrimitiveTree]:
    random.seed(seed)
    return [gp.PrimitiveTree(gen_typed(PSET, 1, 6)) for _ in range(n)]


def test_memoised_equals_non_memoised():
    ds = Dataset.from_stats(toy_family(3))
    memo, plain = Evaluator(ds), Evaluator(ds, memoize=False)
    trees = _random_trees(200, seed=3)
    for tree in trees + trees[::-1]:  # second pass is served from the memo
        a, b = memo.score(tree), plain.score(tree)
        if a is None or b is None:
            assert a is None and b is None
            continue
        torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)
    assert memo.hits > 0 and plain.hits == 0


def test_tiny_tensor_cache_still_correct():
    ds = Dataset.from_stats(toy_family(3))
    small, plain = Evaluator(ds, tensor_cache_bytes=4096), Evaluator(ds, memoize=False)
    for tree in _random_trees(100, seed=4):
        a, b = small.score(tree), plain.score(tree)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)
    assert small.tensor_bytes <= 4096


def _missing_dataset(raws) -> tuple[Dataset, np.ndarray]:
    r0 = {k: v for k, v in raws[0].items() if k != "S"}  # arch 0: no softmax input at all
    r1 = dict(raws[1])
    r1["S"] = [raws[1]["S"][0], []]  # arch 1: its second block lacks the input
    stats = [compact(r0), compact(r1), compact(raws[2]), compact(raws[3])]
    return Dataset.from_stats(stats), np.arange(4.0)


def test_missing_input_gives_nan_and_invalid_fitness(raws):
    ds, truth = _missing_dataset(raws)
    scores = _engine(ds, "agg_mean(mean(S))")
    assert math.isnan(scores[0]) and math.isnan(scores[1])
    assert np.isfinite(scores[2:]).all()
    scorer = Scorer(ds, truth)
    assert scorer("agg_mean(add(mean(S), mean(H)))") == (INVALID_FITNESS, pytest.approx(
        float("nan"), nan_ok=True))
    assert not scorer.rank("agg_sum(fro(S))").valid
    # proxies that do not use the missing input are unaffected
    fit, _ = scorer("agg_mean(mean(H))")
    assert fit != INVALID_FITNESS


def test_input_absent_from_every_architecture(raws):
    ds = Dataset.from_stats([compact({k: v for k, v in r.items() if k != "J"}) for r in raws])
    assert np.isnan(_engine(ds, "agg_mean(std(J))")).all()
    assert Scorer(ds, np.arange(4.0))("agg_mean(std(J))")[0] == INVALID_FITNESS


def test_scores_constant_up_to_round_off_are_invalid():
    """Every toy architecture has hidden width 16, so mean(softmax(H)) = 1/16 everywhere."""
    ds = Dataset.from_stats(toy_family(6))
    scores = Scorer(ds, np.arange(6.0)).scores("agg_mean(mean(softmax(H)))")
    np.testing.assert_allclose(scores, 1 / 16, rtol=1e-6)
    assert not Scorer(ds, np.arange(6.0)).rank("agg_mean(mean(softmax(H)))").valid


def test_fitness_invalid_reasons():
    assert rank([1.0, 1.0, 1.0], [1, 2, 3]).reason == "constant scores"
    assert rank([1.0, float("nan"), 2.0], [1, 2, 3]).reason == "nan/inf score"
    assert rank([1.0, 1e31, 2.0], [1, 2, 3]).reason == "overflow"
    assert rank([1.0], [1]).reason == "fewer than 2 scores"
    r = rank([3.0, 1.0, 2.0], [30, 10, 20])
    assert r.valid and r.rho == pytest.approx(1.0) and r.fitness == r.rho


def test_scorer_pickles_and_named_proxies(dataset):
    truth = np.arange(4.0)
    scorer = Scorer(dataset, truth)
    before = scorer.scores("paper_bert")
    clone = pickle.loads(pickle.dumps(scorer))
    np.testing.assert_array_equal(clone.scores("paper_bert"), before)
    with pytest.raises(ValueError):
        Scorer(dataset, np.arange(3.0))


def test_score_raw_matches_score_stats(raws):
    text = "agg_mean(add(mean(abs(znorm(G))), abslog(mean(W))))"
    one = score_raw(text, raws[1], budget=FULL)
    many = score_stats(text, [compact(r, budget=FULL) for r in raws])
    assert one == pytest.approx(many[1], rel=1e-9)
    assert score_raw("paper_gpt2", raws[1], budget=FULL) == pytest.approx(one, rel=1e-12)
