"""``lpzero-gp run``: search, held-out report, results folder and printed summary.

A run checkpoints every generation into a hidden sibling of its results folder
(``.<name>.checkpoint``: ``checkpoint.json`` from the search and ``run.json`` with the settings
and a fingerprint of the data). ``--resume`` continues from there with the stored settings and
ends exactly as an uninterrupted run would; the checkpoint folder is removed once the results
folder is complete, unless ``--keep-checkpoint``.

``--objective pareto`` selects survivors by NSGA-II on rank correlation, cost class and size;
such a run also writes its front (``front.csv``, ``front.png``: :mod:`.front`) and names the
cheapest front proxy within 0.01 held-out rho of the best one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from lpzero_gp.atomic import AtomicFolder, make_parent
from lpzero_gp.errors import CheckpointError, OptionError
from lpzero_gp.lock import FolderLock
from lpzero_gp.proxy.export import export
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.score.fitness import bootstrap_ci, rank, settle
from lpzero_gp.score.information import config_labels
from lpzero_gp.search import SearchConfig
from lpzero_gp.spaces.progress import honours_quiet
from lpzero_gp.versions import versions
from lpzero_gp.workflows.context import (
    Context,
    Loaded,
    best_proxy,
    evaluate_proxy,
    feature_ranks,
    load,
    search,
)
from lpzero_gp.workflows.free import CONFIG_FORMULA, comparisons, try_free_rows, verdict
from lpzero_gp.workflows.front import front_line
from lpzero_gp.workflows.multispace import run_spaces
from lpzero_gp.workflows.options import (
    AGG,
    BUDGETS,
    Notify,
    Report,
    RunOptions,
    changed_options,
)
from lpzero_gp.workflows.optionspec import spelled
from lpzero_gp.workflows.report import (
    ci_text,
    control_features,
    controlled_names,
    controlled_text,
    corr,
    cost_line,
    free_line,
    info_text,
    is_small,
    markdown_table,
    missing_note,
    paired_text,
    panel_caption,
    plot_generations,
    plot_ranks,
    sample_note,
    statistics_line,
    versus_free,
)
from lpzero_gp.workflows.runstate import (
    RUNTIME_FIELDS,
    RUNTIME_OPTIONS,
    STATS_FOLDER,
    _counts_line,
    _fingerprint,
    _missing,
    _open_checkpoints,
    _option,
    _records,
    _results,
    _Target,
    _target,
    default_out,
    find_checkpoint,
    kept_on_failure,
    normalise_paths,
    read_run_file,
    result_options,
    write_results,
)
from lpzero_gp.workflows.splits import choice_note


def search_config(opts: RunOptions) -> SearchConfig:
    """SearchConfig of a run: the ``budget`` preset with any given population, offspring and
    evaluations replacing its numbers (:func:`~lpzero_gp.workflows.options.resolve_budget`)."""
    from lpzero_gp.workflows.options import resolve_budget

    (pop, off, evals), _ = resolve_budget(BUDGETS, opts.budget, opts.population,
                                          opts.offspring, opts.evaluations)
    cfg = SearchConfig(
        population=pop, offspring=off, evaluations=evals, cxpb=opts.cxpb, mutpb=opts.mutpb,
        seed=opts.seed, n_unary=opts.n_unary, shape=opts.shape,
        max_height=opts.max_height, aggregations=AGG[opts.aggregation],
        rps=opts.rps, memoize=opts.memo, objective=opts.objective)
    try:
        cfg.validate(spelled)
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    return cfg


# -- where results and checkpoints live ------------------------------------------------------


def merge_resume(opts: RunOptions, explicit: Iterable[str]) -> RunOptions:
    """``opts`` with the checkpoint's settings; an explicitly given, different one is refused.

    ``explicit`` names the options the user gave (on the command line: not left at their
    defaults). Runtime options (cache folder, workers, Dask) default to the interrupted run's
    too but may change. Fills ``checkpoint_dir`` (the folder found from ``resume_dir``) and
    ``out`` with the original results folder unless it is given.
    """
    ckpt = find_checkpoint(opts.resume_dir)
    info = read_run_file(ckpt)
    stored = info["settings"]
    given = normalise_paths(opts)
    explicit = set(explicit)
    merged = {}
    for name in result_options():
        if name not in stored:
            raise CheckpointError(f"the checkpoint in {ckpt} does not record {_option(name)} "
                             "(written by an older lpzero-gp?); start a new run")
        value = getattr(given, name)
        if isinstance(stored[name], list):  # several spaces: a tuple, stored as a list
            stored[name] = tuple(stored[name])
        if name in explicit and value != stored[name]:
            was = "default" if stored[name] is None else stored[name]
            raise CheckpointError(f"{_option(name)} {value} differs from the checkpoint's "
                             f"{was} (resume with the original settings, or start a new run)")
        merged[name] = stored[name]
    for name, value in info.get("runtime", {}).items():
        if name in RUNTIME_OPTIONS and name not in explicit:
            merged[name] = value
    merged["checkpoint_dir"] = str(ckpt)
    if not opts.out:
        merged["out"] = info["out"]
    return replace(opts, **merged)


# -- the workflow ------------------------------------------------------------------------------


def _search_ci(loaded: Loaded, proxy: str, records: list) -> tuple[dict | None, str]:
    """The interval of the best proxy's search correlation, on a small sample only, and why
    it is missing or degenerate ('' for a proper one)."""
    from lpzero_gp.score.correlate import bootstrap_reason

    if not is_small(len(records)):
        return None, ""
    res = evaluate_proxy(loaded, proxy, records, "search statistics", labelled=False)
    truth = [r.truth for r in res.records]
    ci = bootstrap_ci(res.scores, truth)
    return ci, bootstrap_reason(ci, res.scores, truth,
                                {"rho": res.result.rho, "tau": res.result.tau},
                                res.result.reason)


def _feature_cis(loaded: Loaded, records: list) -> dict[str, dict]:
    """Bootstrap intervals of the feature baselines, on a small sample only (else none)."""
    if not is_small(len(records)):
        return {}
    feats = [loaded.space.features(r, loaded.variant) for r in records]
    truth = np.array([r.truth for r in records])
    return {k: bootstrap_ci(np.array([f[k] for f in feats], dtype=float), truth)
            for k in feats[0]}


def _baseline_scores(loaded: Loaded, held, names: Iterable[str],
                     known: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The held-out scores of the searched proxy (key '') and of each baseline: ``known``
    scores, a feature's values, or a reference proxy scored again (its statistics are already
    in memory)."""
    feats = [loaded.space.features(r, loaded.variant) for r in held.records]
    out = {"": np.asarray(held.scores, dtype=float)}
    for name in names:
        out[name] = (known[name] if name in known else
                     np.array([f[name] for f in feats], dtype=float) if name in feats[0] else
                     evaluate_proxy(loaded, name, held.records, f"{name} (held-out)",
                                    labelled=False).scores)
    return out


def _controls(loaded: Loaded, held, scores: dict[str, np.ndarray]) -> dict[str, dict]:
    """Partial (given the space's size feature) and within-group (its group feature) rank
    correlations, with intervals, of the searched proxy (key '') and each baseline, from
    their held-out ``scores`` (:func:`_baseline_scores`)."""
    from lpzero_gp.score.correlate import controlled

    size, group = control_features(loaded, held.records)
    truth = np.array([r.truth for r in held.records])
    return {k: controlled(x, truth, size[1], group[1], size[0], group[0])
            for k, x in scores.items()}


def _interval_reasons(held, base: dict, base_ci: dict,
                      scores: dict[str, np.ndarray]) -> dict[str, str]:
    """Why the held-out interval of the searched proxy (key '') and of each baseline is
    missing or degenerate ('' for a proper one, or where none is computed)."""
    from lpzero_gp.score.correlate import bootstrap_reason

    truth = np.array([r.truth for r in held.records])
    rows = {"": (held.ci, held.result), **{k: (base_ci.get(k), v) for k, v in base.items()}}
    return {k: bootstrap_reason(ci, scores[k], truth, {"rho": res.rho, "tau": res.tau},
                                res.reason) for k, (ci, res) in rows.items()}


def _hof_labels(loaded: Loaded, hof, records: list) -> dict[str, str]:
    """The information label of every valid hall-of-fame proxy on the search architectures."""
    out = {}
    for ind in hof:
        if ind.fitness.values[0] >= -1.0:
            proxy = format_tree(ind)
            out[proxy] = evaluate_proxy(loaded, proxy, records, "search statistics").info["label"]
    return out


def _rejected_reason(fitness: str) -> str:
    """Why a search ended without a valid candidate."""
    if fitness == "beyond-shape":
        return "every candidate was invalid or not statistics-driven"
    return "no valid proxy found"


def _verdict(stats: str, held, versus: list[dict]) -> str:
    """The run's one-line verdict on its proxy against the free rows."""
    if stats == "null":
        return "null control: the search saw shapes only"
    return verdict(held.info.get("label", "undefined"), versus)


def _search(loaded, ctx: Context, cfg: SearchConfig, search_recs: list, target: _Target,
            key: str, note: Notify, fitness: str):
    """The search, checkpointed; a failed run keeps its last checkpoint (or none at all)."""
    with kept_on_failure(target, loaded.extractor.cache, note):
        return search(loaded, ctx, cfg, search_recs, target.ckpt,
                      resume=target.resumed_from is not None,
                      checkpoint_key=key, fitness=fitness)


def _quiet(_line: str) -> None:
    """A notify callback that shows nothing."""


@honours_quiet
def run_search(opts: RunOptions, explicit: Iterable[str] | None = None,
               notify: Notify | None = None) -> Report:
    """Everything ``lpzero-gp run`` does: search, held-out report and results folder.

    With ``resume_dir`` the checkpoint's settings replace the options first (:func:`merge_resume`;
    ``explicit`` names the options given on purpose, default: those differing from the
    defaults). ``notify`` receives news of the checkpoints and, before many models are built,
    how many and about how long. Returns the summary as ``data``, the printed summary as
    ``lines`` and the results folder as ``out``.
    """
    t_start = time.perf_counter()
    note = notify or _quiet
    opts = normalise_paths(opts)
    if opts.resume_dir and not opts.checkpoint_dir:
        opts = merge_resume(opts, changed_options(opts) if explicit is None else explicit)
    if not isinstance(opts.space, str):  # one proxy for several spaces
        contexts = opts.contexts()
        cfg = search_config(opts)
        with FolderLock(make_parent(Path(opts.out) if opts.out else default_out(opts))):
            return run_spaces(opts, contexts, cfg, _target(opts, cfg), note, t_start)
    ctx = opts.context()
    cfg = search_config(opts)
    with FolderLock(make_parent(Path(opts.out) if opts.out else default_out(opts))):
        target = _target(opts, cfg)
        return _run_locked(opts, ctx, cfg, target, note, t_start)


def _run_locked(opts: RunOptions, ctx: Context, cfg: SearchConfig, target: _Target,
                note: Notify, t_start: float) -> Report:
    """:func:`run_search` once its results folder is locked against other commands."""
    # without a cache, statistics are kept with the checkpoint so that a crash loses none
    ctx = replace(ctx, fallback_cache=str(target.ckpt / STATS_FOLDER))
    loaded = load(ctx)
    loaded.notify = note  # before many models are built: how many, and about how long
    search_recs, held_recs, choice = _records(loaded, opts, ctx.seed)
    key = _open_checkpoints(target, opts, cfg, loaded.variant,
                            _fingerprint(loaded, search_recs, held_recs), note)
    built_before = loaded.extractor.loaded
    s, state, recs, secs = _search(loaded, ctx, cfg, search_recs, target, key, note,
                                   opts.fitness)
    proxy, rho_s, tau_s = best_proxy(state)
    rejected = rho_s < -1.0  # every candidate was invalid or rejected as not statistics-driven
    search_ci, search_why = (None, "") if rejected else _search_ci(loaded, proxy, recs)
    held = evaluate_proxy(loaded, proxy, held_recs, "held-out statistics", with_ci=True)
    base = feature_ranks(loaded, held.records)  # the same architectures as the proxy
    free_names = [*base, CONFIG_FORMULA]  # the rows that cost no statistics
    base_ci = _feature_cis(loaded, held.records)
    labels = {k: config_labels() for k in base}
    for name in loaded.space.reference_proxies:  # e.g. the paper's proxy for the space
        ref = evaluate_proxy(loaded, name, held.records, f"{name} (held-out)", with_ci=True)
        base[name], base_ci[name] = ref.result, ref.ci
        labels[name] = ref.labels()
    free = try_free_rows(loaded, recs, cfg.population, cfg.offspring, cfg.generations,
                         cfg.seed)
    free_scores, truth = {}, np.array([r.truth for r in held.records])
    if free is not None:
        free_scores = free.scores(loaded, held.records)
        base[CONFIG_FORMULA] = rank(free_scores[CONFIG_FORMULA], truth)
        base_ci[CONFIG_FORMULA] = bootstrap_ci(free_scores[CONFIG_FORMULA], truth)
        labels[CONFIG_FORMULA] = config_labels()
    versus = comparisons("searched proxy", held.scores, free_scores, truth)
    wall = time.perf_counter() - t_start
    ex = loaded.extractor
    heldout_scores = _baseline_scores(loaded, held, base, free_scores)
    controls = _controls(loaded, held, heldout_scores)  # beyond size and depth
    ci_why = _interval_reasons(held, base, base_ci, heldout_scores)
    summary = {
        "space": loaded.space.name, "variant": loaded.variant, "semantics": ctx.semantics,
        "truth": loaded.space.truth_label, "proxy": proxy,
        "fitness": opts.fitness, "stats": ctx.stats,
        "search": {"n": len(recs), "rho": float("nan") if rejected else rho_s,
                   "tau": tau_s, "ci": search_ci, "ci_reason": search_why,
                   "reason": _rejected_reason(opts.fitness) if rejected else "",
                   "note": sample_note(len(recs)), "missing": _missing(search_recs, recs)},
        "splits": choice.to_json(),
        "heldout": {"split": choice.heldout_choice, "n": len(held.records), "rho": held.result.rho,
                    "tau": held.result.tau, "ci": held.ci, "ci_reason": ci_why[""],
                    "valid": held.result.valid,
                    "reason": held.result.reason, **controls[""], **held.labels(),
                    "note": sample_note(len(held.records)),
                    "missing": _missing(held_recs, held.records)},
        "baselines_heldout": {k: {"rho": v.rho, "tau": v.tau, "ci": base_ci.get(k),
                                  "ci_reason": ci_why[k], "reason": v.reason, **controls[k],
                                  **labels[k]}
                              for k, v in base.items()},
        "free": {**(free.to_json() if free else {}), "comparisons": versus},
        "hall_of_fame_labels": _hof_labels(loaded, state.hof, recs),
        "verdict": _verdict(ctx.stats, held, versus),
        "evaluations": s.stats_counts, "generations": state.generation,
        "skipped_architectures": ex.failures,
    }
    summary["versus_free"] = versus_free(held.result.rho, summary["baselines_heldout"],
                                         free_names, versus)
    cost = ex.cost_seconds([r.id for r in recs + held.records])
    if cfg.objective == "pareto":
        summary["front"] = _front(loaded, state, held.records, cost)
    context = {k: v for k, v in asdict(ctx).items() if k not in RUNTIME_FIELDS}
    if not context["space_options"]:  # recorded only for spaces that take options
        del context["space_options"]
    context["variant"] = loaded.variant
    timing = {"search_seconds": secs, "wall_seconds": wall, "extract_seconds": ex.seconds,
              "cost_seconds_per_arch": cost,
              "models_built": ex.built, "statistics_loaded_from_cache": ex.loaded - built_before,
              "resumed_from_generation": target.resumed_from,
              "runtime": {k: getattr(ctx, k) for k in RUNTIME_FIELDS},
              "models_built_by": asdict(ex.plan) if ex.plan else None}
    write_results(target, opts.keep_checkpoint, note,
                  lambda: _write(target.out, target.replace, summary, state, held, cfg,
                                 context, loaded, versions(), timing, free_names))
    return Report(summary, summary_lines(summary, ex, target.out, wall), [cost_line(cost)],
                  out=target.out)


def _front(loaded: Loaded, state, held_records: list, cost: dict) -> dict:
    """summary.json's ``front`` of a pareto search: the non-dominated proxies of its final
    population and hall of fame, each scored on the held-out architectures."""
    from lpzero_gp.search.loop import pareto_front
    from lpzero_gp.workflows.front import front_rows, front_summary

    front = pareto_front([*state.population, *state.hof])
    return front_summary(front_rows(loaded, front, held_records, cost))


def _write(out, force, summary, state, held, cfg, context, loaded, meta, timing,
           free_names: list[str]) -> None:
    """The results folder; everything but timing.json is identical for identical runs (and
    front.csv's seconds, where statistics are extracted again rather than read back)."""
    with AtomicFolder(out, force=force, force_name=spelled("force", True)) as rf:
        rf.json("config.json", {"search": asdict(cfg), "context": context,
                                "calibration": loaded.info, "versions": meta})
        rf.csv("log.csv", [dict(r) for r in state.logbook])
        rf.json("best.json", {**export(summary["proxy"]), "search": _results(summary["search"]),
                              "heldout": _results(summary["heldout"]),
                              "variant": summary["variant"],
                              "space": summary["space"], "semantics": summary["semantics"]})
        rf.text("best.tex", export(summary["proxy"])["latex"] + "\n")
        rf.json("summary.json", summary)
        rf.json("timing.json", timing)
        ranked = settle(held.scores)
        rf.csv("heldout_scores.csv", [{"id": r.id, "score": float(x), "score_raw": float(s),
                                       "truth": r.truth} for r, x, s in
                                      zip(held.records, ranked, held.scores, strict=True)])
        rf.csv("hall_of_fame.csv", [{"proxy": format_tree(ind), "rho": ind.fitness.values[0],
                                     "tau": getattr(ind, "tau", float("nan")),
                                     "search_label": summary["hall_of_fame_labels"].get(
                                         format_tree(ind), "")}
                                    for ind in state.hof])
        title = f"{summary['space']} ({summary['variant']}, {summary['semantics']} inputs)"
        h = summary["heldout"]
        plot_generations(list(state.logbook), rf.path("rho_per_generation.png"), title,
                         _generation_curve(loaded, held, state.logbook),
                         f"{h['split']} (held-out)", cfg.population)
        size, group = control_features(loaded, held.records)
        base = summary["baselines_heldout"]
        panels = [("searched proxy", held.scores, panel_caption(h["rho"], h))]
        panels += [(name, values, panel_caption(base[name]["rho"], base[name]))
                   for name, values in (size, group) if name in base]
        plot_ranks(panels, [r.truth for r in held.records], rf.path("score_vs_truth.png"),
                   f"{title}: held-out {h['split']} (n={h['n']})", summary["truth"],
                   loaded.space.higher_is_better, group[1], group[0])
        rf.text("summary.md", _markdown(summary))
        if "front" in summary:
            _write_front(rf, summary, title, free_names)


def _write_front(rf, summary: dict, title: str, free_names: list[str]) -> None:
    """front.csv and front.png of a pareto search; the plot's config rows are the features
    and the config formula (``free_names``) as the held-out table has them."""
    from lpzero_gp.workflows.front import COLUMNS, plot_front

    rows = summary["front"]["rows"]
    rf.csv("front.csv", [{k: r[k] for k in COLUMNS} for r in rows])
    base = summary["baselines_heldout"]
    free = {name: base[name]["rho"] for name in free_names if name in base}
    plot_front(rows, free, rf.path("front.png"),
               f"{title}: quality against cost (held-out {summary['heldout']['split']})")


def _generation_curve(loaded: Loaded, held, logbook) -> list[float] | None:
    """The held-out rho of each generation's best proxy when the logbook names that proxy (a
    ``best_proxy`` column), else None. Each distinct proxy is scored once, on statistics
    already in memory."""
    proxies = [r.get("best_proxy") for r in logbook]
    if not proxies or not all(proxies):
        return None
    rho = {p: evaluate_proxy(loaded, p, held.records, "held-out statistics",
                             labelled=False).result.rho
           for p in dict.fromkeys(proxies)}
    return [rho[p] for p in proxies]


def _markdown(summary: dict) -> str:
    """summary.md: the held-out table, with what each proxy adds beyond size and depth."""
    h = summary["heldout"]
    rows = []
    for name, v in [("searched proxy", h), *summary["baselines_heldout"].items()]:
        rows.append([name, corr(v["rho"], v.get("reason", "")),
                     corr(v["tau"], v.get("reason", "")),
                     ci_text(v["ci"], "rho", v.get("ci_reason", "")),
                     *controlled_text(v), info_text(v)])
    versus = free_line(summary.get("versus_free") or {})
    notes = [n for n in (h["note"], missing_note("held-out", h["missing"])) if n]
    free = summary["free"]
    return (f"# {summary['space']} ({summary['variant']})\n\n`{summary['proxy']}`\n\n"
            f"**Verdict:** {summary['verdict']}.\n\n"
            + (f"**{versus[0].upper() + versus[1:]}.**\n\n" if versus else "")
            + f"Held-out ({h['split']}, n={h['n']}, the same architectures in every row; "
            "partial: Spearman given the size feature; within: Spearman within each group "
            "of the depth feature, size-weighted; both with 95% bootstrap intervals; "
            "information: the label from the Spearman rho between the proxy's scores on real "
            "and on null (shape-only) statistics, with its cost class):\n\n"
            + markdown_table(["proxy", "Spearman", "Kendall", "interval",
                              *controlled_names(h), "information, cost"], rows)
            + (f"\nconfig-formula: `{free['config_formula']}` (searched on the search split "
               f"with the run's budget; best single feature there: {free['best_feature']})\n\n"
               if "config_formula" in free else "\n")
            + "".join(f"- {paired_text(c)}\n" for c in free["comparisons"])
            + (f"\n{front_line(summary['front'])}\n" if "front" in summary else "")
            + "".join(f"\nNote: {n}\n" for n in notes))


def summary_lines(summary: dict, extractor, out: Path, wall: float) -> list[str]:
    """The printed summary of a run: statistics source, best proxy, search and held-out rho."""
    ex = extractor
    lines = [f"space {summary['space']}  variant {summary['variant']}  semantics "
             f"{summary['semantics']}  truth: {summary['truth']}"]
    if ex.loaded and (line := statistics_line(ex)):
        lines.append(line)
    if ex.built and ex.plan is not None:
        lines.append(f"models built {ex.plan}")
    lines.append(f"best proxy: {summary['proxy']}")
    s = summary["search"]
    why = s.get("reason") or "no valid proxy found"
    lines.append(f"search ({s['n']} archs): Spearman {corr(s['rho'], why)}  Kendall "
                 f"{corr(s['tau'], why)}{_interval(s['ci'], s.get('ci_reason', ''))}")
    h = summary["heldout"]
    lines.append(f"held-out {h['split']} ({h['n']} archs): Spearman "
                 f"{corr(h['rho'], h.get('reason', ''))}  Kendall "
                 f"{corr(h['tau'], h.get('reason', ''))}"
                 f"{_interval(h['ci'], h.get('ci_reason', ''))}{_controlled(h)}"
                 f"  [{info_text(h)}]")
    for k, v in summary["baselines_heldout"].items():
        lines.append(f"  baseline {k:<15} Spearman {corr(v['rho'], v.get('reason', ''))}  "
                     f"Kendall {corr(v['tau'], v.get('reason', ''))}"
                     f"{_interval(v['ci'], v.get('ci_reason', ''))}"
                     f"{_controlled(v)}  [{info_text(v)}]")
    free = summary["free"]
    if "config_formula" in free:
        lines.append(f"  config-formula (searched on the search split): "
                     f"{free['config_formula']}")
    lines += [f"  paired: {paired_text(c)}" for c in free["comparisons"]]
    lines.append(f"verdict: {summary['verdict']}")
    if versus := free_line(summary.get("versus_free") or {}):
        lines.append(versus)
    if "front" in summary:
        lines.append(front_line(summary["front"]))
    if counts := summary.get("evaluations"):
        lines.append(_counts_line(counts))
    lines.append(f"results: {out}  ({wall:.0f} s)")
    if math.isnan(h["rho"]):
        lines.append("note: the best proxy is invalid on the held-out architectures")
    notes = [choice_note(summary.get("splits")),
             f"search: {s['note']}" if s["note"] else None,
             f"held-out: {h['note']}" if h["note"] else None,
             missing_note("search", s["missing"]), missing_note("held-out", h["missing"])]
    return lines + [f"note: {n}" for n in notes if n]


def _interval(ci: dict | None, reason: str = "") -> str:
    return f"  ({ci_text(ci, 'rho', reason)})" if ci else ""


def _controlled(row: dict) -> str:
    """``  partial|params x [a, b]  within layers y [c, d]`` of a held-out row ('' without)."""
    if "partial" not in row:
        return ""
    (pname, wname), (ptext, wtext) = controlled_names(row), controlled_text(row)
    return f"  {pname} {ptext}  {wname} {wtext}"

__all__ = ["default_out", "run_search", "search_config", "summary_lines"]
