"""One proxy searched for several spaces: ``run --space flexibert --space gpt2``.

Tiny runs (4 search and 3 held-out architectures per space at batch 2 x 16) share the session's
statistics cache (tests/conftest.py ``stats_cache``), so the models are built once (most of the
time: the first run builds 14 models). The combined fitness is
checked against each space's search rho computed on its own, and the report against the
rows it promises (free rows, the space's own shipped proxy, paired P-values).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lpzero_gp.cli import main
from lpzero_gp.score.fitness import COMBINE, CombinedFitness, combine
from lpzero_gp.workflows.context import evaluate_proxy, load
from lpzero_gp.workflows.options import RunOptions
from lpzero_gp.workflows.optionspec import RUN_SPECS
from lpzero_gp.workflows.runstate import _records

#: On one worker with the other users of the session's statistics cache (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("stats-cache")

SMALL = ["--search-archs", "4", "--heldout", "3", "--batch-size", "2", "--seq-len", "16",
         "--population", "8", "--offspring", "8", "--evaluations", "16", "--quiet",
         "--workers", "1", "--fitness", "rho"]
TWO = ["run", "--space", "flexibert", "--space", "gpt2", *SMALL]
#: The one results file that may differ between identical runs.
VARYING = {"timing.json"}


def _run(out: Path, cache: Path, *extra: str) -> dict[str, bytes]:
    assert main([*TWO, "--cache-dir", str(cache), "--out", str(out), *extra]) == 0
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.fixture(scope="module")
def worst(tmp_path_factory, stats_cache) -> Path:
    out = tmp_path_factory.mktemp("runs") / "worst"
    _run(out, stats_cache, "--keep-checkpoint")
    return out


def _per_space_search_rho(proxy: str, cache: Path) -> dict[str, float]:
    """The search rho of ``proxy`` on each space, scored on that space alone."""
    opts = RunOptions(space=("flexibert", "gpt2"), search_archs="4", heldout="3",
                      batch_size=2, seq_len=16, cache_dir=str(cache), quiet=True, workers=1)
    out = {}
    for ctx in opts.contexts():
        loaded = load(ctx)
        search, _, _ = _records(loaded, opts, ctx.seed)
        out[ctx.space] = evaluate_proxy(loaded, proxy, search, labelled=False).result.rho
    return out


def test_worst_is_the_minimum_of_the_spaces_rhos(worst, stats_cache):
    summary = json.loads((worst / "summary.json").read_text())
    assert summary["spaces"] == ["flexibert", "gpt2"] and summary["combine"] == "worst"
    alone = _per_space_search_rho(summary["proxy"], stats_cache)
    for name, rho in alone.items():
        assert summary["per_space"][name]["search"]["rho"] == pytest.approx(rho, abs=1e-12)
    assert summary["search"]["fitness"] == pytest.approx(min(alone.values()), abs=1e-12)


def test_mean_is_the_mean_of_the_spaces_rhos(tmp_path, stats_cache):
    _run(tmp_path / "mean", stats_cache, "--combine", "mean")
    summary = json.loads((tmp_path / "mean" / "summary.json").read_text())
    assert summary["combine"] == "mean"
    alone = _per_space_search_rho(summary["proxy"], stats_cache)
    assert summary["search"]["fitness"] == pytest.approx(np.mean(list(alone.values())),
                                                         abs=1e-12)


def test_the_report_has_every_row_per_space(worst, capsys):
    summary = json.loads((worst / "summary.json").read_text())
    for name, entry in summary["per_space"].items():
        held = entry["heldout"]
        assert held["n"] == 3 and "ci" in held and "ci_reason" in held
        rows = entry["baselines_heldout"]
        assert entry["free"]["best_feature"] in rows and "config-formula" in rows
        assert entry["own_proxy"] == f"{name}-best" and f"{name}-best" in rows
        compared = {c["b"] for c in entry["comparisons"]}
        assert compared == set(rows) and all(c["a"] == "cross proxy"
                                             for c in entry["comparisons"])
        for c in entry["comparisons"]:  # a P-value, or the reason there is none
            assert c["reason"] or 0.0 <= c["p_le_zero"] <= 1.0
    md = (worst / "summary.md").read_text()
    assert "## flexibert" in md and "## gpt2" in md and "cross proxy vs gpt2-best" in md
    best = json.loads((worst / "best.json").read_text())
    assert set(best["heldout"]) == {"flexibert", "gpt2"}
    scores = (worst / "heldout_scores.csv").read_text().splitlines()
    assert scores[0].startswith("space,") and len(scores) == 1 + 2 * 3
    for name in ("flexibert", "gpt2"):  # one rank plot per space, as a one-space run draws
        assert (worst / f"score_vs_truth_{name}.png").read_bytes().startswith(b"\x89PNG")


def test_seeded_runs_are_identical_and_resume_finishes_the_same(worst, tmp_path, stats_cache):
    again = _run(tmp_path / "again", stats_cache)
    first = {p.name: p.read_bytes() for p in sorted(worst.iterdir())}
    assert first.keys() == again.keys()
    for name in first.keys() - VARYING:
        assert first[name] == again[name], name
    # the kept checkpoint of the finished search writes the same results again
    resumed = tmp_path / "resumed"
    ckpt = worst.parent / f".{worst.name}.checkpoint"
    assert main(["run", "--resume", str(ckpt), "--out", str(resumed), "--quiet"]) == 0
    for name in first.keys() - VARYING:
        assert first[name] == (resumed / name).read_bytes(), name


def test_one_space_is_a_one_space_run():
    assert RunOptions(space=["gpt2"]).space == "gpt2" == RunOptions(space="gpt2").space
    assert RunOptions().space == "flexibert" and RunOptions().spaces == ("flexibert",)
    assert RunOptions(space=["gpt2", "flexibert"]).space == ("gpt2", "flexibert")
    assert RUN_SPECS["combine"].choices == COMBINE


@pytest.mark.parametrize(("args", "words"), [
    (["--space", "nosuch", "--space", "gpt2"], "nosuch"),
    (["--space", "gpt2", "--space", "gpt2"], "--space: gpt2 is given twice"),
    (["--space", "gpt2", "--combine", "mean"], "--combine mean combines several spaces"),
    (["--space", "gpt2", "--space", "flexibert", "--objective", "pareto"],
     "--objective pareto searches one space"),
])
def test_bad_input_is_one_line_and_exit_2(args, words, tmp_path, capsys):
    assert main(["run", *args, *SMALL, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not (tmp_path / "out").exists()


class _Fixed:
    """A scorer of fixed (fitness, tau) per proxy."""

    def __init__(self, values: dict[str, tuple[float, float]]):
        self.values = values

    def __call__(self, proxy):
        return self.values[proxy]


def test_combined_fitness():
    a = _Fixed({"p": (0.5, 0.4), "q": (-2.0, math.nan)})
    b = _Fixed({"p": (-0.1, -0.2), "q": (0.9, 0.8)})
    assert CombinedFitness([a, b], "worst")("p") == (-0.1, -0.2)
    assert CombinedFitness([a, b], "mean")("p") == pytest.approx((0.2, 0.1))
    assert CombinedFitness([a, b], "mean")("q")[0] == -2.0  # invalid on one space: invalid
    assert combine([0.3, -1.5, 0.9], "mean") == -1.5
    assert not CombinedFitness([a], "worst").signed and CombinedFitness([a], "mean").signed


def _individual(text: str):
    from deap import creator, gp

    from lpzero_gp.primitives import make_pset
    from lpzero_gp.proxy.parse import parse_tree

    return creator.ProxyTree(gp.PrimitiveTree(parse_tree(text, make_pset())))


@pytest.mark.parametrize("signed", [True, False])
def test_a_fitness_that_does_not_flip_is_kept_per_sign(signed):
    """A proxy and its negation share a canonical key. The worst of two rhos does not flip
    with the sign: min(0.5, -0.1) for one is -0.1, for the other min(-0.5, 0.1) = -0.5, not
    +0.1. A search told so scores each; a signed one reuses the key's fitness negated."""
    from lpzero_gp.primitives import make_pset
    from lpzero_gp.search import Search, SearchConfig

    plain, negated = (str(_individual(t)) for t in ("agg_mean(mean(A))",
                                                    "agg_mean(mean(neg(A)))"))
    a = _Fixed({plain: (0.5, 0.0), negated: (-0.5, 0.0)})
    b = _Fixed({plain: (-0.1, 0.0), negated: (0.1, 0.0)})
    fitness = CombinedFitness([a, b], "worst")
    search = Search(make_pset(), fitness, SearchConfig(population=4, offspring=2,
                                                       evaluations=2), signed=signed)
    first, second = _individual("agg_mean(mean(A))"), _individual("agg_mean(mean(neg(A)))")
    search.evaluate_population([first])
    search.evaluate_population([second])
    assert first.fitness.values[0] == -0.1
    assert second.fitness.values[0] == (0.1 if signed else -0.5)


#: ``python -m lpzero_gp ARGV...`` held asleep when its search is about to start generation
#: GENERATION (``python -c _HELD GENERATION ARGV...``), the checkpoint of the one before
#: written; it says ``held`` on stdout. A signal then stops it at a known point, not a race.
_HELD = ("import sys, time\nfrom lpzero_gp.cli import main\nfrom lpzero_gp.search import Search\n"
         "step = Search.step\n"
         "def held(self, state):\n"
         "    if state.generation == int(sys.argv[1]):\n"
         "        print('held', flush=True)\n"
         "        time.sleep(300)\n"
         "    return step(self, state)\n"
         "Search.step = held\n"
         "sys.exit(main(sys.argv[2:]))\n")


def test_a_run_stopped_mid_search_resumes_to_the_uninterrupted_results(worst, tmp_path,
                                                                       stats_cache):
    """SIGTERM after the first of two generations of a two-space search (statistics cached):
    the checkpoint resumes to exactly the files of the same run left alone (``worst``)."""
    import signal
    import subprocess
    import sys
    import threading

    from lpzero_gp.search.checkpoint import CHECKPOINT

    out = tmp_path / "stopped"
    ckpt = out.parent / f".{out.name}.checkpoint" / CHECKPOINT
    proc = subprocess.Popen([sys.executable, "-c", _HELD, "1", *TWO, "--cache-dir",
                             str(stats_cache), "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    watchdog = threading.Timer(180, proc.kill)  # a run never held fails; it does not hang
    watchdog.start()
    try:
        said = proc.stdout.readline()  # blocks until held (or the command ended: "")
        assert said == "held\n", proc.communicate(timeout=60)
        assert json.loads(ckpt.read_text())["generation"] == 1
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=120)[1]
    finally:
        watchdog.cancel()
        proc.kill()
    assert proc.returncode == 143 and not out.exists(), err
    assert err.strip().splitlines()[-1] == "error: terminated (SIGTERM)", err
    assert main(["run", "--resume", str(out), "--quiet"]) == 0
    whole = {p.name: p.read_bytes() for p in sorted(worst.iterdir())}
    resumed = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert resumed.keys() == whole.keys()
    for name in whole.keys() - VARYING:
        assert resumed[name] == whole[name], name
