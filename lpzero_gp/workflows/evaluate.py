"""``lpzero-gp eval``: how well proxies rank a space's architectures (Spearman rho, Kendall tau).

A proxy is a proxy string, a named proxy or one of the space's feature proxies (params, layers,
...). Every space goes through the same code, the llama space's sub-networks included.
"""

from __future__ import annotations

import time
from typing import Any

from lpzero_gp.workflows.options import EvalOptions, Report
from lpzero_gp.workflows.report import fmt


def evaluate(opts: EvalOptions) -> Report:
    """Score every proxy of ``opts`` on the chosen architectures of its space.

    Returns ``data`` (the header and one row per proxy under ``results``) and the printed
    table as ``lines``.
    """
    from lpzero_gp.workflows.context import evaluate_proxy, load, pick_records

    ctx = opts.context()
    loaded = load(ctx)
    recs = pick_records(loaded, opts.archs, ctx.seed)
    rows = []
    for p in opts.proxies:
        t0 = time.perf_counter()
        r = evaluate_proxy(loaded, p, recs, "statistics", with_ci=opts.ci)
        rows.append({"proxy": p, "n": len(r.records), "rho": r.result.rho,
                     "tau": r.result.tau, "valid": r.result.valid,
                     "reason": r.result.reason, "ci": r.ci,
                     "seconds": time.perf_counter() - t0})
    head = {"space": loaded.space.name, "variant": loaded.variant,
            "semantics": ctx.semantics, "archs": opts.archs,
            "truth": loaded.space.truth_label}
    return Report({**head, "results": rows}, eval_lines(head, rows))


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
    return lines
