"""``lpzero-gp run``: search a proxy and score it on held-out architectures."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.options import BUDGETS, RunOptions, resolve_budget
from lpzero_gp.workflows.optionspec import COMMON


@click.command("run")
@o.options_of(RunOptions, *COMMON, "combine", "budget", "population", "offspring", "evaluations",
              "n_unary", "shape", "max_height", "aggregation", "cxpb", "mutpb", "rps",
              "memo", "fitness", "objective", "search_archs", "heldout", "out", "force",
              "resume_dir", "keep_checkpoint")
@o.as_json("Print the summary as JSON.")
def run_command(as_json: bool, **kw: Any) -> None:
    """Search a proxy on a benchmark space and score it on held-out architectures; with
    --space given several times, one proxy for all of those spaces (--combine)."""
    from lpzero_gp.cli.output import note, show
    from lpzero_gp.workflows.report import PROGRESS_KEY
    from lpzero_gp.workflows.run import run_search, search_config

    explicit = o.given_options(click.get_current_context())
    opts = make_options(kw)
    if not (opts.resume_dir or opts.quiet):  # a resumed run takes the checkpoint's settings
        _, source = resolve_budget(BUDGETS, opts.budget, opts.population, opts.offspring,
                                   opts.evaluations)
        note(f"search: {search_config(opts).describe()}; {source}")
    if not opts.quiet:  # what the progress bar's counters mean
        note(PROGRESS_KEY)
    report = run_search(opts, explicit=explicit, notify=note)
    show(report, as_json, sort_keys=True)


def make_options(params: dict[str, Any]) -> RunOptions:
    """The typed options of the command's parameters (``--json`` left out)."""
    return RunOptions(**{k: v for k, v in params.items() if k != "as_json"})

__all__ = ["make_options", "run_command"]
