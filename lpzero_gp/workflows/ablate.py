"""``lpzero-gp ablate``: the LPZero paper's search ablations (Fig. 5, Fig. 6, Table 6), ours.

Three experiments share one set of statistics (search and validation split, computed once):

* ``rps``: best-so-far Spearman rho against the number of proxies evaluated, for evolution with
  rule-based pruning (RPS), evolution without it, and random search of genotype-shaped trees;
* ``population``: final best rho (search split, and the validation rho of that proxy) for
  several population sizes at the same evaluation budget;
* ``n_unary``: the same for 2, 3, 4 and 5 unary ops per branch;
* ``stats``: the same search on real statistics and on the null control (noise of the same
  shapes, :mod:`lpzero_gp.stats.null`), each winner scored on the validation split's statistics
  of its own kind, with a paired bootstrap per seed: what the statistics add beyond shapes.

Counting rule, the same for every arm: a proxy is *evaluated* when its scores are computed on
the search architectures (one call of the scorer); invalid proxies (nan, constant, overflowing
scores) count. Meeting a proxy already scored (the same string; with RPS, the same canonical
form as a valid one) is a free lookup and does not count, and with RPS a rejected proxy is
regenerated before any tensor work. Every run evaluates exactly the budget: the initial
population counts, and the last generation of an evolution breeds only as many offspring as
the budget has left.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lpzero_gp.atomic import AtomicFolder
from lpzero_gp.errors import OptionError, ResultsError
from lpzero_gp.proxy.generate import gen_lpzero
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.score.fitness import INVALID_FITNESS
from lpzero_gp.score.scoring import Scorer
from lpzero_gp.search import Search, SearchConfig
from lpzero_gp.stats.store import Dataset
from lpzero_gp.versions import versions
from lpzero_gp.workflows.context import available_inputs, search_pset
from lpzero_gp.workflows.options import (
    ABLATE_BUDGETS,
    AGG,
    DEFAULT_EVALUATIONS,
    EXPERIMENTS,
    AblateOptions,
    Report,
    resolve_budget,
)
from lpzero_gp.workflows.report import fmt, markdown_table
from lpzero_gp.workflows.splits import pick

#: The three arms of the ``rps`` experiment, in plotting order, with their labels.
ARMS = {"evolution_rps": "evolution with RPS", "evolution_no_rps": "evolution without RPS",
        "random": "random search"}
COUNTING = ("proxies evaluated = proxies whose scores were computed on the search "
            "architectures, invalid ones included; a repeat of a proxy already scored (the same "
            "string or, with RPS, the same canonical form as a valid one) is a free lookup and "
            "not counted")
#: The arms of the ``stats`` experiment: the same evolution (with RPS) on real statistics and
#: on the null control (shared with the ``rps`` experiment's evolution with RPS).
STATS_ARMS = {"real": "evolution_rps", "null": "null_rps"}
#: Generations in a row without a new evaluation after which an evolution stops early.
STALL_LIMIT = 25
#: Draws per budgeted evaluation after which random search stops early (tiny op sets).
DRAW_LIMIT = 50


@dataclass(frozen=True)
class AblationConfig:
    """What to run: the budget, the search seeds and the values each experiment varies."""

    evaluations: int = DEFAULT_EVALUATIONS
    seeds: tuple[int, ...] = (42, 43, 44)
    population: int = 80
    offspring: int = 40
    n_unary: int = 2
    aggregations: tuple[str, ...] = ("agg_mean", "agg_sum")
    populations: tuple[int, ...] = (80, 100, 200)
    n_unaries: tuple[int, ...] = (2, 3, 4, 5)
    experiments: tuple[str, ...] = EXPERIMENTS

    def search_config(self, seed: int, population: int | None = None,
                      n_unary: int | None = None, rps: bool = True) -> SearchConfig:
        """The evolution settings of one run."""
        return SearchConfig(population=population or self.population, offspring=self.offspring,
                            evaluations=self.evaluations, seed=seed,
                            n_unary=n_unary or self.n_unary, aggregations=self.aggregations,
                            rps=rps)

    def largest_population(self) -> int:
        """The largest population any planned run uses."""
        pops = [self.population] if {"rps", "n_unary"} & set(self.experiments) else []
        pops += list(self.populations) if "population" in self.experiments else []
        return max(pops)

    def validate(self) -> None:
        """Raise OptionError with one line for an unusable setting."""
        unknown = [e for e in self.experiments if e not in EXPERIMENTS]
        if not self.experiments or unknown:
            raise OptionError(f"unknown experiment {', '.join(unknown) or '(none)'}; choose "
                             f"from {', '.join(EXPERIMENTS)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise OptionError("give at least one search seed, each once")
        if any(p < 2 for p in self.populations) or not self.populations:
            raise OptionError("every population must be at least 2")
        if any(not 1 <= k <= 10 for k in self.n_unaries) or not self.n_unaries:
            raise OptionError("unary ops per branch must be between 1 and 10")
        too_big = []
        if {"rps", "n_unary"} & set(self.experiments) and self.population >= self.evaluations:
            too_big.append(f"--population {self.population}")
        if "population" in self.experiments and max(self.populations) >= self.evaluations:
            too_big.append(f"--populations {','.join(str(p) for p in self.populations)}")
        if too_big:
            raise OptionError(f"--evaluations {self.evaluations} must exceed the largest "
                              f"population ({self.largest_population()}) since the initial "
                              f"population alone is evaluated in full: raise --evaluations or "
                              f"lower {' and '.join(too_big)}")
        for pop in {self.population, *self.populations}:
            for k in {self.n_unary, *self.n_unaries}:
                try:
                    self.search_config(self.seeds[0], pop, k).validate()
                except ValueError as exc:
                    raise OptionError(str(exc)) from None


class AblationData:
    """Scorers of the search and validation architectures, shared by every run; ``null``
    holds the same for the null control (the ``stats`` experiment)."""

    def __init__(self, search: Dataset, search_truth, validation: Dataset, validation_truth,
                 null: AblationData | None = None):
        self.search = Scorer(search, search_truth, with_tau=False)
        self.validation = Scorer(validation, validation_truth, with_tau=False)
        self.available = available_inputs(search)
        self.n_search = search.n_archs
        self.n_validation = validation.n_archs
        self.null = null

    def validation_scores(self, proxy: str | None):
        """Scores of ``proxy`` on the validation architectures (None if none or pruned)."""
        return None if proxy is None else self.validation.scores(proxy)

    def validation_rho(self, proxy: str | None) -> float:
        """Spearman rho of ``proxy`` on the validation architectures (nan if invalid)."""
        if proxy is None:
            return float("nan")
        r = self.validation.rank(proxy, with_tau=False)
        return r.rho if r.valid else float("nan")


@dataclass
class RunResult:
    """One search (or random search) under the evaluation budget."""

    arm: str
    seed: int
    population: int | None
    n_unary: int
    evaluated: int
    invalid: int
    lookups: int
    proxy: str | None
    search_rho: float
    validation_rho: float
    #: (proxies evaluated, best search rho so far) where the best changes, plus the end.
    curve: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        """Everything but the timing (so reruns give identical files)."""
        d = asdict(self)
        del d["seconds"]
        d["curve"] = [[int(x), _num(y)] for x, y in self.curve]
        return {k: _num(v) if isinstance(v, float) else v for k, v in d.items()}


def _num(x: float) -> float | None:
    """A finite float for JSON, None for nan and the invalid-fitness marker."""
    return None if x is None or not math.isfinite(x) or x <= INVALID_FITNESS else float(x)


def _compress(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The step function's change points (first point, every change, last point)."""
    out: list[tuple[int, float]] = []
    for i, (x, y) in enumerate(points):
        if not out or y != out[-1][1] or i == len(points) - 1:
            out.append((x, y))
    return out


class _Recorder:
    """Wraps a scorer to count the invalid proxies among the evaluated ones."""

    def __init__(self, scorer: Callable):
        self.scorer = scorer
        self.calls = 0
        self.invalid = 0

    def __call__(self, proxy: str) -> tuple[float, float]:
        fit, tau = self.scorer(proxy)
        self.calls += 1
        self.invalid += fit <= INVALID_FITNESS
        return fit, tau


def evolution_run(data: AblationData, cfg: SearchConfig, budget: int, arm: str) -> RunResult:
    """Evolve until exactly ``budget`` proxies are evaluated; best-so-far after each generation.

    The last generation breeds only as many offspring as the budget has left (a generation
    never evaluates more proxies than it breeds), so no arm gets more evaluations than another.
    """
    t0 = time.perf_counter()
    cfg = replace(cfg, evaluations=budget)
    rec = _Recorder(data.search)
    s = Search(search_pset(cfg), rec, cfg, available=data.available)
    state = s.start()

    def best() -> float:
        return state.hof[0].fitness.values[0] if len(state.hof) else INVALID_FITNESS

    points = [(rec.calls, best())]
    stalls = 0
    while rec.calls < budget and stalls < STALL_LIMIT:
        before = rec.calls
        s.config.offspring = min(cfg.offspring, budget - before)
        state = s.step(state)
        stalls = stalls + 1 if rec.calls == before else 0
        points.append((rec.calls, best()))
    top = state.hof[0] if len(state.hof) else None
    valid = top is not None and top.fitness.values[0] > INVALID_FITNESS
    proxy = format_tree(top) if valid else None
    return RunResult(arm, cfg.seed, cfg.population, cfg.n_unary, rec.calls, rec.invalid,
                     s.stats_counts["cache_hits"], proxy,
                     top.fitness.values[0] if valid else float("nan"),
                     data.validation_rho(proxy), _compress(points), time.perf_counter() - t0)


def random_run(data: AblationData, seed: int, budget: int, n_unary: int,
               aggregations: tuple[str, ...]) -> RunResult:
    """Random search: draw genotype-shaped trees (no RPS) and score each until the budget."""
    t0 = time.perf_counter()
    rng = random.Random(seed)  # its own RNG: nothing else can change the draws
    pset = search_pset(SearchConfig(aggregations=aggregations))
    seen: set[str] = set()
    evaluated = invalid = lookups = draws = 0
    best, best_tree = INVALID_FITNESS, None
    points: list[tuple[int, float]] = []
    while evaluated < budget and draws < DRAW_LIMIT * budget:
        tree = gen_lpzero(pset, n_unary, aggregations, rng=rng)
        draws += 1
        text = str(tree)
        if text in seen:
            lookups += 1
            continue
        seen.add(text)
        fit, _ = data.search(text)
        evaluated += 1
        invalid += fit <= INVALID_FITNESS
        if fit > best:
            best, best_tree = fit, tree
        points.append((evaluated, best))
    proxy = format_tree(best_tree) if best_tree is not None else None
    return RunResult("random", seed, None, n_unary, evaluated, invalid, lookups, proxy,
                     best if proxy else float("nan"), data.validation_rho(proxy),
                     _compress(points), time.perf_counter() - t0)


# -- the experiments ------------------------------------------------------------------------

RunKey = tuple[str, int | None, int, int]  # (arm, population, n_unary, seed)


def plan(cfg: AblationConfig) -> dict[str, dict[str, list[RunKey]]]:
    """The runs of each experiment, grouped by the value it varies (shared runs appear twice)."""
    out: dict[str, dict[str, list[RunKey]]] = {}
    if "rps" in cfg.experiments:
        out["rps"] = {
            "evolution_rps": [("evolution_rps", cfg.population, cfg.n_unary, s)
                              for s in cfg.seeds],
            "evolution_no_rps": [("evolution_no_rps", cfg.population, cfg.n_unary, s)
                                 for s in cfg.seeds],
            "random": [("random", None, cfg.n_unary, s) for s in cfg.seeds]}
    if "population" in cfg.experiments:
        out["population"] = {str(p): [("evolution_rps", p, cfg.n_unary, s) for s in cfg.seeds]
                             for p in cfg.populations}
    if "n_unary" in cfg.experiments:
        out["n_unary"] = {str(k): [("evolution_rps", cfg.population, k, s) for s in cfg.seeds]
                          for k in cfg.n_unaries}
    if "stats" in cfg.experiments:
        out["stats"] = {arm: [(arm_key, cfg.population, cfg.n_unary, s) for s in cfg.seeds]
                        for arm, arm_key in STATS_ARMS.items()}
    return out


def execute(data: AblationData, cfg: AblationConfig, key: RunKey) -> RunResult:
    """One planned run."""
    arm, pop, n_unary, seed = key
    if arm == "random":
        return random_run(data, seed, cfg.evaluations, n_unary, cfg.aggregations)
    if arm == "null_rps":
        if data.null is None:
            raise OptionError("the stats experiment needs the null control's statistics")
        scfg = cfg.search_config(seed, pop, n_unary, rps=True)
        return evolution_run(data.null, scfg, cfg.evaluations, arm)
    scfg = cfg.search_config(seed, pop, n_unary, rps=arm == "evolution_rps")
    return evolution_run(data, scfg, cfg.evaluations, arm)


def step_values(curve: list, grid: np.ndarray) -> np.ndarray:
    """Best-so-far of one run at each x of ``grid`` (nan before its first valid proxy)."""
    xs = np.array([p[0] for p in curve], dtype=float)
    ys = np.array([np.nan if _num(p[1]) is None else p[1] for p in curve], dtype=float)
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
    at = {str(c): _spread([_num(float(step_values(r.curve, np.array([c]))[0]))
                           for r in runs]) for c in checkpoints}
    return {
        "search_rho": _spread([_num(r.search_rho) for r in runs]),
        "validation_rho": _spread([_num(r.validation_rho) for r in runs]),
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
    for key in tqdm(keys, desc="ablation runs", disable=not progress, file=sys.stderr):
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
        out.append({"seed": r.seed, **{k: _num(v) if isinstance(v, float) else v
                                       for k, v in entry.items()}})
    return out


# -- tables and plots ---------------------------------------------------------------------


def _budget_source(result: dict) -> str:
    """`` (--budget default; --evaluations 500 replaces its 300)``, when recorded."""
    return f" ({result['budget']})" if result.get("budget") else ""


def _ordered(d: dict) -> dict:
    """A dict keyed by numbers as strings, in numeric order (JSON files sort keys as text)."""
    return dict(sorted(d.items(), key=lambda kv: int(kv[0])))


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
        marks = _ordered(next(iter(exps["rps"].values()))["search_rho_at"])
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
                 _pct(s["invalid_fraction"])] for v, s in _ordered(exps[name]).items()]
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
    exp = _ordered(result["experiments"][name])
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


def write(result: dict, out: Path, force: bool, title: str, timing: dict | None = None) -> None:
    """The results folder: ablation.json, ablation.md and one PNG per experiment run."""
    with AtomicFolder(out, force=force) as rf:
        rf.json("ablation.json", result)
        rf.text("ablation.md", markdown(result, title))
        if timing is not None:
            rf.json("timing.json", timing)
        exps = result["experiments"]
        if "rps" in exps:
            plot_rps(result, rf.path("rps_vs_random.png"), title)
        if "population" in exps:
            plot_sweep(result, "population", rf.path("population.png"), title, "population",
                       "population {}")
        if "n_unary" in exps:
            plot_sweep(result, "n_unary", rf.path("n_unary.png"), title,
                       "unary ops per branch", "{} unary ops per branch")


# -- the command ------------------------------------------------------------------------------


def config_from_options(opts: AblateOptions) -> AblationConfig:
    """AblationConfig of the options: the ``budget`` preset with any given population,
    offspring and evaluations replacing its numbers (the rule of ``run``)."""
    (population, offspring, evaluations), _ = budget_of(opts)
    if opts.aggregation not in AGG:
        raise OptionError(f"unknown aggregation {opts.aggregation!r}; choose {', '.join(AGG)}")
    cfg = AblationConfig(
        evaluations=evaluations, seeds=tuple(opts.seed + i for i in range(opts.seeds)),
        population=population, offspring=offspring, n_unary=opts.n_unary,
        aggregations=AGG[opts.aggregation], populations=tuple(opts.populations),
        n_unaries=tuple(opts.n_unary_values), experiments=tuple(opts.experiments))
    cfg.validate()
    return cfg


def budget_of(opts: AblateOptions) -> tuple[tuple[int, int, int], str]:
    """(population, offspring, evaluations) of the options and where they come from."""
    return resolve_budget(ABLATE_BUDGETS, opts.budget, opts.population, opts.offspring,
                          opts.evaluations)


def load_data(ctx, search_archs: str = "search", heldout: str = "validation"
              ) -> tuple[AblationData, object]:
    """Statistics of the search and held-out architectures (built or read from the cache).

    The architectures are chosen as ``run`` chooses them: the held-out ones are never
    searched, and an error names the option (``--search-archs`` or ``--heldout``) to change.
    """
    from lpzero_gp.workflows.context import dataset_for, load

    loaded = load(ctx)
    search_recs = pick(loaded.records, search_archs, loaded.space, loaded.packaged, ctx.seed,
                       "--search-archs")
    held = pick(loaded.records, heldout, loaded.space, loaded.packaged, ctx.seed, "--heldout",
                exclude={r.id for r in search_recs}, sample_seed=ctx.seed + 1)
    ds, truth, srecs = dataset_for(loaded, search_recs, "search statistics")
    vds, vtruth, vrecs = dataset_for(loaded, held, "validation statistics")
    nds, _, _ = dataset_for(loaded, srecs, "search statistics", kind="null")
    nvds, _, _ = dataset_for(loaded, vrecs, "validation statistics", kind="null")
    null = AblationData(nds, truth, nvds, vtruth)
    return AblationData(ds, truth, vds, vtruth, null), loaded


def ablation_lines(result: dict, title: str, out: Path, wall: float, extractor) -> list[str]:
    """The printed tables of ``ablation.md`` (without its title) and where the results went."""
    text = markdown(result, title)
    lines = [text.split("\n## ", 1)[0].split("\n", 1)[1].strip()]
    lines += ["\n## " + section.rstrip() for section in text.split("\n## ")[1:]]
    lines.append(f"\nresults: {out}  ({wall:.0f} s; statistics: "
                 f"{extractor.loaded} from the cache, {extractor.built} models built)")
    return lines


def run_ablate(opts: AblateOptions) -> Report:
    """The search ablations of ``opts``: every run, summarised, written to a results folder.

    Returns ablation.json's content as ``data``, the printed tables as ``lines`` and the
    results folder as ``out``.
    """
    from lpzero_gp.spaces import get_space

    t0 = time.perf_counter()
    cfg = config_from_options(opts)
    variant = opts.variant or get_space(opts.space, **opts.space_options).default_variant
    out = Path(opts.out or f"runs/ablate-{opts.space}-{variant}")
    if out.exists() and not opts.force:
        raise ResultsError(f"results folder {out} exists (use --force to replace it)")
    ctx = opts.context()
    data, loaded = load_data(ctx, opts.search_archs, opts.heldout)
    timing: dict = {}
    result = run_ablation(data, cfg, progress=not opts.quiet, timing=timing)
    result.update({"space": loaded.space.name, "variant": loaded.variant,
                   "semantics": ctx.semantics, "truth": loaded.space.truth_label,
                   "calibration": loaded.info, "init_seed": ctx.init_seed
                   if ctx.init_seed is not None else ctx.seed,
                   "search_archs": opts.search_archs, "heldout": opts.heldout,
                   "budget": budget_of(opts)[1], "versions": versions()})
    ex = loaded.extractor
    timing.update({"wall_seconds": time.perf_counter() - t0, "extract_seconds": ex.seconds,
                   "models_built": ex.built, "statistics_loaded_from_cache": ex.loaded})
    title = f"{loaded.space.name} ({loaded.variant}, {ctx.semantics} inputs)"
    write(result, out, opts.force, title, timing)
    return Report(result, ablation_lines(result, title, out, timing["wall_seconds"], ex),
                  out=out)
