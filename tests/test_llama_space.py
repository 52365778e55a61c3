"""LoNAS space: group table, named sub-networks, size, flat config round trips, cost model."""

from __future__ import annotations

import json
import random

import pytest

from lpzero_gp.errors import SpaceError
from lpzero_gp.spaces.llama.cost import constant_params, subnet_cost
from lpzero_gp.spaces.llama.space import LLAMA_13B, LonasSpace, ModelDims, default_rank


@pytest.fixture(scope="module")
def s7b() -> LonasSpace:
    return LonasSpace.llama_7b()


@pytest.fixture(scope="module")
def tiny() -> LonasSpace:
    return LonasSpace(ModelDims(4, 64, 176, 4, 4, 16, 8192))


def test_7b_group_table_order_and_values(s7b):
    assert s7b.num_groups == 96
    kinds = [g.kind for g in s7b.groups]
    assert kinds == ["A"] * 32 + ["B"] * 32 + ["C"] * 32
    assert [g.layer for g in s7b.groups[:32]] == list(range(32))
    assert [g.layer for g in s7b.groups[32:64]] == list(range(32))
    assert s7b.groups[0].values == (32, 28)
    assert s7b.groups[32].values == (11008, 9632, 8256, 6880, 5504)
    assert s7b.groups[64].values == (32, 28)
    assert s7b.groups[5].members == tuple(
        f"layers.5.self_attn.{p}" for p in ("q_proj", "k_proj", "v_proj")
    )
    assert s7b.groups[64 + 5].members == ("layers.5.mlp.gate_proj", "layers.5.mlp.up_proj")


def test_7b_size_named_subnets(s7b):
    assert s7b.size() == 2**64 * 5**32
    assert LonasSpace.llama_7b(tie_ranks=True).size() == 2**32 * 5**32
    assert s7b.maximal() == (32,) * 32 + (11008,) * 32 + (32,) * 32
    assert s7b.heuristic() == (32,) * 32 + (8256,) * 32 + (32,) * 32
    assert s7b.minimal() == (28,) * 32 + (5504,) * 32 + (28,) * 32


def test_13b_widths():
    s = LonasSpace(LLAMA_13B, r_max=32)
    assert s.num_groups == 120
    assert s.width_values == (13824, 12096, 10368, 8640, 6912)


def test_tiny_scaled_values(tiny):
    assert default_rank(64) == 8 and default_rank(4096) == 32 and default_rank(128) == 16
    assert tiny.rank_values == (8, 7)
    assert tiny.width_values == (176, 154, 132, 110, 88)
    assert tiny.size() == 2**8 * 5**4
    assert tiny.heuristic() == (8,) * 4 + (132,) * 4 + (8,) * 4


def test_encode_decode_round_trip(tiny):
    rng = random.Random(0)
    for _ in range(20):
        c = tiny.sample(rng)
        assert tiny.decode(tiny.encode(c)) == c
    assert tiny.encode(tiny.maximal()) == (0,) * 12
    assert tiny.encode(tiny.minimal()) == (1,) * 4 + (4,) * 4 + (1,) * 4


def test_tied_ranks_encoding():
    s = LonasSpace(ModelDims(4, 64, 176, 4, 4, 16, 8192), tie_ranks=True)
    assert len(s.dims_table) == 8
    c = s.sample(random.Random(1))
    n = 4
    assert all(c[i] == c[2 * n + i] for i in range(n))
    assert s.decode(s.encode(c)) == c
    bad = list(s.maximal())
    bad[0] = 7
    with pytest.raises(SpaceError, match="tied ranks"):
        s.validate(bad)


def test_sample_is_seeded_and_distinct(tiny):
    a = tiny.sample_distinct(25, seed=3)
    assert a == tiny.sample_distinct(25, seed=3)
    assert len(set(a)) == 25
    assert a[:3] == [tiny.maximal(), tiny.heuristic(), tiny.minimal()]


@pytest.mark.parametrize("fmt", ["list", "nncf"])
def test_config_file_round_trip(tmp_path, tiny, fmt):
    c = tiny.sample(random.Random(5))
    path = tmp_path / "c.json"
    tiny.write_config(path, c, fmt=fmt)
    assert tiny.read_config(path) == c
    data = json.loads(path.read_text())
    if fmt == "list":
        assert data == list(c)
    else:
        assert data == {"width": {str(i): v for i, v in enumerate(c)}}


def test_config_plain_text_and_wrapped(tmp_path, tiny):
    c = tiny.minimal()
    p = tmp_path / "c.txt"
    p.write_text(", ".join(map(str, c)))
    assert tiny.read_config(p) == c
    assert tiny.parse({"config": list(c)}) == c


@pytest.mark.parametrize(
    "value, match",
    [
        ([8] * 11, "needs 12 values"),
        ([8] * 4 + [100] * 4 + [8] * 4, "not one of"),
        ([True] + [8] * 3 + [176] * 4 + [8] * 4, "not an integer"),
        ("8 8 8", "list of 12 integers"),
    ],
)
def test_validate_rejects(tiny, value, match):
    with pytest.raises(SpaceError, match=match):
        tiny.validate(value)


def test_read_config_errors(tmp_path, tiny):
    with pytest.raises(SpaceError, match="cannot read"):
        tiny.read_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2,")
    with pytest.raises(SpaceError, match="not valid JSON"):
        tiny.read_config(bad)
    words = tmp_path / "w.txt"
    words.write_text("eight eight")
    with pytest.raises(SpaceError, match="integers"):
        tiny.read_config(words)
    with pytest.raises(SpaceError, match="keys 0..11"):
        tiny.parse({"width": {"0": 8}})


def test_cost_model_7b_by_hand(s7b):
    h, i, r = 4096, 11008, 32
    frozen = 4 * h * h + 3 * h * i
    adapters = 3 * r * (h + h) + 2 * r * (h + i) + r * (i + h)
    cost = subnet_cost(s7b, s7b.maximal())
    assert cost.frozen_params == 32 * frozen
    assert cost.adapter_params == 32 * adapters
    assert cost.params == cost.macs == 32 * (frozen + adapters)
    assert cost.total_params == cost.params + 2 * 32000 * h + (2 * 32 + 1) * h
    small = subnet_cost(s7b, s7b.minimal())
    w, k = 5504, 28
    frozen_min = 4 * h * h + 3 * h * w
    adapters_min = 3 * k * (h + h) + 2 * k * (h + w) + r * (w + h)
    assert small.params == 32 * (frozen_min + adapters_min)


def test_constant_params_tied_embeddings():
    dims = ModelDims(2, 64, 176, 4, 4, 16, 100, tie_embeddings=True)
    assert constant_params(LonasSpace(dims)) == 100 * 64 + (2 * 2 + 1) * 64


def test_memory_estimate_7b(s7b):
    from lpzero_gp.spaces.llama.memory import estimate_memory

    est = estimate_memory(s7b, batch_size=4, seq_len=64, dtype_bytes=2, modules="adapters")
    assert est.base_weights == 6_738_415_616 * 2  # LLaMA-7B's 6.74e9 weights in bf16
    assert est.adapters == 71_565_312 * 8 and est.base_grads == 0
    assert est.device_total == est.base_weights + est.adapters + est.activations
    full = estimate_memory(s7b, 4, 64, 2, modules="all")
    assert full.base_grads == 6_476_005_376 * 2 and full.host_inputs > 40 * 1024**3
    w_only = estimate_memory(s7b, 4, 64, 2, modules="all", letters="W")
    assert w_only.activations == 0 and w_only.base_grads == 0
