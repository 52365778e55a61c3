"""Proxy inputs of one LoNAS sub-network, read off one forward and one backward pass.

For each decoder layer (one block per layer):

* ``W``: active slices of the layer's Linear weights, in module registration order. The module
  set is ``all`` (base q,k,v,o,gate,up,down weights and every lora_A / lora_B matrix as separate
  entries), ``base`` or ``adapters``. LoRA deltas are **not** merged into the base weights.
* ``G``: gradients of the same tensors (same order and shapes) of the language-model loss.
* ``A``: the MLP hidden activation (input of ``down_proj``: act(gate) * up), ``(B, T, w)``.
* ``H``: the query projection output (base + adapter), ``(B, T, heads*head_dim)``.
* ``S``: attention probabilities ``(B, heads, T, T)`` (eager attention only, else empty).
* ``J``: gradient of the loss w.r.t. the layer's input hidden states, ``(B, T, hidden)``.

Gradients only exist where they are needed: with ``adapters`` the frozen base weights never
get a gradient buffer (the memory-aware mode for large models); with ``all``/``base`` the base
weights of the decoder layers require grad only for the duration of the call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lpzero_gp.errors import SpaceError

from ..base import INPUT_NAMES, RawInputs
from .elastic import active_weight
from .space import Subnet
from .supernet import MODULE_SETS, LonasSupernet

#: Loss modes: ``lm`` (mean next-token cross-entropy) or ``ones`` (back-propagate a ones tensor
#: through the logits, as LPZero's LLaMA input collector does).
LOSS_MODES: tuple[str, ...] = ("lm", "ones")

def lm_loss(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy. ``labels`` are next-token targets aligned with ``input_ids`` (as
    :func:`lpzero_gp.stats.calibration.lm_batch` gives them); without labels the ids are shifted."""
    if "labels" in batch:
        logits_, labels = logits, batch["labels"]
    else:
        logits_, labels = logits[:, :-1], batch["input_ids"][:, 1:]
    return F.cross_entropy(
        logits_.reshape(-1, logits_.shape[-1]).float(), labels.reshape(-1), ignore_index=-100
    )


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


def _store(t: torch.Tensor) -> torch.Tensor:
    """Detached float32 CPU clone (the stored form of every input tensor)."""
    return t.detach().to("cpu", torch.float32).clone()


def collect_subnet(
    supernet: LonasSupernet,
    config: Subnet,
    batch: dict[str, torch.Tensor],
    letters: Iterable[str] = INPUT_NAMES,
    modules: str = "all",
    loss: str = "lm",
) -> RawInputs:
    """Activate ``config``, run one forward/backward on ``batch`` and return its RawInputs.

    Letters not asked for come back as empty per-block lists. The model is left in eval mode
    with the maximal network active, every hook removed and every gradient cleared.
    """
    letters = tuple(letters)
    bad = [x for x in letters if x not in INPUT_NAMES]
    if bad:
        raise SpaceError(f"unknown input letter(s) {bad}; use {', '.join(INPUT_NAMES)}")
    if modules not in MODULE_SETS:
        raise SpaceError(f"unknown module set {modules!r} (use {', '.join(MODULE_SETS)})")
    if loss not in LOSS_MODES:
        raise SpaceError(f"unknown loss mode {loss!r} (use {' or '.join(LOSS_MODES)})")
    n = len(supernet.layers)
    raw: RawInputs = {x: [[] for _ in range(n)] for x in INPUT_NAMES}
    need_forward = any(x in letters for x in ("A", "H", "S", "G", "J"))
    need_backward = any(x in letters for x in ("G", "J"))
    with supernet.active(config):
        linears = [supernet.layer_linears(i, modules) for i in range(n)]
        if "W" in letters:
            for i in range(n):
                raw["W"][i] = [_store(active_weight(m)) for _, m in linears[i]]
        if need_forward:
            _forward_backward(supernet, batch, letters, linears, raw, need_backward, loss)
    return raw


def _forward_backward(
    supernet: LonasSupernet,
    batch: dict[str, torch.Tensor],
    letters: tuple[str, ...],
    linears: list[list[tuple[str, nn.Module]]],
    raw: RawInputs,
    need_backward: bool,
    loss_mode: str,
) -> None:
    """The single forward (hooks for A/H/S/J) and backward (G/J) of :func:`collect_subnet`.

    Longer than most functions on purpose: the hooks' whole lifetime (register, run, remove in
    ``finally``) stays in one place, so no path can leave a hook on the super-network.
    """
    model = supernet.model
    model.eval()
    grad_params = [m.weight for layer in linears for _, m in layer] if "G" in letters else []
    saved_flags = {id(p): p.requires_grad for p in grad_params}
    handles: list[Any] = []
    layer_inputs: list[torch.Tensor | None] = [None] * len(supernet.layers)

    def keep(letter: str, i: int, t: torch.Tensor | None) -> None:
        if t is not None and isinstance(t, torch.Tensor):
            raw[letter][i] = [_store(t)]

    for i, layer in enumerate(supernet.layers):
        if "A" in letters:
            handles.append(
                layer.mlp.down_proj.register_forward_pre_hook(
                    lambda _m, args, i=i: keep("A", i, args[0])
                )
            )
        if "H" in letters:
            handles.append(
                layer.self_attn.q_proj.register_forward_hook(
                    lambda _m, _a, out, i=i: keep("H", i, out)
                )
            )
        if "S" in letters:
            handles.append(
                layer.self_attn.register_forward_hook(
                    lambda _m, _a, out, i=i: keep(
                        "S", i, out[1] if isinstance(out, tuple) else None
                    )
                )
            )
        if "J" in letters and need_backward:
            handles.append(
                layer.register_forward_pre_hook(_input_grad_hook(i, layer_inputs), with_kwargs=True)
            )
    try:
        for p in grad_params:
            p.requires_grad_(True)
            p.grad = None
        if "J" not in letters:
            for p in supernet.lora_parameters():
                p.grad = None
        batch = _to_device(batch, supernet.device)
        with torch.set_grad_enabled(need_backward):
            logits = model(input_ids=batch["input_ids"], use_cache=False).logits
            if need_backward:
                if loss_mode == "lm":
                    lm_loss(logits, batch).backward()
                else:
                    logits.backward(torch.ones_like(logits))
        if "G" in letters:
            for i, layer in enumerate(linears):
                raw["G"][i] = [_grad_slice(m) for _, m in layer]
        if "J" in letters:
            for i, t in enumerate(layer_inputs):
                raw["J"][i] = [] if t is None or t.grad is None else [_store(t.grad)]
    finally:
        for h in handles:
            h.remove()
        for p in grad_params:
            p.requires_grad_(saved_flags[id(p)])
            p.grad = None
        for p in supernet.lora_parameters():
            p.grad = None


def _grad_slice(module: nn.Module) -> torch.Tensor:
    """The gradient of a Linear weight restricted to its active slice (zeros if none flowed)."""
    w = active_weight(module)
    g = module.weight.grad
    if g is None:
        return torch.zeros(w.shape, dtype=torch.float32)
    return _store(g[: w.shape[0], : w.shape[1]])


def _input_grad_hook(i: int, store: list[torch.Tensor | None]) -> Any:
    """A forward pre-hook that makes layer ``i``'s input a grad-retaining tensor."""

    def hook(_m: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        if args:
            x = args[0]
        elif "hidden_states" in kwargs:
            x = kwargs["hidden_states"]
        else:
            return None
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        else:
            x.retain_grad()
        store[i] = x
        if args:
            return (x, *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": x}

    return hook

__all__ = ["LOSS_MODES", "collect_subnet", "lm_loss"]
