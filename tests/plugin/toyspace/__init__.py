"""A search space that lives outside lpzero_gp: tiny causal transformers over a fixed vocabulary.

It is installed as a plugin through the ``lpzero_gp.spaces`` entry-point group (see the
``dist-info`` folder next to it) and imports nothing from the engine: only the Space contract.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

from lpzero_gp.errors import SpaceError
from lpzero_gp.spaces.base import BaselineSpec, CalibrationSpec, Record, Space

VOCAB = 6432  # the shipped byte-level BPE has 6,426 tokens
DATA = Path(__file__).with_name("toy_benchmark.json")


class Block(nn.Module):
    """Single-head causal self-attention and a GELU MLP, pre-norm, residual."""

    def __init__(self, d: int, width: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, width), nn.Linear(width, d)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor, keep: dict) -> torch.Tensor:
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        mask = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).triu(1)
        probs = scores.masked_fill(mask, float("-inf")).softmax(-1)
        head = probs @ v
        keep["S"].append(probs)
        keep["H"].append(head)
        x = x + self.out(head)
        hidden = self.act(self.fc1(self.ln2(x)))
        keep["A"].append(hidden)
        return x + self.fc2(hidden)


class ToyLM(nn.Module):
    """Embedding, ``depth`` blocks, tied output layer."""

    def __init__(self, depth: int, d: int, width: int):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d)
        self.blocks = nn.ModuleList(Block(d, width) for _ in range(depth))

    def forward(self, ids: torch.Tensor, keep: dict) -> torch.Tensor:
        x = self.embed(ids)
        for block in self.blocks:
            if x.requires_grad:
                x.retain_grad()
            keep["X"].append(x)
            x = block(x, keep)
        return x @ self.embed.weight.T


class ToySpace(Space):
    """Twelve tiny causal LMs; truth = minus their measured loss after a few training steps."""

    name = "toy"
    truth_label = "minus LM loss after 20 Adam steps (higher is better)"
    benchmark_format = 'JSON list [{"id", "config": {"depth", "d", "width"}, "truth"}]'
    feature_names = ("params", "layers")
    calibration = CalibrationSpec("lm", 4, 16, vocab_size=VOCAB)
    baselines = BaselineSpec(batch=(2, 16))

    def load_records(self, path: str | None = None) -> list[Record]:
        data = json.loads(Path(path or DATA).read_text())
        if not isinstance(data, list):
            raise SpaceError("a toy benchmark is a JSON list")
        return [Record(r["id"], r["config"], float(r["truth"])) for r in data]

    def build(self, record: Record, variant: str, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return ToyLM(**record.config)

    def num_params(self, record: Record, variant: str) -> int:
        c = record.config
        d, w = c["d"], c["width"]
        block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * w + w) + (w * d + d)
        return VOCAB * d + c["depth"] * block

    def features(self, record: Record, variant: str) -> dict[str, float]:
        return {"params": float(self.num_params(record, variant)),
                "layers": float(record.config["depth"])}

    def collect(self, model: nn.Module, batch: dict, semantics: str = "intended"):
        keep: dict = {k: [] for k in "XAHS"}
        model.eval()
        model.zero_grad(set_to_none=True)
        with torch.enable_grad():
            emb = model.embed(batch["input_ids"]).detach().requires_grad_(True)
            x, logits_in = emb, None
            for block in model.blocks:
                x.retain_grad()
                keep["X"].append(x)
                x = block(x, keep)
            logits_in = x
            logits = logits_in @ model.embed.weight.T
            loss = nn.functional.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten())
            loss.backward()
        out = {k: [] for k in "AHSJGW"}
        for b, block in enumerate(model.blocks):
            for letter in "AHS":
                out[letter].append([keep[letter][b].detach().clone()])
            out["J"].append([keep["X"][b].grad.detach().clone()])
            linears = [block.qkv, block.out, block.fc1, block.fc2]
            out["W"].append([m.weight.detach().clone() for m in linears])
            out["G"].append([m.weight.grad.detach().clone() for m in linears])
        model.zero_grad(set_to_none=True)
        return out
