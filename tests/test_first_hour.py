"""What a first hour with the tool meets: suggestions for misspelt names, a light primitive set,
safe defaults, and word before a long extraction."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from lpzero_gp.cli import main
from lpzero_gp.errors import ProxyError
from lpzero_gp.proxy.read import read_proxy

# -- "did you mean" ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "fragments"), [
    ("flexibert_best", ["unknown input 'flexibert_best' (nor a named proxy)",
                        "did you mean 'flexibert-best'?"]),
    ("flexibert-bst", ["unknown input 'flexibert-bst'", "did you mean 'flexibert-best'?"]),
    ("gpt2_best", ["did you mean 'gpt2-best'?"]),
    ("paperbert", ["did you mean 'paper_bert'?"]),
    ("agg_mean(mean(h))", ["unknown input 'h'; inputs are A, H, S, J, G, W",
                           "did you mean 'H'?"]),
    ("agg_mean(sqaure(mean(H)))", ["unknown operation 'sqaure'; did you mean 'square'?"]),
    ("agg_mean(mean(abss(H)))", ["unknown operation 'abss'; did you mean 'abs'?"]),
    ("agg_mean(frobenius_nrom(H))", ["did you mean 'frobenius_norm'?"]),
])
def test_unknown_names_suggest_the_closest(text, fragments):
    with pytest.raises(ProxyError) as info:
        read_proxy(text)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("text", ["nope", "agg_mean(mean(X))", "agg_mean(zzzz(H))"])
def test_nothing_close_suggests_nothing(text):
    with pytest.raises(ProxyError) as info:
        read_proxy(text)
    assert "did you mean" not in str(info.value)


def test_did_you_mean_ignores_case_and_hyphens():
    from lpzero_gp.proxy.named import suggest
    from lpzero_gp.proxy.parse import did_you_mean

    assert did_you_mean("LLAMA_BEST", ["llama-best", "params"]) == "; did you mean 'llama-best'?"
    assert did_you_mean("xyz", ["llama-best"]) == ""
    assert suggest("param", ["params", "layers"]) == "; did you mean 'params'?"


def test_eval_suggests_a_feature_of_the_space(capsys):
    assert main(["eval", "--proxy", "param", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown input 'param' (nor a named proxy or a feature)")
    assert err.endswith("did you mean 'params'?") and len(err.splitlines()) == 1


def test_eval_suggests_a_named_proxy(capsys):
    assert main(["eval", "--proxy", "flexibert_best", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'flexibert-best'?" in err


# -- a light primitive set --------------------------------------------------------------------


def _fresh_python(*lines: str) -> None:
    """Run the lines in a fresh interpreter (its own imports); they must pass."""
    proc = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_make_pset_loads_neither_torch_nor_sympy():
    _fresh_python("import sys",
                  "from lpzero_gp.primitives import make_pset, register_op",
                  "make_pset(); make_pset(stock=True)",
                  "assert 'torch' not in sys.modules, 'torch'",
                  "assert 'sympy' not in sys.modules, 'sympy'")


def test_scoring_a_proxy_loads_no_sympy():
    """What a fitness pool worker imports to score proxy strings; SymPy comes with the first
    SymPy form asked for."""
    _fresh_python("import sys",
                  "import lpzero_gp.score.scoring",
                  "from lpzero_gp.proxy import parse",
                  "parse('agg_sum(fro(W))')",
                  "assert 'sympy' not in sys.modules, 'sympy'",
                  "from lpzero_gp.proxy import to_sympy",
                  "assert str(to_sympy(parse('agg_sum(fro(W))'))) and 'sympy' in sys.modules")


def test_the_table_resolves_kernels_and_twins_on_use():
    from lpzero_gp.primitives import kernels, symbolic
    from lpzero_gp.primitives.ops import OPS_BY_NAME, resolve

    log = OPS_BY_NAME["log"]
    assert log.impl == ".kernels:safe_log" and log.kernel is kernels.safe_log
    assert log.sym is symbolic.SafeLog and log.fn is log.fn  # lifted once
    assert OPS_BY_NAME["mean"].kernel is None and OPS_BY_NAME["prune"].sym is None
    assert resolve("sympy:Abs").__name__ == "Abs" and resolve(len) is len


def test_a_lazy_primitive_computes_what_the_overload_does():
    import torch

    from lpzero_gp.primitives import make_pset
    from lpzero_gp.primitives.pset import ALL_OVERLOADS, LazyOverload, overload_fn

    fn = make_pset().context["square_S"]
    assert isinstance(fn, LazyOverload)
    x = torch.tensor([-2.0, 3.0], dtype=torch.float64)
    assert torch.equal(fn(x), overload_fn(ALL_OVERLOADS["square_S"])(x))


# -- safe defaults ----------------------------------------------------------------------------


def test_llama_subnets_default_to_the_best_shipped_proxy():
    from lpzero_gp.proxy.named import NAMED, shipped_best
    from lpzero_gp.spaces.llama.subnets import LlamaSubnets

    assert LlamaSubnets.default_proxy == "llama-best"
    assert NAMED["llama-best"] == shipped_best()["llama-best"]["proxy"]


def test_budget_paper_is_the_default_budget():
    from lpzero_gp.workflows.options import RunOptions
    from lpzero_gp.workflows.optionspec import BUDGET_ALIASES, BUDGETS, RUN_SPECS
    from lpzero_gp.workflows.run import search_config

    assert BUDGETS["default"] == (80, 40, 1000) and BUDGET_ALIASES == {"paper": "default"}
    default, paper = search_config(RunOptions()), search_config(RunOptions(budget="paper"))
    assert default == paper
    assert (default.population, default.offspring, default.evaluations) == (80, 40, 1000)
    shown = " ".join(RUN_SPECS["budget"].help_text().split())
    assert "(the same budget as default)" in shown and "the paper's budget" in shown


# -- word before a long extraction ------------------------------------------------------------


def test_build_notice_measured_and_rough():
    from lpzero_gp.workflows.context import build_notice

    measured = build_notice("statistics", 400, 500, {"n": 100, "build": 0.5, "statistics": 1.5},
                            "/c")
    assert measured == ("statistics: building 400 models (100 of 500 statistics cached in /c); "
                        "about 13 min (2.0 s a model, the median measured on 100 architectures)")
    rough = build_notice("search statistics", 50, 50, {"n": 0}, None, workers=2)
    assert rough == ("search statistics: building 50 models (no cache: the statistics are not "
                     "kept); roughly 25 s to 2 min (1 to 5 s a model on a CPU, 2 workers; none "
                     "measured here yet)")


class _Extractor:
    """Stands in for the extractor: ``cached`` ids have files, reading them gives timings."""

    def __init__(self, cached):
        self.cached, self.read = set(cached), []
        self.cache = SimpleNamespace(parent="/cache")

    def pending(self, records):
        return [r for r in records if r.id not in self.cached]

    def stats(self, records, label):
        self.read += [r.id for r in records]

    def cost_seconds(self, ids):
        n = len([i for i in ids if i in self.read])
        return {"n": n, "build": 1.0, "statistics": 2.0} if n else {"n": 0}


def _loaded(n, cached, notify):
    records = [SimpleNamespace(id=str(i)) for i in range(n)]
    return SimpleNamespace(extractor=_Extractor(cached), records=records, notify=notify,
                           workers=1)


def test_announce_only_before_many_models():
    from lpzero_gp.workflows.context import ANNOUNCE_ABOVE, announce

    said = []
    few = _loaded(ANNOUNCE_ABOVE, (), said.append)
    announce(few, few.records, "statistics")
    assert said == []
    many = _loaded(100, [str(i) for i in range(40)], said.append)
    announce(many, many.records, "statistics")
    assert said == ["statistics: building 60 models (40 of 100 statistics cached in /cache); "
                    "about 3 min (3.0 s a model, the median measured on 40 architectures)"]
    assert many.extractor.read == [str(i) for i in range(40)]
    silent = _loaded(100, (), None)
    announce(silent, silent.records, "statistics")  # no callback: nothing computed
    assert silent.extractor.read == []


def test_eval_says_what_it_builds_before_building(capsys, tmp_path, monkeypatch):
    import lpzero_gp.workflows.context as context

    monkeypatch.setattr(context, "ANNOUNCE_ABOVE", 2)
    argv = ["eval", "--proxy", "agg_mean(mean(W))", "--archs", "3", "--batch-size", "2",
            "--seq-len", "16", "--cache-dir", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"statistics: building 3 models (0 of 3 statistics cached in {tmp_path})" in err
    assert "roughly" in err
    assert main(argv) == 0  # everything cached: nothing to announce
    assert "building" not in capsys.readouterr().err


def test_extractor_pending_looks_in_memory_and_the_cache(tmp_path):
    from lpzero_gp.workflows.context import load
    from lpzero_gp.workflows.options import EvalOptions

    ctx = EvalOptions(proxies=("params",), batch_size=2, seq_len=16, cache_dir=str(tmp_path),
                      quiet=True).context()
    recs = load(ctx).records[:2]
    first = load(ctx).extractor
    assert first.pending(recs) == recs
    first.stats(recs[:1])
    assert first.pending(recs) == recs[1:]
    assert load(ctx).extractor.pending(recs) == recs[1:]  # a fresh one finds the file
