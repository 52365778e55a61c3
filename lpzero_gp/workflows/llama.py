"""Command line of the LLaMA (LoNAS) space: ``lpzero-gp subnets`` and ``eval --space llama``.

``subnets`` searches sub-networks of an elastic-LoRA super-network that maximise a proxy under
a parameter budget; :func:`eval_llama` reports how well proxies rank sub-networks against a
ground truth (a user file of measured accuracies, or the labelled short-training stand-in).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from lpzero_gp.errors import SpaceError

DEFAULT_SEED = 42
#: Above this many decoder-layer linear parameters, ``--modules auto`` reads adapters only.
AUTO_ADAPTERS_ABOVE = 200_000_000


def _model_options(f: Any) -> Any:
    """Options shared by the LLaMA commands: model, super-adapter, calibration, inputs."""
    opts = [
        click.option("--model", default="tiny", show_default=True,
                     help="'tiny' (random 4-layer Llama built locally) or a local Hugging Face "
                          "Llama checkpoint directory."),
        click.option("--adapter", type=click.Path(file_okay=False), default=None,
                     help="A trained peft LoRA super-adapter directory (default: fresh adapters)."),
        click.option("--lora-r", type=click.IntRange(1, 4096), default=None,
                     help="Maximal adapter rank of fresh adapters (default: hidden/8 rounded "
                          "to a multiple of 8 within 8..32: 8 for tiny, 32 for LLaMA-7B)."),
        click.option("--lora-init", type=click.Choice(["nonzero", "zero"]), default="nonzero",
                     show_default=True,
                     help="Fresh adapters: nonzero keeps nn.Linear init on lora_A and lora_B; "
                          "zero is peft's default (lora_B = 0: ranks change nothing)."),
        click.option("--tie-ranks", is_flag=True,
                     help="One rank choice per layer for q/k/v and gate/up adapters."),
        click.option("--modules", type=click.Choice(["auto", "all", "base", "adapters"]),
                     default="auto", show_default=True,
                     help="Linears feeding W/G: base+adapters, base, or adapters only (no "
                          "gradients for the frozen base). auto: adapters above 2e8 params."),
        click.option("--loss", type=click.Choice(["lm", "ones"]), default="lm",
                     show_default=True, help="Backward of the LM loss, or of ones on logits."),
        click.option("--batch-size", type=click.IntRange(1, 4096), default=4, show_default=True,
                     help="Calibration batch size."),
        click.option("--seq-len", type=click.IntRange(2, 32768), default=64, show_default=True,
                     help="Calibration sequence length."),
        click.option("--tokenizer", default=None,
                     help="Tokenizer directory (default: the checkpoint's own if it has one, "
                          "else the shipped one)."),
        click.option("--text", type=click.Path(dir_okay=False), default=None,
                     help="Calibration text file (default: embedded Python docs text)."),
        click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N."),
        click.option("--dtype", type=click.Choice(["fp32", "bf16", "fp16"]), default="fp32",
                     show_default=True, help="Model weight dtype (bf16 for large models)."),
        click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=DEFAULT_SEED,
                     show_default=True),
        click.option("--threads", type=click.IntRange(1, 1024), default=1, show_default=True,
                     help="CPU threads for torch (1 avoids thread thrashing on busy CPUs)."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


# ------------------------------------------------------------------------------- set-up


def _tokenizer_for(model: str, tokenizer: str | None) -> str | None:
    """The checkpoint's own tokenizer when it ships one and none was given."""
    if tokenizer is not None or model == "tiny":
        return tokenizer
    path = Path(model)
    names = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")
    return str(path) if any((path / n).is_file() for n in names) else None


def setup(
    model: str = "tiny",
    seed: int = DEFAULT_SEED,
    device: str = "cpu",
    dtype: str = "fp32",
    adapter: str | None = None,
    lora_r: int | None = None,
    lora_init: str = "nonzero",
    tie_ranks: bool = False,
    batch_size: int = 4,
    seq_len: int = 64,
    tokenizer: str | None = None,
    text: str | None = None,
    modules: str = "auto",
    threads: int | None = 1,
) -> tuple[Any, dict[str, Any], str, dict[str, Any]]:
    """Super-network, calibration batch, resolved module set and run metadata.

    ``threads`` sets torch's CPU thread count for the process (None leaves it alone): the
    small matrices of the tiny model gain nothing from more threads, and a busy CPU makes
    extra threads spin.
    """
    import torch

    from lpzero_gp.spaces.llama.cost import subnet_cost
    from lpzero_gp.spaces.llama.supernet import LonasSupernet
    from lpzero_gp.stats.calibration import batch_info, lm_batch, load_text

    if threads is not None:
        torch.set_num_threads(int(threads))
    supernet = LonasSupernet.build(
        model=model, seed=seed, r_max=lora_r, lora_init=lora_init, tie_ranks=tie_ranks,
        device=device, dtype=dtype, adapter=adapter,
    )
    tok = _tokenizer_for(model, tokenizer)
    body = load_text(text) if text else None
    vocab = supernet.space.dims.vocab
    batch = lm_batch(batch_size, seq_len, vocab, tokenizer=tok, text=body)
    if modules == "auto":
        big = subnet_cost(supernet.space, supernet.space.maximal()).params > AUTO_ADAPTERS_ABOVE
        modules = "adapters" if big else "all"
    meta = {
        **supernet.meta,
        "space": supernet.space.describe(),
        "modules": modules,
        "calibration": batch_info("lm", batch_size, seq_len, tokenizer=tok, text=body,
                                  vocab_size=vocab, text_source=text),
        "versions": _versions(),
    }
    return supernet, batch, modules, meta


def _versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    from lpzero_gp import __version__

    return {"lpzero_gp": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__}


def _default_out(model: str, seed: int) -> Path:
    name = "tiny" if model == "tiny" else Path(model).resolve().name
    return Path("runs") / f"subnets-{name}-s{seed}"


# ------------------------------------------------------------------------------- subnets


@click.command("subnets")
@_model_options
@click.option("--proxy", default="paper_llama", show_default=True,
              help="Named proxy (paper_llama), proxy expression, or a feature (params, macs).")
@click.option("--budget-params", type=float, default=None,
              help="Parameter budget of the decoder layers: a fraction of the maximal "
                   "sub-network (<= 1) or an absolute count (> 1). Default: none.")
@click.option("--generations", type=click.IntRange(0, 10_000), default=8, show_default=True)
@click.option("--population", type=click.IntRange(2, 100_000), default=16, show_default=True)
@click.option("--offspring", type=click.IntRange(1, 100_000), default=None,
              help="Children per generation (default: the population size).")
@click.option("--top-k", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="How many best sub-networks to write.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Results folder (default runs/subnets-<model>-s<seed>).")
@click.option("--force", is_flag=True, help="Replace an existing results folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def subnets(**kw: Any) -> None:
    """Search LoNAS sub-networks that maximise a proxy under a parameter budget."""
    try:
        run_subnets(**kw)
    except SpaceError as exc:
        raise click.UsageError(str(exc).splitlines()[0]) from None


def run_subnets(**kw: Any) -> dict[str, Any]:
    """The ``subnets`` command as a function (keyword arguments as the CLI options)."""
    from lpzero_gp.atomic import AtomicFolder
    from lpzero_gp.spaces.llama.scoring import SubnetScorer
    from lpzero_gp.workflows.subnets import SearchSettings, search_subnets

    out = Path(kw["out"]) if kw.get("out") else _default_out(kw["model"], kw["seed"])
    if out.exists() and not kw.get("force"):
        raise SpaceError(f"results folder {out} exists (use --force to replace it)")
    budget = kw.get("budget_params")
    if budget is not None and not budget > 0:
        raise SpaceError(f"--budget-params must be > 0, got {budget}")
    t0 = time.perf_counter()
    supernet, batch, modules, meta = setup(**_setup_kwargs(kw))
    scorer = SubnetScorer(supernet, batch, modules=modules, loss=kw.get("loss", "lm"))
    settings = SearchSettings(
        population=kw.get("population", 16),
        offspring=kw.get("offspring") or kw.get("population", 16),
        generations=kw.get("generations", 8),
        top_k=kw.get("top_k", 10),
        seed=kw["seed"],
        budget_params=budget,
    )
    result = search_subnets(scorer, kw["proxy"], settings, progress=not kw.get("quiet"))
    data = {**result.as_dict(), "meta": {**meta, "loss": kw.get("loss", "lm")},
            "seconds_total": time.perf_counter() - t0}
    with AtomicFolder(out, force=bool(kw.get("force"))) as rf:
        rf.json("subnets.json", data)
        rf.csv("subnets.csv", _csv_rows(result.best))
    if kw.get("as_json"):
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        _print_search(data, out)
    return data


def _setup_kwargs(kw: dict[str, Any]) -> dict[str, Any]:
    keys = ("model", "seed", "device", "dtype", "adapter", "lora_r", "lora_init", "tie_ranks",
            "batch_size", "seq_len", "tokenizer", "text", "modules", "threads")
    return {k: kw[k] for k in keys if k in kw and kw[k] is not None}


def _csv_rows(best: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cols = ("score", "params", "total_params", "adapter_params", "macs", "params_fraction")
    return [
        {"rank": i + 1, **{c: b[c] for c in cols},
         "config": " ".join(str(v) for v in b["config"])}
        for i, b in enumerate(best)
    ]


def _print_search(data: dict[str, Any], out: Path) -> None:
    lim = data["budget"]["limit_params"]
    click.echo(f"proxy {data['proxy']}  evaluated {data['evaluated']} sub-networks "
               f"({data['invalid']} invalid) in {data['seconds_total']:.1f}s  budget "
               f"{'none' if lim is None else f'{lim} params'}")
    for name, e in data["named"].items():
        click.echo(f"  {name:9s} score {_num(e['score'])}  params {e['params']}")
    for i, b in enumerate(data["best"][:5]):
        click.echo(f"  best {i + 1}    score {_num(b['score'])}  params {b['params']} "
                   f"({b['params_fraction']:.3f})")
    click.echo(f"results: {out}/subnets.json, {out}/subnets.csv")


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


# ------------------------------------------------------------------------------- eval


def eval_llama(
    proxies: Sequence[str],
    model: str = "tiny",
    seed: int = DEFAULT_SEED,
    device: str = "cpu",
    as_json: bool = False,
    quiet: bool = False,
    n: int | None = 30,
    ground_truth: str | None = None,
    train_steps: int = 30,
    train_lr: float = 1e-2,
    echo: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """Spearman rho / Kendall tau of each proxy (and the ``params`` baseline) on sub-networks.

    Without ``ground_truth`` the truth is the labelled short-training stand-in on ``n`` sampled
    sub-networks (maximal, heuristic and minimal included); with it, the file's sub-networks
    and accuracies. ``options`` are the remaining :func:`setup` keywords (``dtype``,
    ``adapter``, ``batch_size``, ``seq_len``, ``tokenizer``, ``text``, ``modules``,
    ``lora_r``, ``lora_init``, ``tie_ranks``) plus ``loss``. Prints a table (or JSON) unless
    ``echo`` is false; returns the result dict.
    """
    from tqdm.auto import tqdm

    from lpzero_gp.score.fitness import rank
    from lpzero_gp.spaces.llama.ground_truth import (
        TrainingSetup,
        load_ground_truth,
        short_training_truth,
    )
    from lpzero_gp.spaces.llama.scoring import SubnetScorer, is_feature

    try:
        if not proxies:
            raise SpaceError("give at least one --proxy")
        options = {k: v for k, v in options.items() if v is not None}  # None = default
        loss = options.pop("loss", "lm")
        n = 30 if n is None else n
        unknown = set(options) - set(_SETUP_KEYS)
        if unknown:
            raise SpaceError(f"unknown llama eval option(s): {', '.join(sorted(unknown))}")
        t0 = time.perf_counter()
        supernet, batch, modules, meta = setup(model=model, seed=seed, device=device, **options)
        space = supernet.space
        setup_ = TrainingSetup(steps=train_steps, lr=train_lr)
        if ground_truth is not None:
            table = load_ground_truth(ground_truth, space)
            configs = list(table)
            truth = [table[c] for c in configs]
            truth_label = f"measured accuracy from {ground_truth} (higher is better)"
        else:
            if n < 2:
                raise SpaceError(f"need at least 2 sub-networks, got {n}")
            configs = space.sample_distinct(n, seed)
            bar = tqdm(total=len(configs), desc="short-training truth", disable=quiet,
                       leave=False)
            truth = short_training_truth(supernet, configs, batch, setup_, progress=bar)
            bar.close()
            truth_label = setup_.label()
        t_truth = time.perf_counter() - t0
        scorer = SubnetScorer(supernet, batch, modules=modules, loss=loss, keep_raw=True)
        wanted = list(dict.fromkeys(["params", *proxies]))
        for p in wanted:
            scorer.check(p)
        rows = []
        bar = tqdm(total=len(configs) * len(wanted), desc="proxy scores", disable=quiet,
                   leave=False)
        for p in wanted:
            t1 = time.perf_counter()
            scores = scorer.scores(configs, p, progress=bar)
            r = rank(scores, truth)
            rows.append({"proxy": p, "baseline": p == "params" and p not in proxies,
                         "feature": is_feature(p), "n": len(configs), "rho": r.rho,
                         "tau": r.tau, "valid": r.valid, "reason": r.reason,
                         "invalid_scores": sum(1 for s in scores if s != s),
                         "seconds": time.perf_counter() - t1})
        bar.close()
    except SpaceError as exc:
        raise click.UsageError(str(exc).splitlines()[0]) from None
    result = {
        "space": "llama",
        "truth": truth_label,
        "n": len(configs),
        "results": rows,
        "meta": {**meta, "loss": loss, "training": None if ground_truth else vars(setup_)},
        "seconds": {"truth": t_truth, "total": time.perf_counter() - t0},
        "subnets": [{"config": list(c), "truth": t} for c, t in zip(configs, truth, strict=True)],
    }
    if echo:
        if as_json:
            click.echo(json.dumps(result, indent=2, default=str))
        else:
            _print_eval(result)
    return result


_SETUP_KEYS = ("dtype", "adapter", "lora_r", "lora_init", "tie_ranks", "batch_size", "seq_len",
               "tokenizer", "text", "modules", "threads")


def _print_eval(result: dict[str, Any]) -> None:
    from lpzero_gp.workflows.report import fmt

    m = result["meta"]
    click.echo(f"space llama  model {m['model']}  n={result['n']}  modules {m['modules']}  "
               f"lora init {m['lora_init']}  truth: {result['truth']}")
    for row in result["results"]:
        tag = "  (baseline)" if row["baseline"] else ""
        status = "" if row["valid"] else f"  invalid: {row['reason']}"
        click.echo(f"{row['proxy']}: n={row['n']}  Spearman {fmt(row['rho'])}  "
                   f"Kendall {fmt(row['tau'])}{tag}{status}")
    click.echo(f"time: truth {result['seconds']['truth']:.1f}s, total "
               f"{result['seconds']['total']:.1f}s", err=True)
