"""Input checks of benchmark files, front tables and option values: a repeated CSV column or
JSON key, header text that would reach reports unescaped, and benchmark files of any space
too large or holding too many records are each refused in one line before any work."""

from __future__ import annotations

import json
import re

import pytest
from cli_check import refused

from lpzero_gp.errors import OptionError, ProxyError, SpaceError
from lpzero_gp.jsonfile import csv_rows
from lpzero_gp.proxy.read import front_proxies
from lpzero_gp.spaces import base
from lpzero_gp.spaces.flexibert.space import FlexibertSpace
from lpzero_gp.spaces.gpt2.space import Gpt2Space
from lpzero_gp.spaces.hf import records as hf_records
from lpzero_gp.spaces.llama.ground_truth import load_ground_truth
from lpzero_gp.spaces.llama.space import LonasSpace, ModelDims
from lpzero_gp.workflows.optionspec import SPACE_OPTIONS

#: Three sub-networks of the ``tiny`` llama model (ranks 8/7, widths 176..88).
SUBNETS = ["8 8 8 8 176 176 176 176 8 8 8 8", "7 7 7 7 88 88 88 88 7 7 7 7",
           "8 7 8 7 176 88 176 88 8 7 8 7"]


@pytest.fixture(scope="module")
def tiny() -> LonasSpace:
    return LonasSpace(ModelDims(4, 64, 176, 4, 4, 16, 8192))


def _llama_csv(path, header: str = "config,accuracy,accuracy") -> str:
    rows = [f'"{c}",{a},{b}' for c, a, b in zip(SUBNETS, (0.71, 0.64, 0.69), (0.1, 0.9, 0.5),
                                                 strict=True)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def _hf_file(path, label: str = "ppl", n: int = 3, vocab: int = 300) -> str:
    rows = [{"id": f"g{i}", "truth": 40.0 - i,
             "config": {"model_type": "gpt2", "n_layer": 1 + i % 2, "n_embd": 32, "n_head": 4,
                        "vocab_size": vocab, "n_positions": 64}} for i in range(n)]
    path.write_text(json.dumps({"truth_label": label, "higher_is_better": False,
                                "records": rows}))
    return str(path)


# -- repeated CSV columns ----------------------------------------------------------------------

def test_csv_rows_refuses_a_repeated_column_and_reads_a_plain_table():
    assert csv_rows("a,b\n1,2\n", "t.csv") == (["a", "b"], [{"a": "1", "b": "2"}])
    with pytest.raises(SpaceError, match=r'^t\.csv: repeated column "b" \(each column may '
                                         r"appear once in the header\)$"):
        csv_rows("a,b,b\n1,2,3\n", "t.csv")
    with pytest.raises(ProxyError, match=r"^t\.csv: not a readable CSV table \(field larger"):
        csv_rows("a\n" + "x" * 200_000 + "\n", "t.csv", error=ProxyError)


def test_a_llama_csv_benchmark_with_a_repeated_column_is_refused(tmp_path, tiny, capsys):
    path = _llama_csv(tmp_path / "d.csv")
    with pytest.raises(SpaceError, match=r'd\.csv: repeated column "accuracy"'):
        load_ground_truth(path, tiny)
    refused(capsys, ["eval", "--space", "llama", "--space-option", "model=tiny", "--benchmark",
                     path, "--proxy", "paper_llama", "--out", tmp_path / "X"],
            'repeated column "accuracy"')
    assert not (tmp_path / "X").exists()
    # the same table with its columns named once is read
    truth = load_ground_truth(_llama_csv(tmp_path / "ok.csv", "config,accuracy,other"), tiny)
    assert sorted(truth.table.values()) == [0.64, 0.69, 0.71]


def test_a_front_table_with_a_repeated_proxy_column_is_refused(tmp_path, capsys):
    path = tmp_path / "front.csv"
    path.write_text("proxy,rho,proxy\nparams,0.5,layers\n")
    with pytest.raises(ProxyError, match=r'front\.csv: repeated column "proxy"'):
        front_proxies(str(path))
    refused(capsys, ["eval", "--space", "gpt2", "--proxy", path, "--archs", "3", "--no-cache"],
            'repeated column "proxy"')
    path.write_text("proxy,rho\nparams,0.5\nlayers,0.4\n")
    assert front_proxies(str(path)) == ["params", "layers"]


# -- repeated JSON keys in an option value -----------------------------------------------------

def test_a_repeated_key_in_a_json_space_option_is_the_json_error_naming_the_option(capsys):
    with pytest.raises(OptionError, match=r"^space_options: modules: duplicate key a \(each "
                                          r"key may appear once in an object\)$"):
        SPACE_OPTIONS.check(['modules={"a":1,"a":2}'])
    refused(capsys, ["eval", "--space", "llama", "--space-option", 'modules={"a":1,"a":2}',
                     "--proxy", "params"], "--space-option", "modules: duplicate key a")
    # JSON is read as JSON, anything else (or nested past the reader's bound) stays text
    assert SPACE_OPTIONS.check(['modules={"a":1}', "model=tiny", 'x={"a":1,"a"',
                                "y=" + "[" * 200 + "]" * 200]) == {
        "modules": {"a": 1}, "model": "tiny", "x": '{"a":1,"a"', "y": "[" * 200 + "]" * 200}


# -- header text shown in reports --------------------------------------------------------------

@pytest.mark.parametrize(("label", "shown"), [
    ("ppl\u202e", "bidirectional control character U+202E"),
    ("=evil()|x\ny", "control character U+000A (a line break)"),
    ("ppl\x1b[31m", "control character U+001B"),
])
def test_an_hf_truth_label_with_control_or_bidi_characters_is_refused(tmp_path, capsys, label,
                                                                      shown):
    path = _hf_file(tmp_path / "b.json", label)
    with pytest.raises(SpaceError, match=re.escape(f"b.json: 'truth_label' holds the {shown}; "
                                                   "labels must be plain printable text on one "
                                                   "line")):
        hf_records.load_benchmark(path)
    refused(capsys, ["eval", "--space", "hf", "--benchmark", path, "--proxy", "params",
                     "--out", tmp_path / "X"], "'truth_label' holds the")
    assert not (tmp_path / "X").exists()


def test_a_plain_label_with_a_pipe_is_kept_and_escaped_in_summary_md(tmp_path):
    from lpzero_gp.cli import main

    path = _hf_file(tmp_path / "b.json", " loss | ppl ", n=6, vocab=50257)
    assert hf_records.load_benchmark(path).truth_label == "loss | ppl"
    assert main(["eval", "--space", "hf", "--benchmark", path, "--proxy", "params", "--out",
                 str(tmp_path / "X"), "--no-cache", "--quiet"]) == 0
    lines = (tmp_path / "X" / "summary.md").read_text().splitlines()
    assert any(ln.startswith("Truth: loss \\| ppl (lower is better") for ln in lines)


def test_a_llama_metric_with_a_line_break_is_refused(tmp_path, tiny):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"metric": "ppl\nTruth: fake", "higher_is_better": False,
                                "subnets": [{"config": c, "ppl\nTruth: fake": 10.0 + i}
                                            for i, c in enumerate(SUBNETS)]}))
    with pytest.raises(SpaceError, match=r"'metric' holds the control character U\+000A"):
        load_ground_truth(str(path), tiny)


# -- size and record limits of every space's benchmark file ------------------------------------

def _plain_records(n: int) -> list[dict]:
    """``n`` records of any content: the count is checked before any record is read."""
    return [{"id": i} for i in range(n)]


def _space_loader(name: str, tiny: LonasSpace):
    if name == "gpt2":
        return Gpt2Space().load_records, _plain_records
    if name == "flexibert":
        return FlexibertSpace().load_records, _plain_records
    if name == "llama":
        return (lambda path: load_ground_truth(path, tiny)), _plain_records
    return hf_records.load_benchmark, lambda n: {"higher_is_better": True, "records": [
        {"id": i, "config": {"model_type": "gpt2"}, "truth": 1.0} for i in range(n)]}


@pytest.mark.parametrize("space", ["gpt2", "flexibert", "llama", "hf"])
def test_a_large_benchmark_file_of_any_space_is_refused_before_it_is_read(tmp_path, monkeypatch,
                                                                          tiny, space):
    load, _ = _space_loader(space, tiny)
    path = tmp_path / "s.json"
    with open(path, "wb") as f:  # sparse: 3 MiB that cost nothing to make
        f.truncate(3 << 20)
    monkeypatch.setenv(base.MAX_BENCHMARK_MB_ENV, "2")
    monkeypatch.setattr("lpzero_gp.jsonfile.Path.read_text",
                        lambda *a, **k: pytest.fail("the file was read"))
    with pytest.raises(SpaceError, match=r"s\.json is 3 MiB, over the 2 MiB limit \(raise it "
                                         r"with LPZERO_GP_MAX_BENCHMARK_MB=MB\)"):
        load(str(path))


@pytest.mark.parametrize("space", ["gpt2", "flexibert", "llama", "hf"])
def test_too_many_records_of_any_space_are_refused_before_any_is_checked(tmp_path, monkeypatch,
                                                                         tiny, space):
    load, rows = _space_loader(space, tiny)
    path = tmp_path / "many.json"
    path.write_text(json.dumps(rows(6)))
    monkeypatch.setenv(base.MAX_RECORDS_ENV, "5")
    with pytest.raises(SpaceError, match=r"many\.json: 6 records, over the limit of 5 \(.*raise "
                                         r"the limit with LPZERO_GP_MAX_RECORDS=N\)"):
        load(str(path))


def test_a_llama_csv_with_too_many_rows_is_refused(tmp_path, tiny, monkeypatch):
    path = _llama_csv(tmp_path / "d.csv", "config,accuracy,other")
    monkeypatch.setenv(base.MAX_RECORDS_ENV, "2")
    with pytest.raises(SpaceError, match=r"3 records, over the limit of 2"):
        load_ground_truth(path, tiny)


def test_the_record_limit_and_size_check_are_one_shared_check():
    assert hf_records.check_file_size is base.check_file_size
    assert (hf_records.MAX_RECORDS, hf_records.MAX_RECORDS_ENV) == (10_000,
                                                                   "LPZERO_GP_MAX_RECORDS")
    assert (hf_records.MAX_BENCHMARK_MB_ENV, hf_records.MAX_BENCHMARK_MB) == (
        "LPZERO_GP_MAX_BENCHMARK_MB", 64)
