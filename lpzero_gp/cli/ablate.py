"""``lpzero-gp ablate``: the paper's search ablations (RPS, population, unary ops)."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.options import AblateOptions
from lpzero_gp.workflows.optionspec import COMMON


@click.command("ablate")
@o.options_of(AblateOptions, *COMMON, "experiments", "seeds", "budget", "evaluations",
              "population", "offspring", "n_unary", "populations", "n_unary_values",
              "aggregation", "search_archs", "heldout", "out", "force")
@o.as_json("Print ablation.json instead of tables.")
def ablate_command(as_json: bool, **kw: Any) -> None:
    """Ablations of the search: RPS vs no RPS vs random search, population, unary ops."""
    from lpzero_gp.cli.output import show
    from lpzero_gp.workflows.ablate import run_ablate

    show(run_ablate(make_options(kw)), as_json, sort_keys=True)


def make_options(params: dict[str, Any]) -> AblateOptions:
    """The typed options of the command's parameters (``--json`` left out)."""
    return AblateOptions(**{k: v for k, v in params.items() if k != "as_json"})

__all__ = ["ablate_command", "make_options"]
