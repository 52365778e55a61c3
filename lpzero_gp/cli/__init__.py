"""The ``lpzero-gp`` command line: run, eval, export, spaces (and the space-specific commands).

Every user error (bad option, bad proxy string, bad benchmark file, missing path) prints one
line ``error: ...`` to stderr and exits with code 2; nothing half-written is left behind.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np

from lpzero_gp import __version__
from lpzero_gp.errors import LpzeroError, OptionError, one_line

BUDGETS = {
    # population, offspring per generation, offspring evaluations. The search itself takes
    # seconds once statistics are stored, so the default already spends the paper's budget.
    "quick": (20, 10, 100),
    "default": (80, 40, 1000),
    "paper": (80, 40, 1000),
}


def _common(f):
    """Options shared by every command that builds models."""
    opts = [
        click.option("--space", default="flexibert", show_default=True,
                     help="Search space: flexibert, gpt2 (or llama for eval)."),
        click.option("--variant", default=None,
                     help="Model variant (flexibert: as-trained [default] | reference)."),
        click.option("--semantics", type=click.Choice(["intended", "reference"]),
                     default="intended", show_default=True,
                     help="Proxy-input semantics: clean (intended) or as the published code."),
        click.option("--benchmark", type=click.Path(dir_okay=False), default=None,
                     help="A benchmark JSON file in the space's format (default: packaged)."),
        click.option("--batch-size", type=click.IntRange(1, 4096), default=None,
                     help="Calibration batch size (CPU default: 16)."),
        click.option("--seq-len", type=click.IntRange(2, 8192), default=None,
                     help="Calibration sequence length (flexibert 128, gpt2 192)."),
        click.option("--tokenizer", default=None,
                     help="transformers tokenizer name or local directory."),
        click.option("--text", type=click.Path(dir_okay=False), default=None,
                     help="Calibration text file (default: embedded Python docs text)."),
        click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=42,
                     show_default=True),
        click.option("--init-seed", type=click.IntRange(0, 2**31 - 1), default=None,
                     help="Seed of the models' random initialisation (default: --seed)."),
        click.option("--stat-budget", type=click.IntRange(64, 1 << 24), default=2048,
                     show_default=True, help="Stored elements per tensor (row sample)."),
        click.option("--device", default="cpu", show_default=True),
        click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                     help="Persist statistics here so a second run starts warm."),
        click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
                     help="Local worker processes for extraction and fitness."),
        click.option("--dask", default=None,
                     help="Dask scheduler address, or 'local' (needs lpzero-gp[dask])."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _context(kw):
    from lpzero_gp.workflows.context import Context

    if kw.get("text") and not Path(kw["text"]).is_file():
        raise OptionError(f"calibration text file {kw['text']} does not exist")
    if kw.get("benchmark") and not Path(kw["benchmark"]).is_file():
        raise OptionError(f"benchmark file {kw['benchmark']} does not exist")
    if kw.get("device", "cpu") not in ("cpu",) and not kw["device"].startswith("cuda"):
        raise OptionError(f"unknown device {kw['device']!r} (cpu or cuda[:N])")
    return Context(space=kw["space"], variant=kw["variant"], semantics=kw["semantics"],
                   benchmark=kw["benchmark"], batch_size=kw["batch_size"],
                   seq_len=kw["seq_len"], tokenizer=kw["tokenizer"], text=kw["text"],
                   seed=kw["seed"], init_seed=kw["init_seed"],
                   stat_budget=kw["stat_budget"], device=kw["device"],
                   cache_dir=kw["cache_dir"], workers=kw["workers"], dask=kw["dask"],
                   progress=not kw["quiet"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lpzero-gp")
def cli():
    """Search zero-cost proxies for language-model NAS with genetic programming (LPZero)."""


# -------------------------------------------------------------------------------------------


@cli.command()
@_common
@click.option("--budget", type=click.Choice(list(BUDGETS)), default="default",
              show_default=True, help="Search budget preset (paper: population 80, "
              "1,000 offspring evaluations).")
@click.option("--population", type=click.IntRange(2, 10000), default=None)
@click.option("--offspring", type=click.IntRange(1, 10000), default=None,
              help="Offspring per generation (lambda).")
@click.option("--evaluations", type=click.IntRange(1, 10**6), default=None,
              help="Total offspring evaluations.")
@click.option("--n-unary", type=click.IntRange(1, 10), default=2, show_default=True)
@click.option("--shape", type=click.Choice(["lpzero", "deep"]), default="lpzero",
              show_default=True, help="lpzero: the paper's genotype; deep: free typed trees.")
@click.option("--max-height", type=click.IntRange(3, 30), default=8, show_default=True)
@click.option("--aggregation", type=click.Choice(["mean", "sum", "both"]), default="both",
              show_default=True, help="Aggregation over blocks (sum is depth-sensitive).")
@click.option("--cxpb", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option("--mutpb", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option("--no-rps", is_flag=True, help="Disable rule-based pruning.")
@click.option("--no-memo", is_flag=True, help="Disable fitness/sub-tree memoisation.")
@click.option("--search-archs", default="search", show_default=True,
              help="Search architectures: a stored split name or a number N (seeded sample).")
@click.option("--heldout", default="validation", show_default=True,
              help="Held-out architectures: validation, test, heldout (all not searched), N.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Results folder (default runs/<space>-<variant>-s<seed>).")
@click.option("--force", is_flag=True,
              help="Replace an existing results folder (and discard an interrupted run's "
              "checkpoint).")
@click.option("--resume", "resume_dir", type=click.Path(), default=None,
              help="Continue an interrupted run: give its results folder (the --out of the "
              "run) or its checkpoint folder. Checkpoints are written every generation to the "
              "hidden folder .<out-name>.checkpoint next to the results folder; the resumed run "
              "uses the stored settings (options given again must match) and ends exactly as "
              "an uninterrupted run.")
@click.option("--keep-checkpoint", is_flag=True,
              help="Keep the checkpoint folder after the run completes (it is removed once the "
              "results folder is written, so only interrupted runs leave one).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run(**kw):
    """Search a proxy on a benchmark space and score it on held-out architectures."""
    from click.core import ParameterSource

    from lpzero_gp.workflows.run import merge_resume, normalise_paths, run_command

    here = click.get_current_context()
    explicit = {name for name in kw if here.get_parameter_source(name)
                not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)}
    normalise_paths(kw)
    if kw["resume_dir"]:
        merge_resume(kw, explicit)
    run_command(_context(kw), kw, BUDGETS)


@cli.command("eval")
@_common
@click.option("--proxy", "proxies", multiple=True, required=True,
              help="Proxy string, named proxy, or feature (params, layers, ...); repeatable.")
@click.option("--archs", default="all", show_default=True,
              help="search | validation | test | heldout | all | N.")
@click.option("--ci", is_flag=True, help="95% bootstrap intervals.")
@click.option("--model", default="tiny", show_default=True, help="llama space: tiny or PATH.")
@click.option("--ground-truth", type=click.Path(dir_okay=False), default=None,
              help="llama space: measured accuracies keyed by flat configuration (JSON/CSV).")
@click.option("--adapter", type=click.Path(file_okay=False), default=None,
              help="llama space: a trained super-adapter directory (peft).")
@click.option("--dtype", type=click.Choice(["fp32", "bf16", "fp16"]), default="fp32",
              show_default=True, help="llama space: model dtype.")
@click.option("--json", "as_json", is_flag=True)
def eval_cmd(**kw):
    """Score proxies on a space's architectures (Spearman rho, Kendall tau)."""
    if kw["space"] == "llama":
        from lpzero_gp.workflows.llama import eval_llama

        if kw["ground_truth"] and not Path(kw["ground_truth"]).is_file():
            raise OptionError(f"ground-truth file {kw['ground_truth']} does not exist")
        n = int(kw["archs"]) if kw["archs"].isdigit() else 30
        eval_llama(proxies=kw["proxies"], model=kw["model"], seed=kw["seed"],
                   device=kw["device"], as_json=kw["as_json"], quiet=kw["quiet"], n=n,
                   ground_truth=kw["ground_truth"], adapter=kw["adapter"], dtype=kw["dtype"],
                   batch_size=kw["batch_size"], seq_len=kw["seq_len"],
                   tokenizer=kw["tokenizer"], text=kw["text"])
        return
    from lpzero_gp.workflows.context import evaluate_proxy, load, pick_records

    ctx = _context(kw)
    loaded = load(ctx)
    recs = pick_records(loaded, kw["archs"], ctx.seed)
    rows = []
    for p in kw["proxies"]:
        t0 = time.perf_counter()
        r = evaluate_proxy(loaded, p, recs, "statistics", with_ci=kw["ci"])
        rows.append({"proxy": p, "n": len(r.records), "rho": r.result.rho,
                     "tau": r.result.tau, "valid": r.result.valid,
                     "reason": r.result.reason, "ci": r.ci,
                     "seconds": time.perf_counter() - t0})
    head = {"space": loaded.space.name, "variant": loaded.variant,
            "semantics": ctx.semantics, "archs": kw["archs"],
            "truth": loaded.space.truth_label}
    if kw["as_json"]:
        click.echo(json.dumps({**head, "results": rows}, indent=2, default=str))
        return
    click.echo(f"space {head['space']}  variant {head['variant']}  semantics "
               f"{head['semantics']}  archs {head['archs']}  truth: {head['truth']}")
    from lpzero_gp.workflows.report import fmt

    for row in rows:
        extra = ""
        if row["ci"]:
            extra = (f"  rho 95% CI [{fmt(row['ci']['rho'][0])}, {fmt(row['ci']['rho'][1])}]"
                     f"  tau 95% CI [{fmt(row['ci']['tau'][0])}, {fmt(row['ci']['tau'][1])}]")
        status = "" if row["valid"] else f"  invalid: {row['reason']}"
        click.echo(f"{row['proxy']}: n={row['n']}  Spearman {fmt(row['rho'])}  "
                   f"Kendall {fmt(row['tau'])}{extra}{status}")


@cli.command()
@click.option("--proxy", required=True,
              help="Proxy string, named proxy, results folder or best.json.")
@click.option("--format", "fmt_", type=click.Choice(["string", "sympy", "srepr", "latex",
                                                     "json"]), default="latex",
              show_default=True)
def export(proxy, fmt_):
    """Export a proxy as SymPy, LaTeX or JSON."""
    from lpzero_gp.proxy.export import proxy_from_source, render

    if ("/" in proxy or os.sep in proxy or proxy.endswith(".json")) and not Path(proxy).exists():
        raise OptionError(f"no such file or folder: {proxy}")
    try:
        text = proxy_from_source(proxy)
    except UnicodeDecodeError:
        raise OptionError(f"{proxy} is not a proxy JSON file (not UTF-8 text)") from None
    click.echo(render(text, fmt_))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def spaces(as_json):
    """List the search spaces, their variants, records and named proxies."""
    from lpzero_gp.proxy.named import NAMED
    from lpzero_gp.spaces import REGISTRY, get_space

    out = {}
    for name in REGISTRY:
        s = get_space(name)
        recs = s.load_records(None)
        out[name] = {"variants": list(s.variants), "default_variant": s.default_variant,
                     "records": len(recs), "truth": s.truth_label,
                     "features": list(s.features(recs[0], s.default_variant))}
    if as_json:
        click.echo(json.dumps({"spaces": out, "named_proxies": NAMED}, indent=2))
        return
    for name, d in out.items():
        click.echo(f"{name}: {d['records']} architectures; variants {', '.join(d['variants'])}"
                   f" (default {d['default_variant']}); truth: {d['truth']}; feature proxies:"
                   f" {', '.join(d['features'])}")
    click.echo("named proxies:")
    for k, v in NAMED.items():
        if "_" in k:
            click.echo(f"  {k}: {v}")


def _register_optional() -> None:
    """Attach commands that live in their own modules."""
    for module, names in (("lpzero_gp.workflows.llama", ("subnets",)),
                          ("lpzero_gp.workflows.baselines", ("baselines",)),
                          ("lpzero_gp.workflows.ablate", ("ablate",))):
        try:
            mod = __import__(module, fromlist=list(names))
        except ImportError:
            continue
        for n in names:
            cmd = getattr(mod, n, None)
            if isinstance(cmd, click.Command):
                cli.add_command(cmd, n)


_register_optional()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line ``warning: ...`` (no source location)."""
    text = str(message).strip().splitlines()
    click.echo(f"warning: {text[0] if text else category.__name__}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: every user error is one line on stderr and exit code 2.

    An unexpected internal error is one line too, with exit code 1; set ``LPZERO_GP_DEBUG=1``
    to see its traceback.
    """
    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return _main(argv)
    finally:
        warnings.showwarning = shown


def _main(argv: list[str] | None) -> int:
    from concurrent.futures.process import BrokenProcessPool

    try:
        cli.main(args=argv, prog_name="lpzero-gp", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.exceptions.Abort:  # click's form of KeyboardInterrupt
        click.echo("error: interrupted", err=True)
        return 130
    except click.ClickException as e:
        click.echo(f"error: {e.format_message()}".splitlines()[0], err=True)
        return 2
    except LpzeroError as e:
        click.echo(f"error: {e}".splitlines()[0], err=True)
        return 2
    except FileNotFoundError as e:
        click.echo(f"error: file not found: {e.filename}", err=True)
        return 2
    except UnicodeDecodeError as e:
        click.echo(f"error: a file is not UTF-8 text ({one_line(e)})", err=True)
        return 2
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        click.echo(f"error: {e.strerror or one_line(e)}{where}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        return 130
    except BrokenProcessPool:
        if os.environ.get("LPZERO_GP_DEBUG"):
            raise
        click.echo("error: a worker process died (out of memory?); rerun with fewer --workers "
                   "(a run continues from its last checkpoint with --resume)", err=True)
        return 1
    except Exception as e:
        if os.environ.get("LPZERO_GP_DEBUG"):
            raise
        click.echo(f"error: internal error ({type(e).__name__}: {one_line(e)}); set "
                   "LPZERO_GP_DEBUG=1 to see the traceback", err=True)
        return 1
    return 0


def run_metadata() -> dict:
    """Versions recorded with every result."""
    import torch

    return {"lpzero_gp": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__}


def _exit() -> None:
    sys.exit(main())


__all__ = ["cli", "main", "run_metadata", "asdict"]


if __name__ == "__main__":
    _exit()
