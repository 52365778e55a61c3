"""The baselines' formulas on what the passes read (docs/specs.md §6.2, "implemented")."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from lpzero_gp.errors import SpaceError
from lpzero_gp.score.baselines.catalog import MODULE_SETS, BaselineUnavailable
from lpzero_gp.score.baselines.passes import GradientPass
from lpzero_gp.spaces.base import BaselineHooks


def _sum_abs_wg(res: GradientPass, modules: list[nn.Module]) -> float:
    return float(sum((res.weights[m] * res.grads[m]).abs().sum() for m in modules))


def nuclear_norm(t: torch.Tensor) -> float:
    """Sum of singular values, from the eigenvalues of the smaller Gram matrix (float64).

    Equal to ``torch.linalg.matrix_norm(t, "nuc")`` up to round-off and several times faster
    than an SVD of a wide matrix.
    """
    t = t.double().reshape(t.shape[0], -1)
    gram = t @ t.T if t.shape[0] <= t.shape[1] else t.T @ t
    return float(torch.linalg.eigvalsh(gram).clamp_min(0).sqrt().sum())


def jacobian_cosine(position_grad: torch.Tensor) -> float:
    """1 - (sum over i != j of |cos_ij|^(1/20), halved) / (N^2 - N), N = hidden dims."""
    v = position_grad.double().T  # one vector per hidden dim, length = positions
    n = v.shape[0]
    if n < 2:
        raise SpaceError("the position table has fewer than 2 hidden dims")
    norms = v.norm(dim=1, keepdim=True)
    if bool((norms == 0).any()):
        raise SpaceError("a hidden dim of the position-table gradient is all zero "
                         "(cosine undefined)")
    u = v / norms
    cos = (u @ u.T).abs()
    off = ~torch.eye(n, dtype=torch.bool)
    total = cos[off].pow(1 / 20).sum() / 2
    return float(1 - total / (n * n - n))


def _nwot(res: GradientPass) -> float:
    if res.act_kernel is None:
        raise BaselineUnavailable("no activation output was recorded")
    _sign, logdet = torch.linalg.slogdet(res.act_kernel)
    return float(logdet)


def _count(n: int, what: str) -> None:
    if n == 0:
        raise BaselineUnavailable(f"the model produced no {what}")


def gradient_scores(hooks: BaselineHooks, model: nn.Module, res: GradientPass
                    ) -> dict[str, Callable[[], float]]:
    """The baselines computed from the weights and gradients of one backward."""
    sets = {name: hooks.module_set(model, name) for name in MODULE_SETS}
    gw = sets["param_inputs"]

    def params_gw() -> float:
        return float(sum(m.weight.numel() for m in gw))

    def gradnorm_block() -> float:
        total = 0.0
        for block in _blocks_of(hooks.blocks(model), gw):
            total += math.sqrt(sum(float(res.grads[m].pow(2).sum()) for m in block))
        return total

    return {
        "snip": lambda: _sum_abs_wg(res, sets["layers"]),
        "synaptic_saliency": lambda: _sum_abs_wg(res, sets["saliency"]),
        "head_importance": lambda: _sum_abs_wg(res, sets["head_importance"]),
        "synaptic_diversity": lambda: sum(abs(nuclear_norm(res.weights[m]) *
                                              nuclear_norm(res.grads[m]))
                                          for m in sets["diversity"]),
        "gradnorm": lambda: float(sum(res.grads[m].norm() for m in sets["layers"])),
        "fisher": lambda: float(sum(res.fisher.get(m, 0.0) for m in sets["layers"])),
        "grasp": lambda: float(sum((-res.weights[m] * res.hess_grad[m]).sum()
                                   for m in sets["layers"])),
        "snip_gw": lambda: _sum_abs_wg(res, gw),
        "gradnorm_block": gradnorm_block,
        "params_gw": params_gw,
        "jacobian_cosine": lambda: _jacobian(res),
    }


def _blocks_of(blocks: list[nn.Module], modules: list[nn.Module]) -> list[list[nn.Module]]:
    """Group ``modules`` by the transformer block that owns them (block order kept)."""
    out = []
    for block in blocks:
        owned = {id(m) for m in block.modules()}
        out.append([m for m in modules if id(m) in owned])
    return out


def forward_scores(res: GradientPass) -> dict[str, Callable[[], float]]:
    """The baselines computed from the activations the forward hooks read."""
    def act() -> float:
        _count(res.act_count, "activation output")
        return res.act_sum

    def head() -> float:
        _count(res.head_count, "head-projection output")
        return res.head_conf

    def soft() -> float:
        _count(res.softmax_count, "softmax output")
        return res.softmax_conf

    return {"activation_distance": act, "attention_confidence": head,
            "softmax_confidence": soft, "nwot": lambda: _nwot(res)}


def _log_synflow(w: torch.Tensor, g: torch.Tensor) -> float:
    mag = g.abs()
    nonzero = mag > 0
    return float((w[nonzero] * mag[nonzero].log().abs()).sum())


def synflow_scores(w: dict[nn.Module, torch.Tensor], g: dict[nn.Module, torch.Tensor]
                   ) -> dict[str, Callable[[], float]]:
    """Synflow and LogSynflow from the all-positive float64 pass's weights and gradients."""
    return {"synflow": lambda: float(sum((w[m] * g[m]).abs().sum() for m in w)),
            "logsynflow": lambda: sum(_log_synflow(w[m], g[m]) for m in w)}


def _jacobian(res: GradientPass) -> float:
    if res.position_grad is None:
        raise BaselineUnavailable("the space has no learned position table")
    return jacobian_cosine(res.position_grad)

__all__ = ["forward_scores", "gradient_scores", "jacobian_cosine", "nuclear_norm", "synflow_scores"]
