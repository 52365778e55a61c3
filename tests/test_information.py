"""The null-statistics control, the information label, cost classes and the beyond-shape fitness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from toy import toy_family

from lpzero_gp.proxy.read import read_proxy
from lpzero_gp.score.fitness import INVALID_FITNESS
from lpzero_gp.score.information import (
    cost_class,
    information,
    inputs_of,
    label,
    precision_flag,
    real_null_rho,
)
from lpzero_gp.score.scoring import SHAPE_REJECTED, Scorer
from lpzero_gp.stats.null import null_stats
from lpzero_gp.stats.store import Dataset


@pytest.fixture(scope="module")
def family():
    """Twelve toy architectures of 1-4 blocks and 5 widths, with their null control."""
    stats = toy_family(12)
    return stats, [null_stats(s, seed=7) for s in stats]


def test_null_keeps_every_shape_and_replaces_every_value(family):
    real, null = family
    for r, n in zip(real, null, strict=True):
        assert r.n_blocks == n.n_blocks and r.inputs.keys() == n.inputs.keys()
        for letter in r.inputs:
            for (b1, t1, n1), (b2, t2, n2) in zip(r.inputs[letter], n.inputs[letter],
                                                  strict=True):
                assert (b1, tuple(t1.shape), n1) == (b2, tuple(t2.shape), n2)
                assert t2.dtype == torch.float32 and not torch.equal(t1, t2)


def test_null_depends_on_shapes_only(family):
    real, _ = family
    a = null_stats(real[0], seed=7)
    edited = type(real[0])(real[0].n_blocks, {k: [(b, t * 3 + 1, n) for b, t, n in v]
                                              for k, v in real[0].inputs.items()})
    b = null_stats(edited, seed=7)  # other values, same shapes: the same null statistics
    for letter in a.inputs:
        for (_, x, _), (_, y, _) in zip(a.inputs[letter], b.inputs[letter], strict=True):
            assert torch.equal(x, y)
    c = null_stats(real[0], seed=8)
    assert not torch.equal(c.inputs["A"][0][1], a.inputs["A"][0][1])


def test_shape_formula_is_shape_only_and_a_value_statistic_is_not(family):
    real, null = family
    ds, nds = Dataset.from_stats(real), Dataset.from_stats(null)
    truth = np.arange(len(real), dtype=float)
    s, n = Scorer(ds, truth), Scorer(nds, truth)
    # fro grows with every block's size: on noise too
    size = "agg_sum(fro(W))"
    assert label(real_null_rho(s.scores(size), n.scores(size))) == "shape-only"
    # the mean of a standardised block is 0 on noise, whatever the shape
    value = "agg_mean(mean(A))"
    assert information(s.scores(value), n.scores(value))["label"] != "shape-only"


def test_labels_and_thresholds():
    assert label(0.95) == label(-0.95) == "shape-only"
    assert label(0.6) == "partly"
    assert label(0.2) == "statistics-driven"
    assert label(float("nan")) == "undefined"
    # constant null scores carry no shape information
    assert real_null_rho([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]) == 0.0
    assert np.isnan(real_null_rho([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


def test_cost_classes():
    assert cost_class(inputs_of(read_proxy("agg_mean(fro(W))"))) == "weights"
    assert cost_class(inputs_of(read_proxy("agg_mean(add(mean(A), fro(W)))"))) == "forward"
    assert cost_class(inputs_of(read_proxy("agg_mean(add(fro(G), l1(W)))"))) == "backward"
    assert cost_class(inputs_of(read_proxy("agg_mean(mean(J))"))) == "backward"
    assert cost_class(frozenset()) == "config"


def test_precision_flag_marks_rankings_below_four_digits():
    truth = np.arange(6, dtype=float)
    assert not precision_flag([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], truth)
    tiny = 1000.0 + np.array([0.0, 0.01, 0.02, 0.03, 0.04, 0.05])  # only the 6th digit moves
    assert precision_flag(tiny, truth)


def test_beyond_shape_fitness_rejects_shape_decided_proxies(family):
    real, null = family
    ds, nds = Dataset.from_stats(real), Dataset.from_stats(null)
    sizes = Scorer(ds, np.zeros(len(real))).scores("agg_sum(fro(W))")
    truth = sizes  # the truth is the size: a size proxy ranks it perfectly
    plain, beyond = Scorer(ds, truth), Scorer(ds, truth, null=nds)
    assert plain("agg_sum(fro(W))")[0] == pytest.approx(1.0)
    assert beyond("agg_sum(fro(W))")[0] == SHAPE_REJECTED
    assert INVALID_FITNESS < SHAPE_REJECTED < -1.0
    fit, _ = beyond("agg_mean(mean(A))")
    assert fit >= -1.0  # statistics-driven: scored as usual


@pytest.mark.xdist_group("stats-cache")  # beside the other readers (conftest)
def test_eval_rows_carry_labels_and_the_null_control(capsys, stats_cache):
    """On the 6 GPT-2 architectures the small runs of other files search (the session's
    statistics cache, tests/conftest.py): their statistics are built once."""
    import json

    from lpzero_gp.cli import main

    argv = ["eval", "--space", "gpt2", "--archs", "6", "--batch-size", "2", "--seq-len", "16",
            "--cache-dir", str(stats_cache), "--quiet", "--json", "--proxy",
            "agg_sum(fro(W))", "--proxy", "params"]
    assert main(argv) == 0
    rows = {r["proxy"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    size = rows["agg_sum(fro(W))"]
    assert size["cost"] == "weights" and size["information"]["label"] == "shape-only"
    assert rows["params"]["information"]["label"] == "config"
    assert main([*argv, "--stats", "null"]) == 0
    null = json.loads(capsys.readouterr().out)
    assert null["stats"] == "null"
    assert null["results"][0]["information"]["label"] == "null control"
    assert null["results"][0]["rho"] == size["rho"]  # a size proxy ranks alike on shapes only
