"""Score proxies on any transformer: one forward/backward, then as many proxies as you like.

:func:`collect_stats` runs the generic collector of the ``hf`` space (its ``collect_model``:
blocks, attention and linear layers found from the model's structure) and keeps the compacted
statistics in a :class:`ModelStats`, whose :meth:`ModelStats.score` evaluates a proxy string or
a named proxy on them without touching the model again. :func:`score_model` does both in one
call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import torch
from torch import nn

from lpzero_gp.errors import ProxyError, SpaceError
from lpzero_gp.primitives.pset import INPUTS, make_pset
from lpzero_gp.proxy.named import resolve
from lpzero_gp.proxy.parse import parse_tree
from lpzero_gp.score.evaluate import Evaluator
from lpzero_gp.spaces import get_space
from lpzero_gp.stats.store import DEFAULT_BUDGET, ArchStats, Dataset, compact

#: A loss: ``(model outputs, batch) -> scalar tensor``.
LossFn = Callable[[Any, Mapping[str, torch.Tensor]], torch.Tensor]
#: Blocks: None (found from the model's structure), a dotted path, or the block modules.
BlockSpec = str | Sequence[nn.Module] | None
#: The registered space whose collector reads any transformer.
GENERIC_SPACE = "hf"


@cache
def _pset():
    """The primitive set proxies are parsed against (built once per process)."""
    return make_pset(INPUTS)


def _tree(proxy: str):
    """The typed tree of a proxy string or named proxy (ProxyError if it does not parse)."""
    return parse_tree(resolve(proxy), _pset())


@dataclass
class ModelStats:
    """The compacted statistics of one model; :meth:`score` evaluates proxies on them."""

    stats: ArchStats
    _evaluator: Evaluator | None = field(default=None, init=False, repr=False)

    @property
    def n_blocks(self) -> int:
        """Number of transformer blocks the statistics were read from."""
        return self.stats.n_blocks

    def score(self, proxy: str) -> float:
        """The proxy's score (a proxy string or a named proxy such as ``gpt2-best``).

        Sub-trees are memoised across calls, so many proxies cost little more than one.
        """
        if self._evaluator is None:
            self._evaluator = Evaluator(Dataset.from_stats([self.stats]))
        out = self._evaluator.score(_tree(proxy))
        if out is None:
            raise ProxyError(f"every branch of {proxy!r} is pruned")
        return float(out[0])

    def scores(self, proxies: Sequence[str]) -> dict[str, float]:
        """``{proxy: score}`` for every proxy, in order."""
        return {p: self.score(p) for p in proxies}


def collect_stats(model: nn.Module, batch: Mapping[str, torch.Tensor],
                  loss: str | LossFn | None = None, blocks: BlockSpec = None,
                  budget: int | None = DEFAULT_BUDGET, seed: int = 0) -> ModelStats:
    """The six statistics of ``model`` on ``batch``, compacted, ready to score proxies.

    ``loss``: ``"masked-lm"``, ``"causal-lm"``, a callable ``(outputs, batch) -> scalar`` or
    None (masked-LM for a model with a masked-LM head, causal-LM for a causal-LM head).
    ``blocks``: None (the largest list of repeated layers), a dotted path such as
    ``"model.layers"``, or the block modules. ``budget``: elements kept per tensor, as in
    ``lpzero-gp run --stat-budget`` (None keeps everything, so scores are exact); ``seed``
    chooses the kept rows. Every hook is removed afterwards, also when the pass fails.
    """
    collect = getattr(get_space(GENERIC_SPACE), "collect_model", None)
    if collect is None:
        raise SpaceError(f"space {GENERIC_SPACE!r} has no collect_model: it cannot read any model")
    raw = collect(model, batch, loss=loss, blocks=blocks)
    if budget is None:
        budget = max((t.numel() for blocks_ in raw.values() for ts in blocks_ for t in ts),
                     default=1)
    return ModelStats(compact(raw, budget=budget, seed=seed))


def score_model(model: nn.Module, batch: Mapping[str, torch.Tensor],
                proxies: str | Sequence[str], loss: str | LossFn | None = None,
                blocks: BlockSpec = None, budget: int | None = DEFAULT_BUDGET,
                seed: int = 0) -> dict[str, float]:
    """``{proxy: score}`` of one proxy or several on ``model`` (one forward and backward).

    Arguments as :func:`collect_stats`; ``proxies`` are proxy strings or named proxies.
    """
    names = [proxies] if isinstance(proxies, str) else list(proxies)
    for proxy in names:  # a bad string fails here, before the model runs
        _tree(proxy)
    return collect_stats(model, batch, loss, blocks, budget, seed).scores(names)

__all__ = ["collect_stats", "score_model"]
