"""Does a proxy add anything to the parameter count? Paired bootstrap and partial correlation.

On one split of a space (statistics from the cache when given) it prints the difference in
Spearman rho between a proxy and a feature baseline on the same architectures with a paired
bootstrap interval (5,000 resamples, seed 0), and the partial Spearman correlation of the
proxy with the truth given the baseline, with its interval
(:mod:`lpzero_gp.score.correlate`; ``lpzero-gp eval --compare`` reports the same).

    python scripts/proxy_vs_params.py --space llama --proxy llama-best --cache-dir /tmp/lcache
"""

from __future__ import annotations

import argparse

import numpy as np

from lpzero_gp.score.correlate import paired_bootstrap, partial
from lpzero_gp.workflows.context import evaluate_proxy, load
from lpzero_gp.workflows.options import EvalOptions
from lpzero_gp.workflows.report import corr, signed
from lpzero_gp.workflows.splits import select


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
    pair = paired_bootstrap(a.scores, b.scores, truth, n=args.resamples)
    part = partial(a.scores, truth, b.scores, given=args.baseline)
    lo, hi = pair.ci
    print(f"{args.space} {args.split} (n={pair.n}): rho({args.proxy}) - rho({args.baseline}) = "
          f"{signed(pair.diff)} [{signed(lo)}, {signed(hi)}], P(diff <= 0) = "
          f"{pair.p_le_zero:.3f}; partial Spearman given {args.baseline} = "
          f"{corr(part.rho, part.reason)} [{signed(part.ci[0]) if part.ci else '-'}, "
          f"{signed(part.ci[1]) if part.ci else '-'}]")


if __name__ == "__main__":
    main()
