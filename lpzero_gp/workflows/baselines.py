"""``lpzero-gp baselines``: every hand-crafted proxy on a space, next to the paper's numbers.

Scores each architecture once (one forward/backward, GraSP's Hessian-gradient product, one
Synflow pass), ranks every baseline against the ground truth, prints a Markdown table with the
published values in adjacent columns and writes it (CSV, Markdown, per-architecture scores)
into an atomic results folder.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from lpzero_gp.atomic import AtomicFolder
from lpzero_gp.errors import OptionError
from lpzero_gp.score.baselines import (
    BY_KEY,
    ArchScores,
    check_keys,
    score_many,
)
from lpzero_gp.score.fitness import rank
from lpzero_gp.spaces.base import Space
from lpzero_gp.spaces.progress import bar as progress_bar
from lpzero_gp.spaces.progress import honours_quiet
from lpzero_gp.stats.cache import resolve as stats_cache
from lpzero_gp.stats.extract import ExtractConfig
from lpzero_gp.versions import versions
from lpzero_gp.workflows.options import BaselineOptions, Report
from lpzero_gp.workflows.optionspec import STAT_BUDGET, spelled
from lpzero_gp.workflows.report import fmt, markdown_table
from lpzero_gp.workflows.splits import pick


def rank_rows(results: list[ArchScores], truth: np.ndarray, keys: list[str], space: Space
              ) -> list[dict]:
    """One row per baseline: n, rho, tau, the paper's and the recomputed values, s/arch."""
    rows = []
    for key in keys:
        b = BY_KEY[key]
        s = np.array([r.scores.get(key, float("nan")) for r in results], dtype=np.float64)
        ok = np.isfinite(s)
        res = rank(s[ok], truth[ok]) if ok.sum() >= 3 else None
        errs = Counter(r.errors[key] for r in results if key in r.errors)
        note = ""
        if errs:
            msg, count = errs.most_common(1)[0]
            note = f"{count} failed: {msg}" if count < len(results) else f"unavailable: {msg}"
        elif res is not None and not res.valid:
            note = f"invalid: {res.reason}"
        secs = [r.seconds[key] for r in results if key in r.seconds and key not in r.errors]
        paper = space.baselines.paper.get(key)
        ref = space.baselines.recomputed.get(key)
        rows.append({
            "key": key, "proxy": b.label, "table1": b.table1, "n": int(ok.sum()),
            "rho": res.rho if res is not None and res.valid else float("nan"),
            "tau": res.tau if res is not None and res.valid else float("nan"),
            "paper_rho": paper[0] if paper else float("nan"),
            "paper_tau": paper[1] if paper else float("nan"),
            "reference_rho": ref[0] if ref else float("nan"),
            "reference_tau": ref[1] if ref else float("nan"),
            "seconds_per_arch": float(np.mean(secs)) if secs else float("nan"),
            "tree": b.tree or "", "note": note,
        })
    return rows


def table_markdown(rows: list[dict], timed: bool = True) -> str:
    """The table (Table-1 proxies first, then the extra rows); ``timed``: with the measured
    seconds per architecture (printed; the files keep timings in timing.json only)."""
    header = ["proxy", "n", "Kendall tau", "Spearman rho", "paper tau", "paper rho",
              "ref. code rho/tau", *(["s/arch"] if timed else []), "note"]
    body = []
    for r in sorted(rows, key=lambda r: not r["table1"]):
        ref = (f"{fmt(r['reference_rho'])}/{fmt(r['reference_tau'])}"
               if np.isfinite(r["reference_rho"]) else "")
        body.append([r["proxy"] if r["table1"] else f"*{r['proxy']}*", r["n"], fmt(r["tau"]),
                     fmt(r["rho"]), _blank(r["paper_tau"]), _blank(r["paper_rho"]), ref,
                     *([fmt(r["seconds_per_arch"], 2)] if timed else []), r["note"]])
    return markdown_table(header, body)


def _blank(x: float) -> str:
    return fmt(x) if np.isfinite(x) else ""


def _tree_rows(loaded, records, keys: list[str]) -> list[dict]:
    """Rank of every baseline's tree twin on the search's stored statistics."""
    from lpzero_gp.score.scoring import Scorer
    from lpzero_gp.workflows.context import dataset_for

    ds, truth, recs = dataset_for(loaded, records, "statistics (trees)")
    scorer = Scorer(ds, truth)
    out = []
    for key in keys:
        tree = BY_KEY[key].tree
        if tree:
            res = scorer.rank(tree)
            out.append({"key": key, "tree": tree, "n": len(recs), "rho": res.rho,
                        "tau": res.tau})
    return out


def _check_options(opts: BaselineOptions) -> None:
    """OptionError for an option that cannot apply, before any work."""
    if not opts.trees and opts.stat_budget != STAT_BUDGET.default:
        raise OptionError(f"{spelled('stat_budget')} sets the statistics of "
                          f"{spelled('trees')} only; give {spelled('trees', True)} or leave "
                          f"{spelled('stat_budget')} out")
    if opts.stats != "real":
        raise OptionError(f"{spelled('stats', 'null')} is a control for proxies over "
                          "statistics (run, eval, ablate); the hand-crafted baselines read the "
                          "models themselves")


def _score(loaded, records: list, cfg: ExtractConfig, keys: list[str],
           opts: BaselineOptions) -> tuple[list[ArchScores], int | None, float]:
    """Every baseline on every architecture; returns the scores, torch threads and seconds."""
    workers = opts.workers or 1  # automatic: this process, on torch's threads (every core)
    threads = opts.threads or (1 if workers > 1 else None)
    if threads and workers == 1:
        torch.set_num_threads(threads)
    mapper = None
    if workers > 1 or opts.dask:
        from lpzero_gp.parallel import make_mapper

        mapper = make_mapper(workers, opts.dask)
        loaded.extractor.mapper = mapper  # --trees extracts statistics in the same pool
    bar = progress_bar(total=len(records), desc="baselines", disable=opts.quiet)
    t0 = time.perf_counter()
    from lpzero_gp.stats.cache import resolve

    cache = resolve(opts.cache_dir, not opts.cache)  # the same cache as every command's
    results = score_many(loaded.space, records, loaded.batch, cfg, keys, cache,
                         mapper, progress=lambda _r: bar.update(1), threads=threads)
    bar.close()
    return results, threads, time.perf_counter() - t0


@honours_quiet
def run_baselines(opts: BaselineOptions) -> Report:
    """Hand-crafted proxies (paper Table 1) on a space: Kendall, Spearman, s/arch, paper.

    Writes baselines.csv/.md, meta.json and the per-architecture scores into the results
    folder. Returns the header with ``rows`` and ``trees`` as ``data``, and the printed table.
    """
    from lpzero_gp.spaces import get_space
    from lpzero_gp.workflows.context import load

    _check_options(opts)
    keys = check_keys(list(opts.proxies) if opts.proxies else BY_KEY)
    # the pool (or Dask) scores whole architectures here, so load() starts none of its own
    ctx = replace(opts.context(), workers=1, dask=None)
    space = get_space(opts.space, **opts.space_options)
    loaded = load(ctx, default_batch=space.baselines.batch)
    bs, sl = (int(n) for n in loaded.batch["input_ids"].shape)
    out = Path(opts.out or f"runs/baselines-{loaded.space.name}-{loaded.variant}")
    folder = AtomicFolder(out, opts.force, spelled("force", True),  # fails early if it exists
                          cache=stats_cache(opts.cache_dir, not opts.cache))
    records = pick(loaded.records, opts.archs, loaded.space, loaded.packaged, ctx.seed,
                   "--archs")
    cfg = loaded.extractor.cfg
    results, threads, wall = _score(loaded, records, cfg, keys, opts)
    truth = np.array([r.truth for r in records], dtype=np.float64)
    rows = rank_rows(results, truth, keys, loaded.space) + _formula_row(loaded, ctx.seed,
                                                                        records, truth)
    trees = _tree_rows(loaded, records, keys) if opts.trees else []
    head = {
        "space": loaded.space.name, "variant": loaded.variant, "semantics": ctx.semantics,
        "loss": loaded.space.loss_label(ctx.semantics),
        "batch": f"{bs}x{sl}", "seed": ctx.seed, "init_seed": cfg.seed, "archs": opts.archs,
        "n": len(records),
        "truth": loaded.space.truth_label, "workers": opts.workers or 1, "threads": threads,
        "wall_seconds": round(wall, 1), "command": opts.command,
        "batch_info": loaded.info, **versions(),
    }
    timing = {k: head.pop(k) for k in TIMED}
    timing |= {"seconds_per_arch": {r["key"]: r["seconds_per_arch"] for r in rows},
               "seconds": {r.id: r.seconds for r in results}}
    untimed = [{k: v for k, v in r.items() if k != "seconds_per_arch"} for r in rows]
    with folder:  # every file but timing.json the same for the same command and seed
        folder.csv("baselines.csv", untimed)
        folder.text("baselines.md", _markdown(head, rows, trees, None))
        folder.json("meta.json", {**head, "trees": trees})
        folder.csv("scores.csv", [{"id": r.id, "truth": t, **_in_order(r.scores, keys)}
                                  for r, t in zip(results, truth, strict=True)])
        folder.json("scores.json", [_untimed(r.to_json(), keys) for r in results])
        folder.json("timing.json", timing)
    md = _markdown(head, rows, trees, timing)
    return Report({**head, **timing, "rows": rows, "trees": trees},
                  [*md.splitlines(), f"written to {out}"], out=out)


def _formula_row(loaded, seed: int, records: list, truth: np.ndarray) -> list[dict]:
    """The config-formula row (searched on the space's search split; none when the benchmark
    has no usable search split): what the configs alone give on these architectures."""
    from lpzero_gp.workflows.free import CONFIG_FORMULA, free_for

    free, note = free_for(loaded, seed, records)
    if free is None:
        return []
    res = rank(free.scores(loaded, records)[CONFIG_FORMULA], truth)
    nan = float("nan")
    return [{"key": CONFIG_FORMULA, "proxy": f"config formula {free.formula}", "table1": False,
             "n": len(records), "rho": res.rho if res.valid else nan,
             "tau": res.tau if res.valid else nan, "paper_rho": nan, "paper_tau": nan,
             "reference_rho": nan, "reference_tau": nan, "seconds_per_arch": 0.0, "tree": "",
             "note": note or "searched on the search split"}]


def _in_order(scores: dict, keys: list[str]) -> dict:
    """``scores`` in the order of ``keys`` (entries read from the cache come sorted, computed
    ones in the order they were computed: the files must not depend on which)."""
    return {k: scores.get(k, float("nan")) for k in keys}


def _untimed(entry: dict, keys: list[str]) -> dict:
    """An architecture's scores entry without its measured seconds, scores in ``keys`` order."""
    return {"id": entry["id"], "scores": _in_order(entry["scores"], keys),
            "errors": dict(sorted(entry["errors"].items()))}


#: What a baselines run measures rather than computes: kept in timing.json, not in meta.json.
TIMED = ("wall_seconds", "workers", "threads")


def _markdown(head: dict, rows: list[dict], trees: list[dict], timing: dict | None) -> str:
    """The report; ``timing`` (printed, not written): the wall time, workers and threads, and
    the seconds per architecture of each baseline."""
    timed = [f"- wall time {timing['wall_seconds']} s, workers {timing['workers']}, torch "
             f"threads {timing['threads'] or torch.get_num_threads()}"] if timing else []
    lines = [
        f"# Baselines: {head['space']} ({head['variant']})", "",
        f"- semantics: **{head['semantics']}** ({head['loss']})",
        f"- calibration batch {head['batch']}, seed {head['seed']}, architectures "
        f"{head['archs']} (n = {head['n']})",
        f"- ground truth: {head['truth']}; signed correlations (higher score = better)",
        *timed,
        f"- command: `{head['command']}`", "",
        "*Italic rows* are not in the paper's Table 1. 'paper' columns: the paper's Tables 2/3 "
        "as quoted in docs/specs.md §6.3 (GPT-2: |rho| for GraSP and Jacobian Cosine); "
        "'ref. code': the published code's stored scores recomputed there (signed).", "",
        table_markdown(rows, timed=timing is not None),
    ]
    if trees:
        lines += ["", "Tree twins scored on the search's stored statistics:", "",
                  markdown_table(["baseline", "tree", "n", "Kendall tau", "Spearman rho"],
                                 [[t["key"], f"`{t['tree']}`", t["n"], fmt(t["tau"]),
                                   fmt(t["rho"])] for t in trees])]
    return "\n".join(lines)

__all__ = ["run_baselines"]
