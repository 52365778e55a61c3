"""The command line: basic commands, and every bad input a user can type gives one line, exit 2.

Each bad input goes through ``lpzero_gp.cli.main`` (what the ``lpzero-gp`` script calls) and
must be refused before any model is built, so these tests take well under a second each.
A few go through a real subprocess to show that no traceback reaches the terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from cli_check import refused

from lpzero_gp import __version__
from lpzero_gp.cli import main

#: Options of a run small enough that no test below ever gets to build a model.
TINY = ["--batch-size", "2", "--seq-len", "16", "--quiet"]
RUN = ["run", "--search-archs", "6", "--heldout", "4", "--population", "8", "--offspring", "8",
       "--evaluations", "40", *TINY]
EVAL = ["eval", "--archs", "5", *TINY]


def _records(space: str) -> list[dict]:
    name = {"flexibert": "flexibert_glue.json", "gpt2": "gpt2_wt103.json"}[space]
    path = resources.files(f"lpzero_gp.spaces.{space}").joinpath("data", name)
    return json.loads(path.read_text())




@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Broken inputs of every kind, written once."""
    d = tmp_path_factory.mktemp("bad-inputs")
    flex = _records("flexibert")
    out = {}

    def put(name: str, content) -> None:
        p = d / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content if isinstance(content, str) else json.dumps(content))
        out[name] = p

    put("malformed.json", '[{"id": 1, "hidden_size": ')
    put("dict.json", {"records": flex[:5]})
    put("ints.json", [1, 2, 3])
    put("empty_list.json", [])
    put("binary.json", bytes(range(256)))
    put("str_number.json", [dict(flex[0], hidden_size="256"), *flex[1:6]])
    put("str_truth.json", [dict(flex[0], scores=dict(flex[0]["scores"], glue="high")),
                           *flex[1:6]])
    put("bool_number.json", [dict(flex[0], hidden_size=True), *flex[1:6]])
    put("huge_number.json", [dict(flex[0], hidden_size=10**12), *flex[1:6]])
    put("missing_field.json", [{k: v for k, v in flex[0].items() if k != "encoder_layers"},
                               *flex[1:6]])
    put("duplicate_id.json", [flex[0], flex[0], *flex[1:6]])
    put("bad_op.json", [dict(flex[0], encoder_layers=[
        dict(flex[0]["encoder_layers"][0], operation_type="XX")]), *flex[1:6]])
    gpt = _records("gpt2")
    put("gpt2_all_bad.json", [dict(r, model_config="oops") for r in gpt[:4]])
    put("gpt2_one_bad.json", [dict(gpt[0], model_config="oops"), *gpt[1:8]])
    put("empty.txt", "")
    put("blank.txt", "   \n\n  \t\n")
    put("short.txt", "hello world\n")
    put("nul.txt", "some text\x00more\n")
    put("latin1.txt", "caf\xe9 au lait\n".encode("latin-1"))
    put("a_file", "not a folder\n")
    out["dir"] = d
    return out


# -- commands that work -------------------------------------------------------------------------


def test_help_and_version(capsys):
    assert main(["--help"]) == 0
    assert "run" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    for cmd in ("run", "eval", "export", "spaces"):
        assert main([cmd, "--help"]) == 0
    assert "--resume" in capsys.readouterr().out


def test_export_named_proxy(capsys):
    assert main(["export", "--proxy", "paper_bert", "--format", "string"]) == 0
    assert capsys.readouterr().out.strip().startswith("agg_mean(")


def test_eval_feature_proxy_builds_no_model(capsys):
    assert main(["eval", "--proxy", "params", "--archs", "all", "--json", *TINY]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["results"][0]["n"] == 500 and data["results"][0]["valid"]


def test_broken_gpt2_record_is_one_warning_line(capsys, files):
    rc = main([*EVAL, "--space", "gpt2", "--benchmark", files["gpt2_one_bad.json"],
               "--proxy", "params"])
    err = capsys.readouterr().err
    assert rc == 0, err
    warns = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert len(warns) == 1 and "skipped" in warns[0]
    assert "UserWarning" not in err and "Traceback" not in err


# -- bad input: spaces, variants, proxies, options ---------------------------------------------


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--space", "nope", "--proxy", "params"], ["unknown space 'nope'", "flexibert"]),
    (["--variant", "nope", "--proxy", "params"], ["no variant 'nope'", "as-trained"]),
    (["--space", "gpt2", "--variant", "reference", "--proxy", "params"], ["no variant"]),
    (["--proxy", "nope"], ["unknown input 'nope'"]),
    (["--proxy", "agg_mean(foo(G))"], ["unknown operation 'foo'"]),
    (["--proxy", "agg_mean(mean(H)"], ["unbalanced parentheses"]),
    (["--proxy", "agg_mean(mean(H)))"], ["unexpected"]),
    (["--proxy", ""], ["empty proxy"]),
    (["--proxy", "__import__('os').system('echo hacked')"], ["unexpected character"]),
    (["--proxy", "agg_mean(mean(H)); import os"], ["unexpected"]),
    (["--proxy", "lambda: 0"], ["unexpected"]),
    (["--semantics", "odd", "--proxy", "params"], ["--semantics"]),
    (["--seed", "-1", "--proxy", "params"], ["--seed", "-1"]),
    (["--seed", "abc", "--proxy", "params"], ["--seed", "abc"]),
    (["--batch-size", "0", "--proxy", "params"], ["--batch-size"]),
    (["--seq-len", "1", "--proxy", "params"], ["--seq-len"]),
    (["--seq-len", "8192", "--proxy", "params"], ["--seq-len 8192", "512"]),
    (["--space", "gpt2", "--seq-len", "193", "--proxy", "params"], ["--seq-len 193", "192"]),
    (["--stat-budget", "1", "--proxy", "params"], ["--stat-budget"]),
    (["--workers", "0", "--proxy", "params"], ["--workers"]),
    (["--device", "tpu", "--proxy", "params"], ["--device 'tpu'", "cuda:N"]),
    (["--archs", "abc", "--proxy", "params"], ["--archs", "unknown split 'abc'"]),
    (["--archs", "2", "--proxy", "params"], ["--archs 2", "between 3 and 500"]),
    (["--archs", "100000", "--proxy", "params"], ["between 3 and 500"]),
    (["--archs", "-3", "--proxy", "params"], ["unknown split '-3'"]),
])
def test_eval_refuses(capsys, argv, fragments):
    refused(capsys, [*EVAL, *argv], *fragments)


def test_proxy_injection_runs_nothing(capsys, tmp_path):
    marker = tmp_path / "pwned"
    for proxy in (f"__import__('pathlib').Path('{marker}').touch()",
                  f"agg_mean(mean(H)) if open('{marker}', 'w') else 0"):
        refused(capsys, [*EVAL, "--proxy", proxy])
        refused(capsys, ["export", "--proxy", proxy])
    assert not marker.exists()


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--population", "abc"], ["--population", "abc"]),
    (["--population", "1"], ["--population"]),
    (["--offspring", "0"], ["--offspring"]),
    (["--evaluations", "0"], ["--evaluations", "0"]),
    (["--evaluations", "1e3"], ["--evaluations"]),
    (["--cxpb", "2"], ["--cxpb"]),
    (["--cxpb", "0.7", "--mutpb", "0.7"], ["sum to at most 1"]),
    (["--mutpb", "nan"], ["--mutpb"]),
    (["--n-unary", "0"], ["--n-unary"]),
    (["--max-height", "100"], ["--max-height"]),
    (["--shape", "wide"], ["--shape"]),
    (["--aggregation", "max"], ["--aggregation"]),
    (["--budget", "huge"], ["--budget"]),
    (["--search-archs", "abc"], ["--search-archs", "unknown split 'abc'"]),
    (["--search-archs", "2"], ["--search-archs 2", "between 3 and 500"]),
    (["--heldout", "xyz"], ["--heldout", "unknown split 'xyz'"]),
    (["--heldout", "2"], ["--heldout 2", "between 3 and"]),
    (["--no-such-option"], ["No such option"]),
])
def test_run_refuses_bad_options(capsys, tmp_path, argv, fragments):
    refused(capsys, [*RUN, "--out", tmp_path / "out", *argv], *fragments)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / ".out.checkpoint").exists()


def test_workflows_raise_typed_errors(tmp_path):
    """Called from Python, a workflow raises the error the command line shows, naming the
    option as Python spells it; it prints nothing."""
    from lpzero_gp.errors import LpzeroError, OptionError
    from lpzero_gp.workflows.evaluate import evaluate
    from lpzero_gp.workflows.options import EvalOptions, RunOptions
    from lpzero_gp.workflows.run import run_search

    with pytest.raises(LpzeroError, match="nothing to resume"):
        run_search(RunOptions(resume_dir=str(tmp_path / "missing")))
    with pytest.raises(OptionError, match="device='tpu'"):
        evaluate(EvalOptions(proxies=("params",), device="tpu"))
    with pytest.raises(OptionError, match="unknown budget"):
        run_search(RunOptions(budget="huge", out=str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()


def test_unknown_command(capsys):
    refused(capsys, ["nope"], "No such command 'nope'")


# -- bad input: files ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fragments"), [
    ("malformed.json", ["not valid JSON"]),
    ("dict.json", ["expected a JSON list of records", "dict"]),
    ("ints.json", ["expected an object", "int"]),
    ("empty_list.json", []),
    ("binary.json", ["binary.json"]),
    ("str_number.json", ["record 0", "hidden_size", "'256'"]),
    ("str_truth.json", ["record 0", "scores.glue", "'high'"]),
    ("bool_number.json", ["record 0", "hidden_size", "True"]),
    ("huge_number.json", ["record 0", "exceeds the limit"]),
    ("missing_field.json", ["record 0", "missing field 'encoder_layers'"]),
    ("duplicate_id.json", ["duplicate id"]),
    ("bad_op.json", ["record 0", "operation_type"]),
])
def test_bad_flexibert_benchmark(capsys, files, name, fragments):
    refused(capsys, [*EVAL, "--benchmark", files[name], "--proxy", "params"], *fragments)


def test_bad_gpt2_benchmark(capsys, files):
    refused(capsys, [*EVAL, "--space", "gpt2", "--benchmark", files["dict.json"],
                     "--proxy", "params"], "JSON list of records")
    refused(capsys, [*EVAL, "--space", "gpt2", "--benchmark", files["gpt2_all_bad.json"],
                     "--proxy", "params"], "no usable record", "model_config")


@pytest.mark.parametrize(("option", "value", "fragments"), [
    ("--benchmark", "/nonexistent/bench.json", ["/nonexistent/bench.json", "does not exist"]),
    ("--benchmark", "DIR", ["is a directory"]),
    ("--text", "/nonexistent/text.txt", ["/nonexistent/text.txt", "does not exist"]),
    ("--text", "DIR", ["is a directory"]),
    ("--text", "empty.txt", ["is empty"]),
    ("--text", "blank.txt", ["is empty"]),
    ("--text", "short.txt", ["tokens", "needs"]),
    ("--text", "nul.txt", ["binary"]),
    ("--text", "latin1.txt", ["not UTF-8"]),
    ("--tokenizer", "/nonexistent/tokenizer", ["tokenizer", "/nonexistent/tokenizer"]),
    ("--tokenizer", "a_file", ["tokenizer"]),
    ("--cache-dir", "a_file", ["--cache-dir", "is a file"]),
])
def test_bad_paths(capsys, files, option, value, fragments):
    value = str(files["dir"]) if value == "DIR" else str(files.get(value, value))
    refused(capsys, [*EVAL, option, value, "--proxy", "agg_mean(mean(A))"], *fragments)


def test_out_is_a_file_or_under_a_file(capsys, files):
    refused(capsys, [*RUN, "--out", files["a_file"]], "is a file")
    refused(capsys, [*RUN, "--out", files["a_file"] / "sub"], "cannot", "a_file")


def test_existing_results_folder_is_kept_without_force(capsys, tmp_path):
    out = tmp_path / "done"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    refused(capsys, [*RUN, "--out", out], "exists", "--force")
    assert (out / "summary.json").read_text() == "{}"


def test_resume_without_checkpoint(capsys, tmp_path):
    refused(capsys, [*RUN, "--resume", tmp_path / "missing"], "nothing to resume")
    (tmp_path / "empty").mkdir()
    refused(capsys, [*RUN, "--resume", tmp_path / "empty"], "no checkpoint to resume")
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "summary.json").write_text("{}")
    refused(capsys, [*RUN, "--resume", tmp_path / "done"], "finished run")
    (tmp_path / ".early.checkpoint").mkdir()
    (tmp_path / ".early.checkpoint" / "run.json").write_text("{}")
    refused(capsys, [*RUN, "--resume", tmp_path / "early"], ".early.checkpoint")


@pytest.mark.parametrize(("source", "fragments"), [
    ("agg_mean(mean(H)", ["unbalanced parentheses"]),
    ("/nonexistent/best.json", ["no such file or folder"]),
    ("missing.json", ["no such file or folder"]),
    ("binary.json", ["binary.json", "not UTF-8"]),
    ("dict.json", ["not a proxy JSON file"]),
    ("DIR", ["no best.json"]),
])
def test_export_refuses(capsys, files, source, fragments):
    value = str(files["dir"]) if source == "DIR" else str(files.get(source, source))
    refused(capsys, ["export", "--proxy", value], *fragments)


def _failing_export(capsys, monkeypatch, error: BaseException) -> str:
    """``export --proxy paper_bert`` with reading the proxy raising ``error`` (no debug): exit
    code 1; what it wrote to stderr."""
    import lpzero_gp.proxy.read as read

    def fail(source):
        raise error

    monkeypatch.delenv("LPZERO_GP_DEBUG", raising=False)
    monkeypatch.setattr(read, "read_proxy", fail)
    assert main(["export", "--proxy", "paper_bert"]) == 1
    return capsys.readouterr().err


def test_internal_error_is_one_line_with_exit_1(capsys, monkeypatch):
    err = _failing_export(capsys, monkeypatch, TypeError("an internal bug"))
    assert err.startswith("error: internal error (TypeError: an internal bug)")
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("LPZERO_GP_DEBUG", "1")
    with pytest.raises(TypeError):
        main(["export", "--proxy", "paper_bert"])


def test_dead_worker_pool_is_one_line(capsys, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    err = _failing_export(capsys, monkeypatch, BrokenProcessPool(
        "A process in the process pool was terminated abruptly"))
    assert err.startswith("error: a worker process died") and "--resume" in err


# -- the real process: exit status and no traceback ---------------------------------------------


@pytest.mark.parametrize("argv", [
    ["export", "--proxy", "agg_mean(mean(H)"],
    ["run", "--evaluations", "0"],
])
def test_subprocess_exit_code_2_without_traceback(argv):
    proc = subprocess.run([sys.executable, "-m", "lpzero_gp", *argv], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr and proc.stdout == ""


# -- budgets, default folders, spaces -----------------------------------------------------------


@pytest.mark.parametrize(("kw", "numbers", "source"), [
    ({}, (80, 40, 1000), "--budget default"),
    ({"budget": "quick"}, (20, 10, 100), "--budget quick"),
    ({"budget": "paper", "evaluations": 5}, (80, 40, 5),
     "--budget paper (--evaluations 5 replaces its 1,000)"),
    ({"budget": "quick", "population": 30, "offspring": 10}, (30, 10, 100),
     "--budget quick (--population 30 replaces its 20)"),
])
def test_given_budget_numbers_replace_the_preset(kw, numbers, source):
    from lpzero_gp.workflows.options import BUDGETS, RunOptions, resolve_budget
    from lpzero_gp.workflows.run import search_config

    opts = RunOptions(**kw)
    cfg = search_config(opts)
    assert (cfg.population, cfg.offspring, cfg.evaluations) == numbers
    assert resolve_budget(BUDGETS, opts.budget, opts.population, opts.offspring,
                          opts.evaluations)[1] == source


def test_run_prints_its_search_settings_and_documents_every_preset(capsys, tmp_path):
    from lpzero_gp.workflows.options import BUDGETS

    argv = [a for a in RUN if a != "--quiet"]
    assert main([*argv, "--budget", "paper", "--out", tmp_path / "o", "--device", "tpu"]) == 2
    err = capsys.readouterr().err
    assert ("search: population 8, offspring 8, evaluations 40 (5 generations); --budget "
            "paper (--population 8 replaces its 80; --offspring 8 replaces its 40; "
            "--evaluations 40 replaces its 1,000)") in err
    assert main(["run", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    for name, (pop, off, evals) in BUDGETS.items():
        assert f"{name}: population {pop}, offspring {off}, evaluations {evals:,}" in shown
    assert "flexibert, gpt2, hf, llama" in shown


def test_default_results_folder_names_the_variant_used():
    from lpzero_gp.workflows.options import RunOptions
    from lpzero_gp.workflows.runstate import default_out

    assert default_out(RunOptions()) == Path("runs/flexibert-as-trained-s42")
    assert default_out(RunOptions(variant="reference", seed=3)) == \
        Path("runs/flexibert-reference-s3")
    assert default_out(RunOptions(space="gpt2")) == Path("runs/gpt2-default-s42")


def test_spaces_lists_every_space_with_its_best_proxies(capsys):
    from lpzero_gp.proxy.named import shipped_best
    from lpzero_gp.spaces import names

    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    for name in names():
        assert any(line.startswith(f"{name}: ") for line in out.splitlines()), name
    for proxy, entry in shipped_best().items():
        if "per_space" in entry:  # listed under each of its spaces, with that space's figures
            head = f"cross-space proxy ({', '.join(entry['spaces'])}) {proxy} "
            lines = [ln for ln in out.splitlines() if head in ln]
            assert [f"test rho {f['test']['rho']:.3f}" in ln for ln, f in
                    zip(lines, entry["per_space"].values(), strict=True)] == [True] * len(lines)
            continue
        line = next(ln for ln in out.splitlines() if f"best proxy {proxy} " in ln)
        assert f"test rho {entry['test']['rho']:.3f}" in line
    assert "llama: 200 architectures" in out
    assert main(["spaces", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["spaces"]["gpt2"]["best_proxies"]["gpt2-best"]["test"]["n"] == 125
    assert set(data["spaces"]) == set(names())
