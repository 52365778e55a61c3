"""``lpzero-gp run``: search a proxy and score it on held-out architectures."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.options import BUDGETS


@click.command("run")
@o.common_options
@o.budget(BUDGETS, help="Search budget preset (paper: population 80, 1,000 offspring "
          "evaluations).")
@o.population()
@o.offspring("Offspring per generation (lambda).")
@o.evaluations(1, "Total offspring evaluations.")
@o.n_unary()
@click.option("--shape", type=click.Choice(["lpzero", "deep"]), default="lpzero",
              show_default=True, help="lpzero: the paper's genotype; deep: free typed trees.")
@click.option("--max-height", type=click.IntRange(3, 30), default=8, show_default=True)
@o.aggregation("Aggregation over blocks (sum is depth-sensitive).")
@click.option("--cxpb", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option("--mutpb", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option("--no-rps", is_flag=True, help="Disable rule-based pruning.")
@click.option("--no-memo", is_flag=True, help="Disable fitness/sub-tree memoisation.")
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
    from lpzero_gp.workflows.options import RunOptions
    from lpzero_gp.workflows.run import run_search

    explicit = o.given_options(click.get_current_context())
    report = run_search(RunOptions(**kw), explicit=explicit, notify=note)
    show(report, as_json, sort_keys=True)
