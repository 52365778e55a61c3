"""Evolve zero-cost proxies with a plain DEAP loop on lpzero-gp's typed primitive set.

Everything here is stock DEAP: ``creator``, ``toolbox``, ``gp.genHalfAndHalf``, ``gp.cxOnePoint``,
``gp.mutUniform``, ``gp.staticLimit`` and ``algorithms.eaSimple``. lpzero-gp supplies the
primitive set (``make_pset(stock=True)``: it gives every type a terminal and a pass-through
primitive, so DEAP's generators and operators never dead-end), the block-batched inputs, and
the :class:`Scorer` that turns a tree into a rank-correlation fitness. The "benchmark" is a
family of small random MLPs whose target is a made-up quality score, so the script runs in
seconds on a CPU:

    python examples/custom_deap.py
"""

from __future__ import annotations

import operator
import random

import numpy as np
import torch
from deap import algorithms, base, creator, gp, tools
from torch import nn

from lpzero_gp.primitives import make_pset
from lpzero_gp.proxy import to_string
from lpzero_gp.score.scoring import Scorer
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
    torch.set_num_threads(1)  # the ops are small: one thread avoids oversubscription
    dataset, target = toy_benchmark()

    # Only the inputs the toy benchmark provides. stock=True adds terminals for the per-block
    # and per-architecture types that stand for small proxies (mean(A), agg_mean(mean(A))):
    # they close a branch at any depth with a real proxy, printed and scored as that proxy.
    pset = make_pset(inputs=("A", "G", "W"), stock=True)
    # Fitness: Spearman rho of the proxy's scores with the target; the Scorer takes the DEAP
    # tree itself and returns a large negative value for an invalid (empty, constant) proxy.
    scorer = Scorer(dataset, target, with_tau=False)

    creator.create("FitnessMax", base.Fitness, weights=(1.0,))
    creator.create("Individual", gp.PrimitiveTree, fitness=creator.FitnessMax)

    toolbox = base.Toolbox()
    toolbox.register("expr", gp.genHalfAndHalf, pset=pset, min_=3, max_=6)
    toolbox.register("individual", tools.initIterate, creator.Individual, toolbox.expr)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("evaluate", lambda ind: (scorer(ind)[0],))
    toolbox.register("select", tools.selTournament, tournsize=3)
    # DEAP's cxOnePoint draws the crossover type from a set of classes, whose order follows
    # object ids: a seeded run can differ between processes. lpzero_gp.proxy.generate's
    # cx_one_point is the same operator with a fixed type order, if that matters to you.
    toolbox.register("mate", gp.cxOnePoint)
    toolbox.register("expr_mut", gp.genGrow, min_=0, max_=3)
    toolbox.register("mutate", gp.mutUniform, expr=toolbox.expr_mut, pset=pset)
    limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=8)
    toolbox.decorate("mate", limit)
    toolbox.decorate("mutate", limit)

    pop = toolbox.population(n=60)
    hof = tools.HallOfFame(3)
    log_stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    log_stats.register("max", np.max)
    log_stats.register("median", np.median)
    algorithms.eaSimple(pop, toolbox, cxpb=0.5, mutpb=0.3, ngen=10, stats=log_stats,
                        halloffame=hof, verbose=True)

    print("\nbest proxies (Spearman rho against the toy target):")
    for ind in hof:
        print(f"  {ind.fitness.values[0]:+.3f}  {to_string(ind)}")


if __name__ == "__main__":
    main()
