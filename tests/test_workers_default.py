"""Every core by default: the automatic worker count, and results identical to one worker's.

The runs are tiny (3 search and 3 held-out FlexiBERT architectures, the fewest a run takes, at
batch 2 x 16), so a pool would not pay for itself; the pool's start-up estimate is set to 0 to
make the default use one, and the machine is made to show 2 cores, so the test means the same
on any machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from run_check import VARYING, checkpoint_of

import lpzero_gp.parallel as parallel
from lpzero_gp.cli import cli, main
from lpzero_gp.spaces import get_space
from lpzero_gp.stats.calibration import space_batch
from lpzero_gp.stats.extract import ExtractConfig, Extractor, extract_one
from lpzero_gp.stats.store import stats_digest
from lpzero_gp.workflows.options import EvalOptions, RunOptions

RUN = ["run", "--search-archs", "3", "--heldout", "3", "--batch-size", "2", "--seq-len", "16",
       "--population", "8", "--offspring", "8", "--evaluations", "16", "--quiet", "--no-cache",
       "--keep-checkpoint"]


@pytest.fixture
def two_cores(monkeypatch):
    """This machine shows 2 cores, and a pool is taken to cost nothing to start."""
    monkeypatch.setattr(parallel, "available_cores", lambda *a, **k: 2)
    monkeypatch.setattr(parallel, "POOL_START_SECONDS", 0.0)


def _kept_stats(out: Path) -> dict[str, tuple[dict[str, str], dict[str, bytes]]]:
    """The statistics a run without a cache kept beside its checkpoint, by file: the files'
    metadata less the seconds each model took, and every tensor's bytes."""
    from safetensors import safe_open

    stats = checkpoint_of(out) / "stats"
    kept = {}
    for path in sorted(stats.rglob("*.safetensors")):
        with safe_open(path, "pt") as f:
            meta = {k: v for k, v in (f.metadata() or {}).items() if k != "seconds"}
            kept[str(path.relative_to(stats))] = (
                meta, {k: f.get_tensor(k).numpy().tobytes() for k in sorted(f.keys())})
    return kept


def _run(out: Path, capsys, *extra: str) -> tuple[dict[str, bytes], str, dict]:
    """The results files of one run, its printed summary and the statistics it extracted."""
    assert main([*RUN, "--out", str(out), *extra]) == 0
    return ({p.name: p.read_bytes() for p in sorted(out.iterdir())}, capsys.readouterr().out,
            _kept_stats(out))


def test_the_default_is_automatic():
    assert RunOptions().workers is None and RunOptions().threads is None
    assert EvalOptions().workers is None
    assert RunOptions(workers=3, threads=2).context().threads == 2


def test_the_default_gives_the_results_of_one_worker(tmp_path, two_cores, capsys):
    """Byte for byte, the results files and the statistics of every model (built here or
    in the pool's workers); and each run's summary says how its models were built."""
    one, one_said, one_stats = _run(tmp_path / "one", capsys, "--workers", "1")
    auto, auto_said, auto_stats = _run(tmp_path / "auto", capsys)
    assert one.keys() == auto.keys() and "best.json" in one and "summary.json" in one
    for name in one.keys() - VARYING:
        assert one[name] == auto[name], name
    assert len(one_stats) == 6 and all(meta["digest"] for meta, _ in one_stats.values())
    assert one_stats == auto_stats
    built = {k: json.loads(v["timing.json"])["models_built_by"]
             for k, v in (("one", one), ("auto", auto))}
    assert (built["one"]["workers"], built["one"]["threads"]) == (1, 2)
    assert (built["auto"]["workers"], built["auto"]["threads"]) == (2, 1)
    assert built["auto"]["auto"] and not built["one"]["auto"]
    assert "models built in this process with 2 torch threads (2 cores available, given)" \
        in one_said
    assert "models built by 2 worker processes x 1 torch thread (2 cores available, " \
           "automatic)" in auto_said


def _flexibert(n: int, batch: tuple[int, int] = (2, 16)):
    space = get_space("flexibert")
    recs = sorted(space.load_records(None), key=lambda r: space.num_params(r, "as-trained"))[:n]
    return space, recs, space_batch(space.calibration, *batch)


def test_small_models_start_no_pool(monkeypatch):
    """Tiny models: the first one shows that a pool would cost more than it saves (3 models:
    the 2 left would get a worker each)."""
    monkeypatch.setattr(parallel, "available_cores", lambda *a, **k: 2)
    space, recs, batch = _flexibert(3)
    ex = Extractor(space, ExtractConfig("flexibert", "as-trained"), batch, progress=False,
                   workers=None)
    assert all(s is not None for s in ex.stats(recs))
    assert ex._pool is None and ex.plan.workers == 1 and ex.plan.threads == 2


def test_statistics_do_not_depend_on_the_thread_count():
    """What lets the threads follow the cores: one model's statistics are bit-for-bit the same
    on 1 and on 3 torch threads (FlexiBERT and GPT-2, a batch large enough to split)."""
    before = torch.get_num_threads()
    try:
        for name, variant, batch in (("flexibert", "as-trained", (8, 64)),
                                     ("gpt2", "default", (4, 64))):
            space = get_space(name)
            rec = min(space.load_records(None), key=lambda r: space.num_params(r, variant))
            cfg = ExtractConfig(name, variant)
            data = space_batch(space.calibration, *batch)
            digests = set()
            for threads in (1, 3):
                torch.set_num_threads(threads)
                digests.add(stats_digest(extract_one(space, rec, data, cfg)))
            assert len(digests) == 1, name
    finally:
        torch.set_num_threads(before)


def test_help_says_what_the_default_chooses(monkeypatch):
    CliRunner().invoke(cli, ["run", "--help"])  # an earlier help must not fix the count shown
    monkeypatch.setattr(parallel, "available_cores", lambda *a, **k: 7)
    text = CliRunner().invoke(cli, ["run", "--help"], terminal_width=1000).output
    assert "one per available core (7 here" in text and "--threads N" in text
