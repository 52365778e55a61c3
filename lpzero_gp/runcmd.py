"""``lpzero-gp run``: search, held-out report, results folder and printed summary."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np

from lpzero_gp.evolve import CHECKPOINT, SearchConfig
from lpzero_gp.export import export
from lpzero_gp.report import ResultsFolder, fmt, markdown_table, plot_generations, plot_scatter
from lpzero_gp.run import (
    Context,
    best_proxy,
    evaluate_proxy,
    feature_ranks,
    load,
    pick_records,
    search,
)
from lpzero_gp.spaces.base import SpaceError

AGG = {"mean": ("agg_mean",), "sum": ("agg_sum",), "both": ("agg_mean", "agg_sum")}


def search_config(kw: dict, budgets: dict) -> SearchConfig:
    """SearchConfig from CLI options (explicit options override the budget preset)."""
    pop, off, evals = budgets[kw["budget"]]
    cfg = SearchConfig(
        population=kw["population"] or pop, offspring=kw["offspring"] or off,
        evaluations=kw["evaluations"] or evals, cxpb=kw["cxpb"], mutpb=kw["mutpb"],
        seed=kw["seed"], n_unary=kw["n_unary"], shape=kw["shape"],
        max_height=kw["max_height"], aggregations=AGG[kw["aggregation"]],
        rps=not kw["no_rps"], memoize=not kw["no_memo"])
    try:
        cfg.validate()
    except ValueError as exc:
        raise SpaceError(str(exc)) from None
    return cfg


def run_command(ctx: Context, kw: dict, budgets: dict) -> dict:
    """Everything ``lpzero-gp run`` does; returns the summary."""
    from lpzero_gp.cli import run_metadata

    t_start = time.perf_counter()
    cfg = search_config(kw, budgets)
    resume_dir = Path(kw["resume_dir"]) if kw["resume_dir"] else None
    if resume_dir is not None and not (resume_dir / CHECKPOINT).is_file():
        raise SpaceError(f"no checkpoint to resume in {resume_dir}")
    out = Path(kw["out"] or f"runs/{ctx.space}-{ctx.variant or 'default'}-s{ctx.seed}")
    if resume_dir is None and out.exists() and not kw["force"]:
        raise SpaceError(f"results folder {out} exists (use --force to replace it)")
    loaded = load(ctx)
    search_recs = pick_records(loaded, kw["search_archs"], ctx.seed)
    held_recs = [r for r in pick_records(loaded, kw["heldout"], ctx.seed + 1)
                 if r.id not in {s.id for s in search_recs}]
    if len(held_recs) < 3:
        raise SpaceError("fewer than 3 held-out architectures")
    ckpt = resume_dir or (out.parent / f".{out.name}.checkpoint")
    built_before = loaded.extractor.loaded
    s, state, recs, secs = search(loaded, ctx, cfg, search_recs, ckpt,
                                  resume=resume_dir is not None)
    proxy, rho_s, tau_s = best_proxy(state)
    held = evaluate_proxy(loaded, proxy, held_recs, "held-out statistics", with_ci=True)
    base = feature_ranks(loaded, held.records)
    wall = time.perf_counter() - t_start
    ex = loaded.extractor
    summary = {
        "space": loaded.space.name, "variant": loaded.variant, "semantics": ctx.semantics,
        "truth": loaded.space.truth_label, "proxy": proxy,
        "search": {"n": len(recs), "rho": rho_s, "tau": tau_s},
        "heldout": {"split": kw["heldout"], "n": len(held.records), "rho": held.result.rho,
                    "tau": held.result.tau, "ci": held.ci, "valid": held.result.valid},
        "baselines_heldout": {k: {"rho": v.rho, "tau": v.tau} for k, v in base.items()},
        "evaluations": s.stats_counts, "generations": state.generation,
        "models_built": ex.built, "statistics_loaded_from_cache": ex.loaded - built_before,
        "skipped_architectures": ex.failures,
    }
    _write(out, kw["force"] or resume_dir is not None, summary, state, held, cfg, ctx, loaded,
           run_metadata(), {"search_seconds": secs, "wall_seconds": wall,
                            "extract_seconds": ex.seconds})
    _print(summary, loaded, kw["as_json"], out, wall)
    return summary


def _write(out, force, summary, state, held, cfg, ctx, loaded, meta, timing) -> None:
    with ResultsFolder(out, force=force) as rf:
        rf.json("config.json", {"search": asdict(cfg), "context": asdict(ctx),
                                "calibration": loaded.info, "versions": meta})
        rf.csv("log.csv", [dict(r) for r in state.logbook])
        rf.json("best.json", {**export(summary["proxy"]), "search": summary["search"],
                              "heldout": summary["heldout"], "variant": summary["variant"],
                              "space": summary["space"], "semantics": summary["semantics"]})
        rf.text("best.tex", export(summary["proxy"])["latex"] + "\n")
        rf.json("summary.json", summary)
        rf.json("timing.json", timing)
        rf.csv("heldout_scores.csv", [{"id": r.id, "score": float(s), "truth": r.truth}
                                      for r, s in zip(held.records, held.scores, strict=True)])
        rf.csv("hall_of_fame.csv", [{"proxy": str(ind), "rho": ind.fitness.values[0],
                                     "tau": getattr(ind, "tau", float("nan"))}
                                    for ind in state.hof])
        title = f"{summary['space']} ({summary['variant']}, {summary['semantics']} inputs)"
        plot_generations(list(state.logbook), rf.path("rho_per_generation.png"), title)
        plot_scatter(held.scores, [r.truth for r in held.records],
                     rf.path("score_vs_truth.png"), "proxy score", summary["truth"],
                     f"{title}: held-out rho {fmt(held.result.rho)}")
        rf.text("summary.md", _markdown(summary))


def _markdown(summary: dict) -> str:
    rows = [["searched proxy", fmt(summary["heldout"]["rho"]), fmt(summary["heldout"]["tau"])]]
    rows += [[k, fmt(v["rho"]), fmt(v["tau"])] for k, v in summary["baselines_heldout"].items()]
    return (f"# {summary['space']} ({summary['variant']})\n\n`{summary['proxy']}`\n\n"
            f"Held-out ({summary['heldout']['split']}, n={summary['heldout']['n']}):\n\n"
            + markdown_table(["proxy", "Spearman", "Kendall"], rows))


def _print(summary: dict, loaded, as_json: bool, out: Path, wall: float) -> None:
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True, default=str))
        return
    ex = loaded.extractor
    click.echo(f"space {summary['space']}  variant {summary['variant']}  semantics "
               f"{summary['semantics']}  truth: {summary['truth']}")
    if ex.loaded and not ex.built:
        click.echo(f"statistics of all {ex.loaded} architectures loaded from the cache "
                   "(no model built)")
    elif ex.loaded:
        click.echo(f"statistics: {ex.loaded} from the cache, {ex.built} models built")
    click.echo(f"best proxy: {summary['proxy']}")
    click.echo(f"search ({summary['search']['n']} archs): Spearman "
               f"{fmt(summary['search']['rho'])}  Kendall {fmt(summary['search']['tau'])}")
    h = summary["heldout"]
    ci = h.get("ci") or {}
    ci_txt = f"  (rho 95% CI {fmt(ci['rho'][0])}..{fmt(ci['rho'][1])})" if ci else ""
    click.echo(f"held-out {h['split']} ({h['n']} archs): Spearman {fmt(h['rho'])}  Kendall "
               f"{fmt(h['tau'])}{ci_txt}")
    for k, v in summary["baselines_heldout"].items():
        click.echo(f"  baseline {k:<15} Spearman {fmt(v['rho'])}  Kendall {fmt(v['tau'])}")
    click.echo(f"results: {out}  ({wall:.0f} s)")
    if np.isnan(h["rho"]):
        click.echo("note: the best proxy is invalid on the held-out architectures")
