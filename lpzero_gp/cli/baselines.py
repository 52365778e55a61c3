"""``lpzero-gp baselines``: the hand-crafted proxies of the paper's Table 1 on a space."""

from __future__ import annotations

import re
import warnings
from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.errors import OptionError
from lpzero_gp.workflows.options import BaselineOptions
from lpzero_gp.workflows.optionspec import BATCH_ALIAS, COMMON


@click.command("baselines")
@o.options_of(BaselineOptions, *COMMON, "archs", "proxies", "trees", "out", "force")
@o.option(BATCH_ALIAS)
@o.as_json("Print the rows as JSON.")
def baselines_command(as_json: bool, **kw: Any) -> None:
    """Hand-crafted proxies (paper Table 1) on a space: Kendall, Spearman, s/arch, paper."""
    from lpzero_gp.cli.output import command_line, show
    from lpzero_gp.workflows.baselines import run_baselines

    show(run_baselines(make_options(kw, command_line())), as_json)


def parse_batch(text: str) -> tuple[int, int]:
    """``BxT`` (e.g. ``4x128``), the deprecated ``--batch`` spelling of ``--batch-size B
    --seq-len T`` (the options check both numbers)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX*]\s*(\d+)\s*", text)
    if not m:
        raise OptionError(f"--batch {text!r}: expected BATCHxSEQ_LEN, e.g. 4x128 (better: "
                          "--batch-size 4 --seq-len 128)")
    return int(m.group(1)), int(m.group(2))


def make_options(params: dict[str, Any], command: str = "") -> BaselineOptions:
    """The typed options of the command's parameters (``--json`` left out; the deprecated
    ``--batch BxT`` read as ``--batch-size B --seq-len T``)."""
    kw = {k: v for k, v in params.items() if k != "as_json"}
    batch = kw.pop("batch", None)
    if batch is not None:
        if kw.get("batch_size") is not None or kw.get("seq_len") is not None:
            raise OptionError("give the calibration batch once: --batch-size and --seq-len "
                              "(--batch is their deprecated spelling)")
        kw["batch_size"], kw["seq_len"] = parse_batch(batch)
        warnings.warn(f"--batch is deprecated: use --batch-size {kw['batch_size']} --seq-len "
                      f"{kw['seq_len']}", FutureWarning, stacklevel=2)
    return BaselineOptions(command=command, **kw)

__all__ = ["baselines_command", "make_options"]
