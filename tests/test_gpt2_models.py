"""GPT-2 (LTS) space: records, model forward/loss contract, init and proxy-input collection."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from toy import tiny_gpt2_config

from lpzero_gp.errors import CalibrationError, SpaceError
from lpzero_gp.spaces.base import INPUT_NAMES, Record
from lpzero_gp.spaces.gpt2 import Gpt2Space, load_records_with_errors
from lpzero_gp.spaces.gpt2.config import resolve_config
from lpzero_gp.spaces.gpt2.model import build_model
from lpzero_gp.stats.calibration import space_batch

SPACE = Gpt2Space()
RECORDS = SPACE.load_records()
BY_ID = {record.id: record for record in RECORDS}
SMALLEST = "config_11_j5"  # k = 1, e = 128 != d = 64, 2 layers


def _first(predicate) -> str:
    """Id of the benchmark record with the fewest layers among those matching ``predicate``."""
    chosen = [r for r in RECORDS if predicate(r.config)]
    return min(chosen, key=lambda r: (r.config["n_layer"], r.config["d_model"])).id


K1_TIED = _first(lambda c: c["div_val"] == 1 and c["d_embed"] == c["d_model"])
K4 = _first(lambda c: c["div_val"] == 4)
CONFIGS = [SMALLEST, K1_TIED, K4]


def random_batch(batch: int, seq: int, vocab: int = 50264, seed: int = 0) -> dict:
    """Random next-token batch (labels are the inputs shifted by one)."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, seq + 1), generator=gen)
    return {"input_ids": ids[:, :-1], "labels": ids[:, 1:]}


BATCH = random_batch(2, 12)


def tiny_record(**overrides) -> Record:
    return Record(id="tiny", config=tiny_gpt2_config(**overrides), truth=-1.0)


@pytest.fixture(scope="module")
def collected(one_thread):
    """Intended and reference inputs for each test config, each collected twice."""
    results = {}
    for rid in CONFIGS:
        model = SPACE.build(BY_ID[rid], "default", 3)
        first = SPACE.collect(model, BATCH)
        second = SPACE.collect(model, BATCH)
        refs = [
            SPACE.collect(SPACE.build(BY_ID[rid], "default", 3), BATCH, "reference") for _ in "ab"
        ]
        results[rid] = (model, first, second, refs)
    return results


# --- records ---------------------------------------------------------------------------------


def test_packaged_records_and_sign_convention():
    assert len(RECORDS) == 200
    record = BY_ID["config_0_j0"]
    assert record.truth == pytest.approx(-45.022968707221274)
    assert record.raw["valid_ppl"] == pytest.approx(45.022968707221274)
    assert record.raw["test_ppl"] == pytest.approx(45.11893898899607)
    assert "negative validation perplexity" in SPACE.truth_label
    assert SPACE.name == "gpt2" and SPACE.variants == ("default",)


def test_broken_records_are_reported_and_skipped(tmp_path):
    raw = json.loads(json.dumps([r.raw for r in RECORDS[:5]]))
    del raw[1]["model_config"]["n_layer"]
    raw[2]["model_config"]["cutoffs"] = [40000, 20000]
    raw[3]["model_config"]["n_head"] = raw[3]["model_config"]["n_head"][:-1]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(raw))
    records, errors = load_records_with_errors(path)
    assert [r.id for r in records] == [raw[0]["id"], raw[4]["id"]]
    assert len(errors) == 3
    assert raw[1]["id"] in errors[0] and "n_layer" in errors[0]
    assert raw[2]["id"] in errors[1] and "cutoffs" in errors[1]
    assert raw[3]["id"] in errors[2] and "n_head" in errors[2]
    assert all("\n" not in message for message in errors)
    with pytest.warns(UserWarning) as caught:
        assert len(SPACE.load_records(str(path))) == 2
    assert len(caught) == 1  # one warning for all skipped records, not one each
    message = str(caught[0].message)
    assert "skipped 3 of 5 records" in message and "n_layer" in message
    assert all(r["id"] in message for r in raw[1:4])


def test_broken_record_fields(tmp_path):
    good = RECORDS[0].raw
    items = [
        dict(good),
        "not a record",
        {k: v for k, v in good.items() if k not in ("id", "valid_ppl")} | {"id": "no_ppl"},
        {**good, "id": "bad_ppl", "valid_ppl": "12"},
        {**good, "id": "huge_ppl", "valid_ppl": 10**400},
    ]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(items))
    records, errors = load_records_with_errors(path)
    assert len(records) == 1
    assert "#1" in errors[0]
    assert "no_ppl" in errors[1] and "valid_ppl" in errors[1]
    assert "bad_ppl" in errors[2]
    assert "huge_ppl" in errors[3] and len(errors[3]) < 200


def test_a_repeated_id_is_an_error_even_when_one_copy_is_skipped(tmp_path):
    good = RECORDS[0].raw
    for second in ({**good, "valid_ppl": 3.0}, {**good, "model_config": "oops"}):
        path = tmp_path / "dup.json"
        path.write_text(json.dumps([good, RECORDS[1].raw, second]))
        with pytest.raises(SpaceError, match=f"duplicate id '{good['id']}'"):
            load_records_with_errors(path)
        with pytest.raises(SpaceError, match="records #0 and #2"):
            SPACE.load_records(str(path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": 1}', "JSON list"),
        ("[1, 2", "not valid JSON"),
        ("[]", "no usable record"),
        ('[{"id": "x"}]', "no usable record"),
    ],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "bench.json"
    path.write_text(content)
    with pytest.raises(SpaceError, match=message):
        SPACE.load_records(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(SpaceError, match="not found"):
        SPACE.load_records(str(tmp_path / "nope.json"))


def test_unknown_variant():
    with pytest.raises(SpaceError, match="variant"):
        SPACE.num_params(RECORDS[0], "large")


# --- model, loss contract, init --------------------------------------------------------------


def test_single_cluster_loss_is_log_vocab_at_init():
    model = SPACE.build(tiny_record(cutoffs=[], div_val=1), "default", 0).eval()
    batch = random_batch(4, 16, vocab=300)
    with torch.no_grad():
        out = model(batch["input_ids"], batch["labels"])
    assert out.loss.item() == pytest.approx(math.log(300), abs=0.05)


def test_clustered_loss_matches_near_uniform_expectation():
    model = SPACE.build(tiny_record(), "default", 0).eval()
    batch = random_batch(4, 16, vocab=300)
    with torch.no_grad():
        out = model(batch["input_ids"], batch["labels"])
    # Near-uniform at init: head softmax over 100 tokens + 2 gates, tails over 100 tokens each.
    labels = batch["labels"].reshape(-1)
    per_token = math.log(102) + (labels >= 100).float() * math.log(100)
    assert out.loss.item() == pytest.approx(per_token.mean().item(), abs=0.05)
    assert out.nll.shape == batch["labels"].shape


@pytest.mark.parametrize(
    "overrides",
    [{}, {"div_val": 1, "tie_weight": False}, {"tie_projs": [True, False, False]}],
)
def test_adaptive_softmax_matches_spec_formula(overrides):
    record = tiny_record(**overrides)
    model = SPACE.build(record, "default", 1).eval()
    head = model.lm_head
    with torch.no_grad():
        for p in head.parameters():  # give the zero-initialised biases some values
            p.add_(0.3 * torch.randn_like(p))
        batch = random_batch(2, 8, vocab=300, seed=5)
        out = model(batch["input_ids"], batch["labels"])
        hidden = out.hidden.reshape(-1, 32)
        full = head.log_prob(hidden)
        assert torch.allclose(full.logsumexp(-1), torch.zeros(16), atol=1e-5)
        # NLL is scored at every position, in sequence order, without shifting the labels.
        gathered = -full.gather(1, batch["labels"].reshape(-1, 1)).view(2, 8)
        assert torch.allclose(out.nll, gathered, atol=1e-5)
        # Spec formula written out independently for token 0 of each cluster.
        w0, b0, q0 = head.cluster_params(0)
        z_head = (hidden @ q0) @ torch.cat([w0, head.cluster_weight]).T
        lp_head = F.log_softmax(z_head + torch.cat([b0, head.cluster_bias]), -1)
        w2, b2, q2 = head.cluster_params(2)
        lp_tail = F.log_softmax((hidden @ q2) @ w2.T + b2, -1)
        assert torch.allclose(full[:, 5], lp_head[:, 5], atol=1e-5)
        assert torch.allclose(full[:, 200 + 7], lp_head[:, 101] + lp_tail[:, 7], atol=1e-5)


def test_causality():
    model = SPACE.build(tiny_record(), "default", 0).eval()
    batch = random_batch(1, 10, vocab=300)
    changed = batch["input_ids"].clone()
    changed[0, 6] = (changed[0, 6] + 1) % 300
    with torch.no_grad():
        a = model(batch["input_ids"], batch["labels"]).nll
        b = model(changed, batch["labels"]).nll
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_embedding_lookup_for_div_val_above_one():
    model = SPACE.build(tiny_record(), "default", 0)
    emb = model.transformer.wte
    ids = torch.tensor([[3, 150, 299]])
    with torch.no_grad():
        out = emb(ids)[0]
        manual = [emb.tables[0][3] @ emb.projs[0].T, emb.tables[1][50] @ emb.projs[1].T]
        manual.append(emb.tables[2][99] @ emb.projs[2].T)
    assert torch.allclose(out, torch.stack(manual) * math.sqrt(32), atol=1e-6)


@torch.no_grad()
def test_init_scheme():
    record = BY_ID["config_0_j0"]
    model = SPACE.build(record, "default", 0)
    out_std = 0.02 / math.sqrt(2 * 5)
    weights = torch.cat([b.attn.c_proj.weight.flatten() for b in model.blocks])
    assert weights.std().item() == pytest.approx(out_std, rel=0.05)
    weights = torch.cat([b.mlp.c_proj.weight.flatten() for b in model.blocks])
    assert weights.std().item() == pytest.approx(out_std, rel=0.05)
    weights = torch.cat([b.mlp.c_fc.weight.flatten() for b in model.blocks])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05)
    for proj in model.transformer.wte.projs:  # never left at zero
        assert proj.std().item() == pytest.approx(0.01, rel=0.2)
    assert model.transformer.wpe.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert all(float(b.attn.c_attn.bias.abs().max()) == 0 for b in model.blocks)
    assert float(model.transformer.ln_f.weight.min()) == 1.0
    assert float(model.lm_head.cluster_bias.abs().max()) == 0


def test_build_is_seeded():
    a = SPACE.build(BY_ID[SMALLEST], "default", 7)
    b = SPACE.build(BY_ID[SMALLEST], "default", 7)
    c = SPACE.build(BY_ID[SMALLEST], "default", 8)
    pa, pb, pc = (dict(m.named_parameters()) for m in (a, b, c))
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert not torch.equal(pa["transformer.wpe.weight"], pc["transformer.wpe.weight"])


# --- collect ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", CONFIGS)
def test_intended_inputs(collected, rid):
    model, inputs, again, _ = collected[rid]
    cfg = resolve_config(BY_ID[rid].config)
    n, d = cfg.n_layer, cfg.d_model
    assert set(inputs) == set(INPUT_NAMES)
    for name in INPUT_NAMES:
        assert len(inputs[name]) == n, name
        for block_a, block_b in zip(inputs[name], again[name], strict=True):
            assert block_a, name
            for t, u in zip(block_a, block_b, strict=True):
                assert t.dtype == torch.float32 and not t.requires_grad
                assert torch.isfinite(t).all(), name
                assert torch.equal(t, u), name  # deterministic in eval mode
    for b in range(n):
        h, m = cfg.n_head[b], cfg.d_inner[b]
        assert [tuple(t.shape) for t in inputs["A"][b]] == [
            (2, 12, 3 * d),
            (2, 12, d),
            (2, 12, m),
            (2, 12, d),
        ]
        assert inputs["A"][b][2].min() > -0.2  # post-GELU
        assert [tuple(t.shape) for t in inputs["H"][b]] == [(2, h, 12, d // h)]
        (probs,) = inputs["S"][b]
        assert probs.shape == (2, h, 12, 12)
        assert torch.allclose(probs.sum(-1), torch.ones(2, h, 12), atol=1e-5)
        assert float(probs.triu(1).abs().max()) == 0.0  # causal
        assert [tuple(t.shape) for t in inputs["J"][b]] == [(2, 12, d)]
        assert float(inputs["J"][b][0].abs().max()) > 0
        assert [t.shape for t in inputs["G"][b]] == [t.shape for t in inputs["W"][b]]
        assert all(float(g.abs().max()) > 0 for g in inputs["G"][b])
        params = [block.weight for block in _convs(model.blocks[b])]
        assert all(torch.equal(w, p) for w, p in zip(inputs["W"][b], params, strict=True))


@pytest.mark.parametrize("rid", CONFIGS)
def test_reference_inputs(collected, rid):
    _, intended, _, (ref, ref_again) = collected[rid]
    n = resolve_config(BY_ID[rid].config).n_layer
    for name in INPUT_NAMES:
        assert len(ref[name]) == n
    assert all(block == [] for block in ref["S"]) and all(block == [] for block in ref["J"])
    for b in range(n):
        assert len(ref["A"][b]) == 4
        assert all(torch.equal(a, h) for a, h in zip(ref["A"][b], ref["H"][b], strict=True))
        assert ref["A"][b][2].min() < -0.2  # pre-GELU c_fc output (GELU >= -0.17)
        assert all(torch.equal(w, v) for w, v in zip(ref["W"][b], intended["W"][b], strict=True))
        assert all(torch.isfinite(g).all() and g.abs().max() > 0 for g in ref["G"][b])
        # dropout is active, yet a seeded build followed by collect is reproducible
        assert all(torch.equal(g, h) for g, h in zip(ref["G"][b], ref_again["G"][b], strict=True))
    assert not all(
        torch.equal(g, h) for g, h in zip(ref["G"][0], intended["G"][0], strict=True)
    )  # train-mode dropout changes the gradients


def _convs(block):
    return [block.attn.c_attn, block.attn.c_proj, block.mlp.c_fc, block.mlp.c_proj]


def test_collect_leaves_model_clean(collected):
    model = collected[SMALLEST][0]
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
        assert not module._backward_hooks
    assert all(p.grad is None for p in model.parameters())
    assert all(p.requires_grad for p in model.parameters())  # flags restored
    assert model.training  # a freshly built model is in train mode and stays so


def test_frozen_embeddings_leave_j_and_g_unchanged(collected):
    """collect skips embedding/output weight gradients; J and G equal a full backward's."""
    model, inputs, _, _ = collected[SMALLEST]
    seen = []
    handle = model.blocks[0].register_forward_pre_hook(
        lambda _m, args: seen.append(args[0].retain_grad() or args[0]))
    model.eval()
    try:
        model(BATCH["input_ids"], BATCH["labels"]).loss.backward()
    finally:
        handle.remove()
        model.train()
    assert model.transformer.wpe.weight.grad is not None  # this backward reached everything
    torch.testing.assert_close(seen[0].grad, inputs["J"][0][0], rtol=1e-5, atol=1e-8)
    for g, conv in zip(inputs["G"][-1], _convs(model.blocks[-1]), strict=True):
        torch.testing.assert_close(conv.weight.grad, g, rtol=1e-5, atol=1e-8)
    model.zero_grad(set_to_none=True)


def test_collect_rejects_bad_batches():
    model = SPACE.build(BY_ID[SMALLEST], "default", 0)
    with pytest.raises(SpaceError, match="tgt_len"):
        SPACE.collect(model, random_batch(1, 193))
    with pytest.raises(SpaceError, match="vocabulary"):
        SPACE.collect(
            model, {"input_ids": torch.full((1, 4), 50264), "labels": torch.zeros(1, 4).long()}
        )
    with pytest.raises(SpaceError, match="labels"):
        SPACE.collect(model, {"input_ids": torch.zeros(1, 4).long()})
    with pytest.raises(SpaceError, match="semantics"):
        SPACE.collect(model, random_batch(1, 4), "faithful")
    with pytest.raises(SpaceError, match="built by this space"):
        SPACE.collect(torch.nn.Linear(2, 2), random_batch(1, 4))


def test_calibration_delegates(monkeypatch):
    import lpzero_gp.stats.calibration as calibration

    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        return random_batch(kwargs["batch_size"], kwargs["seq_len"])

    monkeypatch.setattr(calibration, "lm_batch", fake)
    batch = space_batch(SPACE.calibration)
    assert seen == {
        "batch_size": 16,
        "seq_len": 192,
        "vocab_size": 50264,
        "tokenizer": None,
        "text": None,
    }
    assert batch["input_ids"].shape == (16, 192)
    monkeypatch.undo()
    with pytest.raises(CalibrationError, match="seq_len"):
        space_batch(SPACE.calibration, 2, 0)


def test_default_calibration_batch_runs():
    batch = space_batch(SPACE.calibration, 2, 8)
    assert batch["input_ids"].shape == batch["labels"].shape == (2, 8)
    assert torch.equal(batch["input_ids"][:, 1:], batch["labels"][:, :-1])
    model = build_model(resolve_config(BY_ID[SMALLEST].config), seed=0)
    with torch.no_grad():
        assert torch.isfinite(model(batch["input_ids"], batch["labels"]).loss)
