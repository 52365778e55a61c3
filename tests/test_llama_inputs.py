"""Proxy inputs of a LoNAS sub-network: shapes, slicing, gradients, cleanliness, determinism."""

from __future__ import annotations

import math

import pytest
import torch

from lpzero_gp.errors import SpaceError
from lpzero_gp.score.subnets import SubnetScorer, needed_letters
from lpzero_gp.spaces.base import INPUT_NAMES
from lpzero_gp.spaces.llama.inputs import collect_subnet
from lpzero_gp.spaces.llama.subnets import LlamaSubnets


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 8192, (2, 17), generator=g)
    return {"input_ids": ids[:, :-1], "labels": ids[:, 1:]}


def test_all_letters_shapes_follow_the_active_slice(supernet, batch):
    config = supernet.space.minimal()
    raw = collect_subnet(supernet, config, batch)
    assert set(raw) == set(INPUT_NAMES)
    assert all(len(raw[x]) == 4 for x in INPUT_NAMES)
    # 7 base weights + 6 targets x (lora_A, lora_B) per layer, in registration order
    w0 = raw["W"][0]
    assert len(w0) == 19
    shapes = [tuple(t.shape) for t in w0]
    assert shapes[:3] == [(64, 64), (7, 64), (64, 7)]  # q base, q lora_A, q lora_B at rank 7
    assert (88, 64) in shapes and (64, 88) in shapes and (8, 88) in shapes  # width 88, down r 8
    assert [t.shape for t in raw["G"][0]] == [t.shape for t in w0]
    assert raw["A"][0][0].shape == (2, 16, 88)
    assert raw["H"][0][0].shape == (2, 16, 64)
    assert raw["S"][0][0].shape == (2, 4, 16, 16)
    assert raw["J"][0][0].shape == (2, 16, 64)
    for letter in INPUT_NAMES:
        for t in raw[letter][0]:
            assert t.dtype == torch.float32 and t.device.type == "cpu" and not t.requires_grad
    assert all(t.abs().sum() > 0 for t in raw["G"][1])
    torch.testing.assert_close(raw["S"][0][0].sum(-1), torch.ones(2, 4, 16))


def test_model_left_clean(supernet, batch):
    flags = {n: p.requires_grad for n, p in supernet.model.named_parameters()}
    collect_subnet(supernet, supernet.space.heuristic(), batch)
    assert {n: p.requires_grad for n, p in supernet.model.named_parameters()} == flags
    assert all(p.grad is None for p in supernet.model.parameters())
    for mod in supernet.model.modules():
        assert not mod._forward_hooks and not mod._forward_pre_hooks
    assert supernet.config == supernet.space.maximal()


def test_adapters_only_never_touches_base_grads(supernet, batch):
    base = [m.weight for i in range(4) for _, m in supernet.layer_linears(i, "base")]
    assert not any(p.requires_grad for p in base)
    seen = []
    hooks = [p.register_hook(lambda g: seen.append(g)) for p in supernet.lora_parameters()[:1]]
    raw = collect_subnet(supernet, supernet.space.maximal(), batch, letters="GW",
                         modules="adapters")
    for h in hooks:
        h.remove()
    assert len(raw["W"][0]) == 12 and len(raw["G"][0]) == 12
    assert seen and all(p.grad is None for p in base)
    assert raw["A"] == [[], [], [], []]


def test_letters_subset_and_determinism(supernet, batch):
    a = collect_subnet(supernet, supernet.space.heuristic(), batch, letters=("W", "G"))
    b = collect_subnet(supernet, supernet.space.heuristic(), batch, letters=("W", "G"))
    assert a["S"] == [[], [], [], []] and a["J"] == [[], [], [], []]
    for x, y in zip(a["G"][2], b["G"][2], strict=True):
        assert torch.equal(x, y)
    ones = collect_subnet(supernet, supernet.space.heuristic(), batch, letters="G", loss="ones")
    assert not torch.allclose(ones["G"][2][0], a["G"][2][0])


def test_bad_options(supernet, batch):
    with pytest.raises(SpaceError, match="letter"):
        collect_subnet(supernet, supernet.space.maximal(), batch, letters=("X",))
    with pytest.raises(SpaceError, match="module set"):
        collect_subnet(supernet, supernet.space.maximal(), batch, modules="some")
    with pytest.raises(SpaceError, match="loss"):
        collect_subnet(supernet, supernet.space.maximal(), batch, loss="mse")


def test_needed_letters():
    assert needed_letters("paper_llama") == ("W",)
    assert needed_letters("agg_mean(mean(A))") == ("A",)
    assert set(needed_letters("agg_sum(add(fro(G), l1(W)))")) == {"G", "W"}
    assert needed_letters("no_such_name") == INPUT_NAMES


def test_scorer_cache_and_invalid(supernet, batch):
    calls = []

    def fake(proxy: str, raw) -> float:
        calls.append(proxy)
        return math.nan if proxy == "bad" else float(len(raw["W"][0]))

    scorer = SubnetScorer(LlamaSubnets(supernet), batch, score_fn=fake, keep_raw=True)
    c = supernet.space.minimal()
    assert scorer.score(c, "good") == 19.0
    assert scorer.score(c, "good") == 19.0
    assert calls == ["good"] and scorer.collections == 1
    assert math.isnan(scorer.score(c, "bad"))
    assert scorer.invalid == 1 and scorer.collections == 1  # raw reused across proxies
    assert scorer.score(c, "params") == scorer.score(c, " params ")


def test_engine_proxy_scores_are_reproducible(supernet, batch):
    pytest.importorskip("lpzero_gp.proxy")
    subnets = LlamaSubnets(supernet)
    first = SubnetScorer(subnets, batch).score(supernet.space.heuristic(), "paper_llama")
    again = SubnetScorer(subnets, batch).score(supernet.space.heuristic(), "paper_llama")
    assert math.isfinite(first) and first == again
    g = SubnetScorer(subnets, batch).score(supernet.space.minimal(), "agg_mean(l1(G))")
    assert math.isfinite(g)
