"""One source per option: the command line and the Python API share every default, range and
help text, because both are built from the option specs (lpzero_gp.workflows.optionspec).

Each command's click parameters are walked and matched to the field of the options dataclass
it fills; the default click gives, the range or choices it enforces and the help it shows must
be the field's spec. Values are checked once, when an options object is built, and Python
values (an int count, a list, a path, a mapping, positively named booleans) are taken in their
canonical form; an error names the field for a Python caller and the flag on the command line.
Nothing here builds a model, so the module takes a second or two.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import click
import pytest

from lpzero_gp.cli import cli, main
from lpzero_gp.cli.options import LazyHelpOption
from lpzero_gp.errors import OptionError
from lpzero_gp.workflows import optionspec
from lpzero_gp.workflows.options import (
    AblateOptions,
    BaselineOptions,
    CommonOptions,
    Context,
    EvalOptions,
    RunOptions,
    Source,
    SubnetOptions,
)
from lpzero_gp.workflows.optionspec import Spec, cli_spelling, specs_of

#: The options dataclass each command fills.
OPTIONS = {"run": RunOptions, "eval": EvalOptions, "ablate": AblateOptions,
           "baselines": BaselineOptions, "subnets": SubnetOptions}
#: Command-line parameters that fill no field: ``--json`` everywhere, and deprecated spellings
#: of other options.
NOT_FIELDS = {"as_json", "batch"}
#: Fields filled by the workflows, never by an option.
DERIVED = {"run": {"checkpoint_dir"}, "baselines": {"command"}}


def _params(command: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in command.params if p.name not in NOT_FIELDS}


def _click_default(command: click.Command, param: click.Parameter) -> Any:
    """The value a parameter takes when it is not given (after click's type reads it)."""
    ctx = click.Context(command)
    return param.type_cast_value(ctx, param.get_default(ctx))


def _field_default(f: Any) -> Any:
    """The value a field takes when it is not given."""
    return f.default_factory() if f.default is MISSING else f.default


def _help(param: click.Parameter) -> str | None:
    if isinstance(param, LazyHelpOption):
        return param._help_text()
    return param.help


def _check_param(command: click.Command, param: click.Parameter, spec: Spec) -> None:
    """``param`` is what the command line builds from ``spec``."""
    assert spec.check(_click_default(command, param)) == spec.field_default(), param.name
    assert _help(param) == (spec.help_text() or None), param.name
    assert param.opts == [spec.opt], param.name
    assert param.required == spec.required, param.name
    assert bool(param.is_flag) == (spec.kind is bool), param.name
    assert param.multiple == spec.multiple, param.name
    kind = param.type
    if isinstance(kind, click.IntRange | click.FloatRange):
        assert (kind.min, kind.max) == (spec.low, spec.high), param.name
    else:
        assert spec.low is None and spec.high is None or spec.sep, param.name
    if isinstance(kind, click.Choice):
        assert tuple(kind.choices) == spec.choices, param.name
    else:
        assert not spec.choices or spec.sep, param.name


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_every_option_is_a_field_with_the_same_default_and_spec(command):
    cmd = cli.commands[command]
    cls = OPTIONS[command]
    specs = specs_of(cls)
    params = _params(cmd)
    assert set(params) <= set(specs), f"options without a spec: {set(params) - set(specs)}"
    for name, param in params.items():
        _check_param(cmd, param, specs[name])
    # and the Python API's default is the same value
    defaults = {f.name: _field_default(f) for f in fields(cls)}
    for name, param in params.items():
        assert specs[name].check(_click_default(cmd, param)) == defaults[name], name


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_every_field_is_an_option_or_derived(command):
    """No field of the options is out of reach of the command line (and none lacks a default)."""
    cls = OPTIONS[command]
    params = _params(cli.commands[command])
    for f in fields(cls):
        assert f.default is not MISSING or f.default_factory is not MISSING, f.name
        assert f.name in params or f.name in DERIVED.get(command, set()), f.name


@pytest.mark.parametrize(("command", "specs"), [
    (["export"], {"proxy": optionspec.EXPORT_PROXY, "fmt_": optionspec.EXPORT_FORMAT,
                  "literal": optionspec.EXPORT_LITERAL}),
    (["cache", "info"], {"cache_dir": optionspec.CACHE_DIR}),
    (["cache", "clear"], {"cache_dir": optionspec.CACHE_DIR, "space": optionspec.CACHE_SPACE}),
])
def test_commands_without_options_objects_build_from_specs(command, specs):
    cmd = cli
    for name in command:
        cmd = cmd.commands[name]
    params = _params(cmd)
    assert set(params) == set(specs)
    for name, param in params.items():
        _check_param(cmd, param, specs[name])


def test_the_shared_options_mean_one_thing():
    """Each shared option has one spec; a command may word its help, never change its type,
    default or range."""
    shared = specs_of(CommonOptions)
    assert set(optionspec.COMMON) == set(shared)
    for cls in (RunOptions, EvalOptions, AblateOptions, BaselineOptions):
        for name, spec in specs_of(cls).items():
            if (cls, name) == (RunOptions, "space"):  # run alone takes several spaces
                spec = spec.but(multiple=False, several=False)
            if name in shared:
                assert spec.but(help=shared[name].help) == shared[name], (cls.__name__, name)


def test_help_shows_the_specs_text_and_range():
    cmd = cli.commands["run"]
    text = cmd.get_help(click.Context(cmd, info_name="run", terminal_width=1000))
    seq = optionspec.SEQ_LEN
    assert seq.help in text and f"{seq.low}<=x<={seq.high}" in text
    assert f"[default: {optionspec.SEED.default}; {optionspec.SEED.low}<=x<=" in text
    ablate = cli.commands["ablate"]
    text = ablate.get_help(click.Context(ablate, info_name="ablate", terminal_width=1000))
    assert "[default: 80,100,200]" in text and "rps, population, n_unary, stats." in text


# -- values from Python: checked once, when the options are built -----------------------------


def test_counts_may_be_ints():
    assert RunOptions(search_archs=10, heldout=5).search_archs == "10"
    assert RunOptions(heldout=5).heldout == "5"
    assert EvalOptions(archs=5).archs == "5"
    assert AblateOptions(search_archs=12).search_archs == "12"
    assert BaselineOptions(archs=3).archs == "3"


def test_python_api_takes_an_int_count(monkeypatch):
    """``evaluate_proxies(..., archs=5)`` reaches the workflow with the count as text."""
    import lpzero_gp as lz
    import lpzero_gp.workflows.evaluate as evaluate

    seen = []
    monkeypatch.setattr(evaluate, "evaluate", lambda opts: seen.append(opts) or "report")
    assert lz.evaluate_proxies(["params"], archs=5) == "report"
    assert seen[0].archs == "5" and seen[0].proxies == ("params",)
    monkeypatch.setattr("lpzero_gp.workflows.run.run_search", lambda opts: opts)
    assert lz.search_proxy(search_archs=10, heldout=4).search_archs == "10"


def test_lists_and_paths_take_their_canonical_form(tmp_path):
    a = AblateOptions(experiments=["n-unary", "rps", "rps"], populations=[4, 8],
                      n_unary_values="1,2")
    assert (a.experiments, a.populations, a.n_unary_values) == (("n_unary", "rps"), (4, 8),
                                                                (1, 2))
    assert BaselineOptions(proxies="snip, synflow").proxies == ("snip", "synflow")
    assert EvalOptions(proxies=["params", "layers"]).proxies == ("params", "layers")
    assert RunOptions(out=tmp_path / "o", benchmark=Path("b.json")).out == str(tmp_path / "o")
    import numpy as np

    seed = RunOptions(seed=np.int64(7)).seed
    assert seed == 7 and type(seed) is int


#: A bad value of each kind, and what the error says to a Python caller (the field's name).
BAD = [
    (RunOptions, {"seq_len": 1}, "seq_len: 1 is not an integer from 2 to 8,192"),
    (RunOptions, {"seed": -1}, "seed: -1 is not an integer from 0"),
    (RunOptions, {"init_seed": 2**31}, "init_seed: "),
    (RunOptions, {"stat_budget": 10}, "stat_budget: 10 is not an integer from 64"),
    (RunOptions, {"batch_size": 2.5}, "batch_size: 2.5 is not an integer"),
    (RunOptions, {"seed": True}, "seed: True is not an integer"),
    (RunOptions, {"batch_size": 4096, "seq_len": 4096},
     "batch_size=4096 x seq_len=4096: absurd calibration batch"),
    (RunOptions, {"budget": "huge"}, "unknown budget 'huge'"),
    (RunOptions, {"cxpb": float("nan")}, "cxpb: nan is not a finite number"),
    (RunOptions, {"force": 1}, "force: 1 is not True or False"),
    (RunOptions, {"rps": "no"}, "rps: 'no' is not True or False"),
    (RunOptions, {"search_archs": "train"}, "search_archs: unknown split 'train'"),
    (RunOptions, {"heldout": -3}, "heldout: unknown split -3"),
    (RunOptions, {"space_options": {"a b": 1}}, "space_options: 'a b' is not a name"),
    (RunOptions, {"space_options": ["model"]}, "space_options: 'model' is not KEY=VALUE"),
    (RunOptions, {"space_options": {"model": object()}}, "space_options: the value of 'model'"),
    (EvalOptions, {"stats": "fake"}, "stats: unknown stats 'fake'; choose real, null"),
    (AblateOptions, {"experiments": "rps,bogus"}, "unknown experiment bogus"),
    (AblateOptions, {"populations": "80,x"}, "not a comma-separated list of integers"),
    (AblateOptions, {"n_unary_values": (0,)}, "n_unary_values: 0 is not an integer from 1"),
    (BaselineOptions, {"threads": 0}, "threads: "),
    (SubnetOptions, {"budget_params": 0.0}, "budget_params must be > 0"),
    (Context, {"seq_len": 1}, "seq_len: "),
]


@pytest.mark.parametrize(("cls", "kw", "fragment"), BAD)
def test_a_bad_value_is_refused_when_the_options_are_built(cls, kw, fragment):
    with pytest.raises(OptionError) as err:
        cls(**kw)
    assert fragment in str(err.value)
    assert "--" not in str(err.value)  # a Python caller meets field names, not flags


@pytest.mark.parametrize(("cls", "kw", "fragment"), [
    (RunOptions, {"seq_len": 1}, "--seq-len: 1 is not an integer from 2 to 8,192"),
    (RunOptions, {"batch_size": 4096, "seq_len": 4096},
     "--batch-size 4096 x --seq-len 4096: absurd"),
    (RunOptions, {"search_archs": "train"}, "--search-archs: unknown split 'train'"),
    (RunOptions, {"space_options": ["model"]}, "--space-option: 'model' is not KEY=VALUE"),
    (SubnetOptions, {"budget_params": 0.0}, "--budget-params must be > 0"),
])
def test_the_command_line_names_its_flags(cls, kw, fragment):
    with cli_spelling(), pytest.raises(OptionError) as err:
        cls(**kw)
    assert fragment in str(err.value)


def test_the_command_line_refuses_with_the_flag(capsys, tmp_path):
    """The same check from the command line: one line naming the flag as typed."""
    argv = ["run", "--search-archs", "train", "--out", str(tmp_path / "o"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --search-archs: unknown split 'train'; choose search, validation, " \
                  "test, heldout, all or a number N"
    assert main(["run", "--space-option", "model", "--out", str(tmp_path / "o")]) == 2
    assert "error: --space-option: 'model' is not KEY=VALUE" in capsys.readouterr().err
    with pytest.raises(OptionError, match=r"^search_archs: unknown split"):
        RunOptions(search_archs="train")  # outside the command line: the field again


# -- Python values: positive booleans, a mapping of space options, former names --------------


def test_booleans_are_named_for_what_they_switch_on():
    opts = RunOptions()
    assert (opts.rps, opts.memo, opts.cache) == (True, True, True)
    off = RunOptions(rps=False, memo=False, cache=False)
    assert (off.rps, off.memo, off.cache) == (False, False, False)
    assert not Context(cache=False).cache and not EvalOptions(cache=False).context().cache
    from lpzero_gp.workflows.run import search_config

    cfg = search_config(off)
    assert (cfg.rps, cfg.memoize) == (False, False)


def test_the_command_line_keeps_its_flags():
    """``--no-rps``, ``--no-memo``, ``--no-cache`` switch the positive fields off and
    ``--space-option KEY=VALUE`` items fill the mapping."""
    from lpzero_gp.cli.run import make_options

    cmd = cli.commands["run"]
    default = make_options(cmd.make_context("run", []).params)
    assert (default.rps, default.memo, default.cache, default.space_options) == (
        True, True, True, {})
    ctx = cmd.make_context("run", ["--no-rps", "--no-memo", "--no-cache", "--space-option",
                                   "model=tiny", "--space-option", "stand_in=4"])
    opts = make_options(ctx.params)
    assert (opts.rps, opts.memo, opts.cache) == (False, False, False)
    assert opts.space_options == {"model": "tiny", "stand_in": 4}
    assert {p.opts[0] for p in cmd.params} >= {"--no-rps", "--no-memo", "--no-cache",
                                                "--space-option"}


def test_space_options_are_a_mapping():
    opts = RunOptions(space_options={"model": Path("/data/llama"), "lora-r": 8,
                                     "modules": ("q", "v")})
    assert opts.space_options == {"model": "/data/llama", "lora_r": 8, "modules": ["q", "v"]}
    assert opts.context().space_options == opts.space_options
    assert SubnetOptions(space_options={"model": "tiny"}).context("llama").space_options == {
        "model": "tiny"}
    assert RunOptions().space_options is not RunOptions().space_options  # never shared
    assert RunOptions(space_options=["stand_in=4", "model=tiny"]).space_options == {
        "stand_in": 4, "model": "tiny"}


def test_former_field_names_still_work():
    from dataclasses import replace

    import lpzero_gp as lz

    old = RunOptions(no_rps=True, no_memo=True, no_cache=True,
                     space_option=("model=tiny", "stand_in=4"))
    assert (old.rps, old.memo, old.cache) == (False, False, False)
    assert old.space_options == {"model": "tiny", "stand_in": 4}
    assert SubnetOptions(space_option=["model=tiny"]).space_options == {"model": "tiny"}
    assert not Context(no_cache=True).cache
    assert replace(RunOptions(), no_rps=True).rps is False  # a former name given wins
    assert lz._options(RunOptions, None, {"no_memo": True}).memo is False
    with pytest.raises(TypeError):
        RunOptions(no_such_option=1)


def test_python_values_of_every_kind(tmp_path):
    import numpy as np

    opts = RunOptions(search_archs=np.int64(9), heldout=4, benchmark=tmp_path / "b.json",
                      tokenizer=tmp_path / "tok", text=tmp_path / "t.txt")
    assert (opts.search_archs, opts.heldout) == ("9", "4")
    assert (opts.benchmark, opts.tokenizer) == (str(tmp_path / "b.json"), str(tmp_path / "tok"))
    assert EvalOptions(proxies=[tmp_path / "best.json", "params"]).proxies == (
        str(tmp_path / "best.json"), "params")
    assert AblateOptions(populations=range(4, 7)).populations == (4, 5, 6)
    assert BaselineOptions(proxies=iter(["snip"])).proxies == ("snip",)


def test_the_models_seed_is_derived_in_one_place():
    assert Source().model_init_seed() == optionspec.SEED.default
    assert Source(seed=3).model_init_seed() == 3
    assert Source(seed=3, init_seed=0).model_init_seed() == 0
    assert RunOptions(seed=3, init_seed=5).context().model_init_seed() == 5
