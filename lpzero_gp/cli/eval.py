"""``lpzero-gp eval``: score proxies on a space's architectures."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.options import EvalOptions
from lpzero_gp.workflows.optionspec import COMMON


@click.command("eval")
@o.options_of(EvalOptions, *COMMON, "proxies", "archs", "ci", "compare", "out", "force")
@o.as_json()
def eval_command(as_json: bool, **kw: Any) -> None:
    """Score proxies on a space's architectures (Spearman rho, Kendall tau, and the partial
    and within-group correlations given the size and depth baselines)."""
    from lpzero_gp.cli.output import note, show
    from lpzero_gp.workflows.evaluate import evaluate

    show(evaluate(EvalOptions(**kw), notify=note), as_json)

__all__ = ["eval_command"]
