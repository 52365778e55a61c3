"""Super-adapter fine-tuning as LoNAS does it, and held-out perplexity of a sub-network.

:func:`train_super_adapter` activates a random sub-network at every step (uniform over each
elastic group, LoNAS's single width stage), so all sub-networks learn one shared set of adapter
weights; the base stays frozen. :func:`heldout_loss` is the benchmark's measurement: mean
next-token cross-entropy of one activated sub-network on fixed held-out windows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from lpzero_gp.errors import SpaceError

from .space import Subnet
from .supernet import LonasSupernet


@dataclass(frozen=True)
class FinetuneSetup:
    """Hyper-parameters of the super-adapter training (recorded beside the adapter)."""

    steps: int = 300
    batch_size: int = 4
    seq_len: int = 128
    lr: float = 5e-4
    warmup: int = 20
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain values for provenance files."""
        return asdict(self)


def windows(stream: torch.Tensor, seq_len: int, count: int | None = None) -> torch.Tensor:
    """Consecutive, non-overlapping ``seq_len + 1`` windows of a 1-D id stream (inputs+target)."""
    n = (stream.numel() - 1) // seq_len
    if count is not None:
        n = min(n, count)
    if n < 1:
        raise SpaceError(f"a stream of {stream.numel()} ids holds no window of {seq_len + 1}")
    return torch.stack([stream[i * seq_len: i * seq_len + seq_len + 1] for i in range(n)])


def _lr_factor(step: int, setup: FinetuneSetup) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < setup.warmup:
        return (step + 1) / setup.warmup
    done = (step - setup.warmup) / max(1, setup.steps - setup.warmup)
    return 0.5 * (1.0 + math.cos(math.pi * done))


def _window_loss(model: torch.nn.Module, rows: torch.Tensor) -> torch.Tensor:
    logits = model(input_ids=rows[:, :-1], use_cache=False).logits
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), rows[:, 1:].reshape(-1))


def train_super_adapter(
    supernet: LonasSupernet,
    stream: torch.Tensor,
    setup: FinetuneSetup = FinetuneSetup(),
    on_step: Callable[[int, float, Subnet], None] | None = None,
) -> list[float]:
    """Train the adapter matrices for ``setup.steps`` steps; returns the loss of every step.

    Each step draws a random sub-network and ``batch_size`` random windows of the training
    stream (both from ``setup.seed``), with LoRA dropout on (train mode). AdamW, no weight
    decay, warm-up then cosine learning rate. The maximal network is active afterwards.
    """
    if setup.steps < 1:
        raise SpaceError(f"training steps must be at least 1, got {setup.steps}")
    rng = random.Random(setup.seed)
    gen = torch.Generator().manual_seed(setup.seed)
    params = supernet.lora_parameters()
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=setup.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, setup))
    device = supernet.device
    last = stream.numel() - setup.seq_len - 1
    if last < 1:
        raise SpaceError("the training text is shorter than one sequence")
    losses: list[float] = []
    supernet.model.train()
    try:
        for step in range(setup.steps):
            config = supernet.space.sample(rng)
            starts = torch.randint(0, last, (setup.batch_size,), generator=gen)
            rows = torch.stack([stream[s: s + setup.seq_len + 1] for s in starts.tolist()])
            with supernet.active(config):
                opt.zero_grad(set_to_none=True)
                loss = _window_loss(supernet.model, rows.to(device))
                loss.backward()
                opt.step()
            sched.step()
            losses.append(float(loss.item()))
            if on_step is not None:
                on_step(step, losses[-1], config)
    finally:
        supernet.model.eval()
        for p in params:
            p.grad = None
    return losses


@torch.no_grad()
def heldout_loss(supernet: LonasSupernet, config: Subnet, rows: torch.Tensor,
                 batch_size: int = 8) -> float:
    """Mean next-token cross-entropy of sub-network ``config`` over held-out ``rows``.

    ``rows`` are ``(n, seq_len + 1)`` windows (see :func:`windows`); eval mode, no dropout.
    Perplexity is ``exp`` of this.
    """
    supernet.model.eval()
    total, count = 0.0, 0
    device = supernet.device
    with supernet.active(config):
        for i in range(0, rows.shape[0], batch_size):
            chunk = rows[i: i + batch_size].to(device)
            n = chunk[:, 1:].numel()
            total += float(_window_loss(supernet.model, chunk).item()) * n
            count += n
    return total / count

__all__ = ["FinetuneSetup", "heldout_loss", "train_super_adapter", "windows"]
