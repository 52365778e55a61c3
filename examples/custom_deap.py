"""Evolve zero-cost proxies with a plain DEAP loop on lpzero-gp's typed primitive set.

Everything here is ordinary DEAP (creator, toolbox, ``algorithms.eaSimple``); lpzero-gp only
supplies the primitive set, the tree generator and the block-batched inputs. The "benchmark" is
a family of small random MLPs whose target is a made-up quality score, so the script runs in
seconds on a CPU:

    python examples/custom_deap.py
"""

from __future__ import annotations

import operator
import random

import numpy as np
import torch
from deap import algorithms, base, creator, gp, tools
from scipy import stats
from torch import nn

from lpzero_gp.primitives import make_pset
from lpzero_gp.proxy.generate import cx_one_point, gen_typed
from lpzero_gp.proxy.parse import format_tree
from lpzero_gp.stats.store import Dataset, compact

SEED = 0


def mlp_inputs(depth: int, width: int, seed: int, d: int = 16) -> dict:
    """Activations (A), weights (W) and weight gradients (G) of a random residual MLP.

    The result has the shape every lpzero-gp space returns: ``{letter: [block tensors]}``,
    one entry per block, G aligned with W parameter by parameter.
    """
    torch.manual_seed(seed)
    blocks = [nn.Sequential(nn.Linear(d, width), nn.GELU(), nn.Linear(width, d))
              for _ in range(depth)]
    x = torch.randn(8, 4, d)
    raw: dict[str, list] = {"A": [], "W": [], "G": []}
    h = x
    for blk in blocks:
        a = blk[1](blk[0](h))
        raw["A"].append([a.detach().clone()])
        h = h + blk[2](a)
    (h ** 2).mean().backward()
    for blk in blocks:
        raw["W"].append([blk[0].weight.detach().clone(), blk[2].weight.detach().clone()])
        raw["G"].append([blk[0].weight.grad.clone(), blk[2].weight.grad.clone()])
    return raw


def toy_benchmark(n: int = 12) -> tuple[Dataset, np.ndarray]:
    """Inputs of ``n`` MLPs of varying depth and width, and a made-up target: wide is good,
    deep is bad, plus noise."""
    shapes = [(1 + i % 4, 8 * (1 + (3 * i) % 5)) for i in range(n)]
    stats_ = [compact(mlp_inputs(depth, width, seed=i)) for i, (depth, width) in enumerate(shapes)]
    rng = np.random.default_rng(SEED)
    target = np.array([np.log(width) - 0.4 * depth for depth, width in shapes]) \
        + 0.1 * rng.standard_normal(n)
    return Dataset.from_stats(stats_), target


def main() -> None:
    """Run a short eaSimple search and print the best proxies."""
    random.seed(SEED)
    np.random.seed(SEED)
    dataset, target = toy_benchmark()

    pset = make_pset(inputs=("A", "G", "W"))
    # Compiled trees take one Blocks value per input, in the primitive set's argument order.
    args = [dataset.inputs[name] for name in pset.arguments]

    creator.create("FitnessMax", base.Fitness, weights=(1.0,))
    creator.create("Individual", gp.PrimitiveTree, fitness=creator.FitnessMax)

    def evaluate(individual) -> tuple[float]:
        scores = gp.compile(individual, pset)(*args)
        if scores is None or not hasattr(scores, "numpy"):  # every branch pruned
            return (-1.0,)
        s = scores.numpy()
        if not np.all(np.isfinite(s)) or np.all(s == s[0]):
            return (-1.0,)
        rho = stats.spearmanr(s, target).statistic
        return (float(rho) if np.isfinite(rho) else -1.0,)

    toolbox = base.Toolbox()
    # The expression generator is lpzero-gp's gen_typed, not DEAP's genHalfAndHalf: DEAP's typed
    # generators pick primitives without checking that the remaining depth can still reach a
    # terminal, and Layerwise/Score values have no terminals, so they dead-end with an
    # IndexError. gen_typed knows how tall each type's smallest subtree is and never fails.
    toolbox.register("expr", gen_typed, pset=pset, min_=1, max_=4)
    toolbox.register("individual", tools.initIterate, creator.Individual, toolbox.expr)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("evaluate", evaluate)
    toolbox.register("select", tools.selTournament, tournsize=3)
    # cx_one_point is DEAP's cxOnePoint with a fixed order of types, so a seed reproduces.
    toolbox.register("mate", cx_one_point)
    toolbox.register("expr_mut", gen_typed, min_=0, max_=2)
    toolbox.register("mutate", gp.mutUniform, expr=toolbox.expr_mut, pset=pset)
    limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=7)
    toolbox.decorate("mate", limit)
    toolbox.decorate("mutate", limit)

    pop = toolbox.population(n=40)
    hof = tools.HallOfFame(3)
    log_stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    log_stats.register("max", np.max)
    log_stats.register("median", np.median)
    algorithms.eaSimple(pop, toolbox, cxpb=0.5, mutpb=0.3, ngen=8, stats=log_stats,
                        halloffame=hof, verbose=True)

    print("\nbest proxies (Spearman rho against the toy target):")
    for ind in hof:
        print(f"  {ind.fitness.values[0]:+.3f}  {format_tree(ind)}")


if __name__ == "__main__":
    main()
