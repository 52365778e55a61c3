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
@click.option("--ci", is_flag=True, help="95% bootstrap intervals of rho and tau (the partial "
                                         "and within-group correlations always have them).")
@click.option("--compare", is_flag=True,
              help="Paired bootstrap of the first proxy against each other one: the difference "
                   "in rho, its 95% interval and P(difference <= 0).")
@o.out("none: print only; a folder gets scores.csv, summary.json, summary.md, timing.json "
       "and the rank-space plot score_vs_truth.png")
@o.force()
@o.model("llama space: smollm2, tiny, a checkpoint folder or a .gguf file.")
@click.option("--ground-truth", type=click.Path(dir_okay=False), default=None,
              help="llama space: measured accuracies keyed by flat configuration (JSON/CSV).")
@o.adapter("llama space: a trained super-adapter directory (peft).")
@o.dtype("llama space: model dtype.")
@o.as_json()
def eval_command(as_json: bool, **kw: Any) -> None:
    """Score proxies on a space's architectures (Spearman rho, Kendall tau, and the partial
    and within-group correlations given the size and depth baselines)."""
    from lpzero_gp.cli.output import show
    from lpzero_gp.workflows.evaluate import evaluate
    from lpzero_gp.workflows.options import EvalOptions

    show(evaluate(EvalOptions(**kw)), as_json)
