"""Published GPT-2 (LTS) numbers of the hand-crafted baselines, (Spearman rho, Kendall tau).

``PAPER``: the LPZero paper's Table 3 (absolute values: the paper prints |rho| for GraSP and
Jacobian Cosine). ``RECOMPUTED``: the reference repository's stored per-architecture scores
(200 architectures) recomputed, signed (docs/specs.md §6.3).
"""

from __future__ import annotations

PAPER: dict[str, tuple[float, float]] = {
    "snip": (0.970, 0.858), "synaptic_saliency": (0.970, 0.855),
    "head_importance": (0.971, 0.861), "synaptic_diversity": (0.957, 0.841),
    "gradnorm": (0.958, 0.834), "logsynflow": (0.962, 0.836), "fisher": (0.872, 0.691),
    "attention_confidence": (0.850, 0.676), "activation_distance": (0.818, 0.644),
    "synflow": (0.730, 0.632), "params": (0.737, 0.582),
    "decoder_params": (0.967, 0.847), "grasp": (0.922, 0.765),
    "jacobian_cosine": (0.362, 0.227),
}

RECOMPUTED: dict[str, tuple[float, float]] = {
    "snip": (0.970, 0.859), "synaptic_saliency": (0.970, 0.855),
    "head_importance": (0.971, 0.861), "synaptic_diversity": (0.957, 0.841),
    "gradnorm": (0.957, 0.833), "logsynflow": (0.962, 0.836), "fisher": (0.873, 0.692),
    "attention_confidence": (0.850, 0.676), "activation_distance": (0.818, 0.644),
    "synflow": (0.732, 0.632), "params": (0.737, 0.582),
    "decoder_params": (0.967, 0.847), "grasp": (-0.920, -0.758),
    "jacobian_cosine": (-0.362, -0.227),
}

__all__ = ["PAPER", "RECOMPUTED"]
