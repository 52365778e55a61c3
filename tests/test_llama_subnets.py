"""Sub-network ranking API, evolutionary search and the ``subnets`` / ``eval --space llama`` CLI."""

from __future__ import annotations

import csv
import json
import math
import random

import pytest
import torch

from lpzero_gp.errors import OptionError, SpaceError
from lpzero_gp.score.subnets import SubnetScorer
from lpzero_gp.spaces.llama.cost import subnet_cost
from lpzero_gp.spaces.llama.supernet import build_base
from lpzero_gp.workflows.subnets import SearchSettings, budget_limit, rank_subnets, search_subnets


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    ids = torch.randint(0, 8192, (2, 17), generator=torch.Generator().manual_seed(2))
    return {"input_ids": ids[:, :-1], "labels": ids[:, 1:]}


def test_rank_subnets_orders_best_first(supernet, batch):
    space = supernet.space
    configs = [list(space.minimal()), list(space.maximal()), list(space.heuristic())]
    ranked = rank_subnets(supernet, configs, "params", batch)
    assert [c for c, _ in ranked] == [space.maximal(), space.heuristic(), space.minimal()]
    assert ranked[0][1] == subnet_cost(space, space.maximal()).params
    with pytest.raises(SpaceError):
        rank_subnets(supernet, [[1, 2, 3]], "params", batch)


def test_rank_subnets_with_engine_proxy(supernet, batch):
    pytest.importorskip("lpzero_gp.proxy")
    space = supernet.space
    ranked = rank_subnets(supernet, [space.minimal(), space.maximal()], "paper_llama", batch)
    assert len(ranked) == 2 and all(math.isfinite(s) for _, s in ranked)
    assert ranked[0][1] >= ranked[1][1]


def test_search_respects_budget_and_is_seeded(supernet, batch):
    settings = SearchSettings(population=6, offspring=6, generations=2, top_k=3, seed=1,
                              budget_params=0.8)
    random.seed(5)
    before = random.getstate()
    a = search_subnets(SubnetScorer(supernet, batch), "params", settings, progress=False)
    assert random.getstate() == before  # the search draws from its own RNG only
    random.seed(6)
    b = search_subnets(SubnetScorer(supernet, batch), "params", settings, progress=False)
    assert a.best == b.best and a.history == b.history
    limit = a.budget["limit_params"]
    assert limit == int(0.8 * subnet_cost(supernet.space, supernet.space.maximal()).params)
    assert all(e["params"] <= limit and e["within_budget"] for e in a.best)
    assert a.best[0]["score"] == max(e["score"] for e in a.best)
    assert a.named["maximal"]["within_budget"] is False
    assert len(a.history) == 3 and a.evaluated >= 6


def test_budget_limits(supernet):
    space = supernet.space
    full = subnet_cost(space, space.maximal()).params
    assert budget_limit(space, None) is None
    assert budget_limit(space, 1.0) == full
    assert budget_limit(space, full - 10) == full - 10
    with pytest.raises(OptionError, match="below the minimal"):
        budget_limit(space, 0.1)
    with pytest.raises(OptionError, match="population"):
        SearchSettings(population=1).check()


def _cli(args: list[str]) -> int:
    from lpzero_gp.cli import main

    return main(args)


def test_subnets_cli_writes_results_and_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "res"
    args = ["subnets", "--model", "tiny", "--proxy", "paper_llama", "--budget-params", "0.9",
            "--generations",
            "1", "--population", "4", "--top-k", "3", "--out", str(out), "--quiet",
            "--batch-size", "2", "--seq-len", "16"]
    assert _cli(args) == 0
    data = json.loads((out / "subnets.json").read_text())
    assert data["proxy"] == "paper_llama" and data["meta"]["model"] == "tiny"
    assert data["meta"]["modules"] == "all" and data["meta"]["lora_init"] == "nonzero"
    assert 1 <= len(data["best"]) <= 3
    rows = list(csv.DictReader((out / "subnets.csv").open()))
    assert len(rows) == len(data["best"])
    assert [int(v) for v in rows[0]["config"].split()] == data["best"][0]["config"]
    capsys.readouterr()
    assert _cli(args) == 2
    assert "exists" in capsys.readouterr().err
    assert _cli([*args, "--force"]) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_subnets_cli_bad_input(tmp_path, capsys):
    base = ["subnets", "--out", str(tmp_path / "x"), "--quiet", "--generations", "0",
            "--model", "tiny"]
    assert _cli([*base, "--budget-params", "0.01"]) == 2
    assert "below the minimal" in capsys.readouterr().err
    assert _cli([*base, "--model", str(tmp_path / "missing")]) == 2
    assert "a checkpoint folder or a .gguf file" in capsys.readouterr().err
    assert _cli([*base, "--proxy", "agg_mean(nonsense(W))"]) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert not (tmp_path / "x").exists()


def test_subnets_cli_on_saved_checkpoint(tmp_path):
    ckpt = tmp_path / "llama"
    build_base("tiny", seed=3).save_pretrained(ckpt)
    out = tmp_path / "res"
    args = ["subnets", "--model", str(ckpt), "--proxy", "agg_mean(l1(G))", "--generations",
            "1", "--population", "4", "--out", str(out), "--quiet", "--batch-size", "2",
            "--seq-len", "16"]
    assert _cli(args) == 0
    data = json.loads((out / "subnets.json").read_text())
    assert data["meta"]["model"] == str(ckpt) and data["best"]


def test_eval_llama_goes_through_the_generic_path_with_a_stand_in_truth():
    from lpzero_gp.workflows.evaluate import evaluate
    from lpzero_gp.workflows.options import EvalOptions

    opts = EvalOptions(space="llama", model="tiny", proxies=("params", "paper_llama"), quiet=True,
                       space_option=("stand_in=4",), batch_size=2, seq_len=16)
    report = evaluate(opts)
    assert [r["proxy"] for r in report.data["results"]] == ["params", "paper_llama"]
    assert all(r["n"] == 4 for r in report.data["results"])
    assert "short-training" in report.data["truth"]
    assert report.lines[1].startswith("params: n=4  Spearman")


def test_eval_llama_with_ground_truth_file(tmp_path):
    from lpzero_gp.spaces.llama.ground_truth import save_ground_truth
    from lpzero_gp.spaces.llama.space import LonasSpace, ModelDims
    from lpzero_gp.workflows.evaluate import evaluate
    from lpzero_gp.workflows.options import EvalOptions

    space = LonasSpace(ModelDims(4, 64, 176, 4, 4, 16, 8192))
    configs = space.sample_distinct(5, seed=0)
    truth = {c: float(subnet_cost(space, c).params) for c in configs}
    path = tmp_path / "gt.json"
    save_ground_truth(path, space, truth)
    opts = EvalOptions(space="llama", model="tiny", proxies=("params", "agg_sum(fro(W))"),
                       quiet=True,
                       ground_truth=str(path), batch_size=2, seq_len=16)
    rows = evaluate(opts).data["results"]
    assert rows[0]["n"] == 5
    assert rows[0]["rho"] == pytest.approx(1.0) and rows[0]["tau"] == pytest.approx(1.0)
    assert rows[1]["valid"]


def test_run_llama_reports_the_paper_proxy_beside_the_features(tmp_path):
    from lpzero_gp.workflows.options import RunOptions
    from lpzero_gp.workflows.run import run_search

    opts = RunOptions(space="llama", space_option=("model=tiny", "stand_in=12"), quiet=True,
                      budget="quick", search_archs="6", heldout="heldout", batch_size=2,
                      seq_len=16, out=str(tmp_path / "run"))
    summary = run_search(opts).data
    rows = summary["baselines_heldout"]
    assert {"params", "mlp_params", "adapter_params", "paper_llama"} <= set(rows)
    assert rows["paper_llama"]["ci"] is not None and summary["heldout"]["n"] == 6
