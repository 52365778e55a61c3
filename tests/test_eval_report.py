"""``eval`` reports what a proxy adds beyond size and depth: partial and within-group columns,
``--compare``, ``--out``, and undefined correlations printed as such.

The benchmarks are the first packaged GPT-2 records written as user files and the proxies are
its feature proxies, so no model is built; one check scores a proxy string on four tiny
decoders.
"""

from __future__ import annotations

import csv
import json
import math

import pytest

from lpzero_gp.cli import main
from lpzero_gp.spaces import get_space
from lpzero_gp.workflows.report import corr, metric_label, plot_generations
from lpzero_gp.workflows.run import summary_lines
from lpzero_gp.workflows.splits import select

TINY = ["--batch-size", "2", "--seq-len", "16", "--quiet"]


@pytest.fixture(scope="module")
def packaged():
    return get_space("gpt2").load_records(None)


@pytest.fixture(scope="module")
def raw_records(packaged):
    return [r.raw for r in packaged[:40]]


def _bench(path, records):
    path.write_text(json.dumps(records))
    return path


def _eval(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in ["eval", "--space", "gpt2", *argv, *TINY]])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_rows_carry_partial_and_within_and_compare_prints_paired_differences(
        tmp_path, raw_records, capsys):
    bench = _bench(tmp_path / "b.json", raw_records)
    code, out, _ = _eval(capsys, "--benchmark", bench, "--proxy", "decoder_params", "--proxy",
                         "params", "--proxy", "layers", "--compare")
    assert code == 0
    lines = out.splitlines()
    key = next(line for line in lines if line.startswith("partial|params: Spearman given"))
    assert "within layers" in key
    rows = {line.split(":")[0]: line for line in lines[1:4]}
    assert "partial|params invalid (the score ranks are those of params)" in rows["params"]
    assert "within layers 0.000 [0.000, 0.000]" in rows["layers"]
    assert "partial|params 0." in rows["decoder_params"]
    paired = [line for line in lines if " vs " in line]
    assert [line.split(":")[0] for line in paired] == ["decoder_params vs params",
                                                       "decoder_params vs layers",
                                                       "decoder_params vs config-formula"]
    assert all("Δrho " in line and ", P(Δ≤0)=" in line for line in paired)

    code, out, _ = _eval(capsys, "--benchmark", bench, "--proxy", "decoder_params", "--proxy",
                         "params", "--compare", "--json")
    data = json.loads(out)
    pair, formula = data["comparisons"]
    assert formula["b"] == "config-formula"
    rho = {r["proxy"]: r["rho"] for r in data["results"]}
    assert pair["diff"] == pytest.approx(rho["decoder_params"] - rho["params"])
    assert pair["ci"][0] <= pair["diff"] <= pair["ci"][1] and 0 <= pair["p_le_zero"] <= 1
    row = data["results"][0]
    assert row["partial"]["given"] == "params" and row["within"]["by"] == "layers"
    assert row["partial"]["ci"][0] <= row["partial"]["rho"] <= row["partial"]["ci"][1]
    assert sum(g["n"] for g in row["within"]["groups"]) == row["n"] == 40


def test_compare_needs_two_proxies(tmp_path, raw_records, capsys):
    bench = _bench(tmp_path / "b.json", raw_records)
    code, out, err = _eval(capsys, "--benchmark", bench, "--proxy", "params", "--compare")
    assert code == 2 and not out
    assert err.strip().startswith("error: --compare needs at least two") and \
        len(err.strip().splitlines()) == 1


def test_out_writes_scores_summary_and_plot_identically_twice(tmp_path, raw_records, capsys):
    bench = _bench(tmp_path / "b.json", raw_records[:24])
    out = tmp_path / "report"
    argv = ["--benchmark", bench, "--proxy", "decoder_params", "--proxy", "params", "--compare",
            "--out", out]
    code, printed, _ = _eval(capsys, *argv)
    assert code == 0 and f"results: {out}" in printed
    names = {"scores.csv", "scores_raw.csv", "summary.json", "summary.md", "score_vs_truth.png",
             "timing.json"}
    assert {p.name for p in out.iterdir()} == names
    with open(out / "scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "truth", "params", "layers", "decoder_params"]
    assert len(rows) == 24 and all(math.isfinite(float(r["decoder_params"])) for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert [r["proxy"] for r in summary["results"]] == ["decoder_params", "params"]
    assert summary["comparisons"][0]["b"] == "params"
    md = (out / "summary.md").read_text()
    assert "| proxy | n | Spearman | Kendall | partial\\|params | within layers |" in md
    assert "decoder_params vs params: Δrho" in md
    first = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "timing.json"}

    code, _, err = _eval(capsys, *argv)  # an existing folder needs --force, before any work
    assert code == 2 and "exists (use --force" in err
    assert _eval(capsys, *argv, "--force")[0] == 0
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "timing.json"} == first


def test_constant_truth_prints_invalid_never_a_number(tmp_path, raw_records, capsys):
    """The file's truth varies (as a benchmark must), but not on its test split."""
    space = get_space("gpt2")
    bench = _bench(tmp_path / "b.json", raw_records[:20])
    test = {r.id for r in select(space.load_records(str(bench)), "test", space, False)}
    flat = [{**r, "valid_ppl": 30.0} if r["id"] in test else r for r in raw_records[:20]]
    bench = _bench(tmp_path / "flat.json", flat)
    code, out, _ = _eval(capsys, "--benchmark", bench, "--archs", "test", "--proxy", "params",
                         "--proxy", "layers", "--compare")
    assert code == 0
    body = out.splitlines()[1:]
    assert "Spearman invalid (constant truth)  Kendall invalid (constant truth)" in body[0]
    assert "partial|params invalid (constant truth)" in body[0]
    assert "params vs layers: invalid (A: constant truth" in out
    assert "-2.000" not in out and "nan" not in out.lower()


def test_a_proxy_string_is_scored_with_the_baselines(tmp_path, packaged, capsys):
    space = get_space("gpt2")
    smallest = sorted(packaged, key=space.num_params)[:4]
    bench = _bench(tmp_path / "b.json", [r.raw for r in smallest])
    out = tmp_path / "report"
    code, printed, _ = _eval(capsys, "--benchmark", bench, "--archs", "all", "--proxy",
                             "agg_sum(fro(W))", "--out", out)
    assert code == 0 and printed.splitlines()[1].startswith("agg_sum(fro(W)): n=4  Spearman")
    with open(out / "scores.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["id", "truth", "params", "layers", "agg_sum(fro(W))"]


def test_run_summary_lines_print_invalid_correlations():
    class Ex:
        loaded = built = 0

    nan = float("nan")
    ctrl = {"partial": {"given": "params", "rho": nan, "ci": None, "reason": "constant truth"},
            "within": {"by": "layers", "rho": 0.25, "ci": [0.1, 0.4], "reason": ""}}
    summary = {"space": "gpt2", "variant": "default", "semantics": "intended", "truth": "t",
               "proxy": "agg_sum(fro(W))",
               "search": {"n": 8, "rho": -2.0, "tau": nan, "ci": None, "note": None,
                          "missing": []},
               "heldout": {"split": "validation", "n": 12, "rho": nan, "tau": nan, "ci": None,
                           "reason": "constant scores", "note": None, "missing": [], **ctrl},
               "baselines_heldout": {"params": {"rho": 0.5, "tau": 0.4, "ci": None,
                                                "reason": "", **ctrl}},
               "free": {"comparisons": []}, "verdict": "the proxy is undefined"}
    text = "\n".join(summary_lines(summary, Ex(), "out", 1.0))
    assert "search (8 archs): Spearman invalid (no valid proxy found)" in text
    assert "Spearman invalid (constant scores)  Kendall invalid (constant scores)" in text
    assert "partial|params invalid (constant truth)  within layers 0.250 [0.100, 0.400]" in text
    assert "-2.000" not in text and corr(-2.0) == "invalid (undefined)"


def test_lower_is_better_truth_is_named_by_its_metric(tmp_path):
    label = "negative validation perplexity (lower perplexity is better)"
    assert metric_label(label, False) == "validation perplexity (lower perplexity is better)"
    assert metric_label("loss (lower is better; stored negated, so higher is better)",
                        False) == "loss (lower is better)"
    assert metric_label("GLUE average", True) == "GLUE average"
    log = [{"gen": g, "best": 0.5 + g / 10, "median": 0.2} for g in range(3)]
    plot_generations(log, tmp_path / "g.png", "t", [0.4, -2.0, 0.6], "validation")
    assert (tmp_path / "g.png").stat().st_size > 0


def test_the_generation_curve_scores_each_best_proxy_once(monkeypatch):
    from types import SimpleNamespace

    import lpzero_gp.workflows.run as run

    asked = []

    def fake(loaded, proxy, records, label="eval", with_ci=False, labelled=True):
        asked.append(proxy)
        return SimpleNamespace(result=SimpleNamespace(rho={"a": 0.5, "b": 0.7}[proxy]))

    monkeypatch.setattr(run, "evaluate_proxy", fake)
    held = SimpleNamespace(records=[])
    log = [{"gen": 0, "best_proxy": "a"}, {"gen": 1, "best_proxy": "a"},
           {"gen": 2, "best_proxy": "b"}]
    assert run._generation_curve(None, held, log) == [0.5, 0.5, 0.7] and asked == ["a", "b"]
    assert run._generation_curve(None, held, [{"gen": 0, "best": 0.4}]) is None
