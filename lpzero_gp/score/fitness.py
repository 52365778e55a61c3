"""Rank-correlation fitness with the reference's validity checks (docs/specs.md §4.7).

A proxy is invalid when any architecture's score is nan or saturated (overflow), when all
scores are equal, or when the correlation is undefined. Invalid proxies get
:data:`INVALID_FITNESS`, below every real correlation, so they are never preferred as parents.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass

import numpy as np

INVALID_FITNESS = -2.0
_OVERFLOW = 1e30


@dataclass(frozen=True)
class RankResult:
    """Spearman rho and Kendall tau of scores against ground truth (higher truth = better)."""

    rho: float
    tau: float
    valid: bool
    reason: str = ""

    @property
    def fitness(self) -> float:
        """The search objective: signed Spearman rho, or INVALID_FITNESS."""
        return self.rho if self.valid else INVALID_FITNESS


def settle(scores: np.ndarray, digits: int = 6) -> np.ndarray:
    """Scores with float round-off removed before ranking.

    Values below 1e-7 of the largest magnitude become 0 and every value keeps ``digits``
    significant digits (statistics are float32). Without this, proxies that are constant in
    exact arithmetic would rank architectures by noise.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0 or not np.all(np.isfinite(s)):
        return s
    scale = float(np.max(np.abs(s)))
    if scale == 0.0:
        return s
    s = np.where(np.abs(s) < 1e-7 * scale, 0.0, s)
    with np.errstate(divide="ignore"):
        exp = np.floor(np.log10(np.abs(s), where=s != 0, out=np.zeros_like(s)))
    unit = 10.0 ** (exp - (digits - 1))
    return np.round(s / unit) * unit


def invalid_reason(scores: np.ndarray) -> str:
    """Why a score vector cannot be ranked ('' when it can)."""
    if scores.size < 2:
        return "fewer than 2 scores"
    if not np.all(np.isfinite(scores)):
        return "nan/inf score"
    if np.max(np.abs(scores)) >= _OVERFLOW:
        return "overflow"
    if np.all(scores == scores[0]):
        return "constant scores"
    return ""


def rank(scores, truth, with_tau: bool = True) -> RankResult:
    """Spearman (average ranks for ties) and Kendall tau-b of ``scores`` against ``truth``."""
    s = settle(np.asarray(scores, dtype=np.float64))
    t = np.asarray(truth, dtype=np.float64)
    reason = invalid_reason(s)
    if reason:
        return RankResult(float("nan"), float("nan"), False, reason)
    rho = spearman(s, t)
    if not np.isfinite(rho):
        return RankResult(float("nan"), float("nan"), False, "undefined correlation")
    tau = kendall_tau_b(s, t) if with_tau else float("nan")
    return RankResult(rho, tau, True)


def spearman(s: np.ndarray, t: np.ndarray) -> float:
    """Spearman rho with average ranks for ties (scipy's definition, without its overhead)."""
    rs, rt = rankdata(s), rankdata(t)
    rs -= rs.mean()
    rt -= rt.mean()
    den = np.sqrt((rs * rs).sum() * (rt * rt).sum())
    return float((rs * rt).sum() / den) if den > 0 else float("nan")


def _rank_row(a: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share their mean rank) of one row."""
    if np.isnan(a).any():
        return np.full(a.shape, np.nan)
    sorter = np.argsort(a, kind="mergesort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size, dtype=np.intp)
    ordered = a[sorter]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = first.cumsum()[inv]
    starts = np.r_[np.nonzero(first)[0], first.size]
    return 0.5 * (starts[dense] + starts[dense - 1] + 1)


def _rank_rows(rows: np.ndarray) -> np.ndarray:
    """:func:`_rank_row` of every row of a 2-D array at once (a bootstrap ranks thousands of
    resampled rows; one sort over all of them replaces a Python loop)."""
    m, n = rows.shape
    sorter = np.argsort(rows, axis=1, kind="mergesort")
    ordered = np.take_along_axis(rows, sorter, axis=1)
    first = np.ones((m, n), dtype=bool)
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    last = np.ones((m, n), dtype=bool)
    last[:, :-1] = first[:, 1:]
    pos = np.arange(n)
    start = np.maximum.accumulate(np.where(first, pos, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, n - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((m, n))
    np.put_along_axis(ranks, sorter, 0.5 * (start + end + 2), axis=1)
    ranks[np.isnan(rows).any(axis=1)] = np.nan
    return ranks


def rankdata(x) -> np.ndarray:
    """Average ranks along the last axis, exactly as ``scipy.stats.rankdata`` gives them (the
    ranks are halves of integers, so they are exact), without importing SciPy: a command that
    only ranks starts about a second sooner."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim <= 1:
        return _rank_row(a.reshape(-1)).reshape(a.shape)
    if a.size == 0:
        return a.copy()
    return _rank_rows(a.reshape(-1, a.shape[-1])).reshape(a.shape)


def kendall_tau_b(x, y, chunk_elements: int = 1 << 22) -> float:
    """Kendall's tau-b, bit for bit as ``scipy.stats.kendalltau``: the same integer counts of
    concordant minus discordant pairs and of ties, and the same final expression. Pairs are
    counted in row chunks of at most ``chunk_elements`` comparisons; nan if either side is
    constant or has fewer than two values."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    n = x.size
    if n != y.size:
        raise ValueError("x and y differ in length")
    if n < 2:
        return float("nan")
    step = max(1, chunk_elements // n)
    signed = x_equal = y_equal = 0
    for i in range(0, n, step):
        dx = np.sign(x[i:i + step, None] - x[None, :]).astype(np.int8)
        dy = np.sign(y[i:i + step, None] - y[None, :]).astype(np.int8)
        signed += int((dx.astype(np.int64) * dy).sum())
        x_equal += int((dx == 0).sum())
        y_equal += int((dy == 0).sum())
    # every pair was seen twice and every value once against itself
    tot = n * (n - 1) // 2
    con_minus_dis = signed // 2
    xtie, ytie = (x_equal - n) // 2, (y_equal - n) // 2
    if xtie == tot or ytie == tot:
        return float("nan")
    tau = con_minus_dis / np.sqrt(tot - xtie) / np.sqrt(tot - ytie)
    return float(np.minimum(1.0, max(-1.0, tau)))


def bootstrap_rng_keyword() -> str:
    """SciPy 1.15 renamed bootstrap's ``random_state`` to ``rng``; older releases know only the
    old name. A Generator passed as either is used as is, so both give the same resamples."""
    from scipy import stats

    return "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"


def bootstrap_ci(scores, truth, n: int = 1000, seed: int = 0, level: float = 0.95
                 ) -> dict[str, tuple[float, float]]:
    """Bias-corrected (BCa) bootstrap intervals of rho and tau over architectures.

    Resampling architectures with replacement creates tied pairs, which biases rank
    correlations downwards; BCa corrects for that bias (a plain percentile interval can miss
    the point estimate). The same ``seed`` gives the same intervals. Scores that :func:`rank`
    rejects (fewer than 2, nan/inf, overflow, constant) give ``(nan, nan)`` without resampling,
    and so does a statistic whose BCa interval is undefined (a degenerate bootstrap
    distribution, e.g. a perfect relation, where SciPy warns).
    """
    from scipy import stats

    s = settle(np.asarray(scores, dtype=np.float64))
    t = np.asarray(truth, dtype=np.float64)
    nan = (float("nan"), float("nan"))
    if invalid_reason(s):
        return {"rho": nan, "tau": nan}
    out = {}
    # the statistics take every resample at once (SciPy's per-resample calls cost seconds);
    # tau's pair matrices are bounded by resampling in batches
    batch = {"rho": None, "tau": max(1, (1 << 22) // max(1, s.size * s.size))}
    for name, fn in (("rho", spearman_rows), ("tau", kendall_rows)):
        # resamples of a few architectures are often constant, and the interval is then
        # (nan, nan): SciPy's and NumPy's warnings about it are expected, not news
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            res = stats.bootstrap((s, t), fn, paired=True, vectorized=True, n_resamples=n,
                                  confidence_level=level, method="BCa", batch=batch[name],
                                  **{bootstrap_rng_keyword(): np.random.default_rng(seed)})
        out[name] = (float(res.confidence_interval.low), float(res.confidence_interval.high))
    return out


def spearman_rows(s, t, axis: int = -1) -> np.ndarray:
    """Spearman rho (average ranks for ties) along ``axis`` of every row pair at once; nan
    where a row is constant. The bootstrap's statistic (:func:`bootstrap_ci`)."""
    rs = rankdata(np.moveaxis(np.asarray(s, dtype=np.float64), axis, -1))
    rt = rankdata(np.moveaxis(np.asarray(t, dtype=np.float64), axis, -1))
    rs = rs - rs.mean(-1, keepdims=True)
    rt = rt - rt.mean(-1, keepdims=True)
    den = np.sqrt((rs * rs).sum(-1) * (rt * rt).sum(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, (rs * rt).sum(-1) / np.where(den > 0, den, 1.0), np.nan)


def kendall_rows(x, y, axis: int = -1) -> np.ndarray:
    """Kendall's tau-b along ``axis`` of every row pair at once, with the integer counts and
    final expression of :func:`kendall_tau_b`; nan where a row is constant."""
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    y = np.moveaxis(np.asarray(y, dtype=np.float64), axis, -1)
    n = x.shape[-1]
    dx = np.sign(x[..., :, None] - x[..., None, :]).astype(np.int8)
    dy = np.sign(y[..., :, None] - y[..., None, :]).astype(np.int8)
    con_minus_dis = (dx.astype(np.int64) * dy).sum((-2, -1)) // 2
    tot = n * (n - 1) // 2
    xtie = ((dx == 0).sum((-2, -1)) - n) // 2
    ytie = ((dy == 0).sum((-2, -1)) - n) // 2
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = con_minus_dis / np.sqrt(tot - xtie) / np.sqrt(tot - ytie)
    tau = np.clip(tau, -1.0, 1.0)
    return np.where((xtie == tot) | (ytie == tot), np.nan, tau)

#: ``run --combine`` choices: how the search rhos of one proxy on several spaces make its
#: fitness.
COMBINE = ("worst", "mean")


def combine(values, how: str) -> float:
    """One fitness of a proxy from its fitness on each of several spaces: the minimum
    (``worst``) or the mean (``mean``) of the correlations. A proxy invalid or rejected on any
    space (a fitness below -1) takes the lowest such fitness, so it is never preferred and
    its sign never flips it (:func:`~lpzero_gp.search.loop.Search`)."""
    values = [float(v) for v in values]
    if min(values) < -1.0:
        return min(values)
    if how == "worst":
        return min(values)
    if how == "mean":
        return float(np.mean(values))
    raise ValueError(f"unknown combination {how!r}; choose {', '.join(COMBINE)}")


class CombinedFitness:
    """Callable ``proxy -> (fitness, tau)`` over several spaces: each space's scorer (a
    :class:`~lpzero_gp.score.scoring.Scorer` on its own search split) and the two values
    :func:`combine`-d. Picklable when the scorers are, so it runs in a process pool."""

    def __init__(self, scorers: list, how: str):
        if how not in COMBINE:
            raise ValueError(f"unknown combination {how!r}; choose {', '.join(COMBINE)}")
        self.scorers = list(scorers)
        self.how = how

    @property
    def signed(self) -> bool:
        """Whether the fitness flips with the proxy's sign (the mean does, the worst not)."""
        return self.how == "mean"

    def __call__(self, proxy) -> tuple[float, float]:
        """(combined fitness, combined tau); tau is nan unless every scorer gives one."""
        fits, taus = zip(*(s(proxy) for s in self.scorers), strict=True)
        fit = combine(fits, self.how)
        valid = fit >= -1.0 and all(np.isfinite(taus))
        return fit, combine(taus, self.how) if valid else float("nan")

    def rank(self, proxy, with_tau: bool = True) -> RankResult:
        """The combined Spearman rho and Kendall tau of ``proxy`` (invalid when it is invalid
        on any space)."""
        results = [s.rank(proxy, with_tau=with_tau) for s in self.scorers]
        bad = next((r for r in results if not r.valid), None)
        if bad is not None:
            return bad
        return RankResult(combine([r.rho for r in results], self.how),
                          combine([r.tau for r in results], self.how), True)


__all__ = [
    "COMBINE", "CombinedFitness", "INVALID_FITNESS", "RankResult", "bootstrap_ci",
    "bootstrap_rng_keyword", "combine", "invalid_reason", "kendall_tau_b", "rank", "rankdata",
    "settle", "spearman",
]
