"""Our rng-taking operators and loop make exactly DEAP's draws: same seed, same result.

Each test runs DEAP's own function on a freshly seeded global ``random`` and ours on a
``random.Random`` with the same seed, then compares the results and the two RNG states after
(equal states: the same number and kind of draws). A DEAP release that changes its operators
fails here.
"""

from __future__ import annotations

import copy
import pickle
import random
from functools import partial

import numpy as np
import pytest
from deap import algorithms, base, creator, gp, tools

from lpzero_gp.primitives import make_pset
from lpzero_gp.proxy.generate import gen_typed
from lpzero_gp.search.loop import evaluate_invalid, evolve
from lpzero_gp.search.operators import (
    _bare_fitness,
    _tree_init_attributes,
    clone,
    cx_uniform,
    mut_node_or_subtree,
    mut_node_replacement,
    mut_uniform,
    mut_uniform_int,
    regenerate_rejected,
    sel_random,
    sel_tournament,
    select_elitist_tournament,
    var_or,
)

PSET = make_pset()
SEEDS = range(6)
GENES = 12

if not hasattr(creator, "OpTestFitness"):
    creator.create("OpTestFitness", base.Fitness, weights=(1.0,))
if not hasattr(creator, "OpTestList"):
    creator.create("OpTestList", list, fitness=creator.OpTestFitness)


def _trees(n: int = 40, seed: int = 100) -> list[gp.PrimitiveTree]:
    rng = random.Random(seed)
    return [gp.PrimitiveTree(gen_typed(PSET, 1, 6, rng=rng)) for _ in range(n)]


def _lists(n: int, seed: int, with_fitness: bool = True) -> list:
    """Integer individuals; coarse fitness values so that tournaments see ties."""
    rng = random.Random(seed)
    pop = [creator.OpTestList(rng.randint(0, 9) for _ in range(GENES)) for _ in range(n)]
    if with_fitness:
        for ind in pop:
            ind.fitness.values = (float(sum(ind) // 10),)
    return pop


def _both(seed: int, deap_call, our_call):
    """(DEAP's result, ours) from the same seed; asserts both consumed the same draws."""
    random.seed(seed)
    theirs = deap_call()
    rng = random.Random(seed)
    ours = our_call(rng)
    assert rng.getstate() == random.getstate(), "a different number or kind of draws"
    return theirs, ours


@pytest.mark.parametrize("seed", SEEDS)
def test_sel_random_and_tournament_match_deap(seed):
    pop = _lists(15, seed)
    theirs, ours = _both(seed, lambda: tools.selRandom(pop, 9),
                         lambda rng: sel_random(pop, 9, rng=rng))
    assert [id(x) for x in theirs] == [id(x) for x in ours]
    theirs, ours = _both(seed, lambda: tools.selTournament(pop, 20, tournsize=3),
                         lambda rng: sel_tournament(pop, 20, 3, rng=rng))
    assert [id(x) for x in theirs] == [id(x) for x in ours]


@pytest.mark.parametrize("seed", SEEDS)
def test_elitist_tournament_is_best_plus_deap_tournament(seed):
    pop = _lists(15, seed)

    def deap_version():
        best = tools.selBest(pop, 2)
        return best + tools.selTournament(pop, 8, tournsize=3)

    theirs, ours = _both(seed, deap_version,
                         lambda rng: select_elitist_tournament(pop, 10, 3, 2, rng=rng))
    assert [id(x) for x in theirs] == [id(x) for x in ours]


@pytest.mark.parametrize("seed", SEEDS)
def test_cx_uniform_matches_deap(seed):
    a, b = _lists(2, seed + 50, with_fitness=False)
    theirs, ours = _both(seed, lambda: tools.cxUniform(copy.deepcopy(a), copy.deepcopy(b), 0.5),
                         lambda rng: cx_uniform(copy.deepcopy(a), copy.deepcopy(b), 0.5,
                                                rng=rng))
    assert [list(x) for x in theirs] == [list(x) for x in ours]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("bounds", [(0, 9), ([0] * GENES, list(range(1, GENES + 1)))])
def test_mut_uniform_int_matches_deap(seed, bounds):
    (ind,) = _lists(1, seed + 50, with_fitness=False)
    low, up = bounds
    theirs, ours = _both(seed, lambda: tools.mutUniformInt(copy.deepcopy(ind), low, up, 0.3),
                         lambda rng: mut_uniform_int(copy.deepcopy(ind), low, up, 0.3, rng=rng))
    assert list(theirs[0]) == list(ours[0])


def test_mut_uniform_int_rejects_short_bounds():
    with pytest.raises(IndexError):
        mut_uniform_int([1, 2, 3], [0, 0], 5, 0.5, rng=random.Random(0))
    with pytest.raises(IndexError):
        mut_uniform_int([1, 2, 3], 0, [5], 0.5, rng=random.Random(0))


@pytest.mark.parametrize("seed", SEEDS)
def test_mut_node_replacement_matches_deap(seed):
    trees = _trees()

    def deap_version():
        return [str(gp.mutNodeReplacement(gp.PrimitiveTree(t), PSET)[0]) for t in trees]

    def ours(rng):
        return [str(mut_node_replacement(gp.PrimitiveTree(t), PSET, rng=rng)[0]) for t in trees]

    theirs, mine = _both(seed, deap_version, ours)
    assert theirs == mine
    assert sum(a != str(t) for a, t in zip(theirs, trees, strict=True)) > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_mut_uniform_matches_deap(seed):
    trees = _trees()

    def deap_version():
        expr = partial(gen_typed, min_=0, max_=2)  # the global random
        return [str(gp.mutUniform(gp.PrimitiveTree(t), expr, PSET)[0]) for t in trees]

    def ours(rng):
        expr = partial(gen_typed, min_=0, max_=2, rng=rng)
        return [str(mut_uniform(gp.PrimitiveTree(t), expr, PSET, rng=rng)[0]) for t in trees]

    theirs, mine = _both(seed, deap_version, ours)
    assert theirs == mine


@pytest.mark.parametrize("seed", SEEDS)
def test_node_or_subtree_mutation_is_one_draw_then_deap(seed):
    trees = _trees()

    def deap_version():
        expr = partial(gen_typed, min_=0, max_=2)
        out = []
        for t in trees:
            t = gp.PrimitiveTree(t)
            if random.random() < 0.5:
                out.append(str(gp.mutNodeReplacement(t, PSET)[0]))
            else:
                out.append(str(gp.mutUniform(t, expr, PSET)[0]))
        return out

    def ours(rng):
        expr = partial(gen_typed, min_=0, max_=2, rng=rng)
        return [str(mut_node_or_subtree(gp.PrimitiveTree(t), expr, PSET, rng=rng)[0])
                for t in trees]

    theirs, mine = _both(seed, deap_version, ours)
    assert theirs == mine


def _list_toolboxes(rng: random.Random) -> tuple[base.Toolbox, base.Toolbox]:
    """The same integer-vector operators: DEAP's (global random) and ours (``rng``)."""
    theirs, ours = base.Toolbox(), base.Toolbox()
    theirs.register("mate", tools.cxUniform, indpb=0.5)
    theirs.register("mutate", tools.mutUniformInt, low=0, up=9, indpb=0.3)
    theirs.register("select", tools.selTournament, tournsize=3)
    ours.register("mate", cx_uniform, indpb=0.5, rng=rng)
    ours.register("mutate", mut_uniform_int, low=0, up=9, indpb=0.3, rng=rng)
    ours.register("select", sel_tournament, tournsize=3, rng=rng)
    for tb in (theirs, ours):
        tb.register("evaluate", lambda ind: (float(sum(ind) // 10),))
    return theirs, ours


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("cxpb", "mutpb"), [(0.5, 0.3), (0.0, 1.0), (0.2, 0.0)])
def test_var_or_matches_deap(seed, cxpb, mutpb):
    pop = _lists(10, seed)
    rng = random.Random(seed)
    tb_theirs, tb_ours = _list_toolboxes(rng)
    random.seed(seed)
    theirs = algorithms.varOr(pop, tb_theirs, 25, cxpb, mutpb)
    ours = var_or(pop, tb_ours, 25, cxpb, mutpb, rng=rng)
    assert rng.getstate() == random.getstate()
    assert [list(x) for x in theirs] == [list(x) for x in ours]
    assert [x.fitness.valid for x in theirs] == [x.fitness.valid for x in ours]
    # a reproduced child is its parent itself, in both
    assert [any(x is p for p in pop) for x in theirs] == [any(x is p for p in pop) for x in ours]


@pytest.mark.parametrize("seed", SEEDS)
def test_evolve_matches_deap_ea_mu_plus_lambda(seed):
    rng = random.Random(seed)
    tb_theirs, tb_ours = _list_toolboxes(rng)
    pop_theirs, pop_ours = _lists(12, seed, False), _lists(12, seed, False)
    hof_theirs, hof_ours = tools.HallOfFame(5), tools.HallOfFame(5)
    random.seed(seed)
    final_theirs, _ = algorithms.eaMuPlusLambda(
        pop_theirs, tb_theirs, mu=12, lambda_=9, cxpb=0.4, mutpb=0.4, ngen=6,
        halloffame=hof_theirs, verbose=False)
    assert evaluate_invalid(tb_ours, pop_ours) == 12
    hof_ours.update(pop_ours)
    seen = []
    final_ours = evolve(pop_ours, tb_ours, rng, mu=12, lambda_=9, cxpb=0.4, mutpb=0.4, ngen=6,
                        halloffame=hof_ours, on_generation=lambda g, p: seen.append(g))
    assert seen == list(range(1, 7))
    assert rng.getstate() == random.getstate()
    assert [list(x) for x in final_theirs] == [list(x) for x in final_ours]
    assert [list(x) for x in hof_theirs] == [list(x) for x in hof_ours]


def test_evolve_resumes_from_a_generation():
    """Generations 1-3 then 4-6 (RNG state carried) equal generations 1-6 in one go."""
    def run(splits):
        rng = random.Random(4)
        _, tb = _list_toolboxes(rng)
        pop, hof = _lists(12, 4, False), tools.HallOfFame(5)
        evaluate_invalid(tb, pop)
        hof.update(pop)
        for start, stop in splits:
            pop = evolve(pop, tb, rng, mu=12, lambda_=9, cxpb=0.4, mutpb=0.4, ngen=stop,
                         halloffame=hof, start_gen=start)
        return [list(x) for x in pop], [list(x) for x in hof]

    assert run([(0, 6)]) == run([(0, 3), (3, 6)])


def test_other_draws_from_the_global_random_change_nothing():
    def run(noise: bool):
        rng = random.Random(1)
        _, tb = _list_toolboxes(rng)
        if noise:
            score = tb.evaluate
            tb.register("evaluate", lambda ind: (random.random(), score(ind))[1])
        pop, hof = _lists(12, 1, False), tools.HallOfFame(5)
        evaluate_invalid(tb, pop)
        pop = evolve(pop, tb, rng, mu=12, lambda_=9, cxpb=0.4, mutpb=0.4, ngen=4,
                     halloffame=hof)
        return [list(x) for x in pop]

    assert run(False) == run(True)


# -- regeneration of rejected children -------------------------------------------------------


def _counting_mate(calls: list):
    def mate(a, b, rng):
        calls.append((list(a), list(b)))
        a[0], b[0] = b[0], a[0] + rng.randint(1, 3)
        return a, b
    return mate


def test_regeneration_retries_on_copies_and_counts():
    counts = {"regenerated": 0}
    tb = base.Toolbox()
    calls: list = []
    tb.register("mate", _counting_mate(calls), rng=random.Random(0))
    accepted = iter([False, False, True])
    tb.decorate("mate", regenerate_rejected(lambda child: next(accepted), lambda: ["fresh"], 5,
                                            counts, copy.deepcopy))
    a, b = [1, 2], [7, 8]
    child, other = tb.mate(a, b)
    assert counts["regenerated"] == 2
    assert calls == [([1, 2], [7, 8])] * 3  # every try starts from the unchanged parents
    assert (a, b) == ([1, 2], [7, 8]) and child[0] == 7


def test_regeneration_gives_up_after_the_retry_cap():
    counts = {"regenerated": 4}
    tb = base.Toolbox()
    calls: list = []
    tb.register("mate", _counting_mate(calls), rng=random.Random(0))
    tb.register("mutate", lambda ind: (ind[::-1],))
    decorate = regenerate_rejected(lambda child: False, lambda: ["fresh"], 3, counts,
                                   copy.deepcopy)
    tb.decorate("mate", decorate)
    tb.decorate("mutate", decorate)
    b = [7, 8]
    assert tb.mate([1, 2], b) == (["fresh"], b)
    assert tb.mutate([1, 2]) == (["fresh"],)
    assert len(calls) == 3 and counts["regenerated"] == 4 + 3 + 3


# -- the fast clone ---------------------------------------------------------------------------


def _proxy_trees(n: int = 12, seed: int = 7) -> list:
    """Individuals of the search's class (created on importing it) as a search holds them:
    some scored (fitness and tau), some not."""
    trees = []
    for i, tree in enumerate(_trees(n, seed)):
        ind = creator.ProxyTree(tree)
        if i % 3:
            ind.fitness.values = (0.1 * i - 0.5,)
            ind.tau = float("nan") if i % 4 == 0 else 0.01 * i
        trees.append(ind)
    return trees


def _same_copy(mine, theirs, original) -> None:
    """``mine`` is what ``copy.deepcopy`` gave as ``theirs``: class, shared nodes, attributes
    in order, fitness values, the pickled bytes, and nothing shared with ``original`` that
    deepcopy does not share."""
    assert type(mine) is type(theirs) and mine is not original
    assert len(mine) == len(theirs) and all(a is b for a, b in zip(mine, theirs, strict=True))
    assert list(vars(mine)) == list(vars(theirs))
    for name, value in vars(theirs).items():
        ours = vars(mine)[name]
        assert type(ours) is type(value)
        was = vars(original).get(name)
        assert (ours is was) == (value is was), name
    assert mine.fitness.wvalues == theirs.fitness.wvalues
    assert mine.fitness.valid == theirs.fitness.valid
    assert vars(mine.fitness) == vars(theirs.fitness)
    assert pickle.dumps(mine) == pickle.dumps(theirs)


class _PlainFitness(base.Fitness):
    """A fitness class of our own (not from ``creator``), which clone copies DEAP's way."""

    weights = (1.0,)


def test_clone_of_a_proxy_tree_is_its_deepcopy():
    # the search's classes take the fast path (no __init__ run), which must still agree
    assert _tree_init_attributes(creator.ProxyTree) == ("fitness",)
    assert _bare_fitness(creator.ProxyFitness) and not _bare_fitness(_PlainFitness)
    for ind in _proxy_trees():
        mine, theirs = clone(ind), copy.deepcopy(ind)
        _same_copy(mine, theirs, ind)
        # a copy to vary: changing it leaves the original as it was
        before = (list(ind), ind.fitness.wvalues, dict(vars(ind)))
        mine.append(mine[-1])
        del mine.fitness.values
        mine.tau = -1.0
        assert (list(ind), ind.fitness.wvalues, dict(vars(ind))) == before


def test_clone_falls_back_to_deepcopy_for_other_attributes_and_individuals():
    shared = creator.ProxyFitness((0.5,))
    odd = _proxy_trees(6)
    odd[0].history = [1, [2, 3]]  # mutable: copied, not shared
    odd[1].tau = np.float64(0.25)  # a float subclass deepcopy copies
    odd[2].note, odd[2].count, odd[2].nothing = "x", 3, None
    odd[3].fitness, odd[3].also = shared, shared  # one fitness under two names: one copy
    del odd[4].fitness  # the copy gets the fresh fitness __init__ makes, as deepcopy's does
    odd[5].fitness = _PlainFitness((0.75,))  # not a creator class: its own deepcopy
    for ind in odd:
        _same_copy(clone(ind), copy.deepcopy(ind), ind)
    assert clone(odd[0]).history == [1, [2, 3]] and clone(odd[0]).history is not odd[0].history
    both = clone(odd[3])
    assert both.fitness is both.also and both.fitness is not shared
    for ind in _lists(5, 3) + [gp.PrimitiveTree(t) for t in _trees(3)]:
        mine, theirs = clone(ind), copy.deepcopy(ind)
        assert type(mine) is type(theirs) and list(mine) == list(theirs) and mine is not ind
        assert pickle.dumps(mine) == pickle.dumps(theirs)
