"""Results folders (written atomically), tables and plots."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

#: Below this many architectures a rank correlation is reported with its 95% interval and a
#: "small sample" note: its uncertainty is then of the order of the differences between proxies.
SMALL_SAMPLE = 20


def fmt(x: float, digits: int = 3) -> str:
    """A number for a table ('-' for nan)."""
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def is_small(n: int) -> bool:
    """Whether a correlation on ``n`` architectures is a small-sample one."""
    return n < SMALL_SAMPLE


def sample_note(n: int) -> str | None:
    """The warning a correlation on fewer than :data:`SMALL_SAMPLE` architectures carries."""
    if not is_small(n):
        return None
    return (f"small sample (n={n}): read the correlation with its 95% interval; fewer than "
            f"{SMALL_SAMPLE} architectures rank proxies only roughly")


def interval(scores: Sequence[float], truth: Sequence[float]) -> dict:
    """95% BCa bootstrap intervals of rho and tau. Where the bootstrap distribution is
    degenerate (common on a handful of architectures) the interval is (nan, nan), shown as '-',
    without SciPy's and NumPy's warnings about it."""
    from scipy.stats import DegenerateDataWarning

    from lpzero_gp.score.fitness import bootstrap_ci

    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", DegenerateDataWarning)
        return bootstrap_ci(scores, truth)


def ci_text(ci: Mapping[str, Sequence[float]] | None, key: str = "rho") -> str:
    """``rho 95% CI [a, b]`` (empty without an interval)."""
    if not ci:
        return ""
    low, high = ci[key]
    return f"{key} 95% CI [{fmt(low)}, {fmt(high)}]"


def missing_note(what: str, ids: Sequence[str]) -> str | None:
    """The note for architectures left out of a side-by-side table (None if none are)."""
    if not ids:
        return None
    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    return (f"{len(ids)} {what} architecture{'' if len(ids) == 1 else 's'} without statistics "
            f"left out of every row, so all proxies are ranked on the same ones: {shown}")


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_generations(logbook: list[dict], path: Path, title: str) -> None:
    """Best and median Spearman rho per generation."""
    plt = _pyplot()
    gens = [r["gen"] for r in logbook]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    ax.plot(gens, [r["best"] for r in logbook], marker="o", ms=3, label="best")
    ax.plot(gens, [r["median"] for r in logbook], ls="--", label="median (valid)")
    ax.set_xlabel("generation")
    ax.set_ylabel("Spearman rho (search architectures)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_scatter(scores, truth, path: Path, xlabel: str, ylabel: str, title: str) -> None:
    """Proxy score against ground truth."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=110)
    ax.scatter(scores, truth, s=12, alpha=0.7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
