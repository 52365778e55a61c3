"""``lpzero-gp subnets``: LoNAS sub-networks that maximise a proxy under a parameter budget."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.options import SubnetOptions


@click.command("subnets")
@o.llama_model_options
@click.option("--proxy", default="paper_llama", show_default=True,
              help="Named proxy (paper_llama), any proxy form eval takes (string, exported "
                   "form, best.json, results folder), or a feature (params, mlp_params, macs).")
@click.option("--budget-params", type=float, default=None,
              help="Parameter budget of the decoder layers: a fraction of the maximal "
                   "sub-network (<= 1) or an absolute count (> 1). Default: none.")
@click.option("--generations", type=click.IntRange(0, 10_000), default=8, show_default=True,
              help="Generations of the sub-network evolution.")
@o.population(16, high=100_000, help="Population size (mu) of the sub-network evolution.")
@o.offspring("Children per generation (default: the population size).", high=100_000)
@click.option("--top-k", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="How many best sub-networks to write.")
@o.out("runs/subnets-<model>-s<seed>")
@o.force()
@o.as_json("Print the results as JSON.")
def subnets_command(as_json: bool, **kw: Any) -> None:
    """Search LoNAS sub-networks that maximise a proxy under a parameter budget."""
    from lpzero_gp.cli.output import show
    from lpzero_gp.workflows.llama import run_subnets

    opts = make_options(kw)
    opts.check()  # a missing device fails here once, not inside the super-network build
    show(run_subnets(opts), as_json)


def make_options(params: dict[str, Any]) -> SubnetOptions:
    """The typed options of the command's parameters (``--json`` left out)."""
    return SubnetOptions(**{k: v for k, v in params.items() if k != "as_json"})
