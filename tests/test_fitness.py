"""Bootstrap intervals of rank correlations: coverage, determinism, degenerate inputs."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from lpzero_gp.score import fitness
from lpzero_gp.score.fitness import bootstrap_ci, rank


def noisy_monotone(n: int = 40, noise: float = 0.5, sign: float = 1.0, seed: int = 1):
    """Scores that follow the truth closely but not perfectly (no degenerate bootstrap)."""
    g = np.random.default_rng(seed)
    truth = g.normal(size=n)
    return sign * truth + noise * g.normal(size=n), truth


def is_nan_pair(iv: tuple[float, float]) -> bool:
    return math.isnan(iv[0]) and math.isnan(iv[1])


def test_interval_contains_the_estimate_for_a_clear_monotone_relation():
    scores, truth = noisy_monotone()
    est = rank(scores, truth)
    ci = bootstrap_ci(scores, truth, n=500)
    assert set(ci) == {"rho", "tau"}
    for name, value in (("rho", est.rho), ("tau", est.tau)):
        low, high = ci[name]
        assert isinstance(low, float) and isinstance(high, float)
        assert 0.0 < low <= value <= high <= 1.0


def test_negative_relation_gives_a_negative_interval():
    scores, truth = noisy_monotone(sign=-1.0)
    ci = bootstrap_ci(scores, truth, n=300)
    assert -1.0 <= ci["rho"][0] <= ci["rho"][1] < 0.0
    assert -1.0 <= ci["tau"][0] <= ci["tau"][1] < 0.0


def test_same_seed_same_intervals_other_seed_other_intervals():
    scores, truth = noisy_monotone(n=25, noise=1.0)
    a = bootstrap_ci(scores, truth, n=300, seed=5)
    assert bootstrap_ci(scores, truth, n=300, seed=5) == a
    assert bootstrap_ci(scores, truth, n=300, seed=6) != a


def test_lower_level_gives_a_nested_interval():
    """Same seed, same resamples: BCa quantiles move inwards as the level drops."""
    scores, truth = noisy_monotone(n=30, noise=1.0)
    wide = bootstrap_ci(scores, truth, n=300, level=0.95)
    narrow = bootstrap_ci(scores, truth, n=300, level=0.8)
    for name in ("rho", "tau"):
        assert wide[name][0] <= narrow[name][0] <= narrow[name][1] <= wide[name][1]


@pytest.mark.parametrize("scores", [
    [3.0],
    [2.0, 2.0, 2.0, 2.0],
    [1.0, float("nan"), 3.0, 4.0],
    [1.0, float("inf"), 3.0, 4.0],
    [1.0, 2.0, 1e31, 4.0],
])
def test_scores_that_cannot_be_ranked_give_nan_without_resampling(scores):
    truth = np.arange(len(scores), dtype=float)
    assert not rank(scores, truth).valid
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ci = bootstrap_ci(scores, truth, n=50)
    assert is_nan_pair(ci["rho"]) and is_nan_pair(ci["tau"])


def test_perfect_relation_gives_nan_where_bca_is_undefined():
    """Every resample correlates perfectly: the bootstrap distribution is degenerate."""
    truth = np.arange(15, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = bootstrap_ci(truth * 2.0, truth, n=100)
    assert is_nan_pair(ci["rho"]) and is_nan_pair(ci["tau"])


def test_generator_keyword_matches_the_installed_scipy():
    params = inspect.signature(stats.bootstrap).parameters
    assert fitness.bootstrap_rng_keyword() in params
    if "rng" in params:
        assert fitness.bootstrap_rng_keyword() == "rng"


def test_both_generator_keywords_give_the_same_intervals(monkeypatch):
    """Where SciPy still accepts ``random_state``, a Generator gives the same resamples."""
    params = inspect.signature(stats.bootstrap).parameters
    if not {"rng", "random_state"} <= set(params):
        pytest.skip("this SciPy accepts only one of the keywords")
    scores, truth = noisy_monotone(n=20, noise=1.0)
    monkeypatch.setattr(fitness, "bootstrap_rng_keyword", lambda: "rng")
    new = bootstrap_ci(scores, truth, n=200, seed=2)
    monkeypatch.setattr(fitness, "bootstrap_rng_keyword", lambda: "random_state")
    assert bootstrap_ci(scores, truth, n=200, seed=2) == new


@pytest.mark.parametrize("ties", [0, 3, 20])
def test_ranks_and_tau_are_scipys_bit_for_bit(ties):
    """The SciPy-free rankdata and Kendall tau-b give exactly SciPy's numbers."""
    rng = np.random.default_rng(ties)
    for n in (2, 3, 7, 50, 301):
        for _ in range(40):
            x = rng.normal(size=n)
            y = rng.normal(size=n)
            if ties:
                x = np.round(x * ties) / ties
                y = np.round(y * ties) / ties
            assert np.array_equal(fitness.rankdata(x), stats.rankdata(x))
            ours, theirs = fitness.kendall_tau_b(x, y), stats.kendalltau(x, y).statistic
            assert ours == theirs or (np.isnan(ours) and np.isnan(theirs)), (n, ours, theirs)
    rows = rng.integers(0, 5, size=(30, 12)).astype(float)
    assert np.array_equal(fitness.rankdata(rows), stats.rankdata(rows, axis=-1))
    small = fitness.kendall_tau_b(x, y, chunk_elements=7)  # chunked counting agrees
    assert small == fitness.kendall_tau_b(x, y)


def test_rows_are_ranked_at_once_exactly_as_one_by_one_and_as_scipy():
    """The vectorised ranking of many rows (bootstrap resamples) equals the one-row ranking
    bit for bit, ties and rows holding nan included, and SciPy's on the rows without nan."""
    from scipy.stats import rankdata as scipy_rankdata

    from lpzero_gp.score.fitness import _rank_row, rankdata

    rng = np.random.default_rng(7)
    for _ in range(200):
        m, n = rng.integers(1, 30), rng.integers(1, 40)
        a = rng.integers(0, rng.integers(1, 8), size=(m, n)).astype(float)
        if rng.random() < 0.4:
            a += rng.normal(size=a.shape)
        if rng.random() < 0.3:
            a[rng.integers(0, m), rng.integers(0, n)] = np.nan
        got = rankdata(a)
        assert np.array_equal(got, np.stack([_rank_row(r) for r in a]), equal_nan=True)
        clean = ~np.isnan(a).any(axis=1)
        assert np.array_equal(got[clean], scipy_rankdata(a[clean], axis=1))
    cube = rng.normal(size=(3, 4, 5))
    assert np.array_equal(rankdata(cube), scipy_rankdata(cube, axis=-1))
