"""Choose the cross-space proxy on validation and record it, with its test figures, as a named
proxy (``cross-best`` in ``lpzero_gp/data/best_proxies.json``).

The candidates are the results folders of ``lpzero-gp run --space A --space B ...`` searches
(one proxy for several spaces). The chosen one has the highest worst-space validation rho
(ties: the higher mean over the spaces, then the smaller tree); its test figures come from one
``lpzero-gp eval --archs test --compare --ci --json`` per space, with the proxy first, then that
space's best free feature (chosen on the search split by the run) and its own shipped proxy::

    python scripts/ship_cross_space.py --runs runs/cross3-rho-s1 runs/cross3-rho-s2 \
        runs/cross3-rho-s3 --tests docs/results/cross/test-{llama,gpt2,flexibert}.json

Prints the choice and a Markdown table; ``--write`` stores the entry.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from lpzero_gp.proxy import parse

BEST = Path(__file__).resolve().parents[1] / "lpzero_gp" / "data" / "best_proxies.json"
NAME = "cross-best"


def _r(x: float) -> float:
    return round(float(x), 3)


def choose(runs: list[Path]) -> tuple[Path, dict, dict]:
    """The run whose proxy has the best worst-space validation rho (then mean, then size)."""
    scored = []
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        rhos = [v["heldout"]["rho"] for v in summary["per_space"].values()]
        size = len(parse(summary["proxy"]))
        scored.append(((min(rhos), sum(rhos) / len(rhos), -size), run, summary))
    scored.sort(key=lambda s: s[0], reverse=True)
    _, run, summary = scored[0]
    config = json.loads((run / "config.json").read_text())
    return run, summary, config


def _figures(f: dict) -> dict:
    return {"n": f["n"], "rho": _r(f["rho"]), "tau": _r(f["tau"])}


def _test(test: dict, proxy: str) -> tuple[dict, dict, dict, dict]:
    """The proxy's test row and its paired comparisons with the free feature and own proxy."""
    rows = {r["proxy"]: r for r in test["results"]}
    row = rows[proxy]
    figures = {**_figures(row), "rho_ci95": [_r(x) for x in row["ci"]["rho"]],
               "tau_ci95": [_r(x) for x in row["ci"]["tau"]]}
    comparisons = {c["b"]: c for c in test["comparisons"]}
    return figures, row, comparisons, rows


def _paired(c: dict) -> dict:
    return {"against": c["b"], "rho": _r(c["rho_b"]), "diff": _r(c["diff"]),
            "diff_ci95": [_r(x) for x in c["ci"]], "p_le_zero": _r(c["p_le_zero"])}


def entry(run: Path, summary: dict, config: dict, tests: dict[str, dict], runs: list[Path]
          ) -> dict:
    """The ``best_proxies.json`` entry of the chosen proxy."""
    proxy = summary["proxy"]
    spaces = list(summary["per_space"])
    seed = config["contexts"][0]["seed"]
    per_space = {}
    for space in spaces:
        own = summary["per_space"][space]
        test_fig, row, comps, _ = _test(tests[space], proxy)
        feature = own["free"]["best_feature"]
        per_space[space] = {
            "variant": own["variant"], "search": _figures(own["search"]),
            "validation": _figures(own["heldout"]), "test": test_fig,
            "information": {**{k: (_r(v) if isinstance(v, float) else v)
                               for k, v in row["information"].items()}, "split": "test"},
            "vs_best_free": _paired(comps[feature]),
            "vs_config_formula": _paired(comps["config-formula"]),
            "vs_own": _paired(comps[f"{space}-best"]),
            "test_command": f"lpzero-gp eval --space {space} --archs test --proxy {NAME} "
                            f"--proxy {feature} --proxy {space}-best --compare --ci",
        }
    command = "lpzero-gp run " + " ".join(f"--space {s}" for s in spaces) + \
        f" --fitness rho --heldout validation --seed {seed} --init-seed 42"
    seeds = ", ".join(str(json.loads((r / "config.json").read_text())["contexts"][0]["seed"])
                      for r in runs)
    return {
        "proxy": proxy, "spaces": spaces, "combine": summary["combine"], "seed": seed,
        "init_seed": 42, "semantics": "intended", "command": command,
        "cost": summary["per_space"][spaces[0]]["heldout"]["cost"],
        "selected_by": f"worst-space validation rho among {len(runs)} searches (seeds "
                       f"{seeds}), ties broken by the mean over the spaces",
        "per_space": per_space,
    }


def markdown(e: dict) -> str:
    """One row per space: validation and test rho, and the paired test comparisons."""
    lines = ["| space | validation rho | test rho [95% CI] | best free feature (test) "
             "| P(cross <= free) | own proxy (test) | P(cross <= own) | label on test |",
             "|---|---|---|---|---|---|---|---|"]
    for space, f in e["per_space"].items():
        t, free, own = f["test"], f["vs_best_free"], f["vs_own"]
        lines.append(f"| {space} | {f['validation']['rho']:.3f} | {t['rho']:.3f} "
                     f"[{t['rho_ci95'][0]:.3f}, {t['rho_ci95'][1]:.3f}] | {free['against']} "
                     f"{free['rho']:.3f} | {free['p_le_zero']:.3f} | {own['against']} "
                     f"{own['rho']:.3f} | {own['p_le_zero']:.3f} | {f['information']['label']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", type=Path, required=True)
    ap.add_argument("--tests", nargs="+", type=Path, required=True,
                    help="eval --json outputs, one per space (the space is read from each)")
    ap.add_argument("--write", action="store_true", help=f"store the entry as {NAME}")
    args = ap.parse_args()
    run, summary, config = choose(args.runs)
    tests = {}
    for path in args.tests:
        data = json.loads(path.read_text())
        tests[data["space"]] = data
    e = entry(run, summary, config, tests, args.runs)
    print(f"chosen: {run} {e['proxy']}")
    print(shlex.join(["command:", e["command"]]))
    print(markdown(e))
    if args.write:
        best = json.loads(BEST.read_text())
        best[NAME] = e
        BEST.write_text(json.dumps(best, indent=2, ensure_ascii=False) + "\n")
        print(f"stored as {NAME} in {BEST}")


if __name__ == "__main__":
    main()
