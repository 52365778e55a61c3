"""scripts/cost_scaling.py: per-sub-network seconds of each cost class against a perplexity
evaluation, on the tiny Llama only (the smallest settings)."""

from __future__ import annotations

import json

import pytest
from run_check import load_script


def test_tiny_model_gives_every_class_and_a_ratio_to_perplexity(tmp_path, capsys):
    out = tmp_path / "cost.json"
    data = load_script("cost_scaling").main(["--models", "tiny", "--subnets", "1", "--windows", "1",
                               "--threads", "1", "--out", str(out)])
    assert json.loads(out.read_text())["rows"][0]["model"] == "tiny"
    row = data["rows"][0]
    assert set(row["median_seconds"]) == {"weights", "forward", "backward", "perplexity"}
    assert all(v > 0 for v in row["median_seconds"].values())
    assert row["ratio_to_perplexity"]["perplexity"] == pytest.approx(1.0)
    assert data["proxies"]["backward"].startswith("agg_")  # llama-best, expanded
    assert "tiny" in capsys.readouterr().out


def test_a_proxy_of_the_wrong_cost_class_is_refused():
    with pytest.raises(SystemExit, match="forward, not weights"):
        load_script("cost_scaling").main(["--models", "tiny", "--weights-proxy", "agg_mean(l1(H))"])
