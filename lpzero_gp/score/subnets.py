"""Proxy scores of a space's sub-networks, with a per-config cache of inputs and scores.

The sub-networks come from a space's capability (:class:`~lpzero_gp.spaces.base.
SubnetSearchSpace`). A proxy is either one of its cost features (``params`` and whatever else
the capability declares: the naive baselines, no model run needed) or any proxy the engine
understands (an expression over A/H/S/G/W/J or a named proxy such as ``paper_llama``), scored
with :func:`lpzero_gp.score.scoring.score_raw`. A score that is NaN, infinite or raises is
invalid and comes back as NaN; invalid scores are counted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import torch

from lpzero_gp.errors import ProxyError
from lpzero_gp.proxy.named import resolve
from lpzero_gp.score.scoring import score_raw
from lpzero_gp.spaces.base import INPUT_NAMES, RawInputs, SubnetConfig, SubnetSearchSpace

ScoreFn = Callable[[str, RawInputs], float]


_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def needed_letters(proxy: str) -> tuple[str, ...]:
    """Input letters a proxy mentions (named proxies expanded); all letters if unsure.

    Used to skip work: a W-only proxy such as ``paper_llama`` needs no forward pass at all.
    """
    try:
        proxy = resolve(proxy)
    except ValueError:
        return INPUT_NAMES
    if "(" not in proxy:
        return INPUT_NAMES
    found = {tok for tok in _TOKEN.findall(proxy) if tok in INPUT_NAMES}
    return tuple(x for x in INPUT_NAMES if x in found) or INPUT_NAMES


def is_feature(subnets: SubnetSearchSpace, proxy: str) -> bool:
    """Whether ``proxy`` is one of the sub-networks' cost features."""
    return proxy.strip() in subnets.feature_names


class SubnetScorer:
    """Scores the sub-networks of one capability on one fixed calibration batch.

    ``keep_raw`` keeps each sub-network's RawInputs (the statistics cache) so several proxies
    share one forward/backward per sub-network; scores are always cached by (proxy, config).
    """

    def __init__(
        self,
        subnets: SubnetSearchSpace,
        batch: dict[str, torch.Tensor],
        keep_raw: bool = False,
        score_fn: ScoreFn | None = None,
    ) -> None:
        self.subnets = subnets
        self.batch = batch
        self.keep_raw = keep_raw
        self._score_fn = score_fn
        self._raw: dict[tuple[SubnetConfig, tuple[str, ...]], RawInputs] = {}
        self._scores: dict[tuple[str, SubnetConfig], float] = {}
        self.collections = 0
        self.invalid = 0

    @property
    def score_fn(self) -> ScoreFn:
        """The function scoring a proxy string on RawInputs."""
        if self._score_fn is None:
            self._score_fn = score_raw
        return self._score_fn

    def raw(self, config: SubnetConfig, letters: Sequence[str] = INPUT_NAMES) -> RawInputs:
        """The RawInputs of a sub-network (one forward/backward; cached if ``keep_raw``)."""
        key = (self.subnets.validate(config), tuple(letters))
        if key in self._raw:
            return self._raw[key]
        raw = self.subnets.collect(key[0], self.batch, letters=key[1])
        self.collections += 1
        if self.keep_raw:
            self._raw[key] = raw
        return raw

    def check(self, proxy: str) -> None:
        """Fail early (ProxyError / SpaceError) on a proxy the engine cannot parse."""
        if is_feature(self.subnets, proxy):
            return
        self.score_fn(proxy, self.raw(self.subnets.maximal(), needed_letters(proxy)))

    def score(self, config: SubnetConfig, proxy: str) -> float:
        """The proxy's score of one sub-network; NaN if invalid (counted in ``invalid``)."""
        config = self.subnets.validate(config)
        proxy = proxy.strip()
        key = (proxy, config)
        if key in self._scores:
            return self._scores[key]
        if is_feature(self.subnets, proxy):
            value = float(self.subnets.features(config)[proxy])
        else:
            letters = INPUT_NAMES if self.keep_raw else needed_letters(proxy)
            raw = self.raw(config, letters)
            try:
                value = float(self.score_fn(proxy, raw))
            except Exception as exc:  # any failure of a proxy on one network = invalid score
                if isinstance(exc, ProxyError):
                    raise
                value = math.nan
            if not math.isfinite(value):
                value = math.nan
                self.invalid += 1
        self._scores[key] = value
        return value

    def scored(self, proxy: str) -> int:
        """How many distinct sub-networks have a cached score for ``proxy``."""
        proxy = proxy.strip()
        return sum(1 for p, _ in self._scores if p == proxy)

    def scores(self, configs: Sequence[SubnetConfig], proxy: str,
               progress: Any = None) -> list[float]:
        """Scores of many sub-networks (``progress`` is an optional tqdm-like bar to update)."""
        out = []
        for c in configs:
            out.append(self.score(c, proxy))
            if progress is not None:
                progress.update(1)
        return out

__all__ = ["SubnetScorer", "is_feature", "needed_letters"]
