"""Reports that say enough: why an interval is missing or degenerate, a searched proxy that loses
to a free row, the search's counters and diversity per generation, one rule for the best proxy
in every file, and where an interrupted run's statistics are.

The end-to-end checks share one tiny GPT-2 run (6 search and 6 held-out architectures, batch
2 x 16, population 8, 3 generations of 8 offspring) and its statistics cache.
"""

from __future__ import annotations

import csv
import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from deap import tools
from run_check import cli, interrupt_at
from toy import toy_family

from lpzero_gp.primitives import make_pset
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.score.correlate import (
    MIN_INTERVAL,
    bootstrap_reason,
    controlled,
    interval_reason,
)
from lpzero_gp.score.fitness import bootstrap_ci
from lpzero_gp.search import Search, SearchConfig
from lpzero_gp.search.checkpoint import LOG_HEADER
from lpzero_gp.search.loop import best_individual
from lpzero_gp.spaces import get_space
from lpzero_gp.workflows.context import best_proxy
from lpzero_gp.workflows.report import PROGRESS_KEY, ci_text, free_line, versus_free
from lpzero_gp.workflows.run import summary_lines
from lpzero_gp.workflows.runstate import _kept_line

#: On one worker with the other users of the session's statistics cache (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("stats-cache")

TINY = ["--batch-size", "2", "--seq-len", "16"]
RUN = ["run", "--space", "gpt2", "--search-archs", "6", "--heldout", "6", *TINY,
       "--population", "8", "--offspring", "8", "--evaluations", "24"]



# -- 1. missing and degenerate intervals say why -----------------------------------------------


def test_interval_reasons():
    t = np.arange(8.0)
    ci = bootstrap_ci(t, t)  # a perfect ranking: the BCa interval is undefined
    assert math.isnan(ci["rho"][0])
    assert bootstrap_reason(ci, t, t, {"rho": 1.0, "tau": 1.0}).startswith("perfect ranking")
    four, scores = np.arange(4.0), np.array([0, 2, 1, 3.0])
    assert MIN_INTERVAL == 6
    assert bootstrap_reason(bootstrap_ci(scores, four), scores, four,
                            {"rho": 0.8, "tau": 0.67}) == "n = 4: too few for an interval"
    assert interval_reason((0.2, 0.9), 0.5, 8) == ""  # a proper interval
    assert interval_reason(None, 0.5, 40) == ""  # none asked for
    assert interval_reason((1.0, 1.0), 1.0, 8).startswith("degenerate: zero width")
    assert interval_reason(None, float("nan"), 8, "constant scores") == "constant scores"
    ties = interval_reason((float("nan"),) * 2, 0.9, 8, distinct=3)
    assert ties == "ties (3 distinct values among 8): some resamples are constant"
    # the group variable ranks nothing within its own groups: a zero-width interval, flagged
    groups = np.array([1, 1, 1, 1, 2, 2, 2, 2.0])
    truth = np.array([1, 3, 2, 4, 5, 8, 7, 6.0])
    row = controlled(groups, truth, None, groups, None, "layers")
    assert row["within"]["ci"] == [0.0, 0.0]
    assert row["within"]["ci_reason"].startswith("degenerate: zero width")
    assert row["partial"]["ci_reason"] == ""


def test_printed_intervals_say_why_they_are_missing():
    nan = (float("nan"), float("nan"))
    text = ci_text({"rho": nan, "tau": nan}, ("rho", "tau"), "n = 4: too few for an interval")
    assert text == "rho 95% CI none  tau 95% CI none (n = 4: too few for an interval)"
    assert "[-, -]" not in text
    ctrl = {"partial": {"given": "params", "rho": 0.5, "ci": [float("nan")] * 2, "reason": "",
                        "ci_reason": "n = 4: too few for an interval"},
            "within": {"by": "layers", "rho": 1.0, "ci": [1.0, 1.0], "reason": "",
                       "ci_reason": "degenerate: zero width, the resamples of n = 8 do not "
                                    "vary it"}}
    summary = {"space": "gpt2", "variant": "default", "semantics": "intended", "truth": "t",
               "proxy": "p", "search": {"n": 4, "rho": 0.8, "tau": 0.6,
                                        "ci": {"rho": nan, "tau": nan},
                                        "ci_reason": "n = 4: too few for an interval",
                                        "note": None, "missing": []},
               "heldout": {"split": "validation", "n": 8, "rho": 0.2, "tau": 0.1,
                           "ci": {"rho": [0.1, 0.3], "tau": [0.0, 0.2]}, "ci_reason": "",
                           "note": None, "missing": [], **ctrl},
               "baselines_heldout": {}, "free": {"comparisons": []}, "verdict": "v"}

    class Ex:
        loaded = built = 0

    text = "\n".join(summary_lines(summary, Ex(), "out", 1.0))
    assert "(rho 95% CI none (n = 4: too few for an interval))" in text
    assert "partial|params 0.500 (no interval: n = 4: too few for an interval)" in text
    assert "within layers 1.000 [1.000, 1.000] (degenerate: zero width" in text


@pytest.fixture
def twenty(tmp_path) -> Path:
    path = tmp_path / "twenty.json"
    path.write_text(json.dumps([r.raw for r in get_space("gpt2").load_records(None)[:20]]))
    return path


def test_eval_prints_and_stores_why_an_interval_is_missing(twenty, capsys):
    argv = ["eval", "--space", "gpt2", "--benchmark", twenty, "--archs", "4", "--proxy",
            "params", "--proxy", "d_model", "--quiet"]
    assert cli(*argv) == 0
    out = capsys.readouterr().out
    assert "[-, -]" not in out
    assert out.count("tau 95% CI none (n = 4: too few for an interval)") == 2
    assert cli(*argv, "--json") == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [r["ci_reason"] for r in rows] == ["n = 4: too few for an interval"] * 2
    assert all("ci_reason" in r["partial"] and "ci_reason" in r["within"] for r in rows)


# -- 2. a searched proxy that loses to a free row ----------------------------------------------


def test_a_proxy_that_loses_to_a_free_row_gets_one_line():
    base = {"params": {"rho": 0.833}, "layers": {"rho": 0.5}, "paper-proxy": {"rho": 0.95},
            "config-formula": {"rho": float("nan")}}
    paired = [{"b": "params", "reason": "", "p_le_zero": 0.912},
              {"b": "config-formula", "reason": "B: constant scores", "p_le_zero": float("nan")}]
    entry = versus_free(0.738, base, ["params", "layers", "config-formula"], paired)
    assert entry == {"best_free": "params", "rho_best_free": 0.833, "rho_proxy": 0.738,
                     "beats": False, "p_le_zero": 0.912}  # not the (statistics) paper proxy
    assert free_line(entry) == ("the searched proxy does not beat the free row params on "
                                "held-out: Spearman 0.738 vs 0.833; paired bootstrap "
                                "P(Δrho ≤ 0) = 0.912")
    no_p = versus_free(0.738, base, ["params", "layers"], [])
    assert no_p["p_le_zero"] is None and "paired" not in free_line(no_p)  # no invented figure
    assert free_line(versus_free(0.9, base, ["params", "layers"], paired)) is None
    assert "invalid" in free_line(versus_free(float("nan"), base, ["params"], paired))
    assert versus_free(0.5, base, ["config-formula"]) == {}


# -- 3. and 4.: the search's counters per generation, one best-proxy rule ----------------------


def _tied_search(**kw) -> Search:
    """A search where every valid proxy ties (fitness 0.5): the tie-break decides the best."""
    cfg = SearchConfig(population=12, offspring=12, evaluations=48, seed=5, **kw)
    return Search(make_pset(), _tie, cfg)


def _tie(proxy: str) -> tuple[float, float]:
    return 0.5, 0.5


def test_ties_are_broken_by_one_rule_in_every_row():
    s = _tied_search()
    rows: list[str] = []
    state = s.start()
    rows.append(format_tree(best_individual(state.hof)))
    while state.generation < s.config.generations:
        state = s.step(state)
        rows.append(format_tree(best_individual(state.hof)))
    assert [r["best_proxy"] for r in state.logbook] == rows
    assert rows[-1] == format_tree(state.hof[0]) == best_proxy(state)[0]


def test_logbook_counts_hits_regenerations_and_diversity():
    s = _tied_search()
    state = s.run()
    log = list(state.logbook)
    assert list(log[0]) == LOG_HEADER
    assert sum(r["nevals"] for r in log) == s.stats_counts["evaluated"]
    assert sum(r["cache_hits"] for r in log) == s.stats_counts["cache_hits"]
    assert sum(r["regenerated"] for r in log) == s.stats_counts["regenerated"]
    assert log[0]["distinct"] == 12  # the initial population holds no duplicate
    assert all(1 <= r["distinct"] <= 12 for r in log)


def test_the_progress_columns_change_nothing_of_the_search(monkeypatch):
    import lpzero_gp.search.loop as loop

    stats = toy_family(8)
    from lpzero_gp.score.scoring import Scorer, score_stats
    from lpzero_gp.stats.store import Dataset

    truth = score_stats("agg_mean(add(fro(G), mean(abs(A))))", stats)
    cfg = SearchConfig(population=10, offspring=10, evaluations=40, seed=3)

    def outcome():
        state = Search(make_pset(), Scorer(Dataset.from_stats(stats), truth), cfg).run()
        return ([str(i) for i in state.population], [str(i) for i in state.hof],
                [i.fitness.values for i in state.hof])

    with_columns = outcome()
    monkeypatch.setattr(loop, "_progress", lambda pop, hof, before, after: {})
    assert outcome() == with_columns


# -- end to end: one tiny run --------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, stats_cache):
    """One run with progress shown: its folder, stderr, stdout and the statistics cache (the
    session's, tests/conftest.py)."""
    out = tmp_path_factory.mktemp("progress") / "run"
    err, std = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(std):
        code = cli(*RUN, "--out", out, "--cache-dir", stats_cache)
    assert code == 0, err.getvalue()
    return out, err.getvalue(), std.getvalue(), stats_cache


def test_the_run_shows_and_explains_its_counters(tiny_run, capsys):
    out, err, printed, cache = tiny_run
    assert PROGRESS_KEY in err and "cache hit" in PROGRESS_KEY
    last = err.replace("\r", "\n").split("\n")
    bar = [line for line in last if line.startswith("search:") and "distinct=" in line][-1]
    assert "evals=" in bar and "hits=" in bar and "regen=" in bar and "distinct=" in bar
    assert "/8" in bar.split("distinct=")[1]
    assert "search counts: " in printed
    with open(out / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == LOG_HEADER and len(rows) == 4
    # quiet: no bar, no key
    again = out.parent / "quiet"
    assert cli(*RUN, "--out", again, "--cache-dir", cache, "--quiet") == 0
    assert "distinct=" not in capsys.readouterr().err
    for name in ("best.json", "hall_of_fame.csv", "heldout_scores.csv", "log.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes()


def test_every_file_names_the_same_best_proxy(tiny_run):
    out = tiny_run[0]
    with open(out / "log.csv", newline="") as f:
        last = list(csv.DictReader(f))[-1]["best_proxy"]
    with open(out / "hall_of_fame.csv", newline="") as f:
        first = next(csv.DictReader(f))["proxy"]
    best = json.loads((out / "best.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert last == first == best["proxy"] == summary["proxy"]
    assert "ci_reason" not in json.dumps(best)  # best.json's results as they were


def test_the_summary_stores_interval_reasons_and_the_free_row(tiny_run):
    out, _, printed, _ = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    for row in [summary["heldout"], *summary["baselines_heldout"].values()]:
        assert "ci_reason" in row and "ci_reason" in row["partial"]
        assert "ci_reason" in row["within"]
        if row["ci"] and math.isnan(row["ci"]["rho"][0]):
            assert row["ci_reason"]
    entry = summary["versus_free"]
    assert entry["best_free"] in [*get_space("gpt2").features(
        get_space("gpt2").load_records(None)[0], "default"), "config-formula"]
    line = free_line(entry)
    assert (line is None) == entry["beats"]
    if line:
        assert line in printed
        assert line[0].upper() + line[1:] in (out / "summary.md").read_text()


# -- 5. where an interrupted run's statistics are ------------------------------------------


def test_the_kept_line_names_where_the_statistics_are(tmp_path):
    ckpt, out = tmp_path / ".r.checkpoint", tmp_path / "r"
    ckpt.mkdir()
    cache = tmp_path / "cache" / "0123"
    line = _kept_line(ckpt, cache, out)
    assert line.startswith(f"no generation was finished; the run's settings are kept in {ckpt}")
    assert f"in the statistics cache {cache.parent}" in line
    assert line.endswith(f"lpzero-gp run --resume {out}")
    (ckpt / "checkpoint.json").write_text("{}")
    line = _kept_line(ckpt, ckpt / "stats" / "0123", out)
    assert line.startswith(f"the last checkpoint is kept in {ckpt}")
    assert f"kept with it, in {ckpt / 'stats'} (no cache)" in line


@pytest.mark.parametrize("cached", [True, False])
def test_an_interrupted_run_says_where_its_statistics_are(tiny_run, tmp_path, monkeypatch,
                                                          capsys, cached):
    cache = tiny_run[3]
    out = tmp_path / "stopped"
    interrupt_at(monkeypatch, 1)
    # without the cache every model is built: fewer architectures say the same
    where = ["--cache-dir", cache] if cached else ["--no-cache", "--search-archs", "3",
                                                    "--heldout", "3"]
    assert cli(*RUN, "--out", out, "--quiet", *where) == 130
    err = capsys.readouterr().err
    ckpt = tmp_path / ".stopped.checkpoint"
    assert f"the last checkpoint is kept in {ckpt}" in err
    if cached:
        assert f"statistics extracted so far are in the statistics cache {cache}" in err
    else:
        assert f"kept with it, in {ckpt / 'stats'} (no cache)" in err


def test_a_plain_hall_of_fame_orders_equals_by_entry():
    """The rule's premise: DEAP's hall of fame puts a newcomer ahead of its equals."""
    from deap import creator

    hof = tools.HallOfFame(5)
    a = creator.ProxyTree(_tree("agg_mean(mean(W))"))
    b = creator.ProxyTree(_tree("agg_mean(mean(A))"))
    for ind in (a, b):
        ind.fitness.values = (0.5,)
    hof.update([a])
    hof.update([b])
    assert str(best_individual(hof)) == str(b)


def _tree(text: str):
    from lpzero_gp.proxy.parse import parse_tree

    return parse_tree(text, make_pset())
