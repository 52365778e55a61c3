"""The ``lpzero-gp subnets`` workflow: search sub-networks of a LoNAS super-network.

:func:`run_subnets` searches sub-networks of an elastic-LoRA super-network that maximise a proxy
under a parameter budget. How well a proxy ranks sub-networks is ``eval --space llama``, the
same code as for every space (:mod:`lpzero_gp.workflows.evaluate`).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lpzero_gp.errors import OptionError, ResultsError
from lpzero_gp.versions import versions
from lpzero_gp.workflows.options import Report, SubnetOptions

DEFAULT_SEED = 42


# ------------------------------------------------------------------------------- set-up


def setup(
    model: str = "smollm2",
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

    The ``llama`` space decides all three (model, shipped adapter, calibration ids), so
    ``subnets`` scores sub-networks exactly as ``run``/``eval --space llama`` do. ``threads``
    sets torch's CPU thread count for the process (None leaves it alone): the small matrices
    of the tiny model gain nothing from more threads, and a busy CPU makes extra threads spin.
    """
    import torch

    from lpzero_gp.spaces.llama.subnet_space import LlamaSpace, resolve_modules
    from lpzero_gp.stats.calibration import load_text, space_batch, space_batch_info

    if threads is not None:
        torch.set_num_threads(int(threads))
    space = LlamaSpace(model=model, adapter=adapter, dtype=dtype, device=device, lora_r=lora_r,
                       lora_init=lora_init, tie_ranks=tie_ranks, modules=modules)
    supernet = space.supernet(seed)
    spec = space.calibration
    tok = tokenizer or spec.tokenizer
    body = load_text(text) if text else None
    batch = space_batch(spec, batch_size, seq_len, tokenizer=tok, text=body)
    modules = resolve_modules(supernet.space, modules)
    meta = {
        **supernet.meta,
        "space": supernet.space.describe(),
        "modules": modules,
        "calibration": space_batch_info(spec, batch_size, seq_len, tokenizer=tok, text=body,
                                        text_source=text),
        "versions": versions("torch", "transformers", "peft"),
    }
    return supernet, batch, modules, meta


def _default_out(model: str, seed: int) -> Path:
    name = model if model in ("tiny", "smollm2") else Path(model).resolve().name
    return Path("runs") / f"subnets-{name}-s{seed}"


# ------------------------------------------------------------------------------- subnets


def run_subnets(opts: SubnetOptions) -> Report:
    """Search sub-networks that maximise ``opts.proxy``; writes subnets.json and subnets.csv.

    Returns the written result as ``data``, the printed summary as ``lines`` and the results
    folder as ``out``.
    """
    from lpzero_gp.atomic import AtomicFolder
    from lpzero_gp.score.subnets import SubnetScorer
    from lpzero_gp.workflows.subnets import SearchSettings, search_subnets

    opts.check()
    out = Path(opts.out) if opts.out else _default_out(opts.model, opts.seed)
    if out.exists() and not opts.force:
        raise ResultsError(f"results folder {out} exists (use --force to replace it)")
    budget = opts.budget_params
    if budget is not None and not budget > 0:
        raise OptionError(f"--budget-params must be > 0, got {budget}")
    t0 = time.perf_counter()
    supernet, batch, modules, meta = setup(**_setup_kwargs(opts))
    scorer = SubnetScorer(supernet, batch, modules=modules, loss=opts.loss)
    settings = SearchSettings(
        population=opts.population,
        offspring=opts.offspring or opts.population,
        generations=opts.generations,
        top_k=opts.top_k,
        seed=opts.seed,
        budget_params=budget,
    )
    result = search_subnets(scorer, _proxy_text(opts.proxy), settings, progress=not opts.quiet)
    data = {**result.as_dict(), "meta": {**meta, "loss": opts.loss},
            "seconds_total": time.perf_counter() - t0}
    with AtomicFolder(out, force=opts.force) as rf:
        rf.json("subnets.json", data)
        rf.csv("subnets.csv", _csv_rows(result.best))
    return Report(data, subnet_lines(data, out), out=out)


def _proxy_text(proxy: str) -> str:
    """A feature or named proxy as given; any other proxy input (an exported form, a JSON
    file, a results folder) read into its proxy string."""
    from lpzero_gp.proxy.named import NAMED
    from lpzero_gp.proxy.parse import format_tree
    from lpzero_gp.proxy.read import read_proxy
    from lpzero_gp.score.subnets import is_feature

    if is_feature(proxy) or proxy in NAMED:
        return proxy
    return format_tree(read_proxy(proxy))


def _setup_kwargs(opts: SubnetOptions) -> dict[str, Any]:
    """The :func:`setup` keywords of ``opts`` (None leaves setup's default)."""
    return {k: v for k, v in asdict(opts).items() if k in _SETUP_ARGS and v is not None}


def _csv_rows(best: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cols = ("score", "params", "total_params", "adapter_params", "macs", "params_fraction")
    return [
        {"rank": i + 1, **{c: b[c] for c in cols},
         "config": " ".join(str(v) for v in b["config"])}
        for i, b in enumerate(best)
    ]


def subnet_lines(data: dict[str, Any], out: Path) -> list[str]:
    """The printed summary of a sub-network search: named and best sub-networks."""
    lim = data["budget"]["limit_params"]
    lines = [f"proxy {data['proxy']}  evaluated {data['evaluated']} sub-networks "
             f"({data['invalid']} invalid) in {data['seconds_total']:.1f}s  budget "
             f"{'none' if lim is None else f'{lim} params'}"]
    for name, e in data["named"].items():
        lines.append(f"  {name:9s} score {_num(e['score'])}  params {e['params']}")
    for i, b in enumerate(data["best"][:5]):
        lines.append(f"  best {i + 1}    score {_num(b['score'])}  params {b['params']} "
                     f"({b['params_fraction']:.3f})")
    lines.append(f"results: {out}/subnets.json, {out}/subnets.csv")
    return lines


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


# ------------------------------------------------------------------------------- eval


#: Every keyword of :func:`setup`.
_SETUP_ARGS = ("model", "seed", "device", "dtype", "adapter", "lora_r", "lora_init", "tie_ranks",
               "batch_size", "seq_len", "tokenizer", "text", "modules", "threads")
