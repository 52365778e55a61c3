"""``run --objective pareto``: NSGA-II survivors on (rho, cost class, size), the front it writes,
determinism and resume; and the ``rho`` default left as it was.

The end-to-end runs use a small GPT-2 sample (6 search and 4 held-out architectures, batch
2 x 16, population 8, 8 offspring, 3 generations, plain rho fitness) and the session's
statistics cache (tests/conftest.py ``stats_cache``), which the first of them fills.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest
from run_check import cli, results
from toy import toy_family

from lpzero_gp.primitives import make_pset
from lpzero_gp.score.information import COSTS
from lpzero_gp.score.scoring import Scorer, score_stats
from lpzero_gp.search import Search, SearchConfig, checkpoint_info, load_checkpoint
from lpzero_gp.search.loop import OBJECTIVE_WEIGHTS, objectives, pareto_front
from lpzero_gp.search.operators import select_elitist_tournament, select_nsga2
from lpzero_gp.stats.store import Dataset
from lpzero_gp.workflows.front import COLUMNS, TOLERANCE, cheapest_within, class_seconds

#: On one worker with the other users of the session's statistics cache (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("stats-cache")

PSET = make_pset()
PLANTED = "agg_mean(add(fro(G), mean(abs(A))))"
RUN = ["run", "--space", "gpt2", "--search-archs", "6", "--heldout", "4", "--batch-size", "2",
       "--seq-len", "16", "--population", "8", "--offspring", "8", "--evaluations", "24",
       "--fitness", "rho", "--quiet"]
_RANK = {name: i for i, (name, _) in enumerate(COSTS)}




def _dominates(a: tuple, b: tuple) -> bool:
    """a dominates b: no worse in every objective (weights say which way), better in one."""
    wa = [w * x for w, x in zip(OBJECTIVE_WEIGHTS, a, strict=True)]
    wb = [w * x for w, x in zip(OBJECTIVE_WEIGHTS, b, strict=True)]
    return all(x >= y for x, y in zip(wa, wb, strict=True)) and wa != wb


# -- the engine: a toy search -----------------------------------------------------------------


@pytest.fixture(scope="module")
def planted():
    stats = toy_family(12)
    return Dataset.from_stats(stats), score_stats(PLANTED, stats)


def _search(planted, **kw) -> Search:
    ds, truth = planted
    cfg = {"population": 20, "offspring": 20, "evaluations": 120, "seed": 3, **kw}
    return Search(PSET, Scorer(ds, truth), SearchConfig(**cfg))


def _summary(state) -> tuple:
    return ([str(i) for i in state.population], [i.fitness.values for i in state.population],
            [str(i) for i in state.hof], list(state.logbook), state.generation)


@pytest.fixture(scope="module")
def pareto_state(planted):
    return _search(planted, objective="pareto").run()


def test_pareto_search_selects_by_nsga2_and_keeps_a_non_dominated_front(planted, pareto_state):
    search = _search(planted, objective="pareto")
    assert search.toolbox.select.func is select_nsga2
    front = pareto_front([*pareto_state.population, *pareto_state.hof])
    assert front
    vectors = [objectives(ind) for ind in front]
    for i, a in enumerate(vectors):
        assert all(not _dominates(b, a) for j, b in enumerate(vectors) if j != i)
    # the best search rho of the population is on the front
    assert max(v[0] for v in vectors) == max(i.fitness.values[0] for i in pareto_state.population)
    # cheaper classes than backward survive: the cost objective does something
    assert min(v[1] for v in vectors) < _RANK["backward"]


def test_invalid_proxies_never_sit_on_the_front(planted, pareto_state):
    from lpzero_gp.score.fitness import INVALID_FITNESS

    bad = _search(planted).toolbox.clone(pareto_state.population[0])
    bad.fitness.values = (INVALID_FITNESS,)
    front = pareto_front([bad, *pareto_state.population])
    assert all(ind is not bad for ind in front)
    assert all(objectives(ind)[0] >= -1.0 for ind in front)


def test_pareto_search_is_deterministic(planted, pareto_state):
    assert _summary(_search(planted, objective="pareto").run()) == _summary(pareto_state)


def test_pareto_search_resumes_to_the_same_result(planted, pareto_state, tmp_path):
    class Stop(Exception):
        pass

    def stop_after_two(state):
        if state.generation == 2:
            raise Stop

    with pytest.raises(Stop):
        _search(planted, objective="pareto").run(progress=stop_after_two,
                                                  checkpoint_dir=tmp_path)
    loaded = load_checkpoint(tmp_path, PSET)
    assert loaded.generation == 2 and loaded.meta["config"]["objective"] == "pareto"
    again = _search(planted, objective="pareto")
    again.resume(loaded)
    assert _summary(again.run(loaded)) == _summary(pareto_state)


def test_rho_default_keeps_the_elitist_tournament(planted, pareto_state):
    default = _search(planted)
    assert SearchConfig().objective == "rho"
    assert default.toolbox.select.func is select_elitist_tournament
    rho = default.run()
    assert _summary(rho) == _summary(_search(planted, objective="rho").run())
    assert _summary(rho) != _summary(pareto_state)


def test_unknown_objective_is_refused():
    with pytest.raises(ValueError, match="^objective must be"):
        SearchConfig(objective="cost").validate()


# -- the front table --------------------------------------------------------------------------


def test_class_seconds_follow_the_cost_class():
    cost = {"n": 5, "build": 0.5, "statistics": 1.5}
    assert [class_seconds(c, cost) for c, _ in COSTS] == [0.0, 0.5, 2.0, 2.0]
    assert class_seconds("config", {"n": 0}) == 0.0
    assert math.isnan(class_seconds("forward", {"n": 0}))


def test_cheapest_within_the_tolerance_of_the_best():
    rows = [
        {"proxy": "b", "heldout_rho": 0.90, "cost": "backward", "seconds_per_arch": 2.0,
         "size": 9},
        {"proxy": "f", "heldout_rho": 0.90 - TOLERANCE / 2, "cost": "forward",
         "seconds_per_arch": 2.0, "size": 12},
        {"proxy": "w", "heldout_rho": 0.80, "cost": "weights", "seconds_per_arch": 0.5,
         "size": 3},
        {"proxy": "n", "heldout_rho": float("nan"), "cost": "weights",
         "seconds_per_arch": 0.5, "size": 2},
    ]
    assert cheapest_within(rows)["proxy"] == "f"
    assert cheapest_within(rows, tolerance=0.2)["proxy"] == "w"
    assert cheapest_within(rows[3:]) is None


# -- end to end: lpzero-gp run --objective pareto -------------------------------------------


@pytest.fixture(scope="module")
def pareto_run(tmp_path_factory, stats_cache) -> Path:
    out = tmp_path_factory.mktemp("pareto") / "run"
    assert cli(*RUN, "--objective", "pareto", "--out", out, "--cache-dir", stats_cache,
                "--keep-checkpoint") == 0
    return out


def test_run_writes_a_non_dominated_front(pareto_run):
    with open(pareto_run / "front.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and tuple(rows[0]) == COLUMNS
    vectors = [(float(r["search_rho"]), _RANK[r["cost"]], int(r["size"])) for r in rows]
    for i, a in enumerate(vectors):
        assert all(not _dominates(b, a) for j, b in enumerate(vectors) if j != i), rows
    assert (pareto_run / "front.png").stat().st_size > 0
    summary = json.loads((pareto_run / "summary.json").read_text())
    front = summary["front"]
    assert [r["proxy"] for r in front["rows"]] == [r["proxy"] for r in rows]
    pick = front["cheapest_within"]
    assert pick["heldout_rho"] >= front["best_heldout_rho"] - TOLERANCE
    config = json.loads((pareto_run / "config.json").read_text())
    assert config["search"]["objective"] == "pareto"
    assert checkpoint_info(pareto_run.parent / ".run.checkpoint")["config"]["objective"] == \
        "pareto"
    assert "cheapest within 0.01 held-out rho" in (pareto_run / "summary.md").read_text()


def test_pareto_run_is_byte_identical(pareto_run, stats_cache, tmp_path):
    out = tmp_path / "twin"
    assert cli(*RUN, "--objective", "pareto", "--out", out, "--cache-dir", stats_cache) == 0
    assert results(out) == results(pareto_run)


def test_pareto_run_resumes_from_its_checkpoint(pareto_run, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(pareto_run.parent / ".run.checkpoint", tmp_path / ".again.checkpoint")
    assert cli("run", "--resume", out, "--out", out, "--quiet") == 0
    assert results(out) == results(pareto_run)


def test_resume_refuses_another_objective(pareto_run, capsys):
    assert cli("run", "--resume", pareto_run, "--objective", "rho", "--quiet") == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--objective rho differs from the checkpoint's pareto" in last


def test_rho_default_is_unchanged(pareto_run, stats_cache, tmp_path):
    default, explicit = tmp_path / "default", tmp_path / "rho"
    assert cli(*RUN, "--out", default, "--cache-dir", stats_cache) == 0
    assert cli(*RUN, "--objective", "rho", "--out", explicit, "--cache-dir", stats_cache) == 0
    assert results(default) == results(explicit)
    assert not (default / "front.csv").exists() and not (default / "front.png").exists()
    assert "front" not in json.loads((default / "summary.json").read_text())
    assert (default / "log.csv").read_bytes() != (pareto_run / "log.csv").read_bytes()


def test_eval_scores_a_whole_front(pareto_run, stats_cache, tmp_path):
    """``eval --proxy front.csv`` scores every proxy of the front, in the front's order."""
    with open(pareto_run / "front.csv", newline="") as f:
        front = list(dict.fromkeys(r["proxy"] for r in csv.DictReader(f)))
    out = tmp_path / "front-eval"
    assert cli("eval", "--space", "gpt2", "--archs", "4", "--batch-size", "2", "--seq-len",
                "16", "--proxy", pareto_run / "front.csv", "--proxy", "params", "--quiet",
                "--cache-dir", stats_cache, "--out", out) == 0
    rows = json.loads((out / "summary.json").read_text())["results"]
    assert [r["proxy"] for r in rows][:len(front) + 1] == [*front, "params"]


@pytest.mark.parametrize("text, says", [
    ("proxy,rho\n", "needs a 'proxy' column and at least one row"),
    ("name,rho\nx,1\n", "needs a 'proxy' column"),
    ("proxy,rho\n,0.5\n", "row 2 has no proxy"),
])
def test_a_bad_front_table_is_one_line(tmp_path, capsys, text, says):
    bad = tmp_path / "front.csv"
    bad.write_text(text)
    assert cli("eval", "--space", "gpt2", "--archs", "4", "--proxy", bad, "--quiet") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]
