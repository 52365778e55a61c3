"""An ablation's result: every planned run once, summarised per experiment (mean and range
over seeds), with the real-vs-null paired comparisons; JSON-ready and free of timings."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from lpzero_gp.spaces.progress import bar as progress_bar
from lpzero_gp.workflows.ablate.config import COUNTING, AblationConfig
from lpzero_gp.workflows.ablate.runs import (
    AblationData,
    RunKey,
    RunResult,
    execute,
    json_number,
    plan,
)


def step_values(curve: list, grid: np.ndarray) -> np.ndarray:
    """Best-so-far of one run at each x of ``grid`` (nan before its first valid proxy)."""
    xs = np.array([p[0] for p in curve], dtype=float)
    ys = np.array([np.nan if json_number(p[1]) is None else p[1] for p in curve], dtype=float)
    idx = np.searchsorted(xs, grid, side="right") - 1
    return np.where(idx >= 0, ys[np.clip(idx, 0, None)], np.nan)


def _spread(values: list[float]) -> dict:
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    if not np.all(np.isfinite(v)):
        return {"mean": None, "min": None, "max": None, "n": int(np.isfinite(v).sum())}
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max()),
            "n": len(v)}


def summarize(runs: list[RunResult], budget: int, first: int) -> dict:
    """Mean and range over seeds of the final numbers and of the best-so-far curve.

    The curve is summarised after ``first`` proxies (the initial population of the rps
    experiment), half the budget and the whole budget.
    """
    checkpoints = sorted({min(first, budget), max(1, budget // 2), budget})
    at = {str(c): _spread([json_number(float(step_values(r.curve, np.array([c]))[0]))
                           for r in runs]) for c in checkpoints}
    return {
        "search_rho": _spread([json_number(r.search_rho) for r in runs]),
        "validation_rho": _spread([json_number(r.validation_rho) for r in runs]),
        "search_rho_at": at,
        "invalid_fraction": _spread([r.invalid / r.evaluated if r.evaluated else None
                                     for r in runs]),
        "lookups": _spread([float(r.lookups) for r in runs]),
        "evaluated": _spread([float(r.evaluated) for r in runs]),
        "runs": [r.to_json() for r in runs],
    }


def run_ablation(data: AblationData, cfg: AblationConfig, progress: bool = False,
                 timing: dict | None = None) -> dict:
    """Every planned run (each distinct run once), summarised per experiment; JSON-ready.

    The result depends only on the data and ``cfg``; wall times go to ``timing`` if given.
    """
    cfg.validate()
    groups = plan(cfg)
    keys = list(dict.fromkeys(k for exp in groups.values() for ks in exp.values() for k in ks))
    done: dict[RunKey, RunResult] = {}
    for key in progress_bar(keys, desc="ablation runs", disable=not progress):
        done[key] = execute(data, cfg, key)
    experiments = {name: {value: summarize([done[k] for k in ks], cfg.evaluations,
                                           cfg.population)
                          for value, ks in exp.items()} for name, exp in groups.items()}
    paired = (_real_vs_null(data, [done[k] for k in groups["stats"]["real"]],
                            [done[k] for k in groups["stats"]["null"]])
              if "stats" in experiments else None)
    if timing is not None:
        timing["run_seconds"] = {"/".join(str(p) for p in k): done[k].seconds for k in keys}
        timing["search_seconds"] = sum(r.seconds for r in done.values())
    settings = asdict(cfg)
    out = {"settings": settings, "counting": COUNTING, "n_search": data.n_search,
           "n_validation": data.n_validation, "experiments": experiments}
    if paired is not None:
        out["real_vs_null"] = paired
    return out


def _real_vs_null(data: AblationData, real: list[RunResult], null: list[RunResult]
                  ) -> list[dict]:
    """Per seed: paired bootstrap of the real-statistics winner (on real validation
    statistics) against the null-control winner (on null validation statistics)."""
    from lpzero_gp.score.correlate import paired_entry

    out = []
    truth = data.validation.truth
    for r, n in zip(real, null, strict=True):
        a, b = data.validation_scores(r.proxy), data.null.validation_scores(n.proxy)
        if a is None or b is None:
            out.append({"seed": r.seed, "a": "real", "b": "null", "reason": "no valid winner"})
            continue
        entry = paired_entry("real", "null", a, b, truth)
        out.append({"seed": r.seed, **{k: json_number(v) if isinstance(v, float) else v
                                       for k, v in entry.items()}})
    return out



def ordered(d: dict) -> dict:
    """A dict keyed by numbers as strings, in numeric order (JSON files sort keys as text)."""
    return dict(sorted(d.items(), key=lambda kv: int(kv[0])))

__all__ = ["ordered", "run_ablation", "step_values", "summarize"]
