"""A small family of real torch models (residual MLP blocks) and their proxy inputs, for tests."""

from __future__ import annotations

import torch
from torch import nn

from lpzero_gp.stats.store import ArchStats, compact


class Block(nn.Module):
    """Linear -> GELU -> Linear with a residual connection."""

    def __init__(self, d: int, w: int):
        super().__init__()
        self.fc1 = nn.Linear(d, w)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(w, d)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(x)))


def toy_raw(depth: int, width: int, seed: int, d: int = 16, batch: int = 8):
    """One forward/backward of a random toy model; RawInputs with every letter."""
    torch.manual_seed(seed)
    blocks = nn.ModuleList([Block(d, width) for _ in range(depth)])
    x = torch.randn(batch, 4, d)
    raw = {k: [] for k in "AHSJGW"}
    ins = []
    h = x
    for blk in blocks:
        h = h.detach().requires_grad_(True) if not ins else h
        h.retain_grad()
        ins.append(h)
        a = blk.act(blk.fc1(h))
        raw["A"].append([a.detach().clone()])
        raw["S"].append([torch.softmax(a, -1).detach().clone()])
        h = h + blk.fc2(a)
        raw["H"].append([h.detach().clone()])
    loss = (h ** 2).mean()
    loss.backward()
    for blk, hin in zip(blocks, ins, strict=True):
        raw["J"].append([hin.grad.detach().clone()])
        raw["W"].append([blk.fc1.weight.detach().clone(), blk.fc2.weight.detach().clone()])
        raw["G"].append([blk.fc1.weight.grad.detach().clone(),
                         blk.fc2.weight.grad.detach().clone()])
    return raw


def toy_family(n: int = 12, seed: int = 0) -> list[ArchStats]:
    """Compact statistics of ``n`` toy models of varying depth and width."""
    out = []
    for i in range(n):
        depth = 1 + i % 4
        width = 8 * (1 + (i * 7) % 5)
        out.append(compact(toy_raw(depth, width, seed + i), budget=256, seed=i))
    return out


def tiny_gpt2_config(**overrides) -> dict:
    """A small but complete GPT-2 model_config (3 clusters over a 300-token vocabulary)."""
    cfg = {
        "n_layer": 2,
        "d_model": 32,
        "n_head": [2, 4],
        "d_inner": [64, 48],
        "n_token": 300,
        "d_embed": 64,
        "div_val": 2,
        "cutoffs": [100, 200],
        "tgt_len": 16,
        "tie_weight": True,
        "tie_projs": [False, True, True],
    }
    cfg.update(overrides)
    return cfg
