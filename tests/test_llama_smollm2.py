"""The packaged SmolLM2 super-network: text parts, shipped adapter, benchmark and its splits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lpzero_gp.spaces.llama import smollm2
from lpzero_gp.spaces.llama.cost import subnet_cost
from lpzero_gp.spaces.llama.space import LonasSpace, ModelDims
from lpzero_gp.spaces.llama.text import PARTS, part_of, text_parts
from lpzero_gp.workflows.splits import stored_splits

#: SmolLM2-135M's sizes (30 layers, 576 hidden, 1536 MLP, 9 heads, 3 KV heads, tied embeddings).
SMOLLM2 = ModelDims(30, 576, 1536, 9, 3, 64, 49152, tie_embeddings=True)


@pytest.fixture(scope="module")
def bench() -> dict:
    return json.loads(smollm2.benchmark_path().read_text())


@pytest.fixture(scope="module")
def space() -> LonasSpace:
    return LonasSpace(SMOLLM2, r_max=smollm2.PRESET.r_max, rank_ratios=smollm2.PRESET.rank_ratios)


def test_text_parts_are_disjoint_and_cover_the_text():
    from pydoc_data.topics import topics

    parts = text_parts()
    assert set(parts) == set(PARTS)
    # every topic in exactly one part, joined by one newline inside its part
    assert sum(len(t) for t in parts.values()) == \
        sum(len(v) for v in topics.values()) + len(topics) - len(PARTS)
    owners = {part_of(k) for k in topics}
    assert owners == set(PARTS)


def test_shipped_ids_match_the_text_parts():
    meta = json.loads((smollm2.DATA / "text_ids.json").read_text())
    ids = smollm2.text_ids()
    for part in PARTS:
        assert ids[part].dtype == np.uint16 and ids[part].size == meta["parts"][part]["tokens"]
    rows = smollm2.heldout_rows()
    assert rows.shape == (smollm2.HELDOUT_WINDOWS, smollm2.HELDOUT_SEQ_LEN + 1)


def test_benchmark_records_and_costs(bench, space):
    subnets = bench["subnets"]
    assert len(subnets) >= 200 and bench["metric"] == "perplexity"
    assert not bench["higher_is_better"]
    configs = [tuple(s["config"]) for s in subnets]
    assert len(set(configs)) == len(configs)
    names = {s.get("name"): tuple(s["config"]) for s in subnets if "name" in s}
    assert names == {"maximal": space.maximal(), "heuristic": space.heuristic(),
                     "minimal": space.minimal()}
    for s in subnets:
        cost = subnet_cost(space, tuple(s["config"]))
        assert s["params"] == cost.params and s["mlp_params"] == cost.mlp_params
        assert math.isclose(s["perplexity"], math.exp(s["loss"]), rel_tol=1e-5)
    params = [s["params"] for s in subnets]
    full, least = subnet_cost(space, space.maximal()).params, \
        subnet_cost(space, space.minimal()).params
    assert max(params) == full and min(params) == least
    # spread over the range: every fifth of it holds sub-networks
    fifths = {min(4, int(5 * (p - least) / (full - least))) for p in params}
    assert fifths == {0, 1, 2, 3, 4}


def test_space_reads_the_packaged_benchmark_and_splits(bench):
    from lpzero_gp.spaces import get_space

    llama = get_space("llama")
    assert llama.ships_benchmark and llama.split_sizes == (50, 30, 120)
    records = llama.load_records(None)
    assert len(records) == len(bench["subnets"])
    assert not llama.higher_is_better and "perplexity" in llama.truth_label
    by_config = {tuple(s["config"]): s["perplexity"] for s in bench["subnets"]}
    assert all(r.truth == -by_config[tuple(r.config["subnet"])] for r in records)
    splits = stored_splits("llama")
    ids = {r.id for r in records}
    sizes = tuple(len(splits[k]) for k in ("search", "validation", "test"))
    assert sizes == llama.split_sizes
    flat = [i for k in ("search", "validation", "test") for i in splits[k]]
    assert len(set(flat)) == len(flat) and set(flat) <= ids


def test_shipped_adapter_matches_the_preset(space):
    from safetensors import safe_open

    folder = smollm2.adapter_path()
    cfg = json.loads((folder / "adapter_config.json").read_text())
    assert cfg["r"] == smollm2.PRESET.r_max and cfg["lora_alpha"] == 2 * cfg["r"]
    assert json.loads((folder / "lonas_space.json").read_text())["rank_ratios"] == \
        list(smollm2.PRESET.rank_ratios)
    with safe_open(str(folder / "adapter_model.safetensors"), "pt") as f:
        keys = list(f.keys())
        assert len(keys) == 30 * 6 * 2
        shapes = {tuple(f.get_slice(k).get_shape()) for k in keys if "lora_A" in k}
    assert shapes == {(8, 576), (8, 1536)}
    assert (folder / "adapter_model.safetensors").stat().st_size < 6_000_000


@pytest.mark.slow
def test_shipped_adapter_reproduces_the_recorded_perplexity(bench):
    """Loads SmolLM2 with the shipped adapter: activated parameter counts and the maximal
    sub-network's held-out perplexity equal the benchmark's (about a minute on a CPU)."""
    from lpzero_gp.spaces.llama.finetune import heldout_loss
    from lpzero_gp.spaces.llama.subnet_space import LlamaSpace

    supernet = LlamaSpace().supernet(0)
    rows = smollm2.heldout_rows()
    for s in bench["subnets"][:5]:
        with supernet.active(tuple(s["config"])):
            assert supernet.count_active_params() == s["params"]
    top = bench["subnets"][0]
    assert top["name"] == "maximal"
    ppl = math.exp(heldout_loss(supernet, tuple(top["config"]), rows))
    assert ppl == pytest.approx(top["perplexity"], rel=1e-3)


def test_cost_model_matches_a_grouped_query_model(tmp_path):
    """SmolLM2's shape in small (3 KV heads of 9, tied embeddings): the analytic parameter
    counts equal the activated sub-networks' for every named and a few random configs."""
    import random

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from lpzero_gp.spaces.llama.supernet import LonasSupernet

    cfg = LlamaConfig(vocab_size=256, hidden_size=72, intermediate_size=192,
                      num_hidden_layers=3, num_attention_heads=9, num_key_value_heads=3,
                      head_dim=8, tie_word_embeddings=True, max_position_embeddings=64)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(tmp_path / "gqa")
    net = LonasSupernet.build(str(tmp_path / "gqa"), r_max=8,
                              rank_ratios=smollm2.PRESET.rank_ratios)
    space = net.space
    rng = random.Random(0)
    configs = [space.maximal(), space.heuristic(), space.minimal()]
    configs += [space.sample_spread(rng) for _ in range(4)]
    for config in configs:
        with net.active(config):
            assert net.count_active_params() == subnet_cost(space, config).params
