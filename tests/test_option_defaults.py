"""One source per option: the command line and the Python API share every default, range and
help text, because both are built from the option specs (lpzero_gp.workflows.optionspec).

Each command's click parameters are walked and matched to the field of the options dataclass
it fills; the default click gives, the range or choices it enforces and the help it shows must
be the field's spec. Values are checked once, when an options object is built, and Python
values (an int count, a list, a path) are taken in their canonical form. Nothing here builds a
model, so the module takes a second or two.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import click
import pytest

from lpzero_gp.cli import cli
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
from lpzero_gp.workflows.optionspec import Spec, specs_of

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


def _help(param: click.Parameter) -> str | None:
    if isinstance(param, LazyHelpOption):
        return param._help_text()
    return param.help


def _check_param(command: click.Command, param: click.Parameter, spec: Spec) -> None:
    """``param`` is what the command line builds from ``spec``."""
    assert _click_default(command, param) == spec.default, param.name
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
    defaults = {f.name: f.default for f in fields(cls)}
    for name, param in params.items():
        assert _click_default(cmd, param) == defaults[name], name


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_every_field_is_an_option_or_derived(command):
    """No field of the options is out of reach of the command line (and none lacks a default)."""
    cls = OPTIONS[command]
    params = _params(cli.commands[command])
    for f in fields(cls):
        assert f.default is not MISSING, f.name
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


@pytest.mark.parametrize(("cls", "kw", "fragment"), [
    (RunOptions, {"seq_len": 1}, "--seq-len: 1 is not an integer from 2 to 8,192"),
    (RunOptions, {"seed": -1}, "--seed: -1 is not an integer from 0"),
    (RunOptions, {"init_seed": 2**31}, "--init-seed"),
    (RunOptions, {"stat_budget": 10}, "--stat-budget: 10 is not an integer from 64"),
    (RunOptions, {"batch_size": 2.5}, "--batch-size: 2.5 is not an integer"),
    (RunOptions, {"seed": True}, "--seed: True is not an integer"),
    (RunOptions, {"batch_size": 4096, "seq_len": 4096}, "absurd calibration batch"),
    (RunOptions, {"budget": "huge"}, "unknown budget 'huge'"),
    (RunOptions, {"cxpb": float("nan")}, "--cxpb: nan is not a finite number"),
    (RunOptions, {"force": 1}, "--force: 1 is not True or False"),
    (RunOptions, {"search_archs": "train"}, "--search-archs: unknown split 'train'"),
    (RunOptions, {"heldout": -3}, "--heldout: unknown split -3"),
    (EvalOptions, {"stats": "fake"}, "--stats: unknown stats 'fake'; choose real, null"),
    (AblateOptions, {"experiments": "rps,bogus"}, "unknown experiment bogus"),
    (AblateOptions, {"populations": "80,x"}, "not a comma-separated list of integers"),
    (AblateOptions, {"n_unary_values": (0,)}, "--n-unary-values: 0 is not an integer from 1"),
    (BaselineOptions, {"threads": 0}, "--threads"),
    (Context, {"seq_len": 1}, "--seq-len"),
])
def test_a_bad_value_is_refused_when_the_options_are_built(cls, kw, fragment):
    with pytest.raises(OptionError, match=None) as err:
        cls(**kw)
    assert fragment in str(err.value)


def test_the_models_seed_is_derived_in_one_place():
    assert Source().model_init_seed() == optionspec.SEED.default
    assert Source(seed=3).model_init_seed() == 3
    assert Source(seed=3, init_seed=0).model_init_seed() == 0
    assert RunOptions(seed=3, init_seed=5).context().model_init_seed() == 5
