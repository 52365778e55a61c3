"""Reliability of ``lpzero-gp run``: checkpoints and resume, determinism, faults, atomic results.

The end-to-end tests share one statistics cache (built once, by the reference run) and use a
tiny budget: 6 search and 4 held-out FlexiBERT architectures, batch 2 x 16, population 8,
8 offspring per generation, 4 generations.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from run_check import (
    FLEXIBERT_EVALUATIONS,
    FLEXIBERT_RUN,
    checkpoint_of,
    cli,
    interrupt_at,
    results,
)

from lpzero_gp import __version__
from lpzero_gp.atomic import AtomicFolder as ResultsFolder
from lpzero_gp.errors import CheckpointError, ResultsError
from lpzero_gp.proxy import default_pset
from lpzero_gp.score.fitness import INVALID_FITNESS
from lpzero_gp.search import (
    CHECKPOINT,
    Search,
    SearchConfig,
    checkpoint_info,
    load_checkpoint,
    save_checkpoint,
)
from lpzero_gp.spaces import get_space
from lpzero_gp.stats.calibration import space_batch
from lpzero_gp.stats.extract import ExtractConfig, Extractor

#: On one worker with the other readers of the session's FlexiBERT run (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("flexibert-run")

EVALUATIONS = FLEXIBERT_EVALUATIONS  # 4 generations of 8 offspring
RUN = FLEXIBERT_RUN


@pytest.fixture(scope="session")
def cache(flexibert_cache) -> Path:
    """The session's FlexiBERT statistics cache, filled by the reference run."""
    return flexibert_cache


@pytest.fixture(scope="session")
def reference(flexibert_run) -> Path:
    """The session's uninterrupted FlexiBERT run, its checkpoint kept."""
    return flexibert_run


@pytest.fixture
def copied_checkpoint(reference, tmp_path) -> Path:
    """A results-folder path whose (copied) checkpoint folder is the reference run's."""
    out = tmp_path / "again"
    shutil.copytree(checkpoint_of(reference), checkpoint_of(out))
    return out


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _refused(capsys, argv, *fragments) -> str:
    rc = cli(*argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in err, err
    for f in fragments:
        assert f in last, last
    return err


# -- determinism and kill/resume, end to end -------------------------------------------------


def test_reference_run_files(reference, cache):
    names = {p.name for p in reference.iterdir()}
    assert {"config.json", "log.csv", "best.json", "summary.json", "timing.json",
            "hall_of_fame.csv", "heldout_scores.csv"} <= names
    rows = (reference / "log.csv").read_text().splitlines()
    assert rows[0] == ("gen,nevals,best,median,invalid,best_proxy,cache_hits,regenerated,"
                       "distinct")
    assert len(rows) == 1 + 1 + EVALUATIONS // 8
    ckpt = checkpoint_of(reference)
    assert checkpoint_info(ckpt)["generation"] == EVALUATIONS // 8
    assert not list(reference.parent.glob(".run.partial-*"))
    summary = json.loads((reference / "summary.json").read_text())
    assert "models_built" not in summary  # counters that vary live in timing.json
    assert json.loads((reference / "timing.json").read_text())["models_built"] == 10


def test_same_seed_gives_byte_identical_results(reference, cache, tmp_path, capsys):
    out = tmp_path / "twin"
    assert cli(*RUN, "--out", out, "--cache-dir", cache) == 0
    assert results(out) == results(reference)
    assert not checkpoint_of(out).exists()  # removed once the results folder is complete
    assert "checkpoints: " in capsys.readouterr().err


def test_killed_run_resumes_to_the_same_results(reference, cache, tmp_path, capsys):
    out = tmp_path / "killed"
    ckpt_file = checkpoint_of(out) / CHECKPOINT
    proc = subprocess.Popen(
        [sys.executable, "-m", "lpzero_gp", *RUN, "--out", str(out), "--cache-dir",
         str(cache)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    generation, deadline = -1, time.monotonic() + 120
    try:
        while generation < 1:
            assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr}"
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            if ckpt_file.is_file():
                generation = json.loads(ckpt_file.read_text())["generation"]
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        _kill_group(proc)
    assert proc.returncode == -signal.SIGKILL
    killed_at = checkpoint_info(checkpoint_of(out))["generation"]
    assert 1 <= killed_at < EVALUATIONS // 8
    assert not out.exists()
    # a fresh run refuses to overwrite the interrupted one
    _refused(capsys, [*RUN, "--out", out, "--cache-dir", cache], "interrupted run",
             f"--resume {out}")
    # resume from the results-folder path; settings come from the checkpoint
    assert cli("run", "--resume", out, "--quiet") == 0
    assert "resuming from generation" in capsys.readouterr().err
    assert results(out) == results(reference)
    timing = json.loads((out / "timing.json").read_text())
    assert timing["resumed_from_generation"] >= killed_at
    assert not checkpoint_of(out).exists()


def test_interrupted_run_keeps_its_checkpoint_and_resumes(reference, cache, tmp_path,
                                                         monkeypatch, capsys):
    out = tmp_path / "interrupted"
    interrupt_at(monkeypatch, 2)
    assert cli(*RUN, "--out", out, "--cache-dir", cache) == 130
    err = capsys.readouterr().err
    assert "error: interrupted" in err and f"lpzero-gp run --resume {out}" in err
    assert checkpoint_info(checkpoint_of(out))["generation"] == 2 and not out.exists()
    monkeypatch.undo()  # the search runs on
    assert cli("run", "--resume", out, "--quiet") == 0
    assert results(out) == results(reference)


def test_resume_into_another_existing_folder_needs_force(copied_checkpoint, capsys):
    other = copied_checkpoint.parent / "other"
    other.mkdir()
    _refused(capsys, ["run", "--resume", copied_checkpoint, "--out", other], "exists",
             "--force")


def test_resume_from_checkpoint_folder_of_a_finished_run(copied_checkpoint, reference, capsys):
    out = copied_checkpoint
    assert cli("run", "--resume", checkpoint_of(out), "--out", out, "--quiet",
               "--keep-checkpoint") == 0
    assert results(out) == results(reference)
    assert checkpoint_of(out).is_dir()


# -- checkpoints that must be refused ---------------------------------------------------------


@pytest.mark.parametrize(("option", "value", "fragment"), [
    ("--space", "gpt2", "--space gpt2 differs from the checkpoint's flexibert"),
    ("--variant", "reference", "--variant reference differs"),
    ("--seed", "7", "--seed 7 differs"),
    ("--init-seed", "3", "--init-seed 3 differs"),
    ("--budget", "paper", "--budget paper differs"),
    ("--population", "9", "--population 9 differs"),
    ("--evaluations", "16", "--evaluations 16 differs"),
    ("--semantics", "reference", "--semantics reference differs"),
    ("--search-archs", "7", "--search-archs 7 differs"),
])
def test_resume_refuses_different_settings(copied_checkpoint, capsys, option, value, fragment):
    _refused(capsys, ["run", "--resume", copied_checkpoint, option, value, "--quiet"], fragment)


def test_resume_accepts_the_same_settings_given_again(copied_checkpoint, capsys):
    # every setting given again with its value passes; only the one that differs is named
    argv = [*RUN, "--variant", "as-trained", "--resume", copied_checkpoint,
            "--out", copied_checkpoint, "--heldout", "5"]
    _refused(capsys, argv, "--heldout 5 differs")


def test_resume_refuses_other_version(copied_checkpoint, capsys):
    _edit_json(checkpoint_of(copied_checkpoint) / "run.json", lambda d: d.update(version="0.0.0"))
    _refused(capsys, ["run", "--resume", copied_checkpoint], "lpzero-gp 0.0.0",
             f"this is {__version__}")


def test_resume_refuses_checkpoint_of_other_version(copied_checkpoint, capsys):
    _edit_json(checkpoint_of(copied_checkpoint) / CHECKPOINT, lambda d: d.update(version="9.9"))
    _refused(capsys, ["run", "--resume", copied_checkpoint], "written by lpzero-gp 9.9")


def test_resume_refuses_other_format(copied_checkpoint, capsys):
    _edit_json(checkpoint_of(copied_checkpoint) / CHECKPOINT, lambda d: d.update(format=99))
    _refused(capsys, ["run", "--resume", copied_checkpoint], "checkpoint format 99")


def test_resume_refuses_damaged_checkpoint(copied_checkpoint, capsys):
    path = checkpoint_of(copied_checkpoint) / CHECKPOINT
    path.write_bytes(path.read_bytes()[:1000])
    _refused(capsys, ["run", "--resume", copied_checkpoint], "not a readable lpzero-gp checkpoint")


def test_resume_refuses_changed_data(copied_checkpoint, capsys):
    _edit_json(checkpoint_of(copied_checkpoint) / "run.json",
               lambda d: d["fingerprint"].update(batch="0" * 16))
    _refused(capsys, ["run", "--resume", copied_checkpoint, "--quiet"],
             "calibration batch differ")


def test_resume_refuses_folder_that_is_no_checkpoint(tmp_path, capsys):
    (tmp_path / CHECKPOINT).write_text("{}")
    _refused(capsys, ["run", "--resume", tmp_path], "no run.json")
    (tmp_path / "run.json").write_text("[1, 2]")
    _refused(capsys, ["run", "--resume", tmp_path], "not a run file")


# -- numerical faults and failing architectures -----------------------------------------------


def test_architecture_that_fails_to_build_is_skipped(reference, cache, tmp_path, monkeypatch,
                                                     capsys):
    space_cls = type(get_space("flexibert"))
    tried = []

    def broken_build(self, record, variant, seed):
        tried.append(record.id)
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(space_cls, "build", broken_build)
    out = tmp_path / "faulty"
    # one more held-out architecture than the cached reference: exactly one model is built
    argv = [*RUN, "--out", out, "--cache-dir", cache]
    argv[argv.index("--heldout") + 1] = "5"
    argv[argv.index("--evaluations") + 1] = "16"
    assert cli(*argv) == 0
    err = capsys.readouterr().err
    assert len(tried) == 1
    assert f"1 architecture skipped: {tried[0]}: RuntimeError: CUDA out of memory" in err
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["skipped_architectures"]) == tried
    assert summary["heldout"]["n"] == 4


def test_nonfinite_proxy_is_scored_invalid(reference, cache, capsys):
    proxy = "agg_mean(exp(exp(exp(exp(fro(W))))))"
    argv = ["eval", "--archs", "6", "--batch-size", "2", "--seq-len", "16", "--cache-dir",
            cache, "--quiet", "--json", "--proxy", proxy, "--proxy", "agg_mean(l1(W))"]
    assert cli(*argv) == 0
    bad, good, *_ = json.loads(capsys.readouterr().out)["results"]
    assert not bad["valid"] and bad["reason"] in ("nan/inf score", "overflow")
    assert good["valid"] and math.isfinite(good["rho"])


# -- model initialisation is independent of order and worker count ---------------------------


@pytest.fixture(scope="module")
def serial_stats():
    """Two small architectures extracted serially, in order: (space, records, batch, stats)."""
    space = get_space("flexibert")
    recs = sorted(space.load_records(None), key=lambda r: space.num_params(r, "as-trained"))[:2]
    batch = space_batch(space.calibration, 2, 16)
    stats = Extractor(space, EXTRACT, batch, progress=False).stats(recs)
    return space, recs, batch, stats


EXTRACT = ExtractConfig("flexibert", "as-trained", seed=3)


def _same(a, b) -> bool:
    return a.n_blocks == b.n_blocks and a.inputs.keys() == b.inputs.keys() and all(
        x[0] == y[0] and x[2] == y[2] and torch.equal(x[1], y[1])
        for k in a.inputs for x, y in zip(a.inputs[k], b.inputs[k], strict=True))


def test_statistics_do_not_depend_on_evaluation_order(serial_stats):
    space, (r1, r2), batch, forward = serial_stats
    assert not _same(forward[0], forward[1])
    torch.manual_seed(12345)  # the global RNG state must not matter either
    backward = Extractor(space, EXTRACT, batch, progress=False).stats([r2, r1])
    assert _same(forward[0], backward[1]) and _same(forward[1], backward[0])


@pytest.mark.slow
def test_statistics_do_not_depend_on_worker_count(serial_stats):
    """Slow (a pool of 2 spawned workers importing torch): the fast suite's
    ``test_workers_default.py::test_the_default_gives_the_results_of_one_worker`` checks the
    same, every FlexiBERT model's statistics byte for byte from 2 pool workers and from one."""
    from lpzero_gp.parallel import make_mapper

    space, recs, batch, serial = serial_stats
    pooled = Extractor(space, EXTRACT, batch, None, make_mapper(workers=2), progress=False).stats(
        recs)
    assert _same(serial[0], pooled[0]) and _same(serial[1], pooled[1])


# -- checkpoint files (no models: a fake, deterministic fitness) -------------------------------


def _fake_score(proxy: str) -> tuple[float, float]:
    """Coarse fitness from a hash of the string: many ties, some invalid."""
    h = int.from_bytes(hashlib.blake2b(proxy.encode(), digest_size=4).digest(), "little")
    if h % 9 == 0:
        return INVALID_FITNESS, float("nan")
    x = round((h % 2001) / 1000 - 1, 1)
    return x, x / 2


def _search(**kw) -> Search:
    cfg = SearchConfig(population=10, offspring=6, evaluations=36, seed=5, **kw)
    return Search(default_pset(), _fake_score, cfg)


def _snapshot(state) -> str:
    """Everything a search state holds, as text (so that nan compares equal to nan)."""
    ind = lambda xs: [(str(i), i.fitness.values, i.tau) for i in xs]  # noqa: E731
    return repr((state.generation, ind(state.population), ind(state.hof),
                 [dict(r) for r in state.logbook], sorted(state.cache.items()), state.counts,
                 sorted(state.invalid)))


def test_checkpoint_is_json_and_round_trips(tmp_path):
    s = _search()
    state = s.step(s.step(s.start()))
    save_checkpoint(state, tmp_path)
    data = json.loads((tmp_path / CHECKPOINT).read_text())  # plain JSON: nothing executes
    assert data["version"] == __version__ and data["generation"] == 2
    assert not list(tmp_path.glob("*.tmp*"))
    fits = [i.fitness.values for i in state.hof]
    assert len(set(fits)) < len(fits), "the hall of fame should hold ties for this test"
    loaded = load_checkpoint(tmp_path, default_pset())
    assert _snapshot(loaded) == _snapshot(state)


def test_resumed_search_equals_uninterrupted(tmp_path):
    whole = _search().run()
    first = _search()
    state = first.step(first.start())
    save_checkpoint(state, tmp_path)
    for _ in range(3):  # RNG and counters move on; the checkpoint must not care
        first.step(state)
    second = _search()
    loaded = load_checkpoint(tmp_path, default_pset())
    second.resume(loaded)
    assert _snapshot(second.run(loaded)) == _snapshot(whole)


@pytest.mark.parametrize(("damage", "fragment"), [
    (lambda p: p.unlink(), "no checkpoint in"),
    (lambda p: p.write_text("not json"), "not a readable lpzero-gp checkpoint"),
    (lambda p: p.write_text("[]"), "not an lpzero-gp checkpoint"),
    (lambda p: _edit_json(p, lambda d: d.update(version="0.0.1")), "lpzero-gp 0.0.1"),
    (lambda p: _edit_json(p, lambda d: d.pop("rng")), "damaged"),
    (lambda p: _edit_json(p, lambda d: d["population"][0].__setitem__(0, "agg_mean(")),
     "damaged"),
])
def test_bad_checkpoints_raise_one_line(tmp_path, damage, fragment):
    s = _search()
    save_checkpoint(s.start(), tmp_path)
    damage(tmp_path / CHECKPOINT)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path, default_pset())
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, CheckpointError)


# -- results folders ---------------------------------------------------------------------------


def test_results_folder_is_all_or_nothing(tmp_path):
    out = tmp_path / "res"
    with pytest.raises(KeyError), ResultsFolder(out) as rf:
        rf.text("a.txt", "half")
        raise KeyError("failure while writing")
    assert list(tmp_path.iterdir()) == []
    with ResultsFolder(out) as rf:
        rf.json("a.json", {"x": 1})
    assert json.loads((out / "a.json").read_text()) == {"x": 1}
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's private 0o700
    with pytest.raises(ResultsError, match="--force"):
        ResultsFolder(out)
    with ResultsFolder(out, force=True) as rf:
        rf.text("b.txt", "new")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["res"]


def test_results_folder_removes_leftovers_of_killed_writers(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".res.partial-{dead}-abc"
    stale.mkdir()
    live = tmp_path / f".res.partial-{os.getppid()}-xyz"
    live.mkdir()
    other = tmp_path / f".other.partial-{dead}-abc"
    other.mkdir()
    with ResultsFolder(tmp_path / "res") as rf:
        rf.text("a.txt", "ok")
    assert not stale.exists() and live.exists() and other.exists()


def test_results_folder_never_replaces_a_file(tmp_path):
    (tmp_path / "res").write_text("x")
    with pytest.raises(ResultsError, match="not a folder"):
        ResultsFolder(tmp_path / "res", force=True)


# -- kills and signals at several moments ------------------------------------------------------


def _start(argv: list) -> subprocess.Popen:
    """A command in a subprocess (with the machine's default torch thread count: statistics
    do not depend on it)."""
    return subprocess.Popen([sys.executable, "-m", "lpzero_gp", *map(str, argv)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the command and its worker processes (its own session), then reap it: a
    worker outliving its parent would hold the stderr pipe open."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def _wait_for(proc: subprocess.Popen, ready, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"run ended before {what}: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.02)


def _generation(out: Path) -> int:
    try:
        return json.loads((checkpoint_of(out) / CHECKPOINT).read_text())["generation"]
    except (OSError, ValueError):
        return -1


@pytest.mark.parametrize("moment", ["extraction",
                                    pytest.param("generation 1", marks=pytest.mark.slow),
                                    pytest.param("generation 3", marks=pytest.mark.slow)])
def test_kill_at_any_moment_resumes_to_identical_results(reference, tmp_path, capsys, moment):
    """No cache at all: the statistics extracted before the kill live in the checkpoint.
    A kill in a generation (slow) takes the paths of the kill during extraction (statistics
    kept in the checkpoint) and of ``test_killed_run_resumes_to_the_same_results`` (a SIGKILL
    after a generation, resumed); resuming after every generation is checked in process by
    ``test_resume_at_every_generation_equals_uninterrupted``."""
    out = tmp_path / "killed"
    proc = _start([*RUN, "--out", out, "--no-cache"])
    try:
        if moment == "extraction":
            stats = checkpoint_of(out) / "stats"
            _wait_for(proc, lambda: len(list(stats.glob("*/*.safetensors"))) >= 3,
                      "three architectures' statistics")
        else:
            gen = int(moment.split()[1])
            _wait_for(proc, lambda: _generation(out) >= gen, moment)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        _kill_group(proc)
    stored = len(list(checkpoint_of(out).glob("stats/*/*.safetensors")))
    assert stored >= 3 and not out.exists()
    assert cli("run", "--resume", out, "--quiet") == 0
    err = capsys.readouterr().err
    assert "resuming" in err, err
    assert results(out) == results(reference)
    built = json.loads((out / "timing.json").read_text())["models_built"]
    assert built == 10 - stored  # nothing extracted before the kill is built again
    assert not checkpoint_of(out).exists() and not list(tmp_path.glob(".*.lock"))


def test_sigterm_keeps_the_checkpoint_and_resumes(reference, cache, tmp_path, capsys):
    out = tmp_path / "terminated"
    proc = _start([*RUN, "--out", out, "--cache-dir", cache])
    try:
        _wait_for(proc, lambda: _generation(out) >= 1, "a checkpoint")
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=120)[1]
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    lines = err.strip().splitlines()
    assert lines[-1] == "error: terminated (SIGTERM)" and "Traceback" not in err, err
    assert f"lpzero-gp run --resume {out}" in err
    assert cli("run", "--resume", out, "--quiet") == 0
    assert results(out) == results(reference)


def test_closed_stdout_ends_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "lpzero_gp", "export", "--proxy",
                             "flexibert-best", "--format", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert proc.returncode == 141 and err == ""


def test_resume_at_every_generation_equals_uninterrupted(tmp_path):
    """Resumed after any generation, the search ends exactly as an uninterrupted one, counts
    and logbook included (proxies found invalid are part of the checkpoint)."""
    def make():  # 8 generations: nothing in the loop depends on the generation's number
        return Search(default_pset(), _fake_score,
                      SearchConfig(population=20, offspring=20, evaluations=160, seed=3))

    whole = make().run()
    assert whole.invalid, "the test needs proxies found invalid"
    s = make()
    state = s.start()
    for g in range(1, whole.generation):
        state = s.step(state)
        save_checkpoint(state, tmp_path)
        again = make()
        loaded = load_checkpoint(tmp_path, default_pset())
        again.resume(loaded)
        assert _snapshot(again.run(loaded)) == _snapshot(whole), f"resumed after {g}"


# -- integrity: tampered checkpoints and cache files ------------------------------------------


def _redigest(path: Path, edit) -> None:
    """Edit a checkpoint and store a matching digest (a deliberate, consistent edit)."""
    from lpzero_gp.search.checkpoint import _digest

    data = json.loads(path.read_text())
    edit(data)
    data["digest"] = _digest(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda d: d["population"][0][1].__setitem__(0, 0.999), "integrity check"),
    (lambda d: d.update(generation=d["generation"] - 1), "integrity check"),
    (lambda d: d["population"].pop(), "integrity check"),
])
def test_resume_refuses_edited_checkpoint(copied_checkpoint, capsys, edit, fragment):
    _edit_json(checkpoint_of(copied_checkpoint) / CHECKPOINT, edit)
    _refused(capsys, ["run", "--resume", copied_checkpoint, "--quiet"], fragment)


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda d: d["population"].pop(), "population of 7"),
    (lambda d: d.update(generation=1), "logbook does not match"),
    (lambda d: d["rng"]["python"][1].pop(), "truncated Python RNG state"),
    (lambda d: d["rng"].update(torch=d["rng"]["torch"][:40]), "truncated torch RNG state"),
    (lambda d: d["population"][0].__setitem__(1, ["x"]), "damaged"),
    (lambda d: d["meta"].update(key="another run"), "belongs to another run"),
])
def test_resume_refuses_inconsistent_checkpoint(copied_checkpoint, capsys, edit, fragment):
    _redigest(checkpoint_of(copied_checkpoint) / CHECKPOINT, edit)
    _refused(capsys, ["run", "--resume", copied_checkpoint, "--quiet"], fragment)


def test_resume_refuses_deeply_nested_checkpoint(copied_checkpoint, capsys):
    (checkpoint_of(copied_checkpoint) / CHECKPOINT).write_text("[" * 100_000 + "]" * 100_000)
    _refused(capsys, ["run", "--resume", copied_checkpoint, "--quiet"], "checkpoint")


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) - 200, len(data) - 190):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _swap(a: Path, b: Path) -> None:
    tmp = a.with_suffix(".swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def _nan(path: Path) -> None:
    """A NaN written into one stored tensor, the file otherwise intact (digest unchanged)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    tensors["W.0"][0, 0] = float("nan")
    save_file(tensors, str(path), metadata=meta)


#: Each way a cache entry gets damaged, applied to its own entries (a swap damages two).
DAMAGES = ("flipped bytes", "nan tensor", "wrong structure", "truncated", "replaced by a folder",
           "swapped files")


def _damage(files: list[Path], damage: str) -> None:
    if damage == "flipped bytes":
        _flip(files[0])
    elif damage == "swapped files":
        _swap(files[0], files[1])
    elif damage == "nan tensor":
        _nan(files[0])
    elif damage == "wrong structure":
        torch.save([1, 2, 3], files[0])
    elif damage == "replaced by a folder":
        files[0].unlink()
        (files[0] / "inside").mkdir(parents=True)
    else:
        files[0].write_bytes(files[0].read_bytes()[:100])


def test_damaged_cache_entries_are_recomputed(reference, cache, tmp_path, capsys):
    """Every kind of damage in one run, each on entries of its own: a damage that went unseen
    would leave its entry unrebuilt (fewer models built) or change the results."""
    own = tmp_path / "cache"
    shutil.copytree(cache, own)
    files = sorted(own.glob("*/*.safetensors"))
    assert len(files) == 10
    for i, damage in enumerate(DAMAGES):
        _damage(files[i:], damage)
    out = tmp_path / "run"
    assert cli(*RUN, "--out", out, "--cache-dir", own) == 0
    err = capsys.readouterr().err
    assert "damaged" in err and "recomputing" in err, err
    assert results(out) == results(reference)
    rebuilt = len(DAMAGES) + 1  # the swap damages two entries
    assert json.loads((out / "timing.json").read_text())["models_built"] == rebuilt
    counted = re.findall(r"(\d+) statistics cache entr(?:y|ies) in .* damaged", err)
    assert sum(map(int, counted)) == rebuilt, err  # the warnings count every damaged entry


# -- concurrency and full disks -----------------------------------------------------------------


def test_second_run_on_a_locked_results_folder_is_refused(cache, tmp_path, capsys):
    out = tmp_path / "busy"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom lpzero_gp.lock import FolderLock\n"
         "with FolderLock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)",
         str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        _refused(capsys, [*RUN, "--out", out, "--cache-dir", cache], "in use by another",
                 f"process {holder.pid}")
        _refused(capsys, ["eval", "--archs", "6", "--batch-size", "2", "--seq-len", "16",
                          "--cache-dir", cache, "--quiet", "--proxy", "params", "--out", out],
                 "in use by another")
    finally:
        holder.kill()
        holder.wait()
    assert not out.exists()
    # a dead holder locks nothing (one generation shows it)
    assert cli(*RUN, "--evaluations", "8", "--out", out, "--cache-dir", cache) == 0


def test_two_concurrent_runs_never_replace_each_other(cache, tmp_path):
    out = tmp_path / "same"
    # one generation: the lock is taken before the search
    procs = [_start([*RUN, "--evaluations", "8", "--out", out, "--cache-dir", cache])
             for _ in range(2)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], errs
    refused = errs[[p.returncode for p in procs].index(2)]
    assert refused.strip().splitlines()[-1].startswith("error: ")


def _full_disk(path, data) -> None:
    """An atomic write on a disk that fills up half-way through the file."""
    from lpzero_gp.atomic import atomic_write

    def write(f):
        f.write(data[:64] if isinstance(data, bytes) else json.dumps(data)[:64].encode())
        raise OSError(28, "No space left on device")

    atomic_write(path, write)


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".tmp" in p.name or ".partial-" in p.name]


@pytest.mark.parametrize("where", ["cache", "checkpoint folder"])
def test_full_disk_for_statistics_is_one_line(tmp_path, capsys, monkeypatch, where):
    import lpzero_gp.stats.store as store

    monkeypatch.setattr(store, "atomic_bytes", _full_disk)
    own = tmp_path / "cache"
    out = tmp_path / "run"
    where_args = ["--cache-dir", own] if where == "cache" else ["--no-cache"]
    _refused(capsys, [*RUN, "--out", out, *where_args], "No space left on device",
             str(own) if where == "cache" else str(checkpoint_of(out)))
    assert _no_temp_files(tmp_path) and not out.exists()


def test_full_disk_for_checkpoints_is_one_line(cache, tmp_path, capsys, monkeypatch):
    import lpzero_gp.search.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "atomic_json", _full_disk)
    out = tmp_path / "run"
    _refused(capsys, [*RUN, "--out", out, "--cache-dir", cache], "No space left on device",
             str(checkpoint_of(out) / CHECKPOINT))
    assert _no_temp_files(tmp_path) and not out.exists()


def test_full_disk_for_results_keeps_the_checkpoint(reference, cache, tmp_path, capsys,
                                                    monkeypatch):
    def full(self, name, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ResultsFolder, "json", full)
    out = tmp_path / "run"
    err = _refused(capsys, [*RUN, "--out", out, "--cache-dir", cache],
                   "No space left on device", str(out))
    assert _no_temp_files(tmp_path) and not out.exists()
    assert f"lpzero-gp run --resume {out}" in err
    monkeypatch.undo()
    assert cli("run", "--resume", out, "--quiet") == 0  # the finished search is not redone
    assert results(out) == results(reference)


@pytest.fixture
def small_filesystem(tmp_path):
    """A 256 KiB tmpfs, where the machine lets tests mount one (root with the capability)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small filesystem here (the simulated ENOSPC tests cover it)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_really_full_cache_filesystem_is_one_line(small_filesystem, tmp_path, capsys):
    cache_dir = small_filesystem / "cache"
    out = tmp_path / "run"
    _refused(capsys, [*RUN, "--out", out, "--cache-dir", cache_dir],
             "No space left on device", str(cache_dir))
    assert _no_temp_files(small_filesystem) and _no_temp_files(tmp_path) and not out.exists()
