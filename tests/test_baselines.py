"""Hand-crafted baselines: finite on tiny models, equal to direct autograd, tree twins, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lpzero_gp.cli import main
from lpzero_gp.errors import OptionError, SpaceError
from lpzero_gp.score import baselines as BL
from lpzero_gp.score.fitness import rank
from lpzero_gp.score.scoring import score_raw
from lpzero_gp.spaces import get_space
from lpzero_gp.spaces.base import Record, arch_seed
from lpzero_gp.spaces.flexibert.space import parse_records, tied_mlm_loss
from lpzero_gp.spaces.gpt2.model import causal_mask
from lpzero_gp.stats.calibration import space_batch

SEED = 5
FLEX = get_space("flexibert")
GPT2 = get_space("gpt2")
ALL_MODEL_KEYS = [b.key for b in BL.BASELINES if b.needs != BL.FEATURE]


def _flex_layer(op, par, heads, f=1):
    return {"operation_type": op, "operation_parameter": par, "num_operation_heads": heads,
            "feed_forward_dimension": 256, "num_feed_forward": f}


def flex_record(rid="t0") -> Record:
    """Every reference mixer type in three layers (SA-WMA, LT-DFT, DSC-5)."""
    raw = {"id": rid, "hidden_size": 128, "scores": {"glue": 70.0},
           "encoder_layers": [_flex_layer("SA", "WMA", 4, 2), _flex_layer("LT", "DFT", 2),
                              _flex_layer("DSC", 5, 4)]}
    return parse_records([raw], "test")[0]


def gpt2_record(rid="g0", n_layer=2, d_model=32) -> Record:
    cfg = {"n_layer": n_layer, "d_model": d_model, "n_head": [2] * n_layer,
           "d_inner": [160] + [48] * (n_layer - 1), "n_token": 300, "d_embed": 64,
           "div_val": 2, "cutoffs": [100, 200], "tgt_len": 16, "tie_weight": True,
           "tie_projs": [False, True, True]}
    return Record(id=rid, config=cfg, truth=-1.0)


@pytest.fixture(scope="module")
def flex_batch():
    return space_batch(FLEX.calibration, 2, 16)


@pytest.fixture(scope="module")
def gpt2_batch():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 300, (2, 17), generator=gen)
    return {"input_ids": ids[:, :-1], "labels": ids[:, 1:]}


@pytest.fixture(scope="module")
def flex_scores(flex_batch):
    return {v: BL.score_architecture(FLEX, flex_record(), v, flex_batch, seed=SEED)
            for v in FLEX.variants}


@pytest.fixture(scope="module")
def gpt2_scores(gpt2_batch):
    return BL.score_architecture(GPT2, gpt2_record(), "default", gpt2_batch, seed=SEED)


# --- every baseline is finite -------------------------------------------------------------


@pytest.mark.parametrize("variant", ["reference", "as-trained"])
def test_flexibert_baselines_are_finite(flex_scores, variant):
    res = flex_scores[variant]
    for key in BL.BY_KEY:
        if key == "decoder_params":
            assert math.isnan(res.scores[key]) and "decoder" in res.errors[key]
            continue
        assert key not in res.errors, (key, res.errors.get(key))
        assert math.isfinite(res.scores[key]) and res.scores[key] != 0, key
        assert res.seconds[key] >= 0


def test_gpt2_baselines_are_finite(gpt2_scores):
    for key in BL.BY_KEY:
        assert key not in gpt2_scores.errors, (key, gpt2_scores.errors.get(key))
        assert math.isfinite(gpt2_scores.scores[key]) and gpt2_scores.scores[key] != 0, key


def test_reference_semantics_runs(flex_batch, gpt2_batch):
    for space, rec, var, batch in ((FLEX, flex_record(), "reference", flex_batch),
                                   (GPT2, gpt2_record(), "default", gpt2_batch)):
        res = BL.score_architecture(space, rec, var, batch, "reference", SEED,
                                    ["snip", "grasp", "synflow", "fisher", "jacobian_cosine"])
        assert not res.errors and all(math.isfinite(v) for v in res.scores.values())


def test_scores_are_deterministic(gpt2_batch, gpt2_scores):
    again = BL.score_architecture(GPT2, gpt2_record(), "default", gpt2_batch, seed=SEED)
    assert again.scores == gpt2_scores.scores


def test_params_and_layers_match_the_model(flex_scores):
    for variant, res in flex_scores.items():
        model = FLEX.build(flex_record(), variant, 0)
        assert res.scores["params"] == sum(p.numel() for p in model.parameters())
        assert res.scores["layers"] == 3


# --- direct autograd ------------------------------------------------------------------------


def _linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def test_flexibert_snip_gradnorm_synflow_match_autograd(flex_batch, flex_scores):
    rec = flex_record()
    for variant in FLEX.variants:
        model = FLEX.build(rec, variant, arch_seed(SEED, rec.id)).eval()
        hidden = model(flex_batch["input_ids"], flex_batch["token_type_ids"],
                       flex_batch["attention_mask"])
        tied_mlm_loss(model, hidden, flex_batch).backward()
        snip = sum(float((m.weight * m.weight.grad).abs().sum().detach()) for m in _linears(model))
        gnorm = sum(float(m.weight.grad.norm().detach()) for m in _linears(model))
        got = flex_scores[variant].scores
        assert got["snip"] == pytest.approx(snip, rel=1e-5)
        assert got["gradnorm"] == pytest.approx(gnorm, rel=1e-5)

        model.zero_grad()
        with torch.no_grad():
            for p in model.parameters():
                p.abs_()
        model.double()
        hidden = model(flex_batch["input_ids"], flex_batch["token_type_ids"],
                       flex_batch["attention_mask"])
        model.lm_logits(hidden).sum().backward()  # the full V-wide logits, summed
        syn = sum(float((m.weight * m.weight.grad).abs().sum().detach()) for m in _linears(model))
        assert got["synflow"] == pytest.approx(syn, rel=1e-9)


def test_gpt2_snip_gradnorm_synflow_match_autograd(gpt2_batch, gpt2_scores):
    rec = gpt2_record()
    model = GPT2.build(rec, "default", arch_seed(SEED, rec.id)).eval()
    model(gpt2_batch["input_ids"], gpt2_batch["labels"]).loss.backward()
    convs = [c for b in model.blocks for c in (b.attn.c_attn, b.attn.c_proj, b.mlp.c_fc,
                                                b.mlp.c_proj)]
    got = gpt2_scores.scores
    assert got["snip"] == pytest.approx(
        sum(float((c.weight * c.weight.grad).abs().sum().detach()) for c in convs), rel=1e-5)
    assert got["gradnorm"] == pytest.approx(
        sum(float(c.weight.grad.norm()) for c in convs), rel=1e-5)

    model.zero_grad()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.double()
    t = rec.config["tgt_len"]
    tr = model.transformer
    h = torch.ones(1, t, 32, dtype=torch.float64) + tr.wpe.weight[None]
    for block in tr.h:
        h = block(h, attention_mask=causal_mask(t, h.dtype, h.device))
    h = tr.ln_f(h)[0]
    head = model.lm_head
    w0, b0, p0 = head.cluster_params(0)
    logits = F.linear(h @ p0, torch.cat([w0, head.cluster_weight]),
                      torch.cat([b0, head.cluster_bias]))
    logits.sum().backward()
    syn = sum(float((c.weight * c.weight.grad).abs().sum().detach()) for c in convs)
    assert got["synflow"] == pytest.approx(syn, rel=1e-9)


# --- tree twins -----------------------------------------------------------------------------


def _tree_check(space, rec, variant, batch, result):
    model = space.build(rec, variant, arch_seed(SEED, rec.id))
    torch.manual_seed(arch_seed(SEED, rec.id))
    raw = space.collect(model, batch)
    for key in ("snip_gw", "gradnorm_block", "params_gw", "layers"):
        tree = BL.BY_KEY[key].tree
        assert score_raw(tree, raw, budget=1 << 30) == pytest.approx(result.scores[key],
                                                                     rel=1e-4), key


def test_trees_equal_the_direct_baselines(flex_batch, gpt2_batch, flex_scores, gpt2_scores):
    for variant in FLEX.variants:
        _tree_check(FLEX, flex_record(), variant, flex_batch, flex_scores[variant])
    _tree_check(GPT2, gpt2_record(), "default", gpt2_batch, gpt2_scores)
    # on GPT-2 the G/W modules are every Conv1D, so SNIP itself is the tree
    assert gpt2_scores.scores["snip_gw"] == gpt2_scores.scores["snip"]


def test_tree_rankings_match_on_several_gpt2_models(gpt2_batch):
    recs = [gpt2_record(f"g{i}", n, d) for i, (n, d) in enumerate([(1, 32), (2, 64), (3, 32)])]
    direct, trees = [], []
    for rec in recs:
        res = BL.score_architecture(GPT2, rec, "default", gpt2_batch, seed=SEED,
                                    keys=["snip", "gradnorm_block"])
        model = GPT2.build(rec, "default", arch_seed(SEED, rec.id))
        raw = GPT2.collect(model, gpt2_batch)
        direct.append([res.scores["snip"], res.scores["gradnorm_block"]])
        trees.append([score_raw(BL.BY_KEY[k].tree, raw) for k in ("snip_gw", "gradnorm_block")])
    direct, trees = np.array(direct), np.array(trees)
    for j in range(2):  # the stored statistics subsample rows: same ranking, not same value
        assert list(np.argsort(direct[:, j])) == list(np.argsort(trees[:, j]))


# --- formulas -------------------------------------------------------------------------------


def test_nuclear_norm_matches_svd():
    w = torch.randn(7, 19, generator=torch.Generator().manual_seed(1))
    for t in (w, w.T):
        assert BL.nuclear_norm(t) == pytest.approx(float(torch.linalg.matrix_norm(
            t.double(), "nuc")), rel=1e-10)


def test_jacobian_cosine_known_values():
    assert BL.jacobian_cosine(torch.eye(4)) == pytest.approx(1.0)  # orthogonal: no overlap
    same = torch.ones(5, 3)  # 3 identical hidden-dim vectors: |cos| = 1 everywhere
    assert BL.jacobian_cosine(same) == pytest.approx(0.5)
    with pytest.raises(SpaceError, match="all zero"):
        BL.jacobian_cosine(torch.tensor([[1.0, 0.0], [2.0, 0.0]]))


def test_unavailable_baselines_say_why(flex_batch):
    rec = flex_record()
    res = BL.score_architecture(FLEX, rec, "reference", flex_batch, keys=["decoder_params"])
    assert "encoder-only" in res.errors["decoder_params"]
    class NoHooks(type(get_space("gpt2"))):
        name = "nohooks"

        def baseline_hooks(self):
            return None

    res = BL.score_architecture(NoHooks(), gpt2_record(), "default", {}, keys=["snip"])
    assert "supplies no baseline hooks" in res.errors["snip"]
    with pytest.raises(SpaceError, match="unknown baseline"):
        BL.check_keys(["snip", "zen"])


# --- published feature numbers ----------------------------------------------------------------


@pytest.mark.parametrize("space,variant,key,rho,tau", [
    ("flexibert", "reference", "params", 0.652, 0.454),
    ("flexibert", "as-trained", "params", 0.765, 0.573),
    ("flexibert", "reference", "layers", 0.834, 0.682),
    ("gpt2", "default", "decoder_params", 0.967, 0.847),
    ("gpt2", "default", "params", 0.737, 0.582),
])
def test_feature_baselines_reproduce_the_spec(space, variant, key, rho, tau):
    sp = get_space(space)
    recs = sp.load_records()
    s = [BL.feature_score(sp, r, variant, key) for r in recs]
    res = rank(s, [r.truth for r in recs])
    assert (round(res.rho, 3), round(res.tau, 3)) == (rho, tau)


# --- command line ---------------------------------------------------------------------------


def test_cli_writes_tables_and_reuses_cache(tmp_path, capsys):
    out, cache = tmp_path / "bl", tmp_path / "cache"
    args = ["baselines", "--space", "gpt2", "--archs", "3", "--batch-size", "1", "--seq-len",
            "8", "--proxies", "params,decoder_params,layers,attention_confidence", "--out",
            str(out), "--cache-dir", str(cache), "--quiet"]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "calibration batch 1x8" in table
    assert "Decoder #Params" in table and "0.847" in table and "semantics: **intended**" in table
    names = ("baselines.csv", "baselines.md", "scores.csv", "scores.json", "meta.json")
    files = {name: (out / name).read_bytes() for name in names}
    first = json.loads(files["scores.json"])
    assert len(first) == 3 and all(r["scores"]["attention_confidence"] for r in first)
    timing = json.loads((out / "timing.json").read_text())
    assert {"params", "decoder_params", "layers", "attention_confidence"} <= set(
        timing["seconds_per_arch"]) and len(timing["seconds"]) == 3
    assert "s/arch" in table and "wall time" in table  # printed, never written
    assert all(b"s/arch" not in v and b"wall" not in v and b"seconds" not in v
               for v in files.values())
    assert main(args) == 2  # exists without --force
    assert "--force" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0  # served from the cache
    assert {name: (out / name).read_bytes() for name in names} == files
    cold = tmp_path / "cold"  # measured again, other timings: the same files but the command

    def uncommanded(folder):
        got = {name: (folder / name).read_text() for name in names}
        got["meta.json"] = {k: v for k, v in json.loads(got["meta.json"]).items()
                            if k != "command"}
        got["baselines.md"] = [x for x in got["baselines.md"].splitlines()
                               if not x.startswith("- command:")]
        return got

    assert main([*args[:-5], "--out", str(cold), "--no-cache", "--quiet"]) == 0
    assert uncommanded(cold) == uncommanded(out)


@pytest.mark.parametrize("extra,message", [
    (["--batch", "4by128"], "BATCHxSEQ_LEN"),
    (["--proxies", "snip,nope"], "unknown baseline"),
    (["--archs", "1"], "--archs 1"),
    (["--archs", "train"], "--archs: unknown split 'train'"),
    (["--variant", "large"], "no variant"),
    (["--seq-len", "513"], "--seq-len 513"),
    (["--batch", "2x16", "--batch-size", "2"], "give the calibration batch once"),
    (["--stat-budget", "512"], "--trees"),
])
def test_cli_bad_input_is_one_line(tmp_path, capsys, extra, message):
    code = main(["baselines", "--space", "flexibert", "--out", str(tmp_path / "x"), "--quiet",
                 "--proxies", "params", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_pool_mapper_yields_every_result():
    from lpzero_gp.parallel import make_mapper

    assert sorted(make_mapper(1)(abs, [-1, -3, 2])) == [1, 2, 3]
    with pytest.raises(OptionError, match="--workers"):
        make_mapper(0)


# --- the score cache --------------------------------------------------------------------------


def test_cached_scores_carry_a_digest_and_damaged_entries_are_recomputed(tmp_path,
                                                                         monkeypatch):
    import warnings

    from faulty_space import ToySpace

    from lpzero_gp.score.baselines import tasks
    from lpzero_gp.stats.extract import ExtractConfig

    space = ToySpace()
    records, batch = space.load_records(), space_batch(space.calibration, 2, 8)
    cfg, keys = ExtractConfig("toy", "default"), ["params", "layers"]

    def scores(**kw):
        got = BL.score_many(space, records, batch, cfg, keys, cache_dir=str(tmp_path), **kw)
        return [(r.id, r.scores) for r in got]

    first = scores()
    folder = BL.cache_folder(tmp_path, cfg, batch)
    digests = [space.record_digest(r) for r in records]
    files = [BL.cache_file(folder, r.id, d) for r, d in zip(records, digests, strict=True)]
    entry = json.loads(files[0].read_text())
    assert entry["key"] == f"{folder.name}/{records[0].id}/{digests[0]}"
    assert len(entry["digest"]) == 64
    entry["scores"]["scores"]["params"] += 1  # an edited value
    files[0].write_text(json.dumps(entry))
    files[2].write_bytes(files[1].read_bytes())  # a swapped file
    files[3].write_text("{not json")  # a damaged file
    with pytest.warns(UserWarning) as caught:
        assert scores() == first
    said = [str(w.message) for w in caught if "cache" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("3 baseline score cache entries in ")
    assert f"architecture {records[0].id}: its content does not match its digest" in said[0]
    assert said[0].endswith("(and 2 more); recomputing")

    def no_task(_args):
        raise AssertionError("scored again instead of read from the cache")

    monkeypatch.setattr(tasks, "_task", no_task)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scores() == first  # every entry rewritten, and now read back
    files[2].write_bytes(files[1].read_bytes())
    with pytest.raises(BL.ScoresFileError, match="another architecture"):
        BL.read_cached(folder, records[2].id, digests[2])


def test_an_edited_record_is_scored_again_not_read_from_the_cache(tmp_path):
    """Baseline scores are keyed by what defines the architecture, not its id alone."""
    from dataclasses import replace

    from faulty_space import ToySpace

    from lpzero_gp.stats.extract import ExtractConfig

    space = ToySpace()
    records, batch = space.load_records()[:2], space_batch(space.calibration, 2, 8)
    cfg, keys = ExtractConfig("toy", "default"), ["params"]
    first = BL.score_many(space, records, batch, cfg, keys, cache_dir=str(tmp_path))
    wider = {**records[0].config, "width": records[0].config["width"] * 2}
    edited = [replace(records[0], config=wider), records[1]]
    again = BL.score_many(space, edited, batch, cfg, keys, cache_dir=str(tmp_path))
    assert again[0].id == first[0].id
    assert again[0].scores["params"] != first[0].scores["params"]
    assert again[1].scores == first[1].scores
