"""The null-statistics control: every statistic replaced by noise that depends on shapes only.

A null copy of an architecture's compact statistics keeps its blocks, its segments, their
stored shapes and full element counts, and replaces every value by normal noise drawn from a
seed that is a hash of (null seed, input, block, segment, stored shape, full size), scaled by
one number per input shared by all architectures (:func:`input_scales`). The
softmax input S keeps what its kind fixes whatever the network: its null rows are a softmax of
noise, so they sum to 1 as attention probabilities do (otherwise ``mean(S)``, which is
1/row-length on every network, would look like information).
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


def input_scales(stats: list[ArchStats]) -> dict[str, float]:
    """One root-mean-square per input over every stored value of every architecture: the null
    noise's scale, the same for all architectures (so it says nothing about any one of them)
    yet of the real magnitude, so a term that is negligible on real statistics (gradients of
    1e-5, say) stays negligible on null ones."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for st in stats:
        for letter, segs in st.inputs.items():
            for _, t, _ in segs:
                sums[letter] = sums.get(letter, 0.0) + float(t.double().square().sum())
                counts[letter] = counts.get(letter, 0) + t.numel()
    return {k: (sums[k] / counts[k]) ** 0.5 if counts[k] else 1.0 for k in sums}


def null_stats(stats: ArchStats, seed: int = 0, scales: dict[str, float] | None = None
               ) -> ArchStats:
    """A copy of ``stats`` with every stored value replaced by seeded normal noise of the
    input's scale (``scales``, :func:`input_scales`; 1 when not given); S as a softmax of it."""
    inputs = {}
    for letter, segs in stats.inputs.items():
        out = []
        scale = 1.0 if scales is None else scales.get(letter, 1.0) or 1.0
        for k, (block, t, numel) in enumerate(segs):
            gen = torch.Generator().manual_seed(
                _noise_seed(seed, letter, block, k, tuple(t.shape), numel))
            noise = torch.randn(tuple(t.shape), generator=gen, dtype=torch.float32)
            out.append((block, noise.softmax(-1) if letter == "S" else noise * scale, numel))
        inputs[letter] = out
    return ArchStats(stats.n_blocks, inputs)

__all__ = ["input_scales", "null_stats"]
