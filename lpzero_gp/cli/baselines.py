"""``lpzero-gp baselines``: the hand-crafted proxies of the paper's Table 1 on a space."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o


def _proxies_help() -> str:
    from lpzero_gp.score.baselines import BASELINES

    return ("Comma-separated baseline keys (default: all). Keys: "
            + ", ".join(b.key for b in BASELINES))


@click.command("baselines")
@o.space()
@o.space_option()
@o.variant()
@o.semantics("intended: real LM loss, eval mode; reference: as the published code (flexibert: "
             "all-ones backward, train mode).")
@o.archs("all | search | validation | test | heldout | N (seeded sample).")
@click.option("--batch", default=None,
              help="Calibration batch BATCHxSEQ_LEN (default: the space's baseline batch, "
                   "flexibert 2x128, gpt2 2x192).")
@click.option("--proxies", default=None, cls=o.LazyHelpOption, help_text=_proxies_help)
@click.option("--trees", is_flag=True,
              help="Also score each baseline's tree twin on the search's statistics.")
@o.benchmark()
@o.tokenizer()
@o.text("Calibration text file (default: the packaged calibration text).")
@o.seed()
@o.device()
@o.cache_dir("Reuse/persist per-architecture scores here.")
@o.workers(help=None)
@o.threads(None, 256, "torch threads per process (default: 1 with --workers > 1).")
@o.out("runs/baselines-<space>-<variant>")
@o.force()
@o.as_json("Print the rows as JSON.")
@o.quiet("No progress bar.")
def baselines_command(as_json: bool, proxies: str | None, **kw: Any) -> None:
    """Hand-crafted proxies (paper Table 1) on a space: Kendall, Spearman, s/arch, paper."""
    from lpzero_gp.cli.output import command_line, show
    from lpzero_gp.workflows.baselines import run_baselines
    from lpzero_gp.workflows.options import BaselineOptions

    keys = tuple(proxies.split(",")) if proxies else None
    opts = BaselineOptions(proxies=keys, command=command_line(), **kw)
    show(run_baselines(opts), as_json)
