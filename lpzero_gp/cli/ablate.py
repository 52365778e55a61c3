"""``lpzero-gp ablate``: the paper's search ablations (RPS, population, unary ops)."""

from __future__ import annotations

from typing import Any

import click

from lpzero_gp.cli import options as o
from lpzero_gp.workflows.options import ABLATE_BUDGETS, EXPERIMENTS, AblateOptions


def int_list(text: str, option: str) -> tuple[int, ...]:
    """A comma-separated list of integers (click's BadParameter otherwise)."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers",
                                 param_hint=option) from None
    if not values:
        raise click.BadParameter("give at least one value", param_hint=option)
    return values


def experiment_names(text: str) -> tuple[str, ...]:
    """Comma-separated experiment names (``n-unary`` as ``n_unary``), each once."""
    names = tuple(dict.fromkeys(v.strip().replace("-", "_") for v in text.split(",")
                                if v.strip()))
    bad = [n for n in names if n not in EXPERIMENTS]
    if bad or not names:
        raise click.BadParameter(f"unknown experiment {', '.join(bad) or '(none)'}; choose "
                                 f"from {', '.join(EXPERIMENTS)}", param_hint="--experiments")
    return names


@click.command("ablate")
@o.common_options
@click.option("--experiments", default=",".join(EXPERIMENTS), show_default=True,
              help="Comma-separated subset of rps, population, n_unary.")
@click.option("--seeds", type=click.IntRange(1, 100), default=3, show_default=True,
              help="Search seeds per setting: --seed, --seed+1, ... (statistics stay fixed).")
@o.budget(ABLATE_BUDGETS, "evaluations count every proxy of a run, the initial population "
          "included, so every arm of an experiment spends the same", "with the tables")
@o.evaluations(3, "Proxies evaluated per run, the initial population included (default: the "
               "--budget preset's); must exceed every population of the experiments run.")
@o.population(help="Population of the rps and n_unary experiments (default: the --budget "
              "preset's).")
@o.offspring("Offspring per generation (default: the --budget preset's).")
@o.n_unary("Unary ops per branch of the rps and population experiments.")
@click.option("--populations", default="80,100,200", show_default=True,
              help="Population sizes compared by the population experiment.")
@click.option("--n-unary-values", default="2,3,4,5", show_default=True,
              help="Unary ops per branch compared by the n_unary experiment.")
@o.aggregation("Aggregation over blocks.")
@o.search_archs("Search architectures: a stored split name or a number N.")
@o.heldout("Architectures the best proxies are scored on: validation, test, heldout (all "
           "not searched), N.", small_sample=False)
@o.out("runs/ablate-<space>-<variant>")
@o.force()
@o.as_json("Print ablation.json instead of tables.")
def ablate_command(as_json: bool, **kw: Any) -> None:
    """Ablations of the search: RPS vs no RPS vs random search, population, unary ops."""
    from lpzero_gp.cli.output import show
    from lpzero_gp.workflows.ablate import run_ablate

    show(run_ablate(make_options(kw)), as_json, sort_keys=True)


def make_options(params: dict[str, Any]) -> AblateOptions:
    """The typed options of the command's parameters (``--json`` left out)."""
    kw = {k: v for k, v in params.items() if k != "as_json"}
    return AblateOptions(populations=int_list(kw.pop("populations"), "--populations"),
                         n_unary_values=int_list(kw.pop("n_unary_values"), "--n-unary-values"),
                         experiments=experiment_names(kw.pop("experiments")), **kw)
