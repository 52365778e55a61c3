"""Tests of the search ablations on a toy family with a planted ground truth."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from toy import toy_family

import lpzero_gp.workflows.ablate as ablate_mod
import lpzero_gp.workflows.ablate.command as ablate_command
from lpzero_gp.cli import main
from lpzero_gp.errors import LpzeroError, OptionError
from lpzero_gp.score.scoring import score_stats
from lpzero_gp.stats.null import null_stats
from lpzero_gp.stats.store import Dataset
from lpzero_gp.workflows.ablate import (
    ARMS,
    AblationConfig,
    AblationData,
    markdown,
    random_run,
    run_ablation,
    step_values,
    write,
)

PLANTED = "agg_mean(add(fro(G), mean(abs(A))))"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BUDGET = 30


def _data() -> AblationData:
    search, held = toy_family(12, seed=0), toy_family(8, seed=40)
    truth, vtruth = score_stats(PLANTED, search), score_stats(PLANTED, held)
    null = AblationData(Dataset.from_stats([null_stats(s) for s in search]), truth,
                        Dataset.from_stats([null_stats(s) for s in held]), vtruth)
    return AblationData(Dataset.from_stats(search), truth, Dataset.from_stats(held), vtruth,
                        null)


def _config(**kw) -> AblationConfig:
    base = {"evaluations": BUDGET, "seeds": (1, 2), "population": 10, "offspring": 10,
            "populations": (10, 20), "n_unaries": (1, 2), "n_unary": 2}
    base.update(kw)
    return AblationConfig(**base)


@pytest.fixture(scope="module")
def data() -> AblationData:
    return _data()


@pytest.fixture(scope="module")
def result(data) -> dict:
    return run_ablation(data, _config())


def _all_runs(result: dict) -> list[dict]:
    return [run for exp in result["experiments"].values() for s in exp.values()
            for run in s["runs"]]


def test_structure(result):
    exps = result["experiments"]
    assert list(exps) == ["rps", "population", "n_unary", "stats"]
    assert list(exps["stats"]) == ["real", "null"]
    assert [e["seed"] for e in result["real_vs_null"]] == list(result["settings"]["seeds"])
    assert list(exps["rps"]) == list(ARMS)
    assert list(exps["population"]) == ["10", "20"]
    assert list(exps["n_unary"]) == ["1", "2"]
    assert result["n_search"] == 12 and result["n_validation"] == 8
    for exp in exps.values():
        for s in exp.values():
            assert len(s["runs"]) == 2
            assert set(s["search_rho_at"]) == {"10", "15", "30"}
            assert s["search_rho"]["mean"] is not None
    # the planted proxy is a genotype-shaped tree: every arm finds a strong one
    assert exps["rps"]["evolution_rps"]["search_rho"]["min"] > 0.8


def test_every_run_spends_exactly_the_budget(result):
    for run in _all_runs(result):
        assert run["evaluated"] == BUDGET
        assert run["curve"][-1][0] == BUDGET
        assert 0 <= run["invalid"] <= run["evaluated"]


def test_best_so_far_curves_are_monotone(result):
    for run in _all_runs(result):
        xs = [x for x, _ in run["curve"]]
        ys = [-np.inf if y is None else y for _, y in run["curve"]]
        assert xs == sorted(xs) and ys == sorted(ys)
        assert run["search_rho"] == run["curve"][-1][1]
        start = 1 if run["arm"] == "random" else run["population"]
        assert xs[0] == start


def test_validation_rho_is_that_of_the_best_proxy(data, result):
    run = result["experiments"]["rps"]["evolution_rps"]["runs"][0]
    assert run["validation_rho"] == pytest.approx(data.validation_rho(run["proxy"]))
    assert data.validation_rho(PLANTED) == pytest.approx(1.0)


def test_without_rps_invalid_proxies_cost_evaluations(result):
    rps = result["experiments"]["rps"]
    with_rps = sum(r["invalid"] for r in rps["evolution_rps"]["runs"])
    without = sum(r["invalid"] for r in rps["evolution_no_rps"]["runs"])
    assert without > with_rps


def test_shared_runs_are_identical(result):
    exps = result["experiments"]
    assert exps["population"]["10"]["runs"] == exps["rps"]["evolution_rps"]["runs"]
    assert exps["n_unary"]["2"]["runs"] == exps["rps"]["evolution_rps"]["runs"]


def test_deterministic_per_seed(data, result):
    again = run_ablation(_data(), _config(experiments=("rps",), seeds=(2,)))
    for arm, s in again["experiments"]["rps"].items():
        assert s["runs"] == result["experiments"]["rps"][arm]["runs"][1:]
    a = random_run(data, 7, 30, 2, ("agg_mean",)).to_json()
    b = random_run(data, 7, 30, 2, ("agg_mean",)).to_json()
    c = random_run(data, 8, 30, 2, ("agg_mean",)).to_json()
    assert a == b and a["curve"] != c["curve"]


def test_step_values():
    curve = [[10, 0.2], [20, None], [30, 0.5]]
    got = step_values(curve, np.array([1, 10, 15, 25, 30, 40]))
    assert np.isnan(got[0]) and np.isnan(got[3])
    assert list(got[[1, 2, 4, 5]]) == [0.2, 0.2, 0.5, 0.5]


def test_outputs_are_written(result, tmp_path):
    out = tmp_path / "abl"
    write(result, out, force=False, title="toy")
    assert sorted(p.name for p in out.iterdir()) == [
        "ablation.json", "ablation.md", "n_unary.png", "population.png", "rps_vs_random.png"]
    for png in out.glob("*.png"):
        data = png.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5000
    assert json.loads((out / "ablation.json").read_text())["experiments"].keys() == \
        result["experiments"].keys()
    md = (out / "ablation.md").read_text()
    assert "| evolution with RPS |" in md and "| population |" in md
    with pytest.raises(LpzeroError, match="exists"):
        write(result, out, force=False, title="toy")


def test_subset_writes_only_its_plot(data, tmp_path):
    res = run_ablation(data, _config(experiments=("n_unary",), seeds=(3,), evaluations=20))
    write(res, tmp_path / "o", force=False, title="toy")
    assert {p.name for p in (tmp_path / "o").glob("*.png")} == {"n_unary.png"}
    assert "Evolution with RPS vs" not in markdown(res, "toy")


@pytest.mark.parametrize("kw, match", [
    ({"evaluations": 20}, "must exceed the largest population"),
    ({"experiments": ("rps", "nope")}, "unknown experiment"),
    ({"seeds": ()}, "at least one search seed"),
    ({"n_unaries": (0,)}, "between 1 and 10"),
    ({"populations": (1,)}, "at least 2"),
])
def test_bad_config(kw, match):
    with pytest.raises(OptionError, match=match):
        _config(**kw).validate()


@pytest.mark.parametrize("args, match", [
    (["--experiments", "rps,bogus"], "unknown experiment bogus"),
    (["--evaluations", "150"], "largest population (200)"),
    (["--evaluations", "60"], "lower --population 80 and --populations 80,100,200"),
    (["--evaluations", "60", "--experiments", "rps"], "raise --evaluations or lower "
                                                      "--population 80"),
    (["--evaluations", "90", "--population", "50"], "lower --populations 80,100,200"),
    (["--populations", "80,x"], "not a comma-separated list"),
    (["--search-archs", "2"], "--search-archs 2: choose between 3 and"),
    (["--search-archs", "train"], "--search-archs: unknown split 'train'"),
    (["--heldout", "2"], "--heldout 2: choose between 3 and"),
    (["--device", "tpu"], "--device 'tpu'"),
])
def test_cli_bad_options_exit_2(args, match, capsys, tmp_path):
    assert main(["ablate", "--out", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and match in err and "\n" not in err
    assert not (tmp_path / "x").exists()


def test_cli_end_to_end(monkeypatch, capsys, tmp_path, data):
    extractor = SimpleNamespace(seconds={}, built=0, loaded=20)
    loaded = SimpleNamespace(space=SimpleNamespace(name="flexibert", truth_label="toy"),
                             variant="as-trained", info={"batch": "toy"}, extractor=extractor)
    monkeypatch.setattr(ablate_command, "load_data", lambda ctx, s, h: (data, loaded))
    out = tmp_path / "cli"
    args = ["ablate", "--out", str(out), "--evaluations", "20", "--population", "10",
            "--offspring", "10", "--populations", "10", "--n-unary-values", "2",
            "--seeds", "1", "--experiments", "rps,population", "--quiet"]
    assert main(args) == 0
    shown = capsys.readouterr().out
    assert "| evolution without RPS |" in shown and f"results: {out}" in shown
    saved = json.loads((out / "ablation.json").read_text())
    assert saved["settings"]["evaluations"] == 20 and saved["space"] == "flexibert"
    assert (out / "timing.json").is_file() and not (out / "n_unary.png").exists()
    assert main(args) == 2  # exists without --force
    assert main([*args, "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["experiments"] == saved["experiments"]


def test_sweep_plot_survives_rounding(result, tmp_path):
    """Equal results over seeds can put the mean a rounding error above the maximum."""
    res = json.loads(json.dumps(result))
    for s in res["experiments"]["population"].values():
        s["search_rho"] = {"mean": float(np.mean([0.1] * 3)), "min": 0.1, "max": 0.1, "n": 3}
    assert res["experiments"]["population"]["10"]["search_rho"]["mean"] > 0.1
    ablate_mod.plot_sweep(res, "population", tmp_path / "p.png", "toy", "population")
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG_MAGIC


def test_tables_from_the_saved_json_keep_numeric_order(result):
    """ablation.json sorts keys as text ("20" < "40" < "8"); tables and plots sort numbers."""
    res = json.loads(json.dumps(result, sort_keys=True))
    res["experiments"]["population"] = {"8": res["experiments"]["population"]["10"],
                                        **res["experiments"]["population"]}
    res = json.loads(json.dumps(res, sort_keys=True))
    assert list(res["experiments"]["population"]) == ["10", "20", "8"]
    md = markdown(res, "toy")
    section = md.split("## Population")[1].split("## ")[0]
    rows = [line.split("|")[1].strip() for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| population")]
    assert rows == ["8", "10", "20"]
    assert "rho @10 | rho @15 | rho @30" in md
    assert md.split("## Population")[0] == markdown(result, "toy").split("## Population")[0]


@pytest.mark.parametrize("given, expected, source", [
    ({}, (80, 40, 300), "--budget default"),
    ({"budget": "paper"}, (80, 40, 1080), "--budget paper"),
    ({"budget": "paper", "evaluations": 500}, (80, 40, 500),
     "--budget paper (--evaluations 500 replaces its 1,080)"),
    ({"population": 20, "evaluations": 50, "experiments": ("rps",)}, (20, 40, 50),
     "--budget default (--population 20 replaces its 80; --evaluations 50 replaces its 300)"),
])
def test_budget_numbers_replace_the_preset_as_for_run(given, expected, source):
    from lpzero_gp.workflows.ablate import budget_of, config_from_options
    from lpzero_gp.workflows.options import AblateOptions

    opts = AblateOptions(**given)
    cfg = config_from_options(opts)
    assert (cfg.population, cfg.offspring, cfg.evaluations) == expected
    assert budget_of(opts)[1] == source


def test_printed_settings_say_where_the_budget_comes_from(result):
    text = markdown({**result, "budget": "--budget paper (--evaluations 500 replaces its 1,080)"},
                    "toy")
    assert "Budget per run (--budget paper (--evaluations 500 replaces its 1,080)): 30" in text
