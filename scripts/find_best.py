"""Search many settings on the search split and choose the winner by the validation split.

    python scripts/find_best.py --space flexibert --cache-dir CACHE --out runs/grid-flexibert

Every setting is one ``lpzero-gp run`` command (recorded verbatim), so the chosen proxy is
reproduced by re-running its command. Selection uses validation Spearman only; this script does
not score the test split (``lpzero-gp eval --archs test`` does, once, for the chosen proxy;
``scripts/what_stats_add.py`` runs the whole protocol with the free rows and the null control).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import subprocess
import sys
from pathlib import Path

#: (shape, n_unary) pairs; n_unary only shapes the initial population of "deep" searches.
SHAPES = [("lpzero", 2), ("lpzero", 3), ("deep", 2)]
GRID = {
    "flexibert": {"variant": ["as-trained", "reference"], "shape": SHAPES,
                  "aggregation": ["both"], "seed": [1, 2, 3, 4]},
    "gpt2": {"variant": ["default"], "shape": SHAPES, "aggregation": ["both"],
             "seed": [1, 2, 3, 4]},
}


def command(space: str, setting: dict, cache: str, out: Path) -> list[str]:
    """The ``lpzero-gp run`` command of one setting."""
    cmd = ["lpzero-gp", "run", "--space", space, "--seed", str(setting["seed"]),
           "--init-seed", "42",
           "--shape", setting["shape"], "--n-unary", str(setting["n_unary"]),
           "--aggregation", setting["aggregation"], "--heldout", "validation",
           "--cache-dir", cache, "--out", str(out), "--force", "--json", "--quiet"]
    if setting["variant"] != "default":
        cmd += ["--variant", setting["variant"]]
    if setting["shape"] == "deep":
        cmd += ["--max-height", "7"]
    return cmd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", choices=sorted(GRID), required=True)
    ap.add_argument("--cache-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--variants", default=None, help="comma-separated subset of variants")
    a = ap.parse_args()
    grid = dict(GRID[a.space])
    if a.variants:
        grid["variant"] = a.variants.split(",")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        setting = dict(zip(keys, values, strict=True))
        setting["shape"], setting["n_unary"] = setting["shape"]
        name = "-".join(f"{k}={v}" for k, v in setting.items())
        cmd = command(a.space, setting, a.cache_dir, out / name)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{name}: failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        s = json.loads(proc.stdout)
        row = {"setting": setting, "command": shlex.join(cmd), "proxy": s["proxy"],
               "search_rho": s["search"]["rho"], "validation_rho": s["heldout"]["rho"],
               "validation_tau": s["heldout"]["tau"]}
        rows.append(row)
        print(f"{name}: search {row['search_rho']:.3f}  validation "
              f"{row['validation_rho']:.3f}  {row['proxy']}", flush=True)
    rows.sort(key=lambda r: -r["validation_rho"])
    (out / "grid.json").write_text(json.dumps(rows, indent=2) + "\n")
    if rows:
        print(f"chosen by validation: {rows[0]['proxy']}\n  {rows[0]['command']}")


if __name__ == "__main__":
    main()
