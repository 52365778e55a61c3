"""Search speed benchmark (not part of the test run): prints a table and writes JSON.

    python tests/perf/bench_search.py [--out bench.json] [--quick]

Measures, for FlexiBERT at the CPU default batch (16 x 128):
  * statistics extraction seconds per architecture (build + forward/backward + compaction);
  * proxy evaluations per second over stored statistics of 50 architectures (distinct,
    RPS-valid proxies, so duplicates count once);
  * wall time and peak RSS of a search at the paper's budget (population 80, 1,000 offspring
    evaluations, 50 architectures, seed 42), cold (empty cache) and warm (cache filled);
  * the same warm search with memoisation and RPS de-duplication off, as a ratio measured in
    the same run.
Timings are noisy on a shared machine; ratios from one run are what to compare.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _cli(args: list[str]) -> tuple[float, float, dict]:
    """Run ``lpzero-gp`` in a child process; (wall seconds, peak RSS GiB, JSON summary)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lpzero_gp", *args, "--json", "--quiet"],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"lpzero-gp {' '.join(args)} failed:\n{proc.stderr}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return wall, rss, json.loads(proc.stdout)


def bench_extraction(n: int) -> float:
    """Seconds per architecture for extraction at the default batch."""
    from lpzero_gp.spaces import get_space
    from lpzero_gp.stats.calibration import space_batch
    from lpzero_gp.stats.extract import ExtractConfig, extract_one
    from lpzero_gp.workflows.splits import select

    space = get_space("flexibert")
    recs = select(space.load_records(), "search", space, True)[:n]
    batch = space_batch(space.calibration, 16, 128)
    cfg = ExtractConfig("flexibert", "as-trained")
    extract_one(space, recs[0], batch, cfg)  # warm-up
    t0 = time.perf_counter()
    for r in recs:
        extract_one(space, r, batch, cfg)
    return (time.perf_counter() - t0) / len(recs)


def bench_evaluations(cache: Path, n_proxies: int) -> dict:
    """Distinct proxy evaluations per second over the stored search statistics."""
    from lpzero_gp.proxy import default_pset
    from lpzero_gp.proxy.generate import gen_lpzero
    from lpzero_gp.proxy.rps import RPS
    from lpzero_gp.score.scoring import Scorer
    from lpzero_gp.stats.store import Dataset, load_stats

    stats = [load_stats(p) for p in sorted(cache.glob("*/*.safetensors"))][:50]
    ds = Dataset.from_stats(stats)
    truth = np.random.default_rng(0).random(len(stats))
    pset, rps, keys, trees = default_pset(), RPS(), set(), []
    rng = random.Random(0)
    t0 = time.perf_counter()
    while len(trees) < n_proxies:
        t = gen_lpzero(pset, rng=rng)
        v = rps.check(t)
        if v.ok and v.key not in keys:
            keys.add(v.key)
            trees.append(str(t))
    rps_rate = n_proxies / (time.perf_counter() - t0)
    out = {"architectures": len(stats), "proxies": n_proxies, "rps_checks_per_s": rps_rate}
    torch.set_num_threads(1)  # as in the search: small ops, no oversubscription
    out["in_search"] = _in_search(ds, truth)
    for memo in (True, False):
        scorer = Scorer(ds, truth, memoize=memo, with_tau=False)
        t0 = time.perf_counter()
        for t in trees:
            scorer(t)
        out[f"evals_per_s_{'memo' if memo else 'nomemo'}"] = \
            n_proxies / (time.perf_counter() - t0)
    return out


def _in_search(ds, truth) -> dict:
    """Distinct proxies scored per second of scoring time inside a paper-budget search."""
    from lpzero_gp.score.scoring import Scorer
    from lpzero_gp.search import Search, SearchConfig
    from lpzero_gp.workflows.context import search_pset

    out = {}
    for shape in ("lpzero", "deep"):
        cfg = SearchConfig(seed=42, shape=shape, aggregations=("agg_mean", "agg_sum"))
        scorer = Scorer(ds, truth, with_tau=False)
        spent = [0.0]

        def timed(proxy, scorer=scorer, spent=spent):
            t0 = time.perf_counter()
            r = scorer(proxy)
            spent[0] += time.perf_counter() - t0
            return r

        search = Search(search_pset(cfg), timed, cfg)
        t0 = time.perf_counter()
        search.run()
        wall = time.perf_counter() - t0
        n = search.stats_counts["evaluated"]
        out[shape] = {"distinct_evaluated": n, "scoring_s": spent[0], "search_wall_s": wall,
                      "evals_per_s_scoring": n / spent[0], "evals_per_s_search": n / wall}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench_search.json")
    ap.add_argument("--quick", action="store_true", help="smaller budget (smoke test)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    evals, proxies, n_extract = (200, 200, 3) if a.quick else (1000, 500, 10)
    res: dict = {"machine": {"cpus": torch.get_num_threads()}}
    res["extract_s_per_arch"] = bench_extraction(n_extract)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        base = ["run", "--budget", "paper", "--evaluations", str(evals), "--seed", "42",
                "--cache-dir", str(cache), "--heldout", "5"]
        cold = _cli([*base, "--out", f"{tmp}/cold"])
        warm = _cli([*base, "--out", f"{tmp}/warm"])
        plain = _cli([*base, "--out", f"{tmp}/plain", "--no-memo", "--no-rps"])
        res["evaluation"] = bench_evaluations(cache, proxies)
    res["search_cold"] = {"wall_s": cold[0], "peak_rss_gib": cold[1],
                          "best": cold[2]["proxy"], "rho": cold[2]["search"]["rho"],
                          "evaluations": cold[2]["evaluations"]}
    res["search_warm"] = {"wall_s": warm[0], "best": warm[2]["proxy"],
                          "rho": warm[2]["search"]["rho"], "evaluations": warm[2]["evaluations"]}
    res["search_warm_no_memo_no_rps"] = {"wall_s": plain[0], "rho": plain[2]["search"]["rho"]}
    res["memo_dedup_speedup"] = plain[0] / warm[0]
    ev = res["evaluation"]
    ins = ev["in_search"]
    rows = [
        ("extraction, s / architecture (16 x 128)", f"{res['extract_s_per_arch']:.2f}"),
        ("distinct proxy evals / s of scoring, in a paper-budget search (lpzero shape)",
         f"{ins['lpzero']['evals_per_s_scoring']:.0f}"),
        ("distinct proxy evals / s of scoring, in a paper-budget search (deep trees)",
         f"{ins['deep']['evals_per_s_scoring']:.0f}"),
        ("search-only wall s, 50 archs, 1,000 offspring (lpzero / deep)",
         f"{ins['lpzero']['search_wall_s']:.1f} / {ins['deep']['search_wall_s']:.1f}"),
        ("random distinct proxies / s, 50 archs (memo)", f"{ev['evals_per_s_memo']:.0f}"),
        ("random distinct proxies / s, 50 archs (no memo)", f"{ev['evals_per_s_nomemo']:.0f}"),
        ("RPS checks / s", f"{ev['rps_checks_per_s']:.0f}"),
        (f"paper-budget search cold: wall s ({evals} evals)", f"{cold[0]:.0f}"),
        ("paper-budget search cold: peak RSS GiB", f"{cold[1]:.2f}"),
        ("paper-budget search warm: wall s", f"{warm[0]:.0f}"),
        ("warm search without memo/RPS: wall s", f"{plain[0]:.0f}"),
        ("memoisation + RPS dedup speed-up (x)", f"{res['memo_dedup_speedup']:.2f}"),
        ("same best proxy cold vs warm", str(cold[2]["proxy"] == warm[2]["proxy"])),
    ]
    w = max(len(r[0]) for r in rows)
    print("| measure" + " " * (w - 7) + " | value |")
    print("|" + "-" * (w + 2) + "|-------|")
    for k, v in rows:
        print(f"| {k:<{w}} | {v} |")
    Path(a.out).write_text(json.dumps(res, indent=2, default=str) + "\n")
    print(f"JSON: {a.out}")


if __name__ == "__main__":
    main()
