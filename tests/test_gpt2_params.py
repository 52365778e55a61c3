"""GPT-2 (LTS) space: config resolution and the benchmark's five parameter buckets."""

from __future__ import annotations

import pytest
import torch
from toy import tiny_gpt2_config as tiny

from lpzero_gp.errors import SpaceError
from lpzero_gp.spaces.gpt2 import Gpt2Space
from lpzero_gp.spaces.gpt2.config import clean_cutoffs, resolve_config
from lpzero_gp.spaces.gpt2.model import build_model, build_shapes
from lpzero_gp.spaces.gpt2.params import BUCKETS, analytic_params, model_params

SPACE = Gpt2Space()
RECORDS = SPACE.load_records()
BY_ID = {record.id: record for record in RECORDS}




def expected(record) -> dict[str, int]:
    return {key: int(value) for key, value in record.raw["params"].items()}


def test_analytic_buckets_match_all_records():
    assert len(RECORDS) == 200
    for record in RECORDS:
        assert SPACE.param_buckets(record) == expected(record), record.id


def test_meta_built_buckets_match_all_records():
    for record in RECORDS:
        model = build_shapes(resolve_config(record.config))
        assert model_params(model) == expected(record), record.id


def test_worked_example_config_0_j0():
    record = BY_ID["config_0_j0"]
    assert SPACE.param_buckets(record) == {
        "AdaEmb": 6_631_088,
        "Attn": 330_240,
        "FFN": 1_457_316,
        "nonembedding": 1_790_372,
        "total": 8_505_006,
    }
    assert SPACE.num_params(record, "default") == 8_505_006
    features = SPACE.features(record, "default")
    assert features == {
        "params": 8_505_006,
        "decoder_params": 1_790_372,
        "attn_params": 330_240,
        "ffn_params": 1_457_316,
        "layers": 5,
        "d_model": 128,
    }
    assert set(features) == set(SPACE.feature_names)


@pytest.mark.parametrize("rid", ["config_11_j5", "config_0_j0"])
def test_real_model_matches_analytic_and_record(rid):
    record = BY_ID[rid]
    model = SPACE.build(record, "default", 0)
    assert model_params(model) == expected(record)
    assert sum(p.numel() for p in model.parameters()) == expected(record)["total"]


def test_real_model_with_embed_equal_to_model_width():
    record = next(
        r
        for r in RECORDS
        if r.config["div_val"] == 1 and r.config["d_embed"] == r.config["d_model"]
    )
    model = SPACE.build(record, "default", 0)
    assert len(model.transformer.wte.projs) == 0
    assert len(model.lm_head.out_projs) == 0
    assert model_params(model) == expected(record)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"tie_weight": False},
        {"tie_projs": [True, False, False]},
        {"div_val": 1},
        {"div_val": 1, "tie_weight": False, "tie_projs": [False, False, True]},
        {"div_val": 1, "d_embed": -1},
        {"div_val": 4, "d_embed": 32},
        {"cutoffs": []},
        {"cutoffs": [150, 400], "tie_projs": [True, True]},
        {"n_head": 4, "d_inner": 40},
    ],
)
def test_analytic_equals_built_model_on_variations(overrides):
    cfg = resolve_config(tiny(**overrides))
    model = build_model(cfg, seed=0)
    assert model_params(model) == analytic_params(cfg)
    assert model_params(build_shapes(cfg)) == analytic_params(cfg)


def test_tying_shares_tensors():
    cfg = resolve_config(tiny(tie_projs=[False, True, False]))
    model = build_model(cfg, seed=0)
    emb, head = model.transformer.wte, model.lm_head
    for i in range(cfg.n_clusters):
        weight, _, proj = head.cluster_params(i)
        assert weight is emb.tables[i]
        assert (proj is emb.projs[i]) == cfg.tie_projs[i]
    untied = resolve_config(tiny(tie_weight=False))
    model = build_model(untied, seed=0)
    weight, _, _ = model.lm_head.cluster_params(1)
    assert weight is not model.transformer.wte.tables[1]
    assert weight.shape == model.transformer.wte.tables[1].shape


def test_cutoff_cleaning():
    v = 50264
    assert clean_cutoffs([19997, 39997, 199997, 50264], v) == (19997, 39997, 50264)
    assert clean_cutoffs(None, v) == (19997, 39997, 50264)
    assert clean_cutoffs([], v) == (v,)
    assert clean_cutoffs([60000], v) == (v,)
    assert clean_cutoffs([100, v], v) == (100, v)
    assert clean_cutoffs([100, 200, 60000, 300], v) == (100, 200, v)
    for bad in ([200, 100], [0, 10], [100, 100], "100", [1.5]):
        with pytest.raises(SpaceError):
            clean_cutoffs(bad, v)


def test_config_resolution_rules():
    cfg = resolve_config(BY_ID["config_0_j0"].config)
    assert cfg.cutoffs == (19997, 39997, 50264)
    assert cfg.tie_projs == (False, True, True)
    assert cfg.cluster_sizes == (19997, 20000, 10267)
    assert cfg.emb_dims == (256, 64, 16)
    assert resolve_config(tiny(d_embed=-1)).d_embed == 32
    assert resolve_config(tiny(n_head=4)).n_head == (4, 4)
    assert resolve_config(tiny(tie_projs=None)).tie_projs == (False, True, True)
    assert resolve_config(tiny(tie_projs=[], adaptive=False)).tie_projs == (True, True, True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_head": [2, 4, 4]}, "n_head has 3 entries"),
        ({"d_inner": [64]}, "d_inner has 1 entries"),
        ({"n_head": [2, 5]}, "not divisible"),
        ({"div_val": 0}, "div_val"),
        ({"d_embed": 0}, "d_embed"),
        ({"n_layer": "2"}, "n_layer must be an integer"),
        ({"n_layer": True}, "n_layer must be an integer"),
        ({"cutoffs": [200, 100]}, "strictly increasing"),
        ({"tie_projs": [False]}, "tie_projs has 1 entries"),
        ({"d_embed": 4, "div_val": 4}, "zero embedding width"),
        ({"dropout": 1.5}, "dropout"),
        ({"tie_weight": "yes"}, "tie_weight"),
    ],
)
def test_config_errors(overrides, message):
    with pytest.raises(SpaceError, match=message):
        resolve_config(tiny(**overrides))


def test_missing_required_field():
    cfg = tiny()
    del cfg["d_model"]
    with pytest.raises(SpaceError, match="missing field.*d_model"):
        resolve_config(cfg)


def test_bucket_names():
    assert set(analytic_params(resolve_config(tiny()))) == set(BUCKETS)
    assert torch.device("meta") == next(build_shapes(resolve_config(tiny())).parameters()).device
