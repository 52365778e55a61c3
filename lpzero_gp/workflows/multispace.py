"""``lpzero-gp run --space A --space B ...``: one proxy searched for several spaces.

Each space loads its own benchmark, calibration batch and statistics and picks its own search
and held-out architectures, exactly as a one-space run does (:func:`~.context.load`,
:func:`~.splits.choose`). The search is one (mu + lambda) loop whose fitness for a proxy
combines its search-split Spearman rho on every space (``--combine``: the worst, by default,
or the mean; :class:`~lpzero_gp.score.fitness.CombinedFitness`). Nothing here depends on which
spaces they are: a space's name is only a key.

The report scores the best proxy on each space's held-out architectures, beside that space's
free rows (best single feature and config formula, chosen on its search split, as ``run``
reports them) and its own shipped proxy ``<space>-best`` where one exists, with paired
bootstrap P-values of the searched proxy against each. Checkpoints and ``--resume`` work as for
one space: the run file records every space's settings and data.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from lpzero_gp.atomic import AtomicFolder
from lpzero_gp.proxy.export import export
from lpzero_gp.proxy.named import shipped_best
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.score.fitness import CombinedFitness, bootstrap_ci, rank, settle
from lpzero_gp.search import SearchConfig
from lpzero_gp.spaces.base import Record
from lpzero_gp.versions import versions
from lpzero_gp.workflows.context import (
    Context,
    Loaded,
    available_inputs,
    best_proxy,
    evaluate_proxy,
    load,
    run_scorer,
    search_scorer,
)
from lpzero_gp.workflows.free import comparisons, try_free_rows
from lpzero_gp.workflows.options import Notify, Report, RunOptions
from lpzero_gp.workflows.report import (
    ci_text,
    control_features,
    corr,
    fmt,
    info_text,
    markdown_table,
    missing_note,
    paired_text,
    plot_generations,
    plot_ranks,
    sample_note,
)
from lpzero_gp.workflows.runstate import (
    RUNTIME_FIELDS,
    STATS_FOLDER,
    _counts_line,
    _fingerprint,
    _missing,
    _open_checkpoints,
    _records,
    _results,
    kept_on_failure,
    write_results,
)
from lpzero_gp.workflows.splits import Choice, choice_note

#: The name of the searched proxy in the paired comparisons.
CROSS = "cross proxy"


@dataclass
class SpaceRun:
    """One space of a run over several: its data, its architectures and its search fitness."""

    ctx: Context
    loaded: Loaded
    search: list[Record]
    heldout: list[Record]
    choice: Choice
    #: The space's search fitness (set when the search starts) and the search architectures
    #: that have statistics.
    scorer: object = None
    used: list[Record] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The space's name (a key)."""
        return self.loaded.space.name


def _open(ctx: Context, opts: RunOptions, fallback: str, note: Notify) -> SpaceRun:
    """Load one space and pick its search and held-out architectures as ``run`` does."""
    loaded = load(replace(ctx, fallback_cache=fallback))
    loaded.notify = note
    search, heldout, choice = _records(loaded, opts, ctx.seed)
    return SpaceRun(ctx, loaded, search, heldout, choice)


def fingerprint(runs: list[SpaceRun]) -> dict:
    """What the data of every space looked like, in the form of a one-space run's fingerprint:
    ids prefixed by their space (record digests under them too), one digest of the ground
    truths and one of the batches."""
    parts = {r.name: _fingerprint(r.loaded, r.search, r.heldout) for r in runs}
    return {"search_ids": [f"{n}:{i}" for n, p in parts.items() for i in p["search_ids"]],
            "heldout_ids": [f"{n}:{i}" for n, p in parts.items() for i in p["heldout_ids"]],
            "truth_sha256": _digest([p["truth_sha256"] for p in parts.values()]),
            "batch": _digest([p["batch"] for p in parts.values()]),
            "records": {f"{n}:{i}": d for n, p in parts.items() for i, d in p["records"].items()}}


def _digest(texts: list[str]) -> str:
    return hashlib.sha256(json.dumps(texts).encode()).hexdigest()


def run_spaces(opts: RunOptions, contexts: list[Context], cfg: SearchConfig, target,
               note: Notify, t_start: float) -> Report:
    """:func:`~.run.run_search` for several spaces, its results folder locked: load each
    space, search one proxy on the combined fitness, and report it on every space."""
    fallback = str(target.ckpt / STATS_FOLDER)  # without a cache: kept with the checkpoint
    runs = [_open(ctx, opts, fallback, note) for ctx in contexts]
    key = _open_checkpoints(target, opts, cfg, runs[0].loaded.variant, fingerprint(runs),
                            note)
    before = {r.name: r.loaded.extractor.loaded for r in runs}
    with kept_on_failure(target, runs[0].loaded.extractor.cache, note):
        available = None
        for r in runs:
            r.scorer, ds, r.used = search_scorer(r.loaded, cfg, r.search, opts.fitness)
            inputs = available_inputs(ds)
            available = inputs if available is None else tuple(
                k for k in available if k in inputs)
        combined = CombinedFitness([r.scorer for r in runs], opts.combine)
        s, state, secs = run_scorer(contexts[0], cfg, combined, available, target.ckpt,
                                    resume=target.resumed_from is not None,
                                    checkpoint_key=key, signed=combined.signed)
    proxy, fit, _ = best_proxy(state)
    rejected = fit < -1.0
    ctx = contexts[0]
    reports = {r.name: space_report(r, proxy, cfg) for r in runs}
    per = {name: entry for name, (entry, _) in reports.items()}
    summary = {
        "spaces": [r.name for r in runs], "combine": opts.combine, "proxy": proxy,
        "fitness": opts.fitness, "stats": ctx.stats, "semantics": ctx.semantics,
        "search": {"fitness": float("nan") if rejected else fit,
                   "reason": "every candidate was invalid or rejected on some space"
                   if rejected else ""},
        "per_space": per,
        "evaluations": s.stats_counts, "generations": state.generation,
        "skipped_architectures": {r.name: r.loaded.extractor.failures for r in runs},
    }
    wall = time.perf_counter() - t_start
    timing = {"search_seconds": secs, "wall_seconds": wall,
              "resumed_from_generation": target.resumed_from,
              "spaces": {r.name: {"extract_seconds": r.loaded.extractor.seconds,
                                  "models_built": r.loaded.extractor.built,
                                  "statistics_loaded_from_cache":
                                      r.loaded.extractor.loaded - before[r.name]}
                         for r in runs}}
    write_results(target, opts.keep_checkpoint, note,
                  lambda: _write(target.out, target.replace, summary, state, runs, cfg, timing,
                                 {name: held for name, (_, held) in reports.items()}))
    return Report(summary, summary_lines(summary, target.out, wall), out=target.out)


def own_proxy(space: str) -> str | None:
    """The shipped proxy searched for ``space`` alone (``<space>-best`` in
    best_proxies.json), or None."""
    name = f"{space}-best"
    return name if name in shipped_best() else None


def space_report(r: SpaceRun, proxy: str, cfg: SearchConfig) -> tuple[dict, tuple]:
    """The searched proxy on one space: its search and held-out correlations (with 95% BCa
    intervals), the space's free rows and own shipped proxy on the same held-out
    architectures, and the paired bootstrap of the proxy against each; with the held-out
    (records, scores) of the proxy and the scores of each of those rows."""
    from lpzero_gp.score.correlate import bootstrap_reason

    loaded = r.loaded
    found = r.scorer.rank(proxy)
    held = evaluate_proxy(loaded, proxy, r.heldout, "held-out statistics", with_ci=True)
    truth = np.array([x.truth for x in held.records])
    free = try_free_rows(loaded, r.used, cfg.population, cfg.offspring, cfg.generations,
                         cfg.seed)
    rows = free.scores(loaded, held.records) if free else {}
    own = own_proxy(r.name)
    if own is not None:
        rows[own] = evaluate_proxy(loaded, own, held.records, f"{own} (held-out)",
                                   labelled=False).scores
    baselines = {}
    for name, scores in rows.items():
        res = rank(scores, truth)
        ci = bootstrap_ci(scores, truth) if res.valid else None
        baselines[name] = {"rho": res.rho, "tau": res.tau, "ci": ci, "reason": res.reason,
                           "ci_reason": bootstrap_reason(ci, scores, truth, {
                               "rho": res.rho, "tau": res.tau}, res.reason)}
    return {
        "variant": loaded.variant, "truth": loaded.space.truth_label,
        "splits": r.choice.to_json(),
        "search": {"n": len(r.used), "rho": found.rho, "tau": found.tau,
                   "reason": found.reason, "note": sample_note(len(r.used)),
                   "missing": _missing(r.search, r.used)},
        "heldout": {"split": r.choice.heldout_choice, "n": len(held.records),
                    "rho": held.result.rho, "tau": held.result.tau, "ci": held.ci,
                    "ci_reason": bootstrap_reason(held.ci, held.scores, truth, {
                        "rho": held.result.rho, "tau": held.result.tau}, held.result.reason),
                    "valid": held.result.valid, "reason": held.result.reason,
                    **held.labels(), "note": sample_note(len(held.records)),
                    "missing": _missing(r.heldout, held.records)},
        "free": free.to_json() if free else {},
        "own_proxy": own,
        "baselines_heldout": baselines,
        "comparisons": comparisons(CROSS, held.scores, rows, truth),
    }, (held.records, held.scores, rows)


def _write(out: Path, force: bool, summary: dict, state, runs: list[SpaceRun],
           cfg: SearchConfig, timing: dict, scores: dict[str, tuple]) -> None:
    """The results folder of a run over several spaces (everything but timing.json the same
    for identical runs); ``scores``: each space's held-out (records, scores, rows' scores)."""
    per = summary["per_space"]
    contexts = []
    for r in runs:
        context = {k: v for k, v in asdict(r.ctx).items() if k not in RUNTIME_FIELDS}
        if not context["space_options"]:
            del context["space_options"]
        context["variant"] = r.loaded.variant
        contexts.append(context)
    with AtomicFolder(out, force=force) as rf:
        rf.json("config.json", {"search": asdict(cfg), "combine": summary["combine"],
                                "contexts": contexts,
                                "calibration": {r.name: r.loaded.info for r in runs},
                                "versions": versions()})
        rf.csv("log.csv", [dict(x) for x in state.logbook])
        rf.json("best.json", {**export(summary["proxy"]), "spaces": summary["spaces"],
                              "combine": summary["combine"],
                              "semantics": summary["semantics"],
                              "search": {n: _results(e["search"]) for n, e in per.items()},
                              "heldout": {n: _results(e["heldout"]) for n, e in per.items()},
                              "variant": {n: e["variant"] for n, e in per.items()}})
        rf.text("best.tex", export(summary["proxy"])["latex"] + "\n")
        rf.json("summary.json", summary)
        rf.json("timing.json", timing)
        rf.csv("heldout_scores.csv", [
            {"space": name, "id": rec.id, "score": float(x), "score_raw": float(raw),
             "truth": rec.truth}
            for name, (recs, raw, _) in scores.items()
            for rec, x, raw in zip(recs, settle(raw), raw, strict=True)])
        rf.csv("hall_of_fame.csv", [{"proxy": format_tree(ind), "fitness": ind.fitness.values[0],
                                     "tau": getattr(ind, "tau", float("nan"))}
                                    for ind in state.hof])
        plot_generations(list(state.logbook), rf.path("rho_per_generation.png"),
                         f"{' + '.join(summary['spaces'])} ({summary['combine']} of the "
                         "spaces' search rho)", population=cfg.population)
        for r in runs:
            _plot_space(rf.path(f"score_vs_truth_{r.name}.png"), r, per[r.name],
                        scores[r.name])
        rf.text("summary.md", markdown(summary))


def _plot_space(path: Path, r: SpaceRun, entry: dict, held: tuple) -> None:
    """Rank of the searched proxy's held-out scores, and of each free row's and the space's
    own proxy's, against the rank of the truth on one space (as ``run`` draws one space)."""
    records, scores, rows = held
    h, base = entry["heldout"], entry["baselines_heldout"]
    panels = [("searched proxy", scores, f"rho {fmt(h['rho'])}")]
    panels += [(name, values, f"rho {fmt(base[name]['rho'])}") for name, values in rows.items()]
    _, (group_name, groups) = control_features(r.loaded, records)
    plot_ranks(panels, [x.truth for x in records], path,
               f"{r.name} ({entry['variant']}): held-out {h['split']} (n={h['n']})",
               entry["truth"], r.loaded.space.higher_is_better, groups, group_name)


def _rows(entry: dict) -> list[tuple[str, dict]]:
    """(name, row) of the searched proxy and every baseline of one space, in report order."""
    return [(CROSS, entry["heldout"]), *entry["baselines_heldout"].items()]


def markdown(summary: dict) -> str:
    """summary.md: the searched proxy and, per space, the held-out table and paired tests."""
    parts = [f"# One proxy for {', '.join(summary['spaces'])}\n\n`{summary['proxy']}`\n\n"
             f"Search fitness: the {summary['combine']} of the search-split Spearman rho on "
             f"each space: {corr(summary['search']['fitness'], summary['search']['reason'])}."
             "\n"]
    for name, e in summary["per_space"].items():
        h, s = e["heldout"], e["search"]
        rows = [[row_name, corr(v["rho"], v.get("reason", "")),
                 corr(v["tau"], v.get("reason", "")),
                 ci_text(v["ci"], "rho", v.get("ci_reason", ""))] for row_name, v in _rows(e)]
        notes = [n for n in (h["note"], missing_note("held-out", h["missing"])) if n]
        parts.append(
            f"\n## {name} ({e['variant']})\n\nSearch ({s['n']} architectures): Spearman "
            f"{corr(s['rho'], s['reason'])}. Held-out ({h['split']}, n={h['n']}, the same "
            "architectures in every row; the best feature and the config formula chosen on "
            "the search split"
            + (f"; {e['own_proxy']}: the proxy searched for {name} alone" if e["own_proxy"]
               else "") + "):\n\n"
            + markdown_table(["proxy", "Spearman", "Kendall", "interval"], rows)
            + "\n" + "".join(f"- {paired_text(c)}\n" for c in e["comparisons"])
            + "".join(f"\nNote: {n}\n" for n in notes))
    return "".join(parts)


def summary_lines(summary: dict, out: Path, wall: float) -> list[str]:
    """The printed summary: the proxy, its combined search fitness and, per space, its search
    and held-out correlations beside the free rows and the space's own proxy."""
    s = summary["search"]
    lines = [f"spaces {', '.join(summary['spaces'])}  combine {summary['combine']}  "
             f"semantics {summary['semantics']}",
             f"best proxy: {summary['proxy']}",
             f"search fitness ({summary['combine']} of {len(summary['spaces'])} spaces): "
             f"{corr(s['fitness'], s['reason'] or 'no valid proxy found')}"]
    notes = []
    for name, e in summary["per_space"].items():
        h, srch = e["heldout"], e["search"]
        lines.append(f"{name} ({e['variant']}): search ({srch['n']} archs) Spearman "
                     f"{corr(srch['rho'], srch['reason'])}  Kendall "
                     f"{corr(srch['tau'], srch['reason'])}")
        for row_name, v in _rows(e):
            label = f"held-out {h['split']} ({h['n']} archs)" if row_name == CROSS \
                else f"baseline {row_name}"
            lines.append(f"  {label:<28} Spearman {corr(v['rho'], v.get('reason', ''))}  "
                         f"Kendall {corr(v['tau'], v.get('reason', ''))}"
                         + (f"  ({ci_text(v['ci'], 'rho', v.get('ci_reason', ''))})"
                            if v["ci"] else "")
                         + (f"  [{info_text(v)}]" if row_name == CROSS else ""))
        lines += [f"  paired: {paired_text(c)}" for c in e["comparisons"]]
        notes += [choice_note(e["splits"]),
                  f"{name} search: {srch['note']}" if srch["note"] else None,
                  f"{name} held-out: {h['note']}" if h["note"] else None,
                  missing_note(f"{name} search", srch["missing"]),
                  missing_note(f"{name} held-out", h["missing"])]
        if math.isnan(h["rho"]):
            notes.append(f"the best proxy is invalid on the held-out architectures of {name}")
    lines.append(_counts_line(summary["evaluations"]))
    lines.append(f"results: {out}  ({wall:.0f} s)")
    return lines + [f"note: {n}" for n in notes if n]


__all__ = ["CROSS", "SpaceRun", "fingerprint", "markdown", "own_proxy", "run_spaces",
           "space_report", "summary_lines"]
