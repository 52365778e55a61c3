"""The ablation plots: best-so-far rho against proxies evaluated, per arm and per value."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lpzero_gp.workflows.ablate.config import ARMS, COUNTING
from lpzero_gp.workflows.ablate.summary import ordered, step_values


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _band(ax, runs: list[dict], budget: int, label: str, start: int = 1) -> None:
    """Mean best-so-far with its range over seeds (only where every seed has a valid proxy)."""
    grid = np.arange(start, budget + 1)
    ys = np.array([step_values(r["curve"], grid) for r in runs])
    ok = np.all(np.isfinite(ys), axis=0)
    if not ok.any():
        return
    g, y = grid[ok], ys[:, ok]
    (line,) = ax.plot(g, y.mean(axis=0), label=label, lw=1.6)
    ax.fill_between(g, y.min(axis=0), y.max(axis=0), color=line.get_color(), alpha=0.18, lw=0)


def _finish(fig, path: Path, note: str) -> None:
    fig.text(0.01, 0.01, note, fontsize=6.5, ha="left", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, metadata={"Software": None})
    _pyplot().close(fig)


def plot_rps(result: dict, path: Path, title: str) -> None:
    """``rps_vs_random.png``: best-so-far rho against proxies evaluated, three arms.

    Left the whole budget; right the same curves from the end of the initial population on,
    where the arms differ by a few hundredths of rho.
    """
    plt = _pyplot()
    budget = result["settings"]["evaluations"]
    start = min(result["settings"]["population"], budget - 1)
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    for arm, label in ARMS.items():
        runs = result["experiments"]["rps"][arm]["runs"]
        _band(full, runs, budget, label)
        _band(zoom, runs, budget, label, start=start)
    for ax, what in ((full, "whole budget"), (zoom, f"from {start} proxies on")):
        ax.set_xlabel("proxies evaluated (including invalid ones)")
        ax.set_title(what, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    full.set_xlim(0, budget)
    zoom.set_xlim(start, budget)
    full.set_ylabel(f"best Spearman rho so far (search split, n={result['n_search']})")
    fig.suptitle(f"{title}: evolution with / without RPS vs random search", fontsize=9)
    k = len(result["settings"]["seeds"])
    _finish(fig, path, f"Lines: mean over {k} seeds; bands: min-max. Evolution curves start "
            "after the initial population. " + COUNTING[0].upper() + COUNTING[1:] + ".")


def plot_sweep(result: dict, name: str, path: Path, title: str, xlabel: str,
               legend: str = "{}") -> None:
    """``population.png`` / ``n_unary.png``: curves per value, and final rho per value."""
    plt = _pyplot()
    exp = ordered(result["experiments"][name])
    budget = result["settings"]["evaluations"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    for value, s in exp.items():
        _band(left, s["runs"], budget, legend.format(value))
    left.set_xlabel("proxies evaluated (including invalid ones)")
    left.set_ylabel("best Spearman rho so far (search split)")
    left.set_xlim(0, budget)
    left.legend(loc="best", fontsize=8)
    left.grid(alpha=0.3)
    pos = np.arange(len(exp))
    for off, what, label, marker in ((-0.08, "search_rho", "search split (best so far)", "o"),
                                     (0.08, "validation_rho", "validation split", "s")):
        stats = [s[what] for s in exp.values()]
        mean = np.array([np.nan if d["mean"] is None else d["mean"] for d in stats])
        lo = np.array([np.nan if d["min"] is None else d["min"] for d in stats])
        hi = np.array([np.nan if d["max"] is None else d["max"] for d in stats])
        err = np.clip(np.nan_to_num([mean - lo, hi - mean]), 0, None)  # rounding: mean > max
        right.errorbar(pos + off, mean, yerr=err, fmt=marker, capsize=4, label=label)
    right.set_xticks(pos, list(exp))
    right.set_xlabel(xlabel)
    right.set_ylabel(f"Spearman rho after {budget} proxies evaluated")
    right.legend(loc="best", fontsize=8)
    right.grid(alpha=0.3)
    fig.suptitle(f"{title}: {xlabel} (evolution with RPS)", fontsize=9)
    k = len(result["settings"]["seeds"])
    _finish(fig, path, f"Mean over {k} seeds with min-max range; right: the best proxy "
            "of each run, on the search split and scored on the validation split. "
            + COUNTING[0].upper() + COUNTING[1:] + ".")

__all__ = ["plot_rps", "plot_sweep"]
