"""What a benchmark file says reaches results tables harmlessly, or is refused in one line.

* JSON with a key repeated in one object is refused, naming the key's path, at any depth
  (:func:`lpzero_gp.jsonfile.loads_json`, the one reader of user JSON).
* Record ids and config text with control or bidirectional characters are refused with the
  record's position and the code point (``check_records``, which every space's loader ends in).
* CSV cells that a spreadsheet would run as a formula get a leading ``'`` (numbers are kept);
  Markdown table cells cannot break their row.
"""

from __future__ import annotations

import csv
import json
from importlib import resources

import pytest
from cli_check import refused

from lpzero_gp.atomic import AtomicFolder, csv_cell
from lpzero_gp.errors import CheckpointError, SpaceError
from lpzero_gp.jsonfile import loads_json, read_json
from lpzero_gp.spaces import get_space
from lpzero_gp.spaces.base import Record, check_records
from lpzero_gp.workflows.report import markdown_table


def _gpt2_records(n: int = 6) -> list[dict]:
    text = resources.files("lpzero_gp.spaces.gpt2").joinpath("data", "gpt2_wt103.json")
    return json.loads(text.read_text())[:n]


# ---- duplicate keys -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "path"), [
    ('{"a": 1, "a": 2}', "a"),
    ('{"records": [{}, {}, {}, {"higher_is_better": true, "higher_is_better": false}]}',
     "records[3].higher_is_better"),
    ('[{"config": {"n": {"x": 1, "x": 1}}}]', "[0].config.n.x"),
    ('{"odd key": {"b c": 1, "b c": 2}}', '["odd key"]["b c"]'),
    ('{"\\u202e": 1, "\\u202e": 2}', '["\\u202e"]'),
])
def test_a_repeated_key_is_refused_naming_its_path(text, path):
    with pytest.raises(CheckpointError) as err:
        loads_json(text, "f.json", error=CheckpointError)
    assert str(err.value) == (f"f.json: duplicate key {path} (each key may appear once in an "
                              "object)")


def test_json_without_repeated_keys_reads_as_before():
    text = '{"a": [1, {"b": 2, "c": [{"b": 3}]}], "b": {"a": 1}}'
    assert loads_json(text, "f") == json.loads(text)


def test_a_benchmark_file_with_a_repeated_key_is_one_line(tmp_path, capsys):
    records = [json.dumps(r) for r in _gpt2_records(3)]
    records[2] = records[2][:-1] + ', "valid_ppl": 1.0}'  # the last value would win silently
    path = tmp_path / "dup.json"
    path.write_text("[" + ", ".join(records) + "]")
    with pytest.raises(SpaceError, match=r"duplicate key \[2\]\.valid_ppl"):
        read_json(path, "gpt2 benchmark file")
    refused(capsys, ["eval", "--space", "gpt2", "--benchmark", path, "--proxy", "params",
                     "--out", tmp_path / "o"], "duplicate key [2].valid_ppl", str(path))
    assert not (tmp_path / "o").exists()


def test_an_hf_benchmark_header_repeated_in_a_record_is_named(tmp_path, capsys):
    good = {"id": "a", "config": {"model_type": "gpt2", "n_layer": 1, "n_embd": 16,
                                  "n_head": 2}, "truth": 1.0}
    rows = [json.dumps({**good, "id": f"r{i}"}) for i in range(4)]
    rows[3] = rows[3][:-1] + ', "higher_is_better": true, "higher_is_better": false}'
    path = tmp_path / "bench.json"
    path.write_text('{"higher_is_better": true, "records": [' + ", ".join(rows) + "]}")
    refused(capsys, ["eval", "--space", "hf", "--benchmark", path, "--proxy", "params",
                     "--quiet"], "duplicate key records[3].higher_is_better")


def test_a_proxy_document_with_a_repeated_key_is_refused(tmp_path, capsys):
    path = tmp_path / "best.json"
    path.write_text('{"proxy": "params", "proxy": "layers"}')
    refused(capsys, ["export", "--proxy", path], "duplicate key proxy")


# ---- control and bidirectional characters at load -------------------------------------------

BAD_IDS = [("x\x00y", "control character U+0000"), ("x\x1b[31m", "control character U+001B"),
           ("x\x85", "control character U+0085"), ("x\u202ey", "U+202E"),
           ("x\u2066y", "U+2066"), ("x\u200fy", "U+200F"), ("x\ny", "U+000A"),
           ("x\ty", "U+0009")]


@pytest.mark.parametrize(("rid", "fragment"), BAD_IDS)
def test_check_records_refuses_control_and_bidi_characters_in_ids(rid, fragment):
    records = [Record("a", {}, 1.0), Record("b", {}, 2.0), Record(rid, {}, 3.0)]
    with pytest.raises(SpaceError) as err:
        check_records(records, "f.json")
    assert str(err.value).startswith("f.json: record #2: its id holds the ")
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_check_records_names_the_file_position_of_a_skipped_record():
    records = [Record("a", {}, 1.0), Record("b", {}, 2.0)]
    with pytest.raises(SpaceError, match=r"record #1: its id holds .* U\+202E"):
        check_records(records, "f", ids=["a", "x\u202e", "b"])


def test_check_records_refuses_bidi_in_config_text_and_allows_line_breaks():
    ok = [Record("a", {"note": "two\nlines\tand a tab"}, 1.0), Record("b", {}, 2.0)]
    assert check_records(ok, "f") == ok
    bad = [Record("a", {}, 1.0), Record("b", {"names": ["ok", "x\u202d"]}, 2.0)]
    with pytest.raises(SpaceError, match=r"record #1: config\.names\[1\] .* U\+202D"):
        check_records(bad, "f")
    with pytest.raises(SpaceError, match=r"record #0: config \(a key\) .* U\+0000"):
        check_records([Record("a", {"k\x00": 1}, 1.0), Record("b", {}, 2.0)], "f")


def _flexibert_records(n: int) -> list[dict]:
    text = resources.files("lpzero_gp.spaces.flexibert").joinpath("data",
                                                                   "flexibert_glue.json")
    return json.loads(text.read_text())[:n]


@pytest.mark.parametrize("space", ["gpt2", "flexibert", "hf"])
def test_every_space_loader_refuses_a_bidi_id(tmp_path, space):
    if space == "hf":
        rows = [{"id": f"r{i}", "config": {"model_type": "gpt2", "n_layer": 1 + i,
                                           "n_embd": 16, "n_head": 2}, "truth": float(i)}
                for i in range(4)]
        rows[2]["id"] = "r\u202e2"
        content: object = {"higher_is_better": True, "records": rows}
    else:
        rows = _gpt2_records(4) if space == "gpt2" else _flexibert_records(4)
        rows[2]["id"] = "r\u202e2"
        content = rows
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(content))
    with pytest.raises(SpaceError, match=r"record #2: its id holds the bidirectional control "
                                         r"character U\+202E"):
        get_space(space).load_records(str(path))


def test_eval_refuses_a_nul_in_an_id_in_one_line(tmp_path, capsys):
    rows = _gpt2_records(4)
    rows[3]["id"] = "x\x00y"
    path = tmp_path / "nul.json"
    path.write_text(json.dumps(rows))
    refused(capsys, ["eval", "--space", "gpt2", "--benchmark", path, "--proxy", "params",
                     "--out", tmp_path / "o"], "record #3", "U+0000")
    assert not (tmp_path / "o").exists()


# ---- output: CSV formulas, Markdown cells ---------------------------------------------------

@pytest.mark.parametrize(("value", "written"), [
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'), ("+1+2", "'+1+2"),
    ("-abc", "'-abc"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("-0.5", "-0.5"), ("+3", "+3"), ("-inf", "-inf"), (" -1", " -1"), ("\t5", "'\t5"),
    ("config_0_j4", "config_0_j4"), ("a|b", "a|b"), (-0.5, -0.5), (3, 3), (None, None),
])
def test_csv_cell_neutralises_formula_text_and_keeps_numbers(value, written):
    assert csv_cell(value) == written


def test_results_csv_neutralises_ids_and_column_names(tmp_path):
    rows = [{"id": "=1+1", "truth": -0.5, "-score": 1.0}, {"id": "a", "truth": 2.0,
                                                           "-score": -3.0}]
    with AtomicFolder(tmp_path / "res") as rf:
        rf.csv("scores.csv", rows)
    with open(tmp_path / "res" / "scores.csv", newline="") as f:
        back = list(csv.reader(f))
    assert back == [["id", "truth", "'-score"], ["'=1+1", "-0.5", "1.0"], ["a", "2.0", "-3.0"]]


def test_eval_scores_csv_of_formula_ids_is_inert(tmp_path):
    from lpzero_gp.cli import main

    rows = _gpt2_records(6)
    ids = ['=HYPERLINK("http://x")', "@SUM(A1)", "-abc", "+A1", "a|b"]
    for row, rid in zip(rows, ids, strict=False):
        row["id"] = rid
    path = tmp_path / "formula.json"
    path.write_text(json.dumps(rows))
    out = tmp_path / "o"
    assert main(["eval", "--space", "gpt2", "--benchmark", str(path), "--proxy", "params",
                 "--out", str(out), "--quiet"]) == 0
    for name in ("scores.csv", "scores_raw.csv"):
        with open(out / name, newline="") as f:
            table = list(csv.DictReader(f))
        written = {row["id"] for row in table}
        assert written == {"'" + rid if rid[0] in "=@-+" else rid for rid in ids} | {
            rows[5]["id"]}
        assert all(not row[key].startswith("'") for row in table for key in row if key != "id")


def test_markdown_cells_cannot_break_their_row():
    table = markdown_table(["id", "x"], [["a|b", 1], ["two\nlines\r\nhere", "c\u2028d"]])
    assert table.splitlines() == ["| id | x |", "|---|---|", "| a\\|b | 1 |",
                                  "| two lines here | c d |"]


@pytest.mark.parametrize(("space", "n"), [("gpt2", 200), ("flexibert", 500), ("llama", 200)])
def test_packaged_benchmarks_pass_the_checks(space, n):
    """The packaged files hold no refused character and no repeated key."""
    assert len(get_space(space).load_records()) == n
