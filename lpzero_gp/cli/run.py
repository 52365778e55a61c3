"""``lpzero-gp run``: search a proxy and score it on held-out architectures."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.options import BUDGETS, RunOptions, resolve_budget


@click.command("run")
@o.common_options
@o.budget(BUDGETS, "evaluations count offspring: the initial population is evaluated on top",
          "when the run starts (unless --quiet)")
@o.population(help="Population size (mu; default: the --budget preset's).")
@o.offspring("Offspring per generation (lambda; default: the --budget preset's).")
@o.evaluations(1, "Offspring evaluations (default: the --budget preset's), spent in whole "
               "generations: ceil(evaluations / offspring) generations.")
@o.n_unary("Unary ops per branch of a genotype (--shape lpzero).")
@click.option("--shape", type=click.Choice(["lpzero", "deep"]), default="lpzero",
              show_default=True, help="lpzero: the paper's genotype; deep: free typed trees.")
@click.option("--max-height", type=click.IntRange(3, 30), default=8, show_default=True,
              help="Largest tree height of a proxy (--shape deep draws trees up to it).")
@o.aggregation("Aggregation over blocks (sum is depth-sensitive).")
@click.option("--cxpb", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Crossover probability (cxpb + mutpb <= 1).")
@click.option("--mutpb", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Mutation probability (cxpb + mutpb <= 1).")
@click.option("--no-rps", is_flag=True, help="Disable rule-based pruning.")
@click.option("--no-memo", is_flag=True, help="Disable fitness/sub-tree memoisation.")
@click.option("--fitness", type=click.Choice(["beyond-shape", "rho"]), default="beyond-shape",
              show_default=True,
              help="beyond-shape: reject candidates that are not statistics-driven on the "
              "search split (their scores on real and on null statistics agree, or a formula of "
              "the config ranks like them, |rho| >= 0.5); rho: plain Spearman rho.")
@o.search_archs("Search architectures: a stored split name or a number N (seeded sample).")
@o.heldout("Held-out architectures: validation, test, heldout (all not searched), N.")
@o.out("runs/<space>-<variant>-s<seed>")
@o.force("Replace an existing results folder (and discard an interrupted run's checkpoint).")
@click.option("--resume", "resume_dir", type=click.Path(), default=None,
              help="Continue an interrupted run: give its results folder (the --out of the "
              "run) or its checkpoint folder. Checkpoints are written every generation to the "
              "hidden folder .<out-name>.checkpoint next to the results folder; the resumed run "
              "uses the stored settings (options given again must match) and ends exactly as "
              "an uninterrupted run.")
@click.option("--keep-checkpoint", is_flag=True,
              help="Keep the checkpoint folder after the run completes (it is removed once the "
              "results folder is written, so only interrupted runs leave one).")
@o.as_json("Print the summary as JSON.")
def run_command(as_json: bool, **kw: Any) -> None:
    """Search a proxy on a benchmark space and score it on held-out architectures."""
    from lpzero_gp.cli.output import note, show
    from lpzero_gp.workflows.run import run_search, search_config

    explicit = o.given_options(click.get_current_context())
    opts = make_options(kw)
    if not (opts.resume_dir or opts.quiet):  # a resumed run takes the checkpoint's settings
        _, source = resolve_budget(BUDGETS, opts.budget, opts.population, opts.offspring,
                                   opts.evaluations)
        note(f"search: {search_config(opts).describe()}; {source}")
    report = run_search(opts, explicit=explicit, notify=note)
    show(report, as_json, sort_keys=True)


def make_options(params: dict[str, Any]) -> RunOptions:
    """The typed options of the command's parameters (``--json`` left out)."""
    return RunOptions(**{k: v for k, v in params.items() if k != "as_json"})
