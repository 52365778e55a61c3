"""Markdown tables of ``scripts/what_stats_add.py`` results: the per-space sections of
docs/results.md.

    python scripts/results_table.py docs/results/flexibert docs/results/gpt2 docs/results/llama

The other sections of docs/results.md are kept by hand, so merge the printed tables into that
page rather than replacing it.

Reads each folder's ``summary.json`` (written by what_stats_add.py) and prints, per space: the
searches with their validation figures and labels, the test table of the chosen proxy against
every free row, the paired comparisons, the null control and the real-vs-null ablation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def num(x, digits: int = 3) -> str:
    """A number, or '-' for None/nan."""
    return "-" if x is None or x != x else f"{x:.{digits}f}"


def ci(c) -> str:
    """`` [a, b]`` of an interval, or ''."""
    return f" [{num(c[0])}, {num(c[1])}]" if c else ""


def label(row: dict) -> str:
    """The information label with both rhos, and the cost class."""
    info = row.get("information") or {}
    if info.get("label") in ("config", None):
        return f"config, {row.get('cost', 'config')}"
    return (f"{info['label']} (real~null {num(info.get('rho_real_null'))}, config~proxy "
            f"{num(info.get('rho_config'))}), {row.get('cost')}"
            + (", precision-limited" if row.get("precision_limited") else ""))


def space_section(folder: Path) -> list[str]:
    """The Markdown of one space."""
    s = json.loads((folder / "summary.json").read_text())
    out = [f"## {s['space']}\n", "Searches (default fitness `beyond-shape`; validation split):\n",
           "| command | proxy | search rho | validation rho | validation label |",
           "|---|---|---|---|---|"]
    for r in s["runs"]:
        out.append(f"| `{r['command']}` | `{r['proxy']}` | {num(r['search_rho'])} | "
                   f"{num(r['validation_rho'])} | {label(r)} |")
    chosen = s["chosen"]
    why = ("the best validation rho among the statistics-driven winners"
           if s["chosen_is_statistics_driven_on_validation"] else
           "no winner was statistics-driven on validation; the best validation rho of all")
    out += ["", f"Chosen: `{chosen['proxy']}` ({why}).\n",
            f"Test split, reported once: `{s['test']['command']}`\n",
            "| proxy | n | Spearman [95% CI] | partial | within | information, cost |",
            "|---|---|---|---|---|---|"]
    for r in s["test"]["results"]:
        name = "chosen proxy" if r["proxy"] == chosen["proxy"] else r["proxy"]
        out.append(f"| `{name}` | {r['n']} | {num(r['rho'])}{ci((r.get('ci') or {}).get('rho'))}"
                   f" | {num(r['partial']['rho'])} | {num(r['within']['rho'])} | {label(r)} |")
    free = s["test"].get("free") or {}
    if "config_formula" in free:
        out.append(f"\nconfig-formula: `{free['config_formula']}` (searched on the search split)")
    out += ["", "Paired bootstrap of the chosen proxy against each row (one-sided P(Δ≤0)):\n"]
    for c in s["test"]["comparisons"]:
        b = "chosen proxy" if c["b"] == chosen["proxy"] else c["b"]
        out.append(f"- vs `{b}`: Δrho {num(c['diff'])}{ci(c['ci'])}, P = {num(c['p_le_zero'])}"
                   if not c["reason"] else f"- vs `{b}`: invalid ({c['reason']})")
    null = s["test_null"]["results"][0]
    out += ["", f"Null control on test (`{s['test_null']['command']}`): the chosen proxy on "
            f"noise of the same shapes ranks at rho {num(null['rho'])}.\n"]
    ab = s["ablate"]
    out += [f"Real vs null statistics (`{ab['command']}`), validation rho of each arm's "
            "winner (mean [min, max] over seeds):\n", "| statistics | search rho | "
            "validation rho |", "|---|---|---|"]
    for arm, v in ab["stats"].items():
        sr, vr = v["search_rho"], v["validation_rho"]
        out.append(f"| {arm} | {num(sr['mean'])} [{num(sr['min'])}, {num(sr['max'])}] | "
                   f"{num(vr['mean'])} [{num(vr['min'])}, {num(vr['max'])}] |")
    saved = folder / "ablate" / "ablation.json"
    paired = ab.get("paired") or (json.loads(saved.read_text()).get("real_vs_null", [])
                                  if saved.is_file() else [])
    for e in paired:
        out.append(f"- seed {e['seed']}: real − null Δrho {num(e.get('diff'))}"
                   f"{ci(e.get('ci'))}, P = {num(e.get('p_le_zero'))}")
    return out + [""]


def main() -> None:
    """Print the tables of every folder given."""
    lines = ["# Results: what the statistics add\n",
             "Made by `scripts/what_stats_add.py` (one `lpzero-gp` command per number, listed "
             "with it) and printed by `scripts/results_table.py`.\n"]
    for arg in sys.argv[1:]:
        lines += space_section(Path(arg))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
