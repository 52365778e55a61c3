"""Tests of the DEAP search: planted-proxy recovery, invalid proxies, determinism, checkpoints."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from deap import gp
from toy import toy_family

from lpzero_gp.errors import CheckpointError
from lpzero_gp.primitives import make_pset
from lpzero_gp.proxy.parse import parse_tree
from lpzero_gp.score.fitness import INVALID_FITNESS
from lpzero_gp.score.scoring import Scorer, score_stats
from lpzero_gp.search import (
    CHECKPOINT,
    Search,
    SearchConfig,
    SearchState,
    load_checkpoint,
    save_checkpoint,
)
from lpzero_gp.stats.store import Dataset

PLANTED = "agg_mean(add(fro(G), mean(abs(A))))"
PSET = make_pset()


@pytest.fixture(scope="module")
def stats():
    return toy_family(12)


@pytest.fixture(scope="module")
def planted(stats) -> tuple[Dataset, np.ndarray]:
    """Ground truth = the planted proxy's scores on the stored statistics."""
    return Dataset.from_stats(stats), score_stats(PLANTED, stats)


def _config(**kw) -> SearchConfig:
    base = {"population": 20, "offspring": 20, "evaluations": 120, "seed": 3}
    base.update(kw)
    return SearchConfig(**base)


def _search(planted, **kw) -> Search:
    ds, truth = planted
    return Search(PSET, Scorer(ds, truth), _config(**kw))


def _summary(state: SearchState) -> tuple:
    return ([str(i) for i in state.population], [i.fitness.values for i in state.population],
            [str(i) for i in state.hof], list(state.logbook), state.generation)


@pytest.fixture(scope="module")
def reference_run(planted) -> SearchState:
    return _search(planted).run()


def test_planted_proxy_is_recovered(planted, reference_run):
    ds, truth = planted
    assert Scorer(ds, truth).rank(PLANTED).rho == pytest.approx(1.0)
    best = reference_run.hof[0]
    assert best.fitness.values[0] >= 0.95
    assert reference_run.generation == 6
    # the reported fitness is the real correlation of the best proxy
    assert Scorer(ds, truth).rank(str(best)).rho == pytest.approx(best.fitness.values[0])
    gens = [rec["gen"] for rec in reference_run.logbook]
    assert gens == list(range(7))
    assert reference_run.logbook[-1]["best"] >= reference_run.logbook[0]["best"]


def test_deep_shape_also_recovers(planted):
    state = _search(planted, shape="deep", max_height=6).run()
    assert state.hof[0].fitness.values[0] >= 0.95
    assert all(ind.height <= 6 for ind in state.population)


def test_same_seed_same_result(planted, reference_run):
    again = _search(planted).run()
    assert _summary(again) == _summary(reference_run)
    other = _search(planted, seed=4).run()
    assert _summary(other) != _summary(reference_run)


def test_global_random_is_neither_used_nor_changed(planted, reference_run):
    """Draws from the global RNG meanwhile (a Dask client's thread, say) change nothing."""
    ds, truth = planted
    scorer = Scorer(ds, truth)

    def noisy(text):
        random.random()
        return scorer(text)

    random.seed(0)
    before = random.getstate()
    assert _summary(_search(planted).run()) == _summary(reference_run)
    assert random.getstate() == before
    assert _summary(Search(PSET, noisy, _config()).run()) == _summary(reference_run)


def test_interleaved_searches_each_have_their_own_rng(planted, reference_run):
    a, b = _search(planted), _search(planted)
    state_a, state_b = a.start(), b.start()
    while state_a.generation < a.config.generations:
        state_a, state_b = a.step(state_a), b.step(state_b)
    assert _summary(state_a) == _summary(state_b) == _summary(reference_run)


def test_initial_population_has_distinct_valid_keys(planted):
    s = _search(planted)
    state = s.start()
    verdicts = [s.rps.check(ind) for ind in state.population]
    assert all(v.ok for v in verdicts)
    assert len({v.key for v in verdicts}) == len(verdicts)


def test_invalid_proxies_get_invalid_fitness(stats, planted):
    _, truth = planted
    stats = list(stats)
    stats[0] = compact_without(stats[0], "S")  # one architecture lacks the softmax input
    ds = Dataset.from_stats(stats)
    search = Search(PSET, Scorer(ds, truth), _config(rps=False))
    trees = ["agg_mean(mean(S))",  # nan on architecture 0
             "agg_mean(softmax(mean(H)))",  # constant scores
             "agg_mean(mean(exp(exp(exp(A)))))",  # saturates (overflow)
             "agg_mean(mean(H))"]  # valid
    inds = [_individual(t) for t in trees]
    assert search.evaluate_population(inds) == 4
    fits = [i.fitness.values[0] for i in inds]
    assert fits[:3] == [INVALID_FITNESS] * 3
    assert fits[3] > INVALID_FITNESS


def test_rps_rejections_never_reach_the_scorer(planted):
    ds, truth = planted
    calls = []

    def score(text):
        calls.append(text)
        return Scorer(ds, truth)(text)

    search = Search(PSET, score, _config())
    inds = [_individual(t) for t in ("agg_mean(softmax(mean(H)))",
                                     "agg_mean(sub(mean(H), mean(H)))",
                                     "agg_mean(mean(H))", "agg_mean(mean(neg(neg(H))))",
                                     "agg_mean(mean(neg(H)))")]
    assert search.evaluate_population(inds) == 1  # three key-equal proxies, one evaluation
    assert len(calls) == 1
    fits = [i.fitness.values[0] for i in inds]
    assert fits[:2] == [INVALID_FITNESS] * 2
    assert fits[2] == fits[3] == -fits[4]


def test_search_with_missing_input_runs(stats, planted):
    _, truth = planted
    stats = list(stats)
    stats[1] = compact_without(stats[1], "J")
    ds = Dataset.from_stats(stats)
    state = Search(PSET, Scorer(ds, truth), _config(evaluations=60)).run()
    for ind in state.population:
        assert ind.fitness.valid
        assert ind.fitness.values[0] == INVALID_FITNESS or -1 <= ind.fitness.values[0] <= 1
    assert state.hof[0].fitness.values[0] > INVALID_FITNESS


def test_checkpoint_round_trip(planted, reference_run, tmp_path: Path):
    first = _search(planted)
    state = first.step(first.step(first.start()))
    save_checkpoint(state, tmp_path)
    assert (tmp_path / CHECKPOINT).exists()
    assert not list(tmp_path.glob("*.tmp*"))
    loaded = load_checkpoint(tmp_path, PSET)
    assert _summary(loaded) == _summary(state)
    second = _search(planted)
    second.resume(loaded)
    final = second.run(loaded)
    assert _summary(final) == _summary(reference_run)


class _Interrupt(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_result(planted, reference_run, tmp_path: Path):
    def stop_after_three(state):
        if state.generation == 3:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        _search(planted).run(progress=stop_after_three, checkpoint_dir=tmp_path)
    loaded = load_checkpoint(tmp_path, PSET)
    assert loaded.generation == 3
    search = _search(planted)
    search.resume(loaded)
    final = search.run(loaded, checkpoint_dir=tmp_path)
    assert _summary(final) == _summary(reference_run)
    assert load_checkpoint(tmp_path, PSET).generation == final.generation


def test_invalid_variant_does_not_poison_the_key_cache(planted):
    """The variant adds 0 * (a term that saturates): key-equal to mean(H), but its numbers
    overflow. Its invalidity must not be passed on to the valid proxy with the same key."""
    ds, truth = planted
    scorer = Scorer(ds, truth)
    variant = "agg_mean(add(mean(H), mul(mean(znorm(A)), mean(exp(exp(exp(A)))))))"
    plain = "agg_mean(mean(H))"
    assert scorer.rank(variant).reason == "overflow"
    assert scorer.rank(plain).valid
    search = Search(PSET, scorer, _config())
    assert search.rps.check(parse_tree(variant, PSET)).key == \
        search.rps.check(parse_tree(plain, PSET)).key
    first, second = _individual(variant), _individual(plain)
    search.evaluate_population([first])
    search.evaluate_population([second])
    assert second.fitness.values[0] == pytest.approx(scorer.rank(plain).rho)


@pytest.mark.parametrize("kw", [
    {"population": 1}, {"offspring": 0}, {"evaluations": 0}, {"cxpb": 0.8, "mutpb": 0.5},
    {"n_unary": 0}, {"shape": "wide"}, {"max_height": 2}, {"aggregations": ("agg_max",)},
    {"aggregations": ()}, {"tournsize": 0},
])
def test_absurd_config_rejected(kw):
    with pytest.raises(ValueError) as err:
        _config(**kw).validate()
    assert "\n" not in str(err.value)


_CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
from toy import toy_family
from lpzero_gp.search import Search, SearchConfig
from lpzero_gp.primitives import make_pset
from lpzero_gp.score.scoring import Scorer, score_stats
from lpzero_gp.stats.store import Dataset
stats = toy_family(12)
truth = score_stats({planted!r}, stats)
state = Search(make_pset(), Scorer(Dataset.from_stats(stats), truth),
               SearchConfig(population=20, offspring=20, evaluations=120, seed=3)).run()
print(json.dumps([[str(i) for i in state.population], [str(i) for i in state.hof],
                  list(state.logbook)]))
"""


@pytest.mark.slow
def test_same_seed_same_result_in_another_process(reference_run):
    code = _CHILD.format(tests=str(Path(__file__).parent), planted=PLANTED)
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300, check=True)
    pop, hof, log = json.loads(out.stdout)
    assert pop == [str(i) for i in reference_run.population]
    assert hof == [str(i) for i in reference_run.hof]
    assert log == json.loads(json.dumps(list(reference_run.logbook)))


# ----------------------------------------------------------------------------------------
# helpers


def compact_without(stats, letter: str):
    """A copy of compact statistics without one input."""
    return type(stats)(stats.n_blocks, {k: v for k, v in stats.inputs.items() if k != letter})


def _individual(text: str):
    from deap import creator

    return creator.ProxyTree(gp.PrimitiveTree(parse_tree(text, PSET)))



def test_bad_checkpoints_raise_one_line_errors(planted, tmp_path: Path):
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "nowhere", PSET)
    assert "\n" not in str(err.value)
    (tmp_path / CHECKPOINT).write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path, PSET)
    assert "\n" not in str(err.value)
    first = _search(planted)
    save_checkpoint(first.start(), tmp_path)
    data = json.loads((tmp_path / CHECKPOINT).read_text(encoding="utf-8"))
    data["population"][0][0] = "agg_mean(__import__('os'))"
    (tmp_path / CHECKPOINT).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path, PSET)
    assert "\n" not in str(err.value)


def test_examples_run():
    """Both examples run as scripts (started together to share the import time)."""
    root = Path(__file__).resolve().parent.parent
    scripts = ["custom_deap.py", "export_latex.py"]
    procs = [subprocess.Popen([sys.executable, str(root / "examples" / s)], cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for s in scripts]
    outs = [p.communicate(timeout=300) for p in procs]
    for script, proc, (_, err) in zip(scripts, procs, outs, strict=True):
        assert proc.returncode == 0, f"{script} failed:\n{err[-2000:]}"
    deap_out, latex_out = outs[0][0], outs[1][0]
    assert "best proxies" in deap_out and "agg_" in deap_out
    for name in ("paper_bert", "paper_gpt2", "paper_llama"):
        assert name in latex_out
    assert r"\sum_{l=1}^{L}" in latex_out
