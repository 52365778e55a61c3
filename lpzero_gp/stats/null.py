"""The null-statistics control: every statistic replaced by noise that depends on shapes only.

A null copy of an architecture's compact statistics keeps its blocks, its segments, their
stored shapes and full element counts, and replaces every value by standard normal noise drawn
from a seed that is a hash of (null seed, input, block, segment, stored shape, full size).
Nothing of the network's values survives, and two architectures of identical shapes get
identical null statistics, so a proxy's score on null statistics is a function of the
architecture's shapes alone. Scoring a proxy on real and on null statistics tells how much of
its ranking the statistics decide (:mod:`lpzero_gp.score.information`).
"""

from __future__ import annotations

import hashlib

import torch

from lpzero_gp.stats.store import ArchStats


def _noise_seed(seed: int, letter: str, block: int, k: int, shape: tuple[int, ...],
                numel: int) -> int:
    """A 63-bit seed from everything a segment's shape is, and nothing of its values."""
    text = f"null|{seed}|{letter}|{block}|{k}|{shape}|{numel}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def null_stats(stats: ArchStats, seed: int = 0) -> ArchStats:
    """A copy of ``stats`` with every stored value replaced by seeded standard normal noise."""
    inputs = {}
    for letter, segs in stats.inputs.items():
        out = []
        for k, (block, t, numel) in enumerate(segs):
            gen = torch.Generator().manual_seed(
                _noise_seed(seed, letter, block, k, tuple(t.shape), numel))
            out.append((block, torch.randn(tuple(t.shape), generator=gen,
                                           dtype=torch.float32), numel))
        inputs[letter] = out
    return ArchStats(stats.n_blocks, inputs)
