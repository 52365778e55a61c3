"""The quality-against-cost front of a ``run --objective pareto``: its table and its plot.

A ``pareto`` search keeps proxies that trade rank correlation on the search split against the
cost class of their inputs and their tree size (:func:`~lpzero_gp.search.loop.objectives`).
Its front is the non-dominated set of the final population and the hall of fame; each front
proxy is scored on the held-out architectures (statistics already in memory) and given the
measured seconds per architecture of its cost class, so the table answers "what does ranking
quality cost here". The summary names the cheapest front proxy whose held-out rho is within
:data:`TOLERANCE` of the best front proxy's.
"""

from __future__ import annotations

import math
from pathlib import Path

from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.score.information import COSTS
from lpzero_gp.workflows.context import Loaded, evaluate_proxy

#: Held-out rho within which a cheaper front proxy counts as good as the best one.
TOLERANCE = 0.01
#: Columns of front.csv, in order.
COLUMNS = ("proxy", "search_rho", "heldout_rho", "cost", "seconds_per_arch", "size")
_RANK = {name: i for i, (name, _) in enumerate(COSTS)}


def class_seconds(cost: str, measured: dict) -> float:
    """Median measured seconds per architecture of a cost class, from the run's cost figures
    (:meth:`~lpzero_gp.stats.extract.Extractor.cost_seconds`): 0 for ``config``, the model
    build for ``weights``, build and statistics pass for ``forward`` and ``backward`` (they
    are not timed apart); nan when nothing was measured."""
    if cost == "config":
        return 0.0
    if not measured.get("n"):
        return float("nan")
    if cost == "weights":
        return float(measured["build"])
    return float(measured["build"] + measured["statistics"])


def front_rows(loaded: Loaded, front: list, held_records: list, measured: dict) -> list[dict]:
    """One row per front proxy (:data:`COLUMNS`), cheapest class first, then smaller, then
    higher search rho: its held-out rho on ``held_records``, cost class, seconds per
    architecture (:func:`class_seconds`) and tree size."""
    from lpzero_gp.search.loop import cost_rank

    rows = []
    for ind in front:
        proxy = format_tree(ind)
        held = evaluate_proxy(loaded, proxy, held_records, "held-out statistics",
                              labelled=False)
        cost = COSTS[cost_rank(ind)][0]
        rows.append({"proxy": proxy, "search_rho": float(ind.fitness.values[0]),
                     "heldout_rho": float(held.result.rho), "cost": cost,
                     "seconds_per_arch": class_seconds(cost, measured), "size": len(ind)})
    return sorted(rows, key=lambda r: (_RANK[r["cost"]], r["size"], -r["search_rho"],
                                       r["proxy"]))


def cheapest_within(rows: list[dict], tolerance: float = TOLERANCE) -> dict | None:
    """The cheapest row (class, then seconds, then size) whose held-out rho is within
    ``tolerance`` of the best held-out rho of ``rows``; None when no row has one."""
    valid = [r for r in rows if math.isfinite(r["heldout_rho"])]
    if not valid:
        return None
    best = max(r["heldout_rho"] for r in valid)

    def price(r: dict) -> tuple:
        secs = r["seconds_per_arch"]
        return (_RANK[r["cost"]], secs if math.isfinite(secs) else math.inf, r["size"],
                -r["heldout_rho"], r["proxy"])

    return min((r for r in valid if r["heldout_rho"] >= best - tolerance), key=price)


def front_summary(rows: list[dict]) -> dict:
    """summary.json's ``front``: the objectives, the rows, the best held-out rho on the front
    and the cheapest row within :data:`TOLERANCE` of it."""
    rhos = [r["heldout_rho"] for r in rows if math.isfinite(r["heldout_rho"])]
    return {"objectives": ["search rho (max)", "cost class (min)", "tree size (min)"],
            "tolerance": TOLERANCE, "rows": rows,
            "best_heldout_rho": max(rhos) if rhos else float("nan"),
            "cheapest_within": cheapest_within(rows)}


def _seconds_text(secs: float) -> str:
    return "not measured" if not math.isfinite(secs) else f"{secs:.2f} s/arch"


def front_line(front: dict) -> str:
    """The summary's line on the front: its size and the cheapest proxy within the
    tolerance of the best held-out rho."""
    n = len(front["rows"])
    head = f"front: {n} non-dominated prox{'y' if n == 1 else 'ies'} (front.csv)"
    pick = front["cheapest_within"]
    if pick is None:
        return f"{head}; none is valid on the held-out architectures"
    return (f"{head}; cheapest within {front['tolerance']} held-out rho of the best "
            f"({front['best_heldout_rho']:.3f}): {pick['proxy']}  held-out "
            f"{pick['heldout_rho']:.3f}, {pick['cost']}, {_seconds_text(pick['seconds_per_arch'])}"
            f", size {pick['size']}")


def _label_groups(points: dict[str, float], gap: float = 0.05) -> list[tuple[float, list]]:
    """Names of points whose values lie within ``gap`` of the group's first, highest first:
    one label per group, so close labels do not overprint."""
    groups: list[tuple[float, list]] = []
    for name, value in sorted(points.items(), key=lambda kv: (-kv[1], kv[0])):
        if groups and groups[-1][0] - value < gap:
            groups[-1][1].append(name)
        else:
            groups.append((value, [name]))
    return groups


def plot_front(rows: list[dict], free: dict[str, float], path: Path, title: str) -> None:
    """front.png: held-out rho against seconds per architecture (log axis), one marker per cost
    class, with the rows that need only the configs (``free``: name -> held-out rho, e.g.
    #params, layers, the config formula) at the ``config`` position left of the cheapest
    measured cost. Without measured seconds the x axis is the cost class itself."""
    from lpzero_gp.workflows.report import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=110)
    draw_front(ax, rows, free, title)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)


def draw_front(ax, rows: list[dict], free: dict[str, float], title: str) -> None:
    """The drawing of :func:`plot_front` on one matplotlib axes (several fronts share a
    figure this way)."""
    measured = [r["seconds_per_arch"] for r in rows
                if math.isfinite(r["seconds_per_arch"]) and r["seconds_per_arch"] > 0]
    if measured:
        config_x = min(measured) / 10

        def x_of(r: dict) -> float:
            secs = r["seconds_per_arch"]
            return config_x if r["cost"] == "config" else secs
        xlabel = "seconds per architecture (median measured; log)"
    else:
        config_x = 1.0

        def x_of(r: dict) -> float:
            return 10.0 ** _RANK[r["cost"]]
        xlabel = "cost class (seconds not measured)"
    markers = {"config": "s", "weights": "^", "forward": "o", "backward": "D"}
    for name, _ in COSTS:
        pts = [r for r in rows if r["cost"] == name and math.isfinite(r["heldout_rho"])]
        if pts:
            ax.scatter([x_of(r) for r in pts], [r["heldout_rho"] for r in pts],
                       marker=markers[name], s=28, label=f"front: {name}")
    shown = {k: v for k, v in free.items() if math.isfinite(v)}
    if shown:
        ax.scatter([config_x] * len(shown), list(shown.values()), marker="x", color="0.3",
                   s=30, label="config rows (free)")
        for rho, names in _label_groups(shown):
            ax.annotate(", ".join(names), (config_x, rho), xytext=(4, 0),
                        textcoords="offset points", fontsize=7, va="center")
    ax.set_xscale("log")
    if measured:
        ticks = sorted({config_x, *measured})
        ax.set_xticks(ticks, ["config", *[f"{t:.2g}" for t in ticks[1:]]], fontsize=7)
    else:
        ax.set_xticks([10.0 ** i for i in range(len(COSTS))], [n for n, _ in COSTS],
                      fontsize=7)
    ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Spearman rho (held-out)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")

__all__ = [
    "COLUMNS", "TOLERANCE", "cheapest_within", "class_seconds", "draw_front", "front_line",
    "front_rows", "front_summary", "plot_front",
]
