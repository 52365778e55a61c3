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

The package: ``config`` (what to run, from the options), ``runs`` (one search or random search
under the budget, and the plan of runs), ``summary`` (every run once, summarised), ``markdown``
and ``plots`` (the report) and ``command`` (the results folder and ``run_ablate``).
"""

from __future__ import annotations

from lpzero_gp.workflows.ablate.command import load_data, run_ablate, write
from lpzero_gp.workflows.ablate.config import (
    ARMS,
    COUNTING,
    DRAW_LIMIT,
    STALL_LIMIT,
    STATS_ARMS,
    AblationConfig,
    budget_of,
    config_from_options,
)
from lpzero_gp.workflows.ablate.markdown import ablation_lines, markdown
from lpzero_gp.workflows.ablate.plots import plot_rps, plot_sweep
from lpzero_gp.workflows.ablate.runs import (
    AblationData,
    RunKey,
    RunResult,
    evolution_run,
    execute,
    plan,
    random_run,
)
from lpzero_gp.workflows.ablate.summary import run_ablation, step_values, summarize

__all__ = [
    "ARMS", "COUNTING", "DRAW_LIMIT", "STALL_LIMIT", "STATS_ARMS", "AblationConfig",
    "AblationData", "RunKey", "RunResult", "ablation_lines", "budget_of", "config_from_options",
    "evolution_run", "execute", "load_data", "markdown", "plan", "plot_rps", "plot_sweep",
    "random_run", "run_ablate", "run_ablation", "step_values", "summarize", "write",
]
