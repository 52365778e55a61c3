"""Score proxies on a dataset of architectures: scores per architecture and rank fitness.

A proxy is proxy text in any form ``export`` prints (a string, a named proxy, SymPy, LaTeX,
JSON) or a DEAP tree, including a tree of the stock set (``make_pset(stock=True)``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from deap import gp

from lpzero_gp.errors import ProxyError
from lpzero_gp.primitives.pset import INPUTS, make_pset
from lpzero_gp.proxy.read import as_tree
from lpzero_gp.score.evaluate import Evaluator
from lpzero_gp.score.fitness import INVALID_FITNESS, RankResult, rank
from lpzero_gp.score.information import PARTLY, real_null_rho
from lpzero_gp.spaces.base import RawInputs
from lpzero_gp.stats.store import ArchStats, Dataset, compact

#: Fitness of a candidate rejected because it is not statistics-driven (``null`` given): below
#: every real correlation, above :data:`INVALID_FITNESS`.
SHAPE_REJECTED = -1.5


class Scorer:
    """Callable ``proxy -> (fitness, tau)`` over one dataset; memoises sub-trees.

    With ``null`` (the null-control dataset of the same architectures,
    :mod:`lpzero_gp.stats.null`), a valid proxy whose scores on real and null statistics agree
    with ``|rho| >= PARTLY``, or (with ``explain``) that a formula of the config ranks like with
    ``|rho| >= PARTLY``, is rejected with :data:`SHAPE_REJECTED`: the search then rewards only
    what the statistics add beyond shapes.
    """

    def __init__(self, dataset: Dataset, truth, memoize: bool = True, with_tau: bool = True,
                 null: Dataset | None = None, explain: Callable | None = None):
        self.dataset = dataset
        self.null = null
        #: ``scores -> rho`` of the best config formula reproducing them (picklable), checked
        #: with the null control: a proxy a formula of the config ranks like is shape-decided.
        self.explain = explain
        self._null_evaluator: Evaluator | None = None
        self.truth = np.asarray(truth, dtype=np.float64)
        if len(self.truth) != dataset.n_archs:
            raise ValueError("one ground-truth value per architecture is needed")
        self.pset = make_pset(INPUTS)
        self.memoize = memoize
        self.with_tau = with_tau
        self._evaluator: Evaluator | None = None

    @property
    def evaluator(self) -> Evaluator:
        """Created on first use (so a pickled Scorer starts with an empty memo)."""
        if self._evaluator is None:
            self._evaluator = Evaluator(self.dataset, memoize=self.memoize)
        return self._evaluator

    @property
    def null_evaluator(self) -> Evaluator:
        """The evaluator of the null dataset, created on first use."""
        if self._null_evaluator is None:
            self._null_evaluator = Evaluator(self.null, memoize=self.memoize)
        return self._null_evaluator

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_evaluator"] = None
        state["_null_evaluator"] = None
        del state["pset"]  # DEAP primitive sets hold local closures: rebuilt on unpickling
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.pset = make_pset(INPUTS)

    def scores(self, proxy: str | gp.PrimitiveTree) -> np.ndarray | None:
        """Proxy score of every architecture (None if the proxy is entirely pruned)."""
        out = self.evaluator.score(as_tree(proxy, self.pset))
        return None if out is None else out.numpy().astype(np.float64)

    def null_scores(self, proxy: str | gp.PrimitiveTree) -> np.ndarray | None:
        """Proxy score of every architecture on the null statistics (None if pruned)."""
        out = self.null_evaluator.score(as_tree(proxy, self.pset))
        return None if out is None else out.numpy().astype(np.float64)

    def shape_decided(self, proxy: str | gp.PrimitiveTree, real: np.ndarray) -> bool:
        """Whether ``real`` scores of ``proxy`` are not statistics-driven (null scores rank
        them with |rho| >= PARTLY, or cannot be ranked)."""
        null = self.null_scores(proxy)
        rho = float("nan") if null is None else real_null_rho(real, null)
        if not (np.isfinite(rho) and abs(rho) < PARTLY):
            return True
        if self.explain is None:
            return False
        by_config = self.explain(real)
        return bool(np.isfinite(by_config) and abs(by_config) >= PARTLY)

    def rank(self, proxy: str | gp.PrimitiveTree, with_tau: bool = True) -> RankResult:
        """Rank correlation of the proxy's scores with the ground truth."""
        s = self.scores(proxy)
        if s is None:
            return RankResult(float("nan"), float("nan"), False, "empty proxy")
        return rank(s, self.truth, with_tau=with_tau)

    def __call__(self, proxy: str | gp.PrimitiveTree) -> tuple[float, float]:
        """(fitness, tau); tau is nan unless the scorer was made ``with_tau``."""
        try:
            s = self.scores(proxy)
            if s is None:
                return INVALID_FITNESS, float("nan")
            r = rank(s, self.truth, with_tau=self.with_tau)
            if r.valid and self.null is not None and self.shape_decided(proxy, s):
                return SHAPE_REJECTED, float("nan")
        except (RuntimeError, ValueError, ArithmeticError, MemoryError):
            return INVALID_FITNESS, float("nan")  # a numerical fault makes the proxy invalid
        return (r.fitness, r.tau) if r.valid else (INVALID_FITNESS, float("nan"))


def score_stats(proxy: str | gp.PrimitiveTree, stats: list[ArchStats]) -> np.ndarray:
    """Scores of a proxy on compact statistics of several architectures."""
    ds = Dataset.from_stats(stats)
    out = Evaluator(ds, memoize=False).score(as_tree(proxy, make_pset(INPUTS)))
    if out is None:
        raise ProxyError("every branch of the proxy is pruned")
    return out.numpy().astype(np.float64)


def score_raw(proxy: str | gp.PrimitiveTree, raw: RawInputs, budget: int | None = None) -> float:
    """Score of one architecture from a space's raw inputs (named proxies allowed)."""
    stats = compact(raw) if budget is None else compact(raw, budget=budget)
    return float(score_stats(proxy, [stats])[0])

__all__ = ["SHAPE_REJECTED", "Scorer", "score_raw", "score_stats"]
