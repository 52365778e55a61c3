"""``ablation.md`` and the printed tables: the result of an ablation as Markdown."""

from __future__ import annotations

from pathlib import Path

from lpzero_gp.workflows.ablate.config import ARMS, STATS_ARMS
from lpzero_gp.workflows.ablate.summary import ordered
from lpzero_gp.workflows.report import fmt, markdown_table
from lpzero_gp.workflows.splits import choice_note


def _budget_source(result: dict) -> str:
    """`` (--budget default; --evaluations 500 replaces its 300)``, when recorded."""
    return f" ({result['budget']})" if result.get("budget") else ""



def _cell(s: dict, digits: int = 3) -> str:
    """``mean [min, max]`` (just the value for one seed)."""
    if s["mean"] is None:
        return "-"
    if s["n"] == 1:
        return fmt(s["mean"], digits)
    return f"{fmt(s['mean'], digits)} [{fmt(s['min'], digits)}, {fmt(s['max'], digits)}]"


def _pct(s: dict) -> str:
    return "-" if s["mean"] is None else f"{100 * s['mean']:.0f}%"


def markdown(result: dict, title: str) -> str:
    """The tables of ``ablation.md``."""
    st = result["settings"]
    seeds = ", ".join(str(s) for s in st["seeds"])
    out = [f"# Search ablations: {title}\n",
           f"Search split: {result['n_search']} architectures; validation split: "
           f"{result['n_validation']}. Budget per run{_budget_source(result)}: "
           f"{st['evaluations']} proxies evaluated, the initial population included; "
           f"search seeds {seeds}; cells are mean [min, max] over seeds. Unless varied: "
           f"population {st['population']}, {st['offspring']} offspring per generation, "
           f"{st['n_unary']} unary ops per branch, aggregation "
           f"{' or '.join(a[4:] for a in st['aggregations'])}.\n",
           f"Counting: {result['counting']}.\n"]
    exps = result["experiments"]
    if "rps" in exps:
        rows = []
        marks = ordered(next(iter(exps["rps"].values()))["search_rho_at"])
        for arm, label in ARMS.items():
            s = exps["rps"][arm]
            rows.append([label] + [_cell(s["search_rho_at"][m]) for m in marks]
                        + [_cell(s["validation_rho"]), _pct(s["invalid_fraction"]),
                           _cell(s["lookups"], 0)])
        out.append("## Evolution with RPS vs without RPS vs random search\n")
        out.append("Best search rho after N proxies evaluated; validation rho of the final "
                   "best proxy; share of evaluated proxies that were invalid; free lookups.\n")
        out.append(markdown_table(["method"] + [f"rho @{m}" for m in marks]
                                  + ["validation rho", "invalid", "free lookups"], rows))
    for name, head, label in (("population", "population", "Population size"),
                              ("n_unary", "unary ops per branch", "Unary ops per branch")):
        if name not in exps:
            continue
        rows = [[v, _cell(s["search_rho"]), _cell(s["validation_rho"]),
                 _pct(s["invalid_fraction"])] for v, s in ordered(exps[name]).items()]
        out.append(f"## {label} (evolution with RPS)\n")
        out.append(markdown_table([head, "search rho", "validation rho", "invalid"], rows))
    if "stats" in exps:
        out += _stats_section(exps["stats"], result.get("real_vs_null", []))
    return "\n".join(out)


def _stats_section(exp: dict, paired: list[dict]) -> list[str]:
    """The real-vs-null table and the per-seed paired comparisons."""
    rows = [[arm, _cell(exp[arm]["search_rho"]), _cell(exp[arm]["validation_rho"])]
            for arm in STATS_ARMS]
    lines = [f"- seed {e['seed']}: " + (f"invalid ({e['reason']})" if e.get("reason") else
                                       f"Δrho {fmt(e['diff'])} [{fmt(e['ci'][0])}, "
                                       f"{fmt(e['ci'][1])}], P(Δ≤0)={fmt(e['p_le_zero'])}")
             for e in paired]
    return ["## Real vs null statistics (evolution with RPS)\n",
            "The same search on the networks' statistics and on the null control (seeded "
            "noise of the same shapes: what shapes alone give); each winner is scored on the "
            "validation statistics of its own kind. Paired bootstrap of real against null "
            "winner, per seed:\n",
            markdown_table(["statistics", "search rho", "validation rho"], rows),
            "\n".join(lines) + "\n"]



def ablation_lines(result: dict, title: str, out: Path, wall: float, extractor) -> list[str]:
    """The printed tables of ``ablation.md`` (without its title) and where the results went."""
    text = markdown(result, title)
    lines = [text.split("\n## ", 1)[0].split("\n", 1)[1].strip()]
    lines += ["\n## " + section.rstrip() for section in text.split("\n## ")[1:]]
    lines.append(f"\nresults: {out}  ({wall:.0f} s; statistics: "
                 f"{extractor.loaded} from the cache, {extractor.built} models built)")
    if note := choice_note(result.get("splits")):
        lines.append(f"note: {note}")
    return lines

__all__ = ["ablation_lines", "markdown"]
