"""``lpzero-gp eval``: how well proxies rank a space's architectures (Spearman rho, Kendall tau).

A proxy is a proxy string, a named proxy or one of the space's feature proxies (params, layers,
...). Every space goes through the same code, the llama space's sub-networks included. All
proxies are ranked on the same architectures: one that lacks statistics for some proxy is left
out of every row, and the report says which. On fewer than ``SMALL_SAMPLE`` architectures every
row carries its bootstrap interval and a small-sample note.
"""

from __future__ import annotations

import time
from typing import Any

from lpzero_gp.workflows.options import EvalOptions, Report
from lpzero_gp.workflows.report import fmt, interval, is_small, missing_note, sample_note


def evaluate(opts: EvalOptions) -> Report:
    """Score every proxy of ``opts`` on the chosen architectures of its space.

    Returns ``data`` (the header, one row per proxy under ``results``, the architectures left
    out of every row under ``missing``) and the printed table as ``lines``.
    """
    import numpy as np

    from lpzero_gp.score.fitness import rank
    from lpzero_gp.workflows.context import evaluate_proxy, load
    from lpzero_gp.workflows.splits import pick

    ctx = opts.context()
    loaded = load(ctx)
    recs = pick(loaded.records, opts.archs, loaded.space, loaded.packaged, ctx.seed)
    scored, seconds = [], []
    for p in opts.proxies:
        t0 = time.perf_counter()
        r = evaluate_proxy(loaded, p, recs, "statistics")
        scored.append({rec.id: float(x) for rec, x in zip(r.records, r.scores, strict=True)})
        seconds.append(time.perf_counter() - t0)
    common = [r for r in recs if all(r.id in s for s in scored)]
    truth = np.array([r.truth for r in common])
    rows = []
    for p, s, secs in zip(opts.proxies, scored, seconds, strict=True):
        x = np.array([s[r.id] for r in common])
        res = rank(x, truth)
        ci = interval(x, truth) if (opts.ci or is_small(len(common))) and res.valid else None
        rows.append({"proxy": p, "n": len(common), "rho": res.rho, "tau": res.tau,
                     "valid": res.valid, "reason": res.reason, "ci": ci,
                     "note": sample_note(len(common)), "seconds": secs})
    head = {"space": loaded.space.name, "variant": loaded.variant,
            "semantics": ctx.semantics, "archs": opts.archs,
            "truth": loaded.space.truth_label}
    missing = [r.id for r in recs if r.id not in {c.id for c in common}]
    return Report({**head, "results": rows, "missing": missing},
                  eval_lines(head, rows) + [f"note: {n}" for n in
                                            (missing_note("requested", missing),) if n])


def eval_lines(head: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The printed table of ``eval``: a header line, then one line per proxy."""
    lines = [f"space {head['space']}  variant {head['variant']}  semantics "
             f"{head['semantics']}  archs {head['archs']}  truth: {head['truth']}"]
    for row in rows:
        extra = ""
        if row["ci"]:
            extra = (f"  rho 95% CI [{fmt(row['ci']['rho'][0])}, {fmt(row['ci']['rho'][1])}]"
                     f"  tau 95% CI [{fmt(row['ci']['tau'][0])}, {fmt(row['ci']['tau'][1])}]")
        status = "" if row["valid"] else f"  invalid: {row['reason']}"
        lines.append(f"{row['proxy']}: n={row['n']}  Spearman {fmt(row['rho'])}  "
                     f"Kendall {fmt(row['tau'])}{extra}{status}")
    notes = {row["note"] for row in rows if row.get("note")}
    return lines + [f"note: {n}" for n in sorted(notes)]
