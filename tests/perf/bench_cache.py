"""Benchmark: what the statistics cache and lazy imports buy, as ratios measured in one run.

1. ``lpzero-gp eval`` of a proxy on N FlexiBERT architectures with an empty cache (every model
   is built), then ``eval`` of another, new proxy on the same architectures (statistics come
   from the cache: no model is built). Printed: both times and second / first.
2. ``lpzero-gp --help`` against ``python -c "import click"`` (the floor of any click command
   line), each the median of several runs (as ``bench_startup.py`` measures them).

    python tests/perf/bench_cache.py [--archs 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

FIRST = "agg_mean(l1(W))"
SECOND = "agg_sum(fro(G))"


def _timed(argv: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds, done.stdout


def _eval(proxy: str, archs: int, cache: str, env: dict) -> tuple[float, dict]:
    seconds, out = _timed([sys.executable, "-m", "lpzero_gp", "eval", "--archs", str(archs),
                           "--proxy", proxy, "--cache-dir", cache, "--quiet", "--json"], env)
    return seconds, json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    env = {**os.environ}
    env.pop("LPZERO_GP_NO_CACHE", None)
    with tempfile.TemporaryDirectory(prefix="lpzero-bench-cache-") as cache:
        first, r1 = _eval(FIRST, args.archs, cache, env)
        second, r2 = _eval(SECOND, args.archs, cache, env)
    built = [r.get("statistics", {}).get("models_built") for r in (r1, r2)]
    print(f"eval on {args.archs} FlexiBERT architectures, empty cache  : {first:8.2f} s "
          f"(models built: {built[0]})")
    print(f"eval of a new proxy, same architectures (cache): {second:8.2f} s "
          f"(models built: {built[1]})")
    print(f"second / first = {second / first:.3f}")

    from bench_startup import CASES, median_seconds

    click_s = median_seconds(CASES["python -c 'import click'"], args.repeat)
    help_s = median_seconds(CASES["lpzero-gp --help"], args.repeat)
    print(f"python -c 'import click'   : {click_s:6.3f} s (median of {args.repeat})")
    print(f"lpzero-gp --help           : {help_s:6.3f} s (median of {args.repeat})")
    print(f"--help / import click = {help_s / click_s:.2f}")

if __name__ == "__main__":
    main()
