"""The Python API: the few functions a researcher calls, with the command line's options."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import lpzero_gp as lz
from lpzero_gp.proxy.export import import_json
from lpzero_gp.proxy.parse import format_tree

HEAVY = ("torch", "numpy", "scipy", "sympy", "transformers", "deap", "matplotlib")


def test_import_is_light():
    code = f"import sys, lpzero_gp; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_export_proxy_round_trips_through_json():
    text = lz.export_proxy("flexibert-best", "json")
    assert format_tree(import_json(text)) == json.loads(text)["proxy"]
    assert "\\sum" in lz.export_proxy("agg_sum(fro(W))", "latex")
    with pytest.raises(lz.LpzeroError):
        lz.export_proxy("agg_sum(fro(Q))")


@pytest.mark.xdist_group("stats-cache")  # beside the other readers (conftest)
def test_evaluate_and_search_on_a_small_sample(tmp_path, stats_cache):
    small = {"space": "gpt2", "batch_size": 2, "seq_len": 16, "quiet": True,
             "cache_dir": stats_cache}  # a pathlib.Path is taken as a path
    report = lz.evaluate_proxies(["decoder_params", "agg_sum(fro(J))"], archs="5", **small)
    rows = report.data["results"]
    assert [r["proxy"] for r in rows] == ["decoder_params", "agg_sum(fro(J))", "config-formula"]
    assert all(r["n"] == 5 for r in rows) and report.lines[0].startswith("space gpt2")

    out = tmp_path / "run"
    report = lz.search_proxy(lz.RunOptions(**small), search_archs=6, heldout=4,
                             budget="quick", evaluations=20, out=out, rps=True, memo=True)
    assert report.data["search"]["n"] == 6 and report.data["heldout"]["n"] == 4
    assert (out / "best.json").is_file()
    with pytest.raises(TypeError):
        lz.search_proxy(no_such_option=1)
