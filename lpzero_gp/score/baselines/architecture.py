"""Every requested baseline on one architecture, each failing alone.

The model is built with the search's seed (:meth:`Space.model_seed`); a baseline the space
cannot supply, or whose number is not finite, gets nan and a one-line reason while the others
go on. Only expected failures are kept that way (the space refusing, memory running out, a
linear-algebra routine that does not converge); any other exception is a bug and propagates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from lpzero_gp.errors import LpzeroError, SpaceError, one_line
from lpzero_gp.score.baselines.catalog import (
    BY_KEY,
    FEATURE,
    FORWARD,
    GRADIENT,
    HESSIAN,
    SYNFLOW,
    BaselineUnavailable,
    check_keys,
)
from lpzero_gp.score.baselines.formulas import forward_scores, gradient_scores, synflow_scores
from lpzero_gp.score.baselines.passes import gradient_pass, synflow_pass
from lpzero_gp.spaces.base import BaselineHooks, Record, Space
from lpzero_gp.stats.failures import architecture_failure


@dataclass
class ArchScores:
    """Baseline scores of one architecture, the seconds each took, and why any failed."""

    id: str
    scores: dict[str, float]
    seconds: dict[str, float]
    errors: dict[str, str]

    def to_json(self) -> dict:
        """Plain JSON (nan as null)."""
        return {"id": self.id,
                "scores": {k: (v if math.isfinite(v) else None) for k, v in self.scores.items()},
                "seconds": self.seconds, "errors": self.errors}

    @classmethod
    def from_json(cls, data: dict) -> ArchScores:
        """Inverse of :meth:`to_json`."""
        scores = {k: (float("nan") if v is None else float(v))
                  for k, v in data["scores"].items()}
        return cls(str(data["id"]), scores, dict(data["seconds"]), dict(data["errors"]))


def reason(exc: BaseException) -> str:
    """One line saying why a baseline failed (the exception type unless it is a user error)."""
    return one_line(exc, with_type=not isinstance(exc, LpzeroError))


def baseline_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is an expected failure of one baseline: the architecture's own
    (:func:`architecture_failure`) or a linear-algebra routine that did not converge."""
    return architecture_failure(exc) or isinstance(exc, torch.linalg.LinAlgError)


def feature_score(space: Space, record: Record, variant: str, key: str) -> float:
    """A size feature of a record (no model build)."""
    if key == "params":
        return float(space.num_params(record, variant))
    feats = space.features(record, variant)
    if key not in feats:
        raise BaselineUnavailable(f"space {space.name!r} has no {key!r} feature"
                                  + (" (encoder-only models have no decoder)"
                                     if key == "decoder_params" else ""))
    return float(feats[key])


@dataclass
class _Sheet:
    """Scores, seconds and error lines of one architecture, filled baseline by baseline."""

    scores: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, fn: Callable[[], float], base: float) -> None:
        """Score ``key`` with ``fn``; an expected failure is this baseline's alone (nan and a
        reason), any other propagates."""
        t0 = time.perf_counter()
        try:
            value = float(fn())
            if not math.isfinite(value):
                raise SpaceError(f"non-finite score {value}")
            self.scores[key] = value
        except Exception as exc:
            if not baseline_failure(exc):
                raise
            self.scores[key] = float("nan")
            self.errors[key] = reason(exc)
        self.seconds[key] = base + time.perf_counter() - t0

    def fail(self, key: str, why: str, seconds: float | None = None) -> None:
        """Mark ``key`` unavailable with the reason ``why``."""
        self.scores[key], self.errors[key] = float("nan"), why
        if seconds is not None:
            self.seconds[key] = seconds


def score_architecture(space: Space, record: Record, variant: str,
                       batch: dict[str, torch.Tensor], semantics: str = "intended",
                       seed: int = 42, keys: Iterable[str] | None = None,
                       device: str = "cpu") -> ArchScores:
    """Every requested baseline on one architecture (model seeded by ``space.model_seed``).

    A baseline that fails as expected or that the space cannot supply gets nan and a one-line
    reason in ``errors``; the others are unaffected.
    """
    if semantics not in space.semantics:
        raise SpaceError(f"unknown semantics {semantics!r}; choose "
                         f"{', '.join(space.semantics)}")
    keys = check_keys(keys if keys is not None else BY_KEY)
    sheet = _Sheet()
    for key in keys:
        if BY_KEY[key].needs == FEATURE:
            sheet.put(key, lambda k=key: feature_score(space, record, variant, k), 0.0)
    model_keys = [k for k in keys if BY_KEY[k].needs != FEATURE]
    hooks = space.baseline_hooks() if model_keys else None
    if model_keys and hooks is None:
        for key in model_keys:
            sheet.fail(key, f"space {space.name!r} supplies no baseline hooks")
    if hooks is not None:
        s = space.model_seed(seed, record.id)
        t0 = time.perf_counter()
        model = space.build(record, variant, s).to(torch.device(device))
        build = time.perf_counter() - t0
        hooks.check(model)
        dev_batch = {k: v.to(device) for k, v in batch.items()}
        grad_keys = [k for k in model_keys if BY_KEY[k].needs != SYNFLOW]
        if grad_keys:
            torch.manual_seed(s)
            _score_gradient_pass(sheet, hooks, model, dev_batch, semantics, grad_keys, build)
        syn_keys = [k for k in model_keys if BY_KEY[k].needs == SYNFLOW]
        if syn_keys:
            torch.manual_seed(s)
            _score_synflow_pass(sheet, hooks, model, dev_batch, semantics, syn_keys, build)
        del model
    return ArchScores(record.id, sheet.scores, sheet.seconds, sheet.errors)


def _score_gradient_pass(sheet: _Sheet, hooks: BaselineHooks, model: nn.Module,
                         batch: dict[str, torch.Tensor], semantics: str, keys: list[str],
                         build: float) -> None:
    """The baselines of one forward/backward (and GraSP's Hessian-gradient product)."""
    res = gradient_pass(hooks, model, batch, semantics, set(keys))
    fns = {**gradient_scores(hooks, model, res), **forward_scores(res)}
    fwd = build + res.seconds.get("forward", 0.0)
    bwd = fwd + res.seconds.get("backward", 0.0)
    for key in keys:
        base = {FORWARD: fwd, GRADIENT: bwd, HESSIAN: bwd + res.seconds.get("hessian", 0.0)
                }.get(BY_KEY[key].needs, build)
        sheet.put(key, fns[key], base)


def _score_synflow_pass(sheet: _Sheet, hooks: BaselineHooks, model: nn.Module,
                        batch: dict[str, torch.Tensor], semantics: str, keys: list[str],
                        build: float) -> None:
    """Synflow and LogSynflow from one all-positive float64 pass."""
    try:
        w, g, secs = synflow_pass(hooks, model, batch, semantics)
    except Exception as exc:  # an expected failure of the pass fails both, nothing else
        if not baseline_failure(exc):
            raise
        for key in keys:
            sheet.fail(key, reason(exc), 0.0)
        return
    fns = synflow_scores(w, g)
    for key in keys:
        sheet.put(key, fns[key], build + secs)

__all__ = ["ArchScores", "feature_score", "reason", "score_architecture"]
