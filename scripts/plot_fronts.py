"""One figure of the quality-against-cost fronts of several ``run --objective pareto`` runs.

Each panel is one run, drawn as its own ``front.png`` is (``workflows.front.draw_front``):
held-out rho of each front proxy against its measured seconds per architecture, with the
free rows (the config features and the config formula, from the run's summary.json
``baselines_heldout``) at the ``config`` position.

    python scripts/plot_fronts.py docs/results/flexibert/pareto docs/results/gpt2/pareto \
        docs/results/llama/pareto --out docs/img/fronts.png
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

__all__ = ["free_rows", "front_csv_rows", "main", "plot_fronts"]


def front_csv_rows(folder: Path) -> list[dict]:
    """The rows of ``folder/front.csv`` with numbers as numbers."""
    with open(folder / "front.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for key in ("search_rho", "heldout_rho", "seconds_per_arch"):
            r[key] = float(r[key]) if r[key] not in ("", "nan") else math.nan
        r["size"] = int(r["size"])
    return rows


def free_rows(summary: dict) -> dict[str, float]:
    """Held-out rho of every row of summary.json that needs only the configs."""
    return {name: float(row["rho"]) for name, row in summary["baselines_heldout"].items()
            if row.get("cost") == "config" and row.get("rho") is not None}


def plot_fronts(folders: list[Path], out: Path, titles: list[str] | None = None) -> None:
    """One panel per results folder (front.csv and summary.json), side by side, into ``out``."""
    from lpzero_gp.workflows.front import draw_front
    from lpzero_gp.workflows.report import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(folders), figsize=(5.2 * len(folders), 4.0), dpi=110,
                             squeeze=False)
    for i, (ax, folder) in enumerate(zip(axes[0], folders, strict=True)):
        summary = json.loads((folder / "summary.json").read_text())
        title = titles[i] if titles else (
            f"{summary['space']}: held-out {summary['heldout']['split']} "
            f"(n={summary['heldout']['n']})")
        draw_front(ax, front_csv_rows(folder), free_rows(summary), title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path,
                    help="results folders, each with front.csv and summary.json")
    ap.add_argument("--out", type=Path, default=Path("docs/img/fronts.png"))
    args = ap.parse_args(argv)
    plot_fronts(args.folders, args.out)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
