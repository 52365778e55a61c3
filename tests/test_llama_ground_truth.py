"""Ground truth of the LLaMA space: short-training stand-in and user files of accuracies."""

from __future__ import annotations

import json

import pytest
import torch

from lpzero_gp.errors import SpaceError
from lpzero_gp.spaces.llama.ground_truth import (
    TrainingSetup,
    load_ground_truth,
    save_ground_truth,
    short_training_loss,
    short_training_truth,
)
from lpzero_gp.spaces.llama.space import LonasSpace, ModelDims
from lpzero_gp.spaces.llama.supernet import LonasSupernet


@pytest.fixture(scope="module")
def space() -> LonasSpace:
    return LonasSpace(ModelDims(4, 64, 176, 4, 4, 16, 8192))


def test_short_training_is_deterministic_and_restores_adapters():
    sn = LonasSupernet.build("tiny", seed=0)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 8192, (2, 17), generator=g)
    batch = {"input_ids": ids[:, :-1], "labels": ids[:, 1:]}
    before = sn.lora_state()
    setup = TrainingSetup(steps=4, lr=1e-2)
    configs = [sn.space.maximal(), sn.space.minimal()]
    a = short_training_truth(sn, configs, batch, setup)
    b = short_training_truth(sn, configs, batch, setup)
    assert a == b and a[0] != a[1]
    for x, y in zip(before, sn.lora_state(), strict=True):
        assert torch.equal(x, y)
    assert sn.config == sn.space.maximal()
    untrained = short_training_loss(sn, configs[0], batch, TrainingSetup(steps=0))
    assert -a[0] < untrained  # training lowered the loss
    assert "not an accuracy" in setup.label()
    with pytest.raises(SpaceError, match="steps"):
        short_training_loss(sn, configs[0], batch, TrainingSetup(steps=-1))


def test_ground_truth_file_round_trip(tmp_path, space):
    truth = {space.maximal(): 0.7, space.minimal(): 0.6, space.heuristic(): 0.65}
    path = tmp_path / "gt.json"
    save_ground_truth(path, space, truth)
    assert load_ground_truth(path, space).table == truth
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"subnets": json.loads(path.read_text())}))
    assert load_ground_truth(wrapped, space).table == truth
    csv_path = tmp_path / "gt.csv"
    lines = ["config,accuracy"] + [f'"{" ".join(map(str, c))}",{v}' for c, v in truth.items()]
    csv_path.write_text("\n".join(lines) + "\n")
    assert load_ground_truth(csv_path, space).table == truth


@pytest.mark.parametrize(
    "content, match",
    [
        ("{oops", "not valid JSON"),
        ('{"a": 1}', "expected a list"),
        ('[{"config": [8]}]', "needs 'config' and 'accuracy'"),
        ('[{"config": [8], "accuracy": 0.5}]', "entry 0: a sub-network config needs 12"),
        ('[{"config": [8,8,8,8,176,176,176,176,8,8,8,8], "accuracy": "high"}]', "finite"),
        ('[{"config": [8,8,8,8,176,176,176,176,8,8,8,8], "accuracy": 0.5}]', "at least 2"),
    ],
)
def test_ground_truth_file_errors(tmp_path, space, content, match):
    path = tmp_path / "gt.json"
    path.write_text(content)
    with pytest.raises(SpaceError, match=match):
        load_ground_truth(path, space)


def test_ground_truth_missing_and_bad_csv(tmp_path, space):
    with pytest.raises(SpaceError, match="not found"):
        load_ground_truth(tmp_path / "none.json", space)
    path = tmp_path / "gt.csv"
    path.write_text("arch,acc\n1,2\n")
    with pytest.raises(SpaceError, match="columns"):
        load_ground_truth(path, space)
