"""``lpzero-gp eval``: how well proxies rank a space's architectures (Spearman rho, Kendall tau),
and what they add beyond the trivial baselines.

A proxy is a proxy string, a named proxy or one of the space's feature proxies (params, layers,
...). Every space goes through the same code, the llama space's sub-networks included. All
proxies are ranked on the same architectures: one that lacks statistics for some proxy is left
out of every row, and the report says which. On fewer than ``SMALL_SAMPLE`` architectures every
row carries its bootstrap interval and a small-sample note.

Every row also carries the partial rank correlation given the space's size feature and the
pooled rank correlation within the groups of its group feature (:mod:`lpzero_gp.score.correlate`),
each with a 95% bootstrap interval: a proxy that only tracks the parameter count or the depth
scores near 0 there. ``compare`` adds a paired bootstrap of the first proxy against each other
one; ``out`` writes the per-architecture scores, the summary and a rank-space plot.
"""

from __future__ import annotations

import time
from typing import Any

from lpzero_gp.errors import OptionError
from lpzero_gp.spaces.progress import honours_quiet
from lpzero_gp.workflows.options import EvalOptions, Notify, Report
from lpzero_gp.workflows.optionspec import spelled
from lpzero_gp.workflows.report import (
    ci_text,
    controlled_names,
    controlled_text,
    corr,
    cost_line,
    info_text,
    interval_cell,
    is_small,
    markdown_cell,
    markdown_table,
    missing_note,
    paired_text,
    panel_caption,
    sample_note,
    statistics_line,
)

#: What the information and cost column means, printed under every table.
LABEL_KEY = ("[information, cost]: real~null, the rho between the proxy's scores on real and "
             "on null (shape-only) statistics; config~proxy, the rho of the best config formula "
             "fitted to the proxy's scores; the larger |rho| >= 0.9: shape-only, >= 0.5: "
             "partly, else statistics-driven; cost: config (no model), weights (no forward), "
             "forward, backward")


@honours_quiet
def evaluate(opts: EvalOptions, notify: Notify | None = None) -> Report:
    """Score every proxy of ``opts`` on the chosen architectures of its space.

    With ``opts.compare`` the first proxy is compared with each other one (paired bootstrap);
    with ``opts.out`` the results folder is written (an existing one only with ``force``).
    ``notify`` hears, before many models are built, how many and about how long.
    Returns ``data`` (the header, one row per proxy under ``results``, the paired comparisons
    under ``comparisons``, the architectures left out of every row under ``missing``), the
    printed table as ``lines`` and the folder as ``out``.
    """
    import numpy as np

    from lpzero_gp.atomic import AtomicFolder
    from lpzero_gp.proxy.read import front_proxies
    from lpzero_gp.score.correlate import (
        bootstrap_reason,
        controlled,
        paired_entry,
        undefined_reason,
    )
    from lpzero_gp.score.fitness import bootstrap_ci, rank
    from lpzero_gp.score.information import config_labels
    from lpzero_gp.stats.cache import resolve as stats_cache
    from lpzero_gp.workflows.context import evaluate_proxy, load
    from lpzero_gp.workflows.free import CONFIG_FORMULA, free_for
    from lpzero_gp.workflows.splits import pick

    proxies = [p for source in opts.proxies for p in front_proxies(source)]
    if opts.compare and len(proxies) < 2:
        raise OptionError(f"{spelled('compare', True)} needs at least two "
                          f"{spelled('proxies')} (the first is compared with each other one)")
    # an existing folder is refused (without --force) before any work
    folder = AtomicFolder(opts.out, force=opts.force, force_name=spelled("force", True),
                          cache=stats_cache(opts.cache_dir, not opts.cache)) if opts.out else None
    ctx = opts.context()
    loaded = load(ctx)
    loaded.notify = notify
    recs = pick(loaded.records, opts.archs, loaded.space, loaded.packaged, ctx.seed)
    scored, seconds, labels = [], [], []
    for p in proxies:
        t0 = time.perf_counter()
        r = evaluate_proxy(loaded, p, recs, "statistics")
        scored.append({rec.id: float(x) for rec, x in zip(r.records, r.scores, strict=True)})
        seconds.append(time.perf_counter() - t0)
        labels.append(r.labels())
    free, free_note = free_for(loaded, ctx.seed, recs)
    common = [r for r in recs if all(r.id in s for s in scored)]
    names = list(proxies)
    for name, values in (free.scores(loaded, common) if free else {}).items():
        if name == CONFIG_FORMULA and name not in names:  # features are rows when asked for
            names.append(name)
            scored.append({rec.id: float(x) for rec, x in zip(common, values, strict=True)})
            seconds.append(0.0)
            labels.append(config_labels())
    truth = np.array([r.truth for r in common])
    space = loaded.space
    feats = [space.features(r, loaded.variant) for r in common]
    size_name = space.size_feature if feats and space.size_feature in feats[0] else None
    group_name = space.group_feature if feats and space.group_feature in feats[0] else None
    size = None if size_name is None else np.array([f[size_name] for f in feats], dtype=float)
    groups = None if group_name is None else np.array([f[group_name] for f in feats],
                                                      dtype=float)
    rows, columns = [], {}
    for p, s, secs, lab in zip(names, scored, seconds, labels, strict=True):
        x = np.array([s[r.id] for r in common])
        columns[p] = x
        res = rank(x, truth)
        reason = "" if res.valid else (undefined_reason(x, truth) or res.reason)
        wanted = (opts.ci or is_small(len(common))) and res.valid
        ci = bootstrap_ci(x, truth) if wanted else None
        ci_reason = bootstrap_reason(ci, x, truth, {"rho": res.rho, "tau": res.tau}, reason)
        rows.append({"proxy": p, "n": len(common), "rho": res.rho, "tau": res.tau,
                     "valid": res.valid, "reason": reason, "ci": ci, "ci_reason": ci_reason,
                     **controlled(x, truth, size, groups, size_name, group_name),
                     **lab, "note": sample_note(len(common)), "seconds": secs})
    comparisons = []
    if opts.compare:
        first = proxies[0]
        comparisons = [paired_entry(first, p, columns[first], columns[p], truth)
                       for p in names[1:]]
    head = {"space": space.name, "variant": loaded.variant,
            "semantics": ctx.semantics, "stats": ctx.stats, "archs": opts.archs,
            "free": {**free.to_json(), "note": free_note} if free else {"note": free_note},
            "truth": space.truth_label, "size_feature": size_name,
            "group_feature": group_name}
    missing = [r.id for r in recs if r.id not in {c.id for c in common}]
    ex = loaded.extractor
    statistics = {"models_built": ex.built, "loaded_from_cache": ex.loaded,
                  "cache": str(ex.cache.parent) if ex.cache is not None else None}
    data = {**head, "results": rows, "comparisons": comparisons, "missing": missing,
            "statistics": statistics}
    lines = eval_lines(head, rows, comparisons) + [
        f"note: {n}" for n in (missing_note("requested", missing),) if n]
    if folder is not None:
        extra = {name: v for name, v in ((size_name, size), (group_name, groups))
                 if name is not None and name not in columns}
        _write(folder, data, common, truth, columns, extra, size, groups, loaded)
        lines.append(f"results: {folder.out}")
    notes = [line] if (line := statistics_line(ex)) else []
    cost = ex.cost_seconds([r.id for r in common])
    statistics["cost_seconds_per_arch"] = cost
    notes.append(cost_line(cost))
    return Report(data, lines, notes, out=folder.out if folder else None)


def _controls(head: dict[str, Any]) -> str:
    """What the partial and within columns control for, in words."""
    size, group = head.get("size_feature"), head.get("group_feature")
    parts = [f"partial|{size}: Spearman given {size} (ranks)" if size else
             "partial: no size feature",
             f"within {group}: Spearman within each {group} group of 3 or more, size-weighted"
             if group else "within: no group feature"]
    return "; ".join(parts) + "; 95% bootstrap intervals"


def eval_lines(head: dict[str, Any], rows: list[dict[str, Any]],
               comparisons: list[dict[str, Any]] = ()) -> list[str]:
    """The printed table of ``eval``: a header line, one line per proxy, the comparisons, what
    the partial and within columns control for, and the notes."""
    lines = [f"space {head['space']}  variant {head['variant']}  semantics "
             f"{head['semantics']}  archs {head['archs']}  truth: {head['truth']}"]
    for row in rows:
        extra = ""
        if row["ci"]:  # with why an interval is missing or degenerate
            extra = "  " + ci_text(row["ci"], ("rho", "tau"), row.get("ci_reason", ""))
        pname, wname = controlled_names(row)
        ptext, wtext = controlled_text(row)
        lines.append(f"{row['proxy']}: n={row['n']}  Spearman {corr(row['rho'], row['reason'])}"
                     f"  Kendall {corr(row['tau'], row['reason'])}{extra}  {pname} {ptext}"
                     f"  {wname} {wtext}  [{info_text(row)}]")
    free = head.get("free") or {}
    if free.get("note"):
        lines.append(f"note: {free['note']}")
    if "config_formula" in free:
        lines.append(f"config-formula: {free['config_formula']} (searched on the search split; "
                     f"best single feature there: {free['best_feature']})")

    lines += [paired_text(c) for c in comparisons] + [_controls(head), LABEL_KEY]
    notes = {row["note"] for row in rows if row.get("note")}
    return lines + [f"note: {n}" for n in sorted(notes)]


def _write(folder, data: dict, common: list, truth, columns: dict, extra: dict, size, groups,
           loaded) -> None:
    """scores.csv (the values ranked: 6 significant digits), scores_raw.csv (as computed),
    summary.json (the ``--json`` data without timings), timing.json, summary.md and the
    rank-space plot, atomically."""
    from lpzero_gp.score.correlate import controlled
    from lpzero_gp.score.fitness import rank, settle
    from lpzero_gp.workflows.report import plot_ranks

    space = loaded.space
    size_name, group_name = data["size_feature"], data["group_feature"]
    ranked = {p: settle(x) for p, x in columns.items()}  # the values that were ranked
    table, raw_table = [], []
    for i, r in enumerate(common):
        row = {"id": r.id, "truth": float(truth[i])}
        for name, values in ((size_name, size), (group_name, groups)):
            if name is not None:
                row[name] = float(values[i])
        row.update({p: float(ranked[p][i]) for p in columns})
        table.append(row)
        raw_table.append({"id": r.id, **{p: float(x[i]) for p, x in columns.items()}})
    panels = [(row["proxy"], columns[row["proxy"]], panel_caption(row["rho"], row))
              for row in data["results"]]
    for name, values in extra.items():
        ctrl = controlled(values, truth, size, groups, size_name, group_name, n=0)
        panels.append((name, values, panel_caption(rank(values, truth).rho, ctrl)))
    with folder as rf:  # timings apart, so every other file is identical for identical runs
        rf.csv("scores.csv", table)  # as ranked: 6 significant digits (fitness.settle)
        rf.csv("scores_raw.csv", raw_table)  # as computed, before settling
        rf.json("summary.json", {**{k: v for k, v in data.items() if k != "statistics"},
                                 "results": [{k: v for k, v in row.items() if k != "seconds"}
                                             for row in data["results"]]})
        rf.json("timing.json", {"seconds": {row["proxy"]: row["seconds"]
                                            for row in data["results"]},
                                "statistics": data["statistics"]})
        rf.text("summary.md", _markdown(data))
        plot_ranks(panels, truth, rf.path("score_vs_truth.png"),
                   f"{space.name} ({data['variant']}), {data['archs']} architectures "
                   f"(n={len(common)})", space.truth_label, space.higher_is_better, groups,
                   group_name)


def _markdown(data: dict) -> str:
    """The summary as Markdown: the table, the per-group correlations, the comparisons."""
    from lpzero_gp.score.correlate import MIN_GROUP

    results = data["results"]
    pname, wname = controlled_names(results[0]) if results else ("partial", "within")
    rows = []
    for r in results:
        ci, why = r["ci"] or {}, r.get("ci_reason", "")
        ptext, wtext = controlled_text(r)
        rows.append([f"`{r['proxy']}`", r["n"], corr(r["rho"], r["reason"]) + interval_cell(
            ci.get("rho"), why), corr(r["tau"], r["reason"]) + interval_cell(ci.get("tau"), why),
            ptext, wtext, info_text(r)])
    free = data.get("free") or {}
    out = (f"# {data['space']} ({data['variant']}): {data['archs']} architectures\n\n"
           f"Truth: {markdown_cell(data['truth'])}. {_controls(data)}. {LABEL_KEY}.\n\n"
           + markdown_table(["proxy", "n", "Spearman", "Kendall", pname, wname,
                             "information, cost"], rows)
           + (f"\nconfig-formula: `{free['config_formula']}` (searched on the search split)\n"
              if "config_formula" in free else ""))
    groups = results[0]["within"]["groups"] if results else []
    kept = [k for k, g in enumerate(groups) if g["n"] >= MIN_GROUP]
    if kept:
        header = [data["group_feature"], "n"] + [f"`{r['proxy']}`" for r in results]
        body = [[f"{groups[k]['group']:g}", groups[k]["n"]]
                + [corr(r["within"]["groups"][k]["rho"], "constant truth") for r in results]
                for k in kept]
        small = len(groups) - len(kept)
        out += (f"\nSpearman within each {data['group_feature']} group of {MIN_GROUP} or more"
                + (f" ({small} smaller group{'' if small == 1 else 's'} left out)" if small
                   else "") + ":\n\n")
        out += markdown_table(header, body)
    if data["comparisons"]:
        out += "\nPaired bootstrap (the same architectures resampled jointly):\n\n"
        out += "".join(f"- {paired_text(c)}\n" for c in data["comparisons"])
    notes = {r["note"] for r in results if r.get("note")}
    notes |= {n for n in (missing_note("requested", data["missing"]),) if n}
    return out + "".join(f"\nNote: {n}\n" for n in sorted(notes))

__all__ = ["evaluate"]
