"""``lpzero-gp baselines``: every hand-crafted proxy on a space, next to the paper's numbers.

Scores each architecture once (one forward/backward, GraSP's Hessian-gradient product, one
Synflow pass), ranks every baseline against the ground truth, prints a Markdown table with the
published values in adjacent columns and writes it (CSV, Markdown, per-architecture scores)
into an atomic results folder.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import click
import numpy as np
import torch
from tqdm import tqdm

from lpzero_gp.atomic import AtomicFolder
from lpzero_gp.errors import SpaceError
from lpzero_gp.score.baselines import (
    BASELINES,
    BY_KEY,
    PAPER,
    RECOMPUTED,
    ArchScores,
    BaselineConfig,
    check_keys,
    score_many,
)
from lpzero_gp.score.fitness import rank
from lpzero_gp.workflows.report import fmt, markdown_table

#: Default calibration batch of this command (smaller than the search's 16 sequences so that
#: every baseline on every architecture fits a shared 2-core CPU; see docs).
BASELINE_BATCH = {"flexibert": (2, 128), "gpt2": (2, 192)}

#: What produced the gradients, per space and semantics (printed in the table header).
LOSSES = {
    ("flexibert", "intended"): "masked-LM loss (tied head, 15% of tokens), eval mode",
    ("flexibert", "reference"): "all-ones backward on the last hidden state, train mode",
    ("gpt2", "intended"): "mean LM loss (adaptive softmax), eval mode",
    ("gpt2", "reference"): "mean LM loss (adaptive softmax), train mode (dropout)",
}


def parse_batch(text: str | None, space: str) -> tuple[int, int]:
    """``BxT`` (e.g. ``4x128``) or the space's default; SpaceError on anything else."""
    if text is None:
        return BASELINE_BATCH.get(space, (4, 128))
    m = re.fullmatch(r"\s*(\d+)\s*[xX*]\s*(\d+)\s*", text)
    if not m:
        raise SpaceError(f"--batch {text!r}: expected BATCHxSEQ_LEN, e.g. 4x128")
    bs, sl = int(m.group(1)), int(m.group(2))
    if not 1 <= bs <= 4096 or not 2 <= sl <= 8192:
        raise SpaceError(f"--batch {text!r}: batch 1..4096 and sequence length 2..8192")
    return bs, sl


def rank_rows(results: list[ArchScores], truth: np.ndarray, keys: list[str], space: str
              ) -> list[dict]:
    """One row per baseline: n, rho, tau, the paper's and the recomputed values, s/arch."""
    rows = []
    for key in keys:
        b = BY_KEY[key]
        s = np.array([r.scores.get(key, float("nan")) for r in results], dtype=np.float64)
        ok = np.isfinite(s)
        res = rank(s[ok], truth[ok]) if ok.sum() >= 3 else None
        errs = Counter(r.errors[key] for r in results if key in r.errors)
        note = ""
        if errs:
            msg, count = errs.most_common(1)[0]
            note = f"{count} failed: {msg}" if count < len(results) else f"unavailable: {msg}"
        elif res is not None and not res.valid:
            note = f"invalid: {res.reason}"
        secs = [r.seconds[key] for r in results if key in r.seconds and key not in r.errors]
        paper = PAPER.get(space, {}).get(key)
        ref = RECOMPUTED.get(space, {}).get(key)
        rows.append({
            "key": key, "proxy": b.label, "table1": b.table1, "n": int(ok.sum()),
            "rho": res.rho if res is not None and res.valid else float("nan"),
            "tau": res.tau if res is not None and res.valid else float("nan"),
            "paper_rho": paper[0] if paper else float("nan"),
            "paper_tau": paper[1] if paper else float("nan"),
            "reference_rho": ref[0] if ref else float("nan"),
            "reference_tau": ref[1] if ref else float("nan"),
            "seconds_per_arch": float(np.mean(secs)) if secs else float("nan"),
            "tree": b.tree or "", "note": note,
        })
    return rows


def table_markdown(rows: list[dict]) -> str:
    """The printed table (Table-1 proxies first, then the extra rows)."""
    header = ["proxy", "n", "Kendall tau", "Spearman rho", "paper tau", "paper rho",
              "ref. code rho/tau", "s/arch", "note"]
    body = []
    for r in sorted(rows, key=lambda r: not r["table1"]):
        ref = (f"{fmt(r['reference_rho'])}/{fmt(r['reference_tau'])}"
               if np.isfinite(r["reference_rho"]) else "")
        body.append([r["proxy"] if r["table1"] else f"*{r['proxy']}*", r["n"], fmt(r["tau"]),
                     fmt(r["rho"]), _blank(r["paper_tau"]), _blank(r["paper_rho"]), ref,
                     fmt(r["seconds_per_arch"], 2), r["note"]])
    return markdown_table(header, body)


def _blank(x: float) -> str:
    return fmt(x) if np.isfinite(x) else ""


def _tree_rows(loaded, records, keys: list[str]) -> list[dict]:
    """Rank of every baseline's tree twin on the search's stored statistics."""
    from lpzero_gp.score.scoring import Scorer
    from lpzero_gp.workflows.context import dataset_for

    ds, truth, recs = dataset_for(loaded, records, "statistics (trees)")
    scorer = Scorer(ds, truth)
    out = []
    for key in keys:
        tree = BY_KEY[key].tree
        if tree:
            res = scorer.rank(tree)
            out.append({"key": key, "tree": tree, "n": len(recs), "rho": res.rho,
                        "tau": res.tau})
    return out


@click.command("baselines")
@click.option("--space", type=click.Choice(["flexibert", "gpt2"]), default="flexibert",
              show_default=True)
@click.option("--variant", default=None,
              help="Model variant (flexibert: as-trained [default] | reference).")
@click.option("--semantics", type=click.Choice(["intended", "reference"]), default="intended",
              show_default=True, help="intended: real LM loss, eval mode; reference: as the "
              "published code (flexibert: all-ones backward, train mode).")
@click.option("--archs", default="all", show_default=True,
              help="all | search | validation | test | heldout | N (seeded sample).")
@click.option("--batch", default=None,
              help="Calibration batch BATCHxSEQ_LEN (default flexibert 2x128, gpt2 2x192).")
@click.option("--proxies", default=None,
              help="Comma-separated baseline keys (default: all). Keys: "
              + ", ".join(b.key for b in BASELINES))
@click.option("--trees", is_flag=True,
              help="Also score each baseline's tree twin on the search's statistics.")
@click.option("--benchmark", type=click.Path(dir_okay=False), default=None,
              help="A benchmark JSON file in the space's format (default: packaged).")
@click.option("--tokenizer", default=None, help="transformers tokenizer name or local directory.")
@click.option("--text", type=click.Path(dir_okay=False), default=None,
              help="Calibration text file (default: the packaged calibration text).")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=42, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Reuse/persist per-architecture scores here.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True)
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="torch threads per process (default: 1 with --workers > 1).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Results folder (default runs/baselines-<space>-<variant>).")
@click.option("--force", is_flag=True, help="Replace an existing results folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def baselines(**kw):
    """Hand-crafted proxies (paper Table 1) on a space: Kendall, Spearman, s/arch, paper."""
    from lpzero_gp.cli import run_metadata
    from lpzero_gp.workflows.context import Context, load, pick_records

    for opt in ("benchmark", "text"):
        if kw[opt] and not Path(kw[opt]).is_file():
            raise SpaceError(f"--{opt} file {kw[opt]} does not exist")
    if not re.fullmatch(r"cpu|cuda(:\d+)?", kw["device"]):
        raise SpaceError(f"unknown device {kw['device']!r} (cpu or cuda[:N])")
    keys = check_keys(kw["proxies"].split(",") if kw["proxies"] else BY_KEY)
    bs, sl = parse_batch(kw["batch"], kw["space"])
    ctx = Context(space=kw["space"], variant=kw["variant"], semantics=kw["semantics"],
                  benchmark=kw["benchmark"], batch_size=bs, seq_len=sl,
                  tokenizer=kw["tokenizer"], text=kw["text"], seed=kw["seed"],
                  device=kw["device"], cache_dir=kw["cache_dir"], workers=1,
                  progress=not kw["quiet"])
    loaded = load(ctx)
    out = Path(kw["out"] or f"runs/baselines-{loaded.space.name}-{loaded.variant}")
    folder = AtomicFolder(out, kw["force"])  # fails early if it exists
    records = pick_records(loaded, kw["archs"], ctx.seed)
    cfg = BaselineConfig(loaded.space.name, loaded.variant, ctx.semantics, ctx.seed,
                         ctx.device)
    threads = kw["threads"] or (1 if kw["workers"] > 1 else None)
    if threads and kw["workers"] == 1:
        torch.set_num_threads(threads)
    mapper = None
    if kw["workers"] > 1:
        from lpzero_gp.parallel import make_mapper

        mapper = make_mapper(kw["workers"])
        loaded.extractor.mapper = mapper  # --trees extracts statistics in the same pool
    bar = tqdm(total=len(records), desc="baselines", file=sys.stderr, disable=kw["quiet"])
    t0 = time.perf_counter()
    results = score_many(loaded.space, records, loaded.batch, cfg, keys, kw["cache_dir"],
                         mapper, progress=lambda _r: bar.update(1), threads=threads)
    bar.close()
    wall = time.perf_counter() - t0
    truth = np.array([r.truth for r in records], dtype=np.float64)
    rows = rank_rows(results, truth, keys, loaded.space.name)
    trees = _tree_rows(loaded, records, keys) if kw["trees"] else []
    head = {
        "space": loaded.space.name, "variant": loaded.variant, "semantics": ctx.semantics,
        "loss": LOSSES.get((loaded.space.name, ctx.semantics), ""),
        "batch": f"{bs}x{sl}", "seed": ctx.seed, "archs": kw["archs"], "n": len(records),
        "truth": loaded.space.truth_label, "workers": kw["workers"], "threads": threads,
        "wall_seconds": round(wall, 1), "command": "lpzero-gp " + " ".join(sys.argv[1:]),
        "batch_info": loaded.info, **run_metadata(),
    }
    md = _markdown(head, rows, trees)
    with folder:
        folder.csv("baselines.csv", rows)
        folder.text("baselines.md", md)
        folder.json("meta.json", {**head, "trees": trees})
        folder.csv("scores.csv", [{"id": r.id, "truth": t, **r.scores}
                                  for r, t in zip(results, truth, strict=True)])
        folder.json("scores.json", [r.to_json() for r in results])
    if kw["as_json"]:
        click.echo(json.dumps({**head, "rows": rows, "trees": trees}, indent=2, default=str))
    else:
        click.echo(md)
        click.echo(f"written to {out}")


def _markdown(head: dict, rows: list[dict], trees: list[dict]) -> str:
    lines = [
        f"# Baselines: {head['space']} ({head['variant']})", "",
        f"- semantics: **{head['semantics']}** ({head['loss']})",
        f"- calibration batch {head['batch']}, seed {head['seed']}, architectures "
        f"{head['archs']} (n = {head['n']})",
        f"- ground truth: {head['truth']}; signed correlations (higher score = better)",
        f"- wall time {head['wall_seconds']} s, workers {head['workers']}, torch threads "
        f"{head['threads'] or torch.get_num_threads()}",
        f"- command: `{head['command']}`", "",
        "*Italic rows* are not in the paper's Table 1. 'paper' columns: the paper's Tables 2/3 "
        "as quoted in specs/proxies.md §4.3 (GPT-2: |rho| for GraSP and Jacobian Cosine); "
        "'ref. code': the published code's stored scores recomputed there (signed).", "",
        table_markdown(rows),
    ]
    if trees:
        lines += ["", "Tree twins scored on the search's stored statistics:", "",
                  markdown_table(["baseline", "tree", "n", "Kendall tau", "Spearman rho"],
                                 [[t["key"], f"`{t['tree']}`", t["n"], fmt(t["tau"]),
                                   fmt(t["rho"])] for t in trees])]
    return "\n".join(lines)
