"""One set of shared options: the CLI reference's table says which commands take each, and every
such command parses it into the same options field with the same value.

The table is read from docs/cli.md, so the documentation and the command line cannot drift
apart. Everything here parses options (click's ``make_context``) or refuses them before any
model is built, so the whole module takes a few seconds.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import click
import pytest

from lpzero_gp.cli import cli, main
from lpzero_gp.errors import OptionError
from lpzero_gp.workflows.options import EvalOptions

CLI_DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
#: The commands that take options of a benchmark space or a model (export and spaces: none).
COMMANDS = ("run", "eval", "ablate", "baselines", "subnets")
#: Options two commands spell alike on purpose with a meaning of their own in each.
NOT_SHARED = {
    "--proxy": "eval: the proxies scored (repeatable); subnets: the one proxy maximised",
    "--budget": "run and ablate presets count evaluations differently (offspring / all)",
    "--population": "the population of each command's own evolution",
    "--offspring": "the offspring of each command's own evolution",
    "--evaluations": "run: offspring evaluations; ablate: every proxy, initial ones included",
}
#: Arguments every parse of a command needs.
REQUIRED = {"eval": ["--proxy", "params"]}
#: A value for each shared option and what its field must hold then (None: a flag).
SAMPLES: dict[str, tuple[str | None, Any]] = {
    "--space": ("gpt2", "gpt2"),
    "--space-option": ("model=tiny", {"model": "tiny"}),
    "--variant": ("reference", "reference"),
    "--semantics": ("reference", "reference"),
    "--benchmark": ("bench.json", "bench.json"),
    "--batch-size": ("3", 3),
    "--seq-len": ("24", 24),
    "--tokenizer": ("tok", "tok"),
    "--text": ("calibration.txt", "calibration.txt"),
    "--seed": ("7", 7),
    "--init-seed": ("5", 5),
    "--stat-budget": ("512", 512),
    "--stats": ("null", "null"),
    "--device": ("cuda:1", "cuda:1"),
    "--cache-dir": ("cache", "cache"),
    "--no-cache": (None, False),
    "--workers": ("3", 3),
    "--dask": ("local", "local"),
    "--threads": ("2", 2),
    "--quiet": (None, True),
    "--archs": ("7", "7"),
    "--search-archs": ("9", "9"),
    "--heldout": ("test", "test"),
    "--n-unary": ("3", 3),
    "--aggregation": ("sum", "sum"),
    "--out": ("results", "results"),
    "--force": (None, True),
}


def shared_table() -> dict[str, set[str]]:
    """``{option: commands}`` of the shared-options table of the CLI reference (docs/cli.md)."""
    section = CLI_DOC.read_text(encoding="utf-8").split("\n## Shared options", 1)[1]
    section = section.split("\n## ", 1)[0]
    lines = section.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("| option | commands |"))
    rows: dict[str, set[str]] = {}
    for line in lines[head + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        commands = {c.strip() for c in cells[1].split(",")}
        for option in re.findall(r"--[a-z][a-z-]*", cells[0]):
            rows[option] = commands
    return rows


TABLE = shared_table()


def long_names(command: str) -> dict[str, str]:
    """``{--option: parameter name}`` of a command's options."""
    return {opt: p.name for p in cli.commands[command].params
            for opt in p.opts if opt.startswith("--")}


def typed_options(command: str, argv: list[str]):
    """The options dataclass ``command`` builds from ``argv`` (parsed, nothing run)."""
    from lpzero_gp.cli import ablate, baselines, run, subnets

    cmd = cli.commands[command]
    ctx = cmd.make_context(command, [*REQUIRED.get(command, []), *argv])
    params = dict(ctx.params)
    build = {"run": run.make_options, "ablate": ablate.make_options,
             "baselines": baselines.make_options, "subnets": subnets.make_options,
             # eval hands compare/out/force to the workflow beside the options, the same fields
             "eval": lambda p: EvalOptions(**{k: v for k, v in p.items() if k != "as_json"})}
    return build[command](params)


def test_the_table_is_found_and_sampled():
    assert len(TABLE) >= 20 and set(TABLE) == set(SAMPLES)
    assert all(cmds and cmds <= set(COMMANDS) for cmds in TABLE.values()), TABLE


@pytest.mark.parametrize("option", sorted(TABLE))
def test_exactly_the_listed_commands_take_each_shared_option(option):
    takes = {c for c in COMMANDS if option in long_names(c)}
    assert takes == TABLE[option], f"{option}: docs/cli.md says {sorted(TABLE[option])}"


def test_every_option_two_commands_spell_alike_is_in_the_table():
    seen: dict[str, set[str]] = {}
    for command in COMMANDS:
        for option in long_names(command):
            seen.setdefault(option, set()).add(command)
    alike = {o for o, cmds in seen.items() if len(cmds) > 1} - {"--json"}
    assert alike - set(TABLE) - set(NOT_SHARED) == set()
    assert not set(TABLE) & set(NOT_SHARED)


@pytest.mark.parametrize(("option", "command"),
                         [(o, c) for o in sorted(TABLE) for c in sorted(TABLE[o])])
def test_a_shared_option_fills_the_same_field_with_the_same_value(option, command):
    value, expected = SAMPLES[option]
    field = long_names(command)[option]
    fields = {long_names(c)[option] for c in TABLE[option]}
    assert fields == {field}, f"{option} fills {fields}"
    opts = typed_options(command, [option] if value is None else [option, value])
    assert getattr(opts, field) == expected
    default = typed_options(command, [])
    assert getattr(default, field) != expected, "the sample must differ from the default"


def test_the_shared_group_maps_to_the_same_context_everywhere():
    """run, eval, ablate and baselines hand the same Context to the workflows."""
    argv = ["--space", "gpt2", "--seed", "3", "--init-seed", "4", "--stat-budget", "256",
            "--batch-size", "2", "--seq-len", "16", "--no-cache", "--quiet"]
    contexts = {c: typed_options(c, argv).context() for c in ("run", "eval", "ablate",
                                                              "baselines")}
    assert len({repr(ctx) for ctx in contexts.values()}) == 1, contexts


# -- what each command does with a shared option it cannot use, or a bad one ----------------


def _refused(capsys, argv: list[str], *fragments: str) -> str:
    assert main([str(a) for a in argv]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("argv", [
    ["run", "--search-archs", "6", "--heldout", "4"],
    ["eval", "--proxy", "agg_sum(fro(W))", "--archs", "5"],
    ["ablate"],
    ["baselines", "--archs", "5", "--proxies", "snip"],
    ["subnets", "--space-option", "model=tiny"],
])
def test_a_missing_cuda_device_is_refused_once_up_front(argv, capsys, monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _refused(capsys, [*argv, "--device", "cuda", "--out", tmp_path / "out", "--quiet"]
             if argv[0] != "eval" else [*argv, "--device", "cuda", "--quiet"],
             "--device cuda", "CUDA is not available")
    assert not (tmp_path / "out").exists()


def test_a_cuda_index_beyond_the_machine_is_refused(monkeypatch):
    import torch

    from lpzero_gp.workflows.options import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_device("cuda")
    check_device("cuda:0")
    with pytest.raises(OptionError, match=r"device='cuda:1': this machine has 1 CUDA device "):
        check_device("cuda:1")


def test_an_unknown_device_is_refused_by_every_command(capsys, tmp_path):
    for argv in (["run"], ["eval", "--proxy", "params"], ["ablate"], ["baselines"],
                 ["subnets"]):
        out = [] if argv[0] == "eval" else ["--out", tmp_path / "out"]
        _refused(capsys, [*argv, *out, "--device", "tpu"], "--device 'tpu'")


def test_baselines_refuses_a_stat_budget_without_trees(capsys, tmp_path):
    _refused(capsys, ["baselines", "--stat-budget", "512", "--out", tmp_path / "b"],
             "--stat-budget", "--trees")


def test_baselines_batch_is_a_deprecated_spelling(capsys):
    with pytest.warns(FutureWarning, match="--batch-size 4 --seq-len 64"):
        opts = typed_options("baselines", ["--batch", "4x64"])
    assert (opts.batch_size, opts.seq_len) == (4, 64)
    with pytest.raises(OptionError, match="once"):
        typed_options("baselines", ["--batch", "4x64", "--seq-len", "32"])
    command = cli.commands["baselines"]
    assert "Deprecated" in command.get_help(click.Context(command, info_name="baselines"))


# -- calibration length within the benchmark's limits ----------------------------------------


@pytest.fixture(scope="module")
def short_gpt2(tmp_path_factory) -> Path:
    """A GPT-2 benchmark of LM1B-style records: every model has 32 positions (tgt_len)."""
    path = resources.files("lpzero_gp.spaces.gpt2").joinpath("data", "gpt2_wt103.json")
    records = json.loads(path.read_text())[:12]
    for r in records:
        r["model_config"] = dict(r["model_config"], tgt_len=32)
    out = tmp_path_factory.mktemp("lm1b") / "short.json"
    out.write_text(json.dumps(records))
    return out


def test_default_calibration_length_respects_the_records(short_gpt2):
    from lpzero_gp.spaces import get_space
    from lpzero_gp.workflows.context import Context, load

    space = get_space("gpt2")
    assert space.max_seq_len(space.load_records(str(short_gpt2))) == 32
    assert space.max_seq_len(space.load_records()) == 192
    ctx = Context(space="gpt2", benchmark=str(short_gpt2), batch_size=2, progress=False,
                  no_cache=True)
    assert tuple(load(ctx).batch["input_ids"].shape) == (2, 32)
    assert tuple(load(ctx, default_batch=(2, 192)).batch["input_ids"].shape) == (2, 32)
    flex = Context(batch_size=2, progress=False, no_cache=True)
    assert tuple(load(flex).batch["input_ids"].shape) == (2, 128)  # no limit reached


@pytest.mark.parametrize("command", [["eval", "--proxy", "params"], ["run"], ["ablate"],
                                     ["baselines"]])
def test_a_longer_seq_len_fails_once_naming_the_option(command, short_gpt2, capsys, tmp_path):
    _refused(capsys, [*command, "--space", "gpt2", "--benchmark", short_gpt2, "--seq-len", "64",
                      "--quiet", "--no-cache", *(["--out", tmp_path / "o"]
                                                 if command[0] != "eval" else [])],
             "--seq-len 64", "32")
