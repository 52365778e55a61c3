"""Does a proxy add anything to the parameter count? Paired bootstrap and partial correlation.

On one split of a space (statistics from the cache when given) it prints the difference in
Spearman rho between a proxy and a feature baseline on the same architectures with a paired
bootstrap interval (5,000 resamples, seed 0), and the partial Spearman correlation of the
proxy with the truth given the baseline (ranks regressed linearly on the baseline's ranks).

    python scripts/proxy_vs_params.py --space llama --proxy llama-best --cache-dir /tmp/lcache
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import rankdata, spearmanr

from lpzero_gp.workflows.context import evaluate_proxy, load
from lpzero_gp.workflows.options import EvalOptions
from lpzero_gp.workflows.splits import select


def residual(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y`` minus its least-squares line on ``x``."""
    slope, intercept = np.polyfit(x, y, 1)
    return y - (slope * x + intercept)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="llama")
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--baseline", default="params")
    ap.add_argument("--split", default="test")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--resamples", type=int, default=5000)
    args = ap.parse_args()
    opts = EvalOptions(space=args.space, cache_dir=args.cache_dir, proxies=(args.proxy,),
                       quiet=True)
    loaded = load(opts.context())
    records = select(loaded.records, args.split, loaded.space, loaded.packaged)
    a = evaluate_proxy(loaded, args.proxy, records)
    b = evaluate_proxy(loaded, args.baseline, a.records)
    truth = np.array([r.truth for r in a.records])
    sa, sb = np.asarray(a.scores, dtype=float), np.asarray(b.scores, dtype=float)
    rng = np.random.default_rng(0)
    n = len(truth)
    diffs = np.empty(args.resamples)
    for k in range(args.resamples):
        i = rng.integers(0, n, n)
        diffs[k] = spearmanr(sa[i], truth[i])[0] - spearmanr(sb[i], truth[i])[0]
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    delta = spearmanr(sa, truth)[0] - spearmanr(sb, truth)[0]
    rb = rankdata(sb)
    partial = np.corrcoef(residual(rankdata(sa), rb), residual(rankdata(truth), rb))[0, 1]
    print(f"{args.space} {args.split} (n={n}): rho({args.proxy}) - rho({args.baseline}) = "
          f"{delta:+.3f} [{lo:+.3f}, {hi:+.3f}], P(diff <= 0) = {np.mean(diffs <= 0):.3f}; "
          f"partial Spearman given {args.baseline} = {partial:.3f}")


if __name__ == "__main__":
    main()
