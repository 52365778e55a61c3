"""How the cost of scoring one LLaMA sub-network grows with the model: proxies of each cost
class against one perplexity evaluation.

For each model (``tiny``: the seeded 4-layer random Llama; ``smollm2``: SmolLM2-135M with its
shipped super-adapter; ``smollm2-360m-shape``: a randomly initialised Llama with SmolLM2-360M's
shape, written once to a checkpoint folder, with a fresh super-adapter) the script times, on
the same seeded random sub-networks, one after the other in one process:

* a weights-only proxy (reads W: no forward pass, see ``needed_letters``);
* a forward-class proxy (one forward pass on the 4 x 64 calibration batch);
* a backward-class proxy (default ``llama-best``: forward and backward);
* one perplexity evaluation on the 8 validation windows of 128 tokens that
  ``scripts/llama_table5.py`` searches with.

Costs do not depend on trained weights, so the random 360M-shape model stands in for the real
one. Every model gets the SmolLM2 token ids of the calibration text part and of the held-out
part (``tiny`` has a vocabulary of 8,192: its ids are taken modulo that). Each figure is the
median over the sub-networks, after one untimed warm-up call per measurement on the maximal
sub-network. Prints a table with the ratios to a perplexity evaluation and writes JSON.

    python scripts/cost_scaling.py --out docs/cost_scaling.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.proxy.read import read_proxy
from lpzero_gp.score.information import cost_class, inputs_of
from lpzero_gp.score.subnets import SubnetScorer

__all__ = ["MODELS", "SHAPE_360M", "build_subnets", "main", "measure", "model_rows",
           "ratios", "table_lines"]

#: SmolLM2-360M's shape (its published config.json), randomly initialised here.
SHAPE_360M: dict[str, Any] = {
    "vocab_size": 49152, "hidden_size": 960, "intermediate_size": 2560,
    "num_hidden_layers": 32, "num_attention_heads": 15, "num_key_value_heads": 5,
    "max_position_embeddings": 8192, "rope_theta": 100000.0, "rms_norm_eps": 1e-5,
    "tie_word_embeddings": True,
}
#: The models this script knows, smallest first.
MODELS = ("tiny", "smollm2", "smollm2-360m-shape")
#: Calibration batch (the llama space's) and validation windows (llama_table5.py's).
BATCH, SEQ = 4, 64


def _write_360m(folder: Path, seed: int) -> Path:
    """A randomly initialised Llama of SmolLM2-360M's shape as a checkpoint folder (kept:
    written once per folder)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    if (folder / "config.json").is_file():
        return folder
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**SHAPE_360M))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def build_subnets(model: str, seed: int, model_dir: Path) -> Any:
    """The sub-network capability of ``model`` (one of :data:`MODELS`), as the engine opens it."""
    from lpzero_gp.spaces import get_space

    if model == "tiny":
        space = get_space("llama", model="tiny")
    elif model == "smollm2":
        space = get_space("llama")
    elif model == "smollm2-360m-shape":
        space = get_space("llama", model=str(_write_360m(model_dir / "smollm2-360m-shape",
                                                         seed)), adapter="fresh")
    else:
        raise SystemExit(f"unknown model {model!r} (use {', '.join(MODELS)})")
    return space.subnets(seed, "cpu")


def _inputs(vocab: int, windows_n: int) -> tuple[dict, torch.Tensor]:
    """The calibration batch and the validation windows, ids below ``vocab``."""
    from lpzero_gp.spaces.llama.finetune import windows
    from lpzero_gp.spaces.llama.smollm2 import HELDOUT_SEQ_LEN, HELDOUT_WINDOWS, text_ids
    from lpzero_gp.stats.calibration import stream_batch

    ids = text_ids()
    batch = stream_batch(ids["calibration"].astype("int64") % vocab, BATCH, SEQ, vocab)
    stream = torch.from_numpy(ids["heldout"].astype("int64")) % vocab
    rows = windows(stream[HELDOUT_WINDOWS * HELDOUT_SEQ_LEN:], HELDOUT_SEQ_LEN, windows_n)
    return batch, rows


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(subnets: Any, proxies: dict[str, str], n: int, seed: int,
            windows_n: int = 8) -> dict[str, Any]:
    """Median seconds per sub-network of each proxy's score and of one perplexity evaluation,
    over ``n`` seeded random sub-networks (after one warm-up call each on the maximal one)."""
    from lpzero_gp.spaces.llama.finetune import heldout_loss

    supernet = subnets.supernet
    vocab = int(supernet.model.config.vocab_size)
    batch, rows = _inputs(vocab, windows_n)
    rng = random.Random(seed)
    configs = [subnets.lonas.sample(rng) for _ in range(n)]
    tasks = {name: (lambda c, p=p, s=SubnetScorer(subnets, batch): s.score(c, p))
             for name, p in proxies.items()}
    tasks["perplexity"] = lambda c: heldout_loss(supernet, c, rows)
    seconds: dict[str, list[float]] = {name: [] for name in tasks}
    for fn in tasks.values():
        fn(subnets.maximal())  # warm-up (first-call allocations), untimed
    for c in configs:  # interleaved, so a load change hits every column alike
        for name, fn in tasks.items():
            seconds[name].append(_timed(lambda fn=fn, c=c: fn(c)))
    params = sum(p.numel() for p in supernet.model.get_base_model().parameters())
    return {"base_params": int(params), "subnets": n,
            "median_seconds": {k: statistics.median(v) for k, v in seconds.items()},
            "seconds": seconds}


def ratios(row: dict[str, Any]) -> dict[str, float]:
    """Each measurement's median over the perplexity evaluation's."""
    med = row["median_seconds"]
    ppl = med["perplexity"]
    return {k: (v / ppl if ppl > 0 else math.nan) for k, v in med.items()}


def model_rows(models: list[str], proxies: dict[str, str], n: int, seed: int,
               model_dir: Path, windows_n: int = 8) -> list[dict[str, Any]]:
    """One row per model: build time, measured medians and ratios."""
    rows = []
    for model in models:
        t0 = time.perf_counter()
        subnets = build_subnets(model, seed, model_dir)
        _ = subnets.supernet  # built on first use: load it inside the build time
        build = time.perf_counter() - t0
        row = {"model": model, "build_seconds": build,
               **measure(subnets, proxies, n, seed, windows_n)}
        row["ratio_to_perplexity"] = ratios(row)
        rows.append(row)
        del subnets
    return rows


def table_lines(rows: list[dict[str, Any]], proxies: dict[str, str]) -> list[str]:
    """The printed table: seconds per sub-network (ratio to one perplexity evaluation)."""
    cols = [*proxies, "perplexity"]
    head = f"{'model':20s} {'params':>8s} " + " ".join(f"{c:>18s}" for c in cols)
    lines = [head]
    for r in rows:
        cells = [f"{r['median_seconds'][c]:8.3f}s ({r['ratio_to_perplexity'][c]:5.2f}x)"
                 for c in cols]
        lines.append(f"{r['model']:20s} {r['base_params'] / 1e6:7.1f}M " + " ".join(
            f"{c:>18s}" for c in cells))
    return lines


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--weights-proxy", default="agg_mean(fro(log_softmax(W)))",
                    help="a proxy that reads W only (default: the LLaMA front's pick)")
    ap.add_argument("--forward-proxy",
                    default="agg_mean(div(fro(log_softmax(W)), mean(abs(square(H)))))",
                    help="a proxy whose inputs need a forward pass (A, H or S; default: a "
                         "LLaMA front proxy)")
    ap.add_argument("--backward-proxy", default="llama-best",
                    help="a proxy whose inputs need a backward pass (G or J)")
    ap.add_argument("--subnets", type=int, default=5, help="sub-networks timed per model")
    ap.add_argument("--windows", type=int, default=8,
                    help="validation windows of 128 tokens per perplexity evaluation")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model-dir", default=None,
                    help="where the 360M-shape checkpoint is written (default: a temporary "
                         "folder, removed at the end)")
    ap.add_argument("--out", default=None, help="JSON file to write")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    proxies = {}
    for cls, text in (("weights", args.weights_proxy), ("forward", args.forward_proxy),
                      ("backward", args.backward_proxy)):
        tree = read_proxy(text)
        proxy, found = format_tree(tree), cost_class(inputs_of(tree))
        if found != cls:
            raise SystemExit(f"--{cls}-proxy {proxy} is of cost class {found}, not {cls}")
        proxies[cls] = proxy
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(args.model_dir) if args.model_dir else Path(tmp)
        rows = model_rows(args.models, proxies, args.subnets, args.seed, model_dir,
                          args.windows)
    for line in table_lines(rows, proxies):
        print(line)
    out = {"proxies": proxies, "subnets": args.subnets, "seed": args.seed,
           "threads": args.threads, "calibration_batch": [BATCH, SEQ],
           "validation_windows": [args.windows, 128],
           "command": "python scripts/cost_scaling.py " + " ".join(sys.argv[1:] if argv is None
                                                                   else argv),
           "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
        print("wrote", args.out)
    return out


if __name__ == "__main__":
    main()
