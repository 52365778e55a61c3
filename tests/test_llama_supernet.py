"""Elastic activation by slicing: exact equivalence with dense models, parameter counts."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from lpzero_gp.errors import SpaceError
from lpzero_gp.spaces.llama.cost import subnet_cost
from lpzero_gp.spaces.llama.elastic import ElasticLinear, make_elastic
from lpzero_gp.spaces.llama.supernet import LonasSupernet, build_base, tiny_config


@pytest.fixture(scope="module")
def ids() -> torch.Tensor:
    return torch.randint(0, 8192, (2, 16), generator=torch.Generator().manual_seed(0))


def _logits(sn: LonasSupernet, ids: torch.Tensor) -> torch.Tensor:
    sn.model.eval()
    with torch.no_grad():
        return sn.model(input_ids=ids, use_cache=False).logits


def _linear(weight: torch.Tensor) -> nn.Linear:
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        lin.weight.copy_(weight)
    return lin


def _dense(sn: LonasSupernet, config) -> nn.Module:
    """A plain LlamaForCausalLM built at the sub-network's sizes with merged sliced weights."""
    from transformers import LlamaForCausalLM

    dense = LlamaForCausalLM(tiny_config()).eval()
    base = sn.model.get_base_model()
    with torch.no_grad():
        dense.model.embed_tokens.weight.copy_(base.model.embed_tokens.weight)
        dense.model.norm.weight.copy_(base.model.norm.weight)
        dense.lm_head.weight.copy_(base.lm_head.weight)
    scale = sn.meta["lora_alpha"] / sn.meta["lora_r"]
    for i, (a, w, m) in enumerate(sn.space.per_layer(config)):
        src, dst = sn.layers[i], dense.model.layers[i]
        with torch.no_grad():
            dst.input_layernorm.weight.copy_(src.input_layernorm.weight)
            dst.post_attention_layernorm.weight.copy_(src.post_attention_layernorm.weight)
            dst.self_attn.o_proj.weight.copy_(src.self_attn.o_proj.weight)
        for p in ("q_proj", "k_proj", "v_proj"):
            lora = getattr(src.self_attn, p)
            wa, wb = lora.lora_A["default"].weight, lora.lora_B["default"].weight
            merged = lora.base_layer.weight + scale * wb[:, :a] @ wa[:a]
            setattr(dst.self_attn, p, _linear(merged))
        for p in ("gate_proj", "up_proj"):
            lora = getattr(src.mlp, p)
            wa, wb = lora.lora_A["default"].weight, lora.lora_B["default"].weight
            merged = lora.base_layer.weight[:w] + scale * wb[:w, :m] @ wa[:m]
            setattr(dst.mlp, p, _linear(merged))
        lora = src.mlp.down_proj
        wa, wb = lora.lora_A["default"].weight, lora.lora_B["default"].weight
        dst.mlp.down_proj = _linear(lora.base_layer.weight[:, :w] + scale * wb @ wa[:, :w])
    return dense


def test_slicing_matches_dense_models(supernet, ids):
    rng = random.Random(0)
    configs = [supernet.space.minimal(), supernet.space.heuristic(), supernet.space.sample(rng)]
    for config in configs:
        supernet.activate(config)
        got = _logits(supernet, ids)
        with torch.no_grad():
            want = _dense(supernet, config)(input_ids=ids, use_cache=False).logits
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    supernet.activate(supernet.space.maximal())


def test_maximal_equals_unwrapped_peft_and_switching_is_exact(ids):
    sn = LonasSupernet.build("tiny", seed=3)
    maximal = _logits(sn, ids)
    sn.activate(sn.space.minimal())
    smaller = _logits(sn, ids)
    sn.activate(sn.space.maximal())
    assert torch.equal(_logits(sn, ids), maximal)
    assert not torch.allclose(smaller, maximal)
    with sn.active(sn.space.minimal()):
        assert torch.equal(_logits(sn, ids), smaller)
    assert sn.config == sn.space.maximal()
    for mod in sn.elastic_modules():  # un-wrap: plain peft LoRA layers again
        mod.__class__ = nn.Linear
    assert torch.equal(_logits(sn, ids), maximal)


def test_no_weight_copies(supernet):
    before = {id(p): p.data_ptr() for p in supernet.model.parameters()}
    supernet.activate(supernet.space.minimal())
    after = {id(p): p.data_ptr() for p in supernet.model.parameters()}
    supernet.activate(supernet.space.maximal())
    assert before == after
    views = dict(supernet.active_parameters())
    with supernet.active(supernet.space.minimal()):
        small = dict(supernet.active_parameters())
    name = "layers.0.mlp.gate_proj.base_layer"
    assert small[name].shape == (88, 64) and views[name].shape == (176, 64)
    assert small[name].data_ptr() == views[name].data_ptr()


def test_zero_lora_init_pitfall(ids):
    def pair(init: str) -> tuple[torch.Tensor, torch.Tensor]:
        sn = LonasSupernet.build("tiny", seed=1, lora_init=init)
        a = _logits(sn, ids)
        cfg = list(sn.space.maximal())
        cfg[0] = 7  # only the attention adapter rank of layer 0 differs
        sn.activate(tuple(cfg))
        return a, _logits(sn, ids)

    a, b = pair("zero")
    assert torch.equal(a, b)
    a, b = pair("nonzero")
    assert not torch.allclose(a, b)


def test_analytic_param_counts_match_activated_model(supernet):
    rng = random.Random(2)
    space = supernet.space
    configs = [space.maximal(), space.heuristic(), space.minimal()]
    configs += [space.sample(rng) for _ in range(5)]
    constant = sum(
        p.numel() for n, p in supernet.model.named_parameters() if ".layers." not in n
    ) + sum(
        p.numel()
        for n, p in supernet.model.named_parameters()
        if "layernorm" in n
    )
    for config in configs:
        with supernet.active(config):
            counted = supernet.count_active_params()
        cost = subnet_cost(space, config)
        assert counted == cost.params
        assert cost.total_params == counted + constant
    total = sum(p.numel() for p in supernet.model.parameters())
    assert subnet_cost(space, space.maximal()).total_params == total


def test_seeded_build_is_deterministic(ids):
    a = _logits(LonasSupernet.build("tiny", seed=5), ids)
    b = _logits(LonasSupernet.build("tiny", seed=5), ids)
    assert torch.equal(a, b)


def test_bad_inputs_raise_space_error(tmp_path):
    with pytest.raises(SpaceError, match="a checkpoint folder or a .gguf file"):
        LonasSupernet.build(str(tmp_path / "nope"))
    with pytest.raises(SpaceError, match="no config.json"):
        LonasSupernet.build(str(tmp_path))
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(SpaceError, match="not a Llama"):
        LonasSupernet.build(str(tmp_path))
    with pytest.raises(SpaceError, match="dtype"):
        LonasSupernet.build(dtype="int3")
    with pytest.raises(SpaceError, match="LoRA init"):
        LonasSupernet.build(lora_init="odd")
    lin = make_elastic(nn.Linear(4, 3))
    assert isinstance(lin, ElasticLinear)
    with pytest.raises(SpaceError, match="outside"):
        lin.set_active(out=5)


def test_saved_checkpoint_and_adapter_load(tmp_path, ids):
    base_dir, adapter_dir = tmp_path / "llama", tmp_path / "adapter"
    build_base("tiny", seed=7).save_pretrained(base_dir)  # the supernet's base, unwrapped
    sn = LonasSupernet.build("tiny", seed=7)
    sn.model.save_pretrained(adapter_dir)
    loaded = LonasSupernet.build(str(base_dir), seed=7, adapter=str(adapter_dir))
    assert loaded.space.maximal() == sn.space.maximal()
    assert loaded.meta["lora_r"] == 8
    for config in (sn.space.maximal(), sn.space.minimal()):
        sn.activate(config)
        loaded.activate(config)
        torch.testing.assert_close(_logits(loaded, ids), _logits(sn, ids))
