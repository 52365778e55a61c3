"""Results folders (written atomically), tables and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def fmt(x: float, digits: int = 3) -> str:
    """A number for a table ('-' for nan)."""
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


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
