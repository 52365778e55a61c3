"""What a proxy tells beyond the trivial baselines: partial, within-group and paired rank
correlations with bootstrap intervals.

A proxy can rank a benchmark well only because it tracks the parameter count or the depth. Three
statistics separate that from new information:

* :func:`partial_spearman`: the rank correlation of scores and truth once a covariate (the
  space's size feature, ``params``) is controlled for. All three are rank-transformed; the ranks
  of scores and truth are regressed linearly on the covariate's ranks and the residuals
  correlated.
* :func:`within_group_spearman`: the rank correlation inside each group of a categorical
  baseline (the space's group feature, e.g. ``layers``), pooled as a size-weighted mean over
  the groups of at least ``min_size`` members. A group whose truth is constant has nothing to
  rank and is left out; a group whose scores are constant counts as 0 (the proxy cannot order
  it), so a proxy that is the group variable itself pools to 0.
* :func:`paired_bootstrap`: rho(A) - rho(B) on the same architectures, resampled jointly.

Scores are settled first (:func:`lpzero_gp.score.fitness.settle`), as for the fitness, and a
score vector the fitness rejects (nan, overflow, constant) gives nan with the same reason.
Intervals are bias-corrected percentile (BC) bootstrap intervals over architectures with a fixed
seed, so they are deterministic. Resampling ties architectures and biases rank correlations
downwards; the bias correction keeps the interval centred on the estimate. The partial
correlation and the paired difference resample the whole sample; the within-group correlation
resamples inside each group, so every resample has the same groups and group sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from lpzero_gp.score.fitness import invalid_reason, rankdata, settle, spearman_rows

#: Bootstrap resamples of the partial and within-group intervals.
RESAMPLES = 1000
#: Bootstrap resamples of a paired comparison (its one-sided probability is read to 3 digits).
PAIRED_RESAMPLES = 5000
#: Smallest group that enters the within-group correlation.
MIN_GROUP = 3
#: Fewest architectures an interval is read from: resamples of fewer are often constant (no
#: rank correlation), and the BCa interval is then undefined.
MIN_INTERVAL = 6
#: Residual variance (relative to the variance before regression) below which the scores or
#: the truth carry no ranking beyond the covariate.
_RESIDUAL_TOL = 1e-10

Interval = tuple[float, float]
_NAN_CI: Interval = (float("nan"), float("nan"))


@dataclass(frozen=True)
class _Rho:
    """A rank correlation that may be undefined (nan)."""

    rho: float

    @property
    def valid(self) -> bool:
        """Whether the correlation is defined."""
        return bool(np.isfinite(self.rho))


@dataclass(frozen=True)
class _RhoWithInterval(_Rho):
    """A rank correlation with its interval; ``reason`` says why ``rho`` is nan, ``ci_reason``
    why the interval is missing or degenerate (:func:`interval_reason`)."""

    ci: Interval | None = None
    reason: str = ""
    ci_reason: str = ""


@dataclass(frozen=True)
class Correlation(_RhoWithInterval):
    """The rank correlation of scores with the truth, with its interval."""


@dataclass(frozen=True)
class GroupRho:
    """The rank correlation inside one group (nan: constant truth, left out of the pool)."""

    group: float
    n: int
    rho: float


@dataclass(frozen=True)
class Within(_RhoWithInterval):
    """The pooled within-group correlation, its interval and the groups it pools."""

    groups: tuple[GroupRho, ...] = ()


@dataclass(frozen=True)
class Paired:
    """rho(A) - rho(B) on the same architectures, its interval and P(difference <= 0)."""

    diff: float
    ci: Interval
    p_le_zero: float
    n: int
    reason: str = ""
    rhos: tuple[float, float] = field(default=(float("nan"), float("nan")))


# -- vectorised rank correlations over bootstrap rows -------------------------------------------


def _centre(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=-1, keepdims=True)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every row pair (nan where a row is constant)."""
    a, b = _centre(a), _centre(b)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(-1) / np.where(den > 0, den, 1.0), np.nan)


def _residual(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y`` minus its least-squares line on ``x`` per row (``y`` centred when ``x`` is
    constant), with round-off zeroed: a row that ``x`` explains exactly becomes all 0."""
    yc, xc = _centre(y), _centre(x)
    sxx = (xc * xc).sum(-1, keepdims=True)
    slope = np.where(sxx > 0, (xc * yc).sum(-1, keepdims=True) / np.where(sxx > 0, sxx, 1.0), 0)
    r = yc - slope * xc
    tiny = (r * r).sum(-1, keepdims=True) <= _RESIDUAL_TOL * (yc * yc).sum(-1, keepdims=True)
    return np.where(tiny, 0.0, r)


def _partial_rows(s: np.ndarray, t: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Partial Spearman of every row triple (nan where undefined)."""
    rc = rankdata(c)
    return _pearson_rows(_residual(rankdata(s), rc), _residual(rankdata(t), rc))


def _bc_interval(boot: np.ndarray, estimate: float, level: float) -> Interval:
    """Bias-corrected percentile interval of ``boot`` around ``estimate`` (nan values dropped;
    nan when fewer than half the resamples are defined)."""
    from statistics import NormalDist

    norm = NormalDist()
    b = boot[np.isfinite(boot)]
    if not np.isfinite(estimate) or b.size < max(2, boot.size // 2):
        return _NAN_CI
    p = (np.sum(b < estimate) + 0.5 * np.sum(b == estimate)) / b.size
    p = min(max(p, 0.5 / b.size), 1 - 0.5 / b.size)
    z0 = norm.inv_cdf(float(p))
    za = norm.inv_cdf(0.5 + level / 2)
    q = [norm.cdf(2 * z0 - za), norm.cdf(2 * z0 + za)]
    lo, hi = np.quantile(b, q)
    return float(lo), float(hi)


def _prepare(scores, truth, *others) -> tuple[np.ndarray, ...]:
    """Scores and ``others`` settled (a covariate equal to the scores keeps equal ranks), the
    truth as given."""
    s = settle(np.asarray(scores, dtype=np.float64))
    t = np.asarray(truth, dtype=np.float64)
    out = [s, t] + [settle(np.asarray(o, dtype=np.float64)) for o in others]
    if any(a.shape != s.shape for a in out):
        raise ValueError("scores, truth and covariates must have the same length")
    return tuple(out)


def _reason(s: np.ndarray, t: np.ndarray) -> str:
    """Why no rank correlation of ``s`` with ``t`` exists ('' when one does)."""
    reason = invalid_reason(s)
    if reason:
        return reason
    if not np.all(np.isfinite(t)):
        return "nan/inf truth"
    if np.all(t == t[0]):
        return "constant truth"
    return ""


# -- partial correlation --------------------------------------------------------------------


def partial_spearman(scores, truth, covariate) -> float:
    """Partial Spearman correlation of ``scores`` and ``truth`` given ``covariate`` (nan when
    undefined: invalid or constant scores, constant truth, or scores or truth whose ranks the
    covariate's ranks explain exactly)."""
    return partial(scores, truth, covariate, n=0).rho


def partial(scores, truth, covariate, n: int = RESAMPLES, seed: int = 0, level: float = 0.95,
            given: str = "the covariate") -> Correlation:
    """:func:`partial_spearman` with its bootstrap interval over architectures (``n`` = 0: no
    interval) and, when undefined, the reason (``given`` names the covariate in it)."""
    s, t, c = _prepare(scores, truth, covariate)
    reason = _reason(s, t)
    if reason:  # no correlation, so no interval: both say why
        return Correlation(float("nan"), None, reason, reason)
    rc = rankdata(c)
    rs, rt = _residual(rankdata(s), rc), _residual(rankdata(t), rc)
    for residual, what in ((rs, "score"), (rt, "truth")):
        if not np.any(residual):
            why = f"the {what} ranks are those of {given}"
            return Correlation(float("nan"), None, why, why)
    rho = float(_pearson_rows(rs, rt))
    if n <= 0:
        return Correlation(rho)
    idx = np.random.default_rng(seed).integers(0, s.size, (n, s.size))
    boot = _partial_rows(s[idx], t[idx], c[idx])
    ci = _bc_interval(boot, rho, level)
    return Correlation(rho, ci, "", interval_reason(ci, rho, s.size, distinct=_distinct(s, t)))


# -- within-group correlation -----------------------------------------------------------------


def _pool(rhos: np.ndarray, const_scores: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Size-weighted mean over groups (last axis): a group with constant scores counts as 0,
    one with undefined rho (constant truth) is left out; nan where none is left."""
    r = np.where(const_scores, 0.0, rhos)
    w = np.where(np.isfinite(r), sizes, 0.0)
    tot = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (np.nan_to_num(r) * w).sum(-1) / np.where(tot > 0, tot, 1), np.nan)


def _const(x: np.ndarray) -> np.ndarray:
    return np.all(x == x[..., :1], axis=-1)


def within_group_spearman(scores, truth, groups, min_size: int = MIN_GROUP) -> Within:
    """Spearman rho inside each group of ``groups`` (a categorical baseline such as depth),
    pooled as a size-weighted mean over the groups of at least ``min_size`` architectures.

    Returns the pooled value and every group's size and rho (groups in ascending order); nan
    with a reason when no group qualifies."""
    return within(scores, truth, groups, n=0, min_size=min_size)


def within(scores, truth, groups, n: int = RESAMPLES, seed: int = 0, level: float = 0.95,
           min_size: int = MIN_GROUP) -> Within:
    """:func:`within_group_spearman` with a bootstrap interval (``n`` = 0: none). Each resample
    draws, inside every qualifying group, as many architectures as it holds."""
    s, t = _prepare(scores, truth)
    g = np.asarray(groups, dtype=np.float64)
    if g.shape != s.shape:
        raise ValueError("scores, truth and groups must have the same length")
    reason = invalid_reason(s)
    if reason:
        return Within(float("nan"), reason=reason, ci_reason=reason)
    members = [np.flatnonzero(g == v) for v in np.unique(g)]
    rows = []
    for v, idx in zip(np.unique(g), members, strict=True):
        rho = float("nan")
        if idx.size >= min_size and not _const(t[idx]):
            rho = 0.0 if _const(s[idx]) else float(spearman_rows(s[idx], t[idx]))
        rows.append(GroupRho(float(v), int(idx.size), rho))
    used = [(r, idx) for r, idx in zip(rows, members, strict=True) if np.isfinite(r.rho)]
    if not used:
        why = (f"no group of {min_size} or more architectures" if
               all(idx.size < min_size for idx in members) else
               f"the truth is constant in every group of {min_size} or more")
        return Within(float("nan"), reason=why, ci_reason=why, groups=tuple(rows))
    sizes = np.array([r.n for r, _ in used], dtype=float)
    rho = float(_pool(np.array([r.rho for r, _ in used]), np.zeros(len(used), bool), sizes))
    if n <= 0:
        return Within(rho, groups=tuple(rows))
    rng = np.random.default_rng(seed)
    boot_r = np.empty((n, len(used)))
    boot_c = np.empty((n, len(used)), dtype=bool)
    for j, (_, idx) in enumerate(used):
        pick = idx[rng.integers(0, idx.size, (n, idx.size))]
        boot_r[:, j] = spearman_rows(s[pick], t[pick])
        boot_c[:, j] = _const(s[pick]) & ~_const(t[pick])
    boot = _pool(boot_r, boot_c, sizes)
    ci = _bc_interval(boot, rho, level)
    why = interval_reason(ci, rho, int(sizes.sum()),
                          undefined="most resamples leave no group to rank")
    return Within(rho, ci, ci_reason=why, groups=tuple(rows))


# -- paired comparison ------------------------------------------------------------------------


def paired_bootstrap(a_scores, b_scores, truth, n: int = PAIRED_RESAMPLES, seed: int = 0,
                     level: float = 0.95) -> Paired:
    """rho(A) - rho(B) of two proxies on the same architectures, its bootstrap interval and the
    one-sided P(difference <= 0), from ``n`` joint resamples of the architectures."""
    a, t, b = _prepare(a_scores, truth, b_scores)
    reason = "; ".join(f"{who}: {why}" for who, why in
                       (("A", _reason(a, t)), ("B", invalid_reason(b))) if why)
    if reason:
        return Paired(float("nan"), _NAN_CI, float("nan"), a.size, reason)
    ra, rb = float(spearman_rows(a, t)), float(spearman_rows(b, t))
    idx = np.random.default_rng(seed).integers(0, a.size, (n, a.size))
    diffs = spearman_rows(a[idx], t[idx]) - spearman_rows(b[idx], t[idx])
    ok = diffs[np.isfinite(diffs)]
    p = float(np.mean(ok <= 0)) if ok.size else float("nan")
    return Paired(ra - rb, _bc_interval(diffs, ra - rb, level), p, a.size, "", (ra, rb))


# -- why an interval is missing or degenerate ----------------------------------------------------


def _distinct(*arrays: np.ndarray) -> int:
    """The fewest distinct values among ``arrays`` (ties make constant resamples likely)."""
    return min(int(np.unique(a).size) for a in arrays)


def interval_reason(ci: Sequence[float] | None, estimate: float, n: int, reason: str = "",
                    distinct: int | None = None,
                    undefined: str = "degenerate bootstrap distribution") -> str:
    """Why the interval ``ci`` of a correlation ``estimate`` on ``n`` architectures is missing
    or degenerate, in a few words ('' for a proper interval, or for none asked: ``ci`` None).

    An undefined correlation gives its own ``reason``. A missing interval (nan) of a defined
    one: too few architectures (below :data:`MIN_INTERVAL`), a perfect ranking (every resample
    ranks alike: no spread), ties (``distinct`` values among ``n``: some resamples are
    constant), else ``undefined``. A zero-width interval is degenerate: the resamples do not
    vary the correlation, which says nothing about its precision.
    """
    if not np.isfinite(estimate):
        return reason or "undefined correlation"
    if ci is None:
        return ""
    low, high = ci
    if np.isfinite(low) and np.isfinite(high):
        if low == high:
            return f"degenerate: zero width, the resamples of n = {n} do not vary it"
        return ""
    if n < MIN_INTERVAL:
        return f"n = {n}: too few for an interval"
    if abs(estimate) >= 1.0 - 1e-12:
        return f"perfect ranking ({estimate:.3f}): the resamples have no spread"
    if distinct is not None and distinct < n:
        return f"ties ({distinct} distinct values among {n}): some resamples are constant"
    return undefined


def bootstrap_reason(ci: Mapping[str, Sequence[float]] | None, scores, truth,
                     estimates: Mapping[str, float], reason: str = "") -> str:
    """:func:`interval_reason` of the intervals of
    :func:`~lpzero_gp.score.fitness.bootstrap_ci` (one per key of ``estimates``, e.g. rho and
    tau) in one text: the shared reason, or ``rho: ...; tau: ...`` when they differ. ``ci``
    None: none was computed, and only an undefined correlation's ``reason`` is given."""
    if ci is None:
        return reason if any(not np.isfinite(v) for v in estimates.values()) else ""
    s, t = _prepare(scores, truth)
    distinct = _distinct(s, t)
    why = {k: interval_reason(ci.get(k), v, s.size, reason, distinct)
           for k, v in estimates.items()}
    texts = set(why.values())
    if len(texts) == 1:
        return texts.pop()
    return "; ".join(f"{k}: {w}" for k, w in why.items() if w)


# -- what the reports show --------------------------------------------------------------------


def controlled(scores, truth, size: Sequence[float] | None, groups: Sequence[float] | None,
               size_name: str | None, group_name: str | None, n: int = RESAMPLES,
               seed: int = 0) -> dict:
    """The ``partial`` and ``within`` entries of a report row, JSON-ready: the correlation given
    the size feature and within the group feature, each with its interval and, when undefined,
    the reason (a space without such a feature: 'no size feature' / 'no group feature')."""
    if size is None or size_name is None:
        p = {"given": None, "rho": float("nan"), "ci": None, "reason": "no size feature",
             "ci_reason": ""}
    else:
        r = partial(scores, truth, size, n=n, seed=seed, given=size_name)
        p = {"given": size_name, "rho": r.rho, "ci": _ci(r.ci), "reason": r.reason,
             "ci_reason": r.ci_reason}
    if groups is None or group_name is None:
        w = {"by": None, "rho": float("nan"), "ci": None, "reason": "no group feature",
             "ci_reason": "", "groups": []}
    else:
        r = within(scores, truth, groups, n=n, seed=seed)
        w = {"by": group_name, "rho": r.rho, "ci": _ci(r.ci), "reason": r.reason,
             "ci_reason": r.ci_reason,
             "groups": [{"group": x.group, "n": x.n, "rho": x.rho} for x in r.groups]}
    return {"partial": p, "within": w}


def _ci(ci: Interval | None) -> list[float] | None:
    return None if ci is None else [ci[0], ci[1]]


def paired_entry(a_name: str, b_name: str, a_scores, b_scores, truth,
                 n: int = PAIRED_RESAMPLES, seed: int = 0) -> dict:
    """A paired comparison as a JSON-ready report entry."""
    r = paired_bootstrap(a_scores, b_scores, truth, n=n, seed=seed)
    return {"a": a_name, "b": b_name, "n": r.n, "diff": r.diff, "ci": list(r.ci),
            "p_le_zero": r.p_le_zero, "rho_a": r.rhos[0], "rho_b": r.rhos[1],
            "reason": r.reason}


def undefined_reason(scores, truth) -> str:
    """Why the rank correlation of ``scores`` with ``truth`` is undefined ('' when it is not):
    the fitness's reasons for the scores (nan/inf, overflow, constant), or a constant truth."""
    s, t = _prepare(scores, truth)
    return _reason(s, t)

__all__ = [
    "MIN_GROUP", "MIN_INTERVAL", "bootstrap_reason", "controlled", "interval_reason",
    "paired_bootstrap", "paired_entry", "partial", "partial_spearman", "undefined_reason",
    "within", "within_group_spearman",
]
