"""``lpzero-gp subnets``: a space's sub-networks that maximise a proxy under a parameter
budget."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.options import SubnetOptions


@click.command("subnets")
@o.options_of(SubnetOptions, "space", "space_options", "proxy", "budget_params", "generations",
              "population", "offspring", "top_k", "batch_size", "seq_len", "tokenizer", "text",
              "seed", "device", "threads", "out", "force", "quiet")
@o.as_json("Print the results as JSON.")
def subnets_command(as_json: bool, **kw: Any) -> None:
    """Search a space's sub-networks that maximise a proxy under a parameter budget (the
    space's own settings, such as its model, are --space-option KEY=VALUE)."""
    from lpzero_gp.cli.output import show
    from lpzero_gp.workflows.subnets import run_subnets

    opts = make_options(kw)
    opts.check()  # a missing device fails here once, not inside the super-network build
    show(run_subnets(opts), as_json)


def make_options(params: dict[str, Any]) -> SubnetOptions:
    """The typed options of the command's parameters (``--json`` left out)."""
    return SubnetOptions(**{k: v for k, v in params.items() if k != "as_json"})

__all__ = ["make_options", "subnets_command"]
