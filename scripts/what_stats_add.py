"""What the statistics add on one space: searches with the beyond-shape fitness, the winner
chosen on validation, scored once on test against every free row, and the real-vs-null ablation.

    python scripts/what_stats_add.py --space flexibert --cache-dir C --out docs/results/flexibert

Every step is one ``lpzero-gp`` command, recorded verbatim in ``summary.json``, so each number
is reproduced by re-running its command. Selection uses the validation split only: among the
winners labelled statistics-driven on validation, the highest validation Spearman (if none is,
the highest of all, and the summary says so). The test split is scored once, for the chosen
proxy, the previously shipped proxy, every config feature and the config formula, with a paired
bootstrap of the chosen proxy against each.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

#: (shape, seed) settings searched per space.
SHAPES = ("lpzero", "deep")


def lpzero(args: list[str]) -> dict:
    """Run one ``lpzero-gp`` command with ``--json``; its parsed output."""
    cmd = ["lpzero-gp", *args, "--json", "--quiet"]
    print("$", shlex.join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"command failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def common(space: str, cache: str, extra: list[str]) -> list[str]:
    """The options every command of a space shares."""
    return ["--space", space, "--cache-dir", cache, *extra]


def main() -> None:
    """Search, select on validation, score test once, ablate real vs null."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--space", required=True)
    ap.add_argument("--cache-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--previous", default=None, help="the previously shipped proxy's name")
    ap.add_argument("--space-args", default="", help="extra options, e.g. '--variant x'")
    ap.add_argument("--ablate-seeds", type=int, default=3)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    base = common(a.space, a.cache_dir, shlex.split(a.space_args))
    runs = []
    for shape in SHAPES:
        for seed in a.seeds:
            args = ["run", *base, "--seed", str(seed), "--init-seed", "42", "--shape", shape,
                    "--heldout", "validation", "--out", str(out / "runs" / f"{shape}-s{seed}"),
                    "--force"]
            if shape == "deep":
                args += ["--max-height", "7"]
            s = lpzero(args)
            h = s["heldout"]
            runs.append({"command": shlex.join(["lpzero-gp", *args]), "proxy": s["proxy"],
                         "search_rho": s["search"]["rho"], "validation_rho": h["rho"],
                         "validation_label": h["information"]["label"],
                         "information": h["information"], "cost": h["cost"]})
    driven = [r for r in runs if r["validation_label"] == "statistics-driven"
              and r["validation_rho"] is not None and r["validation_rho"] == r["validation_rho"]]
    pool = driven or [r for r in runs if r["validation_rho"] == r["validation_rho"]]
    chosen = max(pool, key=lambda r: r["validation_rho"])
    proxies = [chosen["proxy"]] + ([a.previous] if a.previous else [])
    test_args = ["eval", *base, "--archs", "test", "--compare", "--out", str(out / "test"),
                 "--force"] + [x for p in proxies for x in ("--proxy", p)]
    test = lpzero(test_args)
    null_args = ["eval", *base, "--archs", "test", "--stats", "null", "--proxy",
                 chosen["proxy"]]
    null = lpzero(null_args)
    ablate_args = ["ablate", *base, "--experiments", "stats", "--seeds", str(a.ablate_seeds),
                   "--out", str(out / "ablate"), "--force"]
    ablate = lpzero(ablate_args)
    summary = {"space": a.space, "runs": runs, "chosen": chosen,
               "chosen_is_statistics_driven_on_validation": bool(driven),
               "test": {"command": shlex.join(["lpzero-gp", *test_args]), **test},
               "test_null": {"command": shlex.join(["lpzero-gp", *null_args]),
                             "results": null["results"]},
               "ablate": {"command": shlex.join(["lpzero-gp", *ablate_args]),
                          "stats": ablate["experiments"]["stats"],
                          "paired": ablate.get("real_vs_null", [])}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(json.dumps({"chosen": chosen, "driven": bool(driven)}, indent=2))


if __name__ == "__main__":
    main()
