"""``lpzero-gp eval``: score proxies on a space's architectures."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o


@click.command("eval")
@o.common_options
@click.option("--proxy", "proxies", multiple=True, required=True,
              help="Proxy in any exported form, named proxy, JSON file (best.json), results "
                   "folder, or feature (params, layers, ...); repeatable.")
@o.archs("search | validation | test | heldout | all | N.")
@click.option("--ci", is_flag=True, help="95% bootstrap intervals.")
@o.model("llama space: smollm2, tiny, a checkpoint folder or a .gguf file.")
@click.option("--ground-truth", type=click.Path(dir_okay=False), default=None,
              help="llama space: measured accuracies keyed by flat configuration (JSON/CSV).")
@o.adapter("llama space: a trained super-adapter directory (peft).")
@o.dtype("llama space: model dtype.")
@o.as_json()
def eval_command(as_json: bool, **kw: Any) -> None:
    """Score proxies on a space's architectures (Spearman rho, Kendall tau)."""
    from lpzero_gp.cli.output import show
    from lpzero_gp.workflows.evaluate import evaluate
    from lpzero_gp.workflows.options import EvalOptions

    show(evaluate(EvalOptions(**kw)), as_json)
