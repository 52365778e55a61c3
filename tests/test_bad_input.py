"""Malformed input of every kind is one ``error:`` line and exit code 2, never an internal error.

Each class of bad input is refused where it enters: JSON nested without end or holding numbers
of hundreds of digits (one bounded reader, :mod:`lpzero_gp.jsonfile`, and per-field bounds in
every space), benchmarks whose ids repeat or whose truth is constant (one shared check,
:func:`lpzero_gp.spaces.base.check_records`), files of many unbuildable records (one warning,
not one per record), a hub tokenizer without network (no download tried), and proxy text that
looks like a path. Every test is refused before a model is built.
"""

from __future__ import annotations

import json
import socket
import warnings
from importlib import resources
from pathlib import Path

import pytest
from cli_check import refused

from lpzero_gp.cli import main
from lpzero_gp.errors import CalibrationError, ProxyError, SpaceError
from lpzero_gp.jsonfile import MAX_DEPTH, finite, loads_json, nesting_depth, read_json

TINY = ["--batch-size", "2", "--seq-len", "16", "--quiet"]
EVAL = ["eval", "--archs", "5", *TINY]
#: An integer far too large for a float (hundreds of digits: ``float()`` overflows).
HUGE = int("9" * 400)
DEEP = "[" * 100_000 + "]" * 100_000


def _packaged(space: str) -> list[dict]:
    name = {"flexibert": "flexibert_glue.json", "gpt2": "gpt2_wt103.json"}[space]
    path = resources.files(f"lpzero_gp.spaces.{space}").joinpath("data", name)
    return json.loads(path.read_text())


FLEX = _packaged("flexibert")[:8]
GPT2 = _packaged("gpt2")[:8]
HF_GOOD = {"id": "a", "config": {"model_type": "gpt2", "n_layer": 1, "n_embd": 16, "n_head": 2,
                                 "vocab_size": 100, "n_positions": 32}, "truth": 1.0}


def _hf(*records: dict) -> dict:
    return {"higher_is_better": True, "records": list(records)}


def _write(tmp_path: Path, data, name: str = "bench.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path




# -- the bounded JSON reader --------------------------------------------------------------------


def test_nesting_depth_ignores_brackets_inside_strings():
    assert nesting_depth('{"a": "[[[[{{", "b": [1, [2]]}') == 3
    assert nesting_depth(r'["\"[[[", [[]]]') == 3
    assert nesting_depth("12") == 0
    assert nesting_depth(DEEP) == 100_000


def test_the_reader_takes_max_depth_and_refuses_one_more(tmp_path):
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads_json(ok, "x") is not None
    with pytest.raises(SpaceError, match=f"x: JSON nested deeper than {MAX_DEPTH} levels"):
        loads_json("[" + ok + "]", "x")


@pytest.mark.parametrize(("content", "fragment"), [
    (DEEP, "nested deeper"),
    ("{" * 50_000, "nested deeper"),
    ("[" + "9" * 5000 + "]", "not valid JSON"),
    ("[1, 2", "not valid JSON (Expecting"),
    (b"\xff\xfe[1]", "not UTF-8"),
])
def test_the_reader_turns_every_failure_into_one_typed_line(tmp_path, content, fragment):
    path = tmp_path / "f.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ProxyError) as info:
        read_json(path, "proxy file", error=ProxyError)
    message = str(info.value)
    assert fragment in message and str(path) in message and "\n" not in message


def test_the_reader_names_a_missing_file_and_a_folder(tmp_path):
    with pytest.raises(SpaceError, match="benchmark file not found"):
        read_json(tmp_path / "none.json", "benchmark file")
    with pytest.raises(SpaceError, match="is a folder"):
        read_json(tmp_path, "benchmark file")


def test_finite_never_overflows():
    assert finite(3) == 3.0 and finite(-2.5) == -2.5
    assert [finite(v) for v in (HUGE, float("inf"), float("nan"), True, "1", None)] == [None] * 6


# -- 1. nesting and huge numbers: exit 2, never exit 1 ------------------------------------------


@pytest.mark.parametrize("space", ["flexibert", "gpt2", "hf"])
def test_a_deeply_nested_benchmark_is_one_line(capsys, tmp_path, space):
    path = _write(tmp_path, DEEP)
    refused(capsys, [*EVAL, "--space", space, "--benchmark", path, "--proxy", "params"],
            "nested deeper", str(path))


def test_a_deeply_nested_best_json_is_one_line_for_export_and_eval(capsys, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    best = _write(folder, '{"proxy": ' + DEEP + "}", "best.json")
    for source in (best, folder):
        refused(capsys, ["export", "--proxy", source, "--format", "string"], "nested deeper")
    refused(capsys, [*EVAL, "--proxy", best], "nested deeper")


def test_a_deeply_nested_llama_file_is_one_error(tmp_path):
    from lpzero_gp.spaces.llama.ground_truth import load_ground_truth
    from lpzero_gp.spaces.llama.space import LonasSpace, ModelDims

    space = LonasSpace(ModelDims(4, 64, 176, 4, 4, 16, 8192))
    path = _write(tmp_path, DEEP)
    with pytest.raises(SpaceError, match="nested deeper"):
        load_ground_truth(path, space)
    with pytest.raises(SpaceError, match="nested deeper"):
        space.read_config(path)


def _flex(**changes) -> list[dict]:
    first = json.loads(json.dumps(FLEX[0]))
    for key, value in changes.items():
        if key == "glue":
            first["scores"]["glue"] = value
        else:
            first[key] = value
    return [first, *FLEX[1:]]


@pytest.mark.parametrize(("changes", "fragments"), [
    ({"glue": HUGE}, ["record 0", "scores.glue", "finite"]),
    ({"hidden_size": HUGE}, ["record 0", "hidden_size", "exceeds the limit"]),
    ({"num_parameters": HUGE}, ["record 0", "num_parameters"]),
])
def test_huge_numbers_in_a_flexibert_record(capsys, tmp_path, changes, fragments):
    line = refused(capsys, [*EVAL, "--benchmark", _write(tmp_path, _flex(**changes)),
                            "--proxy", "params"], *fragments)
    assert len(line) < 300


def _gpt2(field: str, value, where: str = "model_config") -> list[dict]:
    records = json.loads(json.dumps(GPT2))
    for r in records:
        (r[where] if where else r)[field] = value
    return records


@pytest.mark.parametrize(("field", "value", "where"), [
    ("valid_ppl", HUGE, ""),
    ("d_model", HUGE, "model_config"),
    ("n_token", 10**12, "model_config"),
    ("n_layer", 10**6, "model_config"),
    ("dropout", HUGE, "model_config"),
])
def test_huge_numbers_in_gpt2_records(capsys, tmp_path, field, value, where):
    path = _write(tmp_path, _gpt2(field, value, where))
    line = refused(capsys, [*EVAL, "--space", "gpt2", "--benchmark", path, "--proxy", "params"],
                   "no usable record", GPT2[0]["id"], field)
    assert len(line) < 400


def test_a_huge_number_in_one_gpt2_record_names_it_in_one_warning(capsys, tmp_path):
    records = json.loads(json.dumps(GPT2))
    records[0]["model_config"]["d_model"] = HUGE
    rc = main([*EVAL, "--space", "gpt2", "--benchmark", _write(tmp_path, records),
               "--proxy", "params"])
    err = capsys.readouterr().err
    warns = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert rc == 0, err
    assert len(warns) == 1 and GPT2[0]["id"] in warns[0] and "d_model" in warns[0]


@pytest.mark.parametrize(("record", "fragments"), [
    ({**HF_GOOD, "id": "b", "truth": HUGE}, ["record b", "'truth' must be a finite number"]),
    ({**HF_GOOD, "id": "b", "config": {**HF_GOOD["config"], "vocab_size": HUGE}},
     ["record b", "config.vocab_size"]),
    ({**HF_GOOD, "id": "b", "config": {**HF_GOOD["config"], "n_layer": 10**6}},
     ["record b", "config.n_layer", "1..1024"]),
    ({**HF_GOOD, "id": "b", "config": {**HF_GOOD["config"], "layer_norm_epsilon": HUGE}},
     ["record b", "config.layer_norm_epsilon"]),
])
def test_huge_numbers_in_an_hf_record(capsys, tmp_path, record, fragments):
    path = _write(tmp_path, _hf(HF_GOOD, record))
    refused(capsys, [*EVAL, "--space", "hf", "--benchmark", path, "--proxy", "params"],
            *fragments)


def test_huge_or_infinite_numbers_in_llama_files(tmp_path):
    from lpzero_gp.spaces.llama.ground_truth import load_ground_truth
    from lpzero_gp.spaces.llama.space import LonasSpace, ModelDims

    space = LonasSpace(ModelDims(4, 64, 176, 4, 4, 16, 8192))
    top, low = list(space.maximal()), list(space.minimal())
    for bad in (float("inf"), float("nan"), HUGE):
        with pytest.raises(SpaceError, match="config entry 0"):
            space.validate([bad, *top[1:]])
    path = _write(tmp_path, [{"config": top, "accuracy": HUGE}, {"config": low, "accuracy": 1}])
    with pytest.raises(SpaceError, match="entry 0: accuracy must be a finite number"):
        load_ground_truth(path, space)
    config = _write(tmp_path, "[Infinity" + ", 8" * (len(top) - 1) + "]", "config.json")
    with pytest.raises(SpaceError, match="config entry 0"):
        space.read_config(config)


# -- 2. a constant ground truth is refused at load ----------------------------------------------


def test_a_constant_truth_is_refused_in_every_space(capsys, tmp_path):
    flex = json.loads(json.dumps(FLEX))
    for r in flex:
        r["scores"]["glue"] = 70.0
    refused(capsys, [*EVAL, "--benchmark", _write(tmp_path, flex, "f.json"), "--proxy",
                     "params"], "same truth", "cannot rank")
    refused(capsys, [*EVAL, "--space", "gpt2", "--benchmark",
                     _write(tmp_path, _gpt2("valid_ppl", 30.0, ""), "g.json"), "--proxy",
                     "params"], "all 8 records have the same truth")
    hf = _hf(HF_GOOD, {**HF_GOOD, "id": "b"}, {**HF_GOOD, "id": "c"})
    refused(capsys, [*EVAL, "--space", "hf", "--benchmark", _write(tmp_path, hf, "h.json"),
                     "--proxy", "params"], "all 3 records have the same truth")


def test_a_constant_llama_truth_is_refused(tmp_path):
    from lpzero_gp.spaces.llama.ground_truth import load_ground_truth
    from lpzero_gp.spaces.llama.space import LonasSpace, ModelDims

    space = LonasSpace(ModelDims(4, 64, 176, 4, 4, 16, 8192))
    rows = [{"config": list(c), "accuracy": 0.5}
            for c in (space.maximal(), space.minimal(), space.heuristic())]
    with pytest.raises(SpaceError, match="same truth"):
        load_ground_truth(_write(tmp_path, rows), space)


# -- 3. one record policy: duplicate ids are errors, skipped records are one warning -------------


def test_a_duplicate_id_is_an_error_in_every_space(capsys, tmp_path):
    refused(capsys, [*EVAL, "--benchmark", _write(tmp_path, [*FLEX, FLEX[0]], "f.json"),
                     "--proxy", "params"], "duplicate id '0'", "#0 and #8")
    gpt2 = [*GPT2, {**GPT2[0], "valid_ppl": 99.0}]
    refused(capsys, [*EVAL, "--space", "gpt2", "--benchmark", _write(tmp_path, gpt2, "g.json"),
                     "--proxy", "params"], f"duplicate id '{GPT2[0]['id']}'", "#0 and #8")
    hf = _hf(HF_GOOD, {**HF_GOOD, "truth": 2.0})
    refused(capsys, [*EVAL, "--space", "hf", "--benchmark", _write(tmp_path, hf, "h.json"),
                     "--proxy", "params"], "duplicate id 'a'")


def test_a_repeated_llama_sub_network_is_an_error(tmp_path):
    from lpzero_gp.spaces.llama.ground_truth import load_ground_truth
    from lpzero_gp.spaces.llama.space import LonasSpace, ModelDims

    space = LonasSpace(ModelDims(4, 64, 176, 4, 4, 16, 8192))
    top, low = list(space.maximal()), list(space.minimal())
    rows = [{"config": top, "accuracy": 0.5}, {"config": low, "accuracy": 0.4},
            {"config": top, "accuracy": 0.5}]
    with pytest.raises(SpaceError, match="duplicate id .*#0 and #2"):
        load_ground_truth(_write(tmp_path, rows), space)


def _unbuildable_flex(n: int) -> list[dict]:
    out = []
    for i in range(n):
        r = json.loads(json.dumps(FLEX[i % len(FLEX)]))
        r["id"] = f"odd{i}"
        r["encoder_layers"][0]["num_operation_heads"] = 3  # divides no width
        out.append(r)
    return out


def test_many_unbuildable_records_are_one_warning_with_a_count(capsys, tmp_path):
    path = _write(tmp_path, [*_unbuildable_flex(500), *FLEX])
    rc = main([*EVAL, "--benchmark", path, "--proxy", "params"])
    err = capsys.readouterr().err
    warns = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert rc == 0, err
    assert len(warns) == 1, err
    assert "skipped 500 of 508 records" in warns[0]
    assert "odd0" in warns[0] and "odd2" in warns[0] and "497 more" in warns[0]
    assert "odd3," not in warns[0] and len(warns[0]) < 400


def test_a_file_of_only_unbuildable_records_is_one_error_line_and_no_warning(capsys, tmp_path):
    path = _write(tmp_path, _unbuildable_flex(500))
    refused(capsys, [*EVAL, "--benchmark", path, "--proxy", "params"],
            "no usable record", "record odd0")
    gpt2 = [dict(r, model_config="oops") for r in GPT2]
    refused(capsys, [*EVAL, "--space", "gpt2", "--benchmark", _write(tmp_path, gpt2, "g.json"),
                     "--proxy", "params"], "no usable record", "model_config")


def test_the_shared_check_directly():
    from lpzero_gp.spaces.base import Record, check_records

    recs = [Record("a", {}, 1.0), Record("b", {}, 2.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_records(recs, "f") == recs  # nothing to say: no warning
    with pytest.raises(SpaceError, match="duplicate id 'a'"):
        check_records(recs, "f", ids=["a", None, "b", "a"])
    with pytest.raises(SpaceError, match="the truth must be finite"):
        check_records([*recs, Record("c", {}, float("inf"))], "f")
    with pytest.warns(UserWarning, match=r"^sp: skipped 5 of 7 records of f that cannot be "
                                         r"built: record x0 \(bad\); also x1, x2 and 2 more$"):
        check_records(recs, "f", space="sp", skipped=[(f"x{i}", "bad") for i in range(5)])


# -- 4. a hub tokenizer without network fails at once --------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) every attempt to open a network connection."""
    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network use in a test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "TRANSFORMERS_OFFLINE",
                 "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return attempts


@pytest.fixture
def downloads(monkeypatch):
    """Every ``AutoTokenizer.from_pretrained`` call that may go online."""
    from transformers import AutoTokenizer

    calls: list = []
    real = AutoTokenizer.from_pretrained.__func__

    def spy(cls, name, *args, **kwargs):
        if not kwargs.get("local_files_only"):
            calls.append(name)
        return real(cls, name, *args, **kwargs)

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", classmethod(spy))
    return calls


ABSENT = "lpzero-gp-tests/absent-tokenizer"


def test_an_offline_hub_tokenizer_fails_at_once_without_a_download(capsys, monkeypatch,
                                                                    no_network, downloads):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    line = refused(capsys, [*EVAL, "--tokenizer", ABSENT, "--proxy", "agg_mean(mean(A))"],
                   ABSENT, "HF_HUB_OFFLINE", "local tokenizer directory")
    assert "Retrying" not in line
    assert no_network == [] and downloads == []


def test_an_unreachable_hub_fails_at_once_without_a_download(monkeypatch, no_network,
                                                              downloads):
    from lpzero_gp.stats.calibration import pretrained_tokenizer

    with pytest.raises(CalibrationError, match="unreachable.*local tokenizer directory"):
        pretrained_tokenizer(ABSENT)
    assert len(no_network) == 1  # one probe of the hub's port, no download
    assert downloads == []


# -- 5. proxy text is read as what it is ---------------------------------------------------------


#: A valid proxy string longer than a file name may be (255 characters).
LONG_PROXY = "agg_mean(" + "add(" * 20 + "mean(H)" + ", mean(A))" * 20 + ")"


@pytest.mark.parametrize("proxy", ["", "   ", "\t\n"])
def test_an_empty_proxy_is_one_line_for_export_and_eval(capsys, proxy):
    refused(capsys, ["export", "--proxy", proxy], "empty proxy")
    refused(capsys, [*EVAL, "--proxy", proxy], "empty proxy")


def test_a_proxy_longer_than_a_file_name_is_a_proxy(capsys):
    assert len(LONG_PROXY) > 255
    assert main(["export", "--proxy", LONG_PROXY, "--format", "string"]) == 0
    assert capsys.readouterr().out.strip().startswith("agg_mean(add(add(")


@pytest.mark.parametrize("text", ["x" * 300, "x" * 300 + "/", "a/" * 3000, "~/" + "y" * 400,
                                  "x/y/z.json"])
def test_text_that_is_neither_proxy_nor_file_is_one_line(capsys, text):
    line = refused(capsys, ["export", "--proxy", text])
    assert "too long" not in line  # never handed to the operating system as a name


def test_a_proxy_with_a_slash_is_a_proxy_not_a_path(capsys):
    assert main(["export", "--proxy", "agg_mean(div(mean(A), mean(H)))", "--format",
                 "sympy"]) == 0
    sympy_form = capsys.readouterr().out.strip()
    assert "/" in sympy_form
    assert main(["export", "--proxy", sympy_form, "--format", "string"]) == 0
    assert capsys.readouterr().out.strip().startswith("agg_mean(")


def test_a_results_folder_and_a_file_are_read_as_files(capsys, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    _write(folder, {"proxy": "agg_mean(mean(A))"}, "best.json")
    for source in (folder, folder / "best.json"):
        assert main(["export", "--proxy", str(source), "--format", "string"]) == 0
        assert capsys.readouterr().out.strip() == "agg_mean(mean(A))"
    refused(capsys, ["export", "--proxy", tmp_path], "no best.json")
