"""Published FlexiBERT numbers of the hand-crafted baselines, (Spearman rho, Kendall tau).

``PAPER``: the only two values the LPZero paper's Table 2 gives for this benchmark.
``RECOMPUTED``: the reference code's stored scores (500 architectures, reference models,
all-ones backward) recomputed against the benchmark (docs/specs.md §6.3).
"""

from __future__ import annotations

PAPER: dict[str, tuple[float, float]] = {
    "params": (0.590, 0.454), "attention_confidence": (0.666, 0.475),
}

RECOMPUTED: dict[str, tuple[float, float]] = {
    "params": (0.652, 0.454), "attention_confidence": (0.716, 0.478),
    "synaptic_diversity": (0.241, 0.156), "synaptic_saliency": (0.281, 0.188),
    "activation_distance": (0.331, 0.222), "head_importance": (0.250, 0.164),
    "softmax_confidence": (0.326, 0.216), "jacobian_cosine": (0.006, 0.003),
}

__all__ = ["PAPER", "RECOMPUTED"]
