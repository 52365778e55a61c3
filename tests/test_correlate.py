"""Partial, within-group and paired rank correlations on data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from lpzero_gp.score.correlate import (
    controlled,
    paired_bootstrap,
    partial,
    partial_spearman,
    undefined_reason,
    within,
    within_group_spearman,
)


@pytest.fixture(scope="module")
def family():
    """Depth in 2..6, a size that grows with depth, a truth = depth + an extra signal + noise."""
    rng = np.random.default_rng(7)
    n = 240
    depth = rng.integers(2, 7, n).astype(float)
    width = rng.choice([128.0, 256.0, 512.0], n)
    params = depth * width**2
    extra = rng.normal(size=n)
    truth = depth + extra + 0.3 * rng.normal(size=n)
    return {"depth": depth, "params": params, "extra": extra, "truth": truth, "rng": rng}


def _inside(ci, x):
    return ci[0] - 1e-12 <= x <= ci[1] + 1e-12


def test_the_truth_itself_scores_one_everywhere(family):
    t, c, g = family["truth"], family["params"], family["depth"]
    p = partial(t, t, c)
    assert p.rho == pytest.approx(1.0) and p.ci == pytest.approx((1.0, 1.0))
    w = within(t, t, g)
    assert w.rho == pytest.approx(1.0) and w.ci == pytest.approx((1.0, 1.0))
    assert all(x.rho == pytest.approx(1.0) for x in w.groups)


def test_the_group_variable_has_nothing_within_groups(family):
    w = within(family["depth"], family["truth"], family["depth"])
    assert w.rho == 0.0 and w.ci == (0.0, 0.0)
    assert [x.group for x in w.groups] == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert sum(x.n for x in w.groups) == len(family["depth"])


def test_a_score_that_is_the_covariate_has_no_partial_correlation(family):
    t, c = family["truth"], family["params"]
    assert math.isnan(partial_spearman(c, t, c))
    assert "params" in partial(c, t, c, given="params").reason
    assert math.isnan(partial_spearman(3 * c + 1, t, c))  # any increasing function of it


def test_noise_around_the_covariate_has_partial_near_zero(family):
    rng = np.random.default_rng(1)
    t = family["depth"] + rng.normal(scale=0.1, size=family["depth"].size)
    score = family["depth"] + rng.normal(scale=0.1, size=t.size)  # depth plus unrelated noise
    p = partial(score, t, family["depth"])
    assert spearmanr(score, t).statistic > 0.8  # high plain rho: both track depth
    assert abs(p.rho) < 0.15 and _inside(p.ci, 0.0) and _inside(p.ci, p.rho)


def test_partial_equals_the_three_correlation_formula(family):
    s = family["extra"] + family["rng"].normal(size=family["extra"].size)
    t, c = family["truth"], family["depth"]
    r = lambda a, b: spearmanr(a, b).statistic  # noqa: E731
    expected = (r(s, t) - r(s, c) * r(t, c)) / math.sqrt((1 - r(s, c) ** 2) * (1 - r(t, c) ** 2))
    assert partial_spearman(s, t, c) == pytest.approx(expected, rel=1e-9)
    p = partial(s, t, c)
    assert p.rho > r(s, t) and _inside(p.ci, p.rho)  # controlling for depth reveals extra


def test_within_pools_groups_weighted_by_size():
    score = np.array([1, 2, 3, 4, 5, 6, 1, 2, 3, 9, 8], dtype=float)
    truth = np.array([1, 2, 3, 4, 5, 6, 3, 2, 1, 0, 1], dtype=float)
    groups = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2], dtype=float)
    w = within_group_spearman(score, truth, groups)
    assert w.rho == pytest.approx((6 * 1.0 + 3 * -1.0) / 9)  # the pair in group 2 is too small
    assert [(x.group, x.n) for x in w.groups] == [(0.0, 6), (1.0, 3), (2.0, 2)]
    assert math.isnan(w.groups[2].rho)
    ci = within(score, truth, groups, seed=3).ci
    assert _inside(ci, w.rho)


def test_undefined_cases_are_nan_with_a_reason(family):
    t, g = family["truth"], family["depth"]
    const = np.ones_like(t)
    assert undefined_reason(t, const) == "constant truth"
    assert partial(t, const, family["params"]).reason == "constant truth"
    assert math.isnan(within(t, const, g).rho)
    assert within(t, t, np.arange(t.size)).reason.startswith("no group of 3")
    bad = t.copy()
    bad[0] = np.nan
    assert partial(bad, t, g).reason == "nan/inf score" and math.isnan(within(bad, t, g).rho)
    row = controlled(t, t, None, None, None, None, n=0)
    assert row["partial"]["reason"] == "no size feature"
    assert row["within"]["reason"] == "no group feature"


def test_intervals_hold_the_estimate_and_are_deterministic(family):
    s = family["truth"] + family["rng"].normal(scale=1.5, size=family["truth"].size)
    t, c, g = family["truth"], family["params"], family["depth"]
    a, b = partial(s, t, c, seed=0), partial(s, t, c, seed=0)
    assert a == b and _inside(a.ci, a.rho) and a.ci[0] < a.ci[1]
    assert partial(s, t, c, seed=1).ci != a.ci
    w = within(s, t, g, seed=0)
    assert w == within(s, t, g, seed=0) and _inside(w.ci, w.rho) and w.ci[0] < w.ci[1]


def test_paired_bootstrap_says_which_proxy_is_better(family):
    rng = np.random.default_rng(2)
    t = family["truth"]
    good = t + rng.normal(scale=0.3, size=t.size)
    poor = t + rng.normal(scale=2.0, size=t.size)
    ab = paired_bootstrap(good, poor, t, n=2000)
    assert ab.diff > 0 and ab.ci[0] > 0 and _inside(ab.ci, ab.diff) and ab.p_le_zero < 0.01
    assert ab.diff == pytest.approx(spearmanr(good, t).statistic - spearmanr(poor, t).statistic)
    ba = paired_bootstrap(poor, good, t, n=2000)
    assert ba.diff == pytest.approx(-ab.diff) and ba.p_le_zero > 0.99
    same = paired_bootstrap(good, good, t, n=500)
    assert same.diff == 0 and same.ci == (0.0, 0.0) and same.p_le_zero == 1.0
    assert paired_bootstrap(good, poor, t, n=500, seed=5) == paired_bootstrap(
        good, poor, t, n=500, seed=5)
    assert "constant" in paired_bootstrap(good, np.ones_like(t), t, n=10).reason
