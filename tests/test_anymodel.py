"""Any transformer: statistics found from the structure, checked against a hand computation.

Families: BERT, RoBERTa (masked-LM), GPT-2, Llama, OPT and GPT-NeoX (causal-LM), all tiny
random-init models built from their transformers configs offline.
"""

from __future__ import annotations

import math
import random

import pytest
import torch
import torch.nn.functional as F
import transformers as hf  # model classes load on first use, not at collection
from torch import nn

import lpzero_gp as lz
from lpzero_gp.errors import ProxyError, SpaceError
from lpzero_gp.primitives.pset import make_pset
from lpzero_gp.proxy.generate import gen_lpzero
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.score.anymodel import collect_stats, score_model
from lpzero_gp.spaces.hf.collect import collect_inputs
from lpzero_gp.stats.calibration import bert_batch, lm_batch

VOCAB = 6500  # above the shipped tokenizers' ids (5,562 WordPiece, 6,426 byte-level BPE)
SIZE = {"vocab_size": VOCAB, "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 64}
FAMILIES = {
    "bert": lambda: hf.BertForMaskedLM(hf.BertConfig(**SIZE)),
    "roberta": lambda: hf.RobertaForMaskedLM(hf.RobertaConfig(**{**SIZE, "pad_token_id": 1})),
    "gpt2": lambda: hf.GPT2LMHeadModel(hf.GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2,
                                               n_head=4, n_positions=64, bos_token_id=1,
                                               eos_token_id=1)),
    "llama": lambda: hf.LlamaForCausalLM(hf.LlamaConfig(**SIZE)),
    "opt": lambda: hf.OPTForCausalLM(hf.OPTConfig(vocab_size=VOCAB, hidden_size=32, ffn_dim=64,
                                            num_hidden_layers=2, num_attention_heads=4,
                                            max_position_embeddings=64,
                                            word_embed_proj_dim=32)),
    "gpt_neox": lambda: hf.GPTNeoXForCausalLM(hf.GPTNeoXConfig(**SIZE)),
}
MASKED = ("bert", "roberta")


def _model(family: str) -> nn.Module:
    torch.manual_seed(0)
    return FAMILIES[family]()


def _batch(family: str) -> dict[str, torch.Tensor]:
    return bert_batch(2, 16) if family in MASKED else lm_batch(2, 16, vocab_size=VOCAB)


def _random_proxy(seed: int) -> str:
    return format_tree(gen_lpzero(make_pset(), rng=random.Random(seed)))


def _hooks(model: nn.Module) -> list[int]:
    return [len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
            for m in model.modules()]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_named_and_random_proxies_score_on_every_family(family):
    model = _model(family)
    proxies = ["flexibert-best", "gpt2-best", _random_proxy(sorted(FAMILIES).index(family))]
    scores = score_model(model, _batch(family), proxies)
    assert list(scores) == proxies
    assert all(math.isfinite(v) for v in scores.values()), scores
    raw = collect_inputs(model, _batch(family))
    for letter in "AHSJGW":  # every input found from the structure, in every block
        assert len(raw[letter]) == 2 and all(raw[letter]), (family, letter)


@pytest.mark.parametrize("family", ["gpt2", "bert"])
def test_hooks_mode_and_flags_are_restored_also_on_failure(family):
    model = _model(family)
    batch = _batch(family)
    model.train()
    next(model.parameters()).requires_grad_(False)  # a frozen table stays frozen
    flags = [p.requires_grad for p in model.parameters()]
    attention = model.config._attn_implementation
    assert attention != "eager"  # switched to eager for the pass, then back
    collect_inputs(model, batch)  # transformers installs its own output hooks once
    before = _hooks(model)
    collect_inputs(model, batch)
    assert _hooks(model) == before and model.training
    assert model.config._attn_implementation == attention
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())

    def broken(_outputs, _batch):
        raise RuntimeError("loss failed")

    with pytest.raises(RuntimeError, match="loss failed"):
        collect_inputs(model, batch, loss=broken)
    assert _hooks(model) == before and model.training
    assert [p.requires_grad for p in model.parameters()] == flags


def test_gpt2_statistics_equal_a_hand_computation():
    model = _model("gpt2").eval()
    batch = _batch("gpt2")
    raw = collect_inputs(model, batch)
    ids, labels = batch["input_ids"], batch["labels"]
    tr, block = model.transformer, model.transformer.h[0]
    heads, width = 4, 8

    out = model(input_ids=ids, output_hidden_states=True)
    loss = F.cross_entropy(out.logits.reshape(-1, VOCAB), labels.reshape(-1))
    convs = [block.attn.c_attn, block.attn.c_proj, block.mlp.c_fc, block.mlp.c_proj]
    grads = torch.autograd.grad(loss, [c.weight for c in convs] + list(out.hidden_states[:2]))

    with torch.no_grad():  # block 0 by hand: causal attention, then the GELU MLP
        x = tr.wte(ids) + tr.wpe(torch.arange(16))
        q, k, v = block.attn.c_attn(block.ln_1(x)).split(32, dim=-1)
        q, k, v = (t.reshape(2, 16, heads, width).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(width)
        probs = scores.masked_fill(torch.ones(16, 16).triu(1).bool(), -math.inf).softmax(-1)
        context = probs @ v
        attn = block.attn.c_proj(context.transpose(1, 2).reshape(2, 16, 32))
        act = block.mlp.act(block.mlp.c_fc(block.ln_2(x + attn)))

    close = {"atol": 1e-5, "rtol": 1e-4}
    torch.testing.assert_close(raw["S"][0][0], probs, **close)
    torch.testing.assert_close(raw["S"][0][0].sum(-1), torch.ones(2, heads, 16))
    torch.testing.assert_close(raw["H"][0][0], context, **close)
    torch.testing.assert_close(raw["A"][0][0], act, **close)
    for i, conv in enumerate(convs):  # Conv1D (in, out) weights read as (out, in)
        torch.testing.assert_close(raw["W"][0][i], conv.weight.t())
        torch.testing.assert_close(raw["G"][0][i], grads[i].t(), **close)
    torch.testing.assert_close(raw["J"][0][0], grads[4], **close)
    torch.testing.assert_close(raw["J"][1][0], grads[5], **close)


def test_bert_statistics_equal_a_hand_computation():
    model = _model("bert").eval()
    batch = _batch("bert")
    raw = collect_inputs(model, batch)
    layer = model.bert.encoder.layer[1]
    seen = {}
    handle = layer.attention.register_forward_hook(lambda _m, _i, out: seen.update(att=out[0]))
    try:
        with torch.no_grad():
            model(input_ids=batch["input_ids"])
    finally:
        handle.remove()
    linears = [layer.attention.self.query, layer.attention.self.key,
               layer.attention.self.value, layer.attention.output.dense,
               layer.intermediate.dense, layer.output.dense]
    assert len(raw["W"][1]) == len(linears)
    for got, linear in zip(raw["W"][1], linears, strict=True):
        torch.testing.assert_close(got, linear.weight)
    with torch.no_grad():
        act = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(seen["att"]))
    torch.testing.assert_close(raw["A"][1][0], act, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(raw["S"][1][0].sum(-1), torch.ones(2, 4, 16))
    assert raw["H"][1][0].shape == (2, 4, 16, 8)


def test_one_pass_scores_many_proxies_and_full_budget_is_exact():
    model = _model("llama")
    stats = collect_stats(model, _batch("llama"), budget=None)
    assert stats.n_blocks == 2
    by_hand = sum(math.sqrt(sum(float(m.weight.detach().pow(2).sum()) for m in layer.modules()
                                if isinstance(m, nn.Linear)))
                  for layer in model.model.layers)
    assert stats.score("agg_sum(fro(W))") == pytest.approx(by_hand, rel=1e-5)
    proxies = ["gpt2-best", "agg_mean(l1(G))", "agg_sum(fro(J))"]
    assert stats.scores(proxies) == score_model(model, _batch("llama"), proxies, budget=None)
    with pytest.raises(ProxyError):
        stats.score("agg_sum(fro(Q))")


class _TinyLM(nn.Module):
    """No transformers: one causal block list with an nn.Softmax, returns logits."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 16)
        self.stack = nn.ModuleList(_TinyBlock() for _ in range(3))
        self.head = nn.Linear(16, VOCAB)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(input_ids)
        for block in self.stack:
            x = block(x)
        return self.head(x)


class _TinyBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv, self.out = nn.Linear(16, 48), nn.Linear(16, 16)
        self.fc1, self.fc2, self.act = nn.Linear(16, 32), nn.Linear(32, 16), nn.GELU()
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        mask = torch.ones(x.shape[1], x.shape[1]).triu(1).bool()
        probs = self.softmax((q @ k.transpose(-1, -2)).masked_fill(mask, -math.inf))
        x = x + self.out(probs @ v)
        return x + self.fc2(self.act(self.fc1(x)))


def test_a_plain_torch_model_with_named_blocks_and_loss():
    torch.manual_seed(0)
    model = _TinyLM()
    batch = lm_batch(2, 8, vocab_size=VOCAB)
    with pytest.raises(SpaceError, match="masked or a causal LM"):
        collect_inputs(model, batch)
    raw = collect_inputs(model, batch, loss="causal-lm", blocks="stack")
    assert len(raw["S"]) == 3 and raw["S"][0][0].shape == (2, 8, 8)
    assert raw["H"][0][0].shape == (2, 8, 16) and raw["A"][0][0].shape == (2, 8, 32)
    same = collect_inputs(model, batch, loss="causal-lm", blocks=list(model.stack))
    torch.testing.assert_close(same["G"], raw["G"])
    with pytest.raises(SpaceError, match="no attribute path"):
        collect_inputs(model, batch, loss="causal-lm", blocks="layers")


def test_unusable_models_and_batches_are_one_line_errors():
    with pytest.raises(SpaceError, match="masked or a causal LM"):
        collect_inputs(hf.BertModel(hf.BertConfig(**SIZE)), bert_batch(2, 16))
    with pytest.raises(SpaceError, match="unknown loss"):
        collect_inputs(_model("gpt2"), _batch("gpt2"), loss="mse")
    small = hf.GPT2LMHeadModel(hf.GPT2Config(vocab_size=100, n_embd=32, n_layer=1, n_head=4,
                                       bos_token_id=1, eos_token_id=1))
    with pytest.raises(SpaceError, match="outside the model's vocabulary of 100"):
        collect_inputs(small, _batch("gpt2"))
    with pytest.raises(SpaceError, match="no list of repeated blocks"):
        collect_inputs(nn.Sequential(nn.Embedding(VOCAB, 8), nn.Linear(8, VOCAB)),
                       _batch("gpt2"), loss="causal-lm")


def test_the_package_exports_the_functions_lazily():
    assert {"score_model", "collect_stats"} <= set(lz.__all__)
    model = _model("gpt2")
    assert lz.score_model(model, _batch("gpt2"), "gpt2-best") == score_model(
        model, _batch("gpt2"), ["gpt2-best"])
