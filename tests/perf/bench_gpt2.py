"""GPT-2 space benchmark (not part of the test run): prints a table and writes JSON.

    python tests/perf/bench_gpt2.py [--out bench_gpt2.json] [--no-run] [--threads N]

Measures, at the default calibration batch (16 x 192):
  * statistics extraction seconds (build + forward/backward with hooks + compaction) for the
    smallest and the largest architecture of the benchmark, next to a plain forward/backward
    of the same model with every parameter trainable, measured in the same run (the ratio
    shows what the hooks and compaction cost, or save);
  * wall time and peak RSS of a cold ``lpzero-gp run --space gpt2`` (empty cache, the default
    50 search + 25 validation architectures) against the 10-minute budget.
Timings are noisy on a shared machine; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

BUDGET_S = 600.0


def _extremes():
    """(smallest, largest) record of the packaged benchmark by total parameters."""
    from lpzero_gp.spaces import get_space

    space = get_space("gpt2")
    recs = sorted(space.load_records(), key=lambda r: space.num_params(r))
    return space, recs[0], recs[-1]


def _plain(space, record, batch) -> float:
    """Seconds of one forward/backward of the mean LM loss, all parameters trainable."""
    model = space.build(record, "default", 0)
    model.eval()
    t0 = time.perf_counter()
    model(batch["input_ids"], batch["labels"]).loss.backward()
    return time.perf_counter() - t0


def bench_extraction(reps: int) -> list[dict]:
    """Extraction vs plain forward/backward for the smallest and largest architecture."""
    from lpzero_gp.stats.calibration import space_batch
    from lpzero_gp.stats.extract import ExtractConfig, extract_one

    space, small, large = _extremes()
    batch = space_batch(space.calibration, 16, 192)
    cfg = ExtractConfig("gpt2", "default")
    rows = []
    for label, rec in (("smallest", small), ("largest", large)):
        extract_one(space, rec, batch, cfg)  # warm-up
        ext, plain = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            extract_one(space, rec, batch, cfg)
            ext.append(time.perf_counter() - t0)
            plain.append(_plain(space, rec, batch))
        rows.append({"arch": f"{label} ({rec.id}, {space.num_params(rec) / 1e6:.1f} M)",
                     "extract_s": min(ext), "plain_fwd_bwd_s": min(plain),
                     "ratio": min(ext) / min(plain)})
    return rows


def bench_run() -> dict:
    """Wall seconds and peak RSS (GiB) of a cold default ``lpzero-gp run --space gpt2``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "lpzero_gp", "run", "--space", "gpt2", "--out", str(out),
             "--json", "--quiet"], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"lpzero-gp run --space gpt2 failed:\n{proc.stderr}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    summary = json.loads(proc.stdout)
    return {"wall_s": wall, "peak_rss_gib": rss, "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench_gpt2.json"))
    ap.add_argument("--no-run", action="store_true", help="skip the cold run (extraction only)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    result: dict = {"threads": args.threads, "load_before": os.getloadavg()[0]}
    rows = bench_extraction(args.reps)
    result["extraction"] = rows
    print(f"load average {result['load_before']:.2f}, {args.threads} torch thread(s)")
    print(f"{'architecture':34} {'extract s':>10} {'plain fwd+bwd s':>16} {'ratio':>6}")
    for r in rows:
        print(f"{r['arch']:34} {r['extract_s']:10.2f} {r['plain_fwd_bwd_s']:16.2f} "
              f"{r['ratio']:6.2f}")
    if not args.no_run:
        run = bench_run()
        result["run"] = {k: v for k, v in run.items() if k != "summary"}
        held = run["summary"]["heldout"]
        base = run["summary"]["baselines_heldout"]["decoder_params"]
        result["run"]["heldout"] = {"rho": held["rho"], "tau": held["tau"],
                                    "decoder_params": base}
        print(f"cold `lpzero-gp run --space gpt2`: {run['wall_s']:.0f} s "
              f"({run['wall_s'] / BUDGET_S:.2f} of the 600 s budget), "
              f"peak RSS {run['peak_rss_gib']:.2f} GiB; held-out rho {held['rho']:.3f} "
              f"tau {held['tau']:.3f} (decoder params {base['rho']:.3f} / {base['tau']:.3f})")
    result["load_after"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
