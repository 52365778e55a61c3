"""``lpzero-gp run``: search, held-out report, results folder and printed summary.

A run checkpoints every generation into a hidden sibling of its results folder
(``.<name>.checkpoint``: ``checkpoint.json`` from the search and ``run.json`` with the settings
and a fingerprint of the data). ``--resume`` continues from there with the stored settings and
ends exactly as an uninterrupted run would; the checkpoint folder is removed once the results
folder is complete, unless ``--keep-checkpoint``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np

from lpzero_gp import __version__
from lpzero_gp.atomic import AtomicFolder
from lpzero_gp.errors import SpaceError
from lpzero_gp.proxy.export import export
from lpzero_gp.search.loop import CHECKPOINT, SearchConfig, checkpoint_info
from lpzero_gp.stats.extract import batch_digest
from lpzero_gp.workflows.context import (
    Context,
    best_proxy,
    evaluate_proxy,
    feature_ranks,
    load,
    pick_records,
    search,
)
from lpzero_gp.workflows.report import (
    fmt,
    markdown_table,
    plot_generations,
    plot_scatter,
)

AGG = {"mean": ("agg_mean",), "sum": ("agg_sum",), "both": ("agg_mean", "agg_sum")}
#: Settings file written next to the checkpoint when a run starts.
RUN_FILE = "run.json"
RUN_FILE_FORMAT = 1
#: ``run`` options that never change its results. Every other option does, and a resumed run
#: takes those from the checkpoint.
FREE_OPTIONS = ("cache_dir", "workers", "dask", "quiet", "out", "force", "resume_dir",
                "keep_checkpoint", "as_json", "checkpoint_dir")
#: Context fields that change how a run is executed but never its results.
RUNTIME_FIELDS = ("cache_dir", "workers", "dask", "progress")
#: Of those, the options a resumed run takes from the checkpoint unless given again.
RUNTIME_OPTIONS = ("cache_dir", "workers", "dask")


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


# -- where results and checkpoints live ------------------------------------------------------


def default_out(kw: dict) -> Path:
    """``runs/<space>-<variant>-s<seed>`` when ``--out`` is not given."""
    return Path(f"runs/{kw['space']}-{kw['variant'] or 'default'}-s{kw['seed']}")


def checkpoint_dir_for(out: Path) -> Path:
    """The hidden checkpoint folder of results folder ``out``."""
    out = Path(out)
    return out.parent / f".{out.name}.checkpoint"


def find_checkpoint(path: str | Path) -> Path:
    """Checkpoint folder of ``--resume PATH``: PATH itself, or the results folder's sibling."""
    path = Path(path)
    if path.name in (CHECKPOINT, RUN_FILE):
        path = path.parent
    sibling = checkpoint_dir_for(path)
    for folder in (path, sibling):
        if (folder / CHECKPOINT).is_file():
            return folder
    if path.is_dir() and (path / "summary.json").is_file():
        raise SpaceError(f"{path} holds a finished run and no checkpoint (checkpoints are "
                         "removed when a run completes unless --keep-checkpoint)")
    for folder in (path, sibling):
        if (folder / RUN_FILE).is_file():
            raise SpaceError(f"the run of {folder} was interrupted before its first checkpoint; "
                             "start it again")
    if not path.exists() and not sibling.exists():
        raise SpaceError(f"nothing to resume: neither {path} nor its checkpoint folder "
                         f"{sibling} exists")
    raise SpaceError(f"no checkpoint to resume in {path} (looked for {path / CHECKPOINT} and "
                     f"{sibling / CHECKPOINT})")


def normalise_paths(kw: dict) -> dict:
    """Absolute paths for path options, so a run can be resumed from any working folder."""
    for name in ("benchmark", "text", "cache_dir"):
        if kw.get(name):
            kw[name] = str(Path(os.path.expanduser(kw[name])).resolve())
    tok = kw.get("tokenizer")
    if tok and Path(os.path.expanduser(tok)).exists():
        kw["tokenizer"] = str(Path(os.path.expanduser(tok)).resolve())
    return kw


def result_options(kw: dict) -> list[str]:
    """Names of the options in ``kw`` that decide a run's results."""
    return sorted(k for k in kw if k not in FREE_OPTIONS)


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def read_run_file(ckpt: Path) -> dict:
    """The ``run.json`` of a checkpoint folder (SpaceError if missing or from another version)."""
    path = ckpt / RUN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpaceError(f"{ckpt} has no {RUN_FILE}: not a checkpoint of lpzero-gp run") \
            from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SpaceError(f"{path} is unreadable ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != RUN_FILE_FORMAT or not isinstance(
            data.get("settings"), dict) or not isinstance(data.get("fingerprint"), dict):
        raise SpaceError(f"{path} is not a run file of this lpzero-gp version")
    if data.get("version") != __version__:
        raise SpaceError(f"checkpoint {ckpt} was written by lpzero-gp {data.get('version')}; "
                         f"this is {__version__} (resume it with that version or start a new "
                         "run)")
    return data


def merge_resume(kw: dict, explicit: set[str]) -> dict:
    """``kw`` with the checkpoint's settings; an explicitly given, different one is refused.

    Runtime options (cache folder, workers, Dask) default to the interrupted run's too but may
    change. Adds ``checkpoint_dir`` (the folder found from ``--resume``) and fills ``out`` with
    the original results folder unless ``--out`` is given.
    """
    ckpt = find_checkpoint(kw["resume_dir"])
    info = read_run_file(ckpt)
    stored = info["settings"]
    given = normalise_paths(dict(kw))
    for name in result_options(kw):
        if name not in stored:
            raise SpaceError(f"the checkpoint in {ckpt} does not record {_option(name)} "
                             "(written by an older lpzero-gp?); start a new run")
        if name in explicit and given[name] != stored[name]:
            was = "default" if stored[name] is None else stored[name]
            raise SpaceError(f"{_option(name)} {given[name]} differs from the checkpoint's "
                             f"{was} (resume with the original settings, or start a new run)")
        kw[name] = stored[name]
    for name, value in info.get("runtime", {}).items():
        if name in RUNTIME_OPTIONS and name not in explicit:
            kw[name] = value
    kw["checkpoint_dir"] = str(ckpt)
    if not kw.get("out"):
        kw["out"] = info["out"]
    return kw


# -- the command -------------------------------------------------------------------------------


def _fingerprint(loaded, search_recs, held_recs) -> dict:
    """What the data of a run looked like: architecture ids, ground truth, calibration batch."""
    truth = json.dumps([[r.id, r.truth] for r in search_recs + held_recs])
    return {"search_ids": [r.id for r in search_recs], "heldout_ids": [r.id for r in held_recs],
            "truth_sha256": hashlib.sha256(truth.encode()).hexdigest(),
            "batch": batch_digest(loaded.batch)}


def _check_fingerprint(ckpt: Path, stored: dict, now: dict) -> None:
    why = {"search_ids": "search architectures", "heldout_ids": "held-out architectures",
           "truth_sha256": "ground truth", "batch": "calibration batch"}
    for key, what in why.items():
        if stored.get(key) != now[key]:
            raise SpaceError(f"the {what} differ from those of the checkpoint in {ckpt} (was "
                             "the benchmark file, calibration text or tokenizer changed?)")


def _settings(kw: dict, loaded) -> dict:
    settings = {name: kw[name] for name in result_options(kw)}
    settings["variant"] = loaded.variant
    return settings


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _start_checkpoints(ckpt: Path, run_file: dict) -> None:
    """A fresh checkpoint folder holding ``run.json``."""
    try:
        if ckpt.exists():
            shutil.rmtree(ckpt)
        ckpt.mkdir(parents=True)
        _atomic_json(ckpt / RUN_FILE, run_file)
    except OSError as exc:
        raise SpaceError(f"cannot write checkpoints to {ckpt}: {exc.strerror or exc}") from None


def run_command(ctx: Context, kw: dict, budgets: dict) -> dict:
    """Everything ``lpzero-gp run`` does; returns the summary.

    ``kw`` holds the CLI options; for ``--resume`` they must already have passed
    :func:`merge_resume` (which adds ``checkpoint_dir``).
    """
    from lpzero_gp.cli import run_metadata

    t_start = time.perf_counter()
    cfg = search_config(kw, budgets)
    resuming = bool(kw.get("resume_dir"))
    out = Path(kw["out"]) if kw.get("out") else default_out(kw)
    if out.exists() and not out.is_dir():
        raise SpaceError(f"results folder {out} exists and is not a folder")
    replace = kw["force"]
    if resuming:
        ckpt = Path(kw["checkpoint_dir"])
        gen = checkpoint_info(ckpt)
        if gen["config"] != asdict(cfg):
            raise SpaceError(f"the checkpoint in {ckpt} was written with different search "
                             "settings")
        # the interrupted run's own results folder may be replaced; any other needs --force
        replace = replace or out.resolve() == Path(read_run_file(ckpt)["out"])
        if out.exists() and not replace:
            raise SpaceError(f"results folder {out} exists (use --force to replace it)")
    else:
        ckpt = checkpoint_dir_for(out)
        if out.exists() and not kw["force"]:
            raise SpaceError(f"results folder {out} exists (use --force to replace it)")
        if (ckpt / CHECKPOINT).is_file() and not kw["force"]:
            raise SpaceError(f"an interrupted run left a checkpoint in {ckpt}: continue it with "
                             f"--resume {out}, or start over with --force")
    loaded = load(ctx)
    search_recs = pick_records(loaded, kw["search_archs"], ctx.seed)
    held_recs = [r for r in pick_records(loaded, kw["heldout"], ctx.seed + 1)
                 if r.id not in {s.id for s in search_recs}]
    if len(held_recs) < 3:
        raise SpaceError("fewer than 3 held-out architectures")
    fingerprint = _fingerprint(loaded, search_recs, held_recs)
    if resuming:
        _check_fingerprint(ckpt, read_run_file(ckpt)["fingerprint"], fingerprint)
        click.echo(f"resuming from generation {gen['generation']} of {cfg.generations} "
                   f"(checkpoint {ckpt})", err=True)
    else:
        _start_checkpoints(ckpt, {"format": RUN_FILE_FORMAT, "version": __version__,
                                  "out": str(out.resolve()), "settings": _settings(kw, loaded),
                                  "runtime": {k: kw[k] for k in RUNTIME_OPTIONS},
                                  "fingerprint": fingerprint})
        click.echo(f"checkpoints: {ckpt} (after a crash: lpzero-gp run --resume {out})",
                   err=True)
    built_before = loaded.extractor.loaded
    try:
        s, state, recs, secs = search(loaded, ctx, cfg, search_recs, ckpt, resume=resuming)
    except BaseException:
        if not (ckpt / CHECKPOINT).is_file():
            shutil.rmtree(ckpt, ignore_errors=True)
        else:
            click.echo(f"the last checkpoint is kept in {ckpt}: continue with "
                       f"lpzero-gp run --resume {out}", err=True)
        raise
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
        "skipped_architectures": ex.failures,
    }
    context = {k: v for k, v in asdict(ctx).items() if k not in RUNTIME_FIELDS}
    context["variant"] = loaded.variant
    timing = {"search_seconds": secs, "wall_seconds": wall, "extract_seconds": ex.seconds,
              "models_built": ex.built, "statistics_loaded_from_cache": ex.loaded - built_before,
              "resumed_from_generation": gen["generation"] if resuming else None,
              "runtime": {k: getattr(ctx, k) for k in RUNTIME_FIELDS}}
    _write(out, replace, summary, state, held, cfg, context, loaded,
           run_metadata(), timing)
    if not kw.get("keep_checkpoint"):
        shutil.rmtree(ckpt, ignore_errors=True)
    _print(summary, loaded, kw["as_json"], out, wall)
    return summary


def _write(out, force, summary, state, held, cfg, context, loaded, meta, timing) -> None:
    """The results folder; everything but timing.json is identical for identical runs."""
    with AtomicFolder(out, force=force) as rf:
        rf.json("config.json", {"search": asdict(cfg), "context": context,
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
