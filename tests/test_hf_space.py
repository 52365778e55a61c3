"""The ``hf`` space end to end: a user file of transformers configs through run, eval, baselines.

The benchmark the tests write holds 24 tiny decoders of two families (GPT-2 and Llama). Its
truth is a real but tiny measurement, made for this plumbing test and claiming nothing more:
the LM loss of each model, from its seeded init, after 3 Adam steps (lr 1e-2) on a 2 x 16
token batch (lower is better).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch

from lpzero_gp.cli import main
from lpzero_gp.spaces import get_space
from lpzero_gp.spaces.hf import HfSpace
from lpzero_gp.spaces.hf.losses import causal_lm_loss
from lpzero_gp.spaces.hf.models import build_model
from lpzero_gp.stats.calibration import bert_batch, lm_batch

VOCAB = 6500
TINY = ["--batch-size", "2", "--seq-len", "16", "--quiet"]


def _config(i: int) -> dict:
    layers, width = 1 + i % 3, (16, 32)[(i // 6) % 2]
    if i % 2:
        return {"model_type": "gpt2", "n_layer": layers, "n_embd": width, "n_head": 4,
                "vocab_size": VOCAB, "n_positions": 32, "bos_token_id": 1, "eos_token_id": 1}
    return {"model_type": "llama", "num_hidden_layers": layers, "hidden_size": width,
            "num_attention_heads": 4, "intermediate_size": 2 * width, "vocab_size": VOCAB,
            "max_position_embeddings": 32}


def _trained_loss(rid: str, config: dict, batch: dict) -> float:
    model = build_model(rid, config, "causal-lm", seed=0).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        causal_lm_loss(model(input_ids=batch["input_ids"]), batch).backward()
        opt.step()
    with torch.no_grad():
        return round(float(causal_lm_loss(model.eval()(input_ids=batch["input_ids"]), batch)), 6)


def _write(path: Path, records: list[dict], **header) -> Path:
    path.write_text(json.dumps({"higher_is_better": False, "truth_label": "LM loss after 3 "
                                "Adam steps", **header, "records": records}))
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    """24 tiny GPT-2 and Llama decoders with their measured truth."""
    batch = lm_batch(2, 16, vocab_size=VOCAB)
    records = [{"id": f"arch{i:02d}", "config": _config(i)} for i in range(24)]
    for r in records:
        r["truth"] = _trained_loss(r["id"], r["config"], batch)
    return _write(tmp_path_factory.mktemp("hf") / "bench.json", records)


def test_the_space_reads_the_file_and_builds_seeded_models(bench):
    space = get_space("hf")
    records = space.load_records(str(bench))
    assert len(records) == 24 and space.kind == "causal-lm"
    assert space.calibration.kind == "lm" and space.calibration.vocab_size == VOCAB
    assert space.calibration.max_seq_len == 32
    assert "lower is better" in space.truth_label
    raw = json.loads(bench.read_text())["records"][0]
    assert records[0].truth == -raw["truth"]  # stored higher-is-better
    model = space.build(records[1], "default", seed=7)
    assert space.num_params(records[1], "default") == sum(p.numel() for p in
                                                           model.parameters())
    assert space.features(records[1], "default") == {
        "params": float(space.num_params(records[1], "default")), "layers": 2.0,
        "hidden": 16.0}
    again, other = (space.build(records[1], "default", seed=s) for s in (7, 8))
    first = next(iter(model.state_dict().values()))
    assert torch.equal(first, next(iter(again.state_dict().values())))
    assert not torch.equal(first, next(iter(other.state_dict().values())))
    assert model.config._attn_implementation == "eager"


def test_a_masked_lm_file_takes_a_bert_batch(tmp_path):
    records = [{"id": t, "config": {"model_type": t, "num_hidden_layers": 1, "hidden_size": 16,
                                    "num_attention_heads": 2, "intermediate_size": 32,
                                    "vocab_size": 6000, "pad_token_id": 1}, "truth": i}
               for i, t in enumerate(("bert", "roberta", "electra"))]
    space = HfSpace()
    loaded = space.load_records(str(_write(tmp_path / "m.json", records,
                                           higher_is_better=True)))
    assert space.kind == "masked-lm" and space.calibration.kind == "bert"
    assert "masked-LM" in space.loss_label("intended")
    raw = space.collect(space.build(loaded[2], "default", 0), bert_batch(2, 16))
    assert all(raw[letter] for letter in "AHSJGW")


def _report(path: Path, name: str) -> dict:
    return json.loads((path / name).read_text())


@pytest.mark.parametrize("size", [12, pytest.param(24, marks=pytest.mark.slow)])
def test_run_eval_and_baselines_on_a_user_file(bench, size, tmp_path, capsys, monkeypatch):
    """The whole file (slow) or its first 12 records (the same code, fast)."""
    data = json.loads(bench.read_text())
    path = _write(tmp_path / "bench.json", data["records"][:size])
    failing = f"arch{size - 1:02d}"
    build = HfSpace.build

    def build_or_fail(self, record, variant, seed):
        if record.id == failing:
            raise RuntimeError("simulated out of memory")
        return build(self, record, variant, seed)

    monkeypatch.setattr(HfSpace, "build", build_or_fail)
    out, n_search = tmp_path / "run", size // 2 - 2
    cache = tmp_path / "cache"  # the eval below reads the statistics the run computed
    argv = ["run", "--space", "hf", "--benchmark", path, "--budget", "quick", "--evaluations",
            "20", "--search-archs", n_search, "--heldout", "heldout", "--out", out,
            "--cache-dir", cache, *TINY]
    assert main([str(a) for a in argv]) == 0
    printed = capsys.readouterr().out
    summary = _report(out, "summary.json")
    search, held = summary["search"], summary["heldout"]
    assert summary["space"] == "hf" and search["n"] + len(search["missing"]) == n_search
    assert held["n"] + len(held["missing"]) == size - n_search  # every one not searched
    assert search["missing"] + held["missing"] == [failing]
    assert held["note"].startswith(f"small sample (n={held['n']})")
    assert held["ci"] and all(v["ci"] for v in summary["baselines_heldout"].values())
    assert set(summary["baselines_heldout"]) == {"params", "layers", "hidden", "config-formula"}
    assert "small sample" in printed and "without statistics left out" in printed
    assert "95% CI" in (out / "summary.md").read_text()

    argv = ["eval", "--space", "hf", "--benchmark", path, "--archs", "all", "--proxy",
            "params", "--proxy", "gpt2-best", "--json", "--cache-dir", cache, *TINY]
    assert main([str(a) for a in argv]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["missing"] == [failing]
    n = size - 1
    assert [r["n"] for r in report["results"]] == [n, n]  # the same architectures
    small = n < 20  # below SMALL_SAMPLE: an interval and a note without --ci
    assert all(bool(r["ci"]) == bool(r["note"]) == small for r in report["results"])

    out = tmp_path / "base"
    argv = ["baselines", "--space", "hf", "--benchmark", path, "--archs", "4",
            "--batch-size", "2", "--seq-len", "16",
            "--proxies", "params,snip,softmax_confidence,jacobian_cosine", "--out", out, "--quiet"]
    assert main([str(a) for a in argv]) == 0
    with open(out / "baselines.csv", newline="") as f:
        rows = {r["key"]: r for r in csv.DictReader(f)}
    for key in ("params", "snip", "softmax_confidence"):
        assert rows[key]["n"] == "4" and math.isfinite(float(rows[key]["rho"])), rows[key]
    assert "no learned position table" in rows["jacobian_cosine"]["note"]  # Llama: rotary


def _refused(capsys, argv: list) -> str:
    assert main([str(a) for a in argv]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


GOOD = {"id": "a", "config": {"model_type": "gpt2", "n_layer": 1, "n_embd": 16, "n_head": 2},
        "truth": 1.0}


@pytest.mark.parametrize(("content", "fragment"), [
    ("not json", "not valid JSON"),
    ([GOOD], "expected a JSON object"),
    ({"records": [GOOD]}, "'higher_is_better' must be true or false"),
    ({"records": [], "higher_is_better": True}, "'records' must be a non-empty list"),
    ({"records": [{**GOOD, "config": {"model_type": "no-such-model"}}],
      "higher_is_better": True}, "unknown model_type 'no-such-model'"),
    ({"records": [{**GOOD, "config": {"model_type": "bert", "hidden_size": 30,
                                      "num_attention_heads": 4}}],
      "higher_is_better": True}, "record a: transformers cannot build this config"),
    # transformers 5.24 rejects the config itself; the 5.3 floor accepts it and fails to build
    ({"records": [{**GOOD, "config": {"model_type": "gpt2", "n_embd": "wide"}}],
      "higher_is_better": True}, "record a: transformers "),
    ({"records": [GOOD, {**GOOD, "id": "b", "config": {"model_type": "bert"}}],
      "higher_is_better": True}, "mixes causal-lm (a) and masked-lm (b) records"),
    ({"records": [GOOD, GOOD], "higher_is_better": True}, "duplicate id 'a' (records #0 and #1)"),
    ({"records": [{**GOOD, "truth": float("nan")}], "higher_is_better": True},
     "'truth' must be a finite number"),
    ({"records": [{**GOOD, "config": {"model_type": "clip"}}], "higher_is_better": True},
     "has neither a masked-LM nor a causal-LM head"),
])
def test_a_malformed_file_is_one_line_and_exit_2(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    line = _refused(capsys, ["eval", "--space", "hf", "--benchmark", path, "--proxy", "params",
                             "--quiet"])
    assert fragment in line, line


def test_without_a_file_the_space_says_how_to_give_one(capsys):
    line = _refused(capsys, ["eval", "--space", "hf", "--proxy", "params", "--quiet"])
    assert "ships no benchmark: give --benchmark FILE" in line
