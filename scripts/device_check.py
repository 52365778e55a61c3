"""Device check: proxy statistics on CUDA against CPU, for FlexiBERT, GPT-2 and SmolLM2.

For a few architectures of each space the statistics are extracted on the CPU (fp32) and on
CUDA (fp32, and bf16 for the SmolLM2 super-network), then compared tensor by tensor: the figure
is the relative error ``|cuda - cpu| / |cpu|`` (Frobenius) of each stored statistic tensor of
an architecture (fp32: the largest must be within tolerance; bf16: the median), with the time
per architecture on each device (after one warm-up extraction on each, so model loading is not
counted). Prints a table and writes
``device_check.json`` to ``$OUT`` (or the current folder).

    python scripts/device_check.py            # needs a CUDA GPU; about a minute on one
    python scripts/device_check.py --cpu-only # the same code path on the CPU alone (a dry run)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from lpzero_gp.spaces import get_space
from lpzero_gp.stats.calibration import space_batch
from lpzero_gp.stats.extract import ExtractConfig, extract_one

#: (space, constructor options, CUDA dtype, tolerance). fp32 must hold for every tensor; bf16
#: (8 significant bits) for the median tensor: a few small gradients lose much more in bf16
#: (measured on the CPU: activations within 1-6 %, the median gradient 3 %, the worst 36 %).
CASES = [
    ("flexibert", {}, "fp32", 1e-3),
    ("gpt2", {}, "fp32", 1e-3),
    ("llama", {"model": "smollm2"}, "fp32", 1e-3),
    ("llama", {"model": "smollm2", "dtype": "bf16"}, "bf16", 5e-2),
]


def rel_errors(a, b) -> list[float]:
    """Relative Frobenius differences ``|b - a| / |a|`` of the stored tensors of two ArchStats
    of the same layout (an all-zero tensor must stay zero)."""
    out = []
    for letter, segs in a.inputs.items():
        for (_, ta, _), (_, tb, _) in zip(segs, b.inputs[letter], strict=True):
            diff = float(torch.linalg.vector_norm(ta - tb.float()))
            scale = float(torch.linalg.vector_norm(ta))
            out.append(diff / scale if scale > 0 else diff)
    return out


def timed(space, record, batch, cfg):
    """Statistics of one architecture and the seconds they took (device synchronised)."""
    if cfg.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    stats = extract_one(space, record, batch, cfg)
    if cfg.device.startswith("cuda"):
        torch.cuda.synchronize()
    return stats, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=3, help="architectures per space")
    ap.add_argument("--cpu-only", action="store_true", help="compare CPU with CPU (dry run)")
    args = ap.parse_args()
    device = "cpu" if args.cpu_only else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --cpu-only for a dry run")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rows = []
    for name, options, dtype, tol in CASES:
        cpu_space = get_space(name, **{k: v for k, v in options.items() if k != "dtype"})
        dev_options = {**options, "device": device} if name == "llama" else options
        dev_space = get_space(name, **dev_options)
        batch = space_batch(cpu_space.calibration)
        records = cpu_space.load_records(None)[: args.archs]
        for rec in records:
            cfg = ExtractConfig(name, cpu_space.default_variant)
            timed(cpu_space, rec, batch, cfg)  # warm-up (builds a shared super-network once)
            ref, cpu_s = timed(cpu_space, rec, batch, cfg)
            timed(dev_space, rec, batch, ExtractConfig(name, cpu_space.default_variant,
                                                       device=device))  # warm-up
            got, dev_s = timed(dev_space, rec, batch,
                               ExtractConfig(name, cpu_space.default_variant, device=device))
            errs = sorted(rel_errors(ref, got))
            worst, median = errs[-1], errs[len(errs) // 2]
            err = worst if dtype == "fp32" else median
            rows.append({"space": name, "dtype": dtype, "arch": rec.id, "cpu_s": cpu_s,
                         "device_s": dev_s, "speed-up": cpu_s / dev_s,
                         "max_rel_error": worst, "median_rel_error": median,
                         "tolerance": tol, "ok": err <= tol})
            r = rows[-1]
            print(f"{name:9s} {dtype:4s} {rec.id[:18]:18s} cpu {cpu_s:7.2f}s  {device} "
                  f"{dev_s:7.3f}s  x{r['speed-up']:6.1f}  rel err median {median:.1e} "
                  f"max {worst:.1e}  {'ok' if r['ok'] else 'FAIL'}", flush=True)
    info = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
            "torch": torch.__version__, "rows": rows}
    out = Path(os.environ.get("OUT", "."))
    (out / "device_check.json").write_text(json.dumps(info, indent=1) + "\n")
    bad = [r for r in rows if not r["ok"]]
    print(f"{len(rows) - len(bad)}/{len(rows)} within tolerance; wrote {out / 'device_check.json'}")
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
