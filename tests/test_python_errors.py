"""Errors name an option as their reader wrote it: the field for Python, the flag for the CLI.

Each check raised from library code is met twice: through the Python API (the message names
the field, ``seq_len=64``, ``force=True``) and through the command line (one ``error:`` line,
exit 2, naming the flag, ``--seq-len 64``, ``--force``). The layers below the workflows, which
cannot tell the two apart, word theirs for both readers. No model is built: every error comes
before the first one.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from test_hf_space import _config, _write

import lpzero_gp as lz
import lpzero_gp.workflows.subnets as subnets_mod
from lpzero_gp.atomic import AtomicFolder
from lpzero_gp.cli import main
from lpzero_gp.errors import OptionError, ResultsError, SpaceError
from lpzero_gp.search import SearchConfig
from lpzero_gp.workflows.ablate import config_from_options, run_ablate
from lpzero_gp.workflows.options import AblateOptions, SubnetOptions
from lpzero_gp.workflows.optionspec import cli_spelling


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """Twelve tiny decoders (at most 32 positions) with a made-up truth."""
    records = [{"id": f"arch{i:02d}", "config": _config(i), "truth": float(i * 5 % 12)}
               for i in range(12)]
    return str(_write(tmp_path_factory.mktemp("hf") / "bench.json", records))


@pytest.fixture
def existing(tmp_path):
    out = tmp_path / "exists"
    out.mkdir()
    return str(out)


def _cli(capsys, argv: list[str]) -> str:
    """The one error line of a command that exits 2 (after any progress line it erased)."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip().split("\r")[-1]
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def test_a_calibration_longer_than_the_models_accept(bench, capsys):
    with pytest.raises(OptionError, match=r"^seq_len=64 is longer than the 32 tokens the models "
                                          r"of this hf benchmark accept; give seq_len=32 or "
                                          r"less$"):
        lz.evaluate_proxies(["params", "gpt2-best"], space="hf", benchmark=bench, seq_len=64,
                            quiet=True)
    err = _cli(capsys, ["eval", "--space", "hf", "--benchmark", bench, "--proxy", "params",
                        "--proxy", "gpt2-best", "--seq-len", "64", "--quiet"])
    assert err.startswith("error: --seq-len 64 is longer") and err.endswith(
        "give --seq-len 32 or less")


def test_a_space_without_a_benchmark(capsys):
    with pytest.raises(SpaceError, match=r"ships no benchmark: give benchmark=FILE$"):
        lz.evaluate_proxies(["params"], space="hf", quiet=True)
    err = _cli(capsys, ["eval", "--space", "hf", "--proxy", "params", "--quiet"])
    assert err.endswith("ships no benchmark: give --benchmark FILE")


@pytest.mark.parametrize("command", ["run", "ablate", "eval", "baselines"])
def test_a_results_folder_that_exists(command, bench, existing, capsys):
    call = {"run": lambda: lz.search_proxy(space="hf", benchmark=bench, out=existing,
                                           quiet=True),
            "ablate": lambda: run_ablate(AblateOptions(space="hf", benchmark=bench,
                                                       out=existing, quiet=True)),
            "eval": lambda: lz.evaluate_proxies(["params"], space="hf", benchmark=bench,
                                                out=existing, quiet=True),
            "baselines": lambda: lz.run_baselines(space="hf", benchmark=bench, out=existing,
                                                  quiet=True)}[command]
    with pytest.raises(ResultsError, match=r"exists \(use force=True to replace it\)$"):
        call()
    argv = [command, "--space", "hf", "--benchmark", bench, "--out", existing, "--quiet"]
    if command == "eval":
        argv += ["--proxy", "params"]
    assert _cli(capsys, argv).endswith("exists (use --force to replace it)")


def test_the_sub_network_search(existing, monkeypatch, capsys):
    monkeypatch.setattr(subnets_mod, "subnet_spaces", lambda: ["one", "two"])
    with pytest.raises(SpaceError, match=r"\(one, two\): give space$"):
        subnets_mod.run_subnets(SubnetOptions(out=existing))
    assert _cli(capsys, ["subnets", "--out", existing]).endswith("(one, two): give --space")
    monkeypatch.setattr(subnets_mod, "open_subnets",
                        lambda opts: (None, SimpleNamespace(name="tiny")))
    with pytest.raises(ResultsError, match=r"use force=True to replace it"):
        subnets_mod.run_subnets(SubnetOptions(space="llama", out=existing))
    assert "use --force to replace it" in _cli(capsys, ["subnets", "--space", "llama",
                                                        "--out", existing])
    for kw, field, flag in (({"generations": -1}, "generations", "--generations"),
                            ({"top_k": 0}, "top_k", "--top-k"),
                            ({"population": 1}, "population", "--population"),
                            ({"budget_params": 0.0}, "budget_params", "--budget-params")):
        with pytest.raises(OptionError, match=f"^{field} must be"):
            subnets_mod.SearchSettings(**kw).check()
        with cli_spelling(), pytest.raises(OptionError, match=f"^{flag} must be"):
            subnets_mod.SearchSettings(**kw).check()


def test_the_search_settings(tmp_path, capsys):
    with pytest.raises(OptionError, match=r"^cxpb and mutpb must be in \[0, 1\]"):
        lz.search_proxy(cxpb=0.9, mutpb=0.5, out=str(tmp_path / "o"))
    err = _cli(capsys, ["run", "--cxpb", "0.9", "--mutpb", "0.5", "--out", tmp_path / "o"])
    assert err.startswith("error: --cxpb and --mutpb must be in [0, 1]")
    with pytest.raises(ValueError, match=r"^n_unary must be between 1 and 10$"):
        SearchConfig(n_unary=0).validate()  # the engine alone: field names


def test_the_ablation_budget(tmp_path, capsys):
    with pytest.raises(OptionError, match=r"^evaluations=60 must exceed the largest population "
                                          r"\(200\).*raise evaluations or lower population=80 "
                                          r"and populations='80,100,200'$"):
        config_from_options(AblateOptions(evaluations=60))
    err = _cli(capsys, ["ablate", "--evaluations", "60", "--out", tmp_path / "o"])
    assert err.startswith("error: --evaluations 60 must exceed") and err.endswith(
        "raise --evaluations or lower --population 80 and --populations 80,100,200")


def test_eval_and_baselines_combinations(bench, capsys):
    with pytest.raises(OptionError, match=r"^compare=True needs at least two proxies"):
        lz.evaluate_proxies(["params"], space="hf", benchmark=bench, compare=True)
    err = _cli(capsys, ["eval", "--space", "hf", "--benchmark", bench, "--proxy", "params",
                        "--compare"])
    assert err.startswith("error: --compare needs at least two --proxy")
    with pytest.raises(OptionError, match=r"^stat_budget sets the statistics of trees only; "
                                          r"give trees=True or leave stat_budget out$"):
        lz.run_baselines(space="hf", benchmark=bench, stat_budget=100)
    err = _cli(capsys, ["baselines", "--space", "hf", "--benchmark", bench, "--stat-budget",
                        "100"])
    assert err == "error: --stat-budget sets the statistics of --trees only; give --trees or " \
                  "leave --stat-budget out"
    with pytest.raises(OptionError, match=r"^stats='null' is a control"):
        lz.run_baselines(space="hf", benchmark=bench, stats="null")
    err = _cli(capsys, ["baselines", "--space", "hf", "--benchmark", bench, "--stats", "null"])
    assert err.startswith("error: --stats null is a control")


def test_the_base_layer_names_both(existing):
    """Below the workflows the reader is unknown: both spellings, the field's first."""
    from lpzero_gp.parallel import plan_workers

    with pytest.raises(ResultsError, match=r"use force=True \(--force\) to replace it"):
        AtomicFolder(existing)
    with pytest.raises(OptionError, match=r"^workers=0 \(--workers 0\): choose between 1"):
        plan_workers(0, cores=2)
