"""``lpzero-gp baselines``: the hand-crafted proxies of the paper's Table 1 on a space."""

from __future__ import annotations

import warnings
from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.options import BaselineOptions


def _proxies_help() -> str:
    from lpzero_gp.score.baselines import BASELINES

    return ("Comma-separated baseline keys (default: all). Keys: "
            + ", ".join(b.key for b in BASELINES))


@click.command("baselines")
@o.common(
    batch_size_help="Calibration batch size (default: the space's baseline batch, 2; smaller "
                    "than the search's so every baseline fits a small CPU).",
    seq_len_help="Calibration sequence length (default: the space's baseline batch: flexibert "
                 "128, gpt2 192), never longer than the benchmark's models accept; a longer "
                 "one is refused.",
    semantics_help="intended: real LM loss, eval mode; reference: as the published code "
                   "(flexibert: all-ones backward, train mode).",
    seed_help="One seed for everything: a benchmark file's splits, samples of N "
              "architectures and the models' initialisation (unless --init-seed).",
    stat_budget_help="Stored elements per statistic tensor of --trees (refused without it).",
    cache_dir_help="Cache folder of the --trees statistics (default: the user cache folder, "
                   "or $LPZERO_GP_CACHE_DIR) and of per-architecture scores (kept only in a "
                   "folder given here).",
    workers_help="Local worker processes scoring architectures (and extracting --trees "
                 "statistics).")
@o.archs("all | search | validation | test | heldout | N (seeded sample).")
@click.option("--proxies", default=None, cls=o.LazyHelpOption, help_text=_proxies_help)
@click.option("--trees", is_flag=True,
              help="Also score each baseline's tree twin on the search's statistics.")
@o.threads(None, 256, "torch threads per process (default: 1 with --workers > 1).")
@o.out("runs/baselines-<space>-<variant>")
@o.force()
@click.option("--batch", default=None, metavar="BATCHxSEQ_LEN",
              help="Deprecated spelling of --batch-size BATCH --seq-len SEQ_LEN.")
@o.as_json("Print the rows as JSON.")
def baselines_command(as_json: bool, **kw: Any) -> None:
    """Hand-crafted proxies (paper Table 1) on a space: Kendall, Spearman, s/arch, paper."""
    from lpzero_gp.cli.output import command_line, show
    from lpzero_gp.workflows.baselines import run_baselines

    show(run_baselines(make_options(kw, command_line())), as_json)


def make_options(params: dict[str, Any], command: str = "") -> BaselineOptions:
    """The typed options of the command's parameters (``--json`` left out; the deprecated
    ``--batch BxT`` read as ``--batch-size B --seq-len T``)."""
    from lpzero_gp.errors import OptionError
    from lpzero_gp.workflows.baselines import parse_batch

    kw = {k: v for k, v in params.items() if k != "as_json"}
    batch, proxies = kw.pop("batch", None), kw.pop("proxies", None)
    if batch is not None:
        if kw.get("batch_size") is not None or kw.get("seq_len") is not None:
            raise OptionError("give the calibration batch once: --batch-size and --seq-len "
                              "(--batch is their deprecated spelling)")
        kw["batch_size"], kw["seq_len"] = parse_batch(batch)
        warnings.warn(f"--batch is deprecated: use --batch-size {kw['batch_size']} --seq-len "
                      f"{kw['seq_len']}", FutureWarning, stacklevel=2)
    keys = tuple(proxies.split(",")) if proxies else None
    return BaselineOptions(proxies=keys, command=command, **kw)
