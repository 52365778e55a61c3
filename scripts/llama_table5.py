"""The paper's Table 5 in small: a sub-network under a parameter budget, found by a proxy or by
measuring perplexity, against LoNAS's heuristic sub-network and the benchmark's best.

Both searches are the same evolutionary search (``lpzero-gp subnets``: population, generations,
seed, budget repair); only the objective differs:

* proxy: the proxy's score on the calibration batch (one forward and backward per sub-network);
* evaluation: minus the perplexity on validation windows of the held-out text part that the
  benchmark does not use (what LoNAS's NSGA-II search measures, with accuracy there).

Every sub-network found is then measured on the benchmark's own held-out windows. ``--proxy``
is repeatable: each proxy gets its own search, all timed in the same process as the
perplexity search (the load average before and after is recorded), so the time ratios are fair.

    python scripts/llama_table5.py --proxy llama-best --budget 0.8
    python scripts/llama_table5.py --proxy llama-best --proxy 'agg_sum(l1(W))' \
        --out docs/llama_table5_front.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

import torch

from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.proxy.read import read_proxy
from lpzero_gp.score.subnets import SubnetScorer
from lpzero_gp.spaces.llama.cost import subnet_cost
from lpzero_gp.spaces.llama.finetune import heldout_loss, windows
from lpzero_gp.spaces.llama.smollm2 import HELDOUT_SEQ_LEN, HELDOUT_WINDOWS, text_ids
from lpzero_gp.workflows.context import calibration_batch
from lpzero_gp.workflows.options import SubnetOptions
from lpzero_gp.workflows.subnets import (
    SearchSettings,
    budget_limit,
    open_subnets,
    search_subnets,
)

__all__ = ["PerplexityScorer", "VALIDATION_WINDOWS", "main", "searches", "validation_rows"]

#: Validation windows: the held-out stream after the benchmark's own windows.
VALIDATION_WINDOWS = 8


class PerplexityScorer:
    """The evaluation-based objective: minus validation perplexity (duck-types SubnetScorer)."""

    def __init__(self, subnets, rows: torch.Tensor):
        self.subnets, self.rows = subnets, rows
        self.cache: dict = {}
        self.invalid = 0

    def check(self, proxy: str) -> None:
        """Nothing to check: the objective is fixed."""

    def score(self, config, proxy: str) -> float:
        """Minus the validation perplexity of ``config`` (cached)."""
        if config not in self.cache:
            self.cache[config] = -math.exp(heldout_loss(self.subnets.supernet, config,
                                                        self.rows))
        return self.cache[config]

    def scored(self, proxy: str) -> int:
        """Distinct sub-networks measured so far."""
        return len(self.cache)


def validation_rows() -> torch.Tensor:
    """Windows of the held-out part that follow the benchmark's ``HELDOUT_WINDOWS`` ones."""
    stream = torch.from_numpy(text_ids()["heldout"].astype("int64"))
    start = HELDOUT_WINDOWS * HELDOUT_SEQ_LEN
    return windows(stream[start:], HELDOUT_SEQ_LEN, VALIDATION_WINDOWS)


def searches(subnets, batch: dict, rows: torch.Tensor, proxies: list[str],
             settings: SearchSettings, progress: bool = True) -> dict[str, tuple]:
    """One evolutionary search per proxy, then the perplexity search, one after the other:
    method name -> (best config, search seconds, sub-networks evaluated, proxy)."""
    found = {}
    for proxy in proxies:
        t0 = time.perf_counter()
        res = search_subnets(SubnetScorer(subnets, batch), proxy, settings, progress=progress)
        name = "proxy search" if len(proxies) == 1 else f"proxy search: {proxy}"
        found[name] = (tuple(res.best[0]["config"]), time.perf_counter() - t0, res.evaluated,
                       proxy)
    t0 = time.perf_counter()
    res = search_subnets(PerplexityScorer(subnets, rows), "validation ppl", settings,
                         progress=progress)
    found["perplexity search"] = (tuple(res.best[0]["config"]), time.perf_counter() - t0,
                                  res.evaluated, None)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proxy", required=True, action="append",
                    help="proxy string, named proxy or best.json (repeatable: one search each)")
    ap.add_argument("--budget", type=float, default=0.8,
                    help="parameter budget as a fraction of the maximal sub-network")
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--population", type=int, default=16)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="docs/llama_table5.json")
    args = ap.parse_args()
    proxies = [format_tree(read_proxy(p)) for p in args.proxy]
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    opts = SubnetOptions(space="llama", seed=args.seed, threads=args.threads)
    bench, subnets = open_subnets(opts)  # the packaged SmolLM2 super-network and benchmark
    batch, _ = calibration_batch(opts.context(bench.name), bench)
    supernet = subnets.supernet
    space = supernet.space
    settings = SearchSettings(population=args.population, offspring=args.population,
                              generations=args.generations, top_k=1, seed=args.seed,
                              budget_params=args.budget)
    limit = budget_limit(subnets, args.budget)
    found = searches(subnets, batch, validation_rows(), proxies, settings)
    load_after = os.getloadavg()
    found["LoNAS heuristic"] = (space.heuristic(), 0.0, 0, None)
    records = bench.load_records(None)
    within = [r for r in records if subnet_cost(space, tuple(r.config["subnet"])).params <= limit]
    best = max(within, key=lambda r: r.truth)
    found["best of benchmark"] = (tuple(best.config["subnet"]), float("nan"), len(records),
                                  None)
    test = windows(torch.from_numpy(text_ids()["heldout"].astype("int64")), HELDOUT_SEQ_LEN,
                   HELDOUT_WINDOWS)
    table = []
    for name, (config, seconds, evaluated, proxy) in found.items():
        ppl = math.exp(heldout_loss(supernet, config, test))
        cost = subnet_cost(space, config)
        table.append({"method": name, "proxy": proxy, "params": cost.params,
                      "params_fraction": cost.params / subnet_cost(space, space.maximal()).params,
                      "heldout_ppl": ppl, "search_seconds": seconds, "evaluated": evaluated,
                      "config": list(config)})
        print(f"{name:18s} params {cost.params:>11,d}  held-out ppl {ppl:8.3f}  "
              f"search {seconds:7.1f}s  ({evaluated} evaluated)", flush=True)
    out = {"proxy": proxies[0] if len(proxies) == 1 else proxies,
           "budget_fraction": args.budget, "limit_params": limit,
           "load_average_1min": {"before": load_before[0], "after": load_after[0]},
           "settings": asdict(settings), "validation_windows": VALIDATION_WINDOWS,
           "command": "python scripts/llama_table5.py " + " ".join(
               f"--{k.replace('_', '-')} {w!r}" if k == "proxy" else
               f"--{k.replace('_', '-')} {v}"
               for k, v in vars(args).items() for w in (v if k == "proxy" else [v])),
           "rows": table}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
