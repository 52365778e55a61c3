"""Sub-network ranking API, evolutionary search, the llama space's sub-network capability and
its options, and the ``subnets`` / ``eval --space llama`` CLI."""

from __future__ import annotations

import csv
import json
import math
import random

import pytest
import torch

from lpzero_gp.errors import OptionError, SpaceError
from lpzero_gp.score.subnets import SubnetScorer
from lpzero_gp.spaces import get_space
from lpzero_gp.spaces.base import SubnetSearchSpace
from lpzero_gp.spaces.llama import subnet_space
from lpzero_gp.spaces.llama.cost import subnet_cost
from lpzero_gp.spaces.llama.ground_truth import TrainingSetup
from lpzero_gp.spaces.llama.subnets import LlamaSubnets
from lpzero_gp.spaces.llama.supernet import build_base
from lpzero_gp.workflows.subnets import (
    SearchSettings,
    budget_limit,
    default_space,
    rank_subnets,
    search_subnets,
)

#: Adam steps of the stand-in's short training in the tests of commands on it: what they check
#: (the truth's label and size, the rows reported beside it) holds for any length, and the
#: default 30 steps of every stand-in sub-network cost seconds (the training itself is
#: checked in tests/test_llama_ground_truth.py).
STAND_IN_STEPS = 2


def short_stand_in(monkeypatch) -> None:
    """The llama space's short-training stand-in trains :data:`STAND_IN_STEPS` steps."""
    monkeypatch.setattr(subnet_space, "TrainingSetup",
                        lambda: TrainingSetup(steps=STAND_IN_STEPS))


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    ids = torch.randint(0, 8192, (2, 17), generator=torch.Generator().manual_seed(2))
    return {"input_ids": ids[:, :-1], "labels": ids[:, 1:]}


@pytest.fixture(scope="module")
def subnets(supernet) -> LlamaSubnets:
    return LlamaSubnets(supernet)


def test_rank_subnets_orders_best_first(supernet, subnets, batch):
    space = supernet.space
    configs = [list(space.minimal()), list(space.maximal()), list(space.heuristic())]
    ranked = rank_subnets(subnets, configs, "params", batch)
    assert [c for c, _ in ranked] == [space.maximal(), space.heuristic(), space.minimal()]
    assert ranked[0][1] == subnet_cost(space, space.maximal()).params
    with pytest.raises(SpaceError):
        rank_subnets(subnets, [[1, 2, 3]], "params", batch)


def test_rank_subnets_with_engine_proxy(supernet, subnets, batch):
    pytest.importorskip("lpzero_gp.proxy")
    space = supernet.space
    ranked = rank_subnets(subnets, [space.minimal(), space.maximal()], "paper_llama", batch)
    assert len(ranked) == 2 and all(math.isfinite(s) for _, s in ranked)
    assert ranked[0][1] >= ranked[1][1]


def test_search_respects_budget_and_is_seeded(supernet, subnets, batch):
    settings = SearchSettings(population=6, offspring=6, generations=2, top_k=3, seed=1,
                              budget_params=0.8)
    random.seed(5)
    before = random.getstate()
    a = search_subnets(SubnetScorer(subnets, batch), "params", settings, progress=False)
    assert random.getstate() == before  # the search draws from its own RNG only
    random.seed(6)
    b = search_subnets(SubnetScorer(subnets, batch), "params", settings, progress=False)
    assert a.best == b.best and a.history == b.history
    limit = a.budget["limit_params"]
    assert limit == int(0.8 * subnet_cost(supernet.space, supernet.space.maximal()).params)
    assert all(e["params"] <= limit and e["within_budget"] for e in a.best)
    assert a.best[0]["score"] == max(e["score"] for e in a.best)
    assert a.named["maximal"]["within_budget"] is False
    assert len(a.history) == 3 and a.evaluated >= 6


def test_budget_limits(supernet, subnets):
    space = supernet.space
    full = subnet_cost(space, space.maximal()).params
    assert budget_limit(subnets, None) is None
    assert budget_limit(subnets, 1.0) == full
    assert budget_limit(subnets, full - 10) == full - 10
    with pytest.raises(OptionError, match="below the minimal"):
        budget_limit(subnets, 0.1)
    with pytest.raises(OptionError, match="population"):
        SearchSettings(population=1).check()
    with pytest.raises(OptionError, match="sum to at most 1"):
        SearchSettings(cxpb=0.7, mutpb=0.7).check()


def test_the_capability_of_the_llama_space(supernet, subnets):
    """What the engine asks of the sub-networks: genome, named configs, costs, shrink."""
    assert isinstance(subnets, SubnetSearchSpace)
    space = supernet.space
    assert subnets.choices == tuple(len(d.values) for d in space.dims_table)
    assert subnets.decode(subnets.encode(space.heuristic())) == space.heuristic()
    assert list(subnets.named()) == ["maximal", "heuristic", "minimal"]
    assert subnets.seeds()[0] == space.heuristic()
    assert subnets.features(space.maximal()) == subnet_cost(space, space.maximal()).as_dict()
    assert set(subnets.feature_names) == set(subnets.features(space.minimal()))
    assert set(subnets.table_features) <= set(subnets.feature_names)
    genes = list(subnets.encode(space.maximal()))
    assert subnets.shrink(genes, random.Random(0)) and sum(genes) == 1
    genes = list(subnets.encode(space.minimal()))
    assert not subnets.shrink(genes, random.Random(0))
    meta = subnets.describe()
    assert meta["model"] == "tiny" and meta["modules"] == "all" and meta["loss"] == "lm"


def test_the_llama_space_offers_sub_networks_built_on_first_use():
    space = get_space("llama", model="tiny", modules="base", loss="ones")
    assert space.has_subnets and default_space() == "llama"
    lazy = space.subnets(seed=3)
    assert lazy.name == "tiny" and lazy._supernet is None  # the name needs no weights
    assert lazy.describe()["seed"] == 3 and lazy.modules == "base" and lazy.loss == "ones"
    assert get_space("flexibert").subnets(0) is None


@pytest.mark.parametrize(("option", "value", "shown"), [
    ("model", "nonsense", "smollm2, tiny, a checkpoint folder or a .gguf file"),
    ("model", 7, "smollm2, tiny"),
    ("dtype", "fp64", "fp32, bf16, fp16"),
    ("lora_r", 0, "a whole number from 1 to 4096"),
    ("lora_r", True, "a whole number"),
    ("lora_init", "random", "nonzero, zero"),
    ("tie_ranks", "yes", "true or false"),
    ("modules", "some", "auto, all, base, adapters"),
    ("loss", "mse", "lm, ones"),
    ("adapter", "/no/such/folder", "an existing folder or fresh"),
    ("ground_truth", "/no/such/file.json", "an existing file"),
    ("stand_in", 2, "a whole number from 3"),
])
def test_llama_space_options_are_checked_when_the_space_is_opened(option, value, shown):
    with pytest.raises(OptionError, match=f"llama space option {option}=") as info:
        get_space("llama", **{option: value})
    assert shown in str(info.value) and "\n" not in str(info.value)


def _cli(args: list[str]) -> int:
    from lpzero_gp.cli import main

    return main(args)


def test_subnets_cli_writes_results_and_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "res"
    args = ["subnets", "--space-option", "model=tiny", "--proxy", "paper_llama",
            "--budget-params", "0.9", "--generations",
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
            "--space-option", "model=tiny"]
    assert _cli([*base, "--budget-params", "0.01"]) == 2
    assert "below the minimal" in capsys.readouterr().err
    assert _cli([*base, "--space-option", f"model={tmp_path / 'missing'}"]) == 2
    assert "a checkpoint folder or a .gguf file" in capsys.readouterr().err
    assert _cli([*base, "--space-option", "dtype=fp64"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dtype='fp64': choose fp32, bf16, fp16" in err
    assert _cli([*base[:-2], "--space", "gpt2"]) == 2
    assert "offers no sub-networks" in capsys.readouterr().err
    assert _cli([*base, "--seq-len", "129"]) == 2  # the tiny model takes 128 positions
    assert "--seq-len 129 is longer than the 128 tokens" in capsys.readouterr().err
    assert _cli([*base, "--proxy", "agg_mean(nonsense(W))"]) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert not (tmp_path / "x").exists()


def test_subnets_cli_on_saved_checkpoint(tmp_path):
    ckpt = tmp_path / "llama"
    build_base("tiny", seed=3).save_pretrained(ckpt)
    out = tmp_path / "res"
    args = ["subnets", "--space-option", f"model={ckpt}", "--proxy", "agg_mean(l1(G))",
            "--generations", "1", "--population", "4", "--out", str(out), "--quiet",
            "--batch-size", "2", "--seq-len", "16"]
    assert _cli(args) == 0
    data = json.loads((out / "subnets.json").read_text())
    assert data["meta"]["model"] == str(ckpt) and data["best"]
    assert data["settings"]["cxpb"] == 0.5 and "cx_prob" not in data["settings"]


def test_eval_llama_goes_through_the_generic_path_with_a_stand_in_truth(monkeypatch):
    from lpzero_gp.workflows.evaluate import evaluate
    from lpzero_gp.workflows.options import EvalOptions

    short_stand_in(monkeypatch)
    opts = EvalOptions(space="llama", proxies=("params", "paper_llama"), quiet=True,
                       space_option=("model=tiny", "stand_in=4"), batch_size=2, seq_len=16)
    report = evaluate(opts)
    assert [r["proxy"] for r in report.data["results"]] == ["params", "paper_llama"]
    assert all(r["n"] == 4 for r in report.data["results"])
    assert "short-training" in report.data["truth"]
    assert f"after {STAND_IN_STEPS} Adam steps" in report.data["truth"]
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
    opts = EvalOptions(space="llama", proxies=("params", "agg_sum(fro(W))"), quiet=True,
                       space_option=("model=tiny", f"ground_truth={path}"), batch_size=2,
                       seq_len=16)
    rows = evaluate(opts).data["results"]
    assert rows[0]["n"] == 5
    assert rows[0]["rho"] == pytest.approx(1.0) and rows[0]["tau"] == pytest.approx(1.0)
    assert rows[1]["valid"]


def test_run_llama_reports_the_paper_proxy_beside_the_features(tmp_path, monkeypatch):
    from lpzero_gp.workflows.options import RunOptions
    from lpzero_gp.workflows.run import run_search

    # 9 stand-in sub-networks: the smallest search split (3) and the 6 held out that an
    # interval needs (score.correlate.MIN_INTERVAL)
    short_stand_in(monkeypatch)
    opts = RunOptions(space="llama", space_option=("model=tiny", "stand_in=9"), quiet=True,
                      budget="quick", evaluations=20, search_archs="3", heldout="heldout",
                      batch_size=2, seq_len=16, out=str(tmp_path / "run"))
    summary = run_search(opts).data
    rows = summary["baselines_heldout"]
    assert {"params", "mlp_params", "adapter_params", "paper_llama"} <= set(rows)
    assert rows["paper_llama"]["ci"] is not None and summary["heldout"]["n"] == 6
    assert all(math.isfinite(v) for v in rows["paper_llama"]["ci"]["rho"])
    assert f"after {STAND_IN_STEPS} Adam steps" in summary["truth"]
