"""The per-architecture passes the baselines read: one forward and one backward of the
space's loss with forward hooks on activations (and GraSP's Hessian-gradient product), then one
all-positive double-precision pass for Synflow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from lpzero_gp.errors import SpaceError, one_line
from lpzero_gp.score.baselines.catalog import BY_KEY, GRADIENT, HESSIAN, BaselineUnavailable
from lpzero_gp.spaces.base import BaselineHooks

#: Fragments of torch's messages for what a model family cannot do (no second derivative of
#: an op, no float64 kernel): a baseline that needs it is unavailable, not a bug.
_UNSUPPORTED = ("derivative for", "not implemented for 'Double'")


@contextmanager
def _needs(what: str) -> Iterator[None]:
    """Turn torch's "this model cannot do that" errors into BaselineUnavailable naming
    ``what`` the pass needed; any other error propagates."""
    try:
        yield
    except (RuntimeError, NotImplementedError) as exc:
        if not any(m in str(exc) for m in _UNSUPPORTED):
            raise
        raise BaselineUnavailable(f"{what}: {one_line(exc, limit=200)}") from None


@dataclass
class GradientPass:
    """Everything read off the forward/backward pass, detached (float64 where summed)."""

    weights: dict[nn.Module, torch.Tensor] = field(default_factory=dict)
    grads: dict[nn.Module, torch.Tensor] = field(default_factory=dict)
    hess_grad: dict[nn.Module, torch.Tensor] = field(default_factory=dict)
    fisher: dict[nn.Module, float] = field(default_factory=dict)
    position_grad: torch.Tensor | None = None
    act_sum: float = 0.0
    act_kernel: torch.Tensor | None = None
    act_count: int = 0
    head_conf: float = 0.0
    head_count: int = 0
    softmax_conf: float = 0.0
    softmax_count: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _first_tensor(output: Any, index: int | None) -> torch.Tensor | None:
    out = output[index] if index is not None else output
    return out if isinstance(out, torch.Tensor) else None


def _forward_hooks(hooks: BaselineHooks, model: nn.Module, res: GradientPass,
                   layers: list[nn.Module], fisher_outs: list[tuple[nn.Module, torch.Tensor]],
                   want: set[str]) -> list:
    """Register the forward hooks that read activations; returns their handles."""
    handles = []

    def on_activation(_m, _i, out):
        x = out[0].detach().double().reshape(out.shape[1], -1)  # first sequence, (T, C)
        b = (x > 0).double()
        k = b @ b.T + (1 - b) @ (1 - b).T
        res.act_sum += float(k.sum())
        res.act_kernel = k if res.act_kernel is None else res.act_kernel + k
        res.act_count += 1

    def on_head(_m, _i, out):
        res.head_conf += float(out.detach().double().amax(dim=1).mean())
        res.head_count += 1

    def on_softmax(index):
        def hook(_m, _i, out):
            t = _first_tensor(out, index)
            if t is not None:
                res.softmax_conf += float(t.detach().double().amax(dim=1).mean())
                res.softmax_count += 1
        return hook

    def on_layer(_m, _i, out):
        fisher_outs.append((_m, out))

    if want & {"activation_distance", "nwot"}:
        for m in hooks.activation_modules(model):
            handles.append(m.register_forward_hook(on_activation))
    if "attention_confidence" in want:
        for m in hooks.head_modules(model):
            handles.append(m.register_forward_hook(on_head))
    if "softmax_confidence" in want:
        for m, index in hooks.softmax_taps(model):
            handles.append(m.register_forward_hook(on_softmax(index)))
    if "fisher" in want:
        for m in layers:
            handles.append(m.register_forward_hook(on_layer))
    return handles


def _fisher_total(hooks: BaselineHooks, module: nn.Module, act: torch.Tensor,
                  grad: torch.Tensor, semantics: str) -> float:
    """0.5 mean_N (a g)^2 per output channel, times the weights each channel broadcasts to."""
    a = act.detach().double().reshape(-1, act.shape[-1])
    g = grad.detach().double().reshape(-1, grad.shape[-1])
    per_channel = 0.5 * (a * g).pow(2).mean(dim=0)
    fan_in, _ = hooks.fan(module)
    # reference: the channel vector is broadcast against weight.shape[-1] (in for an
    # (out, in) Linear, out for an (in, out) Conv1D); intended: each channel's fan-in.
    width = module.weight.shape[-1] if semantics == "reference" else fan_in
    return float(per_channel.sum()) * width


def gradient_pass(hooks: BaselineHooks, model: nn.Module, batch: dict[str, torch.Tensor],
                  semantics: str, want: set[str]) -> GradientPass:
    """One forward and one backward (with create_graph when GraSP is wanted)."""
    res = GradientPass()
    layers = hooks.module_set(model, "layers")
    extra = {m for name in ("saliency", "diversity", "head_importance", "param_inputs")
             for m in hooks.module_set(model, name)}
    modules = list(dict.fromkeys([*layers, *extra]))
    need_grad = any(BY_KEY[k].needs in (GRADIENT, HESSIAN) for k in want)
    hessian = "grasp" in want
    fisher_outs: list[tuple[nn.Module, torch.Tensor]] = []
    handles = _forward_hooks(hooks, model, res, layers, fisher_outs, want)
    table = hooks.position_table(model) if "jacobian_cosine" in want else None
    try:
        t0 = time.perf_counter()
        with torch.enable_grad():
            loss = hooks.loss(model, batch, semantics)
            if not torch.isfinite(loss):
                raise SpaceError(f"the loss is not finite ({float(loss)})")
            res.seconds["forward"] = time.perf_counter() - t0
            if not need_grad:
                return res
            t0 = time.perf_counter()
            params = [m.weight for m in modules] + ([table] if table is not None else [])
            outs = [o for _, o in fisher_outs]
            got = torch.autograd.grad(loss, params + outs, create_graph=hessian,
                                      allow_unused=True)
            res.seconds["backward"] = time.perf_counter() - t0
            grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, got,
                                                                              strict=False)]
            for m, g in zip(modules, grads, strict=False):
                res.weights[m] = m.weight.detach().double()
                res.grads[m] = g.detach().double()
            if table is not None:
                res.position_grad = grads[len(modules)].detach().double()
            for (m, o), g in zip(fisher_outs, got[len(params):], strict=True):
                if g is not None:
                    res.fisher[m] = res.fisher.get(m, 0.0) + _fisher_total(hooks, m, o, g,
                                                                           semantics)
            if hessian:
                t0 = time.perf_counter()
                weights = [m.weight for m in layers]
                z = sum((grads[i].detach() * grads[i]).sum() for i in range(len(layers)))
                with _needs("GraSP needs second derivatives"):
                    hg = torch.autograd.grad(z, weights, allow_unused=True)
                for m, h in zip(layers, hg, strict=True):
                    res.hess_grad[m] = (torch.zeros_like(m.weight) if h is None else h
                                        ).detach().double()
                res.seconds["hessian"] = time.perf_counter() - t0
    finally:
        for h in handles:
            h.remove()
        fisher_outs.clear()
    return res


def synflow_pass(hooks: BaselineHooks, model: nn.Module, batch: dict[str, torch.Tensor],
                 semantics: str) -> tuple[dict[nn.Module, torch.Tensor],
                                          dict[nn.Module, torch.Tensor], float]:
    """|params| in float64, Synflow's objective, gradients of the linear layers.

    The model's parameters are overwritten (made positive, cast to float64): call it last.
    """
    t0 = time.perf_counter()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.double()
    layers = hooks.module_set(model, "layers")
    with torch.enable_grad(), _needs("Synflow runs the model in float64"):
        loss = hooks.synflow_loss(model, batch, semantics)
        if not torch.isfinite(loss):
            raise SpaceError(f"the Synflow objective is not finite ({float(loss)})")
        got = torch.autograd.grad(loss, [m.weight for m in layers], allow_unused=True)
    weights = {m: m.weight.detach() for m in layers}
    grads = {m: (torch.zeros_like(m.weight) if g is None else g.detach())
             for m, g in zip(layers, got, strict=True)}
    return weights, grads, time.perf_counter() - t0

__all__ = ["GradientPass", "gradient_pass", "synflow_pass"]
